# The report page from ClickHouse (issue 30): a capture of the report
# tests' workload with its planted problems (tests/collector/QprofReportTest.pm:
# a plan change after a dropped index, N+1 requests, a slow statement, a
# spill) and a statement that fails, exported to a ClickHouse (Debian's
# 18.16, started here). `qprof report --clickhouse --html` writes the page
# from ClickHouse's answers; opened in headless Chromium it loads without a
# console error or a network request, draws every part, holds the numbers
# of `qprof report --clickhouse --json` (summary cards, the rows of every
# table, the routes, the errors, the top statement's plans), lists the
# statements as the report of the files does, has every attribution of the
# report of the files (routes, controllers, applications, users,
# databases: each group's measures and top statements in the JSON, and on
# the page a table per dimension with the groups, time, calls and top
# statement of the page of the files), and says of each part
# ClickHouse does not answer that it is not available from ClickHouse
# rather than drawing it empty. The insights ClickHouse's sums decide (the
# error rate, N+1, the plan regression) and each statement's routes are
# those of the report of the files, in the same order, with the same
# titles, time, evidence, action and facts, and the page shows them; so
# are those the catalog snapshots decide (the missing index, the spill, the
# index the plan change lost; the rows the missing index's scan removed,
# from the per-node actuals), and the estimate error the per-node actuals
# decide (a filter on two correlated columns: CREATE STATISTICS on them).
# The plan trees with their
# nodes' actuals and the latency histogram of the statement whose plan
# changed are drawn as on the page of the files (every node's line, every
# bar).
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
use QprofClickHouse;
use QprofCollectorTest;
use QprofReportTest;

plan skip_all => clickhouse_server_path()
  . ' is not installed (tests/deps/clickhouse.txt)'
  unless -x clickhouse_server_path();
my $chromium = first { -x $_ } qw(/usr/bin/chromium /usr/bin/chromium-browser);
plan skip_all => 'no chromium (tests/deps/report.txt)' unless $chromium;

my $tmp = PostgreSQL::Test::Utils::tempdir;
my $node = new_qprof_node('ch194', "pg_qprof.analyze_sample_rate = 1\n");
plant_workload($node);
# a statement that fails often: an error rate; and an N+1 that costs
# enough to be an insight (a scan of items per order, 6 requests)
my $errors = '';
for my $request (1 .. 6)
{
    $errors .= tagged("SELECT count(*) FROM items WHERE order_id = " . ($request * 10 + $_),
        '/orders/<id>/summary', 'OrderSummary', 5000 + $request) . ";\n"
      for 1 .. 8;
}
$errors .= tagged("SELECT 1 / (id - id) FROM orders WHERE id = $_",
    '/broken', 'Broken', 4000 + $_) . ";\n"
  for 1 .. 8;
$node->psql('postgres', $errors, on_error_stop => 0);
# a bad estimate: a filter on two correlated columns, which the planner
# takes as independent (100,000 rows / 50 / 50 = 40 expected, 2,000 read)
$node->safe_psql('postgres', q{
    SET pg_qprof.enabled = off;
    CREATE TABLE pairs (a int, b int, note text);
    INSERT INTO pairs SELECT g % 50, g % 50, md5(g::text) FROM generate_series(1, 100000) g;
    VACUUM ANALYZE pairs;
});
$node->safe_psql('postgres', "SET max_parallel_workers_per_gather = 0;\n"
      . join('', map { tagged("SELECT count(note) FROM pairs WHERE a = $_ AND b = $_",
                '/pairs', 'Pairs', 6000 + $_) . ";\n" } 1 .. 10));
my $capture = "$tmp/cap";
capture_once($node, $capture);
$node->stop;

my ($url) = start_clickhouse_shards($tmp, 1);
my ($rc, $out, $err) = run_qprof('export', '--clickhouse', $url,
    '--create-schema');
is($rc, 0, 'the schema') or diag $err;
($rc, $out, $err) = run_qprof('export', '--clickhouse', $url, $capture);
is($rc, 0, 'the capture exported') or diag $err;

