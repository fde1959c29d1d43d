-- Bad setting values are rejected with clear errors; the pg_qprof. prefix is
-- reserved; pg_qprof.enabled = off records nothing; the stats view; reset.
SET pg_qprof.sample_rate = 2;
SET pg_qprof.sample_rate = -0.1;
SET pg_qprof.track = 'bogus';
SET pg_qprof.min_duration = -5;
SET pg_qprof.enabled = 'maybe';
SET pg_qprof.ring_size = 32;
SET pg_qprof.no_such_setting = 1;
SELECT current_setting('pg_qprof.sample_rate') AS sample_rate,
       current_setting('pg_qprof.track') AS track,
       current_setting('pg_qprof.min_duration') AS min_duration;

-- a plain role may not change what is recorded
CREATE ROLE regress_qprof_settings;
SET ROLE regress_qprof_settings;
SET pg_qprof.track = 'none';
SET pg_qprof.enabled = off;
SET pg_qprof.sample_rate = 0;
RESET ROLE;
DROP ROLE regress_qprof_settings;

-- enabled = off: nothing recorded, nothing counted
SET pg_qprof.enabled = off;
SELECT head_seq AS mark, skipped_by_sampling AS skipped0 FROM pg_qprof.status \gset
SELECT 1 AS unrecorded;
INSERT INTO qp_log VALUES (9);
SELECT head_seq = :mark AS head_unchanged,
       skipped_by_sampling = :skipped0 AS nothing_counted
  FROM pg_qprof.status;
RESET pg_qprof.enabled;

-- reset: the samples before it are hidden from the views, the skip counters
-- zeroed; the epoch and the sequence numbers go on
SELECT epoch AS epoch0, head_seq AS head0 FROM pg_qprof.status \gset
SELECT pg_qprof.reset();
SELECT epoch = :epoch0 AS same_epoch,
       reset_seq >= :head0 AS reset_seq_ok,
       reset_time BETWEEN now() - interval '1 minute' AND now() AS reset_time_ok,
       head_seq > reset_seq AS reset_call_recorded,
       skipped_by_sampling = 0 AND skipped_by_min_duration = 0
           AS skip_counters_zeroed
  FROM pg_qprof.status;
SELECT count(*) AS visible,
       bool_and(seq > (SELECT reset_seq FROM pg_qprof.status)) AS all_after_reset
  FROM pg_qprof.samples;
-- the collector's interface still returns the older samples: a reset only
-- hides them from the views
SELECT count(*) FILTER (WHERE seq <= s.reset_seq) > 0 AS older_still_readable,
       count(*) FILTER (WHERE seq > s.reset_seq) AS newer
  FROM pg_qprof.read_samples(0, 100000), pg_qprof.status s;

-- read_samples(after_seq, max_rows): the samples after after_seq, oldest
-- first, at most max_rows
SELECT head_seq AS mark FROM pg_qprof.status \gset
SELECT 1 AS a;
SELECT 2 AS b;
SELECT 3 AS c;
SELECT array_agg(seq - :mark ORDER BY seq) AS first_two
  FROM pg_qprof.read_samples(:mark, 2);
SELECT array_agg(seq - :mark) AS after_two
  FROM pg_qprof.read_samples(:mark + 2, 1000);
SELECT count(*) AS none_after_head
  FROM pg_qprof.read_samples((SELECT head_seq FROM pg_qprof.status), 10);
SELECT count(*) AS zero_rows FROM pg_qprof.read_samples(0, 0);

-- stats: per statement over the ring
SELECT pg_qprof.reset();
SELECT id FROM qp_known WHERE id = 1;
SELECT id FROM qp_known WHERE id = 2;
SELECT id FROM qp_known WHERE id = 3;
SELECT id FROM qp_known WHERE id = -4;
SELECT 1 / (id - 1) FROM qp_known WHERE id = 1;
SELECT 1 / (id - 1) FROM qp_known WHERE id = 2;
SELECT calls, errors, rows,
       min_exec_time_ms <= p50_exec_time_ms
           AND p50_exec_time_ms <= p95_exec_time_ms
           AND p95_exec_time_ms <= p99_exec_time_ms
           AND p99_exec_time_ms <= max_exec_time_ms AS percentiles_ordered,
       abs(total_exec_time_ms - mean_exec_time_ms * calls) < 0.001 AS mean_ok,
       total_exec_time_ms > 0 AS timed,
       first_seen <= last_seen AS seen_ok,
       toplevel,
       userid = current_user::regrole AS userid_ok
  FROM pg_qprof.stats
 WHERE queryid IN (qp_queryid('SELECT id FROM qp_known WHERE id = 1'),
                   qp_queryid('SELECT 1 / (id - 1) FROM qp_known WHERE id = 1'))
 ORDER BY calls DESC;
SELECT count(*) AS statements, sum(calls) AS calls FROM pg_qprof.stats;
