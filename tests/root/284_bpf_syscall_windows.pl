# System call windows: the system call programs are attached only in
# windows (here 0.6 s every 1.5 s), so that the machine's system calls stay
# on their fast path the rest of the time. A sample carries the system call
# fields only when its whole execution ran within one window, and then they
# are complete; the others carry the other kernel facts, without the system
# call fields (absent, not zero).
#
# Both kinds of windows: `--bpf-syscalls sampled` opens the trace events of
# the file calls in each window, which needs CAP_PERFMON, kept for that
# alone; `--bpf-syscalls raw --bpf-syscall-windows` attaches the raw
# tracepoints (where tracefs is missing), which needs no capability.
#
# Each statement sorts the same rows twice through temporary files
# (pwrite64 and pread64), with a sleep between: a statement counted across
# a window's opening or closing would show one sort's writes instead of
# two.
use strict;
use warnings;
use File::Basename qw(dirname);
use lib dirname(__FILE__), dirname(__FILE__) . '/../bpf';
use File::Temp ();
use IPC::Run ();
use JSON::PP ();
use Test::More;
use Time::HiRes ();
use BpfTest;

my $qprof = qprof_collector();
my $node  = bpf_cluster('bpf_syscall_windows');
attach_bpf($node)->detach;    # skips, saying why, where BPF cannot load
my $dsn = sprintf 'host=%s port=%d user=postgres dbname=postgres',
  $node->dir, $node->port;

my $CAP_PERFMON = 38;
my $CAP_BPF     = 39;
my $statements  = 200;
my $sort =
  q{(SELECT count(*) FROM (SELECT g FROM generate_series(1, 20000) g }
  . q{ORDER BY g DESC) s)};

# What one sort writes to and reads from its temporary files, as EXPLAIN
# counts them, in bytes.
my $plan = JSON::PP::decode_json(
    $node->psql(
        "SET work_mem = '64kB'; "
          . "EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) SELECT $sort"))->[0]{Plan};
my $block_size  = $node->psql("SELECT current_setting('block_size')");
my $sort_writes = $plan->{'Temp Written Blocks'} * $block_size;
my $sort_reads  = $plan->{'Temp Read Blocks'} * $block_size;
cmp_ok($sort_writes, '>', 100_000,
    "one sort writes temporary files ($sort_writes bytes, "
      . "reads $sort_reads)");

# The names of the system call links the collector `pid` holds now.
sub syscall_links {
    my ($pid) = @_;
    my %names;
    for my $fdinfo (glob "/proc/$pid/fdinfo/*") {
        open my $fh, '<', $fdinfo or next;
        local $/;
        my $text = <$fh> // '';
        $names{$1} = 1 if $text =~ /^tp_name:\s*(sys_(?:enter|exit)\w*)$/m;
    }
    return \%names;
}

