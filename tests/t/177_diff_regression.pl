# qprof diff on captures recorded with `qprof record` on one server: the
# same workload twice is not flagged (nothing regressed, --fail-on exits
# 0); after an index is dropped and a pg_sleep added to one statement of a
# tagged route, both are flagged with their statement and route, the
# dropped index first with its plan change, and --fail-on exits 1; the
# terminal output fits 100 columns; the HTML page is self-contained;
# unusable input has its own exit status.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../collector";
use IPC::Run;
use JSON::PP;
use PostgreSQL::Test::Utils;
use Test::More;
use QprofCollectorTest;
use QprofReportTest;

my $node = new_qprof_node('diff177',
    "pg_qprof.analyze_sample_rate = 1\nmax_parallel_workers_per_gather = 0\n");
$node->safe_psql('postgres', q{
    SET pg_qprof.enabled = off;
    CREATE TABLE orders (id serial PRIMARY KEY, customer_id int,
        status text, note text);
    INSERT INTO orders (customer_id, status, note)
        SELECT g % 2000, 'open', md5(g::text) FROM generate_series(1, 100000) g;
    CREATE INDEX orders_customer_idx ON orders (customer_id);
    CREATE TABLE items (id int PRIMARY KEY, order_id int, sku text);
    INSERT INTO items SELECT g, g % 5000, 'sku-' || g FROM generate_series(1, 50000) g;
    VACUUM ANALYZE orders;
    VACUUM ANALYZE items;
});
my $dsn = $node->connstr('postgres');
my $psql = $node->config_data('--bindir') . '/psql';
my $tmp = PostgreSQL::Test::Utils::tempdir;

# The workload: requests of two tagged routes; $sleep is the pg_sleep of
# the item lookup (0: none), a constant that does not change its queryid.
my $requests = 150;
sub script
{
    my ($name, $sleep) = @_;
    open my $fh, '>', "$tmp/$name.sql" or die;
    for my $r (1 .. $requests)
    {
        print $fh tagged(
            "SELECT id, status FROM orders WHERE customer_id = " . ($r * 7 % 2000),
            '/customers/<id>/orders', 'CustomerOrders', 10000 + $r), ";\n";
        print $fh tagged(
            sprintf("SELECT id, sku, pg_sleep(%.3f) FROM items WHERE id = %d",
                $sleep, $r * 13),
            '/items/<id>', 'Items', 10000 + $r), ";\n";
    }
    close $fh;
    return "$tmp/$name.sql";
}


my $same = script('same', 0);
# warm the caches: the first run of a fresh server is not the workload's
system($psql, '-X', '-q', '-d', $dsn, '-f', $same) == 0 or die;
record_script($dsn, $psql, "$tmp/base", $same);
record_script($dsn, $psql, "$tmp/again", $same);

# 1. Noise: the same workload twice.
my ($rc, $doc, $err) = diff_json("$tmp/base", "$tmp/again", '--fail-on', '20');
is($rc, 0, 'the same workload twice: --fail-on 20 exits 0') or diag $err;
ok($doc->{same_server}, 'both captures are of the same server');
my @regressed = grep { $_->{verdict} eq 'regressed' }
  (@{ $doc->{statements} }, @{ $doc->{routes} });
is(scalar @regressed, 0, 'nothing regressed at the defaults')
  or diag explain [ map { [ $_->{name}, $_->{median_ratio}, $_->{test}{p_value} ] } @regressed ];
