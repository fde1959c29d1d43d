# qprof report --json checked against the JSON Schema in
# docs/report-json.md: the report of a workload with every part filled
# (insights, plans with per-node actuals, plan changes, N+1, spills,
# errors), a filtered one, an empty one and one grouped by a tag all
# validate; a document that breaks the schema does not (the validator can
# fail).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../collector";
use JSON::PP;
use PostgreSQL::Test::Utils;
use Test::More;
use QprofCollectorTest;
use QprofReportTest;

my $schema = report_schema();
is($schema->{properties}{schema_version}{enum}[0], 1, 'the document describes schema version 1');

my $node = new_qprof_node('report173', "pg_qprof.analyze_sample_rate = 1\n");
plant_workload($node);
# errors of two kinds, one of them a timeout
$node->psql('postgres', "SET statement_timeout = '10ms'; SELECT pg_sleep(1) /*route='%2Ftimeout'*/;")
  for 1 .. 6;
$node->psql('postgres', "SELECT 1/0 /*route='%2Fdivide'*/;") for 1 .. 3;
my $dir = PostgreSQL::Test::Utils::tempdir . '/cap';
capture_once($node, $dir);

my @cases = (
    [ 'the whole capture', [] ],
    [ 'one route', [ '--route', '/customers/<id>/orders' ] ],
    [ 'nothing matches', [ '--app', 'no such application' ] ],
    [ 'grouped by a tag, top 2', [ '--group-by', 'tag:controller', '--top', '2' ] ],
);
my $full;
for my $case (@cases)
{
    my ($name, $args) = @$case;
    my ($rc, $out, $err) = run_qprof('report', '--json', $dir, @$args);
    is($rc, 0, "$name: report --json succeeds") or diag $err;
    my $doc = JSON::PP->new->decode($out);
    my @errors = schema_errors($schema, $doc);
    is(scalar @errors, 0, "$name: the document validates against docs/report-json.md")
      or diag join("\n", @errors[ 0 .. ($#errors < 20 ? $#errors : 19) ]);
    $full //= $out;
}

# every part of the full document has content to validate
my $doc = JSON::PP->new->decode($full);
ok(@{ $doc->{insights} } >= 3, 'insights present');
ok((grep { defined $_->{nodes} && @{ $_->{nodes}{children} } } @{ $doc->{plans} }),
    'plan trees present');
ok(@{ $doc->{plan_changes} } >= 1, 'plan changes present');
ok(@{ $doc->{requests}{n_plus_one} } >= 1, 'N+1 present');
ok(@{ $doc->{node_hotspots} } >= 1, 'node hotspots present');
my %errors = map { ($_->{sqlstate} => $_) } @{ $doc->{errors} };
is($errors{57014}{count}, 6, 'the timeouts counted');
ok($errors{57014}{timeout}, 'and flagged as timeouts');
is($errors{57014}{name}, 'query_canceled', 'with the SQLSTATE name');
is($errors{22012}{count}, 3, 'division by zero counted');
is($errors{22012}{routes}[0]{name}, '/divide', 'with its route');
ok((grep { $_->{kind} eq 'error_rate' } @{ $doc->{insights} }), 'an error rate insight');
is(scalar @{ $doc->{timeseries}{db_time_ms} }, $doc->{timeseries}{intervals},
    'a value per interval');
is(scalar @{ $doc->{heatmap}{counts} }, $doc->{timeseries}{intervals},
    'a heatmap row per interval');
is(scalar @{ $doc->{heatmap}{counts}[0] }, scalar @{ $doc->{latency_buckets_ms} },
    'a heatmap column per latency bucket');
my $executions = 0;
$executions += $_ for map { @$_ } @{ $doc->{heatmap}{counts} };
is($executions, $doc->{summary}{executions}, 'the heatmap counts every top-level execution');
my $stacked = 0;
for my $series (grep { $_->{kind} ne 'route' } @{ $doc->{timeseries}{series} })
{
    $stacked += $_ for @{ $series->{db_time_ms} };
}
cmp_ok(abs($stacked - $doc->{summary}{db_time_ms}), '<', 0.01 * $doc->{summary}{db_time_ms},
    'statement series and "other" stack up to the database time');

# the validator rejects what breaks the schema
my $broken = JSON::PP->new->decode($full);
delete $broken->{summary}{db_time_ms};
$broken->{schema_version} = '1';
$broken->{statements}[0]{queryid} = 12345;
$broken->{insights}[0]{kind} = 'astrology';
my @found = schema_errors($schema, $broken);
is(scalar @found, 4, 'a broken document fails with its four errors')
  or diag join("\n", @found);

$node->stop;
done_testing();
