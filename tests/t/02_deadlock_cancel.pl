# Statements that fail while other sessions hold locks: a deadlock (40P01)
# between two sessions and a cancel by pg_cancel_backend (57014) are
# recorded with their SQLSTATE, as the command they were.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use File::Basename qw(dirname);
use lib dirname(__FILE__);
use QprofNode;

my $node = new_node('locks');
$node->init;
$node->append_conf('postgresql.conf', "deadlock_timeout = 100ms\n");
$node->start;
$node->safe_psql('postgres', q{
    CREATE EXTENSION pg_qprof;
    CREATE TABLE dl (id int PRIMARY KEY, v int);
    INSERT INTO dl VALUES (1, 0), (2, 0);
});

my $mark = $node->safe_psql('postgres', 'SELECT head_seq FROM pg_qprof.status');

# deadlock: s1 locks row 1, s2 row 2, then each wants the other's row
my $s1 = $node->background_psql('postgres', on_error_stop => 0);
my $s2 = $node->background_psql('postgres', on_error_stop => 0);
$s1->query_safe(q{SET application_name = 's1'});
$s2->query_safe(q{SET application_name = 's2'});
$s1->query_safe('BEGIN');
$s1->query_safe('UPDATE dl SET v = 1 WHERE id = 1');
$s2->query_safe('BEGIN');
$s2->query_safe('UPDATE dl SET v = 2 WHERE id = 2');
$s1->query_until(qr/waiting/, "\\echo waiting\nUPDATE dl SET v = 1 WHERE id = 2;\n");
$node->poll_query_until('postgres',
    q{SELECT count(*) FROM pg_stat_activity
       WHERE application_name = 's1' AND wait_event_type = 'Lock'}, '1')
  or die 's1 does not wait for the lock';
my ($out2, $err2) = $s2->query('UPDATE dl SET v = 2 WHERE id = 1');
my ($out1, $err1) = $s1->query('SELECT 1');
$s1->query('ROLLBACK');
$s2->query('ROLLBACK');
my $stderr_all = $s1->{stderr} . $s2->{stderr};
$s1->quit;
$s2->quit;

my $deadlocks = $node->safe_psql('postgres', qq{
    SELECT application_name, cmd_type, toplevel, exec_time_ms >= 90
      FROM pg_qprof.samples
     WHERE seq > $mark AND sqlstate = '40P01'});
my @rows = split /\n/, $deadlocks;
is(scalar @rows, 1, 'exactly one statement failed with 40P01')
  or diag $deadlocks;
like($rows[0] // '', qr/^s[12]\|UPDATE\|t\|t$/,
    'the deadlocked UPDATE, top level, after waiting deadlock_timeout');
is( $node->safe_psql('postgres', qq{
        SELECT count(*) FROM pg_qprof.samples
         WHERE seq > $mark AND cmd_type = 'UPDATE' AND sqlstate = '00000'
           AND application_name IN ('s1', 's2')}),
    '3',
    'the three other UPDATEs succeeded');
is( $node->safe_psql('postgres', qq{
        SELECT string_agg(sqlstate, ',' ORDER BY seq) FROM pg_qprof.samples
         WHERE seq > $mark AND cmd_type = 'UTILITY'
           AND application_name IN ('s1', 's2')
           AND sqlstate <> '00000'}),
    '', 'BEGIN, SET and ROLLBACK succeeded');

# cancel: a statement cancelled by another session
$mark = $node->safe_psql('postgres', 'SELECT head_seq FROM pg_qprof.status');
my $s3 = $node->background_psql('postgres', on_error_stop => 0);
$s3->query_safe(q{SET application_name = 's3'});
$s3->query_until(qr/sleeping/, "\\echo sleeping\nSELECT pg_sleep(60);\n");
$node->poll_query_until('postgres',
    q{SELECT pg_cancel_backend(pid) FROM pg_stat_activity
       WHERE application_name = 's3' AND state = 'active'
         AND query LIKE 'SELECT pg_sleep%'}, 't')
  or die 'could not cancel s3';
my ($out3, $err3) = $s3->query('SELECT 1');
$s3->quit;
is( $node->safe_psql('postgres', qq{
        SELECT cmd_type || ' ' || sqlstate || ' ' || (exec_time_ms < 50000)
          FROM pg_qprof.samples
         WHERE seq > $mark AND application_name = 's3'
           AND sqlstate <> '00000'}),
    'SELECT 57014 true',
    'the cancelled statement is recorded with 57014');

$node->stop;
done_testing();
