# Kernel facts through ClickHouse (issue 30): two captures with known
# kernel facts, written by the collector's own writer and codec
# (tests/report/wait_capture.cpp: lock waits, CPU-bound statements, inserts
# waiting on WAL; tests/report/io_wait_capture.cpp: reads waiting on I/O),
# two servers, exported to one ClickHouse (Debian's 18.16, started here).
# ClickHouse's answers equal `qprof report --json`'s on the same captures:
# the executions with kernel facts, and per statement and per route (and
# per group of every attribution) the executions with them, the time on the CPU, in I/O wait and in other
# waits, the storage reads and block bytes (a statement without kernel
# facts has none); so does the kernel_by_statement query of
# docs/clickhouse-queries.sql; and the terminal report from ClickHouse has
# the same rows of kernel facts by statement and by route as the report of
# the files. So are where the time went (the kernel's wait split: CPU, run
# queue, classes and events; in all, per statement and per route, in the
# JSON and the terminal), and the JSON's time series and heatmap. So are
# the wait insights (CPU saturation, the lock wait with the statement that
# held the lock, the LWLock waits on WAL, the reads waiting on I/O, the
# sleep): the same insights in the same order, with the same title, time,
# evidence and facts, in the JSON and the terminal, and with a small --top
# (the statements they name are then added to those listed).
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

# The two captures.
my @captures;
for my $writer ([ 'wait_capture' ], [ 'io_wait_capture', '--io-wait-us', 3000 ])
{
    my ($name, @args) = @$writer;
    my ($out, $err) = ('', '');
    my $fixture = build_capture_fixture($name, $tmp);
    my $dir = "$tmp/$name.cap";
    make_path($dir);
    IPC::Run::run([ $fixture, '--out', $dir, @args ], '>', \$out, '2>', \$err)
      or BAIL_OUT("$name failed: $err");
    push @captures, $dir;
}

my ($url) = start_clickhouse_shards($tmp, 1);
my ($rc, $out, $err) = run_qprof('export', '--clickhouse', $url,
    '--create-schema');
is($rc, 0, 'the schema') or diag $err;
($rc, $out, $err) = run_qprof('export', '--clickhouse', $url, @captures);
is($rc, 0, 'both captures exported') or diag $err;

my ($jrc, $doc, $jerr) = report_json(@captures, '--top', '1000');
is($jrc, 0, 'qprof report --json of the captures') or diag $jerr;
my ($crc, $cout, $cerr) = run_qprof('report', '--clickhouse', $url, '--json',
    '--top', '1000');
is($crc, 0, 'qprof report --clickhouse --json') or diag $cerr;
my $fleet = decode_json($cout);

ok($doc->{summary}{kernel}{executions} > 0, 'the captures have kernel facts');
is($fleet->{summary}{kernel_executions}, $doc->{summary}{kernel}{executions},
    'executions with kernel facts as in the report');

