-- The report's main questions, over a fleet's samples in ClickHouse
-- (docs/clickhouse.md: the tables `qprof export --create-schema` makes).
-- Each query reads the fleet's tables (Distributed over the shards, or
-- Merge on one server) with FINAL, so that a sample exported twice counts
-- once. They run on ClickHouse 18.16 and later, e.g.
--   clickhouse-client --multiquery < docs/clickhouse-queries.sql
-- The period is the last day: edit the `start_time >=` lines (the column
-- is the execution's start, UTC, in seconds), and add `AND server_id = ...`
-- to ask about one server (`SELECT * FROM qprof.servers FINAL` lists them).
--
-- Sums are weighted by `weight` (1 / pg_qprof.sample_rate), as in
-- `qprof report`: calls and times are estimates of everything that ran.
-- A statement is (server_id, dbid, queryid), as in the report. Database
-- time is planning + execution. Percentiles are over the recorded
-- executions, computed as `qprof report` does (latency_histogram.h): each
-- database time in a log-spaced bucket 2% wide, bucket i holding
-- (1.02^(i-1), 1.02^i]; the nearest-rank bucket (quantilesExactWeighted
-- over bucket numbers: memory per distinct bucket, a few hundred at most,
-- not per execution) stands for its midpoint, kept within the exact
-- minimum and maximum: within 1% of the exact percentile. tests/t/190_clickhouse.pl runs each
-- query below (by its `-- name:` line) and compares its answers with
-- `qprof report --json` of the same captures.

-- name: servers
-- The servers, what each holds and what it lost (18.16 joins two tables
-- a query: the third is joined one level up).
SELECT
    server_id,
    label,
    cluster_name,
    host,
    port,
    version_num,
    samples,
    calls,
    first_start,
    last_start,
    lost
FROM
(
    SELECT server_id, label, cluster_name, host, port, version_num,
        samples, calls, first_start, last_start
    FROM
    (
        SELECT server_id, label, cluster_name, host, port, version_num
        FROM qprof.servers FINAL
    )
    ANY LEFT JOIN
    (
        SELECT
            server_id,
            count() AS samples,
            sum(weight) AS calls,
            min(start_time) AS first_start,
            max(start_time) AS last_start
        FROM qprof.samples FINAL
        WHERE start_time >= now() - INTERVAL 1 DAY
        GROUP BY server_id
    ) USING (server_id)
)
ANY LEFT JOIN
(
    SELECT server_id, sum(count) AS lost
    FROM qprof.losses FINAL
    GROUP BY server_id
) USING (server_id)
ORDER BY server_id;

-- name: summary
-- Top-level statements run, their database time, errors; distinct
-- statements (nested ones too).
SELECT
    sumIf(weight, toplevel = 1) AS calls,
    sumIf(weight * (plan_time_ns + exec_time_ns), toplevel = 1) / 1e6 AS db_time_ms,
    sumIf(weight, toplevel = 1 AND sqlstate != '') AS errors,
    uniqExact(server_id, dbid, queryid, if(queryid = 0, toString(cmd), '')) AS statements,
    countIf(toplevel = 1 AND has_io = 1) / countIf(toplevel = 1) AS kernel_share,
    min(start_unix_us) AS first_unix_us,
    max(start_unix_us + duration_us) AS last_unix_us
FROM qprof.samples FINAL
WHERE start_time >= now() - INTERVAL 1 DAY;

-- name: top_statements
-- Top statements by total time (every execution, nested ones too), with
-- p50/p95/p99 of an execution's database time, errors and reads.
SELECT
    server_id,
    dbid,
    queryid,
    database,
    calls,
    total_ms,
    toplevel_ms,
    total_ms / calls AS mean_ms,
    least(greatest(exp(log(1.02) * pb[1]) * 2 / 2.02, p_min), p_max) / 1e6 AS p50_ms,
    least(greatest(exp(log(1.02) * pb[2]) * 2 / 2.02, p_min), p_max) / 1e6 AS p95_ms,
    least(greatest(exp(log(1.02) * pb[3]) * 2 / 2.02, p_min), p_max) / 1e6 AS p99_ms,
    errors,
    rows,
    shared_blks_read,
    text
FROM
(
    SELECT
        server_id,
        dbid,
        queryid,
        if(queryid = 0, toString(cmd), '') AS untexted_cmd,
        any(database) AS database,
        sum(weight) AS calls,
        sum(weight * (plan_time_ns + exec_time_ns)) / 1e6 AS total_ms,
        sumIf(weight * (plan_time_ns + exec_time_ns), toplevel = 1) / 1e6 AS toplevel_ms,
        quantilesExactWeighted(0.5, 0.95, 0.99)(if(plan_time_ns + exec_time_ns <= 1, 0,
            toInt32(ceil(log(plan_time_ns + exec_time_ns) / log(1.02)))), 1) AS pb,
        toFloat64(min(plan_time_ns + exec_time_ns)) AS p_min,
        toFloat64(max(plan_time_ns + exec_time_ns)) AS p_max,
        sumIf(weight, sqlstate != '') AS errors,
        sum(weight * rows) AS rows,
        sum(weight * shared_blks_read) AS shared_blks_read
    FROM qprof.samples FINAL
    WHERE start_time >= now() - INTERVAL 1 DAY
    GROUP BY server_id, dbid, queryid, untexted_cmd
    ORDER BY total_ms DESC
    LIMIT 20
)
ANY LEFT JOIN
(
    SELECT server_id, queryid, text
    FROM qprof.statements FINAL
) USING (server_id, queryid)
ORDER BY total_ms DESC;

-- name: time_by_route
-- Database time by route (the sqlcommenter tag), top-level executions.
SELECT
    route_name,
    calls,
    total_ms,
    total_ms / calls AS mean_ms,
    least(greatest(exp(log(1.02) * pb) * 2 / 2.02, p_min), p_max) / 1e6 AS p95_ms,
    errors
FROM
(
    SELECT
        if(route = '', '(none)', route) AS route_name,
        sum(weight) AS calls,
        sum(weight * (plan_time_ns + exec_time_ns)) / 1e6 AS total_ms,
        quantileExactWeighted(0.95)(if(plan_time_ns + exec_time_ns <= 1, 0,
            toInt32(ceil(log(plan_time_ns + exec_time_ns) / log(1.02)))), 1) AS pb,
        toFloat64(min(plan_time_ns + exec_time_ns)) AS p_min,
        toFloat64(max(plan_time_ns + exec_time_ns)) AS p_max,
        sumIf(weight, sqlstate != '') AS errors
    FROM qprof.samples FINAL
    WHERE toplevel = 1
      AND start_time >= now() - INTERVAL 1 DAY
    GROUP BY route_name
)
ORDER BY total_ms DESC;

-- name: errors_by_sqlstate
-- Failed top-level executions by SQLSTATE, with the statement that failed
-- most that way.
SELECT
    sqlstate,
    count,
    executions,
    top_server_id AS server_id,
    top_queryid AS queryid,
    text
FROM
(
    SELECT
        sqlstate,
        sum(n) AS count,
        sum(recorded) AS executions,
        argMax(server_id, n) AS top_server_id,
        argMax(queryid, n) AS top_queryid
    FROM
    (
        SELECT sqlstate, server_id, queryid, sum(weight) AS n, count() AS recorded
        FROM qprof.samples FINAL
        WHERE toplevel = 1 AND sqlstate != ''
          AND start_time >= now() - INTERVAL 1 DAY
        GROUP BY sqlstate, server_id, queryid
    )
    GROUP BY sqlstate
)
ANY LEFT JOIN
(
    SELECT server_id AS top_server_id, queryid AS top_queryid, text
    FROM qprof.statements FINAL
) USING (top_server_id, top_queryid)
ORDER BY count DESC;

-- name: kernel_by_statement
-- What the kernel did for each statement (BPF's facts, over its executions
-- that have them), the statements by total time.
SELECT
    server_id,
    dbid,
    queryid,
    total_ms,
    kernel_executions,
    oncpu_ms,
    io_wait_ms,
    other_wait_ms,
    page_cache_misses,
    block_bytes,
    text
FROM
(
    SELECT
        server_id,
        dbid,
        queryid,
        if(queryid = 0, toString(cmd), '') AS untexted_cmd,
        sum(weight * (plan_time_ns + exec_time_ns)) / 1e6 AS total_ms,
        countIf(has_io = 1) AS kernel_executions,
        sumIf(weight * oncpu_ns, has_io = 1) / 1e6 AS oncpu_ms,
        sumIf(weight * io_wait_ns, has_io = 1) / 1e6 AS io_wait_ms,
        sumIf(weight * other_wait_ns, has_io = 1) / 1e6 AS other_wait_ms,
        sumIf(weight * page_cache_misses, has_io = 1) AS page_cache_misses,
        sumIf(weight * block_bytes, has_io = 1) AS block_bytes
    FROM qprof.samples FINAL
    WHERE start_time >= now() - INTERVAL 1 DAY
    GROUP BY server_id, dbid, queryid, untexted_cmd
    HAVING kernel_executions > 0
    ORDER BY total_ms DESC
    LIMIT 20
)
ANY LEFT JOIN
(
    SELECT server_id, queryid, text
    FROM qprof.statements FINAL
) USING (server_id, queryid)
ORDER BY total_ms DESC;
