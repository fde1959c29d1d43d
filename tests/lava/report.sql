-- The demo's report: where LAVA's database time went during the traffic,
-- read from pg_qprof's ring. Run in LAVA's database by a superuser (it
-- switches recording off for its own session). Times in ms.
--
-- With pg_qprof.track = all, statements run inside functions and triggers
-- (foreign-key checks) are samples too (toplevel = false); the totals below
-- count top-level statements only, so nothing is counted twice.
\set QUIET on
\pset pager off
\pset footer off
SET pg_qprof.enabled = off;

-- One read of the ring for the tables that need samples.
CREATE TEMP TABLE traffic AS
    SELECT queryid, toplevel, application_name, tags, sqlstate, rows,
           exec_time_ms, plan_time_ms, shared_blks_read, query
      FROM pg_qprof.samples;

-- A statement in one line, its select list elided (Django names every column).
CREATE FUNCTION pg_temp.digest(query text, width integer) RETURNS text
LANGUAGE sql IMMUTABLE
RETURN left(regexp_replace(regexp_replace(query, '\s+', ' ', 'g'),
                           '^SELECT .+? FROM ', 'SELECT … FROM '),
            width);

\echo
\echo '== Ring =='
SELECT capacity, samples_written, samples_overwritten, samples_dropped,
       (SELECT count(*) FROM traffic) AS samples_since_reset,
       (SELECT count(*) FROM traffic WHERE toplevel) AS top_level,
       reset_time
  FROM pg_qprof.status;

\echo
\echo '== Top statements by total execution time (pg_qprof.stats) =='
WITH route_time AS (
    SELECT queryid, tags->>'route' AS route, sum(exec_time_ms) AS total_ms
      FROM traffic
     WHERE toplevel
     GROUP BY 1, 2
), main_route AS (
    SELECT DISTINCT ON (queryid) queryid, route
      FROM route_time
     ORDER BY queryid, total_ms DESC
)
SELECT s.calls, s.errors,
       round(s.total_exec_time_ms::numeric) AS total_ms,
       round(s.mean_exec_time_ms::numeric, 2) AS mean_ms,
       round(s.p95_exec_time_ms::numeric, 2) AS p95_ms,
       round(s.p99_exec_time_ms::numeric, 2) AS p99_ms,
       s.shared_blks_hit AS blks_hit, s.shared_blks_read AS blks_read,
       coalesce(r.route, '-') AS main_route,
       pg_temp.digest(s.query, 100) AS statement
  FROM pg_qprof.stats s
  LEFT JOIN main_route r USING (queryid)
 WHERE s.toplevel
 ORDER BY s.total_exec_time_ms DESC
 LIMIT 12;

\echo
\echo '== Database time by application =='
SELECT coalesce(application_name, '?') AS application,
       count(*) AS statements,
       round(sum(exec_time_ms + plan_time_ms)::numeric) AS total_ms,
       round((100 * sum(exec_time_ms + plan_time_ms)
              / nullif(sum(sum(exec_time_ms + plan_time_ms)) OVER (), 0))::numeric, 1) AS pct
  FROM traffic
 WHERE toplevel
 GROUP BY 1
 ORDER BY total_ms DESC;

\echo
\echo '== Database time by request route (sqlcommenter tags) =='
SELECT coalesce(tags->>'route', '(untagged: ' || application_name || ')') AS route,
       coalesce(tags->>'controller', '') AS controller,
       count(*) AS statements,
       round(sum(exec_time_ms + plan_time_ms)::numeric) AS total_ms,
       round((100 * sum(exec_time_ms + plan_time_ms)
              / nullif(sum(sum(exec_time_ms + plan_time_ms)) OVER (), 0))::numeric, 1) AS pct,
       round(max(exec_time_ms)::numeric, 1) AS worst_ms,
       count(*) FILTER (WHERE sqlstate <> '00000') AS failed,
       sum(shared_blks_read) AS blks_read
  FROM traffic
 WHERE toplevel
 GROUP BY 1, 2
 ORDER BY total_ms DESC
 LIMIT 25;

\echo
\echo '== Failed statements by SQLSTATE =='
SELECT sqlstate, count(*) AS failures,
       count(DISTINCT queryid) AS statements,
       string_agg(DISTINCT tags->>'route', ', ') AS routes,
       pg_temp.digest(min(query), 80) AS a_statement
  FROM traffic
 WHERE sqlstate <> '00000'
 GROUP BY sqlstate
 ORDER BY failures DESC;

\echo
\echo '== Slowest executions =='
SELECT round(exec_time_ms::numeric, 1) AS exec_ms, sqlstate, rows, shared_blks_read AS blks_read,
       coalesce(tags->>'route', application_name) AS route,
       pg_temp.digest(query, 90) AS statement
  FROM traffic
 WHERE toplevel
 ORDER BY exec_time_ms DESC
 LIMIT 8;
