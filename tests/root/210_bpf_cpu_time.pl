# On- and off-CPU time per execution: a sleep is off-CPU but not I/O wait,
# a CPU-bound statement is on the CPU for about its execution time.
use strict;
use warnings;
use File::Basename qw(dirname);
use lib dirname(__FILE__), dirname(__FILE__) . '/../bpf';
use Test::More;
use File::Temp ();
use IPC::Run ();
use Time::HiRes ();
use BpfTest;

my $node = bpf_cluster('bpf_cpu');
my $bpf  = attach_bpf($node);

$node->psql('SELECT pg_sleep(0.2)', app => 'sleeper');
my $sample = last_sample($node, 'sleeper');
my $sleep  = io_of($bpf, $sample);
diag sprintf 'pg_sleep(0.2): %.1f ms exec, off-CPU %.1f ms other, %.1f ms I/O, '
  . 'on-CPU %.2f ms', $sample->{exec_time_ms}, $sleep->{offcpu_other_ns} / 1e6,
  $sleep->{offcpu_io_ns} / 1e6, $sleep->{oncpu_ns} / 1e6;
cmp_ok($sleep->{offcpu_other_ns}, '>=', 0.19e9,
    'pg_sleep(0.2): at least 0.19 s off-CPU');
cmp_ok($sleep->{offcpu_other_ns}, '<=', $sample->{exec_time_ms} * 1e6 * 1.05 + 5e6,
    'pg_sleep(0.2): off-CPU within its execution time');
cmp_ok($sleep->{offcpu_io_ns}, '<', 0.01e9, 'pg_sleep(0.2): not waiting on I/O');
cmp_ok($sleep->{oncpu_ns}, '<', 0.05e9, 'pg_sleep(0.2): hardly on the CPU');

# The kernel's own count of the backend's CPU time (/proc/self/schedstat,
# first field, ns) read just before and after the statement, in its session;
# a first small run loads the catalog entries the statement needs. In one
# transaction: the commit, and a wait for a CPU during it, go to COMMIT, not
# to the statement before it, whose time is compared with its own.
my (undef, $before, undef, $after) =
  split /\n/, $node->psql(<<'SQL', app => 'cpu_bound');
BEGIN;
SELECT sum(x::bigint * x) FROM (SELECT generate_series(1, 10) AS x) s;
SELECT split_part(pg_read_file('/proc/self/schedstat'), ' ', 1);
SELECT sum(x::bigint * x) FROM (SELECT generate_series(1, 6000000) AS x) s;
SELECT split_part(pg_read_file('/proc/self/schedstat'), ' ', 1);
COMMIT;
SQL
$sample = last_sample($node, 'cpu_bound', 0, 'generate_series');
my $cpu     = io_of($bpf, $sample);
my $exec_ns = $sample->{exec_time_ms} * 1e6;
my $offcpu  = $cpu->{offcpu_other_ns} + $cpu->{offcpu_io_ns};
my $kernel_cpu_ns = $after - $before;
diag sprintf 'CPU-bound: %.1f ms exec, on-CPU %.1f ms (kernel: %.1f ms around '
  . 'it), off-CPU %.1f ms', $sample->{exec_time_ms}, $cpu->{oncpu_ns} / 1e6,
  $kernel_cpu_ns / 1e6, $offcpu / 1e6;
cmp_ok($exec_ns, '>=', 0.1e9, 'CPU-bound statement ran for a while');
cmp_ok($cpu->{oncpu_ns}, '>=', 0.9 * ($exec_ns - $offcpu),
    'CPU-bound: on-CPU for its execution time, but for the time it was '
      . 'switched out (on a busy machine, waiting for a CPU)');
cmp_ok($cpu->{oncpu_ns}, '<=', $kernel_cpu_ns * 1.02,
    'CPU-bound: not more on-CPU than the kernel counted around it');
cmp_ok($cpu->{oncpu_ns}, '>=', $kernel_cpu_ns * 0.9 - 5e6,
    'CPU-bound: almost all of the CPU time the kernel counted around it');
