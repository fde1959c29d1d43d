-- Utility statements are recorded (cmd_type 'utility') when
-- pg_qprof.track_utility is on, with the rows they report; not when off.
SELECT head_seq AS mark FROM pg_qprof.status \gset
CREATE TABLE qp_util (a int);
CREATE INDEX qp_util_a ON qp_util (a);
CREATE TABLE qp_ctas AS SELECT g FROM generate_series(1, 5) g;
COPY qp_util FROM stdin;
1
2
3
\.
COPY (SELECT a FROM qp_util WHERE a < 3) TO stdout;
VACUUM qp_util;
ANALYZE qp_util;
SET work_mem = '8MB';
BEGIN;
INSERT INTO qp_util VALUES (4);
COMMIT;
DROP TABLE qp_ctas;
SELECT row_number() OVER (ORDER BY seq) AS n, cmd_type, rows, toplevel,
       nesting_level, sqlstate, query
  FROM qp_mine WHERE seq > :mark ORDER BY seq;

-- utility samples carry the same identity and timing as the others
SELECT count(*) AS utility_samples,
       bool_and(queryid <> 0) AS has_queryid,
       bool_and(exec_time_ms > 0) AS timed,
       bool_and(end_time >= start_time) AS ends_after_start,
       bool_and(parent_exec_id = 0) AS no_parent
  FROM qp_mine WHERE seq > :mark AND cmd_type = 'UTILITY';

-- track_utility off: only the plannable statements
SET pg_qprof.track_utility = off;
SELECT head_seq AS mark FROM pg_qprof.status \gset
CREATE TABLE qp_util2 (a int);
INSERT INTO qp_util2 VALUES (1), (2);
VACUUM qp_util2;
DROP TABLE qp_util2;
SELECT row_number() OVER (ORDER BY seq) AS n, cmd_type, rows
  FROM qp_mine WHERE seq > :mark ORDER BY seq;
RESET pg_qprof.track_utility;
