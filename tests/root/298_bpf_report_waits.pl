# Where the time went, end to end (issue 29): a real capture through the
# collector with BPF, turned into qprof report. Two sessions contend for
# one row (SELECT ... FOR UPDATE, held 0.5 s by the other), then 3 busy
# sessions a CPU run a CPU-bound statement at once. The report shows the
# waiting statement's Lock:transactionid time, the busy statement's run
# queue time, and its insights say the server needs more CPU or less work
# (naming the busy statement) and that the FOR UPDATE waits on locks the
# other session's FOR UPDATE may hold.
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
my $node  = bpf_cluster('bpf_report_waits');
attach_bpf($node)->detach;    # skips where BPF cannot be loaded
my $dsn = sprintf 'host=%s port=%d user=postgres dbname=postgres',
  $node->dir, $node->port;
$node->psql('CREATE TABLE waits_row (id int PRIMARY KEY, v int); '
      . 'INSERT INTO waits_row VALUES (1, 0)');
chomp(my $cpus = `nproc`);
my $sessions = 3 * $cpus;

my $capture = File::Temp::tempdir(CLEANUP => 1);
my ($collector, $collector_err) =
  start_collector($qprof, $dsn, $capture, '--bpf', 'on');

# The lock: the holder locks the row, waits until the waiter waits for it,
# then keeps it 0.5 s more.
my $holder = $node->background_psql(
    'BEGIN; SELECT id FROM waits_row WHERE id = 1 FOR UPDATE '
      . "/*route='%2Fpay'*/; "
      . 'DO $$ BEGIN WHILE NOT EXISTS (SELECT FROM pg_locks '
      . "WHERE locktype = 'transactionid' AND NOT granted) LOOP "
      . 'PERFORM pg_sleep(0.005); END LOOP; END $$; '
      . 'SELECT pg_sleep(0.5); COMMIT;',
    app => 'waits_holder');
my $deadline = time + 30;
until ($node->psql("SELECT count(*) FROM pg_stat_activity "
          . "WHERE application_name = 'waits_holder' "
          . "AND wait_event = 'PgSleep'") eq '1') {
    die 'the holder never slept' if time > $deadline;
    Time::HiRes::sleep(0.01);
}
$node->psql("SELECT v FROM waits_row WHERE id = 1 FOR UPDATE /*route='%2Fcheckout'*/",
    app => 'waits_locked');
$node->finish_psql($holder);

# The CPU: more busy sessions than CPUs.
my @runs = map {
    $node->background_psql(
        "SELECT sum(g) FROM generate_series(1, 8000000) g /*route='%2Freport'*/",
        app => "waits_busy_$_")
} 1 .. $sessions;
$node->finish_psql($_) for @runs;
sleep 3;    # a few polls of the collector
$collector->signal('INT');
ok($collector->finish, 'collector --bpf on ran and stopped cleanly')
  or diag $$collector_err;

my ($out, $err) = ('', '');
IPC::Run::run([ $qprof, 'report', '--json', $capture ], '>', \$out, '2>', \$err)
  or BAIL_OUT("qprof report --json: $err");
my $doc = JSON::PP->new->utf8->decode($out);
my %by_text;
for my $s (@{ $doc->{statements} }) {
    $by_text{waiter} = $s if $s->{text} =~ /SELECT v FROM waits_row .*FOR UPDATE/;
    $by_text{holder} = $s if $s->{text} =~ /SELECT id FROM waits_row .*FOR UPDATE/;
    $by_text{busy}   = $s if $s->{text} =~ /generate_series/;
}
my ($waiter, $holder_st, $busy) = @by_text{qw(waiter holder busy)};
ok($waiter && $holder_st && $busy, 'the three statements are in the report')
  or BAIL_OUT('statements missing: ' . join(', ', map { $_->{text} } @{ $doc->{statements} }));

