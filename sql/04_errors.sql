-- A statement that fails is recorded with its SQLSTATE: errors raised while
-- executing, a cancel by statement_timeout, errors in utility statements and
-- in nested statements.
CREATE TABLE qp_notnull (a int NOT NULL);
CREATE FUNCTION qp_fail() RETURNS int LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO qp_notnull VALUES (1);
    RETURN (SELECT 1 / (count(*) - 1) FROM qp_notnull);
END
$$;

SELECT head_seq AS mark FROM pg_qprof.status \gset
SELECT 1 / 0;
SELECT 1 / (a - 1) FROM (VALUES (2), (1)) v(a);
INSERT INTO qp_notnull VALUES (NULL);
CREATE TABLE qp_notnull (a int);
DO $$ BEGIN RAISE EXCEPTION 'boom' USING ERRCODE = 'P0001'; END $$;
BEGIN;
SELECT 1 / 0;
SELECT 1;
ROLLBACK;
SET statement_timeout = '200ms';
SELECT pg_sleep(5);
RESET statement_timeout;
SELECT row_number() OVER (ORDER BY seq) AS n, cmd_type, toplevel, sqlstate
  FROM qp_mine WHERE seq > :mark ORDER BY seq;

-- failed executions still have their identity and timing
SELECT count(*) AS failed,
       bool_and(queryid <> 0) AS has_queryid,
       bool_and(exec_time_ms >= 0) AS timed,
       bool_and(end_time >= start_time) AS ends_after_start
  FROM qp_mine WHERE seq > :mark AND sqlstate <> '00000';
-- the statement cancelled by statement_timeout ran for about 200 ms
SELECT exec_time_ms >= 190 AS ran_until_timeout,
       exec_time_ms < 4000 AS cancelled_before_end,
       end_time - start_time >= interval '190 ms' AS wall_time_ok
  FROM qp_mine WHERE seq > :mark AND sqlstate = '57014';

-- an error in a nested statement: the nested statement and every statement
-- above it carry the SQLSTATE; the statements that succeeded before do not
SET pg_qprof.track = 'all';
SELECT head_seq AS mark FROM pg_qprof.status \gset
SELECT qp_fail();
RESET pg_qprof.track;
CREATE TEMP TABLE qp_err_tree AS
    SELECT row_number() OVER (ORDER BY seq) AS n, *
      FROM qp_mine WHERE seq > :mark;
SELECT c.n, c.cmd_type, c.nesting_level, p.n AS parent_n, c.sqlstate
  FROM qp_err_tree c LEFT JOIN qp_err_tree p ON p.exec_id = c.parent_exec_id
 ORDER BY c.n;

-- an error caught by an exception block: the failed nested statement is
-- recorded with its SQLSTATE, the next ones and the caller succeed and keep
-- their parent
CREATE FUNCTION qp_catch() RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    n bigint;
BEGIN
    BEGIN
        SELECT 1 / (g - 1) INTO n FROM generate_series(1, 1) g;
    EXCEPTION WHEN division_by_zero THEN
        n := -1;
    END;
    SELECT count(*) INTO n FROM generate_series(1, 3);
    RETURN n;
END
$$;
SET pg_qprof.track = 'all';
SELECT head_seq AS mark FROM pg_qprof.status \gset
SELECT qp_catch();
SELECT 1 AS after_catch;
RESET pg_qprof.track;
CREATE TEMP TABLE qp_catch_tree AS
    SELECT row_number() OVER (ORDER BY seq) AS n, *
      FROM qp_mine WHERE seq > :mark;
SELECT c.n, c.cmd_type, c.rows, c.nesting_level, p.n AS parent_n, c.sqlstate
  FROM qp_catch_tree c LEFT JOIN qp_catch_tree p ON p.exec_id = c.parent_exec_id
 ORDER BY c.n;
