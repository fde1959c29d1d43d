-- Hostile sqlcommenter tags from a plain role. A value that decodes to a NUL
-- drops its pair (no text type can hold one); bytes that are not well-formed
-- UTF-8 become U+FFFD. Whatever the comment, every reader's view of the ring
-- keeps working: samples, stats, read_samples and node_actuals.
CREATE ROLE regress_qprof_hostile LOGIN;
SELECT head_seq AS mark FROM pg_qprof.status \gset
-- node actuals for every execution: node_actuals(seq) reads the sample's row
SET pg_qprof.analyze_sample_rate = 1;
SET ROLE regress_qprof_hostile;
SELECT 1 AS nul_value /* k='%00' */;
SELECT 2 AS nul_key /* %00='v',ok='kept' */;
SELECT 3 AS nul_inside /* k='a%00b',ok='kept' */;
SELECT 4 AS invalid_bytes /* k='%FF%FE' */;
SELECT 5 AS cut_sequence /* k='caf%C3',next='x' */;
SELECT 6 AS overlong /* k='%C0%AF' */;
SELECT 7 AS surrogate /* k='%ED%A0%80' */;
SELECT 8 AS above_max /* k='%F4%90%80%80' */;
SELECT 9 AS control /* k='%01%1F%7F' */;
SELECT 10 AS escapes /* k='%22%5Cu0000%5C' */;
SELECT 11 AS valid /* k='caf%C3%A9 %F0%9F%98%80' */;
SELECT head_seq AS last FROM pg_qprof.status \gset
-- what the plain role sees of its own samples
-- (convert_from checks the bytes: it raises on invalid UTF-8)
SELECT row_number() OVER (ORDER BY seq) AS n, tags,
       convert_from(convert_to(tags::text, 'UTF8'), 'UTF8') = tags::text
           AS valid_utf8
  FROM pg_qprof.samples
 WHERE seq BETWEEN :mark + 1 AND :last AND userid = current_user::regrole
   AND cmd_type = 'SELECT'
 ORDER BY seq;
SELECT count(*) > 0 AS stats_readable
  FROM pg_qprof.stats WHERE userid = current_user::regrole;
RESET ROLE;
RESET pg_qprof.analyze_sample_rate;

-- readers with every right see the same and read without error
SELECT count(*) AS hostile_samples,
       count(tags) AS with_tags
  FROM pg_qprof.samples
 WHERE seq BETWEEN :mark + 1 AND :last
   AND userid = 'regress_qprof_hostile'::regrole
   AND cmd_type = 'SELECT';
SELECT count(*) AS hostile_samples, count(tags) AS with_tags
  FROM pg_qprof.read_samples(:mark, 100000)
 WHERE seq <= :last AND userid = 'regress_qprof_hostile'::regrole
   AND cmd_type = 'SELECT';
SELECT count(*) > 0 AS stats_readable
  FROM pg_qprof.stats WHERE userid = 'regress_qprof_hostile'::regrole;
-- node_actuals(seq) of each of those samples: one Result node each
SELECT count(*) AS samples, sum(nodes) AS nodes
  FROM (SELECT (SELECT count(*) FROM pg_qprof.node_actuals(s.seq)) AS nodes
          FROM pg_qprof.samples s
         WHERE s.seq BETWEEN :mark + 1 AND :last
           AND s.userid = 'regress_qprof_hostile'::regrole
           AND s.cmd_type = 'SELECT' AND s.has_node_actuals) x;

-- A reader in a LATIN1 database: the tags come converted to its encoding; a
-- character LATIN1 has no room for gives that row no tags, not an error.
SELECT head_seq AS mark FROM pg_qprof.status \gset
SELECT 12 AS latin1_fits /* k='caf%C3%A9' */;
SELECT 13 AS latin1_cannot /* k='%F0%9F%98%80' */;
SELECT 14 AS ascii_only /* k='plain' */;
SELECT head_seq AS last, pg_backend_pid() AS first_pid
  FROM pg_qprof.status \gset
\set regress_db :DBNAME
CREATE DATABASE qp_latin1 ENCODING 'LATIN1' TEMPLATE template0
    LC_COLLATE 'C' LC_CTYPE 'C';
\c qp_latin1
-- this session reads and writes UTF-8; the server converts
SET client_encoding = 'UTF8';
CREATE EXTENSION pg_qprof;
SELECT tags, tags ->> 'k' = 'café' AS converted
  FROM pg_qprof.samples
 WHERE seq BETWEEN :mark + 1 AND :last AND pid = :first_pid
   AND cmd_type = 'SELECT'
 ORDER BY seq;
SELECT count(*) AS with_tags
  FROM pg_qprof.read_samples(:mark, 100000)
 WHERE seq <= :last AND pid = :first_pid AND tags IS NOT NULL;
SELECT count(*) > 0 AS read FROM pg_qprof.stats;
\c :regress_db
DROP DATABASE qp_latin1;

DROP ROLE regress_qprof_hostile;
