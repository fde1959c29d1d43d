-- sqlcommenter tags: a /* key='value',... */ comment becomes the tags jsonb,
-- keys and values URL-decoded; a malformed comment gives NULL tags and never
-- an error.
SELECT head_seq AS mark FROM pg_qprof.status \gset
/* route='%2Fscheduler%2Falljobs',controller='x' */ SELECT 1 AS prefix;
SELECT 2 AS suffix /*controller='index',action='show',traceparent='00-5bd66ef5095369c7b0d1f8f4bd33716a-c532cb4098ac3dd2-01'*/;
SELECT 3 AS spaces /* application='lava', db_driver='django%3A4.2' */;
SELECT 4 AS utf8 /*route='%2Fcaf%C3%A9%20menu'*/;
INSERT INTO qp_log VALUES (5) /*controller='log'*/;
SELECT 6 AS no_comment;
/* just a comment */ SELECT 7 AS plain_comment;
/* route='unterminated */ SELECT 8 AS unterminated_value;
/* route= */ SELECT 9 AS no_value;
/* route=x */ SELECT 10 AS unquoted_value;
/* ='x' */ SELECT 11 AS no_key;
/**/ SELECT 12 AS empty_comment;
SELECT 'not /* route=''x'' */ a comment' AS in_a_string;
SELECT row_number() OVER (ORDER BY seq) AS n, sqlstate, tags
  FROM qp_mine WHERE seq > :mark ORDER BY seq;
SELECT tags ->> 'route' AS route, tags ->> 'controller' AS controller
  FROM qp_mine WHERE seq > :mark AND tags ? 'route' ORDER BY seq;

-- several statements in one query string: each has its own comment
SELECT head_seq AS mark FROM pg_qprof.status \gset
SELECT 1 AS first /*part='one'*/ \; SELECT 2 AS second /*part='two'*/ \; SELECT 3 AS third;
SELECT row_number() OVER (ORDER BY seq) AS n, rows, tags
  FROM qp_mine WHERE seq > :mark ORDER BY seq;

-- a comment longer than the stored tag text: no error, still recorded
SELECT head_seq AS mark FROM pg_qprof.status \gset
SELECT format('SELECT 1 AS long_tags /*route=''%s'',controller=''c''*/',
              repeat('a', 400)) \gexec
SELECT cmd_type, sqlstate, tags IS NULL OR jsonb_typeof(tags) = 'object' AS tags_ok
  FROM qp_mine WHERE seq > :mark ORDER BY seq;

-- the tags are grouped by in the stats
SELECT tags ->> 'controller' AS controller, count(*)
  FROM pg_qprof.samples
 WHERE seq > 0 AND tags ? 'controller' AND pid = pg_backend_pid()
 GROUP BY 1 ORDER BY 1;
