-- pg_qprof: normalized query texts, stored plans and per-node actuals
-- (DESIGN.md contract 3). Each store is bounded; when full, texts and plans
-- not used since the eviction hand last passed go first (second chance),
-- node actuals oldest first; an evicted entry is stored again when next seen.

-- Normalized text per (userid, dbid, queryid): constants appear as $n,
-- secrets of utility statements as ***. Any role may read it: it sees its
-- own texts; another user's queryid and text are hidden unless it may read
-- all statistics (as in pg_stat_statements).
CREATE FUNCTION pg_qprof.query_texts(
    OUT queryid bigint,
    OUT dbid oid,
    OUT userid oid,
    OUT first_seen timestamptz,
    OUT query text
)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'pg_qprof_query_texts'
LANGUAGE C STRICT VOLATILE PARALLEL SAFE;

CREATE VIEW pg_qprof.queries AS
    SELECT * FROM pg_qprof.query_texts();

-- The texts of the triples (userids[i], dbids[i], queryids[i]) the caller
-- may see, looked up by id (the collector's read: no copy of the whole
-- store). Arrays of equal length; a triple with a null matches nothing.
CREATE FUNCTION pg_qprof.query_texts(
    userids oid[],
    dbids oid[],
    queryids bigint[],
    OUT queryid bigint,
    OUT dbid oid,
    OUT userid oid,
    OUT first_seen timestamptz,
    OUT query text
)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'pg_qprof_query_texts_by_id'
LANGUAGE C STRICT VOLATILE PARALLEL SAFE
SET search_path = pg_catalog;

-- One plan per (queryid, planid): EXPLAIN VERBOSE as text and JSON, made
-- the first time the pair was seen. A plan bigger than a quarter of
-- pg_qprof.plans_size is kept without its JSON (null) and with its text cut. planid hashes the plan's shape with
-- relation OIDs; shape_id hashes the same shape with schema-qualified names,
-- so it is equal across databases and clusters.
CREATE FUNCTION pg_qprof.stored_plans(
    OUT planid bigint,
    OUT queryid bigint,
    OUT dbid oid,
    OUT shape_id bigint,
    OUT first_seen timestamptz,
    OUT last_seen timestamptz,
    OUT plan_text text,
    OUT plan_json json
)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'pg_qprof_stored_plans'
LANGUAGE C STRICT VOLATILE PARALLEL SAFE;

CREATE VIEW pg_qprof.plans AS
    SELECT * FROM pg_qprof.stored_plans();

