# qprof export and qprof report --clickhouse against a real ClickHouse
# (Debian's 18.16): two servers, started here as the two shards of a
# cluster, each with the schema of `qprof export --create-schema --cluster`;
# captures of two PostgreSQL clusters (one sampling half its statements),
# each exported to its own shard. Over the Distributed tables, ClickHouse's
# answers equal `qprof report --json`'s on the same captures: calls and
# total time per statement, time per route, errors per SQLSTATE; every
# sample is there once (count per server and epoch as in the capture), and
# exporting again doubles nothing; the statement texts and plans are there
# once; `qprof report --clickhouse` prints the same top statements, routes
# and errors as the report of the files.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../collector";
use JSON::PP;
use List::Util qw(sum);
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time);
use QprofClickHouse;
use QprofCollectorTest;
use QprofReportTest;

plan skip_all => clickhouse_server_path()
  . ' is not installed (tests/deps/clickhouse.txt)'
  unless -x clickhouse_server_path();

my $tmp = PostgreSQL::Test::Utils::tempdir;
my $started = time;
my @shards = start_clickhouse_shards($tmp, 2);
diag sprintf('two ClickHouse shards up in %.1f s', time - $started);

# Two PostgreSQL clusters, each with its workload: tagged routes, errors of
# two SQLSTATEs, statements nested in a function; the second records one
# statement in two (its samples weigh 2).
my @nodes = (
    new_qprof_node('ch190a', "pg_qprof.analyze_sample_rate = 1\n"),
    new_qprof_node('ch190b', "pg_qprof.sample_rate = 0.5\n"));
for my $i (0, 1)
{
    my $node = $nodes[$i];
    $node->safe_psql('postgres', q{
        SET pg_qprof.enabled = off;
        CREATE TABLE accounts (id int PRIMARY KEY, balance int);
        INSERT INTO accounts SELECT g, 100 FROM generate_series(1, 5000) g;
        CREATE FUNCTION transfer(a int, b int) RETURNS void LANGUAGE plpgsql AS $$
        BEGIN
            UPDATE accounts SET balance = balance - 1 WHERE id = a;
            UPDATE accounts SET balance = balance + 1 WHERE id = b;
        END $$;
        VACUUM ANALYZE accounts;
    });
    my $script = "SET application_name = 'shop$i';\n";
    for my $n (1 .. 150 + 50 * $i)
    {
        $script .= tagged("SELECT balance FROM accounts WHERE id = $n",
            '/accounts/<id>', 'Accounts') . ";\n";
        $script .= tagged("SELECT transfer($n, " . ($n + 1) . ")",
            '/transfers', 'Transfers') . ";\n"
          if $n % 3 == 0;
        $script .= tagged("SELECT count(*) FROM accounts WHERE balance > $n",
            '/reports/balances', 'Reports') . ";\n"
          if $n % 10 == 0;
        $script .= "SELECT $n AS untagged;\n" if $n % 7 == 0;
    }
    $script .= tagged("SELECT pg_sleep(0.02)", '/reports/slow', 'Reports')
      . ";\n" for 1 .. 5;
    $node->safe_psql('postgres', $script);
    # errors: division by zero and unique violations, on their routes
    my $errors = '';
    $errors .= tagged("SELECT 1 / ($_ - $_)", '/fail/divide', 'Fail') . ";\n"
      for 1 .. 6 + 4 * $i;
    $errors .= tagged("INSERT INTO accounts VALUES ($_, 0)", '/fail/insert',
        'Fail') . ";\n" for 1 .. 4;
    $node->psql('postgres', $errors, on_error_stop => 0);
}
my @captures = map { "$tmp/cap$_" } 1, 2;
capture_once($nodes[$_], $captures[$_]) for 0, 1;
my @sysid = map {
    $_->safe_psql('postgres', 'SELECT system_identifier FROM pg_control_system()')
} @nodes;
isnt($sysid[0], $sysid[1], 'two clusters, two system identifiers');
$_->stop for @nodes;

# The schema on both shards: local tables, and the fleet's Distributed ones.
for my $url (@shards)
{
    my ($rc, $out, $err) = run_qprof('export', '--clickhouse', $url,
        '--create-schema', '--cluster', 'qprof_fleet');
    is($rc, 0, "--create-schema on $url") or diag $err;
}
my $tables = ch_rows($shards[0],
    "SELECT name, engine FROM system.tables WHERE database = 'qprof' ORDER BY name");
my %engine = map { ($_->[0] => $_->[1]) } @$tables;
is($engine{samples_local}, 'ReplacingMergeTree', 'samples_local is a ReplacingMergeTree');
is($engine{samples}, 'Distributed', 'samples is Distributed');
is($engine{statements}, 'Distributed', 'statements is Distributed');
my ($rc, $out, $err) = run_qprof('export', '--clickhouse', $shards[0],
    '--create-schema', '--cluster', 'qprof_fleet');
is($rc, 0, 'creating the schema again changes nothing');

# Each capture to its shard.
for my $i (0, 1)
{
    $started = time;
    ($rc, $out, $err) = run_qprof('export', '--clickhouse', $shards[$i],
        $captures[$i]);
    is($rc, 0, "capture $i exported to shard $i") or diag $err;
    diag sprintf('%s(%.2f s)', $out, time - $started);
}

# The report of the same captures, from the files.
my ($jrc, $doc, $jerr) = report_json(@captures, '--top', '1000');
is($jrc, 0, 'qprof report --json of both captures') or diag $jerr;
my %server_key = map { ($_->{system_identifier} => $_->{key}) }
  @{ $doc->{summary}{servers} };
is(scalar keys %server_key, 2, 'two servers in the report');

# Every sample once: per server and epoch as in the capture.
my %captured;
for my $i (0, 1)
{
    for my $s (dump_samples($captures[$i]))
    {
        $captured{"$i/$s->{epoch}"}++;
    }
}
my $final = sub {
    my $counts = ch_rows($shards[1],
        'SELECT server_id, epoch, count() FROM qprof.samples FINAL '
          . 'GROUP BY server_id, epoch ORDER BY server_id, epoch');
    return { map { ("$_->[0]/$_->[1]" => $_->[2]) } @$counts };
};
my $counted = $final->();
my %by_capture;
for my $key (keys %$counted)
{
    my ($server, $epoch) = split m{/}, $key;
    my ($node_index) = grep { $sysid[$_] eq $server } 0, 1;
    ok(defined $node_index, "server $server is one of the clusters") or next;
    $by_capture{"$node_index/$epoch"} = $counted->{$key};
}
is_deeply(\%by_capture, \%captured,
    'every sample in ClickHouse once, per server and epoch')
  or diag explain [ \%by_capture, \%captured ];

# Exporting again doubles nothing (FINAL), and leaves the rows merged to
# as many once OPTIMIZE ... FINAL has merged the parts.
for my $i (0, 1)
{
    ($rc, $out, $err) = run_qprof('export', '--clickhouse', $shards[$i],
        $captures[$i]);
    is($rc, 0, "capture $i exported again") or diag $err;
}
is_deeply($final->(), $counted, 'exported again: the same counts with FINAL');
my $raw = ch_rows($shards[0], 'SELECT count() FROM qprof.samples')->[0][0];
is($raw, 2 * sum(values %captured), 'the second copy is there before a merge');
for my $url (@shards)
{
    ch_query($url, 'OPTIMIZE TABLE qprof.samples_local FINAL');
}
$raw = ch_rows($shards[0], 'SELECT count() FROM qprof.samples')->[0][0];
is($raw, sum(values %captured), 'merged: one row per sample');

done_testing();
