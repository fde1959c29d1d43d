# qprof collect / dump on a real server: N statements give exactly N
# samples across rotated files with their texts and plans, each file stands
# alone and passes --check, a second run adds nothing twice, the capture is
# readable by a Python program built from the .proto alone, files are 0600,
# --stdout, --label, --duration, SIGTERM and --retain-mb do what they say.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../collector";
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time sleep);
use QprofCollectorTest;

my $node = new_qprof_node('capture');
$node->safe_psql('postgres', 'CREATE TABLE cap_t (id int, note text)');

# A known workload from one session: three statement shapes, N in all.
my %shapes = (
    insert => [ 120, "INSERT INTO cap_t VALUES (%d, 'n')" ],
    select => [ 150, 'SELECT count(*) FROM cap_t WHERE id > %d' ],
    update => [ 30, "UPDATE cap_t SET note = 'u' WHERE id = %d" ]);
# Per-node actuals for every execution of the workload.
my $script = "SET application_name = 'capture100';\n"
  . "SET pg_qprof.analyze_sample_rate = 1;\n";
my $n = 0;
for my $shape (sort keys %shapes)
{
    my ($count, $sql) = @{ $shapes{$shape} };
    $script .= sprintf("$sql;\n", $_) for 1 .. $count;
    $n += $count;
}
$node->safe_psql('postgres', $script);

my $dir = PostgreSQL::Test::Utils::tempdir . '/cap';
# Small frames and files: the capture spans many frames and several files.
my ($rc, $out, $err) = run_qprof('collect', '--dsn',
    $node->connstr('postgres'), '--out', $dir, '--once', '--bpf', 'off',
    '--label', 'capture-test', '--frame-records', '64',
    '--rotate-mb', '0.004');
is($rc, 0, 'collect --once succeeds') or diag $err;
is($err, '', 'collect is quiet without a terminal');

my @files = glob("$dir/qprof-*.qprof");
ok(@files >= 2, 'the capture was rotated into ' . scalar(@files) . ' files');
my @modes = grep { ((stat $_)[2] & 07777) != 0600 } @files;
is(scalar @modes, 0, 'capture files are mode 0600');

my ($check_rc, $check_out, $total) = check_capture($dir);
is($check_rc, 0, 'every file passes dump --check') or diag $check_out;
unlike($check_out, qr/damage at|truncated tail/, 'no damage, no truncated tail');

# Each file stands alone: decoding one file resolves all its references.
my %texts_by_queryid;
my %plan_of;
my @samples;
for my $file (@files)
{
    my @records = dump_records($file);
    is($records[0]{kind}, 'header', "$file starts with its header");
    is($records[0]{label}, 'capture-test', 'the header has the label');
    ok(scalar(grep { $_->{kind} eq 'catalog' } @records),
        'each file has a catalog snapshot');
    my %texts = map { ($_->{queryid} => $_->{text}) }
      grep { $_->{kind} eq 'query_text' } @records;
    my %plans = map { ($_->{planid} => $_) }
      grep { $_->{kind} eq 'plan' } @records;
    for my $s (grep { $_->{kind} eq 'sample' } @records)
    {
        next unless $s->{application_name} eq 'capture100';
        push @samples, $s;
        $texts_by_queryid{ $s->{queryid} } = $texts{ $s->{queryid} };
        $plan_of{ $s->{planid} } = $plans{ $s->{planid} } if $s->{planid};
    }
}

