-- Query texts are kept per (userid, dbid, queryid), as pg_stat_statements
-- keeps them (issue 26, defect 5): the same statement run by two users, or
-- in two databases, keeps each one's text and the comment in it. A user
-- sees its own texts only: another user's queryid and text are hidden in
-- pg_qprof.queries and pg_qprof.samples. Roles with pg_read_all_stats see
-- everything, each sample with its own user's text.
CREATE TABLE qp_privacy (id int, v text);
CREATE ROLE qp_alice;
CREATE ROLE qp_bob;
CREATE ROLE qp_reader IN ROLE pg_read_all_stats;
GRANT SELECT ON qp_privacy TO qp_alice, qp_bob;

SET ROLE qp_alice;
SELECT count(*) FROM qp_privacy WHERE id = 1 /* tenant='acme', api_key='s3cr3t' */;
RESET ROLE;
SET ROLE qp_bob;
SELECT count(*) FROM qp_privacy WHERE id = 2 /* tenant='bob' */;

-- bob's own sample shows bob's text, never alice's
SELECT query FROM pg_qprof.samples
 WHERE query LIKE 'SELECT count(*) FROM qp_privacy%' ORDER BY query;
-- alice's samples: the numbers stay, her queryid and text do not
SELECT count(*) > 0 AS sees_alice_samples,
       bool_and(queryid IS NULL) AS queryid_hidden,
       bool_and(query IS NULL) AS text_hidden
  FROM pg_qprof.samples WHERE userid = 'qp_alice'::regrole;
-- the texts view: bob's rows in full, alice's without queryid and text
SELECT queryid IS NOT NULL AS has_queryid, query
  FROM pg_qprof.queries
 WHERE userid = 'qp_bob'::regrole
   AND query LIKE 'SELECT count(*) FROM qp_privacy%';
SELECT count(*) > 0 AS sees_alice_rows,
       bool_and(queryid IS NULL) AS queryid_hidden,
       bool_and(query = '<insufficient privilege>') AS text_hidden
  FROM pg_qprof.queries WHERE userid = 'qp_alice'::regrole;
SELECT count(*) AS alice_secret_visible
  FROM pg_qprof.queries WHERE query LIKE '%s3cr3t%';
-- looked up by (userid, dbid, queryid), as the collector does: bob's only
SELECT qp_queryid('SELECT count(*) FROM qp_privacy WHERE id = 3') AS qid,
       (SELECT oid FROM pg_database WHERE datname = current_database()) AS db
\gset
SELECT queryid = :qid AS right_queryid, query
  FROM pg_qprof.query_texts(ARRAY['qp_alice'::regrole, 'qp_bob'::regrole]::oid[],
                            ARRAY[:db, :db]::oid[], ARRAY[:qid, :qid]);
RESET ROLE;

-- a reader of all statistics: both texts, one queryid, each sample with its
-- own user's text
SET ROLE qp_reader;
SELECT r.rolname, q.query
  FROM pg_qprof.queries q JOIN pg_roles r ON r.oid = q.userid
 WHERE q.query LIKE 'SELECT count(*) FROM qp_privacy%' ORDER BY 1;
SELECT count(DISTINCT queryid) AS queryids
  FROM pg_qprof.queries WHERE query LIKE 'SELECT count(*) FROM qp_privacy%';
SELECT r.rolname, q.query
  FROM pg_qprof.query_texts(ARRAY['qp_alice'::regrole, 'qp_bob'::regrole,
                                  'qp_reader'::regrole, NULL]::oid[],
                            ARRAY[:db, :db, :db, :db]::oid[],
                            ARRAY[:qid, :qid, :qid, :qid]) q
  JOIN pg_roles r ON r.oid = q.userid ORDER BY 1;
SELECT r.rolname, s.query
  FROM pg_qprof.samples s JOIN pg_roles r ON r.oid = s.userid
 WHERE s.query LIKE 'SELECT count(*) FROM qp_privacy%' ORDER BY 1;
RESET ROLE;

-- the same statement (same queryid: pg_class has the same OID everywhere)
-- in another database keeps that database's text
\set regress_db :DBNAME
CREATE DATABASE qp_privacy_other;
\c qp_privacy_other
SELECT relname AS qp_db_probe FROM pg_catalog.pg_class
 WHERE reltuples < -2 /* db='other' */;
\c :regress_db
SELECT relname AS qp_db_probe FROM pg_catalog.pg_class
 WHERE reltuples < -2 /* db='regress' */;
SELECT d.datname = current_database() AS this_db, q.query
  FROM pg_qprof.queries q JOIN pg_database d ON d.oid = q.dbid
 WHERE q.query LIKE 'SELECT relname AS qp_db_probe%' ORDER BY 1;
SELECT s.dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
           AS this_db, s.query
  FROM pg_qprof.samples s
 WHERE s.query LIKE 'SELECT relname AS qp_db_probe%' ORDER BY 1;
DROP DATABASE qp_privacy_other;

DROP TABLE qp_privacy;
DROP ROLE qp_alice, qp_bob, qp_reader;
