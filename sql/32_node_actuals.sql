-- Per-node actuals of sampled executions (pg_qprof.node_actuals(seq)):
-- rows and loops equal to EXPLAIN ANALYZE's for the same query and data.
CREATE TABLE qp_na_cust (id int PRIMARY KEY, region int);
CREATE TABLE qp_na_orders (id int PRIMARY KEY, cust int, amount int);
INSERT INTO qp_na_cust SELECT g, g % 5 FROM generate_series(1, 200) g;
INSERT INTO qp_na_orders SELECT g, g % 200 + 1, g % 97 FROM generate_series(1, 30000) g;
VACUUM ANALYZE qp_na_cust;
VACUUM ANALYZE qp_na_orders;

-- The per-node actuals of the last sample of stmt, next to what EXPLAIN
-- ANALYZE reports for the same statement, matched as multisets of
-- (node type, rows per loop, loops, rows removed by filter and join filter
-- per loop).
CREATE FUNCTION qp_actuals_vs_explain(stmt text)
RETURNS TABLE (nodes bigint, explain_nodes bigint, mismatches bigint)
LANGUAGE plpgsql AS $$
DECLARE
    sample_seq bigint;
    plan jsonb;
BEGIN
    SELECT max(seq) INTO sample_seq
      FROM qp_mine WHERE queryid = qp_queryid(stmt) AND has_node_actuals;
    EXECUTE 'EXPLAIN (ANALYZE, TIMING OFF, FORMAT JSON) ' || stmt INTO plan;
    RETURN QUERY
    WITH mine AS (
        SELECT a.node_type,
               CASE WHEN a.actual_loops = 0 THEN 0
                    ELSE round(a.actual_rows / a.actual_loops) END AS r,
               a.actual_loops AS l,
               CASE WHEN a.actual_loops = 0 THEN 0
                    ELSE round(a.rows_removed_by_filter / a.actual_loops) END AS f,
               CASE WHEN a.actual_loops = 0 THEN 0
                    ELSE round(a.rows_removed_by_join_filter / a.actual_loops) END AS jf
          FROM pg_qprof.node_actuals(sample_seq) a
    ), theirs AS (
        SELECT n ->> 'Node Type' AS node_type,
               (n ->> 'Actual Rows')::numeric AS r,
               (n ->> 'Actual Loops')::bigint AS l,
               coalesce((n ->> 'Rows Removed by Filter')::numeric, 0) AS f,
               coalesce((n ->> 'Rows Removed by Join Filter')::numeric, 0) AS jf
          FROM jsonb_path_query(plan, 'strict $.** ? (exists (@."Node Type"))') n
    )
    SELECT (SELECT count(*) FROM mine), (SELECT count(*) FROM theirs),
           (SELECT count(*) FROM (SELECT * FROM mine EXCEPT ALL SELECT * FROM theirs) x) +
           (SELECT count(*) FROM (SELECT * FROM theirs EXCEPT ALL SELECT * FROM mine) y);
END
$$;

SHOW pg_qprof.analyze_sample_rate;
SHOW pg_qprof.analyze_timing;
SET pg_qprof.analyze_sample_rate = 1;

-- join, aggregate, sort, a filter and a join filter that remove rows
SELECT c.region, count(*), sum(o.amount)
  FROM qp_na_orders o JOIN qp_na_cust c ON c.id = o.cust AND o.amount > c.region * 20
 WHERE o.amount > 50
 GROUP BY c.region ORDER BY 2 DESC, 1;
SELECT max(seq) AS seq FROM qp_mine WHERE query LIKE 'SELECT c.region, count(*)%' \gset
SELECT has_node_actuals FROM qp_mine WHERE seq = :seq;
SELECT node_type, actual_rows, actual_loops, rows_removed_by_filter,
       rows_removed_by_join_filter, plan_rows > 0 AS estimated, parent_node_id IS NULL AS top,
       relation,
       startup_time_ms IS NULL AND total_time_ms IS NULL AS untimed
  FROM pg_qprof.node_actuals(:seq) ORDER BY node_id;
-- the scan of qp_na_orders read every page of it
SELECT a.shared_blks_hit + a.shared_blks_read >= c.relpages AS read_all_pages
  FROM pg_qprof.node_actuals(:seq) a JOIN pg_class c ON c.oid = a.relid
 WHERE c.relname = 'qp_na_orders';
SELECT * FROM qp_actuals_vs_explain($$
SELECT c.region, count(*), sum(o.amount)
  FROM qp_na_orders o JOIN qp_na_cust c ON c.id = o.cust AND o.amount > c.region * 20
 WHERE o.amount > 50
 GROUP BY c.region ORDER BY 2 DESC, 1$$);

