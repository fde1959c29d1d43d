# qprof diff and the drift of a capture's own machine (issue 28): captures
# written with the collector's own writer and codec (tests/report/
# diff_drift_capture.cpp: 8 phases, each at its own speed of the machine,
# as a minute of other load on a shared CI runner is; a job update of
# about 10% of the time slows and speeds up with them, a job listing of
# most of the time does not), compared with a base capture:
#  - the same workload on a machine about 30% slower on the whole: the
#    test over the 400 executions alone finds the job update 40% slower
#    (p < 1e-6: what made --fail-on 25 exit 1 before), but the batches of
#    consecutive executions differ no more than each capture's phases do:
#    it is within the captures' own drift, unchanged, and the gate passes;
#  - the same, with the job update 60% slower on top of it: beyond the
#    drift, regressed, and --fail-on 25 exits 1 with it alone;
#  - the same capture twice: nothing changes;
#  - the page of --html draws the row held back and its batches.
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

my $tmp = PostgreSQL::Test::Utils::tempdir;
my ($out, $err) = ('', '');
my $fixture = build_capture_fixture('diff_drift_capture', $tmp);

for ([ 'base', 'base', 0 ], [ 'copy', 'base', 0 ], [ 'again', 'again', 0 ],
    [ 'slower', 'again', 60 ])
{
    my ($name, $phases, $slower) = @$_;
    make_path("$tmp/$name");
    IPC::Run::run([ $fixture, '--out', "$tmp/$name", '--phases', $phases,
            '--slower', $slower ], '>', \$out, '2>', \$err)
      or BAIL_OUT("diff_drift_capture failed: $err");
    like($out, qr/1200 samples/, "$name: the capture holds the 1200 executions");
}

my $update_re = qr/^UPDATE jobs/;
my $list_re   = qr/^SELECT id, state FROM jobs/;

# 1. The same workload on a slower machine, drifting within each capture.
my ($rc, $doc, $stderr) = diff_json("$tmp/base", "$tmp/again", '--fail-on', '25');
is($rc, 0, 'the same workload on a drifting machine: --fail-on 25 exits 0')
  or diag $stderr;
ok(!$doc->{failed}, 'the document says the gate passed');
my $update = diff_row($doc->{statements}, $update_re);
cmp_ok($update->{base}{share}, '>', 0.05,
    'the job update takes more than 5% of the time (beyond --min-share)');
is($update->{verdict_basis}, 'latency_less_runqueue',
    'it is judged on its latency less the run queue');
my $li = $update->{latency_less_runqueue};
cmp_ok($li->{test}{p_value}, '<', 1e-6,
    'the test over its executions alone finds a change (p < 1e-6)');
cmp_ok($li->{median_ratio}, '>', 1.25, 'of its median by more than 25%');
my $batches = $li->{test}{batches};
ok($batches, 'its batches of consecutive executions are compared');
cmp_ok($batches->{batches_base}, '>=', 4, 'at least 4 batches in BASE');
cmp_ok($batches->{batches_new}, '>=', 4, 'and in NEW');
cmp_ok($batches->{batch_size_base} * $batches->{batches_base}, '<=', 400,
    'batches of consecutive executions, at most the 400 there are');
cmp_ok($batches->{p_value}, '>=', 0.01,
    'the batches differ no more than each capture\'s own drift (p >= 0.01)');
cmp_ok($batches->{t}, '>', 0, 'though NEW\'s are slower on the whole');
is($update->{within_drift}, JSON::PP::true, 'the row says it is within the drift');
is($update->{verdict}, 'unchanged', 'the verdict is unchanged');
ok(!$update->{fails}, 'and it does not fail the gate');
is($doc->{within_drift_rows}, 2, 'the job update and its route are held back');
my $route = diff_row($doc->{routes}, qr{^/jobs$});
ok($route->{within_drift}, '/jobs is within the drift too');
is($route->{verdict}, 'unchanged', '/jobs: unchanged');
my @changed = grep { $_->{verdict} ne 'unchanged' } (@{ $doc->{statements} }, @{ $doc->{routes} });
is(scalar @changed, 0, 'nothing regressed or improved');

