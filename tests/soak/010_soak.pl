# The soak (in `make test` with 2 minutes of load; `make soak` and the end
# of `make bench` with 3, 4 minutes in all):
# pgbench with 16 clients, extended-protocol clients that abort transactions
# with portals still open (abort_client.pl), the collector killed with SIGKILL
# and restarted every 20 s, and one `pg_ctl restart -m immediate` in the
# middle.
# Then:
#   - every sequence number of every ring epoch is in the capture exactly
#     once or counted lost (a Loss record covering it); for the epoch the
#     restart ended, up to where the EpochChange record says its capture
#     stopped (what the ring held after the collector's last read is gone
#     with the restart: counted when the collector knew of it);
#   - every capture file passes `qprof dump --check`;
#   - no backend crashed (no "terminated by signal" in the server log) but
#     for the restart asked for;
#   - pg_qprof.status's skipped_too_deep stays 0 in both epochs: executions
#     that end without ExecutorEnd are closed, none leaks;
#   - the abort clients saw only the outcomes they expected.
# SOAK_SECONDS sets the load's length (180), SOAK_RATE a pgbench rate limit
# in transactions per second (none), SOAK_ABORT_CLIENTS the number of abort
# clients (4).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../collector", $FindBin::Bin;
use IPC::Run ();
use JSON::PP ();
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time sleep);
use QprofCollectorTest;

my $seconds = $ENV{SOAK_SECONDS} // 180;
my $rate = $ENV{SOAK_RATE};
my $kill_every = 20;
my $abort_clients = $ENV{SOAK_ABORT_CLIENTS} // 4;
my $started = time;

# A crash must not end the soak before it is counted: the server restarts
# after one. Statements are not logged (some are 512 kB).
my $node = new_qprof_node('soak', <<EOF);
max_connections = 50
pg_qprof.ring_size = 8
restart_after_crash = on
log_statement = none
log_min_error_statement = fatal
log_line_prefix = '%m [%p] %q%a '
EOF
$node->command_ok([ 'pgbench', '-i', '-s', '2', '-q', '-h', $node->host,
        '-p', $node->port, 'postgres' ], 'pgbench -i');
my $capacity = $node->safe_psql('postgres', 'SELECT capacity FROM pg_qprof.status');
note "ring capacity: $capacity samples";

# pgbench until `until` (epoch seconds); returns its handle and output refs.
sub start_pgbench
{
    my ($until) = @_;
    my ($out, $err) = ('', '');
    local $ENV{PGAPPNAME} = 'pgbench';
    my $length = int($until - time);
    $length = 1 if $length < 1;
    my $h = IPC::Run::start(
        [ 'pgbench', '-n', '-c', '16', '-j', '2', '-T', $length,
            (defined $rate ? ('-R', $rate) : ()),
            '-h', $node->host, '-p', $node->port, 'postgres' ],
        '>', \$out, '2>', \$err, IPC::Run::timeout($length + 120));
    return { h => $h, out => \$out, err => \$err };
}

my $dir = PostgreSQL::Test::Utils::tempdir . '/soak';
sub collector
{
    local $ENV{PGAPPNAME} = 'soak_collector';
    return start_collector($node, $dir, '--frame-seconds', '0.2');
}

my $deadline = time + $seconds;
my $restart_at = time + $seconds / 2;
my @pgbench = (start_pgbench($deadline));
# (their output goes to files: nothing reads a pipe while the load runs)
my @clients;
for my $n (1 .. $abort_clients)
{
    my $out = PostgreSQL::Test::Utils::tempdir . "/abort_client_$n.out";
    push @clients, {
        out => $out,
        h => IPC::Run::start(
            [ 'perl', "$FindBin::Bin/abort_client.pl", $node->host, $node->port,
                $seconds, $n ],
            '>', $out, '2>&1', IPC::Run::timeout($seconds + 300)) };
}
my $collector = collector();
# whatever ends this script, nothing it started outlives it
END
{
    for my $h (grep { defined } $collector, map { $_->{h} } @clients, @pgbench)
    {
        eval { $h->kill_kill(grace => 1) if $h->pumpable };
    }
}
my $next_kill = time + $kill_every;
my ($kills, $restarted, $too_deep_before, $epoch_before, $head_before) = (0, 0);

