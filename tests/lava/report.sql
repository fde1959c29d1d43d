-- The demo's report: where LAVA's database time went during the traffic,
-- read from pg_qprof's ring. Run in LAVA's database by a superuser (or a
-- member of pg_read_all_stats). Times in ms.
--
-- With pg_qprof.track = all, statements run inside functions and triggers
-- are samples too (toplevel = false); totals below count top-level
-- statements only, so nothing is counted twice.
\pset pager off
\pset footer off

\echo
\echo '== Ring status =='
SELECT epoch, capacity, samples_written, samples_overwritten, samples_dropped,
       skipped_by_sampling, skipped_by_min_duration, reset_time
  FROM pg_qprof.status;

\echo
\echo '== Top statements by total execution time =='
SELECT calls, errors,
       round(total_exec_time_ms::numeric) AS total_ms,
       round(mean_exec_time_ms::numeric, 2) AS mean_ms,
       round(p95_exec_time_ms::numeric, 2) AS p95_ms,
       round(p99_exec_time_ms::numeric, 2) AS p99_ms,
       rows, shared_blks_hit, shared_blks_read,
       left(regexp_replace(query, '\s+', ' ', 'g'), 110) AS query
  FROM pg_qprof.stats
 WHERE toplevel
 ORDER BY total_exec_time_ms DESC
 LIMIT 12;

\echo
\echo '== Database time by application =='
SELECT coalesce(application_name, '?') AS application,
       count(*) AS statements,
       round(sum(exec_time_ms + plan_time_ms)::numeric) AS total_ms,
       round((100 * sum(exec_time_ms + plan_time_ms)
              / nullif(sum(sum(exec_time_ms + plan_time_ms)) OVER (), 0))::numeric, 1) AS pct
  FROM pg_qprof.samples
 WHERE toplevel
 GROUP BY 1
 ORDER BY total_ms DESC;

\echo
\echo '== Database time by request route (sqlcommenter tags) =='
SELECT coalesce(tags->>'route', '(untagged)') AS route,
       coalesce(tags->>'controller', '') AS controller,
       count(*) AS statements,
       round(sum(exec_time_ms + plan_time_ms)::numeric) AS total_ms,
       round((100 * sum(exec_time_ms + plan_time_ms)
              / nullif(sum(sum(exec_time_ms + plan_time_ms)) OVER (), 0))::numeric, 1) AS pct,
       round(max(exec_time_ms)::numeric, 1) AS worst_ms,
       sum(shared_blks_read) AS blks_read
  FROM pg_qprof.samples
 WHERE toplevel
 GROUP BY 1, 2
 ORDER BY total_ms DESC
 LIMIT 25;

\echo
\echo '== Failed statements by SQLSTATE =='
SELECT sqlstate, count(*) AS failures,
       min(tags->>'route') AS a_route,
       left(regexp_replace(min(query), '\s+', ' ', 'g'), 90) AS a_statement
  FROM pg_qprof.samples
 WHERE sqlstate <> '00000'
 GROUP BY sqlstate
 ORDER BY failures DESC;

\echo
\echo '== Slowest executions =='
SELECT round(exec_time_ms::numeric, 1) AS exec_ms, rows, shared_blks_read,
       coalesce(tags->>'route', application_name) AS route,
       left(regexp_replace(query, '\s+', ' ', 'g'), 90) AS query
  FROM pg_qprof.samples
 WHERE toplevel
 ORDER BY exec_time_ms DESC
 LIMIT 8;
