# qprof collect --clickhouse against a real ClickHouse (Debian's 18.16,
# started here): the samples reach ClickHouse while the collector runs
# (each frame once durable, the file open or closed); the collector is killed with -9
# between two workloads and restarted on the same folder, and ClickHouse
# then holds every sample of the capture once: the count per epoch is the
# capture's, each workload's statements are all there, and after a merge
# no row is doubled. The same with one long file (--rotate-seconds 3600):
# its rows are in ClickHouse while it is open, and a kill -9 while it is
# followed loses and doubles nothing. ClickHouse stopped for a while does not stop the
# capture, and the files closed meanwhile reach it once it is back. With
# --delete-exported the folder is a spool: the files loaded are deleted
# but the last, and a kill -9 loses nothing either.
# Without the schema or ClickHouse, the collector says so and does not
# start.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../collector";
use JSON::PP;
use List::Util qw(sum);
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time sleep);
use QprofClickHouse;
use QprofCollectorTest;
use QprofReportTest;

plan skip_all => clickhouse_server_path()
  . ' is not installed (tests/deps/clickhouse.txt)'
  unless -x clickhouse_server_path();

my $tmp = PostgreSQL::Test::Utils::tempdir;
my ($url) = start_clickhouse_shards($tmp, 1);
my ($rc, $out, $err) = run_qprof('export', '--clickhouse', $url, '--create-schema');
is($rc, 0, 'the schema, on one server') or diag $err;

my $node = new_qprof_node('ch191');
$node->safe_psql('postgres', 'CREATE TABLE t (id int)');

# A workload on its own route: $count statements.
sub workload
{
    my ($route, $count) = @_;
    my $script = '';
    $script .= tagged("SELECT count(*) FROM t WHERE id > $_", $route, 'W') . ";\n"
      for 1 .. $count;
    $node->safe_psql('postgres', $script);
    return;
}

# Samples of a route in ClickHouse, each once (FINAL).
sub in_clickhouse
{
    my ($route) = @_;
    return ch_rows($url, 'SELECT count() FROM qprof.samples FINAL WHERE route = '
          . "'$route'")->[0][0];
}

sub wait_for
{
    my ($what, $cond) = @_;
    for (1 .. 300)
    {
        return 1 if $cond->();
        sleep 0.1;
    }
    return 0;
}

my $dir = "$tmp/cap";
my @args = ('--poll-seconds', '0.1', '--frame-seconds', '0.2',
    '--rotate-seconds', '1', '--clickhouse', $url);
my $collector = start_collector($node, $dir, @args);
workload('/w/1', 300);
ok(wait_for('w1', sub { in_clickhouse('/w/1') == 300 }),
    'the first workload reaches ClickHouse while the collector runs');
ok($collector->pumpable, 'the collector is still running');

# Killed with -9 right after a workload: its last samples may be in a frame
# not written, in a file not closed, in a file not exported.
workload('/w/2', 400);
sleep 0.3;
$collector->signal('KILL');
$collector->finish;
my $before_restart = in_clickhouse('/w/2');
diag "after kill -9: $before_restart of 400 in ClickHouse";
workload('/w/3', 200);

# Restarted on the same folder: what was left behind, then the rest.
$collector = start_collector($node, $dir, @args);
workload('/w/4', 100);
ok(wait_for('w4', sub { in_clickhouse('/w/4') == 100 }),
    'after the restart, the new statements reach ClickHouse');

# ClickHouse stops for a while: the capture goes on, and the files closed
# meanwhile are loaded once it answers again.
stop_clickhouse_server(0);
workload('/w/5', 200);
sleep 2.5;
ok($collector->pumpable, 'the collector runs on without ClickHouse');
chomp(my $mark = slurp_file("$dir/clickhouse.exported"));
my @files = glob("$dir/*.qprof");
cmp_ok($mark, '<', scalar(@files) - 1,
    "files closed meanwhile are not loaded yet ($mark of " . scalar(@files) . ')');
restart_clickhouse_server(0, $url);
workload('/w/6', 50);
ok(wait_for('w6', sub { in_clickhouse('/w/6') == 50 }),
    'ClickHouse back: the new statements reach it');
is(stop_collector($collector), 0, 'the restarted collector stops cleanly');

