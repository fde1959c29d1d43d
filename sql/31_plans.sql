-- Plan ids and the plan store (pg_qprof.plans): the id follows the plan's
-- shape, not its constants; each (queryid, planid) is stored once with its
-- EXPLAIN VERBOSE text and JSON; shape_id is equal across databases.
CREATE TABLE qp_plans_a (id int PRIMARY KEY, k int, pad text);
CREATE TABLE qp_plans_b (id int PRIMARY KEY, k int, pad text);
INSERT INTO qp_plans_a SELECT g, g % 10, repeat('x', 50) FROM generate_series(1, 5000) g;
INSERT INTO qp_plans_b SELECT g, g % 10, repeat('x', 50) FROM generate_series(1, 5000) g;
VACUUM ANALYZE qp_plans_a;
VACUUM ANALYZE qp_plans_b;

-- The same query under two plans: an index scan, then a sequential scan.
SELECT head_seq AS mark FROM pg_qprof.status \gset
SELECT pad FROM qp_plans_a WHERE id = 17;
SET enable_indexscan = off;
SET enable_bitmapscan = off;
SELECT pad FROM qp_plans_a WHERE id = 17;
RESET enable_indexscan;
RESET enable_bitmapscan;
SELECT qp_queryid('SELECT pad FROM qp_plans_a WHERE id = 1') AS qid_a \gset
SELECT count(*) AS executions, count(DISTINCT planid) AS plan_ids,
       bool_and(planid <> 0) AS all_have_plan_id
  FROM qp_mine WHERE seq > :mark AND queryid = :qid_a;
-- both plans are in the store, each once, under the one queryid
SELECT plan_json -> 0 -> 'Plan' ->> 'Node Type' AS node_type,
       plan_text LIKE '%Output: pad%' AS verbose,
       plan_text LIKE '%cost=%' AS costs,
       first_seen <= last_seen AS seen_in_order,
       dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
           AS this_db
  FROM pg_qprof.plans p
 WHERE p.queryid = :qid_a
   AND p.planid IN (SELECT planid FROM qp_mine WHERE seq > :mark)
 ORDER BY 1;

-- A prepared statement on skewed data: the custom plan for the frequent
-- value scans the table, the generic plan uses the index; one queryid, two
-- plan ids.
CREATE TABLE qp_skew (id int, k int);
INSERT INTO qp_skew SELECT g, CASE WHEN g % 2 = 0 THEN 1 ELSE g END
  FROM generate_series(1, 20000) g;
CREATE INDEX qp_skew_k ON qp_skew (k);
VACUUM ANALYZE qp_skew;
PREPARE qp_skew_q(int) AS SELECT count(id) FROM qp_skew WHERE k = $1;
SELECT head_seq AS mark FROM pg_qprof.status \gset
SET plan_cache_mode = force_custom_plan;
EXECUTE qp_skew_q(1);
SET plan_cache_mode = force_generic_plan;
EXECUTE qp_skew_q(1);
RESET plan_cache_mode;
SELECT count(*) AS executions, count(DISTINCT queryid) AS query_ids,
       count(DISTINCT planid) AS plan_ids
  FROM qp_mine WHERE seq > :mark AND query LIKE 'PREPARE qp_skew_q%';
SELECT p.plan_json -> 0 -> 'Plan' -> 'Plans' -> 0 ->> 'Node Type' AS scan
  FROM pg_qprof.plans p
 WHERE (p.queryid, p.planid) IN
       (SELECT queryid, planid FROM qp_mine
         WHERE seq > :mark AND query LIKE 'PREPARE qp_skew_q%')
 ORDER BY 1;
DEALLOCATE qp_skew_q;
DROP TABLE qp_skew;

-- A cursor still open when its transaction fails ends during the abort:
-- no plan is stored then, and nothing breaks.
BEGIN;
DECLARE qp_cur CURSOR FOR SELECT id FROM qp_plans_b WHERE k = 4 ORDER BY id DESC;
FETCH 2 FROM qp_cur;
SELECT 1 / 0;
ROLLBACK;
SELECT count(*) AS cursor_plans
  FROM pg_qprof.plans WHERE plan_text LIKE '%qp_plans_b.k = 4%';

