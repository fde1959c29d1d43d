# qprof export and qprof report --clickhouse against a real ClickHouse
# (Debian's 18.16): two servers, started here as the two shards of a
# cluster, each with the schema of `qprof export --create-schema --cluster`;
# captures of two PostgreSQL clusters (one sampling half its statements),
# each exported to its own shard. Over the Distributed tables, ClickHouse's
# answers equal `qprof report --json`'s on the same captures: calls and
# total time per statement, time per route, errors per SQLSTATE; every
# sample is there once (count per server and epoch as in the capture), and
# exporting again doubles nothing; the statement texts and plans are there
# once; `qprof report --clickhouse` prints the same top statements, routes,
# plan changes, requests and N+1, errors and the waits the extension
# sampled (where the time went) as the report of the files, and the JSON
# the same node hotspots, plan trees with their nodes' actuals (every node's
# numbers) and latency histograms (every bucket), and every attribution
# (route, controller, app, user, db, a tag: each group's measures and top
# statements) whatever --group-by says.
# Tables of an older qprof get the new columns from --create-schema. A
# server that answers garbage or a malformed chunked answer is an error
# that says so (exit status 2).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../collector";
use IO::Socket::INET;
use JSON::PP;
use List::Util qw(sum);
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time);
use QprofClickHouse;
use QprofCollectorTest;
use QprofReportTest;

plan skip_all => clickhouse_server_path()
  . ' is not installed (tests/deps/clickhouse.txt)'
  unless -x clickhouse_server_path();

my $tmp = PostgreSQL::Test::Utils::tempdir;
my $started = time;
my @shards = start_clickhouse_shards($tmp, 2);
diag sprintf('two ClickHouse shards up in %.1f s', time - $started);

# Two PostgreSQL clusters, each with its workload: tagged routes, errors of
# two SQLSTATEs, statements nested in a function; the second records one
# statement in two (its samples weigh 2).
my @nodes = (
    new_qprof_node('ch190a', "pg_qprof.analyze_sample_rate = 1\n"),
    new_qprof_node('ch190b', "pg_qprof.sample_rate = 0.5\n"));
for my $i (0, 1)
{
    my $node = $nodes[$i];
    $node->safe_psql('postgres', q{
        SET pg_qprof.enabled = off;
        CREATE TABLE accounts (id int PRIMARY KEY, balance int);
        INSERT INTO accounts SELECT g, 100 FROM generate_series(1, 5000) g;
        CREATE FUNCTION transfer(a int, b int) RETURNS void LANGUAGE plpgsql AS $$
        BEGIN
            UPDATE accounts SET balance = balance - 1 WHERE id = a;
            UPDATE accounts SET balance = balance + 1 WHERE id = b;
        END $$;
        VACUUM ANALYZE accounts;
    });
    my $script = "SET application_name = 'shop$i';\n";
    for my $n (1 .. 150 + 50 * $i)
    {
        $script .= tagged("SELECT balance FROM accounts WHERE id = $n",
            '/accounts/<id>', 'Accounts') . ";\n";
        $script .= tagged("SELECT transfer($n, " . ($n + 1) . ")",
            '/transfers', 'Transfers') . ";\n"
          if $n % 3 == 0;
        $script .= tagged("SELECT count(*) FROM accounts WHERE balance > $n",
            '/reports/balances', 'Reports') . ";\n"
          if $n % 10 == 0;
        $script .= "SELECT $n AS untagged;\n" if $n % 7 == 0;
    }
    for my $sleep ('SELECT pg_sleep(0.1)', 'SELECT pg_sleep(0.1), 1')
    {
        $script .= tagged($sleep, '/reports/slow', 'Reports') . ";\n"
          for 1 .. 5;
    }
    # N+1: requests (each its traceparent) looking accounts up one by one,
    # the lookup of /accounts/<id> (a statement N+1 in one route only);
    # one request runs it more than the others
    for my $r (1 .. 8)
    {
        my $request = 1000 * ($i + 1) + $r;
        $script .= tagged('SELECT balance FROM accounts WHERE id = '
              . (100 * $r + $_), '/orders/<id>/items', 'Orders', $request)
          . ";\n" for 1 .. ($r == 3 ? 14 : 8 + 2 * $i);
        $script .= tagged('SELECT count(*) FROM accounts WHERE balance < 0',
            '/orders/<id>/items', 'Orders', $request) . ";\n";
    }
    $node->safe_psql('postgres', $script);
    # errors: division by zero and unique violations, on their routes
    my $errors = '';
    $errors .= tagged("SELECT 1 / ($_ - $_)", '/fail/divide', 'Fail') . ";\n"
      for 1 .. 6 + 4 * $i;
    $errors .= tagged("INSERT INTO accounts VALUES ($_, 0)", '/fail/insert',
        'Fail') . ";\n" for 1 .. 4;
    $node->psql('postgres', $errors, on_error_stop => 0);
    # a plan change: a lookup served by an index, then by a scan once the
    # index is dropped
    $node->safe_psql('postgres', q{
        SET pg_qprof.enabled = off;
        CREATE TABLE items (id int, k int);
        INSERT INTO items SELECT g, g % 5000 FROM generate_series(1, 50000) g;
        CREATE INDEX items_k ON items (k);
        VACUUM ANALYZE items;
    });
    my $lookups = join '',
      map { "SELECT count(*) FROM items WHERE k = $_;\n" } 1 .. 20;
    $node->safe_psql('postgres', $lookups);
    $node->safe_psql('postgres',
        "SET pg_qprof.enabled = off;\nDROP INDEX items_k;");
    $node->safe_psql('postgres', $lookups);
}
my ($db_oid, $user_oid) = split /\|/, $nodes[0]->safe_psql('postgres',
    "SELECT d.oid, r.oid FROM pg_database d, pg_roles r "
      . "WHERE d.datname = 'postgres' AND r.rolname = current_user");