my %expected = ('/w/1' => 300, '/w/2' => 400, '/w/3' => 200, '/w/4' => 100,
    '/w/5' => 200, '/w/6' => 50);
for my $route (sort keys %expected)
{
    is(in_clickhouse($route), $expected{$route},
        "$route: every statement once in ClickHouse");
}

# Every sample of the capture once, per epoch; the capture itself has no
# sample twice.
my %captured;
my %seen;
my $twice = 0;
for my $s (dump_samples($dir))
{
    $captured{ $s->{epoch} }++;
    $twice++ if $seen{"$s->{epoch}/$s->{seq}"}++;
}
is($twice, 0, 'the capture has no sample twice');
my %stored = map { ($_->[0] => $_->[1]) } @{ ch_rows($url,
    'SELECT epoch, count() FROM qprof.samples FINAL GROUP BY epoch') };
is_deeply(\%stored, \%captured, 'ClickHouse has every sample of the capture, once');
ch_query($url, 'OPTIMIZE TABLE qprof.samples_local FINAL');
my $raw = ch_rows($url, 'SELECT count() FROM qprof.samples')->[0][0];
is($raw, sum(values %captured), 'merged: no row twice');

# The same answers as the report of the files.
my ($jrc, $doc) = report_json($dir);
($rc, $out, $err) = run_qprof('report', '--clickhouse', $url, '--json');
is($rc, 0, 'report --clickhouse') or diag $err;
my $fleet = decode_json($out);
is($fleet->{summary}{calls}, $doc->{summary}{calls}, 'the calls of the report of the files');
ok(abs($fleet->{summary}{db_time_ms} - $doc->{summary}{db_time_ms})
      <= 1e-5 * $doc->{summary}{db_time_ms},
    'and its database time');

# Frames as they are written: with one long file (--rotate-seconds 3600),
# rows reach ClickHouse while the file they are in is open; a kill -9 while
# it follows that file, a workload while it is down and a restart leave
# every statement once, and no row twice once merged.
my $long = "$tmp/long";
my @long_args = ('--poll-seconds', '0.1', '--frame-seconds', '0.2',
    '--rotate-seconds', '3600', '--clickhouse', $url);

# Samples of the routes like `pattern`, as read (FINAL) and as stored.
sub long_counts
{
    my ($pattern) = @_;
    my $where = "WHERE route LIKE '$pattern'";
    return (ch_rows($url, "SELECT count() FROM qprof.samples FINAL $where")->[0][0],
        ch_rows($url, "SELECT count() FROM qprof.samples $where")->[0][0]);
}

