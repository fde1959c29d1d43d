-- pg_qprof core: samples in the shared-memory ring, read from SQL.
-- Every object is schema-qualified so that search_path cannot redirect it.

\echo Use "CREATE EXTENSION pg_qprof" to load this file. \quit

-- The pg_ prefix is reserved for system schemas: allow it for our own schema
-- only, for the rest of this transaction's script.
SET LOCAL allow_system_table_mods = on;
CREATE SCHEMA pg_qprof;
SET LOCAL allow_system_table_mods = off;

-- Raw reader of the ring: samples with seq > after_seq, oldest first, at most
-- max_rows. Needs superuser or pg_read_all_stats.
CREATE FUNCTION pg_qprof.read_samples(
    after_seq bigint DEFAULT 0,
    max_rows integer DEFAULT 10000,
    OUT seq bigint,
    OUT pid integer,
    OUT exec_id bigint,
    OUT parent_exec_id bigint,
    OUT nesting_level integer,
    OUT toplevel boolean,
    OUT dbid oid,
    OUT userid oid,
    OUT application_name text,
    OUT client_addr inet,
    OUT tags jsonb,
    OUT queryid bigint,
    OUT planid bigint,
    OUT cmd_type text,
    OUT start_time timestamptz,
    OUT end_time timestamptz,
    OUT plan_time_ms double precision,
    OUT exec_time_ms double precision,
    OUT rows bigint,
    OUT shared_blks_hit bigint,
    OUT shared_blks_read bigint,
    OUT shared_blks_dirtied bigint,
    OUT shared_blks_written bigint,
    OUT local_blks_hit bigint,
    OUT local_blks_read bigint,
    OUT local_blks_dirtied bigint,
    OUT local_blks_written bigint,
    OUT temp_blks_read bigint,
    OUT temp_blks_written bigint,
    OUT blk_read_time double precision,
    OUT blk_write_time double precision,
    OUT temp_blk_read_time double precision,
    OUT temp_blk_write_time double precision,
    OUT wal_records bigint,
    OUT wal_fpi bigint,
    OUT wal_bytes bigint,
    OUT jit_functions bigint,
    OUT jit_generation_time double precision,
    OUT jit_inlining_time double precision,
    OUT jit_optimization_time double precision,
    OUT jit_emission_time double precision,
    OUT parallel_workers_planned integer,
    OUT parallel_workers_launched integer,
    OUT sqlstate text,
    OUT has_node_actuals boolean,
    OUT wait_sample_interval_ms double precision,
    OUT sampled_waits jsonb
)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'pg_qprof_read_samples'
LANGUAGE C STRICT VOLATILE PARALLEL SAFE;

-- The same samples as one bytea of raw sample structs (the collector's fast
-- path; the layout is extension/sample.h, checked by a header).
CREATE FUNCTION pg_qprof.read_samples_packed(
    after_seq bigint,
    max_rows integer
)
RETURNS bytea
AS 'MODULE_PATHNAME', 'pg_qprof_read_samples_packed'
LANGUAGE C STRICT VOLATILE PARALLEL SAFE;

-- Same rows for any role; other users' texts, tags and addresses are hidden
-- unless the caller may read all statistics.
CREATE FUNCTION pg_qprof.ring_samples(
    OUT seq bigint,
    OUT pid integer,
    OUT exec_id bigint,
    OUT parent_exec_id bigint,
    OUT nesting_level integer,
    OUT toplevel boolean,
    OUT dbid oid,
    OUT userid oid,
    OUT application_name text,
    OUT client_addr inet,
    OUT tags jsonb,
    OUT queryid bigint,
    OUT planid bigint,
    OUT cmd_type text,
    OUT start_time timestamptz,
    OUT end_time timestamptz,
    OUT plan_time_ms double precision,
    OUT exec_time_ms double precision,
    OUT rows bigint,
    OUT shared_blks_hit bigint,
    OUT shared_blks_read bigint,
    OUT shared_blks_dirtied bigint,
    OUT shared_blks_written bigint,
    OUT local_blks_hit bigint,
    OUT local_blks_read bigint,
    OUT local_blks_dirtied bigint,
    OUT local_blks_written bigint,
    OUT temp_blks_read bigint,
    OUT temp_blks_written bigint,
    OUT blk_read_time double precision,
    OUT blk_write_time double precision,
    OUT temp_blk_read_time double precision,
    OUT temp_blk_write_time double precision,
    OUT wal_records bigint,
    OUT wal_fpi bigint,
    OUT wal_bytes bigint,
    OUT jit_functions bigint,
    OUT jit_generation_time double precision,
    OUT jit_inlining_time double precision,
    OUT jit_optimization_time double precision,
    OUT jit_emission_time double precision,
    OUT parallel_workers_planned integer,
    OUT parallel_workers_launched integer,
    OUT sqlstate text,
    OUT has_node_actuals boolean,
    OUT wait_sample_interval_ms double precision,
    OUT sampled_waits jsonb,
    OUT query text
)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'pg_qprof_ring_samples'
LANGUAGE C STRICT VOLATILE PARALLEL SAFE;

CREATE VIEW pg_qprof.samples AS
    SELECT * FROM pg_qprof.ring_samples();

CREATE FUNCTION pg_qprof.status(
    OUT epoch bigint,
    OUT capacity bigint,
    OUT head_seq bigint,
    OUT oldest_seq bigint,
    OUT samples_written bigint,
    OUT samples_overwritten bigint,
    OUT samples_dropped bigint,
    OUT skipped_by_sampling bigint,
    OUT skipped_by_min_duration bigint,
    OUT skipped_too_deep bigint,
    OUT reset_seq bigint,
    OUT reset_time timestamptz
)
RETURNS record
AS 'MODULE_PATHNAME', 'pg_qprof_status'
LANGUAGE C STRICT VOLATILE PARALLEL SAFE;

