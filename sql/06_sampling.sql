-- pg_qprof.sample_rate, decided once per top-level statement (nested
-- statements follow it), and pg_qprof.min_duration. Statements not recorded
-- are counted in pg_qprof.status. Each rate is set for a whole session (the
-- connection's options) so that the counts are exact.

-- sample_rate = 1 (the default): every statement recorded, none skipped
SELECT skipped_by_sampling AS skipped0, head_seq AS mark FROM pg_qprof.status \gset
SELECT 1 AS a;
SELECT 2 AS b;
SELECT 3 AS c;
SELECT count(*) AS recorded,
       (SELECT skipped_by_sampling - :skipped0 FROM pg_qprof.status) AS skipped
  FROM qp_mine WHERE seq > :mark;

-- sample_rate = 0: nothing recorded, every top-level statement counted
SELECT skipped_by_sampling AS skipped0, head_seq AS mark,
       pg_backend_pid() AS mark_pid
  FROM pg_qprof.status \gset
\c 'dbname=regression options=-cpg_qprof.sample_rate=0'
SELECT current_setting('pg_qprof.sample_rate') AS rate;
SELECT 1 AS a;
SELECT 2 AS b;
SELECT id FROM qp_known WHERE id = 3;
INSERT INTO qp_log VALUES (0);
\c 'dbname=regression'
SELECT count(*) AS recorded FROM pg_qprof.samples
 WHERE seq > :mark AND pid <> :mark_pid;
SELECT skipped_by_sampling - :skipped0 AS skipped FROM pg_qprof.status;

-- With compute_query_id = auto (the default), pg_qprof jumbles statements
-- itself, and a simple query that will not be recorded is not jumbled at
-- all: it has no query id. compute_query_id = on has the core compute every
-- one, as before.
\c 'dbname=regression options=-cpg_qprof.sample_rate=0'
SELECT query_id IS NULL AS unsampled_not_jumbled
  FROM pg_stat_activity WHERE pid = pg_backend_pid();
SET compute_query_id = on;
SELECT query_id IS NOT NULL AS jumbled_by_the_core
  FROM pg_stat_activity WHERE pid = pg_backend_pid();
\c 'dbname=regression'
SELECT query_id IS NOT NULL AS recorded_statement_jumbled
  FROM pg_stat_activity WHERE pid = pg_backend_pid();

-- sample_rate = 0.5 with track = top: each statement either recorded or
-- counted, about half of each
SELECT skipped_by_sampling AS skipped0, samples_written AS written0,
       head_seq AS mark
  FROM pg_qprof.status \gset
\c 'dbname=regression options=-cpg_qprof.sample_rate=0.5'
\set ECHO none
\o /dev/null
SELECT format('SELECT %s AS n', g) FROM generate_series(1, 400) g \gexec
\o
\set ECHO all
\c 'dbname=regression'
-- (402: the 400 statements, the one that generated them, and the mark)
SELECT s.samples_written - :written0 + s.skipped_by_sampling - :skipped0
           AS recorded_plus_skipped,
       s.samples_written - :written0 BETWEEN 120 AND 281 AS about_half,
       (SELECT count(*) FROM pg_qprof.samples WHERE seq > :mark)
           = s.samples_written - :written0 AS all_recorded_visible
  FROM pg_qprof.status s;
-- the decision is drawn when planning begins and kept for the execution:
-- every recorded statement has its planning timed
SELECT count(*) > 100 AS recorded,
       count(*) FILTER (WHERE plan_time_ms > 0) = count(*) AS all_planning_timed
  FROM pg_qprof.samples
 WHERE seq > :mark AND cmd_type = 'SELECT';

-- sample_rate = 0.5 with track = all: a nested statement is recorded exactly
-- when its top-level statement is
SELECT head_seq AS mark, pg_backend_pid() AS mark_pid FROM pg_qprof.status \gset
\c 'dbname=regression options=''-cpg_qprof.sample_rate=0.5 -cpg_qprof.track=all'''
\set ECHO none
\o /dev/null
SELECT format('SELECT qp_outer(%s)', g) FROM generate_series(1, 200) g \gexec
\o
\set ECHO all
\c 'dbname=regression'
CREATE TEMP TABLE qp_sampled AS
    SELECT * FROM pg_qprof.samples WHERE seq > :mark AND pid <> :mark_pid;
WITH RECURSIVE tree AS (
    SELECT pid, exec_id AS top_id, exec_id FROM qp_sampled WHERE nesting_level = 0
    UNION ALL
    SELECT c.pid, t.top_id, c.exec_id
      FROM qp_sampled c JOIN tree t ON c.pid = t.pid AND c.parent_exec_id = t.exec_id
), per_top AS (
    SELECT t.pid, t.top_id, count(*) - 1 AS nested
      FROM tree t JOIN qp_sampled s ON s.pid = t.pid AND s.exec_id = t.top_id
     WHERE s.rows = 1 AND s.cmd_type = 'SELECT'
     GROUP BY t.pid, t.top_id
)
SELECT count(*) BETWEEN 50 AND 150 AS about_half_of_the_calls,
       bool_and(nested = 8) AS every_nested_statement_recorded,
       (SELECT count(*) FROM qp_sampled WHERE nesting_level > 0)
           = (SELECT count(*) FROM tree) - (SELECT count(*) FROM qp_sampled WHERE nesting_level = 0)
           AS no_orphan_nested_samples
  FROM per_top;

-- min_duration: shorter executions are counted, not recorded
SELECT skipped_by_min_duration AS short0, head_seq AS mark,
       pg_backend_pid() AS mark_pid
  FROM pg_qprof.status \gset
\c 'dbname=regression options=-cpg_qprof.min_duration=250'
SELECT 1 AS fast;
SELECT 2 AS fast;
SELECT id FROM qp_known WHERE id = 3;
SELECT pg_sleep(0.4) AS slow;
\c 'dbname=regression'
SELECT cmd_type, rows, exec_time_ms >= 250 AS long_enough
  FROM pg_qprof.samples WHERE seq > :mark AND pid <> :mark_pid ORDER BY seq;
SELECT skipped_by_min_duration - :short0 AS skipped_too_short FROM pg_qprof.status;
