-- Rows of a portal fetched in parts are added up: a PL/pgSQL FOR loop over a
-- query, and a cursor fetched several times.
SET pg_qprof.track = 'all';
CREATE TABLE qp_rows AS SELECT g FROM generate_series(1, 250) g;
CREATE FUNCTION qp_loop() RETURNS int LANGUAGE plpgsql AS $$
DECLARE
    r record;
    n int := 0;
BEGIN
    FOR r IN SELECT g FROM qp_rows LOOP
        n := n + 1;
    END LOOP;
    RETURN n;
END $$;

SELECT head_seq AS mark FROM pg_qprof.status \gset
SELECT qp_loop();
-- the loop's query ran in batches of 10, then 50 rows: all 250 count
SELECT rows AS loop_query_rows, nesting_level
  FROM pg_qprof.samples
 WHERE seq > :mark AND query LIKE 'SELECT g FROM qp_rows%';

-- FETCH reports the rows of each fetch; the cursor's own query has no
-- queryid (as in pg_stat_statements) and is not recorded on its own
BEGIN;
DECLARE qp_c CURSOR FOR SELECT g FROM qp_rows;
FETCH 3 FROM qp_c;
FETCH 4 FROM qp_c;
CLOSE qp_c;
COMMIT;
SELECT array_agg(rows ORDER BY seq) AS fetch_rows
  FROM pg_qprof.samples
 WHERE seq > :mark AND query LIKE 'FETCH%';
RESET pg_qprof.track;

-- A sqlcommenter comment longer than the sample keeps (256 bytes) keeps its
-- complete pairs; the cut one is dropped.
SELECT head_seq AS mark FROM pg_qprof.status \gset
SELECT count(*) FROM qp_rows
/*route='%2Flong',controller='Long',traceparent='00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',padding='aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa',cut='this pair is beyond the limit'*/;
SELECT tags->>'route' AS route, tags->>'controller' AS controller,
       tags ? 'traceparent' AS has_traceparent, tags ? 'cut' AS has_cut_pair
  FROM pg_qprof.samples
 WHERE seq > :mark AND query LIKE 'SELECT count(*) FROM qp_rows%';

-- a comment of exactly the limit is kept whole
SELECT head_seq AS mark FROM pg_qprof.status \gset
SELECT 1 AS exact /*k='012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789012345678901'*/;
SELECT length(tags->>'k') AS kept_value_length
  FROM pg_qprof.samples
 WHERE seq > :mark AND pid = pg_backend_pid() AND tags IS NOT NULL;
DROP FUNCTION qp_loop();
DROP TABLE qp_rows;