my $kernel = $doc->{summary}{kernel};
cmp_ok($kernel->{wait_executions}, '>', 0, 'executions have the wait split');
diag sprintf 'wait split on %.1f%% of %d executions', 100 * $kernel->{wait_share},
  $doc->{summary}{executions};

sub event_ms {
    my ($w, $name) = @_;
    my ($e) = grep { $_->{name} eq $name } @{ $w->{events} // [] };
    return $e ? $e->{ms} : 0;
}

my $w = $waiter->{kernel} && $waiter->{kernel}{waits};
ok($w, 'the waiting statement has its split') or BAIL_OUT('no split');
diag sprintf 'waiter: %.1f ms elapsed, on CPU %.1f, run queue %.1f, events %s',
  $w->{elapsed_ms}, $w->{oncpu_ms}, $w->{runqueue_ms},
  join(', ', map { "$_->{name} $_->{ms} ms ($_->{count})" } @{ $w->{events} });
cmp_ok(event_ms($w, 'Lock:transactionid') + event_ms($w, 'Lock:tuple'), '>=', 450,
    'the report shows 450 ms or more of Lock:transactionid for the FOR UPDATE');

my $b = $busy->{kernel} && $busy->{kernel}{waits};
ok($b, 'the busy statement has its split') or BAIL_OUT('no split');
diag sprintf 'busy: %.0f ms elapsed in %d executions, on CPU %.0f, run queue %.0f (%d waits)',
  $b->{elapsed_ms}, $b->{executions}, $b->{oncpu_ms}, $b->{runqueue_ms}, $b->{runqueue_waits};
cmp_ok($b->{runqueue_ms}, '>=', 0.4 * $b->{elapsed_ms},
    'and a large share of the busy statement\'s time in the run queue');
my ($report_route) = grep { $_->{dimension} eq 'route' } @{ $doc->{attribution}{dimensions} };
my ($report_group) = grep { $_->{name} eq '/report' } @{ $report_route->{groups} };
cmp_ok($report_group->{kernel}{waits}{runqueue_ms}, '>=', $b->{runqueue_ms} - 0.01,
    'the route /report shows it too');
my ($checkout) = grep { $_->{name} eq '/checkout' } @{ $report_route->{groups} };
cmp_ok(event_ms($checkout->{kernel}{waits}, 'Lock:transactionid')
      + event_ms($checkout->{kernel}{waits}, 'Lock:tuple'), '>=', 450,
    'and the route /checkout its lock wait');

my %insight;
$insight{ $_->{kind} } //= $_ for @{ $doc->{insights} };
diag join("\n", map { "insight $_->{kind}: $_->{title}" } @{ $doc->{insights} });
my $cpu = $insight{cpu_saturation};
ok($cpu, 'the CPU insight fires');
like($cpu && $cpu->{title}, qr/needs more CPU or less work/, 'the server needs more CPU or less work');
is($cpu && $cpu->{statement}, $busy->{key}, 'naming the busy statement');
my ($lock) = grep { $_->{kind} eq 'lock_wait' && $_->{statement} eq $waiter->{key} }
  @{ $doc->{insights} };
ok($lock, 'the lock insight fires for the FOR UPDATE');
like($lock && $lock->{title}, qr/Lock:(transactionid|tuple)/, 'naming the lock event');
ok($lock && (grep { $_ eq $holder_st->{key} } @{ $lock->{related_statements} }),
    'and the other session\'s FOR UPDATE as a possible holder')
  or diag explain $lock;

IPC::Run::run([ $qprof, 'report', $capture ], '>', \$out, '2>', \$err)
  or BAIL_OUT("qprof report: $err");
my @long = grep { length($_) > 100 } split /\n/, $out;
is(scalar @long, 0, 'the terminal report fits 100 columns') or diag join("\n", @long);
my ($waits_text) = $out =~ /^(Where the time went.*)\z/ms;
like($waits_text // '', qr/^\Q$waiter->{key}\E .*Lock:(transactionid|tuple)/m,
    'its table names the lock event on the FOR UPDATE\'s row');

done_testing();
