-- Each field of the sample, for statements whose effects are known.
SET application_name = 'qprof_fields';
CREATE TABLE qp_known (id int NOT NULL, pad text);
INSERT INTO qp_known SELECT g, repeat('x', 200) FROM generate_series(1, 1000) g;
VACUUM ANALYZE qp_known;
SELECT pg_relation_size('qp_known') / current_setting('block_size')::int AS known_pages \gset

SELECT head_seq AS mark FROM pg_qprof.status \gset
SELECT count(*) FROM qp_known;
SELECT id FROM qp_known WHERE id = 7;
SELECT id FROM qp_known WHERE id = 8;
INSERT INTO qp_known VALUES (1001, 'a'), (1002, 'b'), (1003, 'c');
UPDATE qp_known SET pad = 'y' WHERE id <= 5;
DELETE FROM qp_known WHERE id > 1000;
MERGE INTO qp_known k
USING (VALUES (1, 'm'), (2000, 'n')) AS v(id, pad) ON k.id = v.id
 WHEN MATCHED THEN UPDATE SET pad = v.pad
 WHEN NOT MATCHED THEN INSERT VALUES (v.id, v.pad);
SELECT * FROM qp_known WHERE false;
SELECT id FROM qp_known WHERE id BETWEEN 10 AND 14 ORDER BY id;

-- one sample per statement, in order (the first is the mark itself)
SELECT row_number() OVER (ORDER BY seq) AS n, cmd_type, rows, toplevel,
       nesting_level, parent_exec_id, sqlstate
  FROM qp_mine WHERE seq > :mark ORDER BY seq;

-- identity, who, when: the same for all of them
SELECT count(*) AS samples,
       bool_and(dbid = (SELECT oid FROM pg_database
                         WHERE datname = current_database())) AS dbid_ok,
       bool_and(userid = (SELECT oid FROM pg_roles
                           WHERE rolname = current_user)) AS userid_ok,
       bool_and(application_name = 'qprof_fields') AS appname_ok,
       bool_and(client_addr IS NULL) AS unix_socket_has_no_addr,
       bool_and(tags IS NULL) AS no_tags,
       bool_and(queryid <> 0) AS has_queryid,
       bool_and(exec_time_ms > 0) AS exec_time_positive,
       bool_and(plan_time_ms >= 0) AS plan_time_not_negative,
       bool_and(end_time >= start_time) AS ends_after_start,
       bool_and(start_time > now() - interval '5 minutes'
                AND end_time <= clock_timestamp()) AS recent,
       bool_and(exec_time_ms
                <= extract(epoch FROM end_time - start_time) * 1000 + 1)
           AS exec_time_within_wall_time,
       bool_and(jit_functions = 0) AS no_jit,
       bool_and(temp_blks_read = 0 AND temp_blks_written = 0) AS no_temp,
       bool_and(local_blks_hit = 0 AND local_blks_read = 0) AS no_local,
       bool_and(parallel_workers_planned = 0
                AND parallel_workers_launched = 0) AS not_parallel,
       bool_and(has_node_actuals IS NOT NULL) AS actuals_flag_set,
       bool_and(wait_sample_interval_ms = 10) AS waits_sampled_every_10ms,
       bool_and(jsonb_typeof(sampled_waits) = 'object') AS sampled_waits_set,
       count(DISTINCT exec_id) = count(*) AS exec_ids_distinct
  FROM qp_mine WHERE seq > :mark;

-- execution ids grow with the sequence numbers within a backend
SELECT bool_and(exec_id > prev_exec_id) AS exec_id_grows
  FROM (SELECT exec_id, lag(exec_id) OVER (ORDER BY seq) AS prev_exec_id
          FROM qp_mine WHERE seq > :mark) s
 WHERE prev_exec_id IS NOT NULL;

-- queryid: the server's query identifier; constants do not change it
SELECT count(*) FILTER (WHERE queryid = qp_queryid('SELECT count(*) FROM qp_known')) AS count_stmt,
       count(*) FILTER (WHERE queryid = qp_queryid('SELECT id FROM qp_known WHERE id = 1')) AS point_stmt,
       count(*) FILTER (WHERE queryid = qp_queryid('INSERT INTO qp_known VALUES (1, ''a''), (2, ''b''), (3, ''c'')')) AS insert_stmt,
       count(DISTINCT queryid) AS distinct_queryids
  FROM qp_mine WHERE seq > :mark;

-- buffers: a sequential scan touches every page of the table once; reads
-- change no page and write no WAL; writes do
SELECT n, cmd_type,
       shared_blks_hit + shared_blks_read BETWEEN :known_pages AND :known_pages + 5
           AS scanned_every_page,
       shared_blks_hit + shared_blks_read + shared_blks_dirtied
           + shared_blks_written >= 0 AS counters_not_negative,
       wal_records, wal_bytes > 0 AS wrote_wal, wal_fpi >= 0 AS fpi_ok,
       blk_read_time >= 0 AND blk_write_time >= 0 AS io_times_ok
  FROM (SELECT row_number() OVER (ORDER BY seq) AS n, *
          FROM qp_mine WHERE seq > :mark) s
 WHERE n IN (2, 3)
 ORDER BY n;
SELECT n, cmd_type, rows,
       wal_records >= rows AS wal_record_per_row, wal_bytes > 0 AS wrote_wal,
       shared_blks_hit + shared_blks_read > 0 AS touched_buffers
  FROM (SELECT row_number() OVER (ORDER BY seq) AS n, *
          FROM qp_mine WHERE seq > :mark) s
 WHERE n IN (5, 6, 7, 8)
 ORDER BY n;

-- the application name is the one at the time of the statement
SET application_name = 'qprof_other';
SELECT 1 AS under_other_name;
SELECT application_name FROM qp_mine WHERE seq > :mark
 ORDER BY seq DESC LIMIT 1;
RESET application_name;