cmp_ok(abs($cpu->{oncpu_ns} + $offcpu - $exec_ns), '<=', 0.1 * $exec_ns + 8e6,
    'CPU-bound: on- plus off-CPU time is the execution time');
# It reads nothing; on a machine busy with other work it may still wait in
# uninterruptible sleep (memory reclaim, a page of the binary evicted: 108 ms
# of 320 ms seen once here), but that is never most of its time, and never
# more than its time on the CPU.
cmp_ok($cpu->{offcpu_io_ns}, '<', 0.5 * $exec_ns,
    'CPU-bound: I/O wait is not most of its time');
cmp_ok($cpu->{offcpu_io_ns}, '<', $cpu->{oncpu_ns},
    'CPU-bound: less I/O wait than time on the CPU');

# Short statements, one after another: a backend that ends a statement goes
# on to commit, to send its result and to wait for its client, and the CPU
# time of that last slice is reported when it switches out, after the
# statement's end: the part up to its end is still the statement's (a
# read-only commit is not). Each statement is about a millisecond, well
# under the scheduler tick (4 ms here).
my $short_n = 300;
my $short_sql = join '',
  map { "SELECT sum(x::bigint) FROM generate_series(1, 8000) x WHERE x <> $_;\n" }
  1 .. $short_n;
my @short_out = split /\n/, $node->psql(
    "SELECT 1;\nSELECT split_part(pg_read_file('/proc/self/schedstat'), ' ', 1);\n"
      . $short_sql
      . "SELECT split_part(pg_read_file('/proc/self/schedstat'), ' ', 1);",
    app => 'short');
my $short_kernel_ns = $short_out[-1] - $short_out[1];
my @short_keys = map { [ split /\|/ ] } split /\n/, $node->psql(
    "SELECT pid, exec_id FROM pg_qprof.samples WHERE application_name = "
      . "'short' AND query LIKE '%WHERE x <> %'");
is(scalar @short_keys, $short_n, 'short statements: one sample each');
my $short_io = $bpf->take(\@short_keys);
my ($short_oncpu, $short_with_cpu) = (0, 0);
for my $key (@short_keys) {
    my $io = $short_io->{"$key->[0]:$key->[1]"} or next;
    $short_oncpu += $io->{oncpu_ns};
    $short_with_cpu++ if $io->{oncpu_ns} > 0;
}
diag sprintf 'short statements: %d of %d have on-CPU time, %.1f ms in all '
  . '(kernel: %.1f ms for the backend around them)', $short_with_cpu,
  $short_n, $short_oncpu / 1e6, $short_kernel_ns / 1e6;
cmp_ok($short_with_cpu, '>=', 0.95 * $short_n,
    'short statements: almost every one has on-CPU time');
cmp_ok($short_oncpu, '>=', 0.8 * $short_kernel_ns,
    'short statements: most of the backend\'s CPU time goes to them');
cmp_ok($short_oncpu, '<=', 1.02 * $short_kernel_ns,
    'short statements: not more than the kernel counted');

# The CPU a backend spends on a statement before its execution begins
# (reading it from the client, parsing it, analyzing it) is not the
# execution's: a statement whose text takes far longer to parse than to
# plan and run (an IN list of 30,000 constants, folded by the parser into
# one array) is on the CPU for no more than its planning and execution time,
# whether the backend switches out after it (idle, waiting for the next) or
# in the middle of the next one.
my $parse_n = 12;
my $in_list = join ',', 1 .. 30000;
$node->psql(join('', map { "SELECT $_ AS n WHERE $_ IN ($in_list);\n" } 1 .. $parse_n),
    app => 'parse_heavy');
my @parse_rows = map { [ split /\|/ ] } split /\n/, $node->psql(
    "SELECT pid, exec_id, plan_time_ms, exec_time_ms FROM pg_qprof.samples "
      . "WHERE application_name = 'parse_heavy' AND query LIKE '%IN (%'");
