# End to end through the collector: `qprof collect --bpf on` puts each
# execution's kernel facts into its sample in the capture; `--bpf off`
# leaves them out; `--bpf on` without the rights fails with a clear error.
use strict;
use warnings;
use File::Basename qw(dirname);
use lib dirname(__FILE__), dirname(__FILE__) . '/../bpf';
use File::Temp ();
use IPC::Run ();
use JSON::PP ();
use Test::More;
use BpfTest;

my $repo  = dirname(__FILE__) . '/../..';
my $qprof = $ENV{QPROF}
  // (grep { -x } map({ "$_/qprof" } split(/:/, $ENV{PATH})),
    "$repo/collector/build/qprof")[0];
plan skip_all => 'no qprof collector built' unless $qprof && -x $qprof;

my $node = bpf_cluster('bpf_collector');
# Skips the test, with the reason, where BPF cannot be loaded at all.
attach_bpf($node)->detach;
my $dsn = sprintf 'host=%s port=%d user=postgres dbname=postgres',
  $node->dir, $node->port;
my $size  = create_table($node, 'collected_cold', 16);
my $pages = $size / page_size();

# Samples of a capture directory, by application_name.
sub samples_in {
    my ($dir) = @_;
    my ($out, $err) = ('', '');
    IPC::Run::run([ $qprof, 'dump', $dir ], '>', \$out, '2>', \$err)
      or die "qprof dump: $err";
    my %by_app;
    for my $line (split /\n/, $out) {
        my $record = JSON::PP::decode_json($line);
        next unless $record->{kind} eq 'sample';
        push @{ $by_app{ $record->{application_name} } }, $record;
    }
    return \%by_app;
}

my $capture = File::Temp::tempdir(CLEANUP => 1);
my ($out, $err) = ('', '');
my $collector = IPC::Run::start(
    [ $qprof, 'collect', '--dsn', $dsn, '--out', $capture, '--bpf', 'on' ],
    '<', '/dev/null', '>', \$out, '2>', \$err);
# Attached once the capture header is written.
for (1 .. 100) {
    last if glob("$capture/*.qprof") && -s (glob("$capture/*.qprof"))[0];
    select(undef, undef, undef, 0.1);
}
$node->psql('SELECT count(*) FROM collected_cold', app => 'collected_scan');
$node->psql('SELECT pg_sleep(0.2)',                 app => 'collected_sleep');
sleep 3;    # a few polls of the collector

# Attached, the collector no longer holds what loading BPF needed.
my $collector_pid = $collector->{KIDS}[0]{PID};
open my $status, '<', "/proc/$collector_pid/status" or die "status: $!";
my ($cap_eff) = map { /^CapEff:\s*([0-9a-f]+)/ ? $1 : () } <$status>;
close $status;
my $caps = hex $cap_eff;
my %dropped = (CAP_SYS_ADMIN => 21, CAP_PERFMON => 38, CAP_BPF => 39,
    CAP_SYS_PTRACE => 19, CAP_SYS_RESOURCE => 24);
for my $name (sort keys %dropped) {
    ok(!($caps & (1 << $dropped{$name})),
        "collector dropped $name after attaching (CapEff $cap_eff)");
}

$collector->signal('INT');
ok($collector->finish, 'collector --bpf on ran and stopped cleanly')
  or diag $err;
unlike($err, qr/unavailable/, 'and did not fall back to running without BPF');

my $samples = samples_in($capture);
my ($scan)  = @{ $samples->{collected_scan}  // [] };
my ($sleep) = @{ $samples->{collected_sleep} // [] };
ok($scan && $scan->{io}, 'the scan sample carries I/O facts')
  or diag explain $samples;
cmp_ok($scan->{io}{page_cache_misses} // 0, '>=', 0.9 * $pages,
    'its page-cache misses cover the cold table');
cmp_ok($scan->{io}{block_bytes} // 0, '>=', 0.9 * $size,
    'its storage reads cover the cold table');
cmp_ok($sleep->{io}{offcpu_other_ns} // 0, '>=', 0.19e9,
    'the pg_sleep(0.2) sample has its off-CPU time');
is($sleep->{io}{block_requests} // -1, 0,
    'and zero where nothing happened');

# --bpf off: no I/O facts at all.
my $off = File::Temp::tempdir(CLEANUP => 1);
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
