# Executions whose portal is dropped without ExecutorEnd (ROLLBACK, ROLLBACK
# TO SAVEPOINT, a PL/pgSQL exception block around a cursor loop) are closed
# with their query's memory: one sample each, with their own tags (copied
# when they opened: the text may be gone), whether or not the server log
# sees the error. Also: a failed commit fails the statement it ends;
# statements run while planning are nested in the planned statement; an
# EXPLAIN's planning is not lent to a later execution.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use File::Basename qw(dirname);
use lib dirname(__FILE__);
use QprofNode;
use QprofWire;

my $node = new_node('abandoned');
$node->init;
$node->append_conf('postgresql.conf', "pg_qprof.ring_size_mb = 16\n");
$node->start;
$node->safe_psql('postgres', q{
    CREATE EXTENSION pg_qprof;
    CREATE TABLE t AS SELECT g AS id FROM generate_series(1, 1000) g;
});

sub head { $node->safe_psql('postgres', 'SELECT head_seq FROM pg_qprof.status') }
sub too_deep {
    $node->safe_psql('postgres', 'SELECT skipped_too_deep FROM pg_qprof.status');
}
sub alive {
    my $r = eval { $node->safe_psql('postgres', 'SELECT 1') } // '';
    return $r eq '1';
}

# --- 1. a 40 MB statement's portal abandoned at ROLLBACK TO SAVEPOINT -------
# Its tags pointed into the statement's text, freed with the portal: the
# stale execution was closed later, reading freed memory (signal 11).
my $mark = head();
my $c = QprofWire->connect($node, 'postgres');
$c->query('BEGIN');
$c->query('SAVEPOINT s');
my $big = 'SELECT g FROM generate_series(1, 10) g /* '
  . ('x' x (40 << 20)) . " */ /* app='demo' */";
$c->parse('big', $big);
$c->bind('p1', 'big');
$c->execute('p1', 1);
my $r = $c->sync;
is_deeply($r->{errors}, [], 'the 40 MB statement runs');
is($r->{suspended}, 1, 'its portal is suspended after one row');
$c->query('ROLLBACK TO s');
$r = $c->query('SELECT 1/0');
is_deeply($r->{errors}, ['22012'], 'division by zero fails');
$c->query('ROLLBACK');
$c->disconnect;
ok(alive(), 'the server survives the abandoned portal');
is( $node->safe_psql('postgres', qq{
        SELECT count(*) || ' ' || min(rows) || ' ' || min(tags->>'app')
             || ' ' || min(sqlstate)
          FROM pg_qprof.samples
         WHERE seq > $mark AND query LIKE 'SELECT g FROM generate_series%'}),
    '1 1 demo 00000',
    'the abandoned portal has one sample: its row, its own tags, no error');
unlike(slurp_file($node->logfile), qr/terminated by signal/,
    'no backend died');

# --- 2. named portals partly fetched, then ROLLBACK, 70 times ---------------
# Each leaked an open execution: after 63 a backend recorded nothing more.
$node->safe_psql('postgres', q{ALTER SYSTEM SET pg_qprof.track = 'top';
                                SELECT pg_reload_conf()});
$mark = head();
my $deep_before = too_deep();
$c = QprofWire->connect($node, 'postgres');
for my $i (1 .. 70) {
    $c->query('BEGIN');
    $c->parse('', "SELECT id FROM t WHERE id <= 100 /* round='$i' */");
    $c->bind("p$i", '');
    $c->execute("p$i", 1);
    $c->sync;
    $c->query('ROLLBACK');
}
$c->query("SELECT 42 /* after='rounds' */");
$c->disconnect;
is( $node->safe_psql('postgres', qq{
        SELECT count(*) || ' ' || count(DISTINCT tags->>'round') || ' '
             || count(DISTINCT exec_id) || ' ' || sum(rows)
          FROM pg_qprof.samples
         WHERE seq > $mark AND query LIKE 'SELECT id FROM t WHERE%'}),
    '70 70 70 70', 'each of the 70 abandoned portals has one sample of 1 row');
is( $node->safe_psql('postgres', qq{
        SELECT count(*) FROM pg_qprof.samples
         WHERE seq > $mark AND tags->>'after' = 'rounds'}),
    '1', 'the backend still records after them');
is(too_deep(), $deep_before, 'nothing was skipped as too deep');

# --- 3. PL/pgSQL: an exception block around a cursor loop, log silent ---------
# With log_min_messages = fatal the log hook sees no error: the loop's
# cursor must still be closed (with its subtransaction).
$node->safe_psql('postgres', q{
    ALTER SYSTEM SET pg_qprof.track = 'all';
    ALTER SYSTEM SET log_min_messages = 'fatal';
    SELECT pg_reload_conf();
    CREATE FUNCTION loop_fails(n int) RETURNS int LANGUAGE plpgsql AS $$
    DECLARE r record; k int := 0;
    BEGIN
        BEGIN
            FOR r IN SELECT id FROM t ORDER BY id LOOP
                k := k + 1;
                IF k = n THEN PERFORM 1 / (k - n); END IF;
            END LOOP;
        EXCEPTION WHEN division_by_zero THEN
            RETURN k;
        END;
        RETURN -1;
    END $$;
});
$mark = head();
$deep_before = too_deep();
$node->safe_psql('postgres', 'SELECT loop_fails(5) FROM generate_series(1, 80)');
is( $node->safe_psql('postgres', qq{
        SELECT count(*) || ' ' || min(sqlstate) || ' ' || max(sqlstate)
          FROM pg_qprof.samples
         WHERE seq > $mark AND query LIKE 'SELECT id FROM t ORDER BY id%'}),
    '80 22012 22012',
    'each abandoned loop cursor has one sample, failed with the error that ended it');
