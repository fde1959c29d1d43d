# qprof report on a capture of a known workload with planted problems
# (QprofReportTest::plant_workload): the slow statement is first by total
# time; the dropped index on a large table that a tagged route filters on
# is the first insight, with table, column, route and the CREATE INDEX; the
# plan change is reported with both plans; the N+1 loop is found with its
# request and route; the spill is found with a work_mem that fits; the
# route attribution sums to the database time; the filters filter; the
# terminal report fits 100 columns.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../collector";
use List::Util qw(sum first);
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time);
use QprofCollectorTest;
use QprofReportTest;

my $node = new_qprof_node('report170',
    "pg_qprof.analyze_sample_rate = 1\nmax_parallel_workers_per_gather = 0\n");
plant_workload($node);
my $dir = PostgreSQL::Test::Utils::tempdir . '/cap';
capture_once($node, $dir);

my $started = time;
my ($rc, $doc, $err) = report_json($dir, '--top', '50');
my $seconds = time - $started;
is($rc, 0, 'report --json succeeds') or diag $err;
diag sprintf('qprof report --json on %d samples: %.2f s',
    $doc->{inputs}{samples_read}, $seconds);

diag sprintf('insight %s: %.0f ms', $_->{kind}, $_->{db_time_ms})
  for @{ $doc->{insights} }[ 0 .. 2 ];