my ($trc, $text) = run_qprof('diff', "$tmp/base", "$tmp/again", '--fail-on', '25',
    '--html', "$tmp/again.html");
is($trc, 0, 'terminal: exit 0');
my @long = grep { length($_) > 100 } split /\n/, $text;
is(scalar @long, 0, 'the terminal output fits 100 columns') or diag join("\n", @long);
like($text, qr/and beyond each capture's own drift: batches of consecutive executions/,
    'it says what a change must stand out of');
like($text, qr/2 row\(s\) whose executions' test alone found a change are within that drift/,
    'and how many rows that held back');
like($text, qr/\nunchanged [^\n]*~ UPDATE jobs[^\n]*\n(?:    [^\n]*\n)*?    within the captures' own drift: \d+\/\d+ batches of \d+\/\d+ executions, \+\d+% \(t [\d.]+, p 0\.\d+\)/,
    'the job update\'s row shows its batches');
like($text, qr/--fail-on 25% \(min share 1%\): passed/, 'the gate passed');
note $text;

# 2. A real regression on top of the same drift.
($rc, $doc, $stderr) = diff_json("$tmp/base", "$tmp/slower", '--fail-on', '25');
is($rc, 1, 'the job update 60% slower on top of the drift: --fail-on 25 exits 1')
  or diag $stderr;
$update = diff_row($doc->{statements}, $update_re);
is($update->{verdict}, 'regressed', 'the job update regressed');
ok($update->{fails}, 'and fails the gate');
ok(!$update->{within_drift}, 'beyond the drift');
$batches = $update->{latency_less_runqueue}{test}{batches};
cmp_ok($batches->{p_value}, '<', 0.01, 'its batches differ (p < 0.01)');
cmp_ok($batches->{ratio}, '>', 1.8, 'by their geometric mean, more than 1.8 times');
is($doc->{statements}[0]{name}, $update->{name}, 'it comes first');
my @failing = map { $_->{name} } grep { $_->{fails} } (@{ $doc->{statements} }, @{ $doc->{routes} });
is_deeply([ sort @failing ], [ '/jobs', $update->{name} ],
    'it and its route alone fail the gate');
is(diff_row($doc->{statements}, $list_re)->{verdict}, 'unchanged',
    'the job listing did not change');

# 3. The same capture twice.
($rc, $doc, $stderr) = diff_json("$tmp/base", "$tmp/copy", '--fail-on', '1');
is($rc, 0, 'the same capture twice: --fail-on 1 exits 0') or diag $stderr;
is($doc->{within_drift_rows}, 0, 'nothing to hold back');
$batches = diff_row($doc->{statements}, $update_re)->{latency_less_runqueue}{test}{batches};
is($batches->{ratio}, 1, 'the batches\' ratio is 1');
cmp_ok($batches->{p_value}, '>', 0.99, 'and they do not differ');

# 4. The HTML page draws the held-back row (headless Chromium).
open my $pf, '>', "$tmp/probe.js" or die;
print $pf q{(function () {
    const row = [...document.querySelectorAll('tr')]
        .find(r => r.textContent.includes('UPDATE jobs'));
    return { row: row ? row.textContent : null,
             top: document.getElementById('out').textContent };
})()};
close $pf;
my ($bout, $berr) = ('', '');
IPC::Run::run([ '/usr/bin/python3', "$FindBin::Bin/../report/browser_page.py",
        "$tmp/again.html", '--probe', "$tmp/probe.js",
        '--ready', 'document.getElementById("out").innerHTML.length > 0' ],
    '>', \$bout, '2>', \$berr, IPC::Run::timeout(300));
is($?, 0, 'the browser opened the page') or diag $berr;
my $seen = JSON::PP->new->utf8->decode($bout || '{}');
is_deeply($seen->{errors}, [], 'no console error');
like($seen->{probe}{row} // '',
    qr/^unchanged.*within the captures' own drift: \d+\/\d+ batches of \d+\/\d+, ratio 1\.\d+ \(t [\d.]+, p 0\.0[1-9]/,
    'the job update\'s row is unchanged and draws its batches');
like($seen->{probe}{top} // '', qr/2 row\(s\) whose executions' test alone found a change are within/,
    'the page counts the rows held back');

done_testing();