is(scalar @parse_rows, $parse_n, 'parse-heavy statements: one sample each');
my $parse_io = $bpf->take([ map { [ $_->[0], $_->[1] ] } @parse_rows ]);
my ($parse_elapsed, $parse_oncpu, $parse_offcpu, $parse_over) = (0, 0, 0, 0);
for my $row (@parse_rows) {
    my $elapsed_ns = ($row->[2] + $row->[3]) * 1e6;
    my $io = $parse_io->{"$row->[0]:$row->[1]"}
      // { oncpu_ns => 0, offcpu_other_ns => 0, offcpu_io_ns => 0 };
    my $oncpu = $io->{oncpu_ns};
    $parse_elapsed += $elapsed_ns;
    $parse_oncpu += $oncpu;
    $parse_offcpu += $io->{offcpu_other_ns} + $io->{offcpu_io_ns};
    # counted from its start to its end only: the gap between planning and
    # execution is the one thing beyond the two times
    $parse_over++ if $oncpu > $elapsed_ns * 1.02 + 0.1e6;
}
diag sprintf 'parse-heavy statements: %.1f ms planning and execution, '
  . '%.1f ms on-CPU, %.1f ms off-CPU in all', $parse_elapsed / 1e6,
  $parse_oncpu / 1e6, $parse_offcpu / 1e6;
is($parse_over, 0,
    'parse-heavy statements: none is on the CPU for longer than it planned and ran');
# (on a busy machine, less the time they waited for a CPU)
cmp_ok($parse_oncpu, '>=', 0.5 * ($parse_elapsed - $parse_offcpu),
    'parse-heavy statements: their own CPU time is still counted');

# An execution ends before the next statement of the same message begins:
# the backend analyzes that one (a WITH query of 100,000 constants, a few
# ms of CPU) and then waits for a lock. The slice that ends at that wait
# began before the first statement, which gets its own part of it only.
$node->psql('CREATE TABLE locked_after (x int)');
my $holder = $node->background_psql(
    'BEGIN; LOCK TABLE locked_after IN ACCESS EXCLUSIVE MODE; '
      . 'SELECT pg_sleep(0.5); COMMIT', app => 'lock_holder');
select(undef, undef, undef, 0.05) until $node->psql(
    "SELECT count(*) FROM pg_locks WHERE relation = 'locked_after'::regclass "
      . "AND mode = 'AccessExclusiveLock' AND granted") > 0;
my $constants = join ',', 1 .. 100_000;
# psql sends statements joined by \; in one message
my $two_started = Time::HiRes::time();
$node->psql("SELECT 1 AS first_of_two \\; WITH heavy AS (SELECT 1 AS n "
      . "WHERE 1 IN ($constants)) SELECT * FROM heavy, locked_after;",
    app => 'two_in_one');
my $two_seconds = Time::HiRes::time() - $two_started;
$node->finish_psql($holder);
my ($first) = map {
    my %row;
    @row{qw(pid exec_id plan_time_ms exec_time_ms)} = split /\|/;
    \%row;
} split /\n/, $node->psql(
    'SELECT pid, exec_id, plan_time_ms, exec_time_ms FROM pg_qprof.samples '
      . "WHERE application_name = 'two_in_one' AND nesting_level = 0 ORDER BY seq");
my $first_io = io_of($bpf, $first);
my $first_ns = ($first->{plan_time_ms} + $first->{exec_time_ms}) * 1e6;
diag sprintf 'first of two statements: %.3f ms planning and execution, '
  . '%.3f ms on-CPU, %.1f ms off-CPU; both took %.0f ms', $first_ns / 1e6,
  $first_io->{oncpu_ns} / 1e6,
  ($first_io->{offcpu_other_ns} + $first_io->{offcpu_io_ns}) / 1e6,
  $two_seconds * 1e3;
cmp_ok($two_seconds, '>=', 0.2,
    'two statements in one message: the second waited for the lock');
cmp_ok($first_io->{offcpu_other_ns} + $first_io->{offcpu_io_ns}, '<', 0.05e9,
    'two statements in one message: the wait, after the first ended, is not its');
# (the second's analysis takes several ms; the first is credited the time
# between its planning and its execution, which PostgreSQL counts in
# neither: on a session's first statement the page faults of the code run
# there for the first time, 20-120 µs here by the layout of the server's
# binary; docs/overhead.md, "The first statement of a session")
cmp_ok($first_io->{oncpu_ns}, '<=', $first_ns * 1.02 + 0.15e6,
    'two statements in one message: the first is not given the CPU the '
      . 'second spent before its planning');

