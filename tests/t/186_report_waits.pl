# Where the time went, in qprof report (issue 29): a capture with known
# waits, written with the collector's own writer and codec
# (tests/report/wait_capture.cpp: a row lock held 0.5 s in 4 rounds, the
# last on a loaded machine whose COMMIT is written after the waiter, 6
# CPU-bound statements at once with 2/3 of their time in the run queue,
# inserts waiting on LWLock:WALWrite, one execution without kernel facts).
# The JSON document carries each statement's and route's split, exact to
# the capture's numbers, and validates against docs/report-json.md; the
# insights say the server needs more CPU (naming the statement that burns
# it), that the FOR UPDATE waits on Lock:transactionid (naming the UPDATE
# that holds the row) and on what the inserts wait; the terminal report
# shows the table within 100 columns; the HTML page draws the section with
# the same numbers (headless Chromium).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../collector";
use File::Path qw(make_path);
use IPC::Run;
use JSON::PP;
use List::Util qw(first sum0);
use PostgreSQL::Test::Utils;
use Test::More;
use QprofCollectorTest;
use QprofReportTest;

my $tmp  = PostgreSQL::Test::Utils::tempdir;
my ($out, $err) = ('', '');
my $fixture = build_capture_fixture('wait_capture', $tmp);
my $dir = "$tmp/cap";
make_path($dir);
IPC::Run::run([ $fixture, '--out', $dir ], '>', \$out, '2>', \$err)
  or BAIL_OUT("wait_capture failed: $err");
like($out, qr/43 samples/, 'the capture holds the 43 executions');