while (time < $deadline)
{
    if (!$restarted && time >= $restart_at)
    {
        ($epoch_before, $head_before, $too_deep_before) = split /\|/,
          $node->safe_psql('postgres',
            'SELECT epoch, head_seq, skipped_too_deep FROM pg_qprof.status');
        note "restart -m immediate at " . int(time - $started) . " s";
        PostgreSQL::Test::Utils::system_or_bail('pg_ctl', '-w', '-D', $node->data_dir,
            '-l', $node->logfile, '-m', 'immediate', 'restart');
        $node->_update_pid(1);
        $restarted = 1;
        # pgbench's clients lost their connections: a new pgbench to the end
        push @pgbench, start_pgbench($deadline);
    }
    if (time >= $next_kill)
    {
        $collector->signal('KILL');
        $collector->finish;
        $kills++;
        sleep(0.2 + rand(1.8));
        $collector = collector();
        $next_kill += $kill_every;
    }
    sleep 0.2;
}

$_->{ok} = $_->{h}->finish for @pgbench;
$_->{h}->finish for @clients;
$collector->signal('KILL');
$collector->finish;
$kills++;
note sprintf "load ran %.0f s; %d collector kills", time - $started, $kills;

# pgbench: the first lost its connections at the restart, the second ran on.
my @transactions;
for my $p (@pgbench)
{
    my ($processed) = ${ $p->{out} } =~ /number of transactions actually processed: (\d+)/;
    push @transactions, $processed // 0;
}
ok($transactions[0] > 0 && $transactions[1] > 0,
    "pgbench ran in both epochs ($transactions[0], $transactions[1] transactions)")
  or diag ${ $pgbench[0]{err} }, ${ $pgbench[1]{err} };
ok($pgbench[1]{ok}, 'pgbench after the restart ran to the end')
  or diag ${ $pgbench[1]{err} };

# The abort clients.
my ($rounds, $unexpected) = (0, 0);
for my $c (@clients)
{
    my ($line, @problems) = split /\n/, slurp_file($c->{out});
    $line //= '';
    note "abort client: $line";
    my ($r) = $line =~ /rounds=(\d+)/;
    my ($u) = $line =~ /unexpected=(\d+)/;
    $rounds += $r // 0;
    $unexpected += defined $u ? $u : 1;
    diag "  $_" for @problems;
}
ok($rounds >= $abort_clients * 10, "abort clients ran ($rounds rounds)")
  if $abort_clients;
is($unexpected, 0, 'abort clients saw only the outcomes they expected');

# No execution leaked to the nesting limit, in either epoch.
my ($epoch_after, $too_deep_after) = split /\|/,
  $node->safe_psql('postgres', 'SELECT epoch, skipped_too_deep FROM pg_qprof.status');
is($too_deep_before, 0, 'skipped_too_deep 0 before the restart');
is($too_deep_after, 0, 'skipped_too_deep 0 after it');
isnt($epoch_after, $epoch_before, 'the restart began a new epoch');

# The last samples, then everything the capture holds.
my ($rc, $out, $err) = run_qprof('collect', '--dsn', $node->connstr('postgres'),
    '--out', $dir, '--once', '--bpf', 'off');
is($rc, 0, 'a last collector run') or diag $err;
my $head = $node->safe_psql('postgres', 'SELECT head_seq FROM pg_qprof.status');

my ($check_rc, $check_out, $total) = check_capture($dir);
is($check_rc, 0, 'every file passes dump --check') or diag $check_out;
unlike($check_out, qr/damage at/, 'no damage');

