-- At most 64 executions are open at once in a backend: deeper ones are not
-- recorded, and each is counted in status.skipped_too_deep.
SET pg_qprof.track = 'all';
CREATE FUNCTION qp_deep(n int) RETURNS int LANGUAGE plpgsql AS $$
DECLARE
    r int;
BEGIN
    IF n = 0 THEN
        RETURN 0;
    END IF;
    -- a FROM clause keeps this a query run by the executor
    SELECT qp_deep(n - 1) + 1 INTO r FROM (SELECT 1) s;
    RETURN r;
END $$;

SELECT head_seq AS mark, skipped_too_deep AS deep0 FROM pg_qprof.status \gset
-- 1 top-level statement and 80 nested ones, all open at the deepest point
SELECT qp_deep(80);
SELECT skipped_too_deep - :deep0 AS not_recorded FROM pg_qprof.status;
-- the top-level statement and the 63 outermost nested ones: 64
SELECT count(*) FILTER (WHERE nesting_level > 0) AS nested_recorded,
       max(nesting_level) AS deepest_recorded
  FROM pg_qprof.samples
 WHERE seq > :mark AND pid = pg_backend_pid();
RESET pg_qprof.track;
DROP FUNCTION qp_deep(int);