# The file being written has no trailer yet: qprof dump shows none.
sub files_closed
{
    my ($dir) = @_;
    my $closed = 0;
    for my $file (glob("$dir/*.qprof"))
    {
        my ($drc, $dump) = run_qprof('dump', $file);
        $closed++ if $dump =~ /^\{"kind":"trailer"/m;
    }
    return $closed;
}

$collector = start_collector($node, $long, @long_args);
my $started = time;
workload('/f/1', 300);
my $ran = time;
ok(wait_for('f1', sub { in_clickhouse('/f/1') == 300 }),
    'one long file: the workload reaches ClickHouse');
diag sprintf('the workload (%.1f s) in ClickHouse %.1f s after it ended',
    $ran - $started, time - $ran);
my (undef, $f1_stored) = long_counts('/f/1');
is($f1_stored, 300,
    'each row sent once while following: a pass sends only what is new');
my @long_files = glob("$long/*.qprof");
is(scalar(@long_files), 1, 'the collector writes one file');
is(files_closed($long), 0, 'which is still open: the rows came from its frames');
ok(!-e "$long/clickhouse.exported", 'and no file was loaded whole');

workload('/f/2', 400);
sleep 0.3;
$collector->signal('KILL');
$collector->finish;
diag 'after kill -9 while following: ' . in_clickhouse('/f/2') . ' of 400 in ClickHouse';
workload('/f/3', 200);
$collector = start_collector($node, $long, @long_args);
workload('/f/4', 100);
ok(wait_for('f4', sub { in_clickhouse('/f/4') == 100 }),
    'restarted on the long file: the new statements reach ClickHouse');
is(scalar(my @two = glob("$long/*.qprof")), 2,
    'two files: the killed collector\'s, left unfinished, and the open one');
chomp(my $long_mark = slurp_file("$long/clickhouse.exported"));
is($long_mark, 1, 'the killed collector\'s file is loaded whole (the mark is its index)');
is(stop_collector($collector), 0, 'the restarted collector stops cleanly');
my %long_expected = ('/f/1' => 300, '/f/2' => 400, '/f/3' => 200, '/f/4' => 100);
for my $route (sort keys %long_expected)
{
    is(in_clickhouse($route), $long_expected{$route},
        "$route: every statement once in ClickHouse");
}
# the capture's samples of those routes, per epoch (the ring's older
# samples are in the long files too)
my %long_captured;
$long_captured{ $_->{epoch} }++
  for grep { ($_->{tags}{route} // '') =~ m{^/f/} } dump_samples($long);
my %long_stored = map { ($_->[0] => $_->[1]) } @{ ch_rows($url,
    "SELECT epoch, count() FROM qprof.samples FINAL WHERE route LIKE '/f/%' GROUP BY epoch") };
is_deeply(\%long_stored, \%long_captured,
    'ClickHouse has every sample of the long files, once');
ch_query($url, 'OPTIMIZE TABLE qprof.samples_local FINAL');
my ($final, $stored) = long_counts('/f/%');
is($stored, $final, "merged: no row of the long files twice ($stored)");

# --delete-exported: ClickHouse instead of files. The folder keeps only
# the last file loaded and those not loaded yet, across a kill -9 too.
my $spool = "$tmp/spool";
$collector = start_collector($node, $spool, @args, '--delete-exported');
for (1 .. 3)
{
    workload('/s/1', 50);    # in files of their own (--rotate-seconds 1)
    sleep 1.2;
}
ok(wait_for('s1', sub { in_clickhouse('/s/1') == 150 }),
    '--delete-exported: the statements reach ClickHouse');
chomp(my $loaded = slurp_file("$spool/clickhouse.exported"));
cmp_ok($loaded, '>=', 2, "in several files ($loaded loaded)");
my @kept = map { /-(\d{6})-[^\/]*\.qprof$/ ? $1 + 0 : () } glob("$spool/*.qprof");
is_deeply([ grep { $_ < $loaded } @kept ], [], 'the files loaded are deleted, but the last');
ok((grep { $_ == $loaded } @kept), 'which is kept');
workload('/s/2', 250);
sleep 0.3;
$collector->signal('KILL');
$collector->finish;
workload('/s/3', 80);
$collector = start_collector($node, $spool, @args, '--delete-exported');
ok(wait_for('s3', sub { in_clickhouse('/s/3') == 80 }),
    'restarted on the spool: the statements of the ring while it was down reach ClickHouse');
is(stop_collector($collector), 0, 'it stops cleanly');
is(in_clickhouse('/s/2'), 250, 'killed with -9: every statement of the spool once in ClickHouse');
my @left = glob("$spool/*.qprof");
is(scalar(@left), 1, 'one file is left, the last one loaded');
chomp(my $spool_mark = slurp_file("$spool/clickhouse.exported"));
my ($left_index) = ($left[0] // '') =~ /-(\d{6})-[^\/]*\.qprof$/;
is($left_index + 0, $spool_mark, 'it is the last one loaded');
($rc, $out, $err) = run_qprof('collect', '--dsn', $node->connstr('postgres'),
    '--out', "$tmp/cap3", '--once', '--bpf', 'off', '--delete-exported');
is($rc, 1, '--delete-exported without --clickhouse: a usage error');
like($err, qr/goes with --clickhouse/, 'saying so');

# Without ClickHouse, or without the schema: said, and no capture starts.
($rc, $out, $err) = run_qprof('collect', '--dsn', $node->connstr('postgres'),
    '--out', "$tmp/cap2", '--once', '--bpf', 'off', '--clickhouse',
    'http://127.0.0.1:1/');
is($rc, 2, 'ClickHouse unreachable: exit status 2');
like($err, qr/cannot connect/, 'saying so');
($rc, $out, $err) = run_qprof('collect', '--dsn', $node->connstr('postgres'),
    '--out', "$tmp/cap2", '--once', '--bpf', 'off', '--clickhouse', $url,
    '--clickhouse-database', 'empty');
is($rc, 1, 'no schema: a usage error');
like($err, qr/create the schema first/, 'saying what to do');

$node->stop;
done_testing();