# Sequence numbers: a bit per seq and epoch (millions of samples: the lines
# are matched, not decoded).
my (%seen, %twice, %max_seq, %samples, @losses, @changes);
my $json = JSON::PP->new;
open my $dump, '-|', qprof_path(), 'dump', $dir or die "qprof dump: $!";
while (my $line = <$dump>)
{
    if ($line =~ /^\{"kind":"sample","epoch":(\d+),"seq":(\d+)/)
    {
        my ($epoch, $seq) = ($1, $2);
        $seen{$epoch} //= '';
        if (vec($seen{$epoch}, $seq, 1)) { $twice{$epoch}++ }
        vec($seen{$epoch}, $seq, 1) = 1;
        $samples{$epoch}++;
        $max_seq{$epoch} = $seq if $seq > ($max_seq{$epoch} // 0);
    }
    elsif ($line =~ /^\{"kind":"loss"/) { push @losses, $json->decode($line) }
    elsif ($line =~ /^\{"kind":"epoch_change"/) { push @changes, $json->decode($line) }
}
close $dump;
is($? >> 8, 0, 'qprof dump reads it all');

is(scalar(keys %samples), 2, 'samples of two epochs')
  or diag explain [ keys %samples ];
is(scalar(@changes), 1, 'one epoch change recorded');
my $samples_total = 0;
$samples_total += $_ for values %samples;
is($samples_total, $total, "dump and --check agree ($samples_total samples)");
is(scalar(keys %twice), 0, 'no (epoch, seq) captured twice')
  or diag explain \%twice;

# Every gap within an epoch is one loss record of exactly its size; an
# epoch left behind ends with an EPOCH_CHANGED loss after its last sample.
for my $epoch (sort keys %samples)
{
    my %loss_after;
    my ($counted, $tail) = (0, undef);
    for my $loss (grep { ($_->{epoch} // 0) == $epoch } @losses)
    {
        if (($loss->{reason} // '') eq 'EPOCH_CHANGED')
        {
            $tail = $loss;
            next;
        }
        my ($after, $count) = ($loss->{after_seq} // 0, $loss->{count} // 0);
        $loss_after{$after} = $count;
        $counted += $count;
    }
    my ($missing, $uncounted, $overlap) = (0, 0, 0);
    my $seq = 1;
    while ($seq <= $max_seq{$epoch})
    {
        if (vec($seen{$epoch}, $seq, 1)) { $seq++; next }
        my $gap_start = $seq;
        $seq++ while $seq <= $max_seq{$epoch} && !vec($seen{$epoch}, $seq, 1);
        my $gap = $seq - $gap_start;
        $missing += $gap;
        my $loss = $loss_after{ $gap_start - 1 };
        $uncounted += $gap unless defined $loss && $loss == $gap;
        delete $loss_after{ $gap_start - 1 };
    }
    $overlap += $_ for values %loss_after;    # losses over captured samples
    note sprintf "epoch %s: %d samples up to seq %d, %d lost and counted",
      $epoch, $samples{$epoch}, $max_seq{$epoch}, $counted;
    is($uncounted, 0, "epoch $epoch: every missing seq is counted lost ($missing missing)");
    is($overlap, 0, "epoch $epoch: no loss record covers a captured sample");
    if ($epoch eq $epoch_after)
    {
        is($max_seq{$epoch}, $head, "epoch $epoch: captured up to head_seq");
    }
    else
    {
        # What the ring held after the collector's last read is gone with
        # the restart: the capture says where it stopped, and counts what
        # it knew was there.
        my ($change) = grep { ($_->{previous_epoch} // 0) == $epoch } @changes;
        is($change->{previous_last_seq} // 0, $max_seq{$epoch},
            "epoch $epoch: the epoch change records where its capture ended");
        ok(!$tail || ($tail->{after_seq} // 0) == $max_seq{$epoch},
            "epoch $epoch: an EPOCH_CHANGED loss begins after its last sample")
          or diag explain $tail;
        note sprintf "epoch %s: head_seq was %d just before the restart, "
          . "the capture ends at %d, the EPOCH_CHANGED loss counts %s",
          $epoch, $head_before, $max_seq{$epoch},
          $tail ? $tail->{count} // 0 : 'nothing (none recorded)';
    }
}

# No backend died but by the restart asked for.
my $log = slurp_file($node->logfile);
my @crashes = $log =~ /^.*(?:terminated by signal|terminated by exception|PANIC:|TRAP:).*$/mg;
is(scalar @crashes, 0, 'no backend crash in the server log') or diag join "\n", @crashes;
is(scalar(() = $log =~ /received immediate shutdown request/g), 1,
    'one immediate shutdown, the one asked for');

note sprintf "soak took %.0f s", time - $started;
$node->stop;
done_testing();
