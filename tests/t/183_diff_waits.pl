# qprof diff and where the time went (issues 28 and 29): captures written
# with the collector's own writer and codec (tests/report/
# diff_wait_capture.cpp: 200 row locks, 200 CPU-bound statements, 200
# statements without kernel facts; each part of their time as told, with
# the same spread in every capture), compared with a base capture:
#  - the same parts twice: nothing changed, the gate passes;
#  - the lock wait ten times as long: the row lock regressed, its Lock
#    part grew significantly and the diff says Lock:transactionid is what
#    grew;
#  - the machine loaded (40 times the run-queue time): the raw latencies
#    grew, the latencies less their run-queue time did not, the verdicts
#    say unchanged and --fail-on exits 0, saying so;
#  - three times the CPU time: the CPU-bound statement regressed, on the
#    CPU, and --fail-on exits 1;
#  - reads waiting on IO:DataFileRead on a loaded machine, whose kernel
#    uninterruptible sleep holds their run-queue time too: the I/O wait
#    part is the IO event's time, the run queue is counted once, and no
#    part is negative.
# A statement without kernel facts is judged on its latency as before. The
# row locks carry request ids: their route is compared per request, the
# CPU-bound statements' per execution.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../collector";
use File::Path qw(make_path);
use IPC::Run;
use JSON::PP;
use PostgreSQL::Test::Utils;
use Test::More;
use QprofCollectorTest;
use QprofReportTest;

my $tmp  = PostgreSQL::Test::Utils::tempdir;
my ($out, $err) = ('', '');
my $fixture = build_capture_fixture('diff_wait_capture', $tmp);

# Each capture: its name, and on-CPU, run-queue and lock time in us.
for ([ 'base', 2000, 100, 300 ], [ 'again', 2000, 100, 300 ],
    [ 'lock', 2000, 100, 3000 ], [ 'loaded', 2000, 4000, 300 ],
    [ 'cpu', 6000, 100, 300 ], [ 'io_base', 2000, 100, 300, 2000 ],
    [ 'io_loaded', 2000, 4000, 300, 2000 ])
{
    my ($name, $oncpu, $runqueue, $lock, $io) = @$_;
    make_path("$tmp/$name");
    IPC::Run::run([ $fixture, '--out', "$tmp/$name",
            '--oncpu-us', $oncpu, '--runqueue-us', $runqueue,
            '--lock-us', $lock, ($io ? ('--io-us', $io) : ()) ],
        '>', \$out, '2>', \$err)
      or BAIL_OUT("diff_wait_capture failed: $err");
    my $executions = $io ? 800 : 600;
    like($out, qr/$executions samples/,
        "$name: the capture holds the $executions executions");
}

# A row's wait part (e.g. "lock_ms_per_call").
sub part
{
    my ($row, $measure) = @_;
    my ($part) = grep { $_->{measure} eq $measure } @{ $row->{waits}{parts} };
    return $part;
}

sub significant_parts
{
    my ($row) = @_;
    return sort map { $_->{measure} } grep { $_->{significant} } @{ $row->{waits}{parts} };
}

my $mean_spread = (18 * 11 + 0.5 + 0.6) / 200;    # of the 200 executions

