# pg_qprof.analyze_sample_rate instruments about that share of recorded
# executions; exactly the flagged samples have node actuals, readable by
# their sequence number.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use File::Basename qw(dirname);
use lib dirname(__FILE__);
use QprofNode;

my $node = new_node('analyze_sampling');
$node->init;
$node->append_conf('postgresql.conf', "pg_qprof.analyze_sample_rate = 0.25\n");
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION pg_qprof');
$node->safe_psql('postgres',
    'CREATE TABLE qp_rate AS SELECT g AS id FROM generate_series(1, 100) g');

my $n = 800;
$node->safe_psql('postgres',
    join(";\n", map { "SELECT count(*) FROM qp_rate WHERE id > $_" } 1 .. $n));

my ($executions, $flagged, $with_rows) = split /\|/,
  $node->safe_psql(
    'postgres', q{
    SELECT count(*),
           count(*) FILTER (WHERE has_node_actuals),
           count(*) FILTER (WHERE (SELECT count(*) FROM pg_qprof.node_actuals(s.seq)) > 0)
      FROM pg_qprof.samples s
     WHERE query = 'SELECT count(*) FROM qp_rate WHERE id > $1'});
is($executions, $n, "all $n executions recorded");
# binomial(800, 0.25): mean 200, standard deviation 12.2; 5 deviations
ok($flagged > 139 && $flagged < 261,
    "about a quarter instrumented ($flagged of $n)");
is($with_rows, $flagged, 'exactly the flagged samples have node actuals');

my $rows = $node->safe_psql(
    'postgres', q{
    SELECT DISTINCT a.node_type || ':' || a.actual_loops
      FROM pg_qprof.samples s, pg_qprof.node_actuals(s.seq) a
     WHERE s.query = 'SELECT count(*) FROM qp_rate WHERE id > $1'
     ORDER BY 1});
is($rows, "Aggregate:1\nSeq Scan:1", 'their nodes: an aggregate over a scan');

# the setting is for superusers only
my ($ret, $stdout, $stderr) = $node->psql('postgres',
    "CREATE ROLE qp_plain LOGIN; SET ROLE qp_plain; SET pg_qprof.analyze_sample_rate = 1;");
like($stderr, qr/permission denied to set parameter/,
    'ordinary roles cannot turn instrumentation on');

$node->stop;
done_testing();
