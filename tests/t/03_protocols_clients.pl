# The same point SELECT through the simple, extended and prepared protocols
# (pgbench -M): one sample per execution with its rows, and one queryid for
# the parameterised forms; client addresses over TCP, hidden from a plain
# role for other users' statements.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use File::Basename qw(dirname);
use lib dirname(__FILE__);
use QprofNode;

my $node = new_node('protocols');
$node->init;
$node->append_conf('postgresql.conf', "listen_addresses = '127.0.0.1'\n");
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION pg_qprof');
$node->command_ok([ 'pgbench', '-i', '-s', '1', '-q', '-h', $node->host,
        '-p', $node->port, 'postgres' ], 'pgbench -i');

my $script = q{\set aid random(1, 100000)
SELECT abalance FROM pgbench_accounts WHERE aid = :aid;
};
my %queryid;
for my $mode (qw(simple extended prepared))
{
    my $mark = $node->safe_psql('postgres', 'SELECT head_seq FROM pg_qprof.status');
    {
        # pgbench's sessions are told apart by their application name
        local $ENV{PGAPPNAME} = 'pgbench';
        $node->pgbench(
            "-n -c 2 -t 100 -M $mode -h 127.0.0.1",
            0,
            [qr{processed: 200/200}],
            [qr{^$}],
            "pgbench -M $mode",
            { "point_$mode" => $script });
    }
    my $res = $node->safe_psql('postgres', qq{
        SELECT count(*), count(DISTINCT queryid), min(queryid),
               bool_and(cmd_type = 'SELECT'), bool_and(rows = 1),
               bool_and(toplevel AND nesting_level = 0),
               bool_and(sqlstate = '00000'), bool_and(exec_time_ms > 0),
               bool_and(shared_blks_hit + shared_blks_read >= 3),
               bool_and(client_addr = '127.0.0.1'),
               count(DISTINCT pid)
          FROM pg_qprof.samples
         WHERE seq > $mark AND application_name = 'pgbench'});
    my ($n, $nq, $qid, @flags) = split /\|/, $res;
    is($n, 200, "$mode: one sample per execution");
    is($nq, 1, "$mode: one queryid");
    is(join(',', @flags), 't,t,t,t,t,t,t,2',
        "$mode: select, 1 row, top level, success, timed, index pages, "
          . "client address, two backends");
    $queryid{$mode} = $qid;
}
my $explain = $node->safe_psql('postgres',
    'EXPLAIN (VERBOSE, FORMAT JSON) SELECT abalance FROM pgbench_accounts WHERE aid = 5');
my ($explain_qid) = $explain =~ /"Query Identifier": (-?\d+)/;
is($queryid{simple}, $explain_qid,
    'simple protocol: the queryid of the statement with constants');
is($queryid{extended}, $queryid{prepared},
    'extended and prepared protocols: the same queryid');

# a statement that fails under each protocol is recorded with its SQLSTATE
for my $mode (qw(simple extended prepared))
{
    my $mark = $node->safe_psql('postgres', 'SELECT head_seq FROM pg_qprof.status');
    {
        local $ENV{PGAPPNAME} = 'pgbench';
        $node->pgbench(
            "-n -c 1 -t 1 -M $mode -h 127.0.0.1",
            2,
            [qr{}],
            [qr{division by zero}],
            "pgbench -M $mode, a failing statement",
            { "fail_$mode" => "\\set aid 7\nSELECT 1 / (:aid - 7);\n" });
    }
    is( $node->safe_psql('postgres', qq{
            SELECT string_agg(cmd_type || ' ' || sqlstate || ' ' || toplevel, ',')
              FROM pg_qprof.samples
             WHERE seq > $mark AND application_name = 'pgbench'}),
        'SELECT 22012 true',
        "$mode: the failed execution is recorded with 22012");
}

# client addresses: visible for the statements of the reader, NULL for
# other users' statements unless it may read all statistics
$node->safe_psql('postgres', q{
    CREATE ROLE regress_plain LOGIN;
    GRANT SELECT ON pgbench_accounts TO regress_plain;
});
my $tcp_plain = $node->connstr('postgres') . ' host=127.0.0.1 user=regress_plain';
my $plain_view = sub {
    my ($ret, $out, $err) = $node->psql('postgres', q{
        SELECT u.rolname = current_user, bool_and(s.client_addr IS NOT NULL),
               bool_and(s.client_addr IS NULL)
          FROM pg_qprof.samples s JOIN pg_roles u ON u.oid = s.userid
         WHERE s.application_name IN ('pgbench', 'plain_tcp')
         GROUP BY 1 ORDER BY 1},
        connstr => "$tcp_plain application_name=plain_tcp");
    is($ret, 0, 'the plain role reads the samples') or diag $err;
    return $out;
};
$node->psql('postgres', 'SELECT 1 AS plain_stmt',
    connstr => "$tcp_plain application_name=plain_tcp");
is($plain_view->(), "f|f|t\nt|t|f",
    'a plain role sees its own client address, not the others\'');
$node->safe_psql('postgres', 'GRANT pg_read_all_stats TO regress_plain');
is($plain_view->(), "f|t|f\nt|t|f",
    'with pg_read_all_stats it sees every client address')
  or diag $node->safe_psql('postgres', q{
      SELECT seq, pid, userid, application_name, cmd_type, client_addr, query
        FROM pg_qprof.samples
       WHERE application_name IN ('pgbench', 'plain_tcp')
         AND client_addr IS NULL});

$node->stop;
done_testing();