-- The stored plans of the pairs (queryids[i], planids[i]), looked up by id
-- (the collector's read: no copy of the whole store). Arrays of equal
-- length; a pair with a null matches nothing.
CREATE FUNCTION pg_qprof.stored_plans(
    queryids bigint[],
    planids bigint[],
    OUT planid bigint,
    OUT queryid bigint,
    OUT dbid oid,
    OUT shape_id bigint,
    OUT first_seen timestamptz,
    OUT last_seen timestamptz,
    OUT plan_text text,
    OUT plan_json json
)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'pg_qprof_stored_plans_by_id'
LANGUAGE C STRICT VOLATILE PARALLEL SAFE
SET search_path = pg_catalog;

-- Per-node actuals of the executions chosen by pg_qprof.analyze_sample_rate,
-- one row per plan node, optionally of one pid and/or execution id (null
-- matches any). actual_rows, the block counts and the times are totals over
-- all loops and parallel workers; EXPLAIN ANALYZE shows rows and times per
-- loop (actual_rows / actual_loops). Times are null unless
-- pg_qprof.analyze_timing was on.
CREATE FUNCTION pg_qprof.read_node_actuals(
    pid integer DEFAULT NULL,
    exec_id bigint DEFAULT NULL,
    OUT pid integer,
    OUT exec_id bigint,
    OUT queryid bigint,
    OUT planid bigint,
    OUT node_id integer,
    OUT parent_node_id integer,
    OUT node_type text,
    OUT relid oid,
    OUT indexid oid,
    OUT plan_rows double precision,
    OUT actual_rows double precision,
    OUT actual_loops bigint,
    OUT rows_removed_by_filter double precision,
    OUT rows_removed_by_join_filter double precision,
    OUT rows_removed_by_index_recheck double precision,
    OUT shared_blks_hit bigint,
    OUT shared_blks_read bigint,
    OUT temp_blks_read bigint,
    OUT temp_blks_written bigint,
    OUT startup_time_ms double precision,
    OUT total_time_ms double precision
)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'pg_qprof_read_node_actuals'
LANGUAGE C CALLED ON NULL INPUT VOLATILE PARALLEL SAFE;

-- The per-node actuals of the sample with sequence number seq (the sample
-- has has_node_actuals), by node id; relation and index_name are
-- schema-qualified names, given when the sample is of the current database.
CREATE FUNCTION pg_qprof.node_actuals(
    seq bigint,
    OUT node_id integer,
    OUT parent_node_id integer,
    OUT node_type text,
    OUT relid oid,
    OUT indexid oid,
    OUT plan_rows double precision,
    OUT actual_rows double precision,
    OUT actual_loops bigint,
    OUT rows_removed_by_filter double precision,
    OUT rows_removed_by_join_filter double precision,
    OUT rows_removed_by_index_recheck double precision,
    OUT shared_blks_hit bigint,
    OUT shared_blks_read bigint,
    OUT temp_blks_read bigint,
    OUT temp_blks_written bigint,
    OUT startup_time_ms double precision,
    OUT total_time_ms double precision,
    OUT relation text,
    OUT index_name text
)
RETURNS SETOF record
AS $$
    -- every operator and function qualified: a caller's search_path cannot
    -- put its own in their place (as the issue showed with an evil.- run by
    -- a superuser)
    SELECT a.node_id, a.parent_node_id, a.node_type, a.relid, a.indexid,
           a.plan_rows, a.actual_rows, a.actual_loops,
           a.rows_removed_by_filter, a.rows_removed_by_join_filter,
           a.rows_removed_by_index_recheck, a.shared_blks_hit,
           a.shared_blks_read, a.temp_blks_read, a.temp_blks_written,
           a.startup_time_ms, a.total_time_ms,
           rel.name, idx.name
      FROM pg_qprof.read_samples($1 OPERATOR(pg_catalog.-) 1, 1) AS s
     CROSS JOIN LATERAL pg_qprof.read_node_actuals(s.pid, s.exec_id) AS a
      -- names only for a sample of this database: OIDs are per database
      LEFT JOIN LATERAL (
           SELECT pg_catalog.quote_ident(n.nspname) OPERATOR(pg_catalog.||)
                  '.' OPERATOR(pg_catalog.||)
                  pg_catalog.quote_ident(c.relname) AS name
             FROM pg_catalog.pg_class c
             JOIN pg_catalog.pg_namespace n
               ON n.oid OPERATOR(pg_catalog.=) c.relnamespace
            WHERE c.oid OPERATOR(pg_catalog.=) a.relid
              AND s.dbid OPERATOR(pg_catalog.=)
                  (SELECT d.oid FROM pg_catalog.pg_database d
                    WHERE d.datname OPERATOR(pg_catalog.=)
                          pg_catalog.current_database())
           ) AS rel ON true
      LEFT JOIN LATERAL (
           SELECT pg_catalog.quote_ident(n.nspname) OPERATOR(pg_catalog.||)
                  '.' OPERATOR(pg_catalog.||)
                  pg_catalog.quote_ident(c.relname) AS name
             FROM pg_catalog.pg_class c
             JOIN pg_catalog.pg_namespace n
               ON n.oid OPERATOR(pg_catalog.=) c.relnamespace
            WHERE c.oid OPERATOR(pg_catalog.=) a.indexid
              AND s.dbid OPERATOR(pg_catalog.=)
                  (SELECT d.oid FROM pg_catalog.pg_database d
                    WHERE d.datname OPERATOR(pg_catalog.=)
                          pg_catalog.current_database())
           ) AS idx ON true
     WHERE s.seq OPERATOR(pg_catalog.=) $1
     ORDER BY a.node_id
$$ LANGUAGE sql STRICT VOLATILE PARALLEL SAFE
-- and a safe path besides: not inlined anyway (strict, volatile), and the
-- setting costs microseconds next to the milliseconds of a call
SET search_path = pg_catalog, pg_temp;

-- Counters of the three stores.
CREATE FUNCTION pg_qprof.store_status(
    OUT query_texts bigint,
    OUT query_texts_max bigint,
    OUT query_text_bytes bigint,
    OUT query_text_bytes_max bigint,
    OUT query_texts_stored bigint,
    OUT query_texts_evicted bigint,
    OUT query_texts_truncated bigint,
    OUT query_texts_too_large bigint,
    OUT plans bigint,
    OUT plans_max bigint,
    OUT plan_bytes bigint,
    OUT plan_bytes_max bigint,
    OUT plans_stored bigint,
    OUT plans_evicted bigint,
    OUT plans_truncated bigint,
    OUT plans_too_large bigint,
    OUT node_actuals bigint,
    OUT node_actuals_bytes bigint,
    OUT node_actuals_bytes_max bigint,
    OUT node_actuals_kept bigint,
    OUT node_actuals_evicted bigint,
    OUT node_actuals_too_large bigint,
    OUT node_actuals_skipped_short bigint,
    OUT query_texts_moved bigint,
    OUT plans_moved bigint,
    OUT plans_capture_failed bigint
)
RETURNS record
AS 'MODULE_PATHNAME', 'pg_qprof_store_status'
LANGUAGE C STRICT VOLATILE PARALLEL SAFE;

-- The core's status view, with the store counters appended.
CREATE OR REPLACE VIEW pg_qprof.status AS
    SELECT s.*, t.*
      FROM pg_qprof.status() AS s
     CROSS JOIN pg_qprof.store_status() AS t;

REVOKE ALL ON FUNCTION pg_qprof.stored_plans() FROM PUBLIC;
REVOKE ALL ON FUNCTION pg_qprof.stored_plans(bigint[], bigint[]) FROM PUBLIC;
REVOKE ALL ON FUNCTION pg_qprof.read_node_actuals(integer, bigint) FROM PUBLIC;
REVOKE ALL ON FUNCTION pg_qprof.node_actuals(bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pg_qprof.stored_plans() TO pg_read_all_stats;
GRANT EXECUTE ON FUNCTION pg_qprof.stored_plans(bigint[], bigint[])
    TO pg_read_all_stats;
GRANT EXECUTE ON FUNCTION pg_qprof.read_node_actuals(integer, bigint)
    TO pg_read_all_stats;
GRANT EXECUTE ON FUNCTION pg_qprof.node_actuals(bigint) TO pg_read_all_stats;
GRANT SELECT ON pg_qprof.plans TO pg_read_all_stats;
GRANT SELECT ON pg_qprof.queries TO PUBLIC;
