# 8 concurrent pgbench clients run 20,000 transactions while a
# collector-like reader (one psql session) keeps calling
# read_samples(last seq): every sequence number is accounted for, either
# read or shown as a gap that the ring reports as overwritten.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use File::Basename qw(dirname);
use lib dirname(__FILE__);
use QprofNode;

my $node = new_node('concurrent');
$node->init;
$node->append_conf('postgresql.conf', qq{
pg_qprof.ring_size = 4
max_connections = 40
});
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION pg_qprof');
$node->command_ok([ 'pgbench', '-i', '-s', '1', '-q', '-h', $node->host,
        '-p', $node->port, 'postgres' ], 'pgbench -i');

my $reader = $node->background_psql('postgres');
$reader->query_safe(q{SET application_name = 'reader'});

my $last = 0;          # newest sequence number read
my %seen_exec;         # pid -> last exec_id read, to check the order
my ($n_read, $n_gap, $n_gap_unexplained, $n_batches) = (0, 0, 0, 0);
my ($order_errors, $dup_errors) = (0, 0);
my @gaps;

# One collector round: the samples after $last, then the ring's status.
# A gap (sequence numbers never returned) must be older than the oldest
# sample still in the ring, i.e. reported as overwritten.
sub read_round
{
    my $out = $reader->query_safe(
        "SELECT seq, pid, exec_id FROM pg_qprof.read_samples($last, 5000)");
    my $status = $reader->query_safe(
        'SELECT oldest_seq, head_seq FROM pg_qprof.status');
    my ($oldest_after) = split /\|/, $status;
    $n_batches++;
    for my $line (split /\n/, $out)
    {
        my ($seq, $pid, $exec_id) = split /\|/, $line;
        if ($seq <= $last)
        {
            $dup_errors++;
            next;
        }
        if ($seq > $last + 1)
        {
            my ($from, $to) = ($last + 1, $seq - 1);
            $n_gap += $to - $from + 1;
            push @gaps, "$from-$to";
            $n_gap_unexplained += $to - $from + 1 if $to >= $oldest_after;
        }
        $order_errors++
          if defined $seen_exec{$pid} && $exec_id <= $seen_exec{$pid};
        $seen_exec{$pid} = $exec_id;
        $last = $seq;
        $n_read++;
    }
    return;
}

my ($pgb_out, $pgb_err) = ('', '');
# pgbench's sessions are told apart by their application name
local $ENV{PGAPPNAME} = 'pgbench';
my $pgbench = IPC::Run::start(
    [ 'pgbench', '-n', '-N', '-c', '8', '-j', '2', '-t', '2500',
        '-h', $node->host, '-p', $node->port, 'postgres' ],
    '>', \$pgb_out, '2>', \$pgb_err,
    IPC::Run::timeout(900));
my $capacity = $node->safe_psql('postgres', 'SELECT capacity FROM pg_qprof.status');
my $lapped = 0;
while ($pgbench->pumpable)
{
    read_round();
    $pgbench->pump_nb;
    # once, fall behind by more than the ring holds, like a collector that
    # stalls: the samples it missed must show up as a gap, not vanish
    if ($n_batches == 3)
    {
        while ($pgbench->pumpable)
        {
            my $head = $node->safe_psql('postgres',
                'SELECT head_seq FROM pg_qprof.status');
            if ($head > $last + 2 * $capacity)
            {
                $lapped = 1;
                last;
            }
            $pgbench->pump_nb;
            select(undef, undef, undef, 0.05);
        }
    }
}
my $pgbench_ok = $pgbench->finish;
ok($pgbench_ok, 'pgbench succeeded') or diag $pgb_err;
like($pgb_out, qr{processed: 20000/20000}, '20,000 transactions ran');

# drain up to the head as it is now
my $head = $node->safe_psql('postgres', 'SELECT head_seq FROM pg_qprof.status');
read_round() while $last < $head;
$reader->quit;

my ($written, $over, $dropped, $visible) = split /\|/, $node->safe_psql('postgres', q{
    SELECT samples_written, samples_overwritten, samples_dropped,
           (SELECT count(*) FROM pg_qprof.read_samples(0, 1000000))
      FROM pg_qprof.status});
note "read $n_read samples in $n_batches rounds; gaps $n_gap (@gaps[0 .. ($#gaps < 9 ? $#gaps : 9)]); "
  . "written $written overwritten $over dropped $dropped";
is($visible, $written - $over - $dropped,
    'what the ring holds = written - overwritten - dropped');
ok($written >= 100000, "5 statements x 20,000 transactions recorded ($written)");
is($dup_errors, 0, 'no sequence number returned twice or out of order');
is($order_errors, 0, 'within each backend, execution ids grow with seq');
is($n_read + $n_gap, $last, 'every sequence number up to the head read or in a gap');
ok($lapped, 'the reader stalled for more than the ring holds');
ok($n_gap >= $capacity, "so it saw a gap ($n_gap sequence numbers)");
ok($n_gap <= $over + $dropped,
    "gaps ($n_gap) do not exceed the counted losses ($over + $dropped)");
ok($n_gap_unexplained <= $dropped,
    "every gap is older than the oldest sample, or a counted drop "
      . "($n_gap_unexplained unexplained)");
ok($n_read > 3 * $capacity, "the reader read while the clients wrote ($n_read)");

$node->stop;
done_testing();