my @captures = map { "$tmp/cap$_" } 1, 2;
capture_once($nodes[$_], $captures[$_]) for 0, 1;
my @sysid = map {
    $_->safe_psql('postgres', 'SELECT system_identifier FROM pg_control_system()')
} @nodes;
isnt($sysid[0], $sysid[1], 'two clusters, two system identifiers');
$_->stop for @nodes;

# The schema on both shards: local tables, and the fleet's Distributed ones.
for my $url (@shards)
{
    my ($rc, $out, $err) = run_qprof('export', '--clickhouse', $url,
        '--create-schema', '--cluster', 'qprof_fleet');
    is($rc, 0, "--create-schema on $url") or diag $err;
}
my $tables = ch_rows($shards[0],
    "SELECT name, engine FROM system.tables WHERE database = 'qprof' ORDER BY name");
my %engine = map { ($_->[0] => $_->[1]) } @$tables;
is($engine{samples_local}, 'ReplacingMergeTree', 'samples_local is a ReplacingMergeTree');
is($engine{samples}, 'Distributed', 'samples is Distributed');
is($engine{statements}, 'Distributed', 'statements is Distributed');
my ($rc, $out, $err) = run_qprof('export', '--clickhouse', $shards[0],
    '--create-schema', '--cluster', 'qprof_fleet');
is($rc, 0, 'creating the schema again changes nothing');

# Each capture to its shard.
for my $i (0, 1)
{
    $started = time;
    ($rc, $out, $err) = run_qprof('export', '--clickhouse', $shards[$i],
        $captures[$i]);
    is($rc, 0, "capture $i exported to shard $i") or diag $err;
    diag sprintf('%s(%.2f s)', $out, time - $started);
}

# The report of the same captures, from the files.
my ($jrc, $doc, $jerr) = report_json(@captures, '--top', '1000');
is($jrc, 0, 'qprof report --json of both captures') or diag $jerr;
my %server_key = map { ($_->{system_identifier} => $_->{key}) }
  @{ $doc->{summary}{servers} };
is(scalar keys %server_key, 2, 'two servers in the report');

# Every sample once: per server and epoch as in the capture.
my %captured;
for my $i (0, 1)
{
    for my $s (dump_samples($captures[$i]))
    {
        $captured{"$i/$s->{epoch}"}++;
    }
}
my $final = sub {
    my $counts = ch_rows($shards[1],
        'SELECT server_id, epoch, count() FROM qprof.samples FINAL '
          . 'GROUP BY server_id, epoch ORDER BY server_id, epoch');
    return { map { ("$_->[0]/$_->[1]" => $_->[2]) } @$counts };
};
my $counted = $final->();
my %by_capture;
for my $key (keys %$counted)
{
    my ($server, $epoch) = split m{/}, $key;
    my ($node_index) = grep { $sysid[$_] eq $server } 0, 1;
    ok(defined $node_index, "server $server is one of the clusters") or next;
    $by_capture{"$node_index/$epoch"} = $counted->{$key};
}
is_deeply(\%by_capture, \%captured,
    'every sample in ClickHouse once, per server and epoch')
  or diag explain [ \%by_capture, \%captured ];

# Exporting again doubles nothing (FINAL), and leaves the rows merged to
# as many once OPTIMIZE ... FINAL has merged the parts.
for my $i (0, 1)
{
    ($rc, $out, $err) = run_qprof('export', '--clickhouse', $shards[$i],
        $captures[$i]);
    is($rc, 0, "capture $i exported again") or diag $err;
}
is_deeply($final->(), $counted, 'exported again: the same counts with FINAL');
my $raw = ch_rows($shards[0], 'SELECT count() FROM qprof.samples')->[0][0];
is($raw, 2 * sum(values %captured), 'the second copy is there before a merge');
for my $url (@shards)
{
    ch_query($url, 'OPTIMIZE TABLE qprof.samples_local FINAL');
}
$raw = ch_rows($shards[0], 'SELECT count() FROM qprof.samples')->[0][0];
is($raw, sum(values %captured), 'merged: one row per sample');

my ($dup) = @{ ch_rows($shards[0],
    'SELECT count() FROM (SELECT server_id, queryid FROM qprof.statements FINAL '
      . 'GROUP BY server_id, queryid HAVING count() > 1)') };
is($dup->[0], 0, 'each statement text once');
my ($texts) = @{ ch_rows($shards[0],
    "SELECT count() FROM qprof.statements FINAL WHERE text LIKE 'SELECT transfer%'") };
is($texts->[0], 2, 'a statement of both clusters: one text per server');

# The report's numbers, by (system identifier, dbid, queryid).
my $near = sub {
    my ($got, $want) = @_;
    return abs($got - $want) <= 1e-5 * abs($want) + 1e-6;
};
my %sysid_of_key = map { ($_->{key} => $_->{system_identifier}) }
  @{ $doc->{summary}{servers} };
my %want_statement = map {
    ("$sysid_of_key{$_->{server}}/$_->{dbid}/$_->{queryid}" => $_)
} @{ $doc->{statements} };
is(scalar @{ $doc->{statements} }, $doc->{statements_total},
    'the report lists every statement');
my ($route_dim) =
  grep { $_->{dimension} eq 'route' } @{ $doc->{attribution}{dimensions} };
