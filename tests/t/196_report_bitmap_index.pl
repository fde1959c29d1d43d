# A Bitmap Index Scan names its index but not its schema or table (EXPLAIN
# gives those on the Bitmap Heap Scan above it). The plan regression's
# check of the index the faster plan used must still find that index in
# the catalog snapshot: an index that is there is not "dropped". And when
# it was dropped, the CREATE INDEX names the heap scan's table.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../collector";
use List::Util qw(first);
use PostgreSQL::Test::Utils;
use Test::More;
use QprofCollectorTest;
use QprofReportTest;

my $node = new_qprof_node('report196', "max_parallel_workers_per_gather = 0\n");
$node->safe_psql('postgres', q{
    SET pg_qprof.enabled = off;
    CREATE TABLE kept (id serial PRIMARY KEY, customer_id int, note text);
    INSERT INTO kept (customer_id, note)
        SELECT g % 1000, md5(g::text) FROM generate_series(1, 100000) g;
    CREATE INDEX kept_customer_idx ON kept (customer_id);
    CREATE TABLE gone (id serial PRIMARY KEY, customer_id int, note text);
    INSERT INTO gone (customer_id, note)
        SELECT g % 1000, md5(g::text) FROM generate_series(1, 100000) g;
    CREATE INDEX gone_customer_idx ON gone (customer_id);
    VACUUM ANALYZE kept;
    VACUUM ANALYZE gone;
});

my $lookups = sub {
    my ($table, $from, $to) = @_;
    return join '', map { "SELECT id, note FROM $table WHERE customer_id = $_;\n" }
      $from .. $to;
};
# kept: its index stays, and the later plan is slower because bitmap and
# index scans are turned off for it
$node->safe_psql('postgres', $lookups->('kept', 1, 20));
$node->safe_psql('postgres', "SET enable_bitmapscan = off;\nSET enable_indexscan = off;\n"
      . $lookups->('kept', 21, 60));
# gone: its index is dropped
$node->safe_psql('postgres', $lookups->('gone', 1, 20));
$node->safe_psql('postgres', 'SET pg_qprof.enabled = off; DROP INDEX gone_customer_idx');
$node->safe_psql('postgres', $lookups->('gone', 21, 60));

my $dir = PostgreSQL::Test::Utils::tempdir . '/cap';
capture_once($node, $dir);
my ($rc, $doc, $err) = report_json($dir, '--top', '50');
is($rc, 0, 'report --json succeeds') or diag $err;

my %text_of = map { ($_->{key} => $_->{text} // '') } @{ $doc->{statements} };
my %plan = map { ($_->{key} => $_) } @{ $doc->{plans} };
for my $table (qw(kept gone))
{
    my $change = first { $text_of{ $_->{statement} } =~ /FROM $table WHERE/ }
    @{ $doc->{plan_changes} };
    ok($change, "$table: the plan change is reported") or next;
    like($plan{ $change->{faster_plan} }{text} // '', qr/Bitmap Index Scan on ${table}_customer_idx/,
        "$table: the faster plan used a bitmap index scan");
}

my @regressions = grep { $_->{kind} eq 'plan_regression' } @{ $doc->{insights} };
my $kept = first { $text_of{ $_->{statement} } =~ /FROM kept WHERE/ } @regressions;
my $gone = first { $text_of{ $_->{statement} } =~ /FROM gone WHERE/ } @regressions;

ok($kept, 'kept: the slower plan is an insight');
my $kept_evidence = join "\n", @{ $kept->{evidence} // [] };
unlike($kept_evidence, qr/dropped/, 'kept: its index is not called dropped');
ok(!defined $kept->{sql} || $kept->{sql} eq '', 'kept: no CREATE INDEX for an index that is there');

ok($gone, 'gone: the slower plan is an insight');
like(join("\n", @{ $gone->{evidence} // [] }),
    qr/index public\.gone_customer_idx, used by the faster plan, .*dropped/,
    'gone: its index, schema-qualified, is called dropped');
is($gone->{sql} // '', 'CREATE INDEX CONCURRENTLY ON public.gone (customer_id);',
    'gone: the CREATE INDEX names the heap scan\'s table and the condition\'s column');
is($gone->{table} // '', 'public.gone', 'gone: on its table');

done_testing();
