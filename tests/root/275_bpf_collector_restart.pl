# `qprof collect --bpf on` across a server restart, and the samples it finds
# waiting in the ring when it starts.
#
# The BPF programs watch the backends of one postmaster. After a restart
# the postmaster is another process: the collector must follow it when it
# reconnects, or every later sample would carry all-zero kernel facts, as if
# nothing had happened. An execution that began before the programs watched
# its server (before the collector started, or between the restart and the
# reconnection) has no complete kernel facts: its sample carries none
# (absent, not zero).
use strict;
use warnings;
use File::Basename qw(dirname);
use lib dirname(__FILE__), dirname(__FILE__) . '/../bpf';
use File::Temp ();
use IPC::Run ();
use Test::More;
use Time::HiRes qw(sleep time);
use BpfTest;

my $qprof = qprof_collector();

my $node = bpf_cluster('bpf_restart');
# Skips the test, with the reason, where BPF cannot be loaded at all.
attach_bpf($node)->detach;
my $dsn = sprintf 'host=%s port=%d user=postgres dbname=postgres '
  . 'application_name=collector275', $node->dir, $node->port;

sub sleep_as {
    my ($app) = @_;
    $node->psql('SELECT pg_sleep(0.2)', app => $app);
}

# Waits until the collector has `n` sessions open on the server.
sub wait_for_collector_sessions {
    my ($n) = @_;
    my $deadline = time + 60;
    while (time < $deadline) {
        my $open = eval {
            $node->psql(q{SELECT count(*) FROM pg_stat_activity
                           WHERE application_name = 'collector275'});
        } // 0;
        return 1 if $open >= $n;
        sleep 0.1;
    }
    return 0;
}

# The SELECT samples of the capture, by application_name.
sub captured {
    my ($capture) = @_;
    return { map { ($_->{application_name} => $_) }
          grep { $_->{cmd} eq 'CMD_SELECT' } capture_samples($qprof, $capture) };
}

# Run before any collector: in the ring when the collector starts.
sleep_as('before_collector');

my $capture = File::Temp::tempdir(CLEANUP => 1);
my ($collector, $err) = start_collector($qprof, $dsn, $capture, '--bpf', 'on',
    '--frame-seconds', '0.1');
sleep_as('first_server');
# Read before the restart empties the ring.
my $deadline = time + 60;
sleep 0.1 while !captured($capture)->{first_server} && time < $deadline;

my $first_postmaster = $node->postmaster_pid;
$node->restart;
isnt($node->postmaster_pid, $first_postmaster,
    'the restarted server has another postmaster');
# Most likely before the collector is back: BPF does not watch it yet.
sleep_as('right_after_restart');
ok(wait_for_collector_sessions(1), 'the collector reconnected')
  or diag $$err;
sleep 0.5;    # it follows the new postmaster right after connecting
sleep_as('restarted_server');
sleep 1.5;    # a few polls of the collector

$collector->signal('INT');
ok($collector->finish, 'the collector ran through the restart and stopped')
  or diag $$err;
like($$err, qr/BPF now watches the restarted server/,
    'it says it follows the new postmaster');

my %by_app = %{ captured($capture) };

for my $app (qw(before_collector first_server right_after_restart
    restarted_server)) {
    ok($by_app{$app}, "the sample of $app is captured")
      or diag explain [ sort keys %by_app ];
}
ok(!exists $by_app{before_collector}{io},
    'an execution that ran before the collector started has no kernel facts '
      . '(absent, not zero)')
  or diag explain $by_app{before_collector}{io};
cmp_ok($by_app{first_server}{io}{offcpu_other_ns} // 0, '>=', 0.19e9,
    'the first server: the sleep has its off-CPU time');
cmp_ok($by_app{restarted_server}{io}{offcpu_other_ns} // 0, '>=', 0.19e9,
    'the restarted server: the sleep has its off-CPU time');
# Run while no program watched the new postmaster: either left without
# kernel facts or, had the collector been quicker, with the right ones;
# never all zero.
my $racing = $by_app{right_after_restart}{io};
ok(!$racing || ($racing->{offcpu_other_ns} // 0) >= 0.19e9,
    'a sleep between the restart and the reconnection has no kernel facts, '
      . 'not wrong ones')
  or diag explain $racing;

# --once drains only what is already in the ring: nothing it reads began
# under the programs' watch, and it says so.
my $once = File::Temp::tempdir(CLEANUP => 1);
my ($once_out, $once_err) = ('', '');
IPC::Run::run([ $qprof, 'collect', '--dsn', $dsn, '--out', $once, '--once',
        '--bpf', 'on' ], '<', '/dev/null', '>', \$once_out, '2>', \$once_err)
  or diag $once_err;
like($once_err, qr/--once with BPF: .*carry no I\/O stats/,
    '--once with BPF says its samples carry no I/O stats');
my @drained = capture_samples($qprof, $once);
cmp_ok(scalar @drained, '>', 0, '--once drained the ring');
is(scalar(grep { exists $_->{io} } @drained), 0,
    'and none of its samples has kernel facts');

done_testing();