my @workload = grep { ($_->{route} // '') =~ m{^/(customers|items)/} }
  @{ $doc->{statements} };
is(scalar @workload, 2, 'both statements of the workload are compared');
is($_->{matched_by}, 'queryid', "matched by queryid: $_->{name}") for @workload;
cmp_ok($_->{test}{executions_new}, '==', $requests,
    "$requests executions behind the test: $_->{name}") for @workload;

# 2. A real regression: the index dropped, a sleep added to the lookup.
$node->safe_psql('postgres',
    'SET pg_qprof.enabled = off; DROP INDEX orders_customer_idx');
record_script($dsn, $psql, "$tmp/slow", script('slow', 0.001));
($rc, $doc, $err) = diff_json("$tmp/base", "$tmp/slow", '--fail-on', '20');
is($rc, 1, 'the regression: --fail-on 20 exits 1') or diag $err;
ok($doc->{failed}, 'and the document says it failed');
my $first = $doc->{statements}[0];
like($first->{name}, qr/FROM orders WHERE customer_id/, 'the dropped index first');
is($first->{verdict}, 'regressed', 'regressed');
ok($first->{fails}, 'and it fails the gate');
is($first->{route}, '/customers/<id>/orders', 'with its route');
cmp_ok($first->{test}{p_value}, '<', 0.01, 'significant');
ok($first->{plan_changed}, 'the plan change is shown');
like($first->{plan_base}{text}, qr/orders_customer_idx/, 'the old plan used the index');
like($first->{plan_new}{text}, qr/Seq Scan on (public\.)?orders/, 'the new one scans');
cmp_ok($first->{plan_new}{cost}, '>', $first->{plan_base}{cost}, 'at a higher cost');
cmp_ok($first->{new}{shared_blks_hit_per_call} + $first->{new}{shared_blks_read_per_call},
    '>', 10 * ($first->{base}{shared_blks_hit_per_call} + $first->{base}{shared_blks_read_per_call}),
    'and it reads many more blocks per execution');
my ($accessed) = grep { $_->{measure} eq 'shared_blks_accessed_per_call' } @{ $first->{work} };
ok($accessed->{significant}, 'which the test of the work per execution finds significant');
my ($sleepy) = grep { $_->{name} =~ /FROM items WHERE id/ } @{ $doc->{statements} };
is($sleepy->{verdict}, 'regressed', 'the statement with a sleep added regressed');
is($sleepy->{route}, '/items/<id>', 'on its route');
is($sleepy->{matched_by}, 'queryid', 'the same statement (a constant changed)');
ok(!$sleepy->{plan_changed}, 'with no plan change');
cmp_ok($sleepy->{median_ratio}, '>', 3, 'its median several times longer');
my %route = map { ($_->{name} => $_) } @{ $doc->{routes} };
is($route{$_}{verdict}, 'regressed', "route $_ regressed")
  for '/customers/<id>/orders', '/items/<id>';
is($doc->{routes}[0]{name}, '/customers/<id>/orders', 'the route of the index first');
cmp_ok($route{'/items/<id>'}{new}{calls_per_request}, '==', 1,
    'per request: one item lookup per request');

# The schema check diff_json makes can fail: a wrong type, an unknown
# field, a verdict not in its enum and a new row that claims a match are
# each found.
my $broken = JSON::PP->new->decode(JSON::PP->new->encode($doc));
$broken->{statements}[0]{test}{p_value} = 'small';
$broken->{routes}[0]{colour} = 'red';
$broken->{statements}[0]{work}[0]{measure} = 'vibes';
my ($items) = grep { $_->{name} eq '/items/<id>' } @{ $broken->{routes} };
$items->{base} = undef;
$items->{verdict} = $items->{raw_verdict} = 'new';
my @found = schema_errors(diff_schema(), $broken);
is(scalar @found, 4, 'a broken diff document fails with its four errors')
  or diag join("\n", @found);
like(join("\n", @found), qr/\$\.statements\[0\]\.test\.p_value: is string/,
    'the wrong type is named');
like(join("\n", @found), qr/\$\.routes\[0\]: unexpected colour/,
    'the unknown field is named');

# A threshold above the change does not fail; a min-share above every
# share neither.
($rc) = diff_json("$tmp/base", "$tmp/slow", '--fail-on', '1000000');
is($rc, 0, '--fail-on above the change exits 0');
($rc) = diff_json("$tmp/base", "$tmp/slow", '--fail-on', '20', '--min-share', '100');
is($rc, 0, '--min-share 100 exits 0');

# A route and a statement on one side only: new or vanished, matched by
# nothing (matched_by null, as the schema requires of such rows), the
# route both sides have matched by name.
open my $mf, '>', "$tmp/moved.sql" or die;
for my $r (1 .. 20)
{
    print $mf tagged("SELECT id, status FROM orders WHERE customer_id = $r",
        '/customers/<id>/orders', 'CustomerOrders', 20000 + $r), ";\n";
    print $mf tagged("SELECT count(*) FROM items WHERE order_id = $r",
        '/stock/<id>', 'Stock', 20000 + $r), ";\n";
}
close $mf;
record_script($dsn, $psql, "$tmp/moved", "$tmp/moved.sql");
($rc, $doc, $err) = diff_json("$tmp/base", "$tmp/moved");
is($rc, 0, 'routes on one side only: diff succeeds') or diag $err;
%route = map { ($_->{name} => $_) } @{ $doc->{routes} };
is($route{'/stock/<id>'}{verdict}, 'new', 'the route only in NEW is new');
is($route{'/stock/<id>'}{matched_by}, undef, 'and matched by nothing');
is($route{'/items/<id>'}{verdict}, 'vanished', 'the route only in BASE vanished');
is($route{'/items/<id>'}{matched_by}, undef, 'and matched by nothing');
is($route{'/customers/<id>/orders'}{matched_by}, 'name',
    'the route of both sides is matched by name');
my $counted = diff_row($doc->{statements}, qr/count\(\*\) FROM items/);
is($counted->{verdict}, 'new', 'the statement only in NEW is new');
is($counted->{matched_by}, undef, 'and matched by nothing');

# 3. The terminal output: within 100 columns, the regression first.
my ($trc, $text, $terr) = run_qprof('diff', "$tmp/base", "$tmp/slow",
    '--fail-on', '20', '--html', "$tmp/diff.html");
is($trc, 1, 'terminal: exit 1');
my @long = grep { length($_) > 100 } split /\n/, $text;
is(scalar @long, 0, 'the terminal output fits 100 columns') or diag join("\n", @long);
like($text, qr/Statements[^\n]*\n.*\nregressed .*\n    SELECT id, status FROM orders WHERE customer_id/,
    'the terminal lists the dropped index first');
like($text, qr/plan changed: cost/, 'with its plan change');
like($text, qr/--fail-on 20% .*FAILED/, 'and says the gate failed');
note $text;
open my $hf, '<', "$tmp/diff.html" or die;
my $html = do { local $/; <$hf> };
like($html, qr/customer_id/, 'the HTML page holds the comparison');
unlike($html, qr{(src|href)=["']?https?:}, 'and loads nothing from the network');
# Drawn in headless Chromium: the dropped index's row gives its work change
# and its plan change.
open my $pf, '>', "$tmp/probe.js" or die;
print $pf q{(function () {
    const row = [...document.querySelectorAll('tr.regressed')]
        .find(r => r.textContent.includes('FROM orders WHERE customer_id'));
    return { row: row ? row.textContent : null };
})()};
close $pf;
my ($bout, $berr) = ('', '');
IPC::Run::run([ '/usr/bin/python3', "$FindBin::Bin/../report/browser_page.py",
        "$tmp/diff.html", '--probe', "$tmp/probe.js",
        '--ready', 'document.getElementById("out").innerHTML.length > 0' ],
    '>', \$bout, '2>', \$berr, IPC::Run::timeout(300));
is($?, 0, 'the browser opened the page') or diag $berr;
my $seen = JSON::PP->new->utf8->decode($bout || '{}');
is_deeply($seen->{errors}, [], 'no console error');
like($seen->{probe}{row} // '', qr/work changed: shared_blks_accessed_per_call .*plan changed: cost/s,
    'the row of the dropped index draws its work change and its plan change');

# 4. Unusable input.
($rc, undef, $err) = run_qprof('diff', "$tmp/base", "$tmp/nowhere");
is($rc, 3, 'a capture that does not exist: exit 3');
mkdir "$tmp/junk";
open my $jf, '>', "$tmp/junk/capture-0001.qprof" or die;
print $jf "not a capture\n" x 10;
close $jf;
($rc, undef, $err) = run_qprof('diff', "$tmp/base", "$tmp/junk/capture-0001.qprof");
is($rc, 4, 'a capture with nothing readable: exit 4');
like($err, qr/NEW .*no capture file could be read|no execution/, 'and says which side');

done_testing();
