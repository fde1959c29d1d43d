# The collector as root maps the ring from the postmaster's memory
# (`--ring-read memory`, which `auto` picks here): it gives the same samples
# as reading through SQL, never a torn one while writers lap a small ring,
# and it still reads after BPF is attached and the capabilities loading
# needed are dropped, also after a restart and a crash of the server, which
# give it a new ring to map. Another OS user may not: `auto` reads through
# SQL, `memory` fails and says why.
use strict;
use warnings;
use File::Basename qw(dirname);
use File::Copy ();
use File::Temp ();
use lib dirname(__FILE__), dirname(__FILE__) . '/../collector';
use IPC::Run ();
use JSON::PP;
use Test::More;
use RootCluster;

my $qprof = -x '/usr/local/bin/qprof' ? '/usr/local/bin/qprof'
  : dirname(__FILE__) . '/../../collector/build/qprof';

my $node = RootCluster->new('ring_memory', settings => {
    shared_preload_libraries => 'pg_qprof', 'pg_qprof.ring_size' => '1MB' });
$node->start;
$node->psql('CREATE EXTENSION pg_qprof');
my $dsn = 'host=' . $node->dir . ' port=' . $node->port . ' user=postgres dbname=postgres';

# `nobody` and `postgres` may reach the socket and run a copy of qprof.
chmod 0711, $node->dir;
my $copy = $node->dir . '/qprof';
File::Copy::copy($qprof, $copy) or die "copy: $!";
chmod 0755, $copy;

# The records of a capture directory, decoded.
sub records
{
    my ($dir) = @_;
    my $dump = '';
    IPC::Run::run([ $copy, 'dump', $dir ], '>', \$dump) or die "qprof dump $dir failed";
    my $json = JSON::PP->new;
    return map { $json->decode($_) } split /\n/, $dump;
}

# Runs `qprof collect --once` as `user`: (exit status, stderr, records).
sub collect_as
{
    my ($user, @options) = @_;
    my $out_dir = File::Temp::tempdir(CLEANUP => 1);
    chown scalar(getpwnam($user)), -1, $out_dir;
    my ($out, $err) = ('', '');
    IPC::Run::run([ 'runuser', '-u', $user, '--', $copy, 'collect', '--dsn', $dsn,
            '--out', $out_dir, '--once', '--bpf', 'off', @options ],
        '<', '/dev/null', '>', \$out, '2>', \$err, IPC::Run::timeout(120));
    my $status = $? >> 8;
    return ($status, $err, $status == 0 ? records($out_dir) : ());
}

sub samples_of { return grep { $_->{kind} eq 'sample' } @_ }

# Varied samples: tags (the variable-length tail of a sample), a failure,
# nested statements, several applications.
$node->psql(q{
    SET pg_qprof.track = 'all';
    CREATE FUNCTION nested_count() RETURNS bigint LANGUAGE sql
        AS 'SELECT count(*) FROM pg_class';
    SELECT nested_count();
    SELECT 1 /* route='%2Fapi%2Fjobs',controller='jobs' */;
}, app => 'varied');
eval { $node->psql('SELECT 1/0', app => 'varied') };
$node->psql(join('', map { "SELECT $_;\n" } 1 .. 50), app => 'rights');

