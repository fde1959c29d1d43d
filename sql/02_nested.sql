-- Nested statements (functions, triggers, DO blocks): recorded with
-- pg_qprof.track = all, with their nesting level and the execution id of the
-- statement that ran them; absent with track = top.
CREATE TABLE qp_log (n int);
CREATE TABLE qp_audit (n int);
CREATE FUNCTION qp_inner(n int) RETURNS bigint LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO qp_log VALUES (n);
    RETURN (SELECT count(*) FROM qp_log);
END
$$;
CREATE FUNCTION qp_outer(n int) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    r bigint;
BEGIN
    SELECT qp_inner(n) INTO r;
    SELECT qp_inner(n + 1) INTO r;
    RETURN r;
END
$$;
CREATE FUNCTION qp_audit_trigger() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO qp_audit VALUES (NEW.n);
    RETURN NEW;
END
$$;
CREATE TRIGGER qp_log_audit AFTER INSERT ON qp_log
    FOR EACH ROW EXECUTE FUNCTION qp_audit_trigger();

-- track = all
SET pg_qprof.track = 'all';
SELECT head_seq AS mark FROM pg_qprof.status \gset
SELECT qp_outer(10);
DO $$ BEGIN PERFORM count(*) FROM qp_audit; END $$;
SET pg_qprof.track = 'top';

-- in order of completion: children before their parent
CREATE TEMP TABLE qp_tree AS
    SELECT row_number() OVER (ORDER BY seq) AS n, *
      FROM qp_mine WHERE seq > :mark;
SELECT c.n, c.cmd_type, c.rows, c.nesting_level, c.toplevel,
       p.n AS parent_n, c.sqlstate
  FROM qp_tree c LEFT JOIN qp_tree p ON p.exec_id = c.parent_exec_id
 ORDER BY c.n;

-- every nested sample names its parent, one level up, started before it
SELECT count(*) AS nested,
       bool_and(p.exec_id IS NOT NULL) AS parent_found,
       bool_and(p.nesting_level = c.nesting_level - 1) AS parent_one_level_up,
       bool_and(p.exec_id < c.exec_id) AS parent_started_first,
       bool_and(p.start_time <= c.start_time AND p.end_time >= c.end_time)
           AS child_within_parent,
       bool_and(NOT c.toplevel) AS not_toplevel
  FROM qp_tree c LEFT JOIN qp_tree p ON p.exec_id = c.parent_exec_id
 WHERE c.nesting_level > 0;
SELECT count(*) AS toplevel_samples,
       bool_and(parent_exec_id = 0) AS no_parent,
       bool_and(toplevel) AS flagged_toplevel
  FROM qp_tree WHERE nesting_level = 0;

-- A parent that ends a few microseconds after its child: the child's
-- interval still lies within the parent's, to the microsecond, in each of
-- 2000 pairs (a wall-clock read per execution could miss by one).
CREATE FUNCTION qp_tail(n int) RETURNS int LANGUAGE plpgsql AS $$
DECLARE
    r int;
BEGIN
    SELECT v INTO r FROM (VALUES (n)) AS t(v);
    RETURN r;
END
$$;
SET pg_qprof.track = 'all';
SELECT head_seq AS mark FROM pg_qprof.status \gset
DO $$ BEGIN
    FOR i IN 1..2000 LOOP
        PERFORM v FROM (VALUES (qp_tail(i))) AS t(v);
    END LOOP;
END $$;
SET pg_qprof.track = 'top';
SELECT count(*) AS pairs,
       bool_and(p.start_time <= c.start_time) AS child_starts_within,
       bool_and(p.end_time >= c.end_time) AS child_ends_within
  FROM qp_mine c JOIN qp_mine p ON p.exec_id = c.parent_exec_id
 WHERE c.seq > :mark AND p.seq > :mark AND c.nesting_level = 2;

-- track = top: only the top-level statements
SELECT head_seq AS mark FROM pg_qprof.status \gset
SELECT qp_outer(20);
DO $$ BEGIN PERFORM count(*) FROM qp_audit; END $$;
SELECT cmd_type, rows, nesting_level, toplevel, parent_exec_id
  FROM qp_mine WHERE seq > :mark ORDER BY seq;

-- track = none: nothing at all
SET pg_qprof.track = 'none';
SELECT head_seq AS mark FROM pg_qprof.status \gset
SELECT qp_outer(30);
SELECT count(*) AS recorded FROM qp_mine WHERE seq > :mark;
SELECT head_seq = :mark AS head_unchanged FROM pg_qprof.status;
RESET pg_qprof.track;
SHOW pg_qprof.track;
