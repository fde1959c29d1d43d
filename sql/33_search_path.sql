-- A caller's search_path cannot make the extension run someone else's code:
-- operators, functions and aggregates of the names pg_qprof's SQL uses,
-- created in a schema put first on the path, never run when a superuser
-- calls every function and reads every view of the extension. Each shadow
-- records that it ran (a row in qp_evil.ran and a NOTICE).
CREATE SCHEMA qp_evil;
CREATE TABLE qp_evil.ran (what text);
CREATE FUNCTION qp_evil.record(what text) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO qp_evil.ran VALUES (what);
    RAISE NOTICE 'shadow % ran', what;
END $$;

CREATE FUNCTION qp_evil.minus(a bigint, b integer) RETURNS bigint
LANGUAGE plpgsql AS $$
BEGIN PERFORM qp_evil.record('-(bigint,integer)');
      RETURN a OPERATOR(pg_catalog.-) b; END $$;
CREATE OPERATOR qp_evil.- (LEFTARG = bigint, RIGHTARG = integer,
                           FUNCTION = qp_evil.minus);
CREATE FUNCTION qp_evil.eq_int8(a bigint, b bigint) RETURNS boolean
LANGUAGE plpgsql AS $$
BEGIN PERFORM qp_evil.record('=(bigint,bigint)');
      RETURN a OPERATOR(pg_catalog.=) b; END $$;
CREATE OPERATOR qp_evil.= (LEFTARG = bigint, RIGHTARG = bigint,
                           FUNCTION = qp_evil.eq_int8);
CREATE FUNCTION qp_evil.eq_oid(a oid, b oid) RETURNS boolean
LANGUAGE plpgsql AS $$
BEGIN PERFORM qp_evil.record('=(oid,oid)');
      RETURN a OPERATOR(pg_catalog.=) b; END $$;
CREATE OPERATOR qp_evil.= (LEFTARG = oid, RIGHTARG = oid,
                           FUNCTION = qp_evil.eq_oid);
CREATE FUNCTION qp_evil.eq_name(a name, b name) RETURNS boolean
LANGUAGE plpgsql AS $$
BEGIN PERFORM qp_evil.record('=(name,name)');
      RETURN a OPERATOR(pg_catalog.=) b; END $$;
CREATE OPERATOR qp_evil.= (LEFTARG = name, RIGHTARG = name,
                           FUNCTION = qp_evil.eq_name);
CREATE FUNCTION qp_evil.ne_text(a text, b text) RETURNS boolean
LANGUAGE plpgsql AS $$
BEGIN PERFORM qp_evil.record('<>(text,text)');
      RETURN a OPERATOR(pg_catalog.<>) b; END $$;
CREATE OPERATOR qp_evil.<> (LEFTARG = text, RIGHTARG = text,
                            FUNCTION = qp_evil.ne_text);
CREATE FUNCTION qp_evil.cat(a text, b text) RETURNS text
LANGUAGE plpgsql AS $$
BEGIN PERFORM qp_evil.record('||(text,text)');
      RETURN a OPERATOR(pg_catalog.||) b; END $$;
CREATE OPERATOR qp_evil.|| (LEFTARG = text, RIGHTARG = text,
                            FUNCTION = qp_evil.cat);
CREATE FUNCTION qp_evil.quote_ident(t text) RETURNS text
LANGUAGE plpgsql AS $$
BEGIN PERFORM qp_evil.record('quote_ident(text)');
      RETURN pg_catalog.quote_ident(t); END $$;
CREATE FUNCTION qp_evil.current_database() RETURNS name
LANGUAGE plpgsql AS $$
BEGIN PERFORM qp_evil.record('current_database()');
      RETURN pg_catalog.current_database(); END $$;
CREATE FUNCTION qp_evil.sum_step(s double precision, v double precision)
RETURNS double precision
LANGUAGE plpgsql AS $$
BEGIN PERFORM qp_evil.record('sum(double precision)');
      RETURN pg_catalog.coalesce(s, 0) OPERATOR(pg_catalog.+) v; END $$;
CREATE AGGREGATE qp_evil.sum(double precision)
    (SFUNC = qp_evil.sum_step, STYPE = double precision);
CREATE FUNCTION qp_evil.count_step(s bigint) RETURNS bigint
LANGUAGE plpgsql AS $$
BEGIN PERFORM qp_evil.record('count(*)');
      RETURN s OPERATOR(pg_catalog.+) 1; END $$;