my ($status, $err, @from_memory) = collect_as('root', '--ring-read', 'memory');
is($status, 0, 'root: --ring-read memory works') or diag $err;
is($err, '', 'root: and says nothing');
my ($sql_status, $sql_err, @from_sql) = collect_as('root', '--ring-read', 'sql');
is($sql_status, 0, 'root: --ring-read sql works') or diag $sql_err;
@from_memory = samples_of(@from_memory);
my %by_seq = map { ($_->{seq} => $_) } samples_of(@from_sql);
cmp_ok(scalar @from_memory, '>', 50, 'samples read from memory (' . scalar(@from_memory) . ')');
# The SQL run came later: compare what both saw.
is_deeply([ map { $by_seq{ $_->{seq} } // {} } @from_memory ], \@from_memory,
    'memory and SQL give the same samples, every field');
ok((grep { ($_->{tags}{route} // '') eq '/api/jobs' } @from_memory), 'tags read from memory');
ok((grep { ($_->{sqlstate} // '') eq '22012' } @from_memory), 'the failure read from memory');
ok((grep { ($_->{nesting_level} // 0) == 1 } @from_memory), 'nested statements read from memory');

# With BPF attached, the collector drops the capabilities loading needed
# but keeps reading the mapped ring.
($status, $err, my @records) = collect_as('root', '--ring-read', 'memory', '--bpf', 'auto');
is($status, 0, 'root, BPF attached: --ring-read memory works') or diag $err;
is(scalar(grep { ($_->{applicationName} // $_->{application_name} // '') eq 'rights' } samples_of(@records)),
    50, 'root, BPF attached: the 50 samples read from memory');

# Other OS users may not open the postmaster's memory, not even the
# server's own without root's capabilities.
for my $user ('postgres', 'nobody')
{
    ($status, $err, @records) = collect_as($user);
    is($status, 0, "$user, auto: collected") or diag $err;
    is($err, '', "$user, auto: quiet");
    ok((grep { ($_->{tags}{route} // '') eq '/api/jobs' } samples_of(@records)), "$user, auto: samples read through SQL");

    ($status, $err) = collect_as($user, '--ring-read', 'memory');
    is($status, 2, "$user, --ring-read memory: exit status 2");
    like($err, qr/--ring-read memory: this process may not open the postmaster's memory \(pid \d+; root may: CAP_SYS_PTRACE with CAP_SYS_ADMIN or CAP_CHECKPOINT_RESTORE\): /,
        "$user, --ring-read memory: says why");
}

# Writers lap the small ring between the collector's polls, so that each
# read starts at the oldest sample, the next one the writers overwrite, and
# copies race with them: two statements whose fields differ everywhere
# (query, rows, and tags at the end of the sample), so a torn copy would
# mix them.
my $capacity = $node->psql('SELECT capacity FROM pg_qprof.status');
my %script = (
    a => "SELECT 1 FROM generate_series(1, 3) /* route='a' */;\n",
    b => "SELECT 1, 2, 3 FROM generate_series(1, 7) /* route='b' */;\n");
for my $name (keys %script)
{
    open my $fh, '>', $node->dir . "/$name.sql" or die $!;
    print $fh $script{$name};
    close $fh;
    chmod 0644, $node->dir . "/$name.sql";
}
# One live capture of both scripts, run by two pgbench clients, checked
# sample by sample. `pause_us` makes the collector pause in the middle of
# copying the first sample of each read (its test hook), long enough for
# the writers to rewrite that slot: without the version check after the
# copy, about half of those copies would mix the two statements. pgbench
# runs `@length` (-t per client or -T seconds); the collector must capture
# `rings` rings' worth meanwhile (a paused one loses most of each batch).
sub race_writers
{
    my ($label, $pause_us, $rings, @length) = @_;
    my $live_dir = File::Temp::tempdir(CLEANUP => 1);
    my ($cout, $cerr) = ('', '');
    local $ENV{QPROF_TEST_RING_PAUSE_MID_COPY_US} = $pause_us if $pause_us;
    my $collector = IPC::Run::start(
        [ $copy, 'collect', '--dsn', $dsn, '--out', $live_dir, '--bpf', 'off',
            '--ring-read', 'memory', '--poll-seconds', '0.1', '--batch', '5000' ],
        '>', \$cout, '2>', \$cerr, IPC::Run::timeout(300));
    sleep 1;
    my ($bout, $berr) = ('', '');
    IPC::Run::run(
        [ 'runuser', '-u', 'postgres', '--', '/usr/lib/postgresql/15/bin/pgbench', '-n',
            '-h', $node->dir, '-p', $node->port, '-c', '2', '-j', '2', @length,
            '-f', $node->dir . '/a.sql', '-f', $node->dir . '/b.sql', 'postgres' ],
        '>', \$bout, '2>', \$berr)
      or die "pgbench: $berr";
    sleep 1;
    $collector->signal('INT');
    $collector->finish;
    is($collector->full_result(0), 0, "$label: the live collector stopped cleanly") or diag $cerr;

    my @records = records($live_dir);
    my @live = grep { ($_->{tags}{route} // '') =~ /^[ab]$/ } samples_of(@records);
    my %query_of;
    my $torn = 0;
    for my $s (@live)
    {
        my $route = $s->{tags}{route};
        $query_of{$route} //= $s->{queryid};
        $torn++ if $s->{rows} != ($route eq 'a' ? 3 : 7) || $s->{queryid} ne $query_of{$route};
    }
    cmp_ok(scalar @live, '>', $rings * $capacity,
        "$label: the collector read $rings rings' worth while they were written (" . scalar(@live) . ")");
    is($torn, 0, "$label: no sample mixes two statements (query, rows and tags agree in every one)");
    isnt($query_of{a}, $query_of{b}, "$label: the two statements have their own query ids");
    my %seen;
    $seen{ $_->{seq} }++ for samples_of(@records);
    is(scalar(grep { $_ > 1 } values %seen), 0, "$label: no sample twice");
    my $lost = 0;
    $lost += $_->{count} for grep { $_->{kind} eq 'loss' } @records;
    my @seqs = sort { $a <=> $b } keys %seen;
    cmp_ok($lost, '>', 0, "$label: the writers lapped the ring between reads ($lost samples overwritten)");
    is(scalar(@seqs) + $lost, $seqs[-1] - $seqs[0] + 1, "$label: captured plus lost covers every seq");
}
race_writers('racing writers', 0, 2, '-t', '20000');
# about 25 reads in 3 s, each pausing in its first copy; without the version
# check 10 of them mixed the two statements
race_writers('a copy paused 20 ms while writers rewrite its slot', 20000, 0.5, '-T', '3');

# A live collector through a restart and a crash: each gives the server a
# new ring. Reading memory, the collector maps it when it reconnects, with
# the capabilities it kept after the BPF attach (`memory` would not fall
# back to SQL). Both ways, a query sent to a backend the crash ended is a
# lost connection, not an error.
my $follow_dir;

# Waits until the capture holds `count` samples of application `app`.
sub wait_for_app
{
    my ($app, $count) = @_;
    my $seen = 0;
    for (1 .. 150)
    {
        my $dump = '';
        IPC::Run::run([ $copy, 'dump', $follow_dir ], '>', \$dump, '2>', \my $ignored);
        $seen = () = $dump =~ /"application_name":"$app"/g;
        last if $seen >= $count;
        select(undef, undef, undef, 0.2);
    }
    return $seen;
}

# The server accepts connections again.
sub wait_for_server
{
    for (1 .. 150)
    {
        return 1 if eval { $node->psql('SELECT 1'); 1 };
        select(undef, undef, undef, 0.2);
    }
    return 0;
}

for my $mode ('memory', 'sql')
{
    $follow_dir = File::Temp::tempdir(CLEANUP => 1);
    my ($fout, $ferr) = ('', '');
    my $follower = IPC::Run::start(
        [ $copy, 'collect', '--dsn', $dsn, '--out', $follow_dir, '--bpf', 'auto',
            '--ring-read', $mode, '--poll-seconds', '0.1', '--frame-seconds', '0.2' ],
        '>', \$fout, '2>', \$ferr, IPC::Run::timeout(300));
    sleep 2;
    $node->psql(join('', map { "SELECT $_;\n" } 1 .. 20), app => "before_restart_$mode");
    is(wait_for_app("before_restart_$mode", 20), 20, "$mode, live: samples before the restart");
    $node->restart;
    $node->psql(join('', map { "SELECT $_;\n" } 1 .. 20), app => "after_restart_$mode");
    is(wait_for_app("after_restart_$mode", 20), 20, "$mode: samples after the restart, from the new ring");

    my $postmaster = $node->postmaster_pid;
    my $victim = $node->background_psql('SELECT pg_sleep(60)', app => 'victim');
    my $victim_pid;
    for (1 .. 50)
    {
        $victim_pid = $node->psql("SELECT pid FROM pg_stat_activity WHERE application_name = 'victim'");
        last if $victim_pid;
        select(undef, undef, undef, 0.1);
    }
    kill 'KILL', $victim_pid;
    eval { $victim->{run}->finish };
    ok(wait_for_server(), "$mode: the server recovered from the crash of a backend");
    is($node->postmaster_pid, $postmaster, "$mode: the same postmaster re-created shared memory");
    $node->psql(join('', map { "SELECT $_;\n" } 1 .. 20), app => "after_crash_$mode");
    is(wait_for_app("after_crash_$mode", 20), 20, "$mode: samples after the crash, from the new ring");
    $follower->signal('INT');
    $follower->finish;
    is($follower->full_result(0), 0, "$mode: the collector ran through both and stopped cleanly")
      or diag $ferr;
    my @epochs = grep { $_->{kind} eq 'epoch_change' } records($follow_dir);
    is(scalar @epochs, 2, "$mode: two epoch changes recorded") or diag $ferr;
}

done_testing();
