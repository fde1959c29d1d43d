-- PREPARE/EXECUTE: one sample per execution of the prepared statement, as a
-- top-level statement, with the prepared statement's queryid.
PREPARE qp_q(int) AS SELECT id FROM qp_known WHERE id <= $1;
SELECT head_seq AS mark FROM pg_qprof.status \gset
EXECUTE qp_q(1);
EXECUTE qp_q(3);
EXECUTE qp_q(5);
SELECT cmd_type, rows, toplevel, nesting_level, sqlstate,
       queryid = qp_queryid('EXECUTE qp_q(1)') AS prepared_queryid
  FROM qp_mine WHERE seq > :mark AND cmd_type <> 'UTILITY' ORDER BY seq;
-- nothing else than those three, the mark and the query above: EXECUTE
-- itself is not recorded a second time as a utility statement
SELECT count(*) AS samples FROM qp_mine WHERE seq > :mark;
DEALLOCATE qp_q;

-- A parallel query: workers planned and launched; one sample, from the
-- leader, whose buffers include the workers'.
CREATE TABLE qp_big AS
    SELECT g AS id, g % 100 AS k FROM generate_series(1, 200000) g;
VACUUM ANALYZE qp_big;
SELECT pg_relation_size('qp_big') / current_setting('block_size')::int AS big_pages \gset
SET max_parallel_workers_per_gather = 2;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET parallel_leader_participation = off;
EXPLAIN (COSTS OFF) SELECT count(*) FROM qp_big WHERE k = 7;
SELECT head_seq AS mark FROM pg_qprof.status \gset
SELECT count(*) FROM qp_big WHERE k = 7;
SELECT cmd_type, rows, parallel_workers_planned,
       parallel_workers_launched BETWEEN 1 AND 2 AS workers_launched,
       shared_blks_hit + shared_blks_read >= :big_pages AS counted_workers_buffers,
       sqlstate
  FROM qp_mine
 WHERE seq > :mark AND queryid = qp_queryid('SELECT count(*) FROM qp_big WHERE k = 1');
-- the workers do not record samples of their own
SELECT count(*) AS worker_samples
  FROM pg_qprof.samples
 WHERE seq > :mark AND pid <> pg_backend_pid();
RESET max_parallel_workers_per_gather;
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;
RESET parallel_leader_participation;
