# End to end through the collector: `qprof collect --bpf on` puts each
# execution's kernel facts into its sample in the capture; `--bpf off`
# leaves them out; `--bpf on` without the rights fails with a clear error.
use strict;
use warnings;
use File::Basename qw(dirname);
use FindBin;
use lib dirname(__FILE__), dirname(__FILE__) . '/../bpf';
use File::Temp ();
use IPC::Run ();
use JSON::PP ();
use Test::More;
use BpfTest;

my $qprof = qprof_collector();

my $node = bpf_cluster('bpf_collector');
# Skips the test, with the reason, where BPF cannot be loaded at all.
attach_bpf($node)->detach;
my $dsn = sprintf 'host=%s port=%d user=postgres dbname=postgres',
  $node->dir, $node->port;
my $size  = create_table($node, 'collected_cold', 16);
# Nested statements: one that only computes, and one that runs a sleep.
$node->psql(q{
    CREATE FUNCTION nested_burn() RETURNS bigint LANGUAGE plpgsql AS $$
    DECLARE n bigint;
    BEGIN
        SELECT sum(g) INTO n FROM generate_series(1, 3000000) g;
        RETURN n;
    END $$;
    CREATE FUNCTION nested_sleep() RETURNS void LANGUAGE plpgsql AS $$
    BEGIN
        PERFORM pg_sleep(0.2);
    END $$;
    CREATE FUNCTION nested_outer() RETURNS void LANGUAGE plpgsql AS $$
    BEGIN
        PERFORM nested_sleep();
    END $$;
});

# Samples of a capture directory, by application_name.
sub samples_in {
    my ($dir) = @_;
    my %by_app;
    push @{ $by_app{ $_->{application_name} } }, $_
      for capture_samples($qprof, $dir);
    return \%by_app;
}

my $capture = File::Temp::tempdir(CLEANUP => 1);
my ($collector, $collector_err) =
  start_collector($qprof, $dsn, $capture, '--bpf', 'on');
$node->psql('SELECT count(*) FROM collected_cold', app => 'collected_scan');
$node->psql('SELECT pg_sleep(0.2)',                 app => 'collected_sleep');
$node->psql("SET pg_qprof.track = 'all'; SELECT nested_burn()",
    app => 'collected_nested_burn');
$node->psql("SET pg_qprof.track = 'all'; SELECT nested_outer()",
    app => 'collected_nested_sleep');
sleep 3;    # a few polls of the collector

# Attached, the collector no longer holds what loading BPF needed; reading
# the ring from the server's memory, it keeps what mapping it again after a
# server restart needs.
my $collector_pid = $collector->{KIDS}[0]{PID};
open my $status, '<', "/proc/$collector_pid/status" or die "status: $!";
my ($cap_eff) = map { /^CapEff:\s*([0-9a-f]+)/ ? $1 : () } <$status>;
close $status;
my $caps = hex $cap_eff;
my %dropped = (CAP_SYS_ADMIN => 21, CAP_PERFMON => 38, CAP_BPF => 39,
    CAP_SYS_RESOURCE => 24, CAP_NET_ADMIN => 12);
for my $name (sort keys %dropped) {
    ok(!($caps & (1 << $dropped{$name})),
        "collector dropped $name after attaching (CapEff $cap_eff)");
}
my %kept = (CAP_SYS_PTRACE => 19, CAP_CHECKPOINT_RESTORE => 40);
for my $name (sort keys %kept) {
    ok($caps & (1 << $kept{$name}),
        "collector kept $name, reading the ring from memory (CapEff $cap_eff)");
}

$collector->signal('INT');
ok($collector->finish, 'collector --bpf on ran and stopped cleanly')
  or diag $$collector_err;
unlike($$collector_err, qr/unavailable/,
    'and did not fall back to running without BPF');