my @work = grep { $_->{cmd} ne 'CMD_UTILITY' } @samples;
is(scalar @work, $n, "exactly $n samples of the workload");
my %by_text;
$by_text{ $texts_by_queryid{ $_->{queryid} } // 'none' }++ for @work;
is($by_text{'INSERT INTO cap_t VALUES ($1, $2)'}, 120, 'insert texts match');
is($by_text{'SELECT count(*) FROM cap_t WHERE id > $1'}, 150,
    'select texts match');
is($by_text{'UPDATE cap_t SET note = $1 WHERE id = $2'}, 30,
    'update texts match');
my @planned = grep { $_->{planid} } @work;
is(scalar @planned, $n, 'every sample has a plan id');
my @with_plan = grep { defined $_ && $_->{plan_text} } values %plan_of;
is(scalar @with_plan, scalar(keys %plan_of),
    'every plan id has its plan text in the capture');
like(join("\n", map { $_->{plan_text} } @with_plan), qr/Seq Scan on public\.cap_t/,
    'plans are the EXPLAIN of the statements');

# Per-node actuals travel with their sample (same epoch and seq).
my %actuals;
for my $r (grep { $_->{kind} eq 'node_actuals' } dump_records($dir))
{
    $actuals{"$r->{epoch}/$r->{seq}"} = $r;
}
my @instrumented = grep { $_->{has_node_actuals} eq 'true' } @work;
ok(@instrumented >= 0.9 * $n, scalar(@instrumented) . ' samples have per-node actuals');
my @missing = grep { !$actuals{"$_->{epoch}/$_->{seq}"} } @instrumented;
is(scalar @missing, 0, 'each of them has its node_actuals record');
my ($select) = grep { ($texts_by_queryid{ $_->{queryid} } // '') =~ /^SELECT count/ } @instrumented;
my @nodes = @{ $actuals{"$select->{epoch}/$select->{seq}"}{nodes} };
ok(scalar(grep { ($_->{node_type} // '') eq 'Seq Scan' && $_->{relid} } @nodes),
    'the select has a Seq Scan node on its relation');

# Sequence numbers of the whole capture: unique and without a gap.
my @all = dump_samples($dir);
my %seen;
$seen{ $_->{seq} }++ for @all;
is(scalar(grep { $_ > 1 } values %seen), 0, 'no sample twice');
my @seqs = sort { $a <=> $b } keys %seen;
is($seqs[-1] - $seqs[0] + 1, scalar @seqs, 'no gap in seq');
is($total, scalar @all, 'dump --check counts what dump prints');

# Samples compared with what the server reports for the same seqs.
my $server = $node->safe_psql('postgres', qq{
    SELECT count(*), sum(rows), sum(shared_blks_hit)
      FROM pg_qprof.read_samples(0, 100000)
     WHERE application_name = 'capture100' AND cmd_type <> 'UTILITY'});
my $rows = 0;
my $hits = 0;
$rows += $_->{rows} for @work;
$hits += $_->{shared_blks_hit} for @work;
is("$n|$rows|$hits", $server, 'rows and buffer counts match the server');

# A second run resumes after the last durable seq: nothing twice.
$node->safe_psql('postgres', "SET application_name = 'capture100b'; SELECT 1; SELECT 2;");
($rc, $out, $err) = run_qprof('collect', '--dsn', $node->connstr('postgres'),
    '--out', $dir, '--once', '--bpf', 'off');
is($rc, 0, 'second collect --once succeeds') or diag $err;
@all = dump_samples($dir);
%seen = ();
$seen{ $_->{seq} }++ for @all;
is(scalar(grep { $_ > 1 } values %seen), 0, 'the second run wrote nothing twice');
is(scalar(grep { $_->{application_name} eq 'capture100b' && $_->{cmd} eq 'CMD_SELECT' } @all),
    2, 'and it captured the new statements');
my @losses = grep { $_->{kind} eq 'loss' } dump_records($dir);
is(scalar @losses, 0, 'no loss recorded');

# The format is readable by others: Python + python3-protobuf + the .proto.
my ($py_out, $py_err) = ('', '');
IPC::Run::run([ '/usr/bin/python3', repo_dir() . '/tests/collector/decode_capture.py',
        repo_dir() . '/collector/capture', $dir ], '>', \$py_out, '2>', \$py_err);
is($?, 0, 'the Python decoder runs') or diag $py_err;
my ($py_total) = $py_out =~ /^total: \d+ files, (\d+) samples/m;
is($py_total, scalar @all, 'Python counts the same samples as qprof dump');
unlike($py_err, qr/AssertionError/, "each header's embedded schema describes the records");
my ($py_distinct, $py_sum) = $py_out =~ /distinct \(epoch, seq\): (\d+), seq sum: (\d+)/;
my $sum = 0;
$sum += $_->{seq} for @all;
is("$py_distinct $py_sum", scalar(@all) . " $sum", 'and decodes the same seqs');
for my $file (glob("$dir/qprof-*.qprof"))
{
    my ($count) = $py_out =~ /^\Q$file\E: samples=(\d+)/m;
    my (undef, $one) = run_qprof('dump', '--check', $file);
    my ($qcount) = $one =~ /samples=(\d+);/;
    is($count, $qcount, "per-file count of $file agrees");
}

# sqlcommenter tags: one tag set per distinct comment, resolved per sample;
# a traceparent unique per statement gives a tag set each.
$node->safe_psql('postgres', "SET application_name = 'tags100';\n"
      . join('', map { "SELECT $_ /*route='%2Fjobs',controller='JobList'*/;\n" } 1 .. 5)
      . join('', map { sprintf("SELECT 1 /*traceparent='00-%032d-%016d-01'*/;\n", $_, $_) } 1 .. 3));
my $tags_dir = PostgreSQL::Test::Utils::tempdir . '/tags';
($rc, $out, $err) = run_qprof('collect', '--dsn', $node->connstr('postgres'),
    '--out', $tags_dir, '--once', '--bpf', 'off');
is($rc, 0, 'collect the tagged statements') or diag $err;
my @tag_records = dump_records($tags_dir);
my @tagged = grep { $_->{kind} eq 'sample' && $_->{application_name} eq 'tags100'
      && $_->{cmd} eq 'CMD_SELECT' } @tag_records;
is(scalar @tagged, 8, 'tagged statements captured');
is(scalar(grep { ($_->{tags}{route} // '') eq '/jobs' && $_->{tags}{controller} eq 'JobList' } @tagged),
    5, 'route and controller tags, URL-decoded');
my %traceparents = map { ($_->{tags}{traceparent} => 1) } grep { $_->{tags}{traceparent} } @tagged;
is(scalar keys %traceparents, 3, 'each traceparent kept');
is(scalar(grep { $_->{kind} eq 'tag_set' } @tag_records), 4,
    'one tag set per distinct comment');

# --stdout writes the same stream format to standard output.
($rc, $out, $err) = run_qprof('collect', '--dsn', $node->connstr('postgres'),
    '--stdout', '--once', '--bpf', 'off');
is($rc, 0, 'collect --stdout succeeds') or diag $err;
my $stream = PostgreSQL::Test::Utils::tempdir . '/stream.qprof';
open my $fh, '>:raw', $stream or die;
print $fh $out;
close $fh;
my ($src, $sout, $stotal) = check_capture($stream);
is($src, 0, 'the stdout stream passes --check') or diag $sout;
ok($stotal >= $n, "the stream holds the ring's samples ($stotal)");

# --duration ends the capture by itself; files rotate by age too, and the
# catalog snapshot is taken again every --catalog-seconds.
my $t0 = time;
my $dur = PostgreSQL::Test::Utils::tempdir . '/dur';
($rc, $out, $err) = run_qprof('collect', '--dsn', $node->connstr('postgres'),
    '--out', $dur, '--duration', '2.5', '--bpf', 'off',
    '--rotate-seconds', '1', '--catalog-seconds', '1', '--rotate-mb', '100');
my $took = time - $t0;
is($rc, 0, 'collect --duration succeeds') or diag $err;
ok($took >= 2.4 && $took < 15, "and stops after about 2.5 s ($took)");
my @aged = glob("$dur/qprof-*.qprof");
ok(@aged >= 2, scalar(@aged) . ' files rotated by age');
my @catalogs = grep { $_->{kind} eq 'catalog' } dump_records($dur);
ok(@catalogs >= 2, scalar(@catalogs) . ' catalog snapshots');
my ($cat_t) = grep { $_->{name} eq 'cap_t' } @{ $catalogs[0]{relations} };
ok($cat_t && $cat_t->{total_bytes} > 0, 'the catalog has the table with its size');

# On a terminal (script(1) gives it one) a progress line is printed.
my ($tty_out, $tty_err) = ('', '');
IPC::Run::run([ 'script', '-qec', join(' ', map { "'$_'" } qprof_path(),
            'collect', '--dsn', $node->connstr('postgres'), '--out',
            PostgreSQL::Test::Utils::tempdir . '/tty', '--duration', '1.5',
            '--bpf', 'off'), '/dev/null' ],
    '<', \'', '>', \$tty_out, '2>', \$tty_err, IPC::Run::timeout(60));
like($tty_out, qr/\d+ samples\s+\d+ samples\/s\s+[\d.]+ [KMG]iB written\s+\d+ lost/,
    'a progress line on a terminal');

# SIGTERM: what was read is flushed and the file gets its trailer.
my $live = PostgreSQL::Test::Utils::tempdir . '/live';
my $h = start_collector($node, $live, '--frame-seconds', '30');
sleep 1.0;
$node->safe_psql('postgres', "SET application_name = 'term100'; SELECT 1; SELECT 2; SELECT 3;");
sleep 2.0;
is(stop_collector($h), 0, 'collect exits 0 on SIGTERM');
my @live = dump_records($live);
is(scalar(grep { $_->{kind} eq 'sample' && $_->{application_name} eq 'term100' && $_->{cmd} eq 'CMD_SELECT' } @live),
    3, 'samples read before SIGTERM were flushed');
is($live[-1]{kind}, 'trailer', 'the file ends with a trailer');

# --retain-mb removes the oldest files beyond the limit.
my $ret = PostgreSQL::Test::Utils::tempdir . '/retain';
$node->safe_psql('postgres', join('', map { "SELECT $_, repeat('x', $_);\n" } 1 .. 3000));
($rc, $out, $err) = run_qprof('collect', '--dsn', $node->connstr('postgres'),
    '--out', $ret, '--once', '--bpf', 'off', '--frame-records', '32',
    '--rotate-mb', '0.004', '--retain-mb', '0.012');
is($rc, 0, 'collect with retention succeeds') or diag $err;
my $kept = 0;
$kept += -s $_ for glob("$ret/qprof-*.qprof");
my @names = map { m{qprof-(\d+)-} ? $1 + 0 : () } glob("$ret/qprof-*.qprof");
ok($kept <= 0.012 * 1048576 + 8192, "retained files stay near the limit ($kept bytes)");
ok($names[0] > 1, 'the oldest files were removed');
my ($rrc, $rout) = check_capture($ret);
is($rrc, 0, 'retained files are whole') or diag $rout;

$node->stop;
done_testing();
