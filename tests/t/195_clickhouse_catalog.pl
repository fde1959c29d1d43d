# The catalog snapshots in ClickHouse (issue 30): `qprof export` loads each
# snapshot of the captures (a database's relations with their sizes and
# row counts, its indexes with their definitions, its column statistics,
# the server's settings) into the catalog_* tables, and ClickHouse's rows
# are the snapshots of the capture files: one row per snapshot, per
# relation, index, column and setting, with their values. Exporting the
# captures again doubles nothing (FINAL, and after a merge). A database an
# older qprof created, without the catalog tables, is refused until
# `--create-schema` adds them. `qprof collect --clickhouse` loads the
# snapshots of the files it closes too. On a synthetic capture, the
# insights the snapshots and per-node actuals decide are the report of
# the files', every statement listed; and with --top 1, 3 and 10 the
# insights shown are the files' too, of every kind, some about statements
# outside the top ClickHouse then lists (the report of files looks at
# every statement, and so does ClickHouse).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../collector";
use IPC::Run;
use PostgreSQL::Test::Utils;
use Test::More;
use QprofClickHouse;
use QprofCollectorTest;
use QprofReportTest;

plan skip_all => clickhouse_server_path()
  . ' is not installed (tests/deps/clickhouse.txt)'
  unless -x clickhouse_server_path();

my $tmp = PostgreSQL::Test::Utils::tempdir;
my $node = new_qprof_node('ch195');
$node->safe_psql('postgres', q{
    SET pg_qprof.enabled = off;
    CREATE SCHEMA shop;
    CREATE TABLE shop.accounts (id int PRIMARY KEY, owner text, balance numeric);
    INSERT INTO shop.accounts
        SELECT g, 'owner-' || (g % 50), g FROM generate_series(1, 5000) g;
    CREATE INDEX accounts_owner_idx ON shop.accounts (owner);
    DELETE FROM shop.accounts WHERE id <= 500;
    ANALYZE shop.accounts;
    CREATE TABLE "Mixed Case" (k int);
});
sub workload
{
    $node->safe_psql('postgres',
        join '', map { "SELECT balance FROM shop.accounts WHERE owner = 'owner-$_';\n" } 1 .. 10);
}
# two snapshots: the second without the index, with another setting
my $capture = "$tmp/cap";
workload();
capture_once($node, $capture);
$node->safe_psql('postgres', q{
    SET pg_qprof.enabled = off;
    DROP INDEX shop.accounts_owner_idx;
    ALTER SYSTEM SET work_mem = '7MB';
    SELECT pg_reload_conf();
});
workload();
capture_once($node, $capture);

# The snapshots of the capture files, each once.
my %snapshots;
for my $r (grep { $_->{kind} eq 'catalog' } dump_records($capture))
{
    $snapshots{"$r->{dbid} $r->{taken_unix_us}"} = $r;
}
is(scalar keys %snapshots, 2, 'the capture has two catalog snapshots');

my ($url) = start_clickhouse_shards($tmp, 1);
my ($rc, $out, $err) = run_qprof('export', '--clickhouse', $url, '--create-schema');
is($rc, 0, 'the schema') or diag $err;
($rc, $out, $err) = run_qprof('export', '--clickhouse', $url, $capture);
is($rc, 0, 'the capture exported') or diag $err;
like($out, qr/ 2 catalog snapshots to /, 'export counts the snapshots, each once');

my $server_id = ch_rows($url, 'SELECT server_id FROM qprof.servers FINAL')->[0][0];

