# Waits without BPF (issue 29): the extension's wait sampler
# (pg_qprof.wait_sample_interval) looks at every backend's wait event every
# 10 ms and each execution's sample carries the ticks per wait event class.
# Two sessions contend for one row: the waiting SELECT ... FOR UPDATE shows
# about the 0.5 s the other held it as Lock (>= 0.45 s less 2 intervals,
# <= its own time + 1 interval), the holder's own FOR UPDATE about nothing,
# its pg_sleep as Timeout and not Lock; in SQL, in the capture (qprof dump, the Python
# decoder) and in qprof report, which names the waiter blocked on locks with
# the lock_wait insight, saying the waits are sampled and how often, and
# shows the Lock share of its statement and route. With the interval at 0
# no sample carries sampled waits. Bad settings are refused clearly.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../collector";
use IPC::Run;
use JSON::PP;
use List::Util qw(first sum0);
use PostgreSQL::Test::Utils;
use Test::More;
use QprofCollectorTest;
use QprofReportTest;

my $interval_ms = 10;
my $node = new_qprof_node('sampled_waits',
    "pg_qprof.wait_sample_interval = ${interval_ms}ms\n");
$node->safe_psql('postgres', q{
    CREATE TABLE accounts (id int PRIMARY KEY, balance int);
    INSERT INTO accounts VALUES (1, 100);
});

# the worker runs and publishes its interval: the samples say so (each
# poll sees the samples of the polls before it)
$node->poll_query_until('postgres', q{
    SELECT count(*) > 0 FROM pg_qprof.samples
     WHERE wait_sample_interval_ms = 10}, 't')
  or die 'the wait sampler does not run';

my $mark = $node->safe_psql('postgres', 'SELECT head_seq FROM pg_qprof.status');

# The holder locks the row, waits until the waiter queues behind it (pg_locks
# is read live), then holds it 0.5 s more and commits.
my $holder = $node->background_psql('postgres', on_error_stop => 1);
my $waiter = $node->background_psql('postgres', on_error_stop => 1);
$holder->query_safe(q{SET application_name = 'holder'});
$waiter->query_safe(q{SET application_name = 'waiter'});
$holder->query_safe('BEGIN');
$holder->query_safe('SELECT id FROM accounts WHERE id = 1 FOR UPDATE');
$waiter->query_until(qr/queued/, "\\echo queued\n"
      . "SELECT id, balance FROM accounts WHERE id = 1 FOR UPDATE "
      . "/*route='%2Fcheckout'*/;\n");
$holder->query_safe(q{
    DO $$ BEGIN
      WHILE NOT EXISTS (SELECT 1 FROM pg_locks WHERE NOT granted) LOOP
        PERFORM pg_sleep(0.001);
      END LOOP;
    END $$;
    SELECT pg_sleep(0.5);
    COMMIT;});
$waiter->query_safe('SELECT 1');
$holder->quit;
$waiter->quit;

# the sampled waits of an execution, in ms per class
sub waits_of
{
    my ($where) = @_;
    my $row = $node->safe_psql('postgres', qq{
        SELECT exec_time_ms, wait_sample_interval_ms, coalesce(sampled_waits::text, 'null')
          FROM pg_qprof.samples WHERE seq > $mark AND $where});
    my ($exec_ms, $interval, $json) = split /\|/, $row;
    return ($exec_ms, $interval, JSON::PP->new->decode($json));
}

my ($exec_ms, $interval, $w) = waits_of(
    q{application_name = 'waiter' AND query LIKE '%balance%FOR UPDATE%'});
is($interval, $interval_ms, 'the waiter\'s sample carries the interval');
my $lock = $w->{Lock} // 0;
# A sweep that comes late on a loaded machine credits the intervals it
# missed to what it sees then: up to 2 intervals of the wait may go to the
# state after it. The waiter waited as long as the holder kept the row
# after it queued: 0.5 s and, under load, more, so the bound above is the
# waiter's own time.
my $slack_ms = 2 * $interval_ms;
cmp_ok($lock, '>=', 450 - $slack_ms,
    "the waiter waited on Lock for >= 0.45 s, less 2 intervals ($lock ms)");
cmp_ok($lock, '<=', $exec_ms + $interval_ms, "within its time ($exec_ms ms)");
cmp_ok(sum0(map { $w->{$_} } grep { $_ ne 'Lock' } keys %$w), '<=',
    2 * $interval_ms, 'its other waits are small')
  or diag explain $w;

(undef, undef, $w) = waits_of(
    q{application_name = 'holder' AND query LIKE 'SELECT id FROM accounts%FOR UPDATE'});