is(too_deep(), $deep_before, 'no execution leaked inside the function');
ok(alive(), 'the server is alive');

# --- 4. stale error state --------------------------------------------------
# An error in a rolled back subtransaction, then a portal abandoned by a
# plain ROLLBACK: that portal did not fail.
$node->safe_psql('postgres', q{ALTER SYSTEM SET pg_qprof.track = 'top';
                                SELECT pg_reload_conf()});
$mark = head();
$c = QprofWire->connect($node, 'postgres');
$c->query('BEGIN');
$c->query('SAVEPOINT a');
$c->query('SELECT 1/0');
$c->query('ROLLBACK TO a');
$c->parse('', "SELECT id FROM t /* stale='1' */");
$c->bind('ps', '');
$c->execute('ps', 3);
$c->sync;
$c->query('ROLLBACK');
$c->disconnect;
is( $node->safe_psql('postgres', qq{
        SELECT sqlstate || ' ' || rows FROM pg_qprof.samples
         WHERE seq > $mark AND tags->>'stale' = '1'}),
    '00000 3', 'the portal ROLLBACK abandoned did not fail with an older error');

# --- 5. errors at commit ------------------------------------------------------
$node->safe_psql('postgres', q{
    ALTER SYSTEM RESET log_min_messages;
    SELECT pg_reload_conf();
    CREATE TABLE parent (id int PRIMARY KEY);
    CREATE TABLE child (pid int REFERENCES parent DEFERRABLE INITIALLY DEFERRED);
});
$mark = head();
my ($rc, $out, $err) = $node->psql('postgres',
    q{INSERT INTO child VALUES (1) /* at='implicit' */});
like($err, qr/violates foreign key constraint/, 'the implicit commit fails');
($rc, $out, $err) = $node->psql('postgres',
    qq{BEGIN;\nINSERT INTO child VALUES (2) /* at='block' */;\nCOMMIT /* at='commit' */;});
like($err, qr/violates foreign key constraint/, 'the COMMIT fails');
is( $node->safe_psql('postgres', qq{
        SELECT string_agg(tags->>'at' || '=' || sqlstate, ' ' ORDER BY seq)
          FROM pg_qprof.samples WHERE seq > $mark AND tags ? 'at'}),
    'implicit=23503 block=00000 commit=23503',
    'the statement whose commit failed carries the foreign key violation');
# the log silent: the code is unknown, the failure is not hidden
$node->safe_psql('postgres', q{ALTER SYSTEM SET log_min_messages = 'fatal';
                                SELECT pg_reload_conf()});
$mark = head();
$node->psql('postgres', q{INSERT INTO child VALUES (3) /* at='silent' */});
is( $node->safe_psql('postgres', qq{
        SELECT sqlstate FROM pg_qprof.samples
         WHERE seq > $mark AND tags->>'at' = 'silent'}),
    '40000', 'with the log silent, a failed commit is a rolled back transaction');
$node->safe_psql('postgres', q{ALTER SYSTEM RESET log_min_messages;
                                SELECT pg_reload_conf()});

# --- 6. planning: nested statements and EXPLAIN --------------------------------
$node->safe_psql('postgres', q{
    ALTER SYSTEM SET pg_qprof.track = 'all';
    SELECT pg_reload_conf();
    CREATE FUNCTION folded() RETURNS int IMMUTABLE LANGUAGE plpgsql AS $$
    BEGIN RETURN (SELECT 40 + 2); END $$;
    CREATE FUNCTION counts() RETURNS void LANGUAGE plpgsql AS $$
    BEGIN PERFORM count(*) FROM t; END $$;
});
$mark = head();
$node->safe_psql('postgres', q{SELECT folded() + id FROM t WHERE id = 1 /* route='fold' */});
my @rows = map { [ split /\|/ ] } split /\n/, $node->safe_psql('postgres', qq{
    SELECT exec_id, parent_exec_id, nesting_level, coalesce(tags->>'route', '-')
      FROM pg_qprof.samples
     WHERE seq > $mark AND tags->>'route' = 'fold'
     ORDER BY nesting_level, seq});
is(scalar @rows, 2, 'the statement and the one run while planning it')
  or diag explain \@rows;
is_deeply([ @{ $rows[0] }[ 1 .. 3 ] ], [ 0, 0, 'fold' ], 'the statement planned, top level');
is_deeply($rows[1] ? [ @{ $rows[1] }[ 1 .. 3 ] ] : [], [ $rows[0][0], 1, 'fold' ],
    'the statement run while planning it is nested in it, with its route');

# EXPLAIN plans without executing: its planning is no later execution's.
# In one session: counts() plans its PERFORM once and caches the plan.
$mark = head();
$node->safe_psql('postgres', q{
    SET pg_qprof.track_utility = off;
    SELECT counts();
    SELECT counts();
    EXPLAIN SELECT count(*) FROM t;
    SELECT counts();
});
is( $node->safe_psql('postgres', qq{
        SELECT string_agg((plan_time_ms > 0)::text, ' ' ORDER BY seq)
          FROM pg_qprof.samples
         WHERE seq > $mark AND nesting_level = 1}),
    'true false false',
    'the cached plan runs without planning time, after an EXPLAIN too');

ok(alive(), 'the server is alive at the end');
unlike(slurp_file($node->logfile), qr/terminated by signal|server process .* was terminated/,
    'no backend died during the test');
$node->stop;
done_testing();