# A snapshot's items as the capture has them and as ClickHouse does, one
# line each, sorted.
sub want_items
{
    my ($snap) = @_;
    my $n = sub { $_[0] // 0 };
    return {
        relations => [ sort map {
            join ' ', "$_->{schema}.$_->{name}", $_->{kind}, $n->($_->{oid}),
              $n->($_->{total_bytes}), $n->($_->{table_bytes}),
              sprintf('%.6g', $n->($_->{reltuples})), $n->($_->{relpages}),
              $n->($_->{n_live_tup}), $n->($_->{n_dead_tup}),
              $n->($_->{seq_scan}), $n->($_->{idx_scan})
        } @{ $snap->{relations} // [] } ],
        indexes => [ sort map {
            join ' | ', "$_->{schema}.$_->{name}", $_->{table}, $n->($_->{table_oid}),
              $_->{definition}, $n->($_->{bytes}), ($_->{is_unique} ? 1 : 0),
              ($_->{is_primary} ? 1 : 0)
        } @{ $snap->{indexes} // [] } ],
        columns => [ sort map {
            join ' | ', "$_->{schema}.$_->{table}.$_->{column}",
              sprintf('%.4g', $n->($_->{null_frac})), sprintf('%.4g', $n->($_->{n_distinct})),
              $n->($_->{avg_width}), join(',', @{ $_->{most_common_vals} // [] })
        } @{ $snap->{columns} // [] } ],
        settings => [ sort map { "$_->{name}=" . ($_->{value} // '') . ' ' . ($_->{unit} // '') }
              @{ $snap->{settings} // [] } ],
    };
}

sub got_items
{
    my ($db, $dbid, $taken) = @_;
    my $where = "FINAL WHERE server_id = $server_id AND dbid = $dbid AND taken_unix_us = $taken";
    my $rows = sub { [ sort map { join $_[1], @$_ } @{ ch_rows($url, $_[0]) } ] };
    return {
        relations => $rows->("SELECT concat(schema_name, '.', name), kind, oid, total_bytes,"
              . " table_bytes, reltuples, relpages,"
              . " n_live_tup, n_dead_tup, seq_scan, idx_scan FROM $db.catalog_relations $where", ' '),
        indexes => $rows->("SELECT concat(schema_name, '.', name), table_name, table_oid,"
              . " definition, bytes, is_unique, is_primary FROM $db.catalog_indexes $where", ' | '),
        columns => $rows->("SELECT concat(schema_name, '.', table_name, '.', column_name),"
              . " null_frac, n_distinct, avg_width, arrayStringConcat(most_common_vals, ',')"
              . " FROM $db.catalog_columns $where", ' | '),
        settings => $rows->("SELECT concat(name, '=', value), unit FROM $db.catalog_settings $where", ' '),
    };
}

# ClickHouse prints floats its own way: both sides as the test formats them
sub normalized
{
    my ($items) = @_;
    my %out = %$items;
    $out{relations} = [ sort map {
        my @f = split / /; $f[5] = sprintf('%.6g', $f[5]); join ' ', @f } @{ $items->{relations} } ];
    $out{columns} = [ sort map {
        my @f = split / \| /, $_, -1; $f[1] = sprintf('%.4g', $f[1]); $f[2] = sprintf('%.4g', $f[2]);
        join ' | ', @f } @{ $items->{columns} } ];
    return \%out;
}

sub check_snapshots
{
    my ($db, $what) = @_;
    my @heads = @{ ch_rows($url, "SELECT dbid, taken_unix_us, database, relations, indexes,"
          . " columns, settings, server_id FROM $db.catalog_snapshots FINAL ORDER BY taken_unix_us") };
    is(scalar @heads, scalar keys %snapshots, "$what: one row per snapshot");
    for my $head (@heads)
    {
        my ($dbid, $taken, $database, @counts) = @$head;
        my $snap = $snapshots{"$dbid $taken"};
        ok($snap, "$what: snapshot $taken is one of the capture's") or next;
        is_deeply([ $database, @counts ],
            [ $snap->{database}, (map { scalar @{ $snap->{$_} // [] } } qw(relations indexes columns settings)),
                $server_id ],
            "$what: snapshot $taken: its database, counts and server");
        my $want = want_items($snap);
        my $got = normalized(got_items($db, $dbid, $taken));
        for my $kind (qw(relations indexes columns settings))
        {
            ok(@{ $want->{$kind} } > 0, "$what: snapshot $taken has $kind");
            is_deeply($got->{$kind}, $want->{$kind},
                "$what: snapshot $taken: its $kind as in the capture");
        }
    }
}

check_snapshots('qprof', 'exported');

# what the snapshots differ in, as the report will read it
my ($first, $second) = map { $_->[0] } @{ ch_rows($url,
        'SELECT taken_unix_us FROM qprof.catalog_snapshots FINAL ORDER BY taken_unix_us') };
is_deeply(ch_rows($url, 'SELECT taken_unix_us FROM qprof.catalog_indexes FINAL'
          . " WHERE name = 'accounts_owner_idx'"), [ [$first] ],
    'the dropped index is in the first snapshot only');
is_deeply(ch_rows($url, "SELECT taken_unix_us, value, unit FROM qprof.catalog_settings FINAL"
          . " WHERE name = 'work_mem' ORDER BY taken_unix_us"),
    [ [ $first, 4096, 'kB' ], [ $second, 7168, 'kB' ] ],
    'work_mem as each snapshot has it');
my ($accounts) = grep { $_->{name} eq 'accounts' }
  map { @{ $_->{relations} } } grep { $_->{taken_unix_us} == $first } values %snapshots;
my $live_dead = ch_rows($url, "SELECT n_live_tup, n_dead_tup FROM qprof.catalog_relations FINAL"
      . " WHERE name = 'accounts' AND taken_unix_us = $first");
is_deeply($live_dead, [ [ $accounts->{n_live_tup}, $accounts->{n_dead_tup} ] ],
    'live and dead rows of a relation');
ok($live_dead->[0][1] > 0, 'the deleted rows are dead rows');
is(ch_rows($url, "SELECT count() FROM qprof.catalog_relations FINAL WHERE name = 'Mixed Case'")->[0][0],
    2, 'a name that needs quoting');

# Exported again: nothing doubled, to FINAL and once merged.
my %counts = map { ($_ => ch_rows($url, "SELECT count() FROM qprof.$_ FINAL")->[0][0]) }
  qw(catalog_snapshots catalog_relations catalog_indexes catalog_columns catalog_settings);
($rc, $out, $err) = run_qprof('export', '--clickhouse', $url, $capture);
is($rc, 0, 'the capture exported again') or diag $err;
ok(ch_rows($url, 'SELECT count() FROM qprof.catalog_relations')->[0][0] > $counts{catalog_relations},
    'the rows are sent again (before a merge, without FINAL, more rows)');
for my $table (sort keys %counts)
{
    is(ch_rows($url, "SELECT count() FROM qprof.$table FINAL")->[0][0], $counts{$table},
        "$table: as many rows to FINAL after a second export");
    ch_query($url, "OPTIMIZE TABLE qprof.${table}_local FINAL");
    is(ch_rows($url, "SELECT count() FROM qprof.$table")->[0][0], $counts{$table},
        "$table: and once merged");
}
check_snapshots('qprof', 'exported twice');

# A database of an older qprof, without the catalog tables: refused, then
# upgraded by --create-schema.
($rc, $out, $err) = run_qprof('export', '--clickhouse', $url, '--database', 'old', '--create-schema');
is($rc, 0, 'a second database') or diag $err;
ch_query($url, "DROP TABLE old.$_") for map { ("${_}_local", $_) }
  qw(catalog_snapshots catalog_relations catalog_indexes catalog_columns catalog_settings);
($rc, $out, $err) = run_qprof('export', '--clickhouse', $url, '--database', 'old', $capture);
is($rc, 2, 'without the catalog tables, export refuses');
like($err, qr/older qprof \(no column catalog_\w+\.\*\).*--create-schema/,
    'and says which table is missing and what adds it');
($rc, $out, $err) = run_qprof('export', '--clickhouse', $url, '--database', 'old', '--create-schema');
is($rc, 0, '--create-schema upgrades it') or diag $err;
($rc, $out, $err) = run_qprof('export', '--clickhouse', $url, '--database', 'old', $capture);
is($rc, 0, 'then the capture is exported') or diag $err;
check_snapshots('old', 'upgraded');

# qprof collect --clickhouse: the snapshot of the file it closes
($rc, $out, $err) = run_qprof('export', '--clickhouse', $url, '--database', 'streamed', '--create-schema');
is($rc, 0, 'a database for the collector') or diag $err;
workload();
my $spool = "$tmp/spool";
($rc, $out, $err) = run_qprof('collect', '--dsn', $node->connstr('postgres'), '--out', $spool,
    '--once', '--bpf', 'off', '--clickhouse', $url, '--clickhouse-database', 'streamed');
is($rc, 0, 'qprof collect --clickhouse --once') or diag $err;
%snapshots = ();
for my $r (grep { $_->{kind} eq 'catalog' } dump_records($spool))
{
    $snapshots{"$r->{dbid} $r->{taken_unix_us}"} = $r;
}
is(scalar keys %snapshots, 1, 'the collector wrote a snapshot');
check_snapshots('streamed', 'collected');

$node->stop;

# The insights that need the catalog, from ClickHouse: on a synthetic
# capture (tests/bench/synth_capture.cpp: a catalog snapshot per file with
# dead rows, storage reads, spills, scans of large tables, plans that
# change; its snapshots have no settings, which export takes from the
# files' headers then, as the report of files does), every statement
# listed, `qprof report --clickhouse` finds the
# missing indexes, spills, storage reads and plan regressions the report
# of the files finds, in the same order, with the same titles, evidence,
# facts, action and SQL (with the per-node actuals of 1% of the
# executions: the rows a scan removed, the node that spilled, the relation
# that read most, the estimate that was furthest off).
my $repo = QprofCollectorTest::repo_dir();
my ($bout, $berr) = ('', '');
IPC::Run::run(
    [ 'g++', '-O1', '-std=c++17', "-I$repo/collector/build",
        "-I$repo/collector/capture", "$repo/tests/bench/synth_capture.cpp",
        "$repo/collector/build/libcapture.a", '-lprotobuf', '-lzstd',
        '-lpthread', '-o', "$tmp/synth_capture" ],
    '>', \$bout, '2>', \$berr, IPC::Run::timeout(600))
  or BAIL_OUT("cannot build synth_capture: $berr");
my $synth = "$tmp/synth";
mkdir $synth;
IPC::Run::run([ "$tmp/synth_capture", '--out', $synth, '--samples', 60000,
        '--statements', 200, '--seed', 5 ], '>', \$bout, '2>', \$berr)
  or BAIL_OUT("synth_capture failed: $berr");
($rc, $out, $err) = run_qprof('export', '--clickhouse', $url, '--database', 'synth',
    '--create-schema', $synth);
is($rc, 0, 'the synthetic capture exported') or diag $err;

my @kinds = qw(missing_index spill storage_reads plan_regression estimate_error);
my ($frc, $files, $ferr) = report_json($synth, '--top', 100000);
is($frc, 0, 'qprof report --json of the synthetic capture') or diag $ferr;
my ($crc, $fleet, $cerr) = report_json('--clickhouse', $url, '--database', 'synth',
    '--top', 100000);
is($crc, 0, 'qprof report --clickhouse --json, every statement listed') or diag $cerr;
my %files_text = map { ($_->{key} => $_->{text}) } @{ $files->{statements} };
my %fleet_text = map { ($_->{key} => $_->{text}) } @{ $fleet->{statements} };
my %wanted = map { ($_ => 1) } @kinds;
my @want = map { catalog_insight($_, \%files_text) } grep { $wanted{ $_->{kind} } } @{ $files->{insights} };
my @got = map { catalog_insight($_, \%fleet_text) } grep { $wanted{ $_->{kind} } } @{ $fleet->{insights} };
my %found = map { ($_->{kind} => 1) } @want;
is_deeply([ sort keys %found ], [ sort @kinds ], 'the files have an insight of each kind');
ok(scalar(grep { $_->{kind} eq 'storage_reads' && grep { /dead rows; shared_buffers/ } @{ $_->{evidence} } } @want),
    'a storage read names its table from the catalog');
ok(scalar(grep { $_->{kind} eq 'missing_index' && grep { /indexes: .* \(catalog snapshot\)/ } @{ $_->{evidence} } } @want),
    "a missing index names the table's indexes from the catalog");
ok(scalar(grep { $_->{kind} eq 'missing_index' && grep { /\(per-node actuals of [0-9,]+ executions\)$/ } @{ $_->{evidence} } } @want),
    "a missing index's rows from the per-node actuals");
ok(scalar(grep { $_->{kind} eq 'missing_index' && grep { / is estimated to remove / } @{ $_->{evidence} } } @want),
    "another's estimated, without them");
is(scalar @got, scalar @want, 'as many from ClickHouse');
for my $i (0 .. $#want)
{
    is_deeply($got[$i], $want[$i], "insight $i ($want[$i]{kind}): as the report of the files says it");
}

# Every statement is looked at, not only those listed: with --top N, the
# first N insights from ClickHouse are the report of the files' (which
# finds them over every statement), of every kind, and some are about
# statements outside the first N by time, which ClickHouse then lists.
my $outside = 0;
for my $top (1, 3, 10)
{
    my ($frc, $files_top, $ferr) = report_json($synth, '--top', $top);
    is($frc, 0, "qprof report --json --top $top") or diag $ferr;
    my ($crc, $fleet_top, $cerr) = report_json('--clickhouse', $url, '--database', 'synth',
        '--top', $top);
    is($crc, 0, "qprof report --clickhouse --json --top $top") or diag $cerr;
    my %ft = map { ($_->{key} => $_->{text}) } @{ $files_top->{statements} };
    my %ct = map { ($_->{key} => $_->{text}) } @{ $fleet_top->{statements} };
    my @w = map { catalog_insight($_, \%ft) } @{ $files_top->{insights} };
    my @g = map { catalog_insight($_, \%ct) } @{ $fleet_top->{insights} };
    is(scalar @w, $top, "--top $top: the files have $top insights");
    is_deeply(\@g, \@w, "--top $top: the insights from ClickHouse are the files', every kind");
    my %first = map { ($_->{text} => 1) } grep { $_->{rank} <= $top } @{ $fleet_top->{statements} };
    my @outside = grep { defined $_->{statement} && !$first{ $_->{statement} } } @g;
    $outside += @outside;
    is(scalar(grep { defined $_->{statement} && !defined $ct{ $_->{statement} } }
              @{ $fleet_top->{insights} }), 0,
        "--top $top: and ClickHouse lists the statement of each");
}
ok($outside, 'some of them are about statements outside the first N by time');

# The error rates and N+1 of every statement, not only of the first
# --top: ClickHouse asks for every failing statement and every N+1 row
# their rules could hold for, so with --top 1 the terminal counts as many
# insights beyond those shown as the report of the files ("... N more"),
# and ClickHouse lists the statement of each error rate and N+1 the files
# find over every statement (it decided each of them; those listed only
# for an insight stay listed when one is about them).
my @full = grep { $_->{kind} eq 'error_rate' || $_->{kind} eq 'n_plus_one' } @{ $files->{insights} };
ok(scalar(grep { $_->{kind} eq 'error_rate' } @full) > 1,
    'the files find more than one error rate');
ok(scalar(grep { $_->{kind} eq 'n_plus_one' } @full) > 1, 'and more than one N+1');
($rc, my $files_text, $err) = run_qprof('report', '--top', 1, $synth);
is($rc, 0, 'qprof report --top 1 of the synthetic capture') or diag $err;
($rc, my $fleet_text, $err) = run_qprof('report', '--clickhouse', $url, '--database', 'synth',
    '--top', 1);
is($rc, 0, 'qprof report --clickhouse --top 1') or diag $err;
my ($files_more) = $files_text =~ /^  \.\.\. (\d+) more in --json$/m;
my ($fleet_more) = $fleet_text =~ /^  \.\.\. (\d+) more in --json$/m;
ok(defined $files_more && $files_more > 1, 'the files count the insights not shown');
is($fleet_more, $files_more, '--top 1: ClickHouse counts as many insights not shown');
($crc, my $fleet1, $cerr) = report_json('--clickhouse', $url, '--database', 'synth', '--top', 1);
is($crc, 0, 'qprof report --clickhouse --json --top 1') or diag $cerr;
my %listed1 = map { ($_->{text} => 1) } @{ $fleet1->{statements} };
my @unlisted = grep { !$listed1{ $files_text{ $_->{statement} } } } @full;
is_deeply([ map { "$_->{kind}: $_->{title}" } @unlisted ], [],
    '--top 1: ClickHouse lists the statement of every error rate and N+1 of the files');

# An insight as both reports should say it: statements by their text,
# plans counted, numbers to 6 digits.
sub catalog_insight
{
    my ($in, $text_of) = @_;
    return {
        (map { ($_ => $in->{$_}) } qw(kind title severity route table columns evidence action sql)),
        db_time_ms => sprintf('%.3f', $in->{db_time_ms}),
        statement => defined $in->{statement} ? $text_of->{ $in->{statement} } : undef,
        facts => { map { ($_ => ref $in->{facts}{$_} ? $in->{facts}{$_}
                      : $in->{facts}{$_} =~ /^-?[0-9.e+-]+$/ ? sprintf('%.6g', $in->{facts}{$_})
                      : $in->{facts}{$_}) } keys %{ $in->{facts} } },
        plans => scalar @{ $in->{plans} },
    };
}

done_testing();
