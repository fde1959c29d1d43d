# The query text store, the plan store and the node actuals under tiny
# settings: texts and plans are evicted by use (statements run once go in
# the order they came, a working set in use stays while one-off statements
# pass through), node actuals oldest first, the counters add up, a lookup
# never serves the text or plan of another id (also while several clients
# insert concurrently), an evicted entry is stored again when seen again,
# and a text longer than a quarter of its store is truncated.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use File::Basename qw(dirname);
use lib dirname(__FILE__);
use QprofNode;

my $node = new_node('stores');
$node->init;
$node->append_conf(
    'postgresql.conf', q{
pg_qprof.max_query_texts = 10
pg_qprof.query_texts_size = 64kB
pg_qprof.max_plans = 10
pg_qprof.plans_size = 64kB
pg_qprof.node_actuals_size = 64kB
});
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION pg_qprof');

my $tables = 30;
$node->safe_psql('postgres',
    join('', map { "CREATE TABLE qp_ev_$_ (a int, b int);" } 1 .. $tables));

# queryid of a statement, as the server computes it
sub queryid_of
{
    my ($sql) = @_;
    my $json = $node->safe_psql('postgres',
        "EXPLAIN (VERBOSE, FORMAT JSON) $sql");
    $json =~ /"Query Identifier": (-?\d+)/ or die "no queryid in $json";
    return $1;
}

