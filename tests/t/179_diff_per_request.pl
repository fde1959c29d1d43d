# qprof diff compares routes per request of the route and statements per
# execution, not in totals: NEW recorded twice as long as BASE (twice the
# requests, the same cost each) is not flagged, though every total
# doubled; NEW as long as BASE whose requests of one route each run the
# same lookup five times more (N+1: no statement got slower, the route's
# median execution did not move) flags that route, per request, and
# --fail-on exits 1.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../collector";
use JSON::PP;
use PostgreSQL::Test::Utils;
use Test::More;
use QprofCollectorTest;
use QprofReportTest;

my $node = new_qprof_node('diff179', "max_parallel_workers_per_gather = 0\n");
$node->safe_psql('postgres', q{
    SET pg_qprof.enabled = off;
    CREATE TABLE items (id int PRIMARY KEY, order_id int, sku text);
    INSERT INTO items SELECT g, g % 5000, 'sku-' || g FROM generate_series(1, 50000) g;
    VACUUM ANALYZE items;
});
my $dsn = $node->connstr('postgres');
my $psql = $node->config_data('--bindir') . '/psql';
my $tmp = PostgreSQL::Test::Utils::tempdir;

# $requests requests of /orders/<id>, each looking up $lookups items (1 ms
# each), and as many of /health (one statement of microseconds, which a
# loaded machine cannot move by --min-delta); each request has its own
# traceparent.
sub script
{
    my ($name, $requests, $lookups) = @_;
    open my $fh, '>', "$tmp/$name.sql" or die;
    for my $r (1 .. $requests)
    {
        for my $l (1 .. $lookups)
        {
            print $fh tagged(
                sprintf("SELECT id, sku, pg_sleep(0.001) FROM items WHERE id = %d",
                    ($r * 13 + $l) % 50000 + 1),
                '/orders/<id>', 'Orders', 20000 + $r), ";\n";
        }
        print $fh tagged("SELECT 'ok' AS health",
            '/health', 'Health', 30000 + $r), ";\n";
    }
    close $fh;
    return "$tmp/$name.sql";
}


my $requests = 100;
my $base_script = script('base', $requests, 2);
# warm the caches: the first run of a fresh server is not the workload's
system($psql, '-X', '-q', '-d', $dsn, '-f', $base_script) == 0 or die;
record_script($dsn, $psql, "$tmp/base", $base_script);
record_script($dsn, $psql, "$tmp/longer", script('longer', 2 * $requests, 2));
record_script($dsn, $psql, "$tmp/nplus1", script('nplus1', $requests, 10));

# 1. Twice as long, the same cost per request: nothing flagged.
my ($rc, $doc, $err) = diff_json("$tmp/base", "$tmp/longer", '--fail-on', '20');
is($rc, 0, 'twice as long: --fail-on 20 exits 0') or diag $err;
my @flagged = grep { $_->{verdict} ne 'unchanged' }
  (@{ $doc->{statements} }, @{ $doc->{routes} });
is(scalar @flagged, 0, 'nothing regressed, improved, new or vanished')
  or diag explain [ map { [ $_->{name}, $_->{verdict}, $_->{median_ratio} ] } @flagged ];
my %route = map { ($_->{name} => $_) } @{ $doc->{routes} };
my $orders = $route{'/orders/<id>'};
is($orders->{test}{unit}, 'request', 'the route is tested per request');
is($orders->{test}{executions_base}, $requests, "$requests requests in BASE");
is($orders->{test}{executions_new}, 2 * $requests, 'twice as many in NEW');
cmp_ok($orders->{new}{total_ms}, '>', 1.6 * $orders->{base}{total_ms},
    'the route\'s total time about doubled');
# (within what a loaded machine moves 1 ms sleeps by, far from double)
my $per_request = $orders->{new}{ms_per_request} / $orders->{base}{ms_per_request};
cmp_ok($per_request, '<', 1.5, 'its mean time per request did not')
  or diag "ratio $per_request";
cmp_ok($orders->{median_ratio}, '<', 1.5, 'nor its median request');
is($orders->{base}{calls_per_request}, 2, 'two executions in a request of BASE');
is($orders->{new}{calls_per_request}, 2, 'and of NEW');
my ($lookup) = grep { $_->{name} =~ /FROM items WHERE id = / } @{ $doc->{statements} };
is($lookup->{test}{unit}, 'execution', 'a statement is tested per execution');
is($lookup->{test}{executions_new}, 4 * $requests, 'over its executions');

# 2. As long, but each request of /orders/<id> runs its lookup 10 times
# instead of 2: the route regressed per request, no statement did.
($rc, $doc, $err) = diff_json("$tmp/base", "$tmp/nplus1", '--fail-on', '50');
is($rc, 1, 'N+1: --fail-on 50 exits 1') or diag $err;
%route = map { ($_->{name} => $_) } @{ $doc->{routes} };
$orders = $route{'/orders/<id>'};
is($doc->{routes}[0]{name}, '/orders/<id>', 'the route first');
is($orders->{verdict}, 'regressed', 'regressed');
ok($orders->{fails}, 'and fails the gate');
is($orders->{test}{unit}, 'request', 'per request');
is($orders->{test}{executions_new}, $requests, "over its $requests requests");
cmp_ok($orders->{test}{p_value}, '<', 0.01, 'significant');
cmp_ok($orders->{median_ratio}, '>', 3, 'its median request about 5 times longer');
is($orders->{new}{calls_per_request}, 10, 'ten executions a request');
cmp_ok(abs($orders->{new}{p50_ms} / $orders->{base}{p50_ms} - 1), '<', 0.2,
    'while its median execution did not move');
is($route{'/health'}{verdict}, 'unchanged', 'the other route is unchanged');
my @statements = grep { $_->{verdict} eq 'regressed' } @{ $doc->{statements} };
is(scalar @statements, 0, 'no statement regressed')
  or diag explain [ map { [ $_->{name}, $_->{median_ratio} ] } @statements ];

my ($trc, $text) = run_qprof('diff', "$tmp/base", "$tmp/nplus1", '--fail-on', '50');
is($trc, 1, 'terminal: exit 1');
like($text, qr{Routes \(per request[^\n]*\n[^\n]*requests[^\n]*\nregressed [^\n]*/orders/<id>},
    'the terminal lists the route first, per request');
like($text, qr{requests 100 -> 100  executions a request 2\.00 -> 10\.00},
    'with its requests and executions per request');
my @long = grep { length($_) > 100 } split /\n/, $text;
is(scalar @long, 0, 'the terminal output fits 100 columns') or diag join("\n", @long);
note $text;

done_testing();