-- Other constants, same plan: one plan id, and nothing new is stored (the
-- counter query runs twice first so that its own plan is stored already).
SELECT plans_stored AS stored FROM pg_qprof.status \gset before_
SELECT plans_stored AS stored FROM pg_qprof.status \gset before_
SELECT head_seq AS mark FROM pg_qprof.status \gset
SELECT pad FROM qp_plans_a WHERE id = 18;
SELECT pad FROM qp_plans_a WHERE id = 4000;
SELECT pad FROM qp_plans_a WHERE id = -1;
SELECT plans_stored AS stored FROM pg_qprof.status \gset after_
SELECT count(*) AS executions, count(DISTINCT planid) AS plan_ids
  FROM qp_mine WHERE seq > :mark AND queryid = :qid_a;
SELECT :after_stored - :before_stored AS newly_stored;

-- The same text on another table: another queryid and another plan id.
SELECT head_seq AS mark FROM pg_qprof.status \gset
SELECT pad FROM qp_plans_a WHERE k = 3 ORDER BY id LIMIT 1;
SELECT pad FROM qp_plans_b WHERE k = 3 ORDER BY id LIMIT 1;
SELECT count(DISTINCT queryid) AS query_ids, count(DISTINCT planid) AS plan_ids,
       count(DISTINCT s.planid) FILTER (WHERE p.plan_text LIKE '%qp_plans_b%')
           AS plan_ids_on_b
  FROM qp_mine s LEFT JOIN pg_qprof.plans p USING (queryid, planid)
 WHERE seq > :mark AND s.query LIKE 'SELECT pad FROM qp_plans_%';
-- the shapes have the same node types but other tables: other shape ids
SELECT count(DISTINCT p.shape_id) AS shape_ids
  FROM qp_mine s JOIN pg_qprof.plans p USING (queryid, planid)
 WHERE seq > :mark AND s.query LIKE 'SELECT pad FROM qp_plans_%';

-- shape_id: the same plan in a database created separately, whose objects
-- have other OIDs, has another plan id but the same shape id.
CREATE TABLE qp_shape (id int PRIMARY KEY, v int);
SET enable_seqscan = off;
SET enable_bitmapscan = off;
SELECT v FROM qp_shape WHERE id = 5;
SELECT current_database() AS home_db \gset
CREATE DATABASE qp_shape_other;
\c qp_shape_other
CREATE TABLE qp_filler_1 (x int);
CREATE TABLE qp_filler_2 (x int);
CREATE TABLE qp_shape (id int PRIMARY KEY, v int);
SET enable_seqscan = off;
SET enable_bitmapscan = off;
SELECT v FROM qp_shape WHERE id = 5;
\c :home_db
-- The same table in another schema is another shape.
CREATE SCHEMA qp_other;
CREATE TABLE qp_other.qp_shape (id int PRIMARY KEY, v int);
SET enable_seqscan = off;
SET enable_bitmapscan = off;
SELECT v FROM qp_other.qp_shape WHERE id = 5;
RESET enable_seqscan;
RESET enable_bitmapscan;
SELECT d.datname = current_database() AS in_home_db, p.plan_json -> 0 -> 'Plan' ->> 'Schema' AS schema,
       p.plan_json -> 0 -> 'Plan' ->> 'Node Type' AS node_type,
       p.plan_json -> 0 -> 'Plan' ->> 'Index Name' AS index_name,
       count(*) OVER (PARTITION BY p.shape_id) AS plans_with_this_shape,
       count(*) OVER (PARTITION BY p.planid) AS plans_with_this_plan_id
  FROM pg_qprof.plans p JOIN pg_database d ON d.oid = p.dbid
 WHERE p.plan_json -> 0 -> 'Plan' ->> 'Relation Name' = 'qp_shape'
 ORDER BY 1, 2;
DROP DATABASE qp_shape_other;

-- Plans looked up by (queryid, planid), as the collector reads them: the
-- pairs asked for and nothing else, each once, whatever the order, the
-- duplicates, the nulls and the unknown pairs among them.
SELECT head_seq AS mark FROM pg_qprof.status \gset
SELECT pad FROM qp_plans_a WHERE id = 21;
SELECT pad FROM qp_plans_b WHERE k = 2 ORDER BY id LIMIT 1;
CREATE TEMP TABLE qp_wanted AS
  SELECT DISTINCT queryid, planid FROM qp_mine
   WHERE seq > :mark AND query LIKE 'SELECT pad FROM qp_plans_%';
SELECT count(*) AS pairs FROM qp_wanted;
SELECT array_agg(queryid ORDER BY queryid) AS qids,
       array_agg(planid ORDER BY queryid) AS pids FROM qp_wanted \gset
