# `qprof collect --bpf on` with PostgreSQL in its own pid namespace, as in a
# container: the postmaster is pid 1 there and its backends' pids, which
# the samples carry, are not the kernel's pids of this machine. The
# collector finds the postmaster among this machine's processes, and each
# execution still gets its own kernel facts; after the container restarts
# (a new namespace, a new postmaster) it finds the new one.
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
my $pgbin = $ENV{PGBIN} // '/usr/lib/postgresql/15/bin';

# Skips the test, with the reason, where BPF cannot be loaded at all.
{
    my $probe = bpf_cluster('bpf_pidns_probe');
    attach_bpf($probe)->detach;
    $probe->stop;
}

system('unshare', '--pid', '--fork', 'true') == 0
  or plan skip_all => 'this machine cannot create a pid namespace (unshare --pid)';

my $node = RootCluster->new('bpf_pidns',
    settings => {
        shared_preload_libraries        => 'pg_qprof',
        shared_buffers                  => '8MB',
        max_parallel_workers_per_gather => 0,
    });
# The postmaster as pid 1 of a new pid namespace, like a container's
# entry point. Never through pg_ctl stop: from here, postmaster.pid's "1"
# is this machine's init.
my $log = $node->dir . '/server.log';
my $server;
sub start_in_namespace {
    $server = IPC::Run::start(
        [ 'unshare', '--pid', '--fork', '--kill-child=SIGQUIT',
            'setpriv', '--reuid=postgres', '--regid=postgres', '--init-groups',
            "$pgbin/postgres", '-D', $node->data_dir ],
        '<', '/dev/null', '>>', $log, '2>&1');
    for (1 .. 300) {
        return 1 if eval { $node->psql('SELECT 1') eq '1' };
        sleep 0.1;
    }
    return 0;
}
# Fast shutdown, through the postmaster's pid on this machine.
sub stop_in_namespace {
    my @children = split ' ', `pgrep -P $server->{KIDS}[0]{PID}`;
    kill 'INT', @children;
    $server->finish;
    undef $server;
}
# However the test ends: unshare's end sends the postmaster SIGQUIT.
END { $server->kill_kill if $server }

ok(start_in_namespace(), 'the server started in its own pid namespace')
  or BAIL_OUT('server did not start: ' . `cat $log`);
$node->psql('CREATE EXTENSION pg_qprof');
my ($postmaster_pid) = split /\|/, $node->psql('SELECT * FROM pg_qprof.exec_word()');
is($postmaster_pid, 1, 'PostgreSQL sees its postmaster as pid 1');

my $size  = create_table($node, 'pidns_cold', 16);

my $dsn = sprintf 'host=%s port=%d user=postgres dbname=postgres '
  . 'application_name=collector285', $node->dir, $node->port;
my $capture = File::Temp::tempdir(CLEANUP => 1);
my ($collector, $err) = start_collector($qprof, $dsn, $capture, '--bpf', 'on',
    '--frame-seconds', '0.1');

$node->psql('SELECT count(*) FROM pidns_cold', app => 'pidns_scan');
$node->psql('SELECT pg_sleep(0.2)',            app => 'pidns_sleep');
sleep 1.5;    # a few polls of the collector

# The container restarts: another postmaster, pid 1 again in a new
# namespace. The collector finds it when it reconnects.
stop_in_namespace();
ok(start_in_namespace(), 'the server restarted in a new pid namespace');
my $reconnected = 0;
for (1 .. 300) {
    last if $reconnected = eval {
        $node->psql(q{SELECT count(*) FROM pg_stat_activity
                       WHERE application_name = 'collector285'}) > 0;
    };
    sleep 0.1;
}
ok($reconnected, 'the collector reconnected') or diag $$err;
sleep 0.5;    # it follows the new postmaster right after connecting
$node->psql('SELECT pg_sleep(0.2)', app => 'pidns_restarted_sleep');
sleep 1.5;
$collector->signal('INT');
ok($collector->finish, 'collector --bpf on ran and stopped cleanly')
  or diag $$err;
unlike($$err, qr/unavailable/, 'and found the postmaster of the namespace');

my %by_app = map { ($_->{application_name} => $_) }
  grep { $_->{cmd} eq 'CMD_SELECT' } capture_samples($qprof, $capture);
my ($scan, $sleep) = @by_app{qw(pidns_scan pidns_sleep)};
ok($scan && $sleep, 'the samples are captured')
  or diag explain [ sort keys %by_app ];
check_cold_scan_and_sleep($scan, $sleep, $size);
like($$err, qr/BPF now watches the restarted server/,
    'the collector follows the restarted server');
cmp_ok($by_app{pidns_restarted_sleep}{io}{offcpu_other_ns} // 0, '>=', 0.19e9,
    'the sleep on the restarted server has its off-CPU time');

stop_in_namespace();

done_testing();