# What a backend does after its execution ended (storing the plan, writing
# the sample) is in neither the sample's time nor its kernel facts: gdb
# holds the backend 0.3 s inside plans_capture_end, after ExecutorEnd took
# the execution's time, and that stop (off the CPU) is not the statement's.
my ($gdb) = grep { -x } map { "$_/gdb" } split /:/, $ENV{PATH};
ok(defined $gdb, 'gdb is installed') or BAIL_OUT('gdb is missing');
my $tail_holder = $node->background_psql(
    'SELECT pg_advisory_lock(210); SELECT pg_sleep(600)', app => 'tail_holder');
my $poll = sub {
    my ($sql) = @_;
    for (1 .. 600) {
        my $got = $node->psql($sql);
        return $got if $got ne '';
        Time::HiRes::sleep(0.1);
    }
    die "timed out: $sql";
};
$poll->("SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND objid = 210 "
      . 'AND granted');
my $tail = $node->background_psql('SELECT pg_advisory_lock(210) AS tail_wait; '
      . 'SELECT count(*) AS tail_statement FROM generate_series(1, 1000)',
    app => 'tail_held');
my $tail_pid = $poll->("SELECT pid FROM pg_stat_activity WHERE application_name "
      . "= 'tail_held' AND wait_event_type = 'Lock'");
my $gdb_dir = File::Temp::tempdir('qprof_tail_XXXXXX', DIR => '/tmp', CLEANUP => 1);
open my $gdb_script, '>', "$gdb_dir/hold.gdb" or die $!;
# execution 1 of the session is the waiting statement, 2 the one measured
print $gdb_script <<"EOF";
set pagination off
set confirm off
handle all nostop noprint pass
break qprof::plans_capture_end if exec_id == 2
shell touch $gdb_dir/ready
continue
shell sleep 0.3
shell touch $gdb_dir/held
detach
quit
EOF
close $gdb_script;
my ($gdb_out, $gdb_err) = ('', '');
my $debugger = IPC::Run::start([ $gdb, '-nx', '-batch', '-p', $tail_pid, '-x',
        "$gdb_dir/hold.gdb" ], '<', \undef, '>', \$gdb_out, '2>', \$gdb_err);
for (1 .. 600) { last if -e "$gdb_dir/ready"; Time::HiRes::sleep(0.1) }
ok(-e "$gdb_dir/ready", 'gdb attached with its breakpoint set')
  or diag "gdb: $gdb_out $gdb_err";
$node->psql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
      . "WHERE application_name = 'tail_holder'");
eval { $node->finish_psql($tail_holder) };
$node->finish_psql($tail);
$debugger->finish;
ok(-e "$gdb_dir/held", 'the backend was held after the statement ended')
  or diag "gdb: $gdb_out $gdb_err";
like($gdb_out, qr/plans_capture_end \(.*exec_id=(?:exec_id\@entry=)?2\b/,
    'held in the measured statement\'s end') or diag "gdb: $gdb_out";
my $held = last_sample($node, 'tail_held', 0, 'tail_statement');
my $held_io = io_of($bpf, $held);
my $held_ns = ($held->{plan_time_ms} + $held->{exec_time_ms}) * 1e6;
my $held_off = $held_io->{offcpu_other_ns} + $held_io->{offcpu_io_ns};
diag sprintf 'held after its end: %.3f ms planning and execution, %.3f ms '
  . 'on-CPU, %.1f ms off-CPU', $held_ns / 1e6, $held_io->{oncpu_ns} / 1e6,
  $held_off / 1e6;
cmp_ok($held_off, '<', 0.1e9,
    'the stop after the end is not the statement\'s off-CPU time');
cmp_ok($held_io->{oncpu_ns} + $held_off, '<=', $held_ns * 1.02 + 1e6,
    'its on- and off-CPU time are within its planning and execution');

$bpf->detach;
done_testing();