# The rankings by the kernel's facts: the same statements in the same order.
{
    my %files_id = map {
        my $s = $_;
        my ($server) = grep { $_->{key} eq $s->{server} } @{ $doc->{summary}{servers} };
        ($s->{key} => "$server->{system_identifier}/$s->{dbid}/$s->{queryid}")
    } @{ $doc->{statements} };
    my %fleet_id = map { ($_->{key} => "$_->{system_identifier}/$_->{dbid}/$_->{queryid}") }
      @{ $fleet->{statements} };
    for my $name (qw(storage_reads io_wait offcpu runqueue lock_wait))
    {
        my @want = map { $files_id{$_} } @{ $doc->{rankings}{$name} };
        # (the report of files ranks no statement of the fixtures by
        # storage reads: an empty ranking, on both sides)
        ok(@want >= 1, "the report of files ranks statements by $name")
          unless $name eq 'storage_reads';
        is_deeply([ map { $fleet_id{$_} } @{ $fleet->{rankings}{$name} // [] } ], \@want,
            "report --clickhouse: ranking $name as in the report");
    }
}

my @fields = qw(oncpu_ms io_wait_ms other_wait_ms page_cache_misses block_bytes);

# Kernel facts of rows keyed alike: null on both sides or the same
# executions and sums, within the JSON's rounding (6 significant digits).
sub same_kernel
{
    my ($what, $got, $want) = @_;
    is_deeply([ sort keys %$got ], [ sort keys %$want ], "$what: the same rows");
    my (@off, $with);
    for my $key (sort keys %$want)
    {
        my ($g, $w) = ($got->{$key}, $want->{$key});
        if (!defined $w)
        {
            push @off, "$key: kernel facts, the report has none" if defined $g;
            next;
        }
        $with++;
        if (!defined $g)
        {
            push @off, "$key: no kernel facts";
            next;
        }
        push @off, "$key executions: $g->{executions}, report $w->{executions}"
          unless $g->{executions} == $w->{executions};
        for my $f (@fields)
        {
            push @off, "$key $f: $g->{$f}, report $w->{$f}"
              unless defined $g->{$f}
              && abs($g->{$f} - $w->{$f}) <= 1e-5 * abs($w->{$f}) + 1e-6;
        }
    }
    ok($with >= 2, "$what: rows with kernel facts ($with)");
    is_deeply(\@off, [], "$what: the kernel facts of the report");
}

my %sysid_of_key = map { ($_->{key} => $_->{system_identifier}) }
  @{ $doc->{summary}{servers} };
my %want = map {
    ("$sysid_of_key{$_->{server}}/$_->{dbid}/$_->{queryid}" => $_->{kernel})
} @{ $doc->{statements} };
ok(grep({ !defined } values %want), 'a statement without kernel facts');
my %got = map { ("$_->{system_identifier}/$_->{dbid}/$_->{queryid}" => $_->{kernel}) }
  @{ $fleet->{statements} };
same_kernel('statements', \%got, \%want);

my ($routes) =
  grep { $_->{dimension} eq 'route' } @{ $doc->{attribution}{dimensions} };
%want = map { ($_->{name} => $_->{kernel}) } @{ $routes->{groups} };
my ($fleet_routes) =
  grep { $_->{dimension} eq 'route' } @{ $fleet->{attribution}{dimensions} };
%got = map { ($_->{name} => $_->{kernel}) } @{ $fleet_routes->{groups} };
same_kernel('routes', \%got, \%want);
# and every other attribution's groups, with their kernel facts and waits
{
    my %files_id = map { ($_->{key} => "$sysid_of_key{$_->{server}}/$_->{dbid}/$_->{queryid}") }
      @{ $doc->{statements} };
    my %fleet_id = map { ($_->{key} => "$_->{system_identifier}/$_->{dbid}/$_->{queryid}") }
      @{ $fleet->{statements} };
    same_attribution('report --clickhouse --json', $fleet, $doc,
        sub { $fleet_id{ $_[0] } // "unlisted $_[0]" },
        sub { $files_id{ $_[0] } // "unlisted $_[0]" },
        sub { my ($name) = @_; $name =~ s/ \@(\S+)$/ \@$sysid_of_key{$1}/; $name });
}

# Where the time went, from the kernel's wait split: in all, per
# statement and per route, the CPU, the run queue, the classes and the
# events.
same_waits('report --clickhouse waits in all',
    { all => $fleet->{summary}{kernel}{waits} },
    { all => $doc->{summary}{kernel}{waits} });
%want = map {
    ("$sysid_of_key{$_->{server}}/$_->{dbid}/$_->{queryid}" =>
          $_->{kernel} && $_->{kernel}{waits})
} @{ $doc->{statements} };
%got = map {
    ("$_->{system_identifier}/$_->{dbid}/$_->{queryid}" =>
          $_->{kernel} && $_->{kernel}{waits})
} @{ $fleet->{statements} };
ok(same_waits('report --clickhouse waits by statement', \%got, \%want) >= 3,
    'statements with the wait split');
%want = map { ($_->{name} => $_->{kernel} && $_->{kernel}{waits}) }
  @{ $routes->{groups} };
%got = map { ($_->{name} => $_->{kernel} && $_->{kernel}{waits}) }
  @{ $fleet_routes->{groups} };
same_waits('report --clickhouse waits by route', \%got, \%want);
ok((grep { $_->{name} =~ /transactionid/ && $_->{ms} > 400 }
      @{ $doc->{summary}{kernel}{waits}{events} }),
    'the report names the lock wait')
  or diag explain $doc->{summary}{kernel}{waits}{events};


# The wait insights: those of the report of the files, in order.
my %wait_kinds =
  map { ($_ => 1) } qw(cpu_saturation lock_wait lwlock_wait io_bound wait_bound);
sub wait_insights
{
    my ($report, $id_of, $with_related) = @_;
    my @out;
    for my $in (grep { $wait_kinds{ $_->{kind} } } @{ $report->{insights} })
    {
        my %facts = map {
            my $v = $in->{facts}{$_};
            ($_ => $v =~ /^-?[0-9.e+-]+$/ ? sprintf('%.6g', $v) : $v)
        } keys %{ $in->{facts} };
        push @out,
          {
            kind => $in->{kind},
            title => $in->{title},
            db_time_ms => sprintf('%.3f', $in->{db_time_ms}),
            severity => $in->{severity},
            statement => defined $in->{statement} ? $id_of->{ $in->{statement} } : undef,
            route => $in->{route},
            evidence => $in->{evidence},
            action => $in->{action},
            facts => \%facts,
            plans => scalar @{ $in->{plans} },
            $with_related
            ? (related => [ map { $id_of->{$_} } @{ $in->{related_statements} } ])
            : (),
          };
    }
    return \@out;
}
my %files_id = map {
    ($_->{key} => "$sysid_of_key{$_->{server}}/$_->{dbid}/$_->{queryid}")
} @{ $doc->{statements} };
my %fleet_id = map {
    ($_->{key} => "$_->{system_identifier}/$_->{dbid}/$_->{queryid}")
} @{ $fleet->{statements} };
my $want_insights = wait_insights($doc, \%files_id, 1);
is_deeply([ sort map { $_->{kind} } @$want_insights ], [ sort keys %wait_kinds ],
    'the report of the files has each wait insight');
my ($files_lock) = grep { $_->{kind} eq 'lock_wait' } @$want_insights;
ok($files_lock && @{ $files_lock->{related} } == 1
      && (grep { /^may hold them: UPDATE accounts/ } @{ $files_lock->{evidence} }),
    'the lock wait names the UPDATE that held the row')
  or diag explain $files_lock;
is_deeply(wait_insights($fleet, \%fleet_id, 1), $want_insights,
    'report --clickhouse: the wait insights of the report of the files, in order');

# With --top 3 the statement burning the CPU second and the lock's holder
# are not among the top: ClickHouse lists them for the insights.
($jrc, my $small_doc) = report_json(@captures, '--top', '3');
($crc, $cout, $cerr) = run_qprof('report', '--clickhouse', $url, '--json',
    '--top', '3');
is($crc, 0, 'qprof report --clickhouse --json --top 3') or diag $cerr;
my $small_fleet = decode_json($cout);
my $small_want = wait_insights($small_doc, {}, 0);
ok((grep { $_->{kind} eq 'lock_wait' } @$small_want)
      && (grep { /^burns CPU: INSERT/ } map { @{ $_->{evidence} } } @$small_want),
    '--top 3: the insights name the holder and the second CPU burner');
is_deeply(wait_insights($small_fleet, {}, 0), $small_want,
    '--top 3: the same wait insights from ClickHouse');

# docs/clickhouse-queries.sql's kernel_by_statement, over every day.
my $sql;
{
    open my $fh, '<', "$repo/docs/clickhouse-queries.sql" or die $!;
    local $/;
    my $all = <$fh>;
    close $fh;
    ($sql) = $all =~ /^-- name: kernel_by_statement\n(.*?)(?=^-- name:|\z)/ms;
}
ok($sql, 'the kernel_by_statement query');
$sql =~ s/;\s*\z//;
$sql =~ s/now\(\) - INTERVAL 1 DAY/toDateTime(0)/g;
$sql =~ s/LIMIT 20\b/LIMIT 100000/g;
my ($head, @lines) = split /\n/, ch_query($url, "$sql\nFORMAT TSVWithNames");
my @names = split /\t/, $head;
%got = map {
    my @v = split /\t/, $_, -1;
    my %row = map { ($names[$_] => $v[$_]) } 0 .. $#names;
    ("$row{server_id}/$row{dbid}/$row{queryid}" =>
          $row{kernel_executions} ? { %row, executions => $row{kernel_executions} } : undef)
} @lines;
# (it lists the statements with kernel facts)
%want = map {
    ("$sysid_of_key{$_->{server}}/$_->{dbid}/$_->{queryid}" => $_->{kernel})
} grep { defined $_->{kernel} } @{ $doc->{statements} };
same_kernel('kernel_by_statement', \%got, \%want);

# The time series and heatmap of the JSON (the captures span 14 s: one
# interval a second).
ok($doc->{timeseries}{intervals} > 10, 'the report has a time series');
same_timeline('report --clickhouse --json', $fleet, $doc);

# The terminal: the same rows of kernel facts.
my ($trc, $terminal) = run_qprof('report', '--clickhouse', $url);
is($trc, 0, 'qprof report --clickhouse');
my ($frc, $files) = run_qprof('report', @captures);
my $block = sub {
    my ($text, $title) = @_;
    return $text =~ /^\Q$title\E\n-+\n(.*?)(?:\n\n|\n?\z)/ms ? $1 : undef;
};
for my $title ('Kernel facts by statement (over its executions with them)',
    'Kernel facts by route')
{
    my $f = $block->($files, $title);
    ok(defined $f && $f =~ /\d/, "$title: in the report of files");
    is($block->($terminal, $title), $f, "$title: the same rows from ClickHouse");
}
my (undef, $all_terminal) = run_qprof('report', '--clickhouse', $url, '--top',
    '1000');
my (undef, $all_files) = run_qprof('report', '--top', '1000', @captures);
ok((waits_block($all_files) // '') =~ /Lock/, 'Where the time went: in the report of files');
is(waits_block($all_terminal), waits_block($all_files),
    'Where the time went: the same from ClickHouse');

# The terminal's wait insights: each one's lines, as the report of the
# files prints them (numbered among its own).
sub insight_blocks
{
    my ($text) = @_;
    my ($section) = $text =~ /^What to do first[^\n]*\n-+\n(.*?)(?:\n\n|\z)/ms;
    my @blocks = split /^\s*\d+\. (?=\[)/m, $section // '';
    return [ grep { /^\[(\w+),/ && $wait_kinds{$1} } @blocks ];
}
my $files_blocks = insight_blocks($all_files);
is(scalar @$files_blocks, 5, 'the terminal report of the files: the wait insights');
is_deeply(insight_blocks($all_terminal), $files_blocks,
    'the terminal report from ClickHouse: the same wait insights');

done_testing();
