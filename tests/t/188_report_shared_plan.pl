# One statement text run in three databases is three statements, and its
# plan (the same plan text, so one plan definition of the capture) may be
# theirs together: qprof report counts each statement's executions, time
# and latencies as its own, and the plan's as all of them. A statement's
# counts are its plans' added at the end (analysis/profile.cpp); executions
# of a plan by another statement than the one it was first seen with must
# go to their own statement, and to the plan too.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../collector";
use PostgreSQL::Test::Utils;
use Test::More;
use QprofCollectorTest;
use QprofReportTest;

my $node = new_qprof_node('report188');
$node->safe_psql('postgres', 'CREATE DATABASE other_one');
$node->safe_psql('postgres', 'CREATE DATABASE other_two');
my %runs = (postgres => 2, other_one => 3, other_two => 4);
for my $db (sort keys %runs)
{
    $node->safe_psql($db, 'SELECT 40 + 2 AS shared_plan') for 1 .. $runs{$db};
}
my $dir = PostgreSQL::Test::Utils::tempdir . '/cap';
capture_once($node, $dir);

my ($rc, $doc, $err) = report_json($dir);
is($rc, 0, 'report --json succeeds') or diag $err;
my @statements =
  grep { ($_->{text} // '') =~ /AS shared_plan/ } @{ $doc->{statements} };
is(scalar @statements, 3, 'one statement a database');
my %oid = map { ($_ => $node->safe_psql('postgres',
            "SELECT oid FROM pg_database WHERE datname = '$_'")) } keys %runs;
my %by_db = map { ($_->{dbid} => $_) } @statements;
for my $db (sort keys %runs)
{
    my $st = $by_db{ $oid{$db} };
    ok($st, "$db: its statement is reported") or next;
    is($st->{executions}, $runs{$db}, "$db: its own executions only");
    is($st->{calls}, $runs{$db}, "$db: and calls");
    cmp_ok($st->{min_ms}, '<=', $st->{p50_ms}, "$db: its latencies are its own");
    cmp_ok($st->{p50_ms}, '<=', $st->{max_ms}, "$db: up to its slowest");
    cmp_ok(abs($st->{mean_ms} * $runs{$db} - $st->{total_ms}), '<', 1e-3,
        "$db: its time is its executions'");
}

my %mine = map { ($_->{key} => 1) } @statements;
my @plans = grep { $mine{ $_->{statement} } } @{ $doc->{plans} };
ok(@plans >= 1, 'their plans are reported');
my $executions = 0;
$executions += $_->{executions} for @plans;
is($executions, 9, 'the plans count every execution of the three, once');
my $statement_ms = 0;
$statement_ms += $_->{total_ms} for @statements;
my $plan_ms = 0;
$plan_ms += $_->{total_ms} for @plans;
cmp_ok(abs($statement_ms - $plan_ms), '<', 1e-3,
    'and the same time as the statements together');

done_testing();