my %want_route = map { ($_->{name} => $_) } @{ $route_dim->{groups} };
my %want_error = map { ($_->{sqlstate} => $_) } @{ $doc->{errors} };
ok($want_error{22012} && $want_error{23505}, 'the report has both errors');
ok($want_route{'/transfers'} && $want_route{'(none)'}, 'and the routes');

# Compares rows keyed like the report's: every key on both sides, each
# field within the JSON's rounding.
sub same_rows
{
    my ($what, $got, $want, @fields) = @_;
    is_deeply([ sort keys %$got ], [ sort keys %$want ], "$what: the same keys");
    my @off;
    for my $key (sort keys %$want)
    {
        next unless $got->{$key};
        for my $f (@fields)
        {
            my ($g, $w) = ($got->{$key}{ $f->[0] }, $want->{$key}{ $f->[1] });
            push @off, "$key $f->[0]: $g, report $w"
              unless defined $g && $near->($g, $w);
        }
    }
    is_deeply(\@off, [], "$what: " . join(', ', map { $_->[0] } @fields)
          . ' as in the report');
}

# The queries of docs/clickhouse-queries.sql, over the Distributed tables.
my %query;
{
    open my $fh, '<', repo_dir() . '/docs/clickhouse-queries.sql' or die $!;
    local $/;
    my $sql = <$fh>;
    close $fh;
    while ($sql =~ /^-- name: (\w+)\n(.*?)(?=^-- name:|\z)/msg)
    {
        my ($name, $text) = ($1, $2);
        $text =~ s/;\s*\z//;
        $text =~ s/LIMIT 20\b/LIMIT 100000/g;
        $query{$name} = $text;
    }
}
is_deeply([ sort keys %query ],
    [ qw(errors_by_sqlstate kernel_by_statement servers summary time_by_route top_statements) ],
    'the queries of docs/clickhouse-queries.sql');
