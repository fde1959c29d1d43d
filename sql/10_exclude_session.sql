-- pg_qprof.exclude_session(): a reader stops the recording of its own
-- session only; it needs the rights of pg_read_all_stats.
CREATE ROLE qp_plain_reader LOGIN;
SET ROLE qp_plain_reader;
SELECT pg_qprof.exclude_session();
RESET ROLE;

SELECT head_seq AS before FROM pg_qprof.status \gset
SELECT 'recorded' AS before_exclusion;
-- the status query itself and the one above
SELECT count(*) AS two_samples FROM pg_qprof.samples
 WHERE seq > :before AND pid = pg_backend_pid();

SELECT pg_qprof.exclude_session();
SELECT head_seq AS mark FROM pg_qprof.status \gset
SELECT 'not recorded' AS after_exclusion;
SELECT 1 / 0;
SELECT count(*) AS no_sample_of_this_session FROM pg_qprof.samples
 WHERE seq > :mark AND pid = pg_backend_pid();

-- another session is still recorded
\c
SELECT head_seq AS mark FROM pg_qprof.status \gset
SELECT 'new session' AS recorded_again;
SELECT count(*) AS two_samples FROM pg_qprof.samples
 WHERE seq > :mark AND pid = pg_backend_pid();
DROP ROLE qp_plain_reader;