sub near
{
    my ($got, $want, $name) = @_;
    my $ok = defined $got && abs($got - $want) <= 0.01 * abs($want) + 1e-6;
    ok($ok, "$name: $want") or diag 'got ' . ($got // 'undef');
}

# 1. The same parts twice.
my ($rc, $doc, $stderr) = diff_json("$tmp/base", "$tmp/again", '--fail-on', '20');
is($rc, 0, 'the same captures: exit 0') or diag $stderr;
is($doc->{format}, 'qprof-diff/2', 'format qprof-diff/2');
my $waiter = diff_row($doc->{statements}, qr/FOR UPDATE/);
ok($waiter->{waits}, 'the row lock compares where its time went');
is_deeply([ map { $_->{measure} } @{ $waiter->{waits}{parts} } ],
    [ qw(oncpu_ms_per_call runqueue_ms_per_call io_wait_ms_per_call
          lock_ms_per_call lwlock_ms_per_call other_waits_ms_per_call) ],
    'in on-CPU, run queue, I/O wait, Lock, LWLock and other waits');
near(part($waiter, 'lock_ms_per_call')->{base}, 0.3 * $mean_spread, 'Lock a call');
near(part($waiter, 'oncpu_ms_per_call')->{base}, 1, 'on the CPU a call');
is_deeply([ significant_parts($waiter) ], [], 'no part changed');
is($waiter->{verdict_basis}, 'latency_less_runqueue',
    'judged on its latency less the run queue');
is($doc->{load_changed_verdicts}, 0, 'no verdict differs from the raw latency\'s');
my @changed = grep { $_->{verdict} ne 'unchanged' } (@{ $doc->{statements} }, @{ $doc->{routes} });
is(scalar @changed, 0, 'nothing regressed');
my $health = diff_row($doc->{statements}, qr/^SELECT \$1$/);
is($health->{waits}, undef, 'a statement without kernel facts has no wait comparison');
is($health->{latency_less_runqueue}, undef, 'nor a load-independent latency');
is($health->{verdict_basis}, 'latency', 'and is judged on its latency');

# 2. The lock wait grew.
($rc, $doc, $stderr) = diff_json("$tmp/base", "$tmp/lock");
$waiter = diff_row($doc->{statements}, qr/FOR UPDATE/);
is($waiter->{verdict}, 'regressed', 'the row lock regressed');
my $lock = part($waiter, 'lock_ms_per_call');
near($lock->{new}, 3 * $mean_spread, 'its Lock wait a call');
ok($lock->{significant}, 'significantly');
cmp_ok($lock->{p_value}, '<', 1e-6, 'p < 1e-6');
is($lock->{method}, 'welch-t', 'by Welch\'s test');
is_deeply([ significant_parts($waiter) ], ['lock_ms_per_call'], 'and only it');
is($waiter->{waits}{grew}{part}, 'lock', 'what grew: Lock');
is($waiter->{waits}{grew}{event}, 'Lock:transactionid', 'on Lock:transactionid');
near($waiter->{waits}{grew}{event_ms}, 2.7 * $mean_spread, 'by its rise a call');
near($waiter->{waits}{change_ms}, 2.7 * $mean_spread, 'all of the call\'s rise');
my ($event) = grep { $_->{event} eq 'Lock:transactionid' } @{ $waiter->{waits}{events} };
is($event->{class}, 'Lock', 'the event is listed with its class');
my $checkout = diff_row($doc->{routes}, qr{^/checkout$});
is($checkout->{waits}{grew}{event}, 'Lock:transactionid', 'its route says so too');
is(diff_row($doc->{statements}, qr/generate_series/)->{verdict}, 'unchanged',
    'the CPU-bound statement did not change');
my ($trc, $text) = run_qprof('diff', "$tmp/base", "$tmp/lock", '--html', "$tmp/lock.html");
my @long = grep { length($_) > 100 } split /\n/, $text;
is(scalar @long, 0, 'the terminal output fits 100 columns') or diag join("\n", @long);
like($text, qr/wait changed: Lock 0\.299 -> 2\.98\d ms a call \(p <1e-6\)/,
    'the terminal shows the Lock part\'s change');
like($text, qr/\+2\.7 ms a call, of which 2\.7 ms Lock:transactionid/,
    'and says what grew');
note $text;

# 3. The machine was loaded.
($rc, $doc, $stderr) = diff_json("$tmp/base", "$tmp/loaded", '--fail-on', '20');
is($rc, 0, 'only the run queue grew: --fail-on exits 0') or diag $stderr;
ok(!$doc->{failed}, 'and the document says it passed');
for my $re (qr/FOR UPDATE/, qr/generate_series/)
{
    my $r = diff_row($doc->{statements}, $re);
    is($r->{raw_verdict}, 'regressed', "$re: the raw latency regressed");
    cmp_ok($r->{new}{p50_ms}, '>', 2 * $r->{base}{p50_ms}, "$re: its p50 more than doubled");
    my $li = $r->{latency_less_runqueue};
    is($li->{p50_new_ms}, $li->{p50_base_ms}, "$re: less the run queue, its p50 is the same");
    cmp_ok($li->{test}{p_value}, '>', 0.5, "$re: no difference by the test");
    is($r->{verdict}, 'unchanged', "$re: the verdict is unchanged");
    ok(!$r->{fails}, "$re: it does not fail the gate");
    is_deeply([ significant_parts($r) ], ['runqueue_ms_per_call'],
        "$re: only the run-queue part changed");
    is($r->{waits}{grew}{part}, 'runqueue', "$re: what grew is the run queue");
}
my $route = diff_row($doc->{routes}, qr{^/checkout$});
is($route->{test}{unit}, 'request', '/checkout is compared per request');
is($route->{raw_verdict}, 'regressed', '/checkout: its requests\' raw latency regressed');
is($route->{latency_less_runqueue}{test}{unit}, 'request',
    '/checkout: its requests less their run-queue time compared');
is($route->{verdict}, 'unchanged', '/checkout: the verdict is unchanged');
$route = diff_row($doc->{routes}, qr{^/report$});
is($route->{test}{unit}, 'execution', '/report is compared per execution');
is($route->{raw_verdict}, 'regressed', '/report: its raw latency regressed');
is($route->{verdict}, 'unchanged', '/report: the verdict is unchanged');
is($doc->{load_changed_verdicts}, 4, 'four verdicts differ from the raw latency\'s');
($trc, $text) = run_qprof('diff', "$tmp/base", "$tmp/loaded", '--fail-on', '20');
is($trc, 0, 'terminal: exit 0');
@long = grep { length($_) > 100 } split /\n/, $text;
is(scalar @long, 0, 'the terminal output fits 100 columns') or diag join("\n", @long);
like($text, qr/~ judged on the latency less its run-queue time/, 'it says what it judged');
like($text, qr/\nunchanged [^\n]*~ SELECT balance FROM acc/, 'marks the rows judged so');
like($text, qr/with run-queue time: p50 \S+ ms -> \S+ ms \+\d+% \(p <1e-6\), regressed on it/,
    'and keeps the raw latency shown');
like($text, qr/--fail-on 20% .*passed.*less run-queue time/, 'the gate passed');
note $text;

# 4. The CPU time grew.
($rc, $doc, $stderr) = diff_json("$tmp/base", "$tmp/cpu", '--fail-on', '20');
is($rc, 1, 'three times the CPU time: --fail-on exits 1') or diag $stderr;
my $busy = diff_row($doc->{statements}, qr/generate_series/);
is($busy->{verdict}, 'regressed', 'the CPU-bound statement regressed');
ok($busy->{fails}, 'and fails the gate');
is($busy->{verdict_basis}, 'latency_less_runqueue', 'on its latency less the run queue');
is_deeply([ significant_parts($busy) ], ['oncpu_ms_per_call'], 'its on-CPU part changed');
is($busy->{waits}{grew}{part}, 'oncpu', 'what grew: on the CPU');
is($busy->{waits}{grew}{event}, undef, 'no wait event');
is(diff_row($doc->{statements}, qr/FOR UPDATE/)->{verdict}, 'unchanged', 'the row lock did not change');
($trc, $text) = run_qprof('diff', "$tmp/base", "$tmp/cpu");
like($text, qr/\+4\.0 ms a call, of which 4\.0 ms on the CPU/, 'the terminal says so');

# 5. Reads waiting on I/O, the machine loaded: the kernel's uninterruptible
# sleep (offcpu_io) holds each read's run-queue time too.
($rc, $doc, $stderr) = diff_json("$tmp/io_base", "$tmp/io_loaded", '--fail-on', '20');
is($rc, 0, 'reads on a loaded machine: --fail-on exits 0') or diag $stderr;
my $read = diff_row($doc->{statements}, qr/FROM results/);
for my $side ('base', 'new')
{
    near(part($read, 'io_wait_ms_per_call')->{$side}, 2 * $mean_spread,
        "$side: the I/O wait part is the IO:DataFileRead time a call");
    near(part($read, 'other_waits_ms_per_call')->{$side}, 0,
        "$side: no other wait");
    my @negative = grep { $_->{$side} < 0 } @{ $read->{waits}{parts} };
    is(scalar @negative, 0, "$side: no part is negative");
}
near(part($read, 'runqueue_ms_per_call')->{new}, 4 * $mean_spread,
    'the run-queue part holds the run queue after the reads');
is_deeply([ significant_parts($read) ], ['runqueue_ms_per_call'],
    'only the run-queue part changed, not the I/O wait');
is($read->{waits}{grew}{part}, 'runqueue', 'what grew is the run queue');
is($read->{verdict}, 'unchanged', 'the reads are judged unchanged');

# 6. The HTML page draws the comparison (headless Chromium).
open my $pf, '>', "$tmp/probe.js" or die;
print $pf q{(function () {
    const row = [...document.querySelectorAll('tr.regressed')]
        .find(r => r.textContent.includes('FOR UPDATE'));
    return { row: row ? row.textContent : null };
})()};
close $pf;
my ($bout, $berr) = ('', '');
IPC::Run::run([ '/usr/bin/python3', "$FindBin::Bin/../report/browser_page.py",
        "$tmp/lock.html", '--probe', "$tmp/probe.js",
        '--ready', 'document.getElementById("out").innerHTML.length > 0' ],
    '>', \$bout, '2>', \$berr, IPC::Run::timeout(300));
is($?, 0, 'the browser opened the page') or diag $berr;
my $seen = JSON::PP->new->utf8->decode($bout || '{}');
is_deeply($seen->{errors}, [], 'no console error');
like($seen->{probe}{row} // '', qr/lock 0\.299 \x{2192} 2\.98\d \(p .*of which 2\.68\d ms Lock:transactionid/,
    'the row lock\'s row draws its parts and what grew');

done_testing();