-- the pairs, then (null, 1), (42, null), (42, first planid), the first again
SELECT count(*) AS found,
       count(DISTINCT (p.queryid, p.planid)) AS distinct_found,
       bool_and((p.queryid, p.planid) IN (SELECT queryid, planid FROM qp_wanted))
           AS only_those,
       bool_and(p.plan_text = v.plan_text AND p.shape_id = v.shape_id
                AND p.first_seen = v.first_seen AND p.dbid = v.dbid
                AND p.plan_json::text = v.plan_json::text) AS same_as_view
  FROM pg_qprof.stored_plans(
         :'qids'::bigint[] || ARRAY[NULL, 42, 42]::bigint[]
             || (:'qids'::bigint[])[1:1],
         :'pids'::bigint[] || ARRAY[1, NULL, (:'pids'::bigint[])[1]]
             || (:'pids'::bigint[])[1:1]) p
  JOIN pg_qprof.plans v USING (queryid, planid);
-- a plan id under another queryid is not that pair
SELECT count(*) AS crossed
  FROM pg_qprof.stored_plans(:'qids'::bigint[],
         ARRAY[(:'pids'::bigint[])[2], (:'pids'::bigint[])[1]]);
SELECT count(*) FROM pg_qprof.stored_plans(ARRAY[1, 2], ARRAY[1]);
SELECT count(*) AS none FROM pg_qprof.stored_plans('{}', '{}');

-- A capture that fails does not fail the statement (issue 26, defect 7).
-- EXPLAIN VERBOSE of a new plan names the functions it calls: a function
-- dropped while its plan runs makes that name lookup fail when the plan
-- ends. The statement, and a COMMIT that closes a cursor, still succeed;
-- the failure is counted and the plan stored the next time it runs.
SELECT plans_capture_failed AS failed FROM pg_qprof.status \gset before_
SELECT plans_capture_failed AS failed FROM pg_qprof.status \gset before_
CREATE FUNCTION qp_drops_itself() RETURNS int LANGUAGE plpgsql AS $$
BEGIN
    DROP FUNCTION qp_drops_itself();
    RETURN 1;
END $$;
SELECT head_seq AS mark FROM pg_qprof.status \gset
SELECT qp_drops_itself() AS dropped_itself;
SELECT plans_capture_failed - :before_failed AS capture_failed
  FROM pg_qprof.status;
-- and its sample says it succeeded
SELECT sqlstate FROM qp_mine
 WHERE seq > :mark AND query LIKE 'SELECT qp_drops_itself()%';
-- a cursor opened by a function (its query has a queryid at track = all)
-- and left open ends at COMMIT
SET pg_qprof.track = 'all';
CREATE FUNCTION qp_plus_one(int) RETURNS int LANGUAGE plpgsql
  AS 'BEGIN RETURN $1 + 1; END';
CREATE FUNCTION qp_open_cursor(refcursor) RETURNS refcursor LANGUAGE plpgsql AS $$
BEGIN
    OPEN $1 FOR SELECT qp_plus_one(id) FROM qp_plans_b WHERE k = 6 ORDER BY id;
    RETURN $1;
END $$;
CREATE TABLE qp_capture_log (note text);
BEGIN;
SELECT qp_open_cursor('qp_capture_cur');
FETCH 2 FROM qp_capture_cur;
DROP FUNCTION qp_plus_one(int);
INSERT INTO qp_capture_log VALUES ('committed');
COMMIT;
RESET pg_qprof.track;
SELECT note FROM qp_capture_log;
SELECT plans_capture_failed - :before_failed AS capture_failed
  FROM pg_qprof.status;
SELECT count(*) AS stored_failed_plans
  FROM pg_qprof.plans
 WHERE plan_text LIKE '%qp_drops_itself%' OR plan_text LIKE '%qp_plus_one%';
DROP FUNCTION qp_open_cursor(refcursor);
DROP TABLE qp_capture_log, qp_wanted;

-- Counters: nothing evicted from a store this size.
SELECT plans > 0 AS has_plans,
       plans = plans_stored - plans_evicted AS consistent,
       plans_evicted = 0 AS none_evicted,
       plan_bytes <= plan_bytes_max AS within_budget
  FROM pg_qprof.status;

DROP SCHEMA qp_other CASCADE;
DROP TABLE qp_plans_a, qp_plans_b, qp_shape;
