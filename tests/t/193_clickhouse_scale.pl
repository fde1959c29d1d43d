# qprof report --clickhouse on thousands of statements (issue 30): a
# synthetic capture (tests/bench/synth_capture.cpp: 100,000 samples of a
# web application, Zipf-skewed statements, plans that change midway,
# requests with N+1, several epochs and losses) exported to Debian's
# ClickHouse 18.16. With --top above the 6,000 statements that ran, every
# statement is listed, and the queries naming them outgrow ClickHouse's
# default max_query_size (256 KiB): they still run, and ClickHouse's
# report equals the report of the file: every statement's calls and time,
# the plan changes of every statement (the slower and the faster plan,
# what it cost), the requests and every N+1 row, every node hotspot.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../collector";
use File::Path qw(make_path);
use IPC::Run;
use JSON::PP;
use PostgreSQL::Test::Utils;
use Test::More;
use QprofClickHouse;
use QprofCollectorTest;
use QprofReportTest;

plan skip_all => clickhouse_server_path()
  . ' is not installed (tests/deps/clickhouse.txt)'
  unless -x clickhouse_server_path();

my $repo = QprofCollectorTest::repo_dir();
my $tmp  = PostgreSQL::Test::Utils::tempdir;

my ($out, $err) = ('', '');
IPC::Run::run(
    [ 'g++', '-O1', '-std=c++17', "-I$repo/collector/build",
        "-I$repo/collector/capture", "$repo/tests/bench/synth_capture.cpp",
        "$repo/collector/build/libcapture.a", '-lprotobuf', '-lzstd',
        '-lpthread', '-o', "$tmp/synth_capture" ],
    '>', \$out, '2>', \$err, IPC::Run::timeout(600))
  or BAIL_OUT("cannot build synth_capture: $err");
my $capture = "$tmp/capture";
make_path($capture);
IPC::Run::run([ "$tmp/synth_capture", '--out', $capture, '--samples', 100000,
        '--statements', 40000, '--seed', 2 ], '>', \$out, '2>', \$err)
  or BAIL_OUT("synth_capture failed: $err");

my ($url) = start_clickhouse_shards($tmp, 1);
my ($rc);
($rc, $out, $err) = run_qprof('export', '--clickhouse', $url,
    '--create-schema', $capture);
is($rc, 0, 'the capture exported') or diag $err;

my ($jrc, $doc, $jerr) = report_json($capture, '--top', '100000');
is($jrc, 0, 'qprof report --json') or diag $jerr;
my ($crc, $cout, $cerr) = run_qprof('report', '--clickhouse', $url, '--json',
    '--top', '100000');
is($crc, 0, 'qprof report --clickhouse --json, every statement listed')
  or diag $cerr;
my $fleet = decode_json($cout);

my $id = sub {
    my ($s) = @_;
    return "$s->{dbid}/$s->{queryid}" . ($s->{queryid} eq '0' ? "/$s->{cmd}" : '');
};
ok($doc->{statements_total} > 6000, "thousands of statements ($doc->{statements_total})");
is($fleet->{statements_total}, $doc->{statements_total}, 'as many statements');
my %want = map { ($id->($_) => $_) } @{ $doc->{statements} };
my %got = map { ($id->($_) => $_) } @{ $fleet->{statements} };
is_deeply([ sort keys %got ], [ sort keys %want ], 'every statement listed');
my $near = sub { abs($_[0] - $_[1]) <= 1e-5 * abs($_[1]) + 1e-6 };
my @off = map {
    my ($g, $w) = ($got{$_}, $want{$_});
    ($g && $near->($g->{calls}, $w->{calls})
          && $near->($g->{total_ms}, $w->{total_ms})) ? () : ($_)
} sort keys %want;
is_deeply(\@off, [], 'calls and time of every statement as in the report');

# the plan changes of every statement, by plan id
my %key_of = (
    want => { map { ($_->{key} => $id->($_)) } @{ $doc->{statements} } },
    got  => { map { ($_->{key} => $id->($_)) } @{ $fleet->{statements} } });
my %planid = (
    want => { map { ($_->{key} => $_->{planid}) } @{ $doc->{plans} } },
    got  => { map { ($_->{key} => $_->{planid}) }
          map { @{ $_->{plans} } } @{ $fleet->{statements} } });
my $changes = sub {
    my ($side, $list) = @_;
    return { map {
        ($key_of{$side}{ $_->{statement} } => join ' ',
            $planid{$side}{ $_->{slower_plan} }, $planid{$side}{ $_->{faster_plan} },
            $_->{changed_unix_us}, sprintf('%.4g', $_->{extra_ms}))
    } @$list };
};
ok(@{ $doc->{plan_changes} } > 100, 'the report has plan changes ('
      . scalar(@{ $doc->{plan_changes} }) . ')');
is_deeply($changes->('got', $fleet->{plan_changes}),
    $changes->('want', $doc->{plan_changes}),
    'the plan changes of every statement as in the report');

# requests and N+1
is_deeply([ map { $fleet->{requests}{$_} } qw(tag requests) ],
    [ map { $doc->{requests}{$_} } qw(tag requests) ], 'the requests');
my $n1 = sub {
    my ($side, $list) = @_;
    return { map {
        ("$key_of{$side}{ $_->{statement} } " . ($_->{route} // '') => join ' ',
            $_->{requests}, $_->{executions}, $_->{max_per_request},
            sprintf('%.6g', $_->{total_ms}))
    } @$list };
};
ok(@{ $doc->{requests}{n_plus_one} } > 0, 'the report has N+1');
is_deeply($n1->('got', $fleet->{requests}{n_plus_one}),
    $n1->('want', $doc->{requests}{n_plus_one}), 'every N+1 row as in the report');

# node hotspots: every plan node type, relation and index of the
# executions with per-node actuals
my $spots = sub {
    my ($side, $list) = @_;
    return { map {
        (join('|', $_->{node_type}, $_->{relation} // '', $_->{index} // '') =>
              join ' ', $_->{executions}, $_->{loops},
            map({ defined ? sprintf('%.6g', $_) : 'null' }
                @$_{qw(actual_rows rows_removed_by_filter total_time_ms
                  max_estimate_factor)}),
            sort map { $key_of{$side}{$_} } @{ $_->{statements} })
    } @$list };
};
is($fleet->{summary}{node_actuals}{executions},
    $doc->{summary}{node_actuals}{executions}, 'the executions with actuals');
ok(@{ $doc->{node_hotspots} } > 20, 'the report has node hotspots');
is_deeply($spots->('got', $fleet->{node_hotspots}),
    $spots->('want', $doc->{node_hotspots}), 'every node hotspot as in the report');

done_testing();
