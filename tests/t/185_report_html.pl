# qprof report --html in a real browser: a capture of a known workload,
# made here on a real server, turned into the page by `qprof report --html`
# and opened in headless Chromium over the DevTools protocol
# (tests/report/browser_page.py). The page must load without a console
# error or a network request, and every table and chart must hold what
# `qprof report --json` says of the same capture. A statement text with
# "</script>" and U+2028 in it, and a route with markup, show as text. The
# page and its screenshot are written in the test's output folder
# (tmp_check/report_html; QPROF_KEEP=1 keeps it after the run), whose path
# the test prints.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../collector";
use File::Path qw(make_path);
use IPC::Run;
use JSON::PP;
use List::Util qw(sum0 first);
use PostgreSQL::Test::Utils;
use Test::More;
use QprofCollectorTest;

my $chromium = first { -x $_ } qw(/usr/bin/chromium /usr/bin/chromium-browser);
ok($chromium, 'chromium is installed (tests/deps/report.txt)')
  or BAIL_OUT('no chromium: run tests/install_deps.sh');

my $node = new_qprof_node('report_html',
    "pg_qprof.analyze_sample_rate = 1\n");
$node->safe_psql('postgres', q{
    CREATE TABLE orders (id int PRIMARY KEY, customer int, state int, note text);
    INSERT INTO orders SELECT g, g % 500, g % 7, repeat('x', 40)
      FROM generate_series(1, 60000) g;
    ANALYZE orders;
});

# Tagged like an application behind sqlcommenter: a route and, per request,
# a traceparent.
sub tags
{
    my ($route, $request) = @_;
    (my $encoded = $route) =~ s/([^A-Za-z0-9_.~-])/sprintf('%%%02X', ord $1)/ge;
    return sprintf("/*route='%s',traceparent='00-%032x-%016x-01'*/",
        $encoded, $request, $request);
}

my $script = "SET application_name = 'shop';\n";
my $request = 1;
# the slow statement: a scan of every order, by a report route
for (1 .. 12)
{
    $script .= "SELECT count(*) FROM orders WHERE customer = $_ AND note <> '' "
      . tags('/reports/customer', $request++) . ";\n";
}
# an N+1: one request reads its orders one by one
for my $id (1 .. 40)
{
    $script .= "SELECT note FROM orders WHERE id = $id " . tags('/orders', 9000) . ";\n";
}
# errors
$script .= "SELECT 1 / (id - id) FROM orders WHERE id = 1 "
  . tags('/broken', $request++) . ";\n"
  for 1 .. 3;
# a text that would end the page's <script> element if it were not escaped,
# with a line separator, and a route with markup in it
$script .= "/* </script><script>window.pwned = 1</script> \xe2\x80\xa8 <!-- */ "
  . "SELECT max(id) FROM orders WHERE state = 3 "
  . tags('/<b>bold</b>', $request++) . ";\n"
  for 1 .. 2;
# the divisions by zero fail; the rest goes on
$node->psql('postgres', $script, on_error_stop => 0);

my $dir = PostgreSQL::Test::Utils::tempdir . '/cap';
my ($rc, $out, $err) = run_qprof('collect', '--dsn', $node->connstr('postgres'),
    '--out', $dir, '--once', '--bpf', 'off');
is($rc, 0, 'collect --once succeeds') or diag $err;

# The report as JSON, and as the page, from the same capture.
# Only the workload's application: the setup's statements are not in it.
($rc, my $json_text, $err) = run_qprof('report', $dir, '--app', 'shop', '--json');
is($rc, 0, 'report --json succeeds') or diag $err;
my $report = JSON::PP->new->utf8->decode($json_text);
my $out_dir = "$PostgreSQL::Test::Utils::tmp_check/report_html";
make_path($out_dir);
my $page = "$out_dir/report.html";
($rc, $out, $err) = run_qprof('report', $dir, '--app', 'shop', '--html', $page);
is($rc, 0, 'report --html succeeds') or diag $err;
ok(-s $page, 'the page is written');

my $html = slurp_file($page);
is(scalar(() = $html =~ m{</script}gi), 2,
    'the page has its two script elements and no other "</script"');
