# Who may read the ring from the postmaster's memory: root and the server's
# OS user do (`--ring-read memory` works); another OS user, even with a
# superuser role, may not, so `auto` reads through SQL and says why, and
# `memory` fails with that reason.
use strict;
use warnings;
use File::Basename qw(dirname);
use File::Copy ();
use File::Temp ();
use lib dirname(__FILE__), dirname(__FILE__) . '/../collector';
use IPC::Run ();
use Test::More;
use RootCluster;

my $qprof = -x '/usr/local/bin/qprof' ? '/usr/local/bin/qprof'
  : dirname(__FILE__) . '/../../collector/build/qprof';

my $node = RootCluster->new('ring_memory_rights', settings => {
    shared_preload_libraries => 'pg_qprof' });
$node->start;
$node->psql('CREATE EXTENSION pg_qprof');
$node->psql(join('', map { "SELECT $_;\n" } 1 .. 50), app => 'rights');
my $dsn = 'host=' . $node->dir . ' port=' . $node->port . ' user=postgres dbname=postgres';

# `nobody` may reach the socket and run a copy of qprof, nothing more.
chmod 0711, $node->dir;
my $copy = $node->dir . '/qprof';
File::Copy::copy($qprof, $copy) or die "copy: $!";
chmod 0755, $copy;

# Runs `qprof collect --once` as `user`: (exit status, stderr, how many of
# the 50 samples it captured).
sub collect_as
{
    my ($user, @options) = @_;
    my $out_dir = File::Temp::tempdir(CLEANUP => 1);
    chown scalar(getpwnam($user)), -1, $out_dir;
    my ($out, $err, $dump) = ('', '', '');
    IPC::Run::run([ 'runuser', '-u', $user, '--', $copy, 'collect', '--dsn', $dsn,
            '--out', $out_dir, '--once', '--bpf', 'off', @options ],
        '<', '/dev/null', '>', \$out, '2>', \$err, IPC::Run::timeout(120));
    my $status = $? >> 8;
    IPC::Run::run([ $copy, 'dump', $out_dir ], '>', \$dump);
    my $samples = () = $dump =~ /"application_name":"rights"/g;
    return ($status, $err, $samples);
}

for my $user ('root', 'postgres')
{
    my ($status, $err, $samples) = collect_as($user, '--ring-read', 'memory');
    is($status, 0, "$user: --ring-read memory works") or diag $err;
    is($samples, 50, "$user: the 50 samples read from memory");
}

# With BPF attached, the collector drops the capabilities loading needed,
# but keeps the one reading the postmaster's memory needs at every read.
my ($status, $err, $samples) = collect_as('root', '--ring-read', 'memory', '--bpf', 'auto');
is($status, 0, 'root, BPF attached: --ring-read memory works') or diag $err;
unlike($err, qr/cannot read the ring|reconnecting/, 'root, BPF attached: no read failed');
is($samples, 50, 'root, BPF attached: the 50 samples read from memory');

($status, $err, $samples) = collect_as('nobody');
is($status, 0, 'another OS user, auto: collected') or diag $err;
like($err, qr/samples are read through SQL, not from the server's memory: this process may not read the memory of the postmaster \(pid \d+; run as root or as the server's OS user\): /,
    'another OS user, auto: says it reads through SQL, and why');
is($samples, 50, 'another OS user, auto: the 50 samples read through SQL');

($status, $err) = collect_as('nobody', '--ring-read', 'memory');
is($status, 2, 'another OS user, --ring-read memory: exit status 2');
like($err, qr/--ring-read memory: this process may not read the memory of the postmaster/,
    'another OS user, --ring-read memory: says why');

done_testing();
