# qprof diff tests the work of an execution as it tests its latency: rows
# and shared blocks accessed per execution (Welch's test of the means) and
# the error rate (a two-proportion z test). The same workload twice changes
# none of them; after the table doubled, the lookup by order returns and
# reads twice as much, significantly, and a division that now fails on a
# quarter of its executions has a significant error rate; a statement that
# does the same work is not flagged.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../collector";
use JSON::PP;
use PostgreSQL::Test::Utils;
use Test::More;
use QprofCollectorTest;
use QprofReportTest;

my $node = new_qprof_node('diff181', "max_parallel_workers_per_gather = 0\n");
$node->safe_psql('postgres', q{
    SET pg_qprof.enabled = off;
    CREATE TABLE items (id int PRIMARY KEY, order_id int, sku text);
    INSERT INTO items SELECT g, g % 5000, 'sku-' || g FROM generate_series(1, 50000) g;
    CREATE INDEX items_order_idx ON items (order_id);
    VACUUM ANALYZE items;
});
my $dsn = $node->connstr('postgres');
my $psql = $node->config_data('--bindir') . '/psql';
my $tmp = PostgreSQL::Test::Utils::tempdir;

# 200 requests of /orders/<id>: the items of an order, a ratio over one
# item (which fails where id % 4 = 0: $divisor_ids says which ids are
# used), and one item's sku.
my $requests = 200;
sub script
{
    my ($name, $failing) = @_;
    open my $fh, '>', "$tmp/$name.sql" or die;
    for my $r (1 .. $requests)
    {
        my $id = $failing ? $r : 4 * $r + 1;    # every 4th fails, or none
        print $fh tagged("SELECT id FROM items WHERE order_id = " . ($r * 7 % 5000),
            '/orders/<id>', 'Orders', 40000 + $r), ";\n";
        print $fh tagged("SELECT 10 / (id % 4) FROM items WHERE id = $id",
            '/orders/<id>', 'Orders', 40000 + $r), ";\n";
        print $fh tagged("SELECT sku FROM items WHERE id = " . ($r * 13),
            '/orders/<id>', 'Orders', 40000 + $r), ";\n";
    }
    close $fh;
    return "$tmp/$name.sql";
}


# The row of the statement whose text matches, and its work changes by
# measure.
sub statement
{
    my ($doc, $re) = @_;
    my ($row) = grep { $_->{name} =~ $re } @{ $doc->{statements} };
    die "no statement like $re" unless $row;
    return ($row, { map { ($_->{measure} => $_) } @{ $row->{work} } });
}

my $base_script = script('base', 0);
system($psql, '-X', '-q', '-d', $dsn, '-f', $base_script) == 0 or die;
record_script($dsn, $psql, "$tmp/base", $base_script, stop_on_error => 0);
record_script($dsn, $psql, "$tmp/again", $base_script, stop_on_error => 0);

# 1. The same workload twice: no work change is significant.
my ($rc, $doc, $err) = diff_json("$tmp/base", "$tmp/again");
is($rc, 0, 'the same workload twice: exit 0') or diag $err;
my @workload = grep { ($_->{route} // '') eq '/orders/<id>' } @{ $doc->{statements} };
is(scalar @workload, 3, 'the three statements of the workload are compared');
for my $row (@workload)
{
    is(scalar(@{ $row->{work} }), 4, "four measures tested: $row->{name}");
    my @changed = grep { $_->{significant} } @{ $row->{work} };
    is(scalar @changed, 0, "no significant work change: $row->{name}")
      or diag explain \@changed;
}

# 2. The table doubled (each order has twice the items) and the division
# now meets ids that are multiples of 4.
$node->safe_psql('postgres', q{
    SET pg_qprof.enabled = off;
    INSERT INTO items SELECT g, g % 5000, 'sku-' || g FROM generate_series(50001, 100000) g;
    VACUUM ANALYZE items;
});
record_script($dsn, $psql, "$tmp/new", script('new', 1), stop_on_error => 0);
($rc, $doc, $err) = diff_json("$tmp/base", "$tmp/new");
is($rc, 0, 'no --fail-on: exit 0') or diag $err;

my ($lookup, $work) = statement($doc, qr/WHERE order_id = /);
is($work->{rows_per_call}{base}, 10, 'ten items an order before');
is($work->{rows_per_call}{new}, 20, 'twenty after');
ok($work->{rows_per_call}{significant}, 'rows per execution: significant');
is($work->{rows_per_call}{method}, 'welch-t', 'by Welch\'s test');
cmp_ok($work->{rows_per_call}{p_value}, '<', 0.01, 'p < 0.01');
ok($work->{shared_blks_accessed_per_call}{significant},
    'shared blocks accessed per execution: significant');
cmp_ok($work->{shared_blks_accessed_per_call}{new}, '>',
    1.3 * $work->{shared_blks_accessed_per_call}{base}, 'more blocks an execution');
ok(!$work->{error_rate}{significant}, 'its error rate did not change');

my ($ratio, $ratio_work) = statement($doc, qr{SELECT \$1 / \(id % \$2\)});
is($ratio_work->{error_rate}{base}, 0, 'the division never failed before');
cmp_ok(abs($ratio_work->{error_rate}{new} - 0.25), '<', 0.01, 'a quarter of it fails after');
is($ratio_work->{error_rate}{method}, 'two-proportion-z', 'by a two-proportion z test');
ok($ratio_work->{error_rate}{significant}, 'error rate: significant');
cmp_ok($ratio_work->{error_rate}{p_value}, '<', 1e-6, 'p < 1e-6');
ok(!$ratio_work->{rows_per_call}{significant}, 'its rows did not change significantly')
  or diag explain $ratio_work->{rows_per_call};

my ($sku, $sku_work) = statement($doc, qr/SELECT sku FROM items WHERE id = /);
my @changed = grep { $_->{significant} } @{ $sku->{work} };
is(scalar @changed, 0, 'the sku lookup does the same work') or diag explain \@changed;

my ($trc, $text) = run_qprof('diff', "$tmp/base", "$tmp/new", '--top', '50');
like($text, qr/work changed: rows 10\.0 -> 20\.0 a call \(p /, 'the terminal shows the rows change');
like($text, qr/work changed: errors 0\.0% -> 25\.0% \(p /, 'and the error rate');
my @long = grep { length($_) > 100 } split /\n/, $text;
is(scalar @long, 0, 'the terminal output fits 100 columns') or diag join("\n", @long);
note $text;

done_testing();
