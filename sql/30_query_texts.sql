-- Normalized query texts (pg_qprof.queries): constants become $n the way
-- pg_stat_statements shows them; one text per queryid (of a user and a
-- database).
CREATE TABLE qp_texts (id int PRIMARY KEY, name text, born date);

-- The stored text of a statement, found by its queryid.
CREATE FUNCTION qp_text(stmt text) RETURNS text
LANGUAGE sql AS $$
    SELECT query FROM pg_qprof.queries WHERE queryid = qp_queryid(stmt)
$$;

SELECT * FROM qp_texts WHERE id = 42 AND name = 'it''s';
SELECT * FROM qp_texts WHERE id IN (1, 2, 3) OR name IN ('a', 'b');
SELECT '7'::int + 1, 2.5::numeric, CAST('x' AS varchar(3));
SELECT -5 AS negative, - 6 AS spaced, - -7 AS twice, 1e3 AS exp, E'tab\t' AS escaped,
       x'1F' AS bits, date '2020-01-01' AS typed, interval '1 day' AS iv,
       $$dollar 'quoted'$$ AS dollar;
SELECT id FROM qp_texts
 WHERE born > now() - interval '3 days'   -- a trailing comment
 LIMIT 10 OFFSET 5;
SELECT qp_text('SELECT * FROM qp_texts WHERE id = 1 AND name = ''x''') AS simple;
SELECT qp_text('SELECT * FROM qp_texts WHERE id IN (7, 8, 9) OR name IN (''c'', ''d'')') AS lists;
SELECT qp_text('SELECT ''1''::int + 2, 3.5::numeric, CAST(''y'' AS varchar(3))') AS casts;
SELECT qp_text('SELECT -1 AS negative, - 2 AS spaced, - -3 AS twice, 2e3 AS exp, E''x'' AS escaped, x''0'' AS bits, date ''1999-01-01'' AS typed, interval ''2 days'' AS iv, $$d$$ AS dollar') AS literals;
SELECT qp_text('SELECT id FROM qp_texts WHERE born > now() - interval ''1 day'' LIMIT 1 OFFSET 0') AS with_comment;

WITH x AS (SELECT 1 AS v) SELECT ARRAY[1, 2] AS arr, '{3,4}'::int[] AS lit,
       (SELECT 7) AS sub, 'multi'
       'line' AS continued
  FROM x WHERE v = 1 LIMIT ALL;
SELECT qp_text('WITH x AS (SELECT 2 AS v) SELECT ARRAY[3, 4] AS arr, ''{5}''::int[] AS lit, (SELECT 8) AS sub, ''one'' AS continued FROM x WHERE v = 3 LIMIT ALL') AS nested;

-- Other constants: the same queryid, so no second text.
SELECT * FROM qp_texts WHERE id = 43 AND name = 'other';
SELECT count(*) AS texts_for_query
  FROM pg_qprof.queries
 WHERE queryid = qp_queryid('SELECT * FROM qp_texts WHERE id = 1 AND name = ''x''');

-- Parameters of a prepared statement keep their numbers; constants follow.
-- PREPARE itself is not recorded, so no text is kept for it.
PREPARE qp_texts_prep(int) AS SELECT name FROM qp_texts WHERE id = $1 AND name <> 'zz';
EXECUTE qp_texts_prep(1);
SELECT DISTINCT query FROM pg_qprof.queries
 WHERE query LIKE 'PREPARE qp_texts_prep%' ORDER BY query;
DEALLOCATE qp_texts_prep;

-- Several statements in one query string: each gets its own text.
SELECT count(*) FROM qp_texts WHERE id = 101 \; SELECT name FROM qp_texts WHERE id = 102 OR name = 'two';
SELECT query FROM pg_qprof.queries
 WHERE query IN ('SELECT count(*) FROM qp_texts WHERE id = $1',
                 'SELECT name FROM qp_texts WHERE id = $1 OR name = $2')
 ORDER BY query;

-- Utility statements are kept as written.
CREATE TEMP TABLE qp_texts_tmp (v int DEFAULT 5);
SELECT query FROM pg_qprof.queries WHERE query LIKE 'CREATE TEMP TABLE qp_texts_tmp%';

-- Counters: texts are stored once, none evicted in a store this size.
SELECT query_texts > 0 AS has_texts,
       query_texts = query_texts_stored - query_texts_evicted AS consistent,
       query_texts_evicted = 0 AS none_evicted,
       query_text_bytes <= query_text_bytes_max AS within_budget,
       query_texts_max = current_setting('pg_qprof.max_query_texts')::bigint
           AS max_is_setting
  FROM pg_qprof.status;

-- Any role may read the view, but sees only its own texts: other users'
-- rows come without queryid and text (34_query_text_privacy has more).
CREATE ROLE qp_texts_nobody;
SET ROLE qp_texts_nobody;
SELECT count(*) > 0 AS sees_rows,
       bool_and(queryid IS NULL) AS queryids_hidden,
       bool_and(query = '<insufficient privilege>') AS texts_hidden
  FROM pg_qprof.queries WHERE userid <> 'qp_texts_nobody'::regrole;
RESET ROLE;
DROP ROLE qp_texts_nobody;
DROP TABLE qp_texts;
DROP FUNCTION qp_text(text);
