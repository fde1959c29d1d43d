# A ring much smaller than the workload (pg_qprof.ring_size = 1 MB, tens of
# thousands of statements from 8 clients) while a reader keeps reading it:
# the oldest samples are overwritten and every loss is counted exactly;
# what is visible is contiguous; no sample is torn; no backend waits on the
# ring.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use File::Basename qw(dirname);
use lib dirname(__FILE__);
use QprofNode;
use Time::HiRes qw(time);

my $node = new_node('small_ring');
$node->init;
$node->append_conf('postgresql.conf', qq{
pg_qprof.ring_size = 1
max_connections = 40
});
$node->start;
$node->safe_psql('postgres', q{
    CREATE EXTENSION pg_qprof;
    CREATE DATABASE ringdb;
});
$node->safe_psql('ringdb', 'CREATE TABLE ring_t (pid int, n int)');
my $ringdb_oid = $node->safe_psql('postgres',
    q{SELECT oid FROM pg_database WHERE datname = 'ringdb'});
my $user_oid = $node->safe_psql('postgres',
    q{SELECT oid FROM pg_roles WHERE rolname = current_user});

# three statement shapes; each one's queryid determines its command and rows
my %stmt = (
    series => 'SELECT g FROM generate_series(1, 5) g',
    pair => 'SELECT 1 AS a, 2 AS b FROM generate_series(1, 7) g',
    insert => 'INSERT INTO ring_t VALUES (pg_backend_pid(), 5)');
my %qid;
# run each once first, so that the text stored for its queryid is its own
$node->safe_psql('ringdb', "$stmt{$_}") for sort keys %stmt;
for my $k (keys %stmt)
{
    my $plan = $node->safe_psql('ringdb',
        "EXPLAIN (VERBOSE, FORMAT JSON) $stmt{$k}");
    ($qid{$k}) = $plan =~ /"Query Identifier": (-?\d+)/;
    ok(defined $qid{$k}, "queryid of $k");
}
$node->safe_psql('ringdb', 'TRUNCATE ring_t');

my $capacity = $node->safe_psql('postgres', 'SELECT capacity FROM pg_qprof.status');
# what ran in ringdb so far (setup, EXPLAIN) is not part of the workload
my $start_seq = $node->safe_psql('postgres', 'SELECT head_seq FROM pg_qprof.status');
ok($capacity > 100 && $capacity < 4096,
    "a 1 MB ring holds a few thousand samples at most ($capacity)");

# every sample of ringdb must be one of the three shapes, whole
my $torn_sql = qq{
    SELECT count(*) AS samples,
           count(*) FILTER (WHERE NOT (
               CASE queryid
                 WHEN $qid{series} THEN cmd_type = 'SELECT' AND rows BETWEEN 1 AND 20
                                        AND wal_records = 0
                 WHEN $qid{pair} THEN cmd_type = 'SELECT' AND rows = 7
                                      AND wal_records = 0
                 WHEN $qid{insert} THEN cmd_type = 'INSERT' AND rows = 1
                                        AND wal_records >= 1
                 ELSE false
               END
               AND application_name = 'pgbench' AND userid = $user_oid
               AND toplevel AND nesting_level = 0 AND parent_exec_id = 0
               AND sqlstate = '00000' AND end_time >= start_time
               AND exec_time_ms >= 0
               AND exec_time_ms <= extract(epoch FROM end_time - start_time) * 1000 + 1
               AND pid > 0 AND exec_id > 0)) AS torn
      FROM pg_qprof.read_samples($start_seq, 1000000)
     WHERE dbid = $ringdb_oid AND seq <= %s};

my $script = q{\set n random(1, 20)
SELECT g FROM generate_series(1, :n) g;
SELECT 1 AS a, 2 AS b FROM generate_series(1, 7) g;
INSERT INTO ring_t VALUES (pg_backend_pid(), :n);
};
my $script_file = $node->basedir . '/ring.sql';
open my $fh, '>', $script_file or die;
print $fh $script;
close $fh;

my ($pgb_out, $pgb_err) = ('', '');
my $started = time;
# pgbench's sessions are told apart by their application name
local $ENV{PGAPPNAME} = 'pgbench';
my $pgbench = IPC::Run::start(
    [ 'pgbench', '-n', '-c', '8', '-j', '2', '-t', '1500', '-f', $script_file,
        '-h', $node->host, '-p', $node->port, 'ringdb' ],
    '>', \$pgb_out, '2>', \$pgb_err,
    IPC::Run::timeout(600));

