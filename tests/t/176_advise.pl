# qprof advise CAPTURE --dsn STAGING: each missing-index insight of a
# capture tried as a hypothetical index (hypopg). The index dropped from a
# large table is verified (its statement's generic plan uses it, cheaper)
# and ranked first, before a smaller one; an insight whose index the
# planner would not use (an equality on a three-valued column of rows of
# 2 kB, its values scattered: a generic plan expects a third of the rows,
# on most pages, and scans) is left out, and said so on stderr. Nothing is
# created: no index, and hypopg created for the occasion is rolled back. A
# role that may not create hypopg, or may not read the tables, is told so.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../collector";
use PostgreSQL::Test::Utils;
use Test::More;
use QprofCollectorTest;
use QprofReportTest;

my $node = new_qprof_node('advise');
my $available = $node->safe_psql('postgres',
    "SELECT count(*) FROM pg_available_extensions WHERE name = 'hypopg'");
plan skip_all => 'hypopg is not installed (postgresql-15-hypopg)'
  unless $available;

# Not recorded: the tables, an index on orders (customer_id) dropped.
$node->safe_psql('postgres', q{
    SET pg_qprof.enabled = off;
    CREATE TABLE orders (id int PRIMARY KEY, customer_id int, status text,
                         note text);
    INSERT INTO orders SELECT g, g % 1000,
           CASE WHEN g % 5000 = 0 THEN 'open' ELSE 'done' END, md5(g::text)
      FROM generate_series(1, 100000) g;
    CREATE INDEX orders_customer_idx ON orders (customer_id);
    CREATE TABLE events (id int PRIMARY KEY, device int, payload text);
    INSERT INTO events SELECT g, g % 2000, md5(g::text)
      FROM generate_series(1, 20000) g;
    CREATE TABLE archive (id int PRIMARY KEY, state text, body text);
    ALTER TABLE archive ALTER body SET STORAGE PLAIN;
    INSERT INTO archive SELECT g,
           CASE WHEN g % 2000 = 0 THEN 'open'
                WHEN hashint4(g) % 2 = 0 THEN 'done' ELSE 'closed' END,
           (SELECT string_agg(md5((g * 100 + i)::text), '')
              FROM generate_series(1, 58) i)
      FROM generate_series(1, 12000) g;
    VACUUM ANALYZE orders;
    VACUUM ANALYZE events;
    VACUUM ANALYZE archive;
    DROP INDEX orders_customer_idx;
});

my $script = "SET pg_qprof.analyze_sample_rate = 1;\n";
$script .= tagged("SELECT id, status FROM orders WHERE customer_id = $_",
    '/customers/<id>/orders', 'CustomerOrders') . ";\n" for 1 .. 40;
$script .= tagged("SELECT id FROM archive WHERE state = 'open'",
    '/archive/open', 'OpenArchive') . ";\n" for 1 .. 40;
$script .= tagged("SELECT payload FROM events WHERE device = $_",
    '/devices/<id>/events', 'DeviceEvents') . ";\n" for 1 .. 10;
$node->safe_psql('postgres', $script);
my $dir = PostgreSQL::Test::Utils::tempdir . '/cap';
capture_once($node, $dir);

my ($rc, $doc, $err) = report_json($dir);
my @missing = grep { $_->{kind} eq 'missing_index' } @{ $doc->{insights} };
note join("\n", map { $_->{sql} } @missing);
ok((grep { ($_->{sql} // '') =~ /archive \(state\)/ } @missing),
    'the report has an insight on archive (state), to be left out');

my $indexes_before = $node->safe_psql('postgres',
    'SELECT count(*) FROM pg_indexes');
my $out;
($rc, $out, $err) = run_qprof('advise', $dir, '--dsn',
    $node->connstr('postgres'));
is($rc, 0, 'advise succeeds') or diag $err;
note $out;
note $err;
like($out, qr/^1\. public\.orders \(customer_id\): saves about /m,
    'the dropped index is verified and ranked first');
like($out, qr/CREATE INDEX CONCURRENTLY ON public\.orders \(customer_id\);/,
    'with its CREATE INDEX CONCURRENTLY');
like($out, qr/estimated size \d[\d.]* [KMG]i?B/, 'and its estimated size');
like($out, qr/cost [\d.]+ -> [\d.]+, uses the index; .*routes: \/customers\/<id>\/orders/,
    'the cost before and after, and the route it serves');
like($out, qr/^2\. public\.events \(device\)/m,
    'the smaller one comes second');
unlike($out, qr/archive/, 'the index the planner would not use is not listed');
like($err, qr/left out public\.archive \(CREATE INDEX ON public\.archive \(state\)\): the planner would not use it/,
    'it is said to be left out, and why');
# the saving is the first's time times its cost reduction
my ($cost_before, $cost_after) =
  $out =~ /cost ([\d.]+) -> ([\d.]+), uses the index/;
ok($cost_after < $cost_before / 2, "the cost falls ($cost_before -> $cost_after)");

is($node->safe_psql('postgres', 'SELECT count(*) FROM pg_indexes'),
    $indexes_before, 'no index was created');
is($node->safe_psql('postgres',
        "SELECT count(*) FROM pg_extension WHERE extname = 'hypopg'"),
    '0', 'hypopg, created for the transaction, was rolled back');

# A role that may not create hypopg: told so, exit 2.
$node->safe_psql('postgres', 'CREATE ROLE lowly LOGIN');
my $lowly = $node->connstr('postgres') . ' user=lowly';
($rc, $out, $err) = run_qprof('advise', $dir, '--dsn', $lowly);
is($rc, 2, 'a role that may not create hypopg: exit status 2');
like($err,
    qr/cannot create the hypopg extension in database postgres as role lowly .*permission denied/,
    'and the message says what is missing');

# hypopg created, but the role may not read the tables: nothing verified,
# each insight left out with the server's reason.
$node->safe_psql('postgres', 'CREATE EXTENSION hypopg');
($rc, $out, $err) = run_qprof('advise', $dir, '--dsn', $lowly);
is($rc, 0, 'a role that may not read the tables: advise runs');
like($out, qr/^None\.$/m, 'nothing is suggested');
like($err, qr/left out public\.orders \(.*\(customer_id\)\): not planned here: .*permission denied for table orders/,
    'and the lack of rights is said');

done_testing();