unlike($html, qr{window\.pwned = 1</script>}, 'the statement text is escaped');
unlike($html, qr{(?:src|href)\s*=\s*["']?(?:https?:)?//}i,
    'the page refers to no URL');

# The statement index: every distinct statement of the capture, by total
# time, the listed ones pointing at their detail.
my $index = $report->{statement_index};
is($index->{count}, $report->{summary}{statements},
    'the statement index has a row per distinct statement of the capture');
is($report->{statements_total}, $index->{count}, 'as statements_total says');
is(scalar(grep { scalar @{ $index->{$_} } != $index->{count} }
        qw(key queryid calls total_ms mean_ms p95_ms rows errors shared_blks_read text)),
    0, 'every column of the index has a value per statement');
is(scalar(grep { $index->{total_ms}[$_] > $index->{total_ms}[ $_ - 1 ] } 1 .. $index->{count} - 1),
    0, 'the index is ordered by total time');
my %by_key = map { ($_->{key} => $_) } @{ $report->{statements} };
my @keyed = grep { defined $index->{key}[$_] } 0 .. $index->{count} - 1;
is(scalar @keyed, scalar @{ $report->{statements} },
    'each statement with its detail is in the index once');
is(scalar(grep { my $s = $by_key{ $index->{key}[$_] };
            !$s || $s->{queryid} ne $index->{queryid}[$_] || $s->{rank} != $_ + 1 } @keyed),
    0, 'the index points at the detail of the same statement, at its rank');
is(scalar(grep { length($_) > $index->{text_chars} } @{ $index->{text} }), 0,
    'the index holds text prefixes');

# With --top 1 the detail shrinks, the index does not.
($rc, my $small_text, $err) = run_qprof('report', $dir, '--app', 'shop', '--top', '1', '--json');
my $small = JSON::PP->new->utf8->decode($small_text);
is($small->{statement_index}{count}, $index->{count}, '--top 1: the index keeps every statement');
is(scalar(grep { defined } @{ $small->{statement_index}{key} }), scalar @{ $small->{statements} },
    '--top 1: only the statements with detail have a key');

# What the page must show, from the JSON.
my @statements = sort { $b->{total_ms} <=> $a->{total_ms} } @{ $report->{statements} };
my $top = $statements[0];
my $hostile = first { $_->{text} =~ m{</script>} } @statements;
ok($hostile, 'the statement with "</script>" is in the report');
like($top->{text}, qr/FROM orders WHERE customer =/,
    'the slow scan is first by total time');

# The probe: reads the DOM, then opens the top statement's detail view and
# the hostile one's.
my $keys = JSON::PP->new->encode(
    { top => $top->{key}, hostile => $hostile ? $hostile->{key} : '' });
my $probe_file = "$out_dir/probe.js";
open my $fh, '>', $probe_file or die $!;
print $fh "(function (keys) {\n" . slurp_file("$FindBin::Bin/../report/report_probe.js")
  . "\n})($keys)";
close $fh;
my $shot = "$out_dir/report.png";
my ($bout, $berr) = ('', '');
IPC::Run::run(
    [ '/usr/bin/python3', "$FindBin::Bin/../report/browser_page.py", $page,
        '--probe', $probe_file, '--screenshot', $shot, '--full-page' ],
    '>', \$bout, '2>', \$berr, IPC::Run::timeout(300));
is($?, 0, 'the browser opened the page') or diag $berr;
my $seen = JSON::PP->new->utf8->decode($bout || '{}');
my $dom = $seen->{probe} // {};
diag "screenshot: $shot";
diag sprintf('page ready in %.0f ms', $seen->{ready_ms} // -1);

is_deeply($seen->{errors}, [], 'no console error, no uncaught exception');
is_deeply($seen->{requests}, [], 'no network request');
is_deeply($dom->{draw_errors}, [], 'every part of the page was drawn');
ok(-s $shot, 'the screenshot is written');
ok(!$dom->{pwned}, 'no script of the data ran');

# Summary cards hold the summary's numbers.
my $summary = $report->{summary};
for my $field (qw(db_time_ms executions statements errors))
{
    ok(close_to($dom->{cards}{$field}, $summary->{$field}),
        "summary $field: page $dom->{cards}{$field}, JSON $summary->{$field}");
}

# Tables: as many rows as the JSON's lists, first rows in the same order.
# A row has waits from BPF's kernel facts, or sampled by the extension.
sub has_waits { my ($row) = @_; return ($row->{kernel} && $row->{kernel}{waits}) || $row->{sampled_waits}; }
my %tables = %{ $dom->{tables} // {} };
my %expected_rows = (
    statements => $index->{count},
    plan_changes => scalar @{ $report->{plan_changes} },
    n_plus_one => scalar @{ $report->{requests}{n_plus_one} },
    errors => scalar @{ $report->{errors} },
    node_hotspots => scalar @{ $report->{node_hotspots} },
    inputs => scalar @{ $report->{inputs}{files} },
    'kernel-statements' => scalar(grep { $_->{kernel} } @statements),
    'waits-statements' => scalar(grep { has_waits($_) } @statements));
for my $dim (@{ $report->{attribution}{dimensions} })
{
    $expected_rows{"dimension-$dim->{dimension}"} = scalar @{ $dim->{groups} };
    $expected_rows{'waits-routes'} =
      scalar(grep { has_waits($_) } @{ $dim->{groups} })
      if $dim->{dimension} eq 'route';
}
# the sections, "where the time went" among them (its numbers: test 186)
is_deeply($dom->{sections},
    [ qw(summary insights statements plan-changes by-route by-controller by-app
        by-user by-db requests errors plan-nodes kernel waits timeseries heatmap inputs) ],
    'every section of the page, in order');
for my $name (sort keys %expected_rows)
{
    is($tables{$name}{rows}, $expected_rows{$name},
        "table $name has $expected_rows{$name} rows");
}
is_deeply([ @{ $tables{statements}{keys} }[ 0 .. 2 ] ],
    [ map { $_->{key} } @statements[ 0 .. 2 ] ],
    'statements are listed by total time');
ok(close_to($tables{statements}{first_total_ms}, $top->{total_ms}),
    'the first statement row shows its total time');

my ($routes) = grep { $_->{dimension} eq 'route' } @{ $report->{attribution}{dimensions} };
is_deeply([ sort @{ $tables{'dimension-route'}{names} } ],
    [ sort map { $_->{name} } @{ $routes->{groups} } ],
    'the route table lists the routes of the JSON');
# (each group's time is rounded to the microsecond in the JSON)
ok(abs(sum0(map { $_->{total_ms} } @{ $routes->{groups} }) - $summary->{db_time_ms})
      <= 0.001 * @{ $routes->{groups} },
    'the routes sum to the database time');
ok(scalar(grep { $_ eq '/<b>bold</b>' } @{ $tables{'dimension-route'}{names} }),
    'the route with markup is shown as text');
is($dom->{markup_elements}, 0, 'no element came from the data');

my ($div0) = grep { $_->{sqlstate} eq '22012' } @{ $report->{errors} };
ok($div0, 'the division by zero is in the errors');
is($tables{errors}{by_key}{22012}, $div0->{count}, 'the errors table counts it');

# Insights, in the JSON's order.
is_deeply($dom->{insights}, [ map { $_->{kind} } @{ $report->{insights} } ],
    'the insights are shown in order');

# Charts: the time series by statement and by route, the executions, the heatmap.
my $ts = $report->{timeseries};
for my $kind (qw(statement route))
{
    my $chart = $dom->{charts}{"timeseries-${kind}s"};
    ok($chart, "the $kind time series is drawn");
    my @series = grep { $_->{kind} eq $kind } @{ $ts->{series} };
    my %page_sums = map { ($_->{key} => $_->{sum}) } @{ $chart->{series} };
    for my $s (@series)
    {
        ok(close_to($page_sums{ $s->{key} }, sum0(@{ $s->{db_time_ms} })),
            "series $s->{key} sums to the JSON's values");
    }
    # the JSON writes each value to 6 significant digits: the stack may
    # differ from the total by that rounding of every value it adds up
    my $stack = sum0(map { $_->{sum} } @{ $chart->{series} });
    my $total = sum0(@{ $ts->{db_time_ms} });
    ok(abs($stack - $total) <= 1e-5 * (abs($stack) + abs($total)) + 1e-6,
        "the $kind series stack up to the database time")
      or diag "stack $stack, total $total";
}
is($dom->{charts}{executions}{intervals}, $ts->{intervals}, 'executions per interval drawn');
my $heat_total = sum0(map { sum0(@$_) } @{ $report->{heatmap}{counts} });
is($dom->{charts}{heatmap}{total}, $heat_total, 'the heatmap counts every execution');
ok($heat_total > 0, 'the heatmap has the workload');

# The top statement's detail: its text, latency histogram, plan tree.
my $detail = $dom->{top_detail};
is($detail->{text}, $top->{text}, 'the detail shows the statement text');
is($detail->{histogram_total}, sum0(@{ $top->{histogram} }), 'the latency histogram counts its executions');
my @plans = grep { $_->{statement} eq $top->{key} } @{ $report->{plans} };
is($detail->{plans}, scalar @plans, 'each of its plans is shown');
my ($with_nodes) = grep { $_->{nodes} } @plans;
ok($with_nodes, 'its plan has per-node actuals');
my @node_types;
my @stack = $with_nodes ? ($with_nodes->{nodes}) : ();
while (my $n = shift @stack)
{
    push @node_types, $n->{node_type};
    push @stack, @{ $n->{children} };
}
is_deeply([ sort @{ $detail->{node_types} } ], [ sort @node_types ],
    'the plan tree has the plan nodes');
ok(scalar(grep { $_ eq 'Seq Scan' } @{ $detail->{node_types} }), 'a Seq Scan among them');

is($dom->{hostile_detail}{text}, $hostile ? $hostile->{text} : undef,
    'the statement with "</script>" and U+2028 is shown as it is');

done_testing();

# Numbers equal within a relative 1e-6 (the page keeps what JSON.parse read).
sub close_to
{
    my ($x, $y) = @_;
    return 0 unless defined $x && defined $y;
    return abs($x - $y) <= 1e-6 * (abs($y) > 1 ? abs($y) : 1);
}