CREATE VIEW pg_qprof.status AS
    SELECT * FROM pg_qprof.status();

CREATE FUNCTION pg_qprof.reset()
RETURNS void
AS 'MODULE_PATHNAME', 'pg_qprof_reset'
LANGUAGE C STRICT VOLATILE PARALLEL SAFE;

-- Per statement over what the ring holds: the view a DBA reads during an
-- incident. Percentiles come from the individual executions. Functions and
-- operators are qualified, as everywhere in these scripts.
CREATE VIEW pg_qprof.stats AS
    SELECT s.userid,
           s.dbid,
           s.queryid,
           s.toplevel,
           pg_catalog.min(s.query) AS query,
           pg_catalog.count(*) AS calls,
           pg_catalog.count(*) FILTER (WHERE s.sqlstate OPERATOR(pg_catalog.<>) '00000') AS errors,
           pg_catalog.sum(s.exec_time_ms) AS total_exec_time_ms,
           pg_catalog.avg(s.exec_time_ms) AS mean_exec_time_ms,
           pg_catalog.min(s.exec_time_ms) AS min_exec_time_ms,
           pg_catalog.max(s.exec_time_ms) AS max_exec_time_ms,
           pg_catalog.percentile_cont(0.5) WITHIN GROUP (ORDER BY s.exec_time_ms) AS p50_exec_time_ms,
           pg_catalog.percentile_cont(0.95) WITHIN GROUP (ORDER BY s.exec_time_ms) AS p95_exec_time_ms,
           pg_catalog.percentile_cont(0.99) WITHIN GROUP (ORDER BY s.exec_time_ms) AS p99_exec_time_ms,
           pg_catalog.sum(s.plan_time_ms) AS total_plan_time_ms,
           pg_catalog.sum(s.rows)::bigint AS rows,
           pg_catalog.sum(s.shared_blks_hit)::bigint AS shared_blks_hit,
           pg_catalog.sum(s.shared_blks_read)::bigint AS shared_blks_read,
           pg_catalog.sum(s.shared_blks_dirtied)::bigint AS shared_blks_dirtied,
           pg_catalog.sum(s.shared_blks_written)::bigint AS shared_blks_written,
           pg_catalog.sum(s.temp_blks_read)::bigint AS temp_blks_read,
           pg_catalog.sum(s.temp_blks_written)::bigint AS temp_blks_written,
           pg_catalog.sum(s.blk_read_time) AS blk_read_time,
           pg_catalog.sum(s.blk_write_time) AS blk_write_time,
           pg_catalog.sum(s.wal_bytes)::bigint AS wal_bytes,
           pg_catalog.min(s.start_time) AS first_seen,
           pg_catalog.max(s.end_time) AS last_seen
      FROM pg_qprof.samples s
     GROUP BY s.userid, s.dbid, s.queryid, s.toplevel;

REVOKE ALL ON FUNCTION pg_qprof.read_samples(bigint, integer) FROM PUBLIC;
REVOKE ALL ON FUNCTION pg_qprof.reset() FROM PUBLIC;
REVOKE ALL ON FUNCTION pg_qprof.read_samples_packed(bigint, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pg_qprof.read_samples_packed(bigint, integer) TO pg_read_all_stats;
GRANT EXECUTE ON FUNCTION pg_qprof.read_samples(bigint, integer) TO pg_read_all_stats;
GRANT USAGE ON SCHEMA pg_qprof TO PUBLIC;
GRANT SELECT ON pg_qprof.samples, pg_qprof.status, pg_qprof.stats TO PUBLIC;

-- Where BPF programs find the id of the execution a backend is running:
-- the postmaster's pid and the address of that word in every backend, and
-- the path where backends look for the collector's word slot map (a BPF
-- map they move the word to, which the programs read for less).
CREATE FUNCTION pg_qprof.exec_word(
    OUT postmaster_pid integer,
    OUT word_address bigint,
    OUT slot_map_path text
)
RETURNS record
AS 'MODULE_PATHNAME', 'pg_qprof_exec_word'
LANGUAGE C STRICT VOLATILE PARALLEL SAFE;

REVOKE ALL ON FUNCTION pg_qprof.exec_word() FROM PUBLIC;

-- Where the sample ring lies in the postmaster's memory, for a collector
-- that reads it there (as root or as the server's OS user) rather than
-- through read_samples_packed: addresses, slot layout, and the sample layout
-- it must have been built with (sample_fixed_bytes).
CREATE FUNCTION pg_qprof.ring_memory(
    OUT postmaster_pid integer,
    OUT epoch bigint,
    OUT capacity bigint,
    OUT header_address bigint,
    OUT head_address bigint,
    OUT slots_address bigint,
    OUT slot_bytes integer,
    OUT sample_offset integer,
    OUT sample_fixed_bytes integer
)
RETURNS record
AS 'MODULE_PATHNAME', 'pg_qprof_ring_memory'
LANGUAGE C STRICT VOLATILE PARALLEL SAFE;

REVOKE ALL ON FUNCTION pg_qprof.ring_memory() FROM PUBLIC;

-- For readers such as the collector: the statements of the calling session
-- are no longer recorded, until it disconnects.
CREATE FUNCTION pg_qprof.exclude_session()
RETURNS void
AS 'MODULE_PATHNAME', 'pg_qprof_exclude_session'
LANGUAGE C STRICT VOLATILE PARALLEL UNSAFE;

REVOKE ALL ON FUNCTION pg_qprof.exclude_session() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pg_qprof.exclude_session() TO pg_read_all_stats;
