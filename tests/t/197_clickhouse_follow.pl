# qprof collect --clickhouse reads the file it writes a frame at a time:
# each streaming pass reads only the frames added since the one before,
# its definitions (statement texts, plans, tag sets) kept, not the file
# again from its start. A collector writing one long file (--rotate-seconds
# 3600) of many small frames, with a tag set per request: every statement
# reaches ClickHouse while the file is open, each row sent once, and the
# passes together read no more bytes than the file has (the collector
# says what they read when it stops), none of them more than a small part
# of it. The capture layer's reading of a file as it grows
# (tests/collector/follow_check.cpp, on the file written here): the same
# samples as a reading of the whole file, none of a half-written frame
# until it is whole, and each reading only what was added.
use strict;
use warnings;
use File::Basename qw(dirname);
use FindBin;
use lib "$FindBin::Bin/../collector";
use lib dirname(__FILE__);
use IPC::Run;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(sleep);
use CheckProgram;
use QprofClickHouse;
use QprofCollectorTest;
use QprofReportTest;

plan skip_all => clickhouse_server_path()
  . ' is not installed (tests/deps/clickhouse.txt)'
  unless -x clickhouse_server_path();

my $tmp = PostgreSQL::Test::Utils::tempdir;
my ($url) = start_clickhouse_shards($tmp, 1);
my ($rc, $out, $err) = run_qprof('export', '--clickhouse', $url, '--create-schema');
is($rc, 0, 'the schema') or diag $err;

my $node = new_qprof_node('ch197');
$node->safe_psql('postgres', 'CREATE TABLE t (id int)');

sub counts
{
    my $where = "WHERE route LIKE '/g/%'";
    return (ch_rows($url, "SELECT count() FROM qprof.samples FINAL $where")->[0][0],
        ch_rows($url, "SELECT count() FROM qprof.samples $where")->[0][0]);
}

my $dir = "$tmp/long";
my ($cout, $cerr) = ('', '');
my $collector = IPC::Run::start(
    [ qprof_path(), 'collect', '--dsn', $node->connstr('postgres'),
        '--out', $dir, '--bpf', 'off', '--poll-seconds', '0.05',
        '--frame-seconds', '0.05', '--rotate-seconds', '3600',
        '--clickhouse', $url ],
    '>', \$cout, '2>', \$cerr, IPC::Run::timeout(600));

# 40 batches of 40 statements, a request each, a batch every 0.15 s: the
# file gets a frame or more a batch, and each frame new tag sets
my ($batches, $per_batch) = (40, 40);
my $request = 0;
for my $batch (1 .. $batches)
{
    my $script = '';
    for (1 .. $per_batch)
    {
        $request++;
        $script .= tagged("SELECT count(*) FROM t WHERE id > $_",
            '/g/' . ($batch % 4), 'G', $request) . ";\n";
    }
    $node->safe_psql('postgres', $script);
    sleep 0.15;
}
my $total = $batches * $per_batch;
my $arrived = 0;
for (1 .. 300)
{
    last if $arrived = ((counts())[0] == $total);
    sleep 0.1;
}
ok($arrived, "the $total statements reach ClickHouse while the file is open");
my (undef, $sent) = counts();
is($sent, $total, 'each row sent once while the file is followed');
my @files = glob("$dir/*.qprof");
is(scalar(@files), 1, 'in one file');
my ($drc, $dump) = run_qprof('dump', $files[0]);
unlike($dump, qr/^\{"kind":"trailer"/m, 'still open (no trailer)');

$collector->signal('TERM');
$collector->finish;
is(($collector->full_results)[0], 0, 'the collector stops cleanly');
my $file_bytes = -s $files[0];
my ($passes, $read, $largest) = $cerr =~
  /followed the open files in (\d+) passes, which read (\d+) bytes of them \((\d+) at most/;
ok(defined $passes, 'the collector says what following the file read')
  or diag $cerr;
$passes //= 0;
$read //= 1e12;
$largest //= 1e12;
cmp_ok($passes, '>=', 20, "many passes over the open file ($passes)");
cmp_ok($read, '<=', $file_bytes,
    "together they read no more than the file's $file_bytes bytes ($read): "
      . 'each frame once');
cmp_ok($largest, '<=', $file_bytes / 4,
    "no pass reads the file again ($largest bytes at most in one)");
my ($final, $stored) = counts();
is($final, $total, 'every statement once in ClickHouse');
is($stored, $total, 'no row sent twice, the file closed too');

# the capture layer, on the file written here
my $root  = $ENV{QPROF_SRC} // dirname(__FILE__) . '/../..';
my $build = "$root/collector/build";
run_check_program(
    name    => 'follow_check',
    flags   => [ '-O2', "-I$build", "-I$root/collector/capture" ],
    sources => [
        dirname(__FILE__) . '/../collector/follow_check.cpp',
        "$build/libcapture.a", '-lprotobuf', '-lzstd', '-lpthread'
    ],
    args   => [ $files[0], $tmp ],
    checks => 7);

$node->stop;
done_testing();
