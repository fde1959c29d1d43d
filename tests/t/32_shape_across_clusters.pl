# The portable shape id: the same plan on two separately created clusters
# ("staging" and "production", objects created in another order so their
# OIDs differ) has the same shape_id, while its planid (built from OIDs)
# differs; a different plan of the same query has another shape_id.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use File::Basename qw(dirname);
use lib dirname(__FILE__);
use QprofNode;

my $schema = q{
    CREATE SCHEMA shop;
    CREATE TABLE shop.orders (id int PRIMARY KEY, customer int, total int);
    CREATE TABLE shop.customers (id int PRIMARY KEY, name text);
    CREATE INDEX orders_customer ON shop.orders (customer);
    INSERT INTO shop.customers SELECT g, 'c' || g FROM generate_series(1, 500) g;
    INSERT INTO shop.orders SELECT g, g % 500 + 1, g % 1000 FROM generate_series(1, 20000) g;
    VACUUM ANALYZE shop.orders;
    VACUUM ANALYZE shop.customers;
};
my $query = q{SELECT c.name, sum(o.total) FROM shop.orders o
                JOIN shop.customers c ON c.id = o.customer
               WHERE c.id = 42 GROUP BY c.name};

my %ids;
for my $name ('staging', 'production')
{
    my $node = new_node($name);
    $node->init;
    $node->start;
    $node->safe_psql('postgres', 'CREATE EXTENSION pg_qprof');
    # production has a history: other objects first, so other OIDs
    $node->safe_psql('postgres',
        join('', map { "CREATE TABLE filler_$_ (x int);" } 1 .. 7))
      if $name eq 'production';
    $node->safe_psql('postgres', $schema);
    $node->safe_psql('postgres', $query);
    # and the same query forced onto another plan
    $node->safe_psql('postgres',
        "SET enable_indexscan = off; SET enable_bitmapscan = off; $query");
    $ids{$name} = $node->safe_psql(
        'postgres', q{
        SELECT string_agg(planid || ' ' || shape_id || ' ' || relid, ',' ORDER BY seq)
          FROM (SELECT DISTINCT ON (s.planid) s.seq, s.planid, p.shape_id,
                       'shop.orders'::regclass::oid AS relid
                  FROM pg_qprof.samples s
                  JOIN pg_qprof.plans p USING (queryid, planid)
                 WHERE s.query LIKE 'SELECT c.name, sum(o.total)%'
                 ORDER BY s.planid, s.seq) x});
    $node->stop;
}

my @staging = map { [split / /] } split /,/, $ids{staging};
my @production = map { [split / /] } split /,/, $ids{production};
is(scalar(@staging), 2, 'two plans of the query on staging');
is(scalar(@production), 2, 'two plans of the query on production');
isnt($staging[0][2], $production[0][2], 'the tables have other OIDs');
isnt($staging[0][0], $production[0][0],
    'so the first plan has another planid on each cluster');
is($staging[0][1], $production[0][1], 'but the same shape_id');
is($staging[1][1], $production[1][1],
    'the second plan also has one shape_id on both clusters');
isnt($staging[0][1], $staging[1][1], 'the two plans have two shape ids');

done_testing();
