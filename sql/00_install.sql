-- Installation: the extension lives in schema pg_qprof, with the SQL API of
-- extension/sql/10_core.sql and the settings of the core at their defaults.
CREATE EXTENSION pg_qprof;

SELECT extname, extversion FROM pg_extension WHERE extname = 'pg_qprof';

-- functions and views of the core API
SELECT p.proname, p.pronargs, p.proretset, p.provolatile
  FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
 WHERE n.nspname = 'pg_qprof'
   AND p.proname IN ('read_samples', 'ring_samples', 'status', 'reset')
 ORDER BY 1, 2;
SELECT c.relname, c.relkind
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname = 'pg_qprof' AND c.relname IN ('samples', 'status', 'stats')
 ORDER BY 1;

-- settings of the core: defaults, units, who may change them, bounds
SELECT name, setting, unit, context, vartype, min_val, max_val, enumvals
  FROM pg_settings
 WHERE name IN ('pg_qprof.enabled', 'pg_qprof.track', 'pg_qprof.track_utility',
                'pg_qprof.sample_rate', 'pg_qprof.min_duration',
                'pg_qprof.ring_size')
 ORDER BY name;
SHOW pg_qprof.ring_size;

-- a fresh ring: an epoch, a capacity that fits 16 MB, nothing lost yet,
-- sequence numbers dense from 1
SELECT epoch <> 0 AS has_epoch,
       capacity * 600 <= 16 * 1024 * 1024 AS slots_fit_ring_size,
       capacity * 2048 >= 16 * 1024 * 1024 AS slots_not_wasteful,
       samples_written > 0 AS wrote_some,
       head_seq = samples_written AS head_is_written,
       oldest_seq = 1 AS oldest_is_first,
       samples_overwritten = 0 AS none_overwritten,
       samples_dropped = 0 AS none_dropped,
       skipped_by_sampling = 0 AS none_sampled_out,
       skipped_by_min_duration = 0 AS none_too_short
  FROM pg_qprof.status;

-- Helpers for the other tests.
-- The queryid that the server computes for a statement (EXPLAIN VERBOSE).
CREATE FUNCTION qp_queryid(stmt text) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    plan json;
BEGIN
    EXECUTE 'EXPLAIN (VERBOSE, FORMAT JSON) ' || stmt INTO plan;
    RETURN (plan -> 0 ->> 'Query Identifier')::bigint;
END
$$;
-- The samples of this backend.
CREATE VIEW qp_mine AS
    SELECT * FROM pg_qprof.samples WHERE pid = pg_backend_pid();