# while it runs: read the whole ring, check for torn samples, and look for
# backends waiting on anything of ours
my ($reads, $torn_total, $waits) = (0, 0, 0);
while ($pgbench->pumpable)
{
    my $res = $node->safe_psql('postgres', sprintf($torn_sql, 'seq'));
    my ($n, $torn) = split /\|/, $res;
    $reads++;
    $torn_total += $torn;
    $waits += $node->safe_psql('postgres', q{
        SELECT count(*) FROM pg_stat_activity
         WHERE datname = 'ringdb'
           AND (wait_event ILIKE '%qprof%' OR wait_event_type = 'Extension')});
    $pgbench->pump_nb;
}
my $pgbench_ok = $pgbench->finish;
$ENV{PGAPPNAME} = '04_small_ring';
my $elapsed = time - $started;
ok($pgbench_ok, 'pgbench succeeded') or diag $pgb_err;
like($pgb_out, qr{processed: 12000/12000}, 'all 12000 transactions ran');
note "pgbench ran $elapsed s; $reads concurrent reads";
ok($reads >= 2, "the ring was read while written ($reads reads)");
is($torn_total, 0, 'no torn sample seen by the concurrent reads');
is($waits, 0, 'no backend seen waiting on the ring');

# quiescent: every loss counted exactly
my $res = $node->safe_psql('postgres', q{
    SELECT s.samples_written, s.samples_overwritten, s.samples_dropped,
           s.head_seq, s.oldest_seq, r.n, r.min_seq, r.max_seq, r.increasing
      FROM pg_qprof.status s,
           (SELECT count(*) AS n, min(seq) AS min_seq, max(seq) AS max_seq,
                   bool_and(seq > prev OR prev IS NULL) AS increasing
              FROM (SELECT seq, lag(seq) OVER () AS prev
                      FROM pg_qprof.read_samples(0, 1000000)) x) r});
my ($written, $over, $dropped, $head, $oldest, $n, $min_seq, $max_seq, $incr) =
  split /\|/, $res;
note "status: written $written overwritten $over dropped $dropped "
  . "head $head oldest $oldest; visible $n ($min_seq..$max_seq)";
ok($written >= 36000, "every execution written ($written)");
ok($written > 10 * $capacity, 'the workload is much larger than the ring');
is($n, $written - $over - $dropped,
    'visible = written - overwritten - dropped');
ok($n <= $capacity && $n >= $capacity * 0.9,
    "the ring is full ($n of $capacity)");
is($incr, 't', 'read_samples returns increasing sequence numbers');
is($max_seq, $head, 'the newest visible sample is head_seq');
ok($min_seq >= $oldest, 'nothing older than oldest_seq is visible');
is(($max_seq - $min_seq + 1) - $n <= $dropped ? 1 : 0, 1,
    'the only gaps in the visible range are counted drops');
if ($dropped == 0)
{
    is($min_seq, $oldest, 'no drops: the oldest visible is oldest_seq');
    is($head, $written, 'no drops: head_seq = samples_written');
    is($over, $oldest - 1, 'no drops: overwritten = oldest_seq - 1');
}

# the surviving samples, after the workload: still whole, and consistent
# with the rows the clients inserted
my ($samples, $torn) =
  split /\|/, $node->safe_psql('postgres', sprintf($torn_sql, $head));
ok($samples > 0.8 * $capacity, "most of the ring holds the workload ($samples)");
is($torn, 0, 'no torn sample after the workload');
my ($n_pids, $pids) = split /\|/, $node->safe_psql('ringdb',
    q{SELECT count(DISTINCT pid), string_agg(DISTINCT pid::text, ',') FROM ring_t});
is($n_pids, 8, 'the 8 clients inserted their backend pids');
is( $node->safe_psql('postgres', qq{
        SELECT count(*) FROM pg_qprof.read_samples(0, 1000000)
         WHERE dbid = $ringdb_oid AND seq BETWEEN $start_seq AND $head
           AND pid <> ALL ('{$pids}'::int[])}),
    '0', 'every sample comes from one of the 8 client backends');
is( $node->safe_psql('postgres', qq{
        SELECT count(*) FROM (
            SELECT exec_id <= lag(exec_id) OVER (PARTITION BY pid ORDER BY seq) AS back
              FROM pg_qprof.read_samples(0, 1000000)) x
         WHERE back}),
    '0', 'within each backend, execution ids grow with the sequence numbers');
my %text_of = (
    series => 'SELECT g FROM generate_series($1, $2) g',
    pair => 'SELECT $1 AS a, $2 AS b FROM generate_series($3, $4) g',
    insert => 'INSERT INTO ring_t VALUES (pg_backend_pid(), $1)');
for my $k (sort keys %qid)
{
    is( $node->safe_psql('postgres', qq{
            SELECT string_agg(DISTINCT coalesce(query, '(null)'), ' / ')
              FROM pg_qprof.samples
             WHERE dbid = $ringdb_oid AND queryid = $qid{$k}}),
        $text_of{$k},
        "the text of the $k samples is the text of their queryid");
}

$node->stop;
done_testing();