my $samples = samples_in($capture);
my ($scan)  = @{ $samples->{collected_scan}  // [] };
my ($sleep) = @{ $samples->{collected_sleep} // [] };
ok($scan && $scan->{io}, 'the scan sample carries I/O facts')
  or diag explain $samples;
check_cold_scan_and_sleep($scan, $sleep, $size);

# The nested statements (track = all), by nesting level.
sub by_level {
    my ($app) = @_;
    return { map { ($_->{nesting_level} => $_) } @{ $samples->{$app} // [] } };
}
my $burn = by_level('collected_nested_burn');
my $inner = $burn->{1};
ok($inner && $inner->{io}, 'the nested CPU-bound statement is captured')
  or diag explain $samples->{collected_nested_burn};
my $inner_ns = $inner->{plan_time_ns} + $inner->{exec_time_ns};
diag sprintf 'nested CPU-bound statement: %.1f ms on CPU of %.1f ms, '
  . '%.1f ms off CPU', ($inner->{io}{oncpu_ns} // 0) / 1e6, $inner_ns / 1e6,
  (($inner->{io}{offcpu_other_ns} // 0) + ($inner->{io}{offcpu_io_wait_ns} // 0)) / 1e6;
# on a busy machine it waits for a CPU too: that time is off the CPU
my $inner_off = ($inner->{io}{offcpu_other_ns} // 0)
  + ($inner->{io}{offcpu_io_wait_ns} // 0);
cmp_ok($inner->{io}{oncpu_ns} // 0, '>=', 0.8 * ($inner_ns - $inner_off),
    'a nested CPU-bound statement has on-CPU time close to its execution '
      . 'time, but for the time it was switched out');
cmp_ok($inner->{io}{oncpu_ns} // 0, '<=', $inner_ns * 1.05 + 5e6,
    'and no more than it');

my $sleeping = by_level('collected_nested_sleep');
ok($sleeping->{1} && $sleeping->{2},
    'nested_outer: its nested statement and the sleep inside it are captured')
  or diag explain $samples->{collected_nested_sleep};
cmp_ok($sleeping->{2}{io}{offcpu_other_ns} // 0, '>=', 0.19e9,
    'the nested sleep has its off-CPU time');
cmp_ok($sleeping->{1}{io}{oncpu_ns} // 0, '<', 0.1e9,
    'the statement around it is not credited with the sleep as CPU time');

# The report's kernel facts (what the demo prints): the sleep's
# application shows its wait.
my ($report_json, $report_err) = ('', '');
IPC::Run::run([ $qprof, 'report', $capture, '--json', '--top', '50' ],
    '>', \$report_json, '2>', \$report_err)
  or diag $report_err;
my ($apps) = grep { $_->{dimension} eq 'app' }
  @{ JSON::PP->new->utf8->decode($report_json)->{attribution}{dimensions} };
my ($sleep_group) = grep { $_->{name} eq 'collected_sleep' } @{ $apps->{groups} };
ok($sleep_group && $sleep_group->{kernel},
    'qprof report has the kernel facts of the sleep\'s application')
  or diag $report_json;
cmp_ok($sleep_group->{kernel}{other_wait_ms} // 0, '>=', 190,
    'with its 0.2 s off the CPU as other wait');

# --bpf off: no I/O facts at all.
my $off = File::Temp::tempdir(CLEANUP => 1);
my ($out, $err) = ('', '');
$node->psql('SELECT pg_sleep(0.05)', app => 'uncollected');
IPC::Run::run([ $qprof, 'collect', '--dsn', $dsn, '--out', $off, '--bpf',
        'off', '--once' ], '<', '/dev/null', '>', \$out, '2>', \$err)
  or diag $err;
my ($plain) = @{ samples_in($off)->{uncollected} // [] };
ok($plain, '--bpf off: the sample is captured');
ok(!exists $plain->{io}, '--bpf off: without I/O facts');

# --bpf on without the rights to load BPF: a clear error, exit status 2.
my $denied = File::Temp::tempdir(CLEANUP => 1);
chown scalar(getpwnam('postgres')), -1, $denied;
($out, $err) = ('', '');
IPC::Run::run([ 'runuser', '-u', 'postgres', '--', $qprof, 'collect',
        '--dsn', $dsn, '--out', $denied, '--bpf', 'on', '--once' ],
    '<', '/dev/null', '>', \$out, '2>', \$err);
is($? >> 8, 2, '--bpf on without rights: exit status 2');
like($err, qr/BPF.*unavailable.*needs root, or CAP_BPF/s,
    '--bpf on without rights: says what is missing');

done_testing();
