# Run queue time (issue 29): 6 sessions each run a CPU-bound statement at
# once on a machine of 2 CPUs. Each execution's run queue time is a large
# share of its planning and execution time, and matches within 10% the run
# delay the kernel reports for its backend (/proc/PID/schedstat, second
# field) over the same interval: the backend reads it just before and just
# after the statement, in the same message.
use strict;
use warnings;
use File::Basename qw(dirname);
use lib dirname(__FILE__), dirname(__FILE__) . '/../bpf';
use File::Temp ();
use IPC::Run ();
use Test::More;
use BpfTest;

my $qprof = qprof_collector();
my $node  = bpf_cluster('bpf_run_queue');
attach_bpf($node)->detach;    # skips where BPF cannot be loaded
my $dsn = sprintf 'host=%s port=%d user=postgres dbname=postgres',
  $node->dir, $node->port;
chomp(my $cpus = `nproc`);
my $sessions = 3 * $cpus;
diag "$sessions sessions on $cpus CPUs";

my $capture = File::Temp::tempdir(CLEANUP => 1);
my $collector_err = '';
my $collector = IPC::Run::start(
    [ $qprof, 'collect', '--dsn', $dsn, '--out', $capture, '--bpf', 'on' ],
    '<', '/dev/null', '>', \my $collector_out, '2>', \$collector_err,
    IPC::Run::timeout(300));
unless (wait_for_capture_header($capture)) {
    $collector->kill_kill;
    BAIL_OUT("qprof collect wrote no capture: $collector_err");
}

my $schedstat = q{SELECT split_part(pg_read_file('/proc/self/schedstat'), ' ', 2);};
my @runs = map {
    $node->background_psql(
        $schedstat
          . ' SELECT sum(g) FROM generate_series(1, 8000000) g; '
          . $schedstat,
        app => "run_queue_$_")
} 1 .. $sessions;
my %kernel_delay;
for my $i (1 .. $sessions) {
    my ($before, undef, $after) = split /\n/, $node->finish_psql($runs[ $i - 1 ]);
    $kernel_delay{"run_queue_$i"} = $after - $before;
}
sleep 3;    # a few polls of the collector
$collector->signal('INT');
ok($collector->finish, 'collector --bpf on ran and stopped cleanly')
  or diag $collector_err;

my %longest;
for my $s (capture_samples($qprof, $capture)) {
    my $app = $s->{application_name} // '';
    next unless exists $kernel_delay{$app};
    my $elapsed = $s->{plan_time_ns} + $s->{exec_time_ns};
    $longest{$app} = $s
      if !$longest{$app}
      || $elapsed > $longest{$app}{plan_time_ns} + $longest{$app}{exec_time_ns};
}

for my $app (sort keys %kernel_delay) {
    my $s = $longest{$app};
    ok($s && $s->{io}, "$app: the CPU-bound execution has its kernel facts")
      or next;
    my $elapsed  = $s->{plan_time_ns} + $s->{exec_time_ns};
    my $runqueue = $s->{io}{runqueue_ns};
    my $kernel   = $kernel_delay{$app};
    diag sprintf '%s: %.0f ms elapsed, on-CPU %.0f ms, run queue %.0f ms '
      . '(%d waits), the kernel\'s run delay %.0f ms',
      $app, $elapsed / 1e6, $s->{io}{oncpu_ns} / 1e6, $runqueue / 1e6,
      $s->{io}{runqueue_waits}, $kernel / 1e6;
    cmp_ok($runqueue, '>=', 0.4 * $elapsed,
        "$app: run queue time is a large share of the elapsed time");
    cmp_ok(abs($runqueue - $kernel), '<=', 0.1 * $kernel,
        "$app: and within 10% of the kernel's run delay over the statement");
    cmp_ok($s->{io}{runqueue_waits}, '>', 0, "$app: counted in waits");
}

done_testing();