CREATE AGGREGATE qp_evil.count(*)
    (SFUNC = qp_evil.count_step, STYPE = bigint, INITCOND = '0');

-- a sample with node actuals, so that node_actuals(seq) has rows to name
SET pg_qprof.analyze_sample_rate = 1;
SELECT relname FROM pg_class WHERE relname = 'pg_class';
RESET pg_qprof.analyze_sample_rate;
SELECT max(seq) AS actuals_seq FROM qp_mine WHERE has_node_actuals \gset

-- Every function and view of the extension, called in one transaction so
-- that pg_stat_xact_user_functions can tell which were not.
SET track_functions = 'all';
BEGIN;
SET LOCAL search_path = qp_evil, pg_catalog, public;
SELECT pg_catalog.count(*) OPERATOR(pg_catalog.>) 0 AS nodes_named
  FROM pg_qprof.node_actuals(:actuals_seq) a
 WHERE a.relation IS NOT NULL;
SELECT pg_catalog.count(*) OPERATOR(pg_catalog.>=) 0 AS read
  FROM pg_qprof.read_node_actuals(NULL, NULL);
SELECT pg_catalog.count(*) OPERATOR(pg_catalog.>) 0 AS read
  FROM pg_qprof.read_samples(0, 10);
SELECT pg_catalog.length(pg_qprof.read_samples_packed(0, 10))
       OPERATOR(pg_catalog.>) 0 AS read;
SELECT pg_catalog.count(*) OPERATOR(pg_catalog.>) 0 AS read
  FROM pg_qprof.samples;
SELECT pg_catalog.count(*) OPERATOR(pg_catalog.>) 0 AS read
  FROM pg_qprof.stats;
SELECT pg_catalog.count(*) AS read FROM pg_qprof.status;
SELECT pg_catalog.count(*) AS read FROM pg_qprof.status();
SELECT pg_catalog.count(*) AS read FROM pg_qprof.store_status();
SELECT pg_catalog.count(*) OPERATOR(pg_catalog.>) 0 AS read
  FROM pg_qprof.queries;
SELECT pg_catalog.count(*) OPERATOR(pg_catalog.>) 0 AS read
  FROM pg_qprof.plans;
SELECT pg_catalog.count(*) OPERATOR(pg_catalog.>) 0 AS read
  FROM pg_qprof.stored_plans(
           (SELECT pg_catalog.array_agg(p.queryid) FROM pg_qprof.plans p),
           (SELECT pg_catalog.array_agg(p.planid) FROM pg_qprof.plans p));
SELECT pg_catalog.count(*) OPERATOR(pg_catalog.>) 0 AS read
  FROM pg_qprof.query_texts(
           (SELECT pg_catalog.array_agg(q.userid) FROM pg_qprof.queries q),
           (SELECT pg_catalog.array_agg(q.dbid) FROM pg_qprof.queries q),
           (SELECT pg_catalog.array_agg(q.queryid) FROM pg_qprof.queries q));
SELECT pg_catalog.count(*) AS read FROM pg_qprof.exec_word();
SELECT pg_catalog.count(*) AS read FROM pg_qprof.ring_memory();
SELECT pg_catalog.count(*) OPERATOR(pg_catalog.>) 0 AS read
  FROM pg_qprof.last_executions(3);
SELECT pg_qprof.plan_shape_text('[{"Plan": {"Node Type": "Result"}}]')
       AS shape;
SELECT pg_qprof.reset();
SELECT pg_qprof.exclude_session();
RESET search_path;
-- every function of the schema was called (a new one must be added above)
SELECT p.oid::regprocedure AS not_called
  FROM pg_proc p
  LEFT JOIN pg_stat_xact_user_functions f ON f.funcid = p.oid
 WHERE p.pronamespace = 'pg_qprof'::regnamespace
   AND coalesce(f.calls, 0) = 0
 ORDER BY 1;
COMMIT;
RESET track_functions;

-- none of the shadows ran
SELECT what, count(*) FROM qp_evil.ran GROUP BY what ORDER BY what;

-- The SQL-language functions of the extension (the others are C, which
-- looks nothing up by name): a new one must qualify what it uses, set a
-- safe search_path unless it is meant to be inlined, and be called above.
SELECT p.oid::regprocedure AS function, l.lanname, p.proconfig
  FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang
 WHERE p.pronamespace = 'pg_qprof'::regnamespace AND l.lanname <> 'c'
 ORDER BY 1;

DROP SCHEMA qp_evil CASCADE;