-- a nested loop: the inner index scan runs once per outer row and filters
SET enable_hashjoin = off;
SET enable_mergejoin = off;
SET enable_material = off;
SELECT count(*) FROM qp_na_cust c JOIN qp_na_orders o
    ON o.id = c.id * 7 AND o.amount > c.region * 20
 WHERE c.region = 3;
SELECT max(seq) AS seq FROM qp_mine WHERE query LIKE 'SELECT count(*) FROM qp_na_cust c JOIN%' \gset
SELECT node_type, actual_rows, actual_loops, rows_removed_by_filter,
       rows_removed_by_join_filter, index_name
  FROM pg_qprof.node_actuals(:seq) ORDER BY node_id;
SELECT * FROM qp_actuals_vs_explain($$
SELECT count(*) FROM qp_na_cust c JOIN qp_na_orders o
    ON o.id = c.id * 7 AND o.amount > c.region * 20
 WHERE c.region = 3$$);
RESET enable_hashjoin;
RESET enable_mergejoin;
RESET enable_material;

-- a parallel plan: the workers' rows and loops are summed into the nodes
SET max_parallel_workers_per_gather = 2;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SELECT count(*) FROM qp_na_orders WHERE amount % 7 = 0;
SELECT max(seq) AS seq FROM qp_mine WHERE query LIKE 'SELECT count(*) FROM qp_na_orders WHERE%' \gset
SELECT node_type,
       CASE WHEN node_type = 'Seq Scan' THEN actual_rows END AS rows_all_processes,
       actual_loops > 1 AS several_processes
  FROM pg_qprof.node_actuals(:seq) ORDER BY node_id;
SELECT * FROM qp_actuals_vs_explain('SELECT count(*) FROM qp_na_orders WHERE amount % 7 = 0');
RESET max_parallel_workers_per_gather;
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;

-- timing on: times per node; a subquery run as an init plan is a child of
-- the node it is attached to
SET pg_qprof.analyze_timing = on;
SELECT count(*) FROM qp_na_cust WHERE id > (SELECT avg(amount) FROM qp_na_orders);
SELECT max(seq) AS seq FROM qp_mine WHERE query LIKE 'SELECT count(*) FROM qp_na_cust WHERE%' \gset
SELECT a.node_type, a.actual_rows, a.actual_loops,
       parent.node_type AS parent_type,
       a.total_time_ms >= a.startup_time_ms AND a.startup_time_ms >= 0 AS timed
  FROM pg_qprof.node_actuals(:seq) a
  LEFT JOIN pg_qprof.node_actuals(:seq) parent ON parent.node_id = a.parent_node_id
 ORDER BY a.node_id;
RESET pg_qprof.analyze_timing;

-- analyze_min_duration: a short execution is instrumented but not kept
SELECT node_actuals_skipped_short AS skipped FROM pg_qprof.status \gset before_
SET pg_qprof.analyze_min_duration = '1h';
SELECT count(*) FROM qp_na_cust;
RESET pg_qprof.analyze_min_duration;
SELECT node_actuals_skipped_short AS skipped FROM pg_qprof.status \gset after_
SELECT has_node_actuals FROM qp_mine
 WHERE seq = (SELECT max(seq) FROM qp_mine WHERE query = 'SELECT count(*) FROM qp_na_cust');
SELECT :after_skipped - :before_skipped AS skipped_short;

-- rate 0 (the default): nothing is instrumented
SET pg_qprof.analyze_sample_rate = 0;
SELECT count(*) FROM qp_na_cust WHERE region = 1;
SELECT has_node_actuals, (SELECT count(*) FROM pg_qprof.node_actuals(seq)) AS nodes
  FROM qp_mine
 WHERE seq = (SELECT max(seq) FROM qp_mine WHERE query LIKE 'SELECT count(*) FROM qp_na_cust WHERE region%');
RESET pg_qprof.analyze_sample_rate;

-- counters
SELECT node_actuals > 0 AS has_actuals,
       node_actuals = node_actuals_kept - node_actuals_evicted AS consistent,
       node_actuals_bytes <= node_actuals_bytes_max AS within_budget
  FROM pg_qprof.status;

-- only roles that may read all statistics see them
CREATE ROLE qp_na_nobody;
SET ROLE qp_na_nobody;
SELECT count(*) FROM pg_qprof.read_node_actuals();
RESET ROLE;
DROP ROLE qp_na_nobody;
DROP FUNCTION qp_actuals_vs_explain(text);
DROP TABLE qp_na_orders, qp_na_cust;
