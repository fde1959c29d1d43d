-- pg_qprof: deterministic measures for regression tests. Timings are noise
-- in a test; what a statement touches is not: its plan's shape, its rows,
-- the shared buffers it accessed (hit + read: the same whatever was
-- cached), its temp blocks and its WAL.

-- The calling session's last n top-level executions still in the ring,
-- newest first (ordinal 1); the statements that called this function are
-- left out. Only the session's own samples: no right is needed.
CREATE FUNCTION pg_qprof.session_executions(
    n integer,
    OUT ordinal integer,
    OUT seq bigint,
    OUT exec_id bigint,
    OUT dbid oid,
    OUT queryid bigint,
    OUT planid bigint,
    OUT command text,
    OUT sqlstate text,
    OUT rows bigint,
    OUT shared_blks bigint,
    OUT temp_blks_read bigint,
    OUT temp_blks_written bigint,
    OUT wal_records bigint,
    OUT wal_bytes bigint
)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'pg_qprof_session_executions'
LANGUAGE C STRICT VOLATILE PARALLEL RESTRICTED;

-- A stored plan (EXPLAIN's JSON) reduced to its shape, one line a node,
-- indented by depth: node type, strategy, join type, index and relation,
-- the subplan's name; no costs, rows, times, widths or output columns.
CREATE FUNCTION pg_qprof.plan_shape_text(plan json)
RETURNS text
AS $$
    WITH RECURSIVE nodes(node, depth, path) AS (
        SELECT (CASE json_typeof(plan) WHEN 'array' THEN plan -> 0
                ELSE plan END) -> 'Plan', 0, ARRAY[0]
        UNION ALL
        SELECT child.value, nodes.depth + 1,
               nodes.path || child.ordinality::integer
          FROM nodes
         CROSS JOIN LATERAL json_array_elements(
               CASE json_typeof(nodes.node -> 'Plans') WHEN 'array'
               THEN nodes.node -> 'Plans' ELSE '[]'::json END)
               WITH ORDINALITY AS child(value, ordinality)
    )
    SELECT string_agg(
               repeat('  ', depth)
               || concat_ws(' ',
                      node ->> 'Node Type',
                      '(' || (node ->> 'Strategy') || ')',
                      (node ->> 'Join Type') || ' join',
                      'using ' || (node ->> 'Index Name'),
                      'on ' || nullif(concat_ws('.', node ->> 'Schema',
                                         node ->> 'Relation Name'), ''),
                      'function ' || (node ->> 'Function Name'),
                      'cte ' || (node ->> 'CTE Name'),
                      '[' || (node ->> 'Subplan Name') || ']'),
               E'\n' ORDER BY path)
      FROM nodes
     WHERE node IS NOT NULL
$$ LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp;

-- The calling session's last n executions with only deterministic fields,
-- newest first: the normalized text, the plan's shape (null for a utility
-- statement, or when the plan is no longer stored), rows, shared buffer
-- accesses (hit + read), temp blocks, WAL records and bytes. For pg_regress
-- expected files and TAP tests: see the README.
CREATE FUNCTION pg_qprof.last_executions(
    n integer DEFAULT 1,
    OUT ordinal integer,
    OUT query text,
    OUT command text,
    OUT sqlstate text,
    OUT plan_shape text,
    OUT rows bigint,
    OUT shared_blks bigint,
    OUT temp_blks bigint,
    OUT wal_records bigint,
    OUT wal_bytes bigint
)
RETURNS SETOF record
AS $$
    SELECT e.ordinal, t.query, e.command, e.sqlstate,
           pg_qprof.plan_shape_text(p.plan_json), e.rows, e.shared_blks,
           e.temp_blks_read + e.temp_blks_written, e.wal_records,
           e.wal_bytes
      FROM pg_qprof.session_executions(n) AS e
      LEFT JOIN LATERAL (
           SELECT q.query FROM pg_qprof.query_texts(
                  ARRAY[current_user::regrole::oid], ARRAY[e.dbid],
                  ARRAY[e.queryid]) AS q
            LIMIT 1) AS t ON true
      LEFT JOIN LATERAL (
           SELECT s.plan_json FROM pg_qprof.stored_plans(
                  ARRAY[e.queryid], ARRAY[e.planid]) AS s
            LIMIT 1) AS p ON true
     ORDER BY e.ordinal
$$ LANGUAGE sql STRICT VOLATILE PARALLEL RESTRICTED
SET search_path = pg_catalog, pg_temp;