cmp_ok(sum0(values %$w), '<=', $interval_ms,
    'the holder\'s FOR UPDATE waited about nothing')
  or diag explain $w;

(undef, undef, $w) = waits_of(
    q{application_name = 'holder' AND query LIKE 'SELECT pg_sleep%'});
cmp_ok($w->{Timeout} // 0, '>=', 450 - $slack_ms, 'its pg_sleep(0.5) is Timeout');
ok(!exists $w->{Lock}, 'not Lock') or diag explain $w;

# the capture, without BPF
my $dir = PostgreSQL::Test::Utils::tempdir . '/cap';
capture_once($node, $dir);
my @samples = dump_samples($dir);
my $dumped = first {
    ($_->{tags}{route} // '') eq '/checkout'
} @samples;
ok($dumped && $dumped->{sampled_waits}, 'qprof dump shows the sampled waits')
  or diag explain $dumped;
my $dumped_lock = first { $_->{class} eq 'Lock' }
  @{ $dumped->{sampled_waits}{classes} // [] };
is($dumped->{sampled_waits}{interval_us}, $interval_ms * 1000,
    'with the interval in µs');
cmp_ok($dumped_lock->{ns} // 0, '==', $lock * 1e6, 'and the Lock time of SQL');
is($dumped_lock->{ns}, $dumped_lock->{ticks} * $interval_ms * 1e6,
    'which is its ticks times the interval');
ok(!exists $dumped->{io}, 'and no kernel facts (BPF off)');

my $repo = QprofCollectorTest::repo_dir();
my ($out, $err) = ('', '');
IPC::Run::run([ 'python3', "$repo/tests/collector/decode_capture.py",
        '--waits', "$repo/collector/capture", $dir ],
    '>', \$out, '2>', \$err)
  or die "decode_capture.py failed: $err";
my @decoded = map { JSON::PP->new->decode($_) } grep { /^\{/ } split /\n/, $out;
ok((grep {
            $_->{sampled}
              && ($_->{wait_classes}{WAIT_CLASS_LOCK}{ns} // 0) ==
              $dumped_lock->{ns}
        } @decoded),
    'the Python decoder reads the same Lock time from the embedded schema');

# qprof report: the waiter is blocked, said from the sampled waits
my ($rc, $doc, $rerr) = report_json($dir);
is($rc, 0, 'report --json succeeds') or diag $rerr;
my @errors = schema_errors(report_schema(), $doc);
is(scalar @errors, 0, 'the document validates against docs/report-json.md')
  or diag join("\n", @errors);
my $stmt = first { $_->{text} =~ /balance.*FOR UPDATE/ } @{ $doc->{statements} };
my $waits = $stmt->{sampled_waits};
ok($waits, 'the waiter\'s statement has its sampled waits')
  or diag explain [ map { [ $_->{text}, $_->{sampled_waits} ] } @{ $doc->{statements} } ];
$waits //= {};
is($waits->{sampled_executions}, $waits->{executions}, 'all of them sampled');
is($waits->{sample_interval_ms}, $interval_ms, 'at the interval');
my $lock_ms = sum0(map { $_->{ms} } grep { $_->{class} eq 'Lock' } @{ $waits->{classes} });
cmp_ok($lock_ms, '>=', $lock, "its Lock wait in the report ($lock_ms ms)");
# planning (a new session's catalog reads) is in the elapsed time too
cmp_ok($lock_ms / $waits->{elapsed_ms}, '>=', 0.5,
    'Lock is most of its elapsed time')
  or diag explain $waits;
my ($routes) = grep { $_->{dimension} eq 'route' } @{ $doc->{attribution}{dimensions} };
my $route = first { $_->{name} eq '/checkout' } @{ $routes->{groups} // [] };
my $route_waits = $route->{sampled_waits} // { classes => [], elapsed_ms => 1 };
cmp_ok(sum0(map { $_->{ms} } grep { $_->{class} eq 'Lock' } @{ $route_waits->{classes} })
      / $route_waits->{elapsed_ms}, '>=', 0.5,
    'so is it of its route\'s')
  or diag explain $routes;
my $insight = first { $_->{kind} eq 'lock_wait' } @{ $doc->{insights} };
ok($insight, 'the lock_wait insight fires from the sampled waits')
  or diag explain [ map { "$_->{kind}: $_->{title}" } @{ $doc->{insights} } ];
like($insight->{title}, qr/^Blocked on locks: .*sampled every 10 ms, no BPF/,
    'saying blocked, sampled, and at what resolution');
is($insight->{route}, '/checkout', 'naming the route');
is($insight->{facts}{sampled}, 'yes', 'its facts say sampled');
is($insight->{facts}{sample_interval_ms}, $interval_ms, 'and the interval');

($rc, $out, $err) = run_qprof('report', $dir);
is($rc, 0, 'the terminal report succeeds');
like($out, qr/Where the time went \(wait event classes sampled every 10 ms/,
    'its waits section says sampled');
like($out, qr/Blocked on locks/, 'and names the waiter blocked');
my @wide = grep { length > 100 } split /\n/, $out;
is(scalar @wide, 0, 'within 100 columns') or diag join("\n", @wide);

# The page, in a real browser: the waits section from the sampled waits.
my $chromium = first { -x $_ } qw(/usr/bin/chromium /usr/bin/chromium-browser);
SKIP: {
    skip 'no chromium (tests/deps/report.txt)', 9 unless $chromium;
    my $tmp  = PostgreSQL::Test::Utils::tempdir;
    my $page = "$tmp/report.html";
    ($rc) = run_qprof('report', $dir, '--html', $page);
    is($rc, 0, 'report --html succeeds');
    my ($status, $seen) = waits_page_probe($page, { waiter => $stmt->{key} });
    is($status, 0, 'the browser opened the page');
    my $dom  = $seen->{probe} // {};
    is_deeply($seen->{errors}, [], 'no console error');
    is_deeply($dom->{draw_errors}, [], 'every part drawn');
    like($dom->{intro} // '', qr/sampled every 10 ms .*no BPF/,
        'the page says the waits are sampled, and how often');
    my $row = $dom->{tables}{'waits-statements'}{by_key}{ $stmt->{key} } // {};
    ok(abs(($row->{'waits.lock'} // 0) - $lock_ms) < 0.01,
        "the waiter's row: its Lock wait ($lock_ms ms)") or diag explain $row;
    my $route_lock = sum0(map { $_->{ms} } grep { $_->{class} eq 'Lock' } @{ $route_waits->{classes} });
    my $route_row = $dom->{tables}{'waits-routes'}{by_key}{'/checkout'} // {};
    ok(abs(($route_row->{'waits.lock'} // 0) - $route_lock) < 0.01,
        "route /checkout: its Lock wait ($route_lock ms)") or diag explain $route_row;
    ok(abs(($dom->{waiter_detail}{parts}{lock} // 0) - $lock_ms) < 0.01,
        "the waiter's detail draws its Lock wait") or diag explain $dom->{waiter_detail};
    cmp_ok($dom->{all}{parts}{lock} // 0, '>=', $lock_ms - 0.01, 'and so does the bar of all executions');
}

# interval 0: nothing sampled, nothing reported
$node->safe_psql('postgres', q{
    ALTER SYSTEM SET pg_qprof.wait_sample_interval = 0;
    SELECT pg_reload_conf();});
$node->poll_query_until('postgres', q{
    SELECT pg_sleep(0.02), wait_sample_interval_ms IS NULL
      FROM pg_qprof.samples ORDER BY seq DESC LIMIT 1}, "|t")
  or die 'the sampler does not stop';
$mark = $node->safe_psql('postgres', 'SELECT head_seq FROM pg_qprof.status');
$node->safe_psql('postgres', 'SELECT pg_sleep(0.2)');
is( $node->safe_psql('postgres', qq{
        SELECT count(*), count(wait_sample_interval_ms), count(sampled_waits)
          FROM pg_qprof.samples WHERE seq > $mark AND query LIKE 'SELECT pg_sleep%'}),
    '1|0|0', 'with the interval at 0 the sample carries no sampled waits');
my $dir0 = PostgreSQL::Test::Utils::tempdir . '/cap0';
capture_once($node, $dir0);
my $last = (dump_samples($dir0))[-1];
ok(!exists $last->{sampled_waits}, 'nor does the capture');

# bad settings
my ($ret, $stdout, $stderr) = $node->psql('postgres',
    'ALTER SYSTEM SET pg_qprof.wait_sample_interval = -1');
like($stderr, qr/-1 ms is outside the valid range for parameter "pg_qprof.wait_sample_interval" \(0 \.\. 1000\)/,
    'a negative interval is refused with the range');
($ret, $stdout, $stderr) = $node->psql('postgres',
    q{ALTER SYSTEM SET pg_qprof.wait_sample_interval = 'often'});
like($stderr, qr/invalid value for parameter "pg_qprof.wait_sample_interval"/,
    'a word is refused');
($ret, $stdout, $stderr) = $node->psql('postgres',
    'SET pg_qprof.wait_sample_interval = 5');
like($stderr, qr/parameter "pg_qprof.wait_sample_interval" cannot be changed now/,
    'a session cannot change it');

$node->stop;
done_testing();