my $named = sub {
    my ($name) = @_;
    my $out = ch_query($shards[1], "$query{$name}\nFORMAT TSVWithNames");
    my ($head, @lines) = split /\n/, $out;
    my @names = split /\t/, $head;
    return map {
        my @v = split /\t/, $_, -1;
        +{ map { ($names[$_] => $v[$_]) } 0 .. $#names }
    } @lines;
};
my ($summary) = $named->('summary');
ok($near->($summary->{calls}, $doc->{summary}{calls}), 'summary: calls as in the report');
ok($near->($summary->{db_time_ms}, $doc->{summary}{db_time_ms}),
    'summary: database time as in the report');
is($summary->{errors}, $doc->{summary}{errors}, 'summary: errors as in the report');
is($summary->{statements}, $doc->{summary}{statements},
    'summary: distinct statements as in the report');
my %got = map { ("$_->{server_id}/$_->{dbid}/$_->{queryid}" => $_) }
  $named->('top_statements');
same_rows('top_statements', \%got, \%want_statement,
    [ 'calls', 'calls' ], [ 'total_ms', 'total_ms' ], [ 'errors', 'errors' ],
    [ 'rows', 'rows' ]);
my @p95_off = grep {
    my $w = $want_statement{$_}{p95_ms};
    abs($got{$_}{p95_ms} - $w) > 0.025 * $w + 1e-6
} grep { $got{$_} } keys %want_statement;
is_deeply(\@p95_off, [], 'top_statements: p95 as in the report, within 2%');
%got = map { ($_->{route_name} => $_) } $named->('time_by_route');
same_rows('time_by_route', \%got, \%want_route,
    [ 'calls', 'calls' ], [ 'total_ms', 'total_ms' ], [ 'errors', 'errors' ]);
%got = map { ($_->{sqlstate} => $_) } $named->('errors_by_sqlstate');
same_rows('errors_by_sqlstate', \%got, \%want_error, [ 'count', 'count' ]);
is(scalar($named->('kernel_by_statement')), 0,
    'no kernel facts (BPF off), as in the report');
my %servers = map { ($_->{server_id} => $_) } $named->('servers');
is($servers{ $sysid[1] }{cluster_name}, 'ch190b', 'servers: the cluster names');
is($servers{ $sysid[0] }{samples}, $captured{ (grep { m{^0/} } keys %captured)[0] },
    'servers: the samples of each');

# qprof report --clickhouse --json: the same numbers, computed the same way.
my ($crc, $cout, $cerr) = run_qprof('report', '--clickhouse', $shards[0],
    '--json', '--top', '1000');
is($crc, 0, 'qprof report --clickhouse --json') or diag $cerr;
my $fleet = decode_json($cout);
for my $f (qw(calls db_time_ms errors statements executions))
{
    ok($near->($fleet->{summary}{$f}, $doc->{summary}{$f}),
        "report --clickhouse: summary $f as in the report ($doc->{summary}{$f})");
}
%got = map { ("$_->{system_identifier}/$_->{dbid}/$_->{queryid}" => $_) }
  @{ $fleet->{statements} };
same_rows('report --clickhouse statements', \%got, \%want_statement,
    map { [ $_, $_ ] } qw(calls total_ms errors executions rows p50_ms p95_ms p99_ms));
is($fleet->{attribution}{group_by}, 'route', 'by route unless told');
my ($fleet_routes) = grep { $_->{dimension} eq 'route' }
  @{ $fleet->{attribution}{dimensions} };
%got = map { ($_->{name} => $_) } @{ $fleet_routes->{groups} };
same_rows('report --clickhouse routes', \%got, \%want_route,
    map { [ $_, $_ ] } qw(calls total_ms errors p95_ms));

# Every attribution of the report of files, whatever --group-by says: the
# groups of each dimension, their measures and top statements. Users and
# databases are a server's: "@srv1" in the files, "@SYSTEM_ID" here.
my $doc_statement_id = sub {
    my ($doc) = @_;
    my %sysid = map { ($_->{key} => $_->{system_identifier}) }
      @{ $doc->{summary}{servers} };
    my %id = map { ($_->{key} => "$sysid{$_->{server}}/$_->{dbid}/$_->{queryid}") }
      @{ $doc->{statements} };
    return (sub { $id{ $_[0] } // "unlisted $_[0]" },
        sub { my ($name) = @_; $name =~ s/ \@(\S+)$/ \@$sysid{$1}/; $name });
};
my $fleet_json_id = sub {
    my ($doc) = @_;
    my %id = map { ($_->{key} => "$_->{system_identifier}/$_->{dbid}/$_->{queryid}") }
      @{ $doc->{statements} };
    return sub { $id{ $_[0] } // "unlisted $_[0]" };
};
my $schema = report_schema();
my $attribution_schema = { %{ $schema->{properties}{attribution} }, '$defs' => $schema->{'$defs'} };
# (and with a --top below the number of routes: the first groups of each,
# their statements listed)
for my $case ((map { [ $_, 1000 ] } qw(route controller app user db tag:controller)),
    [ 'app', 3 ])
{
    my ($group_by, $top) = @$case;
    my ($grc, $got_doc) = report_json('--clickhouse', $shards[0], '--top', $top,
        '--group-by', $group_by);
    my ($wrc, $want_doc) = report_json(@captures, '--top', $top, '--group-by', $group_by);
    is($grc + $wrc, 0, "both reports --group-by $group_by --top $top");
    is($got_doc->{attribution}{group_by}, $group_by, "--group-by $group_by: named");
    my ($want_id, $want_name) = $doc_statement_id->($want_doc);
    same_attribution("report --clickhouse --group-by $group_by --top $top", $got_doc,
        $want_doc, $fleet_json_id->($got_doc), $want_id, $want_name);
    is_deeply([ schema_errors($attribution_schema, $got_doc->{attribution}) ], [],
        "--group-by $group_by: the attribution as docs/report-json.md describes it");
}
%got = map { ($_->{sqlstate} => $_) } @{ $fleet->{errors} };
same_rows('report --clickhouse errors', \%got, \%want_error, [ 'count', 'count' ]);

same_timeline('report --clickhouse --json', $fleet, $doc);

# Plans: each statement's, with its executions and when, as in the report;
# the plan changes (the dropped index, in each cluster), the slower plan and
# what it cost.
my %statement_id = map {
    ($_->{key} => "$sysid_of_key{$_->{server}}/$_->{dbid}/$_->{queryid}")
} @{ $doc->{statements} };
my %want_plan = map {
    ("$statement_id{$_->{statement}}/$_->{planid}" => $_)
} @{ $doc->{plans} };
my (%got_plan, %fleet_statement_id, %fleet_planid);
for my $st (@{ $fleet->{statements} })
{
    my $id = "$st->{system_identifier}/$st->{dbid}/$st->{queryid}";
    $fleet_statement_id{ $st->{key} } = $id;
    for my $plan (@{ $st->{plans} })
    {
        $got_plan{"$id/$plan->{planid}"} = $plan;
        $fleet_planid{ $plan->{key} } = $plan->{planid};
    }
}
same_rows('report --clickhouse plans', \%got_plan, \%want_plan,
    map { [ $_, $_ ] } qw(executions calls total_ms));
is_deeply(
    { map { ($_ => "$got_plan{$_}{first_unix_us}-$got_plan{$_}{last_unix_us}") } keys %got_plan },
    { map { ($_ => "$want_plan{$_}{first_unix_us}-$want_plan{$_}{last_unix_us}") } keys %want_plan },
    'report --clickhouse plans: first and last execution as in the report');
my %planid_of_key = map { ($_->{key} => $_->{planid}) } @{ $doc->{plans} };
my $change_of = sub {
    my ($change, $statement_of, $planid) = @_;
    return ($statement_of->{ $change->{statement} } => {
        plans  => [ map { $planid->{$_} } @{ $change->{plans} } ],
        slower => $planid->{ $change->{slower_plan} },
        faster => $planid->{ $change->{faster_plan} },
        changed_unix_us => $change->{changed_unix_us},
        extra_ms => sprintf('%.4g', $change->{extra_ms}) });
};
my %want_change = map { $change_of->($_, \%statement_id, \%planid_of_key) }
  @{ $doc->{plan_changes} };
my %got_change = map { $change_of->($_, \%fleet_statement_id, \%fleet_planid) }
  @{ $fleet->{plan_changes} };
is(scalar(grep { /items/ } map { $_->{text} } grep {
    $want_change{"$sysid_of_key{$_->{server}}/$_->{dbid}/$_->{queryid}"} }
      @{ $doc->{statements} }), 2,
    'the report has the dropped index\'s plan change in each cluster');
is_deeply(\%got_change, \%want_change,
    'report --clickhouse plan changes: the plans in order, the slower and '
      . 'the faster, when and what it cost, as in the report');

# Each plan's tree with its nodes' actuals (the first cluster EXPLAIN
# ANALYZEs every execution): the plan's executions with actuals and, node by
# node in the tree's order, its type, relation, index, filter, children and
# every number, as in the report of files.
my $plan_nodes = sub {
    my ($plans) = @_;
    my %out;
    for my $id (keys %$plans)
    {
        my @stack = ([ $plans->{$id}{nodes}, 0 ]);
        my $at = 0;
        while (my $item = pop @stack)
        {
            my ($node, $depth) = @$item;
            next unless $node;
            $out{ sprintf('%s/%03d', $id, $at++) } = {
                %$node,
                shape => join('|', $depth, map { $_ // 'null' }
                      @$node{qw(node_id node_type relation index filter)},
                    scalar @{ $node->{children} },
                    defined $node->{total_time_ms} ? 'timed' : 'untimed',
                    defined $node->{estimate_factor} ? 'estimated' : 'unestimated') };
            push @stack, map { [ $_, $depth + 1 ] } reverse @{ $node->{children} };
        }
    }
    return \%out;
};
my %want_node = %{ $plan_nodes->(\%want_plan) };
my %got_node = %{ $plan_nodes->(\%got_plan) };
my @actual_nodes = grep { $want_node{$_}{executions} > 0 } keys %want_node;
ok(@actual_nodes >= 6, 'the report of files has plan nodes with actuals ('
      . scalar(@actual_nodes) . ')');
ok((grep { $want_node{$_}{shape} =~ /^1\|/ } @actual_nodes),
    'some plan has a node under another');
is_deeply({ map { ($_ => $got_plan{$_}{actuals_executions}) } keys %got_plan },
    { map { ($_ => $want_plan{$_}{actuals_executions}) } keys %want_plan },
    'report --clickhouse plans: the executions with per-node actuals');
is_deeply({ map { ($_ => $got_node{$_}{shape}) } keys %got_node },
    { map { ($_ => $want_node{$_}{shape}) } keys %want_node },
    'report --clickhouse plan trees: every node, its type, relation, index, '
      . 'filter and children as in the report');
my @node_off;
for my $key (sort keys %want_node)
{
    my ($g, $w) = ($got_node{$key} // {}, $want_node{$key});
    for my $f (qw(executions loops plan_rows actual_rows rows_removed_by_filter
        rows_removed_by_join_filter shared_blks_hit shared_blks_read
        temp_blks_read temp_blks_written))
    {
        push @node_off, "$key $f: " . ($g->{$f} // 'none') . ", report $w->{$f}"
          unless defined $g->{$f} && $g->{$f} == $w->{$f};
    }
    for my $f (qw(total_time_ms estimate_factor))
    {
        next unless defined $w->{$f};
        push @node_off, "$key $f: " . ($g->{$f} // 'none') . ", report $w->{$f}"
          unless defined $g->{$f}
          && abs($g->{$f} - $w->{$f}) <= 1e-9 * abs($w->{$f}) + 1e-12;
    }
}
is_deeply(\@node_off, [],
    'report --clickhouse plan trees: every node\'s executions, loops, rows, '
      . 'rows removed, blocks, time and estimate error as in the report');

# Each statement's latency histogram: its executions by bucket, every
# bucket as in the report of files.
my %want_histogram = map { ($_ => join(' ', @{ $want_statement{$_}{histogram} })) }
  keys %want_statement;
my %got_histogram = map {
    ("$_->{system_identifier}/$_->{dbid}/$_->{queryid}" => join(' ', @{ $_->{histogram} // [] }))
} @{ $fleet->{statements} };
is(scalar(grep { (() = /[1-9]\d*/g) >= 2 } values %want_histogram) >= 3, 1,
    'the report of files has statements whose executions span buckets');
is_deeply(\%got_histogram, \%want_histogram,
    'report --clickhouse: each statement\'s latency histogram as in the report');
is_deeply({ map { ($_->{key} => sum(0, @{ $_->{histogram} })) } @{ $fleet->{statements} } },
    { map { ($_->{key} => $_->{executions}) } @{ $fleet->{statements} } },
    'report --clickhouse: a histogram counts each statement\'s executions');
ok(!grep({ $_ eq 'plan_tree' || $_ eq 'histogram' } @{ $fleet->{not_available} }),
    'report --clickhouse: the plan trees and histograms are no longer said missing');

# The rankings other than by total time: the statements with a nonzero
# measure, largest first, as the report of files ranks them (statements of
# equal measure may come in another order: the measures in order and the
# statements of each).
is_deeply([ sort keys %{ $fleet->{rankings} } ], [ sort keys %{ $doc->{rankings} } ],
    'report --clickhouse: the rankings of the report');
my %ranking_measure = (
    total_time => sub { $_[0]{total_ms} },
    mean_time => sub { $_[0]{mean_ms} },
    calls => sub { $_[0]{calls} },
    rows => sub { $_[0]{rows} },
    shared_blks_read => sub { $_[0]{shared_blks_read} },
    temp_blks => sub { $_[0]{temp_blks_read} + $_[0]{temp_blks_written} },
    errors => sub { $_[0]{errors} });
my $ranked = sub {
    my ($name, $keys, $id_of) = @_;
    my @ids = map { $id_of->{$_} // "?$_" } @$keys;
    my $m = $ranking_measure{$name} or return \@ids;
    # each statement's measure from the report of files
    my @values = map { $want_statement{$_} ? sprintf('%.6g', $m->($want_statement{$_})) : '?' } @ids;
    my %of_value;
    push @{ $of_value{ $values[$_] } }, $ids[$_] for 0 .. $#ids;
    return [ map { "$_: " . join(' ', sort @{ $of_value{$_} }) }
          do { my %seen; grep { !$seen{$_}++ } @values } ];
};
for my $name (sort keys %{ $doc->{rankings} })
{
    is_deeply($ranked->($name, $fleet->{rankings}{$name} // [], \%fleet_statement_id),
        $ranked->($name, $doc->{rankings}{$name}, \%statement_id),
        "report --clickhouse: ranking $name as in the report");
}
ok(@{ $doc->{rankings}{$_} } >= 3, "the report of files ranks statements by $_")
  for qw(mean_time calls rows errors);

# Requests and N+1: ClickHouse rebuilds the requests (a request id's
# top-level executions on one backend) and counts each statement's
# executions per request, as the report of files does.
my ($want_requests, $got_requests) = ($doc->{requests}, $fleet->{requests});
ok(@{ $want_requests->{n_plus_one} } >= 1, 'the report of files finds N+1')
  or diag explain $want_requests;
is_deeply(
    [ map { $got_requests->{$_} } qw(tag requests) ],
    [ map { $want_requests->{$_} } qw(tag requests) ],
    'report --clickhouse requests: the tag and the requests as in the report');
is_deeply($got_requests->{statements_per_request},
    $want_requests->{statements_per_request},
    'report --clickhouse requests: statements per request, mean and most');
my $n_plus_one = sub {
    my ($list, $id_of) = @_;
    return { map { ("$id_of->{$_->{statement}} " . ($_->{route} // '') => $_) }
          @$list };
};
my %want_n1 = %{ $n_plus_one->($want_requests->{n_plus_one}, \%statement_id) };
my %got_n1 = %{ $n_plus_one->($got_requests->{n_plus_one}, \%fleet_statement_id) };
same_rows('report --clickhouse N+1', \%got_n1, \%want_n1,
    map { [ $_, $_ ] }
      qw(requests executions max_per_request mean_per_request
      example_executions total_ms share));
is_deeply({ map { ($_ => $got_n1{$_}{example_request}) } keys %got_n1 },
    { map { ($_ => $want_n1{$_}{example_request}) } keys %want_n1 },
    'report --clickhouse N+1: the same example request');

# Node hotspots: the per-node actuals of the EXPLAIN ANALYZEd executions
# (every execution of the first cluster), summed by node type, relation
# and index, with the statements whose plans have them.
ok($doc->{summary}{node_actuals}{executions} > 0,
    'the report of files has per-node actuals');
is($fleet->{summary}{node_actuals}{executions},
    $doc->{summary}{node_actuals}{executions},
    'report --clickhouse: the executions with per-node actuals');
my $spots = sub {
    my ($list, $id_of) = @_;
    return { map {
        (join('|', $_->{node_type}, $_->{relation} // '', $_->{index} // '') => {
            %$_,
            statements => join(' ', sort map { $id_of->{$_} // "?$_" }
                  @{ $_->{statements} }),
            optional => join(' ', map { defined ? sprintf('%.6g', $_) : 'null' }
                  @$_{qw(total_time_ms max_estimate_factor)}) })
    } @$list };
};
my %want_spot = %{ $spots->($doc->{node_hotspots}, \%statement_id) };
my %got_spot = %{ $spots->($fleet->{node_hotspots}, \%fleet_statement_id) };
ok(keys %want_spot >= 3, 'the report has node hotspots');
same_rows('report --clickhouse node hotspots', \%got_spot, \%want_spot,
    map { [ $_, $_ ] }
      qw(executions loops actual_rows rows_removed_by_filter shared_blks_read
      temp_blks_written));
is_deeply({ map { ($_ => "$got_spot{$_}{optional}; $got_spot{$_}{statements}") }
          keys %got_spot },
    { map { ($_ => "$want_spot{$_}{optional}; $want_spot{$_}{statements}") }
          keys %want_spot },
    'report --clickhouse node hotspots: time, estimate error and statements');

# Where the time went: the waits the extension's sampler (on by default,
# every 10 ms; no BPF here) found, in all, per statement and per route.
my $summary_waits = $doc->{summary}{kernel}{waits};
ok($summary_waits && $summary_waits->{sampled_executions} > 0,
    'the report of files has sampled waits');
same_waits('report --clickhouse waits in all',
    { all => $fleet->{summary}{kernel}{waits} }, { all => $summary_waits });
ok(same_waits('report --clickhouse sampled waits by statement',
        { map { ($fleet_statement_id{ $_->{key} } => $_->{sampled_waits}) }
              @{ $fleet->{statements} } },
        { map { ($statement_id{ $_->{key} } => $_->{sampled_waits}) }
              @{ $doc->{statements} } }) > 3,
    'statements with sampled waits');
same_waits('report --clickhouse sampled waits by route',
    { map { ($_->{name} => $_->{sampled_waits}) } @{ $fleet_routes->{groups} } },
    { map { ($_ => $want_route{$_}{sampled_waits}) } keys %want_route });
ok((grep { $_->{class} eq 'Timeout' }
      @{ $want_route{'/reports/slow'}{sampled_waits}{classes} }),
    'the pg_sleep of /reports/slow sampled as Timeout');

# The terminal: the same top statements, routes and errors as the report
# of the files.
my ($trc, $terminal) = run_qprof('report', '--clickhouse', $shards[1]);
is($trc, 0, 'qprof report --clickhouse');
my ($frc, $files) = run_qprof('report', @captures);
my $block = sub {
    my ($text, $title) = @_;
    return $text =~ /^\Q$title\E\n-+\n(.*?)(?:\n\n|\z)/ms ? $1 : undef;
};
# (the statements' rows, not the rankings after them; the routes' columns
# of numbers, not the keys of their statements, which the file report
# gives beyond the top 20 too)
for my $table ([ 'Top statements by total time', qr/^(?:key|s\d+) /, 100 ],
    [ 'Database time by route', qr/./, 84 ])
{
    my ($title, $rows, $width) = @$table;
    my @f = map { substr($_, 0, $width) } grep { /$rows/ } split /\n/,
      $block->($files, $title) // '';
    my @c = map { substr($_, 0, $width) } grep { /$rows/ } split /\n/,
      $block->($terminal, $title) // '';
    ok(@f > 3, "$title: in the report of files");
    is_deeply(\@c, \@f, "$title: the same rows from ClickHouse");
}
# The rankings under the top statements: each by its title, with as many
# statements (their keys may differ where measures are equal).
my $ranking_lines = sub {
    [ map { /^  by (.{24})((?: s\d+)+)$/ ? "$1 " . scalar(() = $2 =~ /s\d+/g) : () }
          split /\n/, $block->($_[0], 'Top statements by total time') // '' ]
};
ok(@{ $ranking_lines->($files) } >= 4, 'the report of files ranks by other measures');
is_deeply($ranking_lines->($terminal), $ranking_lines->($files),
    'the same rankings from ClickHouse');
# The plan changes, every statement listed (the report of files orders
# them as its statements first ran, the report from ClickHouse by key).
my $changes = sub {
    my ($text) = @_;
    return [ sort map { s/\n+\z//r } split /^(?=s\d+: )/m,
        $block->($text, 'Plan changes') // '' ];
};
my (undef, $all_files) = run_qprof('report', '--top', '1000', @captures);
my (undef, $all_terminal) = run_qprof('report', '--clickhouse', $shards[1],
    '--top', '1000');
# With --top N below the rank of the statements whose plans changed
# (after the two statements of pg_sleep of the first cluster, 0.5 s
# each), these are not among the top ones: both reports list their plan
# changes all the same.
my %rank_of = map { ($_->{key} => $_->{rank}) } @{ $doc->{statements} };
my ($few_top) = sort { $a <=> $b }
  map { $rank_of{ $_->{statement} } - 1 } @{ $doc->{plan_changes} };
ok($few_top >= 2, "the statements whose plans changed rank after $few_top");
my (undef, $few_files) = run_qprof('report', '--top', $few_top, @captures);
my (undef, $few_terminal) = run_qprof('report', '--clickhouse', $shards[1],
    '--top', $few_top);
# (keys of other lengths cut a line at another place: the first 80
# columns of each line)
my $unkeyed = sub {
    [ sort map { join("\n", map { substr($_, 0, 80) } split /\n/, s/\b[sp]\d+\b/k/gr) }
          @{ $changes->($_[0]) } ]
};
is(scalar @{ $unkeyed->($few_files) }, 2,
    "--top $few_top: the report of files has both plan changes");
is_deeply($unkeyed->($few_terminal), $unkeyed->($few_files),
    "--top $few_top: the same plan changes from ClickHouse");
my ($few_rc, $few_doc) = report_json(@captures, '--top', $few_top);
(undef, $cout) = run_qprof('report', '--clickhouse', $shards[0], '--json',
    '--top', $few_top);
my $few = decode_json($cout);
my %few_id = map {
    ($_->{key} => "$_->{system_identifier}/$_->{dbid}/$_->{queryid}")
} @{ $few->{statements} };
my %few_planid = map { ($_->{key} => $_->{planid}) }
  map { @{ $_->{plans} } } @{ $few->{statements} };
my %few_want_id = map {
    ($_->{key} => "$sysid_of_key{$_->{server}}/$_->{dbid}/$_->{queryid}")
} @{ $few_doc->{statements} };
my %few_want_planid = map { ($_->{key} => $_->{planid}) } @{ $few_doc->{plans} };
is_deeply(
    [ grep { $_->{statement} =~ /^s(\d+)$/ && $1 <= $few_top }
          @{ $few->{plan_changes} } ],
    [], "--top $few_top: the statements whose plans changed are not in the top")
  or diag explain $few->{plan_changes};
is_deeply(
    { map { $change_of->($_, \%few_id, \%few_planid) } @{ $few->{plan_changes} } },
    { map { $change_of->($_, \%few_want_id, \%few_want_planid) }
          @{ $few_doc->{plan_changes} } },
    "--top $few_top: report --clickhouse --json has the plan changes of the report");

my $n1_title = 'Executions per request (traceparent): N+1';
ok(defined $block->($all_files, $n1_title), "$n1_title: in the report of files");
is($block->($all_terminal, $n1_title), $block->($all_files, $n1_title),
    "$n1_title: the same from ClickHouse");
ok(defined waits_block($all_files), 'Where the time went: in the report of files');
is(waits_block($all_terminal), waits_block($all_files),
    'Where the time went: the same from ClickHouse');
ok(@{ $changes->($all_files) } >= 2, 'Plan changes: in the report of files');
is_deeply($changes->($all_terminal), $changes->($all_files),
    'Plan changes: the same from ClickHouse');
my @long = grep { length($_) > 100 } split /\n/, $terminal;
is_deeply(\@long, [], 'the terminal report fits 100 columns');

# Filters: one server (by cluster name), a period after the end.
($crc, $cout) = run_qprof('report', '--clickhouse', $shards[0], '--json',
    '--server', 'ch190b');
my $one = decode_json($cout);
my ($orc, $only_b) = report_json($captures[1]);
ok($near->($one->{summary}{calls}, $only_b->{summary}{calls}),
    "--server ch190b: its calls ($only_b->{summary}{calls})");
is(scalar @{ $one->{summary}{servers} }, 1, '--server: one server');
my $end = $doc->{summary}{end_unix_us};
($crc, $cout) = run_qprof('report', '--clickhouse', $shards[0], '--json',
    '--since', '@' . ($end / 1e6 + 10));
is(decode_json($cout)->{summary}{executions}, 0, '--since after the end: nothing');
($crc, $cout) = run_qprof('report', '--clickhouse', $shards[0], '--json',
    '--since', '1d');
is(decode_json($cout)->{summary}{executions}, $doc->{summary}{executions},
    '--since 1d: everything');
# Each filter gives from ClickHouse what it gives from the files: its
# executions, calls and errors, and its statements.
for my $filter (['--db', 'postgres'], ['--db', $db_oid], ['--app', 'shop1'],
    ['--route', '/transfers'], ['--user', $user_oid])
{
    my ($frc, $files) = report_json(@captures, '--top', '1000', @$filter);
    ($crc, $cout, $cerr) = run_qprof('report', '--clickhouse', $shards[0],
        '--json', '--top', '1000', @$filter);
    is($crc, 0, "@$filter: report --clickhouse runs") or diag $cerr;
    my $got = $crc == 0 ? decode_json($cout) : { summary => {}, statements => [] };
    ok($files->{summary}{executions} > 0,
        "@$filter: the files' report keeps some executions");
    is($got->{summary}{executions}, $files->{summary}{executions},
        "@$filter: the executions of the files' report");
    ok($near->($got->{summary}{calls} // -1, $files->{summary}{calls}),
        "@$filter: its calls");
    is($got->{summary}{errors}, $files->{summary}{errors}, "@$filter: its errors");
    is_deeply([ sort map { $_->{queryid} } @{ $got->{statements} } ],
        [ sort map { $_->{queryid} } @{ $files->{statements} } ],
        "@$filter: its statements");
}
for my $filter (['--db', 'nosuchdb'], ['--app', 'shop0'])
{
    ($crc, $cout, $cerr) = run_qprof('report', '--clickhouse', $shards[0],
        '--json', @$filter);
    my ($frc, $files) = report_json(@captures, @$filter);
    is($crc == 0 ? decode_json($cout)->{summary}{executions} : -1,
        $files->{summary}{executions},
        "@$filter: as many executions as the files' report (" . $files->{summary}{executions} . ")");
}
($crc, $cout, $cerr) = run_qprof('report', '--clickhouse', $shards[0],
    '--server', 'nosuchserver');
is($crc, 1, '--server that names no server: a usage error');

# One server without a cluster: the fleet tables are Merge tables.
($rc, $out, $err) = run_qprof('export', '--clickhouse', $shards[1],
    '--database', 'solo', '--create-schema', $captures[1]);
is($rc, 0, 'schema and export in another database, no cluster') or diag $err;
is(ch_rows($shards[1], "SELECT engine FROM system.tables WHERE database = 'solo' "
      . "AND name = 'samples'")->[0][0], 'Merge', 'samples is a Merge table');
($crc, $cout) = run_qprof('report', '--clickhouse', $shards[1], '--database',
    'solo', '--json');
ok($near->(decode_json($cout)->{summary}{calls}, $only_b->{summary}{calls}),
    'its report: the calls of its one capture');

# Tables of an older qprof, without the request's tag: export says to add
# the new columns, which --create-schema does, on the local and the fleet
# table.
($rc) = run_qprof('export', '--clickhouse', $shards[1], '--database', 'old',
    '--create-schema');
ch_query($shards[1], "ALTER TABLE old.$_ DROP COLUMN request_tag")
  for qw(samples samples_local);
($rc, $out, $err) = run_qprof('export', '--clickhouse', $shards[1],
    '--database', 'old', $captures[1]);
is($rc, 2, 'tables of an older qprof: exit status 2');
like($err, qr/older qprof \(no column samples_local\.request_tag\).*--create-schema/,
    'saying to add the new columns');
($rc, $out, $err) = run_qprof('export', '--clickhouse', $shards[1],
    '--database', 'old', '--create-schema', $captures[1]);
is($rc, 0, '--create-schema adds them, and the capture is exported') or diag $err;
my $tagged_requests = sub {
    my ($db) = @_;
    return ch_rows($shards[1], "SELECT count() FROM $db.samples FINAL "
          . "WHERE request_tag = 'traceparent' AND request != ''")->[0][0];
};
ok($tagged_requests->('old') > 0, 'the samples of requests have their tag');
is($tagged_requests->('old'), $tagged_requests->('solo'),
    'as many as in tables created with the column');

# Errors: ClickHouse unreachable, a statement it refuses.
($rc, $out, $err) = run_qprof('export', '--clickhouse', 'http://127.0.0.1:1/',
    $captures[0]);
is($rc, 2, 'ClickHouse unreachable: exit status 2');
like($err, qr/cannot connect/, 'saying so');
($rc, $out, $err) = run_qprof('report', '--clickhouse', $shards[0],
    '--database', 'nosuchdb');
is($rc, 2, 'a database that is not there: exit status 2');
like($err, qr/nosuchdb/, 'with ClickHouse\'s message');

# Answers that are not ClickHouse's: said, exit status 2, no crash.
for my $case (
    [ 'closes without answering', '', qr/not an HTTP answer/ ],
    [ 'answers garbage', "hello\r\n\r\n", qr/not an HTTP answer/ ],
    [ 'a malformed chunked answer',
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nZZZ\r\n",
        qr/malformed chunked/ ],
    [ 'a chunk longer than the answer',
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nfffffff\r\nab",
        qr/cut short/ ])
{
    my ($name, $reply, $message) = @$case;
    my $listener = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0,
        Listen => 1, ReuseAddr => 1) or die "listen: $!";
    my $port = $listener->sockport;
    my $pid = fork // die "fork: $!";
    if ($pid == 0)
    {
        my $client = $listener->accept;
        my $request = '';
        $client->recv($request, 65536);
        print $client $reply;
        close $client;
        exit 0;
    }
    close $listener;
    ($rc, $out, $err) = run_qprof('report', '--clickhouse',
        "http://127.0.0.1:$port/");
    waitpid $pid, 0;
    is($rc, 2, "a server that $name: exit status 2");
    like($err, $message, 'saying what was wrong');
}

done_testing();