my ($frc, $files, $ferr) = report_json($capture);
is($frc, 0, 'qprof report --json of the capture') or diag $ferr;
my ($crc, $fleet, $cerr) = report_json('--clickhouse', $url);
is($crc, 0, 'qprof report --clickhouse --json') or diag $cerr;

my $out_dir = "$PostgreSQL::Test::Utils::tmp_check/clickhouse_report_page";
make_path($out_dir);
my $page = "$out_dir/report.html";
($rc, $out, $err) = run_qprof('report', '--clickhouse', $url, '--html', $page);
is($rc, 0, 'qprof report --clickhouse --html') or diag $err;
like($out, qr/^Top statements by total time/m,
    'the terminal report is printed as well');
like($out, qr/^HTML report: \Q$page\E$/m, 'and where the page is');
ok(-s $page, 'the page is written');
like(slurp_file($page), qr/"source":"clickhouse"/,
    'the page holds the report from ClickHouse');

# The JSON has what the page draws, in the report's layout.
is($fleet->{schema_version}, 1, 'schema version 1');
my ($route_dim) = @{ $fleet->{attribution}{dimensions} // [] };
is($route_dim->{dimension}, 'route', 'the attribution by route, as the page reads it');
my ($files_routes) = grep { $_->{dimension} eq 'route' }
  @{ $files->{attribution}{dimensions} };
is_deeply(
    { map { ($_->{name} => sprintf('%.3f', $_->{total_ms})) } @{ $route_dim->{groups} } },
    { map { ($_->{name} => sprintf('%.3f', $_->{total_ms})) } @{ $files_routes->{groups} } },
    'the routes and their time are those of the report of the files');
is_deeply(
    { map { ($_->{name} => $_->{top_statements}[0]{share} > 0 ? 1 : 0) } @{ $route_dim->{groups} } },
    { map { ($_->{name} => 1) } @{ $route_dim->{groups} } },
    'each route names its top statement with its share');
my @fleet_statements = @{ $fleet->{statements} };
is_deeply([ map { $_->{rank} } @fleet_statements ], [ 1 .. @fleet_statements ],
    'statements ranked');
is($fleet->{summary}{losses}{overwritten}, 0, 'losses by reason');

# Each statement's routes, as the report of the files attributes it.
my %files_by_text = map { ($_->{text} => $_) } @{ $files->{statements} };
sub routes_of
{
    my ($s) = @_;
    return [ map { "$_->{name} $_->{calls} " . sprintf('%.3f', $_->{total_ms}) }
          @{ $s->{routes} } ];
}
my @routed = grep { $files_by_text{ $_->{text} } } @fleet_statements;
is(scalar @routed, scalar @{ $files->{statements} }, 'every statement of the files is listed');
is_deeply({ map { ($_->{text} => routes_of($_)) } @routed },
    { map { ($_->{text} => routes_of($files_by_text{ $_->{text} })) } @routed },
    "each statement's routes are those of the report of the files");
is_deeply({ map { ($_->{text} => $_->{errors_by_sqlstate}) } @routed },
    { map { ($_->{text} => $files_by_text{ $_->{text} }{errors_by_sqlstate}) } @routed },
    "and its errors by SQLSTATE");

# The insights ClickHouse answers, as the report of the files finds them:
# those of its sums, and those of the catalog snapshots (the missing index
# of the orders' scan, the sort's spill, the index the plan change lost).
my %answered = map { ($_ => 1) }
  qw(error_rate n_plus_one plan_regression missing_index spill estimate_error);
my %fleet_text = map { ($_->{key} => $_->{text}) } @fleet_statements;
my %files_text = map { ($_->{key} => $_->{text}) } @{ $files->{statements} };

# Every attribution of the report of files (routes, controllers,
# applications, users, databases), each group with its measures and top
# statements, computed by ClickHouse.
same_attribution('report --clickhouse --json', $fleet, $files,
    sub { $fleet_text{ $_[0] } // "unlisted $_[0]" },
    sub { $files_text{ $_[0] } // "unlisted $_[0]" });
my %groups_of = map { ($_->{dimension} => scalar @{ $_->{groups} }) }
  @{ $files->{attribution}{dimensions} };
ok($groups_of{route} >= 4 && $groups_of{controller} >= 4 && $groups_of{app} >= 1
      && $groups_of{user} >= 1 && $groups_of{db} >= 1,
    'the workload has several routes and controllers, an application, a user, a database');
sub insight_of
{
    my ($in, $text_of) = @_;
    my %facts = %{ $in->{facts} };
    return {
        (map { ($_ => $in->{$_}) } qw(kind title severity route table columns evidence action sql)),
        db_time_ms => sprintf('%.3f', $in->{db_time_ms}),
        statement => $text_of->{ $in->{statement} },
        facts => { map { ($_ => ref $facts{$_} ? $facts{$_}
                      : $facts{$_} =~ /^-?[0-9.e+-]+$/ ? sprintf('%.6g', $facts{$_})
                      : $facts{$_}) } keys %facts },
        plans => scalar @{ $in->{plans} },
    };
}
my @want = map { insight_of($_, \%files_text) }
  grep { $answered{ $_->{kind} } } @{ $files->{insights} };
my @got = map { insight_of($_, \%fleet_text) } @{ $fleet->{insights} };
my %kinds = map { ($_->{kind} => 1) } @want;
is_deeply([ sort keys %kinds ], [ sort keys %answered ],
    'the files have an insight of each kind ClickHouse answers');
is(scalar @got, scalar @want, 'ClickHouse has as many');
for my $i (0 .. $#want)
{
    is_deeply($got[$i], $want[$i],
        "insight $i ($want[$i]{kind}): from ClickHouse as in the report of the files");
}
# what the catalog snapshots say, in the files and so from ClickHouse (the
# costly N+1 scans items with no index on order_id too: which of the two
# explains more time is the machine's, so the one on orders is looked up)
my ($missing) =
  grep { $_->{kind} eq 'missing_index' && ($_->{table} // '') eq 'public.orders' } @want;
is_deeply([ @$missing{qw(table columns route sql)} ],
    [ 'public.orders', ['customer_id'], '/customers/<id>/orders',
        'CREATE INDEX CONCURRENTLY ON public.orders (customer_id);' ],
    'the missing index: its table, column, route and CREATE INDEX');
ok(scalar(grep { /^public.orders: .* rows, .*; indexes: orders_pkey \(id\) \(catalog snapshot\)$/ } @{ $missing->{evidence} }),
    "and the table's size and indexes from the catalog snapshot");
ok(scalar(grep { /^Seq Scan on public.orders with Filter: .* removes [0-9,]+ rows and keeps [0-9,]+ per execution \(per-node actuals of [0-9,]+ executions\)$/ }
          @{ $missing->{evidence} }),
    'and the rows its scan removed, from the per-node actuals');
my ($regression) = grep { $_->{kind} eq 'plan_regression' } @want;
# (a Bitmap Index Scan's index belongs to the Bitmap Heap Scan's table)
ok(scalar(grep { /^index public\.orders_customer_idx, used by the faster plan, is not in the catalog snapshot: it was dropped$/ }
          @{ $regression->{evidence} }),
    'the plan regression names the index dropped');
is($regression->{sql} // '', 'CREATE INDEX CONCURRENTLY ON public.orders (customer_id);',
    'and the CREATE INDEX that recreates it');
my ($estimate) = grep { $_->{kind} eq 'estimate_error' } @want;
is_deeply([ @$estimate{qw(table columns route sql)} ],
    [ 'public.pairs', [ 'a', 'b' ], '/pairs',
        'CREATE STATISTICS ON a, b FROM public.pairs; ANALYZE public.pairs;' ],
    'the estimate error: the correlated columns, extended statistics');
like($estimate->{title}, qr/^Seq Scan on public.pairs: the planner expected [0-9]+ rows, got 2,000 \([0-9]+x off\)$/,
    'and how far off the estimate was');
my ($spill) = grep { $_->{kind} eq 'spill' } @want;

like($spill->{title}, qr/^Sort spills to disk: up to .* of temporary files per execution \(work_mem 4.0 MB\)$/,
    'the spill: the sort, and work_mem from the settings');

# The terminal's insights: each "N. [kind, share] title" line as the
# report of the files prints it (numbered among its own).
sub insight_lines
{
    my ($text, $kinds) = @_;
    my ($section) = $text =~ /^What to do first[^\n]*\n-+\n(.*?)(?:\n\n|\z)/ms;
    return [ grep { $kinds->{ $_->[0] } }
          map { /^\s*\d+\. \[(\w+), ([^\]]+)\] (.*)$/ ? [ $1, $2, $3 ] : () }
          split /\n/, $section // '' ];
}
my ($trc, $files_text) = (run_qprof('report', $capture))[ 0, 1 ];
my $fleet_lines = insight_lines($out, \%answered);
is_deeply([ map { $_->[0] } @$fleet_lines ], [ map { $_->{kind} } @{ $fleet->{insights} } ],
    'the terminal report from ClickHouse lists the insights');
is_deeply($fleet_lines, insight_lines($files_text, \%answered),
    'as the terminal report of the files does');
ok($fleet->{summary}{duration_s} > 0, 'the time span');

# The page in the browser: the report tests' probe, and the parts the page
# says ClickHouse does not have.
my $top = $fleet_statements[0];
my $probe_body = slurp_file("$FindBin::Bin/../report/report_probe.js");
# and, of the statement keys.drawn, each plan's tree (every node's line of
# actuals) and the histogram's bars, as drawn
my $drawn_probe = <<'JS';
result.dimensions = {};
document.querySelectorAll('table[data-table^="dimension-"]').forEach(function (t) {
  result.dimensions[t.dataset.table.replace(/^dimension-/, '')] =
    Array.from(t.querySelectorAll('tbody tr[data-index]')).map(function (r) {
      function cell(c) { var td = r.querySelector('td[data-col="' + c + '"]'); return td ? td.dataset.value : null; }
      return {name: cell('name'), total_ms: num(cell('total_ms')), calls: num(cell('calls')), top: cell('top')};
    });
});
result.not_available = Array.from(document.querySelectorAll('[data-not-available]')).map(function (n) { return n.dataset.notAvailable; });
if (keys.drawn) {
  window.qprofReport.showStatement(keys.drawn, false);
  var drawn = document.getElementById('statement-detail');
  result.drawn = {
    plans: Array.from(drawn.querySelectorAll('.plan[data-plan]')).map(function (p) {
      return Array.from(p.querySelectorAll('ul.plan-tree li[data-node-type]')).map(function (li) {
        return li.dataset.nodeType + ': ' + li.querySelector('.node-stats').textContent;
      });
    }),
    histogram: Array.from(drawn.querySelectorAll('svg[data-chart="histogram"] rect')).map(function (r) { return Number(r.dataset.count); }),
    not_available: Array.from(drawn.querySelectorAll('[data-not-available]')).map(function (n) { return n.dataset.notAvailable; })
  };
  window.qprofReport.showStatement(keys.top, false);
}
return result;
JS
$probe_body =~ s/^return result;$/$drawn_probe/m
  or die 'report_probe.js does not end with "return result;"';

# Opens `page` in the browser with the probe: (exit status, what it saw).
sub probe_page
{
    my ($html, $keys, $name) = @_;
    my $probe_file = "$out_dir/probe-$name.js";
    open my $fh, '>', $probe_file or die $!;
    print $fh "(function (keys) {\n$probe_body\n})("
      . JSON::PP->new->encode($keys) . ')';
    close $fh;
    my ($bout, $berr) = ('', '');
    IPC::Run::run(
        [ '/usr/bin/python3', "$FindBin::Bin/../report/browser_page.py", $html,
            '--probe', $probe_file, '--screenshot', "$out_dir/$name.png", '--full-page' ],
        '>', \$bout, '2>', \$berr, IPC::Run::timeout(300));
    diag $berr if $?;
    return ($?, JSON::PP->new->utf8->decode($bout || '{}'));
}
# the statement whose plan changed: two plans, each with its tree
my $changed = first { $_->{key} eq $fleet->{plan_changes}[0]{statement} } @fleet_statements;
ok($changed && @{ $changed->{plans} } >= 2, 'a statement with two plans');
my ($brc, $seen) = probe_page($page,
    { top => $top->{key}, hostile => '', drawn => $changed->{key} }, 'report');
is($brc, 0, 'the browser opened the page');
my $dom = $seen->{probe} // {};
diag "page: $page";

is_deeply($seen->{errors}, [], 'no console error, no uncaught exception');
is_deeply($seen->{requests}, [], 'no network request');
is_deeply($dom->{draw_errors}, [], 'every part of the page was drawn');
is_deeply($dom->{sections},
    [ qw(summary insights statements plan-changes by-route by-controller by-app
        by-user by-db requests errors plan-nodes kernel waits timeseries heatmap
        inputs) ],
    'every section of the page, in order');

my $summary = $fleet->{summary};
for my $field (qw(db_time_ms executions statements errors))
{
    ok(close_to($dom->{cards}{$field}, $summary->{$field}),
        "summary $field: page $dom->{cards}{$field}, ClickHouse $summary->{$field}");
    ok(close_to($dom->{cards}{$field}, $files->{summary}{$field}),
        "summary $field: as the report of the files");
}

sub has_waits { my ($row) = @_; return ($row->{kernel} && $row->{kernel}{waits}) || $row->{sampled_waits}; }
my %tables = %{ $dom->{tables} // {} };
my %expected_rows = (
    statements => scalar @fleet_statements,
    plan_changes => scalar @{ $fleet->{plan_changes} },
    n_plus_one => scalar @{ $fleet->{requests}{n_plus_one} },
    errors => scalar @{ $fleet->{errors} },
    node_hotspots => scalar @{ $fleet->{node_hotspots} },
    'dimension-route' => scalar @{ $route_dim->{groups} },
    'kernel-statements' => 0,
    'waits-statements' => scalar(grep { has_waits($_) } @fleet_statements),
    'waits-routes' => scalar(grep { has_waits($_) } @{ $route_dim->{groups} }));
for my $name (sort keys %expected_rows)
{
    is($tables{$name}{rows}, $expected_rows{$name},
        "table $name has $expected_rows{$name} rows");
}
ok($expected_rows{$_} > 0, "the workload has $_")
  for qw(plan_changes n_plus_one errors node_hotspots waits-statements);

# the statements as the report of the files lists them, by total time
my %text_of = map { ($_->{key} => $_->{text}) } @fleet_statements;
my @files_top = map { $_->{text} }
  sort { $b->{total_ms} <=> $a->{total_ms} } @{ $files->{statements} };
is_deeply([ map { $text_of{$_} } @{ $tables{statements}{keys} }[ 0 .. 4 ] ],
    [ @files_top[ 0 .. 4 ] ],
    'the first statements of the page are those of the report of the files');
ok(close_to($tables{statements}{first_total_ms}, $top->{total_ms}),
    'the first statement row shows its total time');
is_deeply([ sort @{ $tables{'dimension-route'}{names} } ],
    [ sort map { $_->{name} } @{ $route_dim->{groups} } ],
    'the route table lists the routes');
my ($div0) = grep { $_->{sqlstate} eq '22012' } @{ $fleet->{errors} };
ok($div0, 'the division by zero is in the errors');
is($tables{errors}{by_key}{22012}, $div0->{count}, 'the errors table counts it');

is_deeply($dom->{insights}, [ map { $_->{kind} } @{ $fleet->{insights} } ],
    'the page shows the insights in order');

my $detail = $dom->{top_detail} // {};
is($detail->{text}, $top->{text}, "the top statement's detail");
is($detail->{plans}, scalar @{ $top->{plans} }, 'with its plans');

# The plan trees with their nodes' actuals and the latency histogram are
# drawn from ClickHouse's answers as the page of the files draws them.
my $files_page = "$out_dir/files.html";
($rc, $out, $err) = run_qprof('report', $capture, '--html', $files_page);
is($rc, 0, 'qprof report --html of the capture') or diag $err;
my $files_changed = $files_by_text{ $changed->{text} };
my ($frc2, $files_seen) = probe_page($files_page,
    { top => $files->{statements}[0]{key}, hostile => '', drawn => $files_changed->{key} },
    'files');
is($frc2, 0, 'the browser opened the page of the files');
my ($drawn, $files_drawn) = ($dom->{drawn} // {}, $files_seen->{probe}{drawn} // {});
is(scalar @{ $drawn->{plans} // [] }, scalar @{ $changed->{plans} },
    'the statement whose plan changed: each plan drawn');
is(scalar(grep { @$_ >= 1 } @{ $drawn->{plans} // [] }), scalar @{ $changed->{plans} },
    'each with its tree of nodes');
ok((grep { @$_ >= 2 } @{ $drawn->{plans} // [] }), 'a tree of several nodes');
ok((grep { /rows \d/ } map { @$_ } @{ $drawn->{plans} // [] }),
    'the nodes with their actual rows');
is_deeply([ sort map { join("\n", @$_) } @{ $drawn->{plans} // [] } ],
    [ sort map { join("\n", @$_) } @{ $files_drawn->{plans} // [] } ],
    'every node of every plan tree drawn with the actuals of the page of the files');
is(sum0(@{ $drawn->{histogram} // [] }), $changed->{executions},
    'its latency histogram drawn, every execution in a bar');
is_deeply($drawn->{histogram}, $files_drawn->{histogram},
    'every bar as on the page of the files');

# Every attribution's table, drawn from ClickHouse's answers as on the page
# of the files: its groups, their time, calls and top statement.
sub drawn_dimensions
{
    my ($probed) = @_;
    my %out;
    for my $dim (keys %{ $probed->{dimensions} // {} })
    {
        $out{$dim} = { map { ($_->{name} => join(' | ', sprintf('%.3f', $_->{total_ms}),
                    sprintf('%.6g', $_->{calls}), $_->{top} // '')) }
              @{ $probed->{dimensions}{$dim} } };
    }
    return \%out;
}
my $fleet_dims = drawn_dimensions($dom);
is_deeply([ sort keys %$fleet_dims ], [ qw(app controller db route user) ],
    'the page from ClickHouse draws a table per dimension');
is_deeply($fleet_dims, drawn_dimensions($files_seen->{probe}),
    "each with the groups, time, calls and top statement of the page of the files");
for my $dim (@{ $fleet->{attribution}{dimensions} })
{
    is($tables{"dimension-$dim->{dimension}"}{rows}, scalar @{ $dim->{groups} },
        "table dimension-$dim->{dimension} has a row per group of the JSON");
}
is_deeply($drawn->{not_available}, [], 'nothing in its detail said not available');

for my $kind (qw(statement route))
{
    my $chart = $dom->{charts}{"timeseries-${kind}s"};
    ok($chart && $chart->{intervals} == $fleet->{timeseries}{intervals},
        "the $kind time series is drawn on the report's grid");
}
ok($dom->{charts}{heatmap}, 'the heatmap is drawn');

# What ClickHouse does not answer is said so, where the page would draw it.
my %not_available = map { ($_ => 1) } @{ $dom->{not_available} // [] };
for my $part (@{ $fleet->{not_available} })
{
    ok($not_available{$part}, "the page says $part is not available from ClickHouse");
}
is_deeply([ sort keys %not_available ], [ sort @{ $fleet->{not_available} } ],
    'and says so of nothing else');

sub close_to
{
    my ($x, $y) = @_;
    return 0 unless defined $x && defined $y;
    return abs($x - $y) <= 1e-6 * (abs($y) > 1 ? abs($y) : 1);
}

done_testing();
