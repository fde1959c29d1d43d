# qprof diff across servers: the same workload recorded on two fresh
# clusters whose OIDs (and so queryids) differ is matched statement by
# statement by normalized text and plan shape; nothing is new or vanished
# and the plans are not called changed.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../collector";
use PostgreSQL::Test::Utils;
use Test::More;
use QprofCollectorTest;
use QprofReportTest;

my $tmp = PostgreSQL::Test::Utils::tempdir;
my $conf = "pg_qprof.analyze_sample_rate = 1\nmax_parallel_workers_per_gather = 0\n";
my @nodes = (new_qprof_node('diff178a', $conf), new_qprof_node('diff178b', $conf));
# the second cluster's tables get other OIDs
$nodes[1]->safe_psql('postgres',
    'SET pg_qprof.enabled = off; CREATE TABLE shift_oids (a int); DROP TABLE shift_oids');

open my $fh, '>', "$tmp/work.sql" or die;
for my $r (1 .. 100)
{
    print $fh tagged("SELECT id, status FROM orders WHERE customer_id = " . ($r % 500),
        '/customers/<id>/orders', 'CustomerOrders', 500 + $r), ";\n";
    print $fh tagged("SELECT count(*) FROM orders WHERE id BETWEEN $r AND " . ($r + 50),
        '/orders/range', 'OrderRange', 500 + $r), ";\n";
}
close $fh;

for my $i (0, 1)
{
    my $node = $nodes[$i];
    $node->safe_psql('postgres', q{
        SET pg_qprof.enabled = off;
        CREATE TABLE orders (id serial PRIMARY KEY, customer_id int, status text);
        INSERT INTO orders (customer_id, status)
            SELECT g % 500, 'open' FROM generate_series(1, 20000) g;
        CREATE INDEX orders_customer_idx ON orders (customer_id);
        VACUUM ANALYZE orders;
    });
    my $dsn = $node->connstr('postgres');
    my $psql = $node->config_data('--bindir') . '/psql';
    my ($rc, $out, $err) = run_qprof('record', '--dsn', $dsn, '--out',
        "$tmp/cap$i", '--bpf', 'off', '--', $psql, '-X', '-q', '-v',
        'ON_ERROR_STOP=1', '-d', $dsn, '-f', "$tmp/work.sql");
    die "qprof record failed ($rc): $err" if $rc != 0;
}
my $oids = join ',', map { $_->safe_psql('postgres',
        "SELECT 'orders'::regclass::oid") } @nodes;
my ($a, $b) = split /,/, $oids;
isnt($a, $b, "the table has other OIDs on the two clusters ($oids)");

my ($rc, $doc, $err) = diff_json("$tmp/cap0", "$tmp/cap1");
is($rc, 0, 'diff of two clusters succeeds') or diag $err;
ok(!$doc->{same_server}, 'the captures are of different servers');
for my $pattern (qr/customer_id = \$1/, qr/id BETWEEN \$1 AND \$2/)
{
    my @rows = grep { $_->{name} =~ $pattern } @{ $doc->{statements} };
    is(scalar @rows, 1, "one row for $pattern");
    my $row = $rows[0] // {};
    is($row->{matched_by}, 'text', 'matched by text');
    like($row->{key}, qr/^-?\d+ -> -?\d+$/, 'their queryids differ');
    isnt($row->{verdict}, 'new', 'not new');
    isnt($row->{verdict}, 'vanished', 'not vanished');
    is($row->{test}{executions_base}, 100, 'all base executions behind it');
    is($row->{test}{executions_new}, 100, 'all new executions behind it');
    ok(!$row->{plan_changed}, 'the same plan shape on both');
    like($row->{plan_base}{shape_id} // "", qr/^-?[1-9][0-9]*$/, "the plan has a portable shape id, a string of digits");
    is($row->{plan_base}{shape_id}, $row->{plan_new}{shape_id},
        'the portable shape ids are equal');
}
my %route = map { ($_->{name} => $_) } @{ $doc->{routes} };
ok($route{'/orders/range'}{base} && $route{'/orders/range'}{new},
    'routes matched by name');

$_->stop for @nodes;
done_testing();