my %statement = map { ($_->{key} => $_) } @{ $doc->{statements} };
my %plan = map { ($_->{key} => $_) } @{ $doc->{plans} };
my $text_of = sub { $statement{ $_[0] }{text} // '' };

# the slow statement first by total time
my $first = $doc->{rankings}{total_time}[0];
like($text_of->($first), qr/pg_sleep/, 'the slow statement is first by total time');
cmp_ok($statement{$first}{calls}, '==', 15, 'with its 15 calls');
cmp_ok($statement{$first}{p50_ms}, '>=', 199, 'its median is the 0.2 s sleep');
cmp_ok($statement{$first}{p50_ms}, '<', 300, 'within reason');
is($statement{$first}{routes}[0]{name}, '/reports/slow', 'from its route');

# the missing index: the first insight, naming table, column and route
my $insight = $doc->{insights}[0];
is($insight->{kind}, 'missing_index', 'the first insight is the missing index')
  or diag explain [ map { "$_->{kind}: $_->{title}" } @{ $doc->{insights} } ];
is($insight->{table}, 'public.orders', 'on the table orders');
is_deeply($insight->{columns}, ['customer_id'], 'on the column customer_id');
is($insight->{route}, '/customers/<id>/orders', 'for the route that filters on it');
like($text_of->($insight->{statement}), qr/FROM orders WHERE customer_id = \$1/,
    'for the statement');
is($insight->{sql}, 'CREATE INDEX CONCURRENTLY ON public.orders (customer_id);',
    'with the CREATE INDEX to run');
like(join("\n", @{ $insight->{evidence} }), qr/Seq Scan on public\.orders/,
    'the evidence names the scan');
cmp_ok($insight->{facts}{rows_removed_per_execution}, '>', 90000,
    'the scan discards most rows (per-node actuals)');

# the plan change: both plans
my $change = first { $text_of->($_->{statement}) =~ /customer_id = / }
@{ $doc->{plan_changes} };
ok($change, 'the plan change is reported');
like($plan{ $change->{faster_plan} }{text}, qr/orders_customer_idx/,
    'the faster plan used the index');
like($plan{ $change->{slower_plan} }{text}, qr/Seq Scan on public\.orders/,
    'the slower plan scans the table');
is(scalar @{ $change->{plans} }, 2, 'two plans, in the order they appeared');
is($change->{plans}[0], $change->{faster_plan}, 'the index plan first');
my $regression = first { $_->{kind} eq 'plan_regression' } @{ $doc->{insights} };
ok($regression, 'the plan change is an insight');
is_deeply([ sort @{ $regression->{plans} } ],
    [ sort $change->{faster_plan}, $change->{slower_plan} ],
    'naming both plans');
like(join("\n", @{ $regression->{evidence} }), qr/orders_customer_idx.*dropped/,
    'and the dropped index');
ok(defined $plan{ $change->{slower_plan} }{nodes}, 'the plan has its node tree');
my $scan = $plan{ $change->{slower_plan} }{nodes};
$scan = $scan->{children}[0] while $scan && $scan->{node_type} ne 'Seq Scan';
ok($scan && $scan->{executions} == 40, 'per-node actuals of the 40 executions');
like($scan->{filter} // '', qr/customer_id/, 'with the filter of the stored plan');

# N+1: the request and the route
my $n1 = first { $text_of->($_->{statement}) =~ /FROM items WHERE id/ }
@{ $doc->{requests}{n_plus_one} };
ok($n1, 'the N+1 loop is found');
is($n1->{route}, '/orders/<id>/items', 'on its route');
is($n1->{requests}, 10, 'in each of its 10 requests');
is($n1->{max_per_request}, 12, '12 times per request');
like($n1->{example_request}, qr/^0+abc0[0-9a-f]{2}$/, 'with an example request (trace id)');
is($doc->{requests}{tag}, 'traceparent', 'requests told by traceparent');

# the spill
my $spill = first { $_->{kind} eq 'spill' } @{ $doc->{insights} };
ok($spill, 'the spill is found');
like($text_of->($spill->{statement}), qr/ORDER BY note/, 'for the sort');
is($spill->{route}, '/reports/export', 'on its route');
cmp_ok($spill->{facts}{work_mem_fit_kb}, '>', $spill->{facts}{work_mem_now_kb},
    'suggesting more work_mem');
cmp_ok($spill->{facts}{work_mem_fit_kb} * 1024, '>=', $spill->{facts}{temp_bytes_max},
    'enough for what it spilled');
like($spill->{sql}, qr/^SET work_mem = '\d+MB';$/, 'as a SET');

# attribution sums to the database time, by every dimension
my $db_ms = $doc->{summary}{db_time_ms};
cmp_ok($db_ms, '>', 1500, 'database time includes the sleeps');
for my $dim (@{ $doc->{attribution}{dimensions} })
{
    is($dim->{groups_total}, scalar @{ $dim->{groups} }, "all $dim->{dimension} groups listed");
    my $sum = sum(map { $_->{total_ms} } @{ $dim->{groups} });
    cmp_ok(abs($sum - $db_ms), '<', 0.001 * $db_ms + 0.01,
        "$dim->{dimension} attribution sums to the database time");
}
my ($routes) = grep { $_->{dimension} eq 'route' } @{ $doc->{attribution}{dimensions} };
my %route = map { ($_->{name} => $_) } @{ $routes->{groups} };
ok($route{'/reports/slow'}, 'the route of the slow statement');
is($route{'/customers/<id>/orders'}{calls}, 60, 'the orders route has its 60 calls');

# the filters
my ($frc, $only) = report_json($dir, '--route', '/orders/<id>/items');
is($frc, 0, '--route');
is($only->{summary}{calls}, 120, '--route keeps only its executions');
my ($grc, $by_ctl) = report_json($dir, '--group-by', 'controller');
is($by_ctl->{attribution}{group_by}, 'controller', '--group-by controller');
my ($trc, $by_tag) = report_json($dir, '--group-by', 'tag:controller', '--top', '3');
is($trc, 0, '--group-by tag:NAME');
my ($tagdim) = grep { $_->{dimension} eq 'tag:controller' }
  @{ $by_tag->{attribution}{dimensions} };
is(scalar @{ $tagdim->{groups} }, 3, '--top cuts the groups');
is($tagdim->{groups}[0]{name}, 'SlowReport', 'the tag groups, by time');
my $end = $doc->{summary}{end_unix_us};
my ($src, $late) = report_json($dir, '--since', '@' . ($end / 1e6 + 10));
is($late->{summary}{executions}, 0, '--since after the end keeps nothing');
my ($urc, $early) = report_json($dir, '--until', '1d');
is($early->{summary}{executions}, 0, '--until a day before the end keeps nothing');
my ($arc, $all) = report_json($dir, '--since', '1d');
is($all->{summary}{executions}, $doc->{summary}{executions},
    '--since a day before the end keeps everything');
my ($bad) = run_qprof('report', $dir, '--group-by', 'nonsense');
is($bad, 1, 'a bad --group-by is a usage error');

# the terminal report
my ($trc2, $terminal, $terr) = run_qprof('report', $dir);
is($trc2, 0, 'the terminal report');
my @long = grep { length($_) > 100 } split /\n/, $terminal;
is(scalar @long, 0, 'fits 100 columns') or diag join("\n", @long);
my @screen = (split /\n/, $terminal)[ 0 .. 39 ];
like(join("\n", @screen), qr/1\. \[missing_index.*public\.orders/s,
    'its first screen gives the missing index first');
like(join("\n", @screen), qr/CREATE INDEX CONCURRENTLY ON public\.orders \(customer_id\)/,
    'with the statement to run');
like($terminal, qr/Top statements by total time\n-+\nkey.*\ns\d+ .*pg_sleep/,
    'the slow statement heads the top statements');

$node->stop;
done_testing();