sub status
{
    my $row = $node->safe_psql('postgres',
        'SELECT query_texts, query_texts_max, query_texts_stored,
                query_texts_evicted, query_texts_truncated, plans, plans_max,
                plans_stored, plans_evicted, plans_truncated, node_actuals,
                node_actuals_kept,
                node_actuals_evicted
           FROM pg_qprof.store_status()');
    my @v = split /\|/, $row;
    my %s;
    @s{
        qw(texts texts_max texts_stored texts_evicted texts_truncated plans
          plans_max plans_stored plans_evicted plans_truncated actuals
          actuals_kept
          actuals_evicted)
    } = @v;
    return \%s;
}

my %qid = map { $_ => queryid_of("SELECT count(*) FROM qp_ev_$_ WHERE a = 1") }
  1 .. $tables;
my %table_of_qid = reverse %qid;

# Every stored text and plan of these statements belongs to its queryid.
sub check_no_stale
{
    my ($label) = @_;
    my $texts = $node->safe_psql('postgres',
        q{SELECT queryid, query FROM pg_qprof.queries
           WHERE query LIKE 'SELECT count(*) FROM qp_ev_%'});
    my ($n, $bad) = (0, 0);
    for my $line (split /\n/, $texts)
    {
        my ($queryid, $query) = split /\|/, $line, 2;
        my $t = $table_of_qid{$queryid};
        $n++;
        $bad++
          unless defined $t
          && $query eq "SELECT count(*) FROM qp_ev_$t WHERE a = \$1";
    }
    is($bad, 0, "$label: each of the $n stored texts is its queryid's");

    my $plans = $node->safe_psql('postgres',
        q{SELECT queryid, plan_json -> 0 -> 'Plan' -> 'Plans' -> 0 ->> 'Relation Name'
            FROM pg_qprof.plans
           WHERE plan_text LIKE '%qp_ev_%'});
    ($n, $bad) = (0, 0);
    for my $line (split /\n/, $plans)
    {
        my ($queryid, $relation) = split /\|/, $line, 2;
        my $t = $table_of_qid{$queryid};
        next if !defined $t && $relation eq '';    # not one of ours
        $n++;
        if (!defined $t || $relation ne "qp_ev_$t")
        {
            $bad++;
            diag("plan of queryid $queryid is on $relation");
        }
    }
    is($bad, 0, "$label: each of the $n stored plans is its queryid's");

    # the samples view shows the stored text or none, never another one
    my $samples = $node->safe_psql('postgres',
        q{SELECT queryid, coalesce(query, '') FROM pg_qprof.samples
           WHERE queryid IS NOT NULL});
    $bad = 0;
    for my $line (split /\n/, $samples)
    {
        my ($queryid, $query) = split /\|/, $line, 2;
        next if $query eq '' || $query !~ /qp_ev_/;
        my $t = $table_of_qid{$queryid};
        $bad++
          unless defined $t
          && $query eq "SELECT count(*) FROM qp_ev_$t WHERE a = \$1";
    }
    is($bad, 0, "$label: the samples view never shows another id's text");
}

# --- one client, in order: the oldest are evicted ---------------------------
my $before = status();
$node->safe_psql('postgres', "SELECT count(*) FROM qp_ev_$_ WHERE a = $_")
  for 1 .. $tables;
my $s = status();
is($s->{texts_max}, 10, 'max_query_texts is the setting');
ok($s->{texts} <= 10, "at most 10 texts are held ($s->{texts})");
is($s->{texts}, $s->{texts_stored} - $s->{texts_evicted},
    'texts held = stored - evicted');
ok($s->{texts_evicted} - $before->{texts_evicted} >= $tables - 10,
    "texts were evicted ($s->{texts_evicted})");
ok($s->{plans} <= 10, "at most 10 plans are held ($s->{plans})");
is($s->{plans}, $s->{plans_stored} - $s->{plans_evicted},
    'plans held = stored - evicted');
ok($s->{plans_evicted} >= $tables - 10, "plans were evicted ($s->{plans_evicted})");

# statements run once each are not used again: the newest are held, the
# oldest are not
my $held = $node->safe_psql('postgres',
    "SELECT count(*) FROM pg_qprof.queries WHERE queryid IN ($qid{$tables}, "
      . $qid{ $tables - 1 } . ')');
is($held, 2, 'the newest texts are held');
$held = $node->safe_psql('postgres',
    "SELECT count(*) FROM pg_qprof.queries WHERE queryid IN ($qid{1}, $qid{2})");
is($held, 0, 'the oldest texts were evicted');
check_no_stale('in order');

# an evicted statement seen again is stored again, text and plan
$before = status();
$node->safe_psql('postgres', 'SELECT count(*) FROM qp_ev_1 WHERE a = 7');
$s = status();
is($s->{texts_stored} - $before->{texts_stored}, 1, 'evicted text stored again');
is($s->{plans_stored} - $before->{plans_stored}, 1, 'evicted plan stored again');
is( $node->safe_psql('postgres',
        "SELECT query FROM pg_qprof.queries WHERE queryid = $qid{1}"),
    'SELECT count(*) FROM qp_ev_1 WHERE a = $1',
    'and it is the right text');

# --- a working set in use stays while one-off statements pass through ------
# (issue 26, defect 14) Five statements run every round; between rounds come
# three statements never seen before (IN lists of new lengths: PostgreSQL 15
# gives each length its own queryid, so each is a new text and a new plan).
# The stores hold 10 entries: first in, first out evicts the working set at
# every other burst and EXPLAINs its plans again; by use it is stored once.
my @working_set = map { "SELECT count(*) FROM qp_ev_$_ WHERE a = $_" } 11 .. 15;
my $in_list = 1;
sub one_off
{
    $in_list++;
    return 'SELECT count(*) FROM qp_burst WHERE a IN ('
      . join(', ', 1 .. $in_list) . ')';
}
my $ws_qids = join(', ', map { $qid{$_} } 11 .. 15);
sub working_set_first_seen
{
    return $node->safe_psql(
        'postgres', qq{
        SELECT (SELECT string_agg(queryid || ':' || first_seen, ',' ORDER BY queryid)
                  FROM pg_qprof.plans WHERE queryid IN ($ws_qids)),
               (SELECT string_agg(queryid || ':' || first_seen, ',' ORDER BY queryid)
                  FROM pg_qprof.queries WHERE queryid IN ($ws_qids))});
}
$node->safe_psql('postgres', 'CREATE TABLE qp_burst (a int)');
my $rounds = 12;
my $burst = 3;
$node->safe_psql('postgres', join(";\n", @working_set));
my $first_seen = working_set_first_seen();
$before = status();
for my $round (1 .. $rounds)
{
    $node->safe_psql('postgres',
        join(";\n", @working_set, map { one_off() } 1 .. $burst));
}
$s = status();
my $after_first_seen = working_set_first_seen();
my ($plans_seen, $texts_seen) = split /\|/, $after_first_seen;
is(scalar(split /,/, $plans_seen), 5, 'the working set\'s 5 plans are held');
is(scalar(split /,/, $texts_seen), 5, 'the working set\'s 5 texts are held');
is($after_first_seen, $first_seen,
    'stored once: same first_seen after the rounds, plans and texts');
# a few more for the statements of this test itself (status, first_seen)
my $one_offs = $rounds * $burst;
my $plans_stored = $s->{plans_stored} - $before->{plans_stored};
my $texts_stored = $s->{texts_stored} - $before->{texts_stored};
ok($plans_stored <= $one_offs + 2,
    "plans stored: the $one_offs one-offs, not the working set again ($plans_stored)");
ok($texts_stored <= $one_offs + 2,
    "texts stored: the $one_offs one-offs, not the working set again ($texts_stored)");
ok($s->{plans_evicted} - $before->{plans_evicted} <= $one_offs + 2,
    'plans evicted: no more than the one-offs');
check_no_stale('working set');

# --- a text longer than a quarter of the store is truncated -----------------
my $long = 'SELECT 1 AS x' . join('', map { ", $_ AS c$_" } 1 .. 1500);
$before = status();
$node->safe_psql('postgres', $long);
$s = status();
is($s->{texts_truncated} - $before->{texts_truncated}, 1, 'long text truncated');
my $len = $node->safe_psql('postgres',
    q{SELECT max(octet_length(query)) FROM pg_qprof.queries
       WHERE query LIKE 'SELECT $1 AS x, $2 AS c1%'});
ok($len > 0 && $len <= 16384, "truncated to a quarter of 64kB ($len bytes)");

# --- a plan bigger than a quarter of the store is kept cut, once ------------
my $union = join(' UNION ALL ',
    map { "SELECT a, b FROM qp_ev_$_ WHERE b > $_" } 1 .. $tables);
$before = status();
$node->safe_psql('postgres', $union);
$node->safe_psql('postgres', $union);
$s = status();
is($s->{plans_stored} - $before->{plans_stored},
    1, 'a big plan is stored once, not again at its next run');
is($s->{plans_truncated} - $before->{plans_truncated},
    1, 'and counted as truncated');
is( $node->safe_psql(
        'postgres', q{
        SELECT plan_json IS NULL, octet_length(plan_text) <= 16384,
               plan_text LIKE 'Append%'
          FROM pg_qprof.plans WHERE plan_text LIKE '%qp_ev_1 %qp_ev_2 %'}),
    't|t|t',
    'it is kept without its JSON, its text within a quarter of the store');

# --- several clients at once, the stores always full -----------------------
my $script = $node->basedir . '/evict.sql';
open my $fh, '>', $script or die $!;
print $fh "\\set t random(1, $tables)\n";
print $fh "SELECT count(*) FROM qp_ev_:t WHERE a = :t;\n";
close $fh;
$node->command_ok(
    [
        'pgbench', '-n', '-M', 'simple', '-c', '4', '-j', '2', '-T', '3',
        '-f', $script, '-p', $node->port, '-h', $node->host, 'postgres'
    ],
    'pgbench with 4 clients over 30 statements');
$s = status();
ok($s->{texts} <= 10 && $s->{plans} <= 10, 'still within the limits');
is($s->{texts}, $s->{texts_stored} - $s->{texts_evicted},
    'texts: held = stored - evicted after the concurrent run');
is($s->{plans}, $s->{plans_stored} - $s->{plans_evicted},
    'plans: held = stored - evicted after the concurrent run');
check_no_stale('concurrent');

# --- node actuals: the oldest executions are evicted ------------------------
# (found by queryid: with 10 texts, this statement's text may have left the
# text store by the time the samples are read)
my $actuals_sql = join(
    ";\n",
    'SET pg_qprof.analyze_sample_rate = 1',
    (map { "SELECT count(*) FROM qp_ev_1 WHERE a = $_" } 1 .. 300),
    qq{WITH s AS (
          SELECT exec_id, row_number() OVER (ORDER BY exec_id DESC) AS rn
            FROM pg_qprof.samples
           WHERE pid = pg_backend_pid()
             AND queryid = $qid{1}),
       held AS (
          SELECT rn FROM s
           WHERE exec_id IN (SELECT exec_id
                               FROM pg_qprof.read_node_actuals(pg_backend_pid())))
      SELECT count(*) || ',' || coalesce(max(rn), 0) FROM held});
my @out = split /\n/, $node->safe_psql('postgres', $actuals_sql);
my ($kept, $oldest_rank) = split /,/, $out[-1];
$s = status();
ok($s->{actuals_evicted} > 0, "node actuals evicted ($s->{actuals_evicted})");
is($s->{actuals}, $s->{actuals_kept} - $s->{actuals_evicted},
    'actuals held = kept - evicted');
ok($kept > 0 && $kept < 300, "some of the 300 executions are held ($kept)");
is($oldest_rank, $kept, 'the held ones are the newest executions');

$node->stop;
done_testing();