my ($rc, $json_text) = run_qprof('report', '--json', $dir);
is($rc, 0, 'report --json succeeds');
my $doc = JSON::PP->new->utf8->decode($json_text);
my @errors = schema_errors(report_schema(), $doc);
is(scalar @errors, 0, 'the document validates against docs/report-json.md')
  or diag join("\n", @errors[ 0 .. ($#errors < 20 ? $#errors : 19) ]);

# Numbers within the JSON's rounding (6 significant digits).
sub near
{
    my ($got, $want, $name) = @_;
    my $ok = defined $got && abs($got - $want) <= 1e-5 * abs($want) + 1e-6;
    ok($ok, "$name: $want") or diag 'got ' . ($got // 'undef');
}

sub class_ms
{
    my ($w, $class) = @_;
    return sum0(map { $_->{ms} } grep { $_->{class} eq $class } @{ $w->{classes} });
}

my $kernel = $doc->{summary}{kernel};
is($kernel->{wait_executions}, 42, 'the wait split covers 42 executions');
near($kernel->{wait_share}, 42 / 43, 'of the 43');
my $all = $kernel->{waits};
near($all->{elapsed_ms}, 10191, 'their elapsed time');
near($all->{runqueue_ms}, 3964, 'all: run queue');
near(class_ms($all, 'Lock'), 1956, 'all: Lock class');
near($all->{unaccounted_ms}, 0, 'all: the parts make the elapsed time');
near($all->{oncpu_ms} + $all->{runqueue_ms} + sum0(map { $_->{ms} } @{ $all->{classes} })
      + $all->{no_wait_event_ms} + $all->{unaccounted_ms},
    $all->{elapsed_ms}, 'all: CPU + run queue + classes + no event + unaccounted');
near(sum0(map { $_->{ms} } @{ $all->{events} }) + $all->{other_events_ms},
    sum0(map { $_->{ms} } @{ $all->{classes} }), 'all: events and other events make the classes');

my %by_text = map { ($_->{text} => $_) } @{ $doc->{statements} };
my ($waiter) = grep { /FOR UPDATE/ } keys %by_text;
my ($busy)   = grep { /generate_series/ } keys %by_text;
my ($update) = grep { /^UPDATE accounts/ } keys %by_text;
my ($insert) = grep { /^INSERT INTO events/ } keys %by_text;
my ($sleep)  = grep { /pg_sleep/ } keys %by_text;
($waiter, $busy, $update, $insert, $sleep) =
  map { $by_text{ $_ // '' } } ($waiter, $busy, $update, $insert, $sleep);
ok($waiter && $busy && $update && $insert && $sleep, 'the statements are listed')
  or BAIL_OUT('statements missing');

my $w = $waiter->{kernel}{waits};
near(class_ms($w, 'Lock'), 1956, 'the FOR UPDATE: Lock class');
is($w->{events}[0]{name}, 'Lock:transactionid', 'its largest event is Lock:transactionid');
near($w->{events}[0]{ms}, 1956, 'Lock:transactionid time');
is($w->{events}[0]{count}, 4, 'in 4 waits');
near($w->{runqueue_ms}, 4, 'its run queue time');
$w = $busy->{kernel}{waits};
near($w->{runqueue_ms}, 3960, 'the CPU-bound statement: run queue');
near($w->{oncpu_ms}, 1980, 'the CPU-bound statement: on CPU');
is($w->{runqueue_waits}, 396, 'the CPU-bound statement: run queue waits');
near($w->{no_wait_event_ms}, 60, 'the CPU-bound statement: no wait event');
$w = $insert->{kernel}{waits};
near(class_ms($w, 'LWLock'), 80, 'the insert: LWLock class');
near(class_ms($w, 'IO'), 20, 'the insert: IO class');
is($w->{events}[0]{name}, 'LWLock:WALWrite', 'the insert: LWLock:WALWrite first');
is($w->{events}[0]{count}, 40, 'in 40 waits');

my ($routes) = grep { $_->{dimension} eq 'route' } @{ $doc->{attribution}{dimensions} };
my %route = map { ($_->{name} => $_) } @{ $routes->{groups} };
near(class_ms($route{'/checkout'}{kernel}{waits}, 'Lock'), 1956, 'route /checkout: Lock class');
near($route{'/report'}{kernel}{waits}{runqueue_ms}, 3960, 'route /report: run queue');
is($route{'/health'}{kernel}, undef, 'route /health: no kernel facts, no split');

is($doc->{rankings}{runqueue}[0], $busy->{key}, 'ranked first by run queue time');
is($doc->{rankings}{lock_wait}[0], $waiter->{key}, 'ranked first by lock waits');

# The insights, ranked by the database time each explains.
my @insights = @{ $doc->{insights} };
my %insight = map { ($_->{kind} => $_) } @insights;
is($insights[0]{kind}, 'cpu_saturation', 'the run queue is the first insight');
my $cpu = $insight{cpu_saturation};
like($cpu->{title}, qr/needs more CPU or less work/, 'which says the server needs more CPU or less work');
is($cpu->{statement}, $busy->{key}, 'naming the statement that burns the most CPU');
is($cpu->{related_statements}[0], $busy->{key}, 'first among the CPU burners');
near($cpu->{db_time_ms}, 3964 * 43 / 42, 'explaining the run queue time, scaled to every execution');
my $lock = $insight{lock_wait};
ok($lock, 'a lock wait insight');
is($lock->{statement}, $waiter->{key}, 'for the FOR UPDATE');
like($lock->{title}, qr/Lock:transactionid/, 'naming Lock:transactionid');
is_deeply($lock->{related_statements}, [ $update->{key} ], 'the UPDATE may hold the lock');
is($lock->{facts}{waits_with_holders}, 4,
    'found in each of the 4 waits, the one whose COMMIT was written after it too');
ok((grep { /may hold them: UPDATE accounts/ } @{ $lock->{evidence} }), 'the evidence names the holder');
ok((grep { /capture does not record lock owners/ } @{ $lock->{evidence} }),
    'and says how it was found');
near($lock->{db_time_ms}, 1956, 'explaining the lock wait time');
my $lw = $insight{lwlock_wait};
ok($lw, 'an LWLock wait insight');
is($lw && $lw->{statement}, $insert->{key}, 'for the insert');
is($lw && $lw->{facts}{top_event}, 'LWLock:WALWrite', 'on LWLock:WALWrite');
my $sleeping = first { $_->{kind} eq 'wait_bound' } @insights;
is($sleeping && $sleeping->{statement}, $sleep->{key}, 'pg_sleep waits off the CPU');
like($sleeping && $sleeping->{title}, qr/mostly Timeout:PgSleep/, 'mostly on Timeout:PgSleep');
like($sleeping && $sleeping->{action}, qr/^It sleeps/, 'and the next step says it sleeps');
ok(!(grep { $_->{kind} eq 'wait_bound' && $_->{statement} eq $waiter->{key} } @insights),
    'the lock waiter is not told twice');
my @ranked = map { $_->{db_time_ms} } @insights;
is_deeply(\@ranked, [ sort { $b <=> $a } @ranked ], 'ranked by database time');

# The terminal report.
($rc, my $text) = run_qprof('report', $dir);
is($rc, 0, 'report succeeds');
like($text, qr/kernel facts: on 97\.7% of executions, the wait split on 97\.7%/,
    'the summary says on what share of the executions the split is');
my @long = grep { length($_) > 100 } split /\n/, $text;
is(scalar @long, 0, 'every line fits 100 columns') or diag join("\n", @long);
my ($waits_text) = $text =~ /^(Where the time went.*)\z/ms;
ok($waits_text, 'the "where the time went" table');
$waits_text //= '';
my ($row) = $waits_text =~ /^(\Q$waiter->{key}\E +\S+ s .*)$/m;
ok($row, 'the FOR UPDATE\'s row names Lock:transactionid') or diag $text;
like($row // '', qr/ 99\.2% .*Lock:transactionid 1\.96 s x4/, 'with its share and count');
($row) = $waits_text =~ /^(\Q$busy->{key}\E +6\.00 s .*)$/m;
like($row // '', qr/ 33\.0% 66\.0% /, 'the CPU-bound row: a third on the CPU, two in the run queue');
like($text, qr/\[cpu_saturation, [\d.]+%\] Executions wait for a CPU/, 'the CPU insight');
like($text, qr/may hold them: UPDATE accounts/, 'the lock insight names the holder');

# The page, in a real browser.
my $chromium = first { -x $_ } qw(/usr/bin/chromium /usr/bin/chromium-browser);
SKIP: {
    skip 'no chromium (tests/deps/report.txt)', 1 unless $chromium;
    my $page = "$tmp/report.html";
    ($rc) = run_qprof('report', $dir, '--html', $page);
    is($rc, 0, 'report --html succeeds');
    my ($status, $seen) = waits_page_probe($page, { waiter => $waiter->{key} });
    is($status, 0, 'the browser opened the page');
    my $dom = $seen->{probe} // {};
    is_deeply($seen->{errors}, [], 'no console error');
    is_deeply($dom->{draw_errors}, [], 'every part drawn');
    ok((grep { $_ eq 'waits' } @{ $dom->{sections} // [] }), 'the page has the section');
    like($dom->{intro} // '', qr/97\.7% of the executions \(42\)/, 'saying on what share');
    near($dom->{all}{elapsed_ms}, 10191, 'the bar of all executions');
    near($dom->{all}{parts}{runqueue}, 3964, 'its run queue part');
    near($dom->{all}{parts}{lock}, 1956, 'its Lock part');
    near(sum0(values %{ $dom->{all}{parts} // {} }), 10191, 'its parts make the elapsed time');
    like($dom->{all_events} // '', qr/Timeout:PgSleep .*Lock:transactionid/, 'the largest events, in order');
    my $st = $dom->{tables}{'waits-statements'};
    is($st->{rows}, scalar(grep { $_->{kernel} && $_->{kernel}{waits} } @{ $doc->{statements} }),
        'a row per statement with the split');
    near($st->{by_key}{ $waiter->{key} }{'waits.lock'}, 1956, 'the FOR UPDATE row: Lock');
    like($st->{by_key}{ $waiter->{key} }{'waits.events'} // '', qr/^Lock:transactionid/,
        'the FOR UPDATE row: its largest event');
    near($st->{by_key}{ $busy->{key} }{'waits.runqueue'}, 3960, 'the CPU-bound row: run queue');
    near($st->{by_key}{ $insert->{key} }{'waits.lwlock'}, 80, 'the insert row: LWLock');
    my $rt = $dom->{tables}{'waits-routes'};
    is($rt->{rows}, scalar(grep { $_->{kernel} && $_->{kernel}{waits} } @{ $routes->{groups} }),
        'a row per route with the split');
    near($rt->{by_key}{'/checkout'}{'waits.lock'}, 1956, 'route /checkout: Lock');
    near($dom->{waiter_detail}{parts}{lock}, 1956, 'the FOR UPDATE\'s detail draws its split');
    is_deeply($dom->{insights}, [ map { $_->{kind} } @insights ], 'the insights in order');
}

done_testing();
