-- A plain role sees its own query texts and tags, not other users' (nor
-- their client addresses); it may not call read_samples or reset. With
-- pg_read_all_stats it sees everything and may call read_samples.
CREATE ROLE regress_qprof_plain LOGIN;
GRANT SELECT ON qp_known TO regress_qprof_plain;

/* owner='super' */ SELECT count(*) AS super_stmt FROM qp_known;
SET ROLE regress_qprof_plain;
/* owner='plain' */ SELECT count(*) AS plain_stmt FROM qp_known;

SELECT userid = 'regress_qprof_plain'::regrole AS own,
       bool_and(query IS NOT NULL) AS all_texts_visible,
       bool_and(query IS NULL) AS all_texts_hidden,
       bool_or(tags IS NOT NULL) AS sees_tags,
       bool_and(client_addr IS NULL) AS no_client_addr
  FROM pg_qprof.samples
 WHERE userid IN ('regress_qprof_plain'::regrole,
                  (SELECT oid FROM pg_roles WHERE rolname = session_user))
 GROUP BY 1 ORDER BY 1;
-- the rest of the sample stays visible: the rows are there, with numbers,
-- but not their queryid (hidden as pg_stat_statements hides it)
SELECT count(*) > 0 AS sees_others_rows,
       bool_and(exec_time_ms IS NOT NULL) AS sees_numbers,
       bool_and(queryid IS NULL) AS queryid_hidden
  FROM pg_qprof.samples WHERE userid <> 'regress_qprof_plain'::regrole;
SELECT bool_and(query IS NULL) AS others_texts_hidden_in_stats
  FROM pg_qprof.stats WHERE userid <> 'regress_qprof_plain'::regrole;
SELECT count(*) > 0 AS status_readable FROM pg_qprof.status;
SELECT count(*) FROM pg_qprof.read_samples(0, 10);
SELECT pg_qprof.reset();
RESET ROLE;

GRANT pg_read_all_stats TO regress_qprof_plain;
SET ROLE regress_qprof_plain;
SELECT userid = 'regress_qprof_plain'::regrole AS own,
       bool_and(query IS NOT NULL) AS sees_text,
       bool_or(tags IS NOT NULL) AS sees_tags
  FROM pg_qprof.samples
 WHERE userid IN ('regress_qprof_plain'::regrole,
                  (SELECT oid FROM pg_roles WHERE rolname = session_user))
   AND tags IS NOT NULL
 GROUP BY 1 ORDER BY 1;
SELECT count(*) > 0 AS reads_samples,
       bool_or(tags ->> 'owner' = 'super') AS sees_super_tags
  FROM pg_qprof.read_samples(0, 100000);
SELECT pg_qprof.reset();
RESET ROLE;

-- reset may be granted explicitly
GRANT EXECUTE ON FUNCTION pg_qprof.reset() TO regress_qprof_plain;
SET ROLE regress_qprof_plain;
SELECT pg_qprof.reset();
RESET ROLE;
REVOKE EXECUTE ON FUNCTION pg_qprof.reset() FROM regress_qprof_plain;
REVOKE pg_read_all_stats FROM regress_qprof_plain;
REVOKE SELECT ON qp_known FROM regress_qprof_plain;
DROP ROLE regress_qprof_plain;