# Runs the statements with the collector in `@mode`; returns what the
# collector showed while they ran and the samples it wrote.
sub run_windows {
    my ($application, @mode) = @_;
    my $capture = File::Temp::tempdir(CLEANUP => 1);
    my ($collector, $collector_err) = start_collector($qprof, $dsn, $capture,
        '--bpf', 'on', @mode, '--bpf-syscall-windows', '0.6/1.5',
        '--poll-seconds', '0.1');
    my $collector_pid = $collector->{KIDS}[0]{PID};

    my $script = "SET work_mem = '64kB';\n" . join '',
      map { "SELECT $sort, pg_sleep(0.02), $sort;\n" } 1 .. $statements;
    my $script_file = File::Temp->new(SUFFIX => '.sql');
    print $script_file $script;
    close $script_file;
    my ($out, $err) = ('', '');
    local $ENV{PGAPPNAME} = $application;
    my $psql = IPC::Run::start([ $node->psql_command, '-f', "$script_file" ],
        '<', '/dev/null', '>', \$out, '2>', \$err);
    my %seen = (attached => 0, detached => 0, reopened => 0, names => {});
    my $previous = -1;
    while ($psql->pumpable) {
        my $names    = syscall_links($collector_pid);
        my $attached = %$names ? 1 : 0;
        $seen{ $attached ? 'attached' : 'detached' }++;
        $seen{reopened}++ if $attached && $previous == 0;
        $seen{names}{$_} = 1 for keys %$names;
        $previous = $attached;
        Time::HiRes::sleep(0.05);
        $psql->pump_nb;
    }
    $psql->finish or die "psql: $err";
    sleep 2;    # the collector's last polls
    open my $status, '<', "/proc/$collector_pid/status" or die "status: $!";
    ($seen{cap_eff}) = map {
        no warnings 'portable';    # 64-bit hexadecimal
        /^CapEff:\s*([0-9a-f]+)/ ? hex($1) : ()
    } <$status>;
    close $status;
    $collector->signal('INT');
    $collector->finish;

    my ($dump_out, $dump_err) = ('', '');
    IPC::Run::run([ $qprof, 'dump', $capture ],
        '>', \$dump_out, '2>', \$dump_err)
      or die "qprof dump: $dump_err";
    my @records = map { JSON::PP::decode_json($_) } split /\n/, $dump_out;
    ($seen{header}) = grep { $_->{kind} eq 'header' } @records;
    $seen{sorts} = [
        grep {
            ($_->{application_name} // '') eq $application
              && $_->{cmd} eq 'CMD_SELECT'
        } grep { $_->{kind} eq 'sample' } @records
    ];
    return \%seen;
}

# What both kinds of windows must show.
sub check_samples {
    my ($kind, $seen) = @_;
    ok($seen->{attached},
        "$kind: the system call programs were attached in windows "
          . "($seen->{attached} of the polls)");
    ok($seen->{detached},
        "$kind: and detached between them ($seen->{detached} of the polls)");
    cmp_ok($seen->{reopened}, '>=', 1,
        "$kind: windows opened again after the capabilities were dropped "
          . "($seen->{reopened} seen opening)");
    ok($seen->{header}{collector}{syscall_stats},
        "$kind: the capture says that samples can have the fields");

    my @sorts = @{ $seen->{sorts} };
    is(scalar(@sorts), $statements,
        "$kind: all $statements statements were captured");
    my @with    = grep { defined $_->{io}{write_syscalls} } @sorts;
    my @without = grep { !defined $_->{io}{write_syscalls} } @sorts;
    diag sprintf '%s: %d of %d statements have the system call fields',
      $kind, scalar(@with), scalar(@sorts);
    cmp_ok(scalar(@with), '>=', 0.1 * $statements,
        "$kind: the statements within a window have the system call fields");
    cmp_ok(scalar(@without), '>=', 0.3 * $statements,
        "$kind: the others do not");
    is(scalar(grep { !defined $_->{io} } @sorts), 0,
        "$kind: all have their other kernel facts");
    is(scalar(
            grep { !defined $_->{io}{oncpu_ns} || !$_->{io}{offcpu_other_ns} }
              @without),
        0,
        "$kind: including those without the system call fields "
          . '(the sleep is off-CPU)');
    # EXPLAIN counts whole blocks, and the last block of a temporary file
    # can be written in part: 95% of two sorts, where one would be 50%.
    my @partial = grep {
        ($_->{io}{write_bytes} // 0) < 1.9 * $sort_writes
          || ($_->{io}{read_bytes} // 0) < 1.9 * $sort_reads
    } @with;
    is(scalar(@partial), 0,
        "$kind: each statement with the fields has both sorts' writes "
          . "(2 x $sort_writes bytes) and reads (2 x $sort_reads)")
      or diag explain [ map { $_->{io} } @partial[ 0 .. 2 ] ];
}

my $events = run_windows('event_windows', '--bpf-syscalls', 'sampled');
check_samples('trace events', $events);
is($events->{header}{collector}{syscall_tracing}, 'sampled 0.6/1.5',
    'trace events: the capture says the fields are sampled, and how');
ok($events->{names}{sys_enter_pwrite64} && $events->{names}{sys_exit_pread64},
    'trace events: the windows attach the trace events of the file calls ('
      . join(',', sort keys %{ $events->{names} }) . ')');
ok(($events->{cap_eff} & (1 << $CAP_PERFMON))
      && !($events->{cap_eff} & (1 << $CAP_BPF)),
    sprintf 'trace events: the collector keeps CAP_PERFMON to open them, '
      . 'not CAP_BPF (CapEff %x)', $events->{cap_eff});

my $raw = run_windows('raw_windows', '--bpf-syscalls', 'raw');
check_samples('raw tracepoints', $raw);
is($raw->{header}{collector}{syscall_tracing}, 'raw sampled 0.6/1.5',
    'raw tracepoints: the capture says so');
is(join(',', sort keys %{ $raw->{names} }), 'sys_enter,sys_exit',
    'raw tracepoints: the windows attach the raw tracepoints');
ok(!($raw->{cap_eff} & ((1 << $CAP_PERFMON) | (1 << $CAP_BPF))),
    sprintf 'raw tracepoints: the collector runs without CAP_PERFMON and '
      . 'CAP_BPF (CapEff %x)', $raw->{cap_eff});

done_testing();
