# pg_qprof.sample_rate = 0.5 through the simple, extended and prepared
# protocols (pgbench -M): about half of the executions recorded, every
# statement recorded or counted, and the query id the core computes.
#
# With compute_query_id = auto, pg_qprof jumbles statements itself and
# skips the jumbling of a simple query it will not record. A statement that
# runs more than once must be jumbled whatever the sampling decision of the
# moment, also when its cached plan is invalidated and it is analyzed again
# at the top level: a prepared statement re-analyzed while the rate is 0
# must be recorded once the rate is 1.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use File::Basename qw(dirname);
use lib dirname(__FILE__);
use QprofNode;

my $node = new_node('sampling_protocols');
$node->init;
$node->append_conf('postgresql.conf', "pg_qprof.sample_rate = 0.5\n");
$node->start;
$node->safe_psql('postgres', q{
    CREATE EXTENSION pg_qprof;
    CREATE TABLE qp_small AS SELECT g AS id FROM generate_series(1, 100) g;
});

# the same query id as the core computes (compute_query_id = on)
my $explain = $node->safe_psql('postgres', q{
    SET compute_query_id = on;
    EXPLAIN (VERBOSE, FORMAT JSON) SELECT count(*) FROM qp_small});
my ($core_queryid) = $explain =~ /"Query Identifier": (-?\d+)/;
ok(defined $core_queryid, 'the core computes a query id when asked');

# The statements that read the counters are always recorded (a skipped one
# would be counted before it reads them, a recorded one after).
sub read_at_rate_1
{
    my ($sql) = @_;
    local $ENV{PGOPTIONS} = '-c pg_qprof.sample_rate=1';
    return $node->safe_psql('postgres', $sql);
}

my $clients = 2;
my $transactions = 200;
my $executions = $clients * $transactions;
my $script = q{SELECT count(*) FROM qp_small;
};
for my $mode (qw(simple extended prepared))
{
    my ($mark, $written0, $skipped0) = split /\|/, read_at_rate_1(
        'SELECT head_seq, samples_written, skipped_by_sampling FROM pg_qprof.status');
    {
        local $ENV{PGAPPNAME} = 'pgbench';
        $node->pgbench(
            "-n -c $clients -t $transactions -M $mode",
            0,
            [qr{processed: $executions/$executions}],
            [qr{^$}],
            "pgbench -M $mode",
            { "count_$mode" => $script });
    }
    my ($recorded, $queryids, $queryid, $written, $skipped) =
      split /\|/, read_at_rate_1(qq{
        SELECT count(*), count(DISTINCT queryid), min(queryid),
               (SELECT samples_written - $written0 FROM pg_qprof.status),
               (SELECT skipped_by_sampling - $skipped0 FROM pg_qprof.status)
          FROM pg_qprof.samples
         WHERE seq > $mark AND application_name = 'pgbench'
           AND cmd_type = 'SELECT'});
    # binomial(400, 0.5): 200 ± 10; a quarter would be 100
    ok($recorded >= 140 && $recorded <= 260,
        "$mode: about half of the $executions executions recorded ($recorded)");
    is($queryids, 1, "$mode: one query id");
    is($queryid, $core_queryid, "$mode: the core's query id");
    # the SELECTs and the statement that read the mark
    is($written + $skipped, $executions + 1,
        "$mode: every statement recorded or counted as skipped");
}

# The extended protocol's prepared statements: each transaction draws the
# rate, 0 or 1; at 0 the table changes (ALTER TABLE) and the
# statement is analyzed again, when its execution is not to be recorded.
$node->safe_psql('postgres', 'CREATE TABLE qp_rate_1 (n int)');
my $mark = read_at_rate_1('SELECT head_seq FROM pg_qprof.status');
{
    local $ENV{PGAPPNAME} = 'pgbench_reanalyzed';
    $node->pgbench(
        "-n -c $clients -t $transactions -M prepared",
        0,
        [qr{processed: $executions/$executions}],
        [qr{^$}],
        'pgbench -M prepared, re-analyzed at rate 0',
        { 'reanalyzed' => q{\set r random(0, 1)
SELECT set_config('pg_qprof.sample_rate', :r, false);
\if :r = 0
ALTER TABLE qp_small ALTER COLUMN id SET STATISTICS -1;
\else
INSERT INTO qp_rate_1 VALUES (1);
\endif
SELECT count(*) FROM qp_small;
} });
}
my ($at_rate_1, $recorded) = split /\|/, read_at_rate_1(qq{
    SELECT (SELECT count(*) FROM qp_rate_1), count(*)
      FROM pg_qprof.samples
     WHERE seq > $mark AND application_name = 'pgbench_reanalyzed'
       AND queryid = $core_queryid});
ok($at_rate_1 > 0, "some transactions at rate 1 ($at_rate_1)");
is($recorded, $at_rate_1,
    'prepared (protocol): every execution at rate 1 recorded, '
      . 'also after an analysis at rate 0');

# The same with PREPARE and EXECUTE: EXECUTE analyzes the statement again
# at the top level.
$mark = read_at_rate_1('SELECT head_seq FROM pg_qprof.status');
{
    local $ENV{PGOPTIONS} = '-c pg_qprof.sample_rate=0';
    local $ENV{PGAPPNAME} = 'psql_prepare';
    $node->safe_psql('postgres', q{
        PREPARE qp_count AS SELECT count(*) FROM qp_small;
        ALTER TABLE qp_small ALTER COLUMN id SET STATISTICS -1;
        EXECUTE qp_count;
        SET pg_qprof.sample_rate = 1;
        EXECUTE qp_count;
        EXECUTE qp_count;});
}
is( read_at_rate_1(qq{
        SELECT count(*) FROM pg_qprof.samples
         WHERE seq > $mark AND application_name = 'psql_prepare'
           AND queryid = $core_queryid}),
    2,
    'PREPARE: both executions at rate 1 recorded after an analysis at rate 0');

$node->stop;
done_testing();
