# qprof collect --bpf-map-entries N sets how many executions with kernel
# events the BPF map holds between two reads. Too small a map loses events,
# and the collector says so, on stderr and in the capture, naming the
# option; a map large enough for the same load loses nothing.
use strict;
use warnings;
use File::Basename qw(dirname);
use File::Temp ();
use lib dirname(__FILE__), dirname(__FILE__) . '/../bpf';
use IPC::Run ();
use JSON::PP;
use Test::More;
use BpfTest;

my $qprof = qprof_collector();
my $node = bpf_cluster('map_entries', max_connections => 100);
my $dsn = 'host=' . $node->dir . ' port=' . $node->port
  . ' user=postgres dbname=postgres';
my $out_dir = File::Temp::tempdir('qprof_map_entries_XXXXXX',
    DIR => '/tmp', CLEANUP => 1);

my ($rc, $err) = (0, '');
IPC::Run::run([ $qprof, 'collect', '--dsn', $dsn, '--out', "$out_dir/probe",
        '--once', '--bpf', 'on' ], '>', \my $probe_out, '2>', \$err);
if ($? != 0 && $err =~ /BPF I\/O attribution unavailable: (.*)/) {
    plan skip_all => "BPF cannot be loaded here: $1";
}

# 80 sessions, each running one statement that sleeps 60 times 0.1 s: 80
# executions at once, each with an off-CPU period every 0.1 s. They start
# together: each session first waits for an advisory lock the test holds
# until all 80 wait (a loaded machine starts 80 psql processes slowly). The
# collector drains the map when it reads samples, and once a second; none
# of these ends for seconds, and with --poll-seconds 1 the collector reads
# nothing new meanwhile: about a second of wake-ups of all 80 executions
# goes into the map between two drains.
my $sessions = 80;
my $sleeps = 60;
my $barrier = 262;

# Waits up to 2 minutes for `sql` to return `want`.
sub poll_until {
    my ($sql, $want) = @_;
    for (1 .. 1200) {
        return 1 if $node->psql($sql) eq $want;
        select(undef, undef, undef, 0.1);
    }
    die "timed out waiting for $want from: $sql";
}

sub run_load {
    my ($name, $map_entries) = @_;
    my ($run, $stderr) = start_collector($qprof, $dsn, "$out_dir/$name",
        '--bpf', 'on', '--bpf-map-entries', $map_entries,
        '--poll-seconds', '1', '--frame-seconds', '0.2');
    my $holder = $node->background_psql(
        "SELECT pg_advisory_lock($barrier); SELECT pg_sleep(600)",
        app => 'barrier_holder');
    poll_until("SELECT count(*) FROM pg_locks WHERE locktype = "
          . "'advisory' AND objid = $barrier AND granted", 1);
    my @load = map {
        $node->background_psql(
            "SELECT pg_advisory_lock_shared($barrier); "
              . "SELECT count(pg_sleep(0.1)) FROM generate_series(1, $sleeps)",
            app => "$name$_")
    } 1 .. $sessions;
    poll_until("SELECT count(*) FROM pg_locks WHERE locktype = "
          . "'advisory' AND objid = $barrier AND NOT granted", $sessions);
    # its session's end releases the lock: all 80 go on at once
    $node->psql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
          . "WHERE application_name = 'barrier_holder'");
    eval { $node->finish_psql($holder) };
    $node->finish_psql($_) for @load;
    sleep 2;    # read, and a housekeeping pass
    $run->signal('TERM');
    $run->finish;
    is(($run->full_results)[0], 0, "$name: the collector stops cleanly")
      or diag $$stderr;
    my ($out, $dump_err) = ('', '');
    IPC::Run::run([ $qprof, 'dump', "$out_dir/$name" ], '>', \$out,
        '2>', \$dump_err) or die "qprof dump: $dump_err";
    my @records = map { decode_json($_) } split /\n/, $out;
    # the sleeping statement's, not the barrier's
    my %sleep_queryid = map { ($_->{queryid} => 1) }
      grep { $_->{kind} eq 'query_text' && ($_->{text} // '') =~ /pg_sleep/ }
      @records;
    my @samples = grep {
        $_->{kind} eq 'sample' && ($_->{application_name} // '') =~ /^$name\d/
          && $_->{cmd} eq 'CMD_SELECT' && $sleep_queryid{ $_->{queryid} // 0 }
    } @records;
    my @notices = map { $_->{text} // "" }
      grep { $_->{kind} eq 'notice' } @records;
    is(scalar @samples, $sessions, "$name: every session's sample captured");
    return ($$stderr, \@samples, \@notices);
}

# The whole sleep of a sample, less 5% for the wake-ups' own timing.
my $full_sleep_ns = 0.95 * $sleeps * 0.1e9;
sub whole { ($_[0]{io}{offcpu_other_ns} // 0) >= $full_sleep_ns }

my ($small_err, $small, $small_notices) = run_load('small', 64);
like($small_err,
    qr/kernel events lost: the entry map was full \(64 executions .*--bpf-map-entries/,
    'a map of 64 entries: the collector says events were lost, and how to '
      . 'make room') or diag $small_err;
is(scalar(() = $small_err =~ /entry map was full/g), 1,
    'said once on stderr (within a minute)');
ok((grep { /entry map was full \(64 executions/ } @$small_notices),
    'and recorded in the capture') or diag explain $small_notices;
my $undercounted = grep { !whole($_) } @$small;
cmp_ok($undercounted, '>=', 10,
    "samples of the lost events undercount their off-CPU time ($undercounted of $sessions)");

my ($large_err, $large, $large_notices) = run_load('large', 4096);
my @large_off = sort { $a <=> $b } map { $_->{io}{offcpu_other_ns} // 0 } @$large;
diag sprintf 'map of 4096: off-CPU of the %d samples from %.3f s to %.3f s '
  . '(median %.3f s), for %.1f s of sleep', scalar @large_off, $large_off[0] / 1e9,
  $large_off[-1] / 1e9, $large_off[@large_off / 2] / 1e9, $sleeps * 0.1;
unlike($large_err, qr/kernel events lost/,
    'a map of 4096 entries: nothing lost') or diag $large_err;
is(scalar(grep { /lost/ } @$large_notices), 0, 'no loss recorded');
is(scalar(grep { whole($_) } @$large), $sessions,
    'every sample has its whole sleep off the CPU')
  or diag explain [ map { $_->{io} } grep { !whole($_) } @$large ];

done_testing();
