# qprof collect --bpf on, as root: samples carry the kernel I/O of their
# execution (IoStats) — a cold sequential scan shows page-cache misses and
# reads — and the header says I/O stats are present. --bpf off leaves the
# field absent.
use strict;
use warnings;
use File::Basename qw(dirname);
use File::Temp ();
use lib dirname(__FILE__), dirname(__FILE__) . '/../bpf';
use IPC::Run ();
use JSON::PP;
use Test::More;
use Time::HiRes qw(sleep time);
use BpfTest;

my $qprof = -x '/usr/local/bin/qprof' ? '/usr/local/bin/qprof'
  : dirname(__FILE__) . '/../../collector/build/qprof';

my $node = bpf_cluster('collector_bpf');
my $dsn = 'host=' . $node->dir . ' port=' . $node->port . ' user=postgres dbname=postgres';
my $out_dir = File::Temp::tempdir('qprof_bpfcap_XXXXXX', DIR => '/tmp', CLEANUP => 1);

sub qprof
{
    my ($out, $err) = ('', '');
    IPC::Run::run([ $qprof, @_ ], '>', \$out, '2>', \$err, IPC::Run::timeout(120));
    return ($? >> 8, $out, $err);
}

my ($rc, $out, $err) = qprof('collect', '--dsn', $dsn, '--out', "$out_dir/probe",
    '--once', '--bpf', 'on');
if ($rc != 0 && $err =~ /BPF I\/O attribution unavailable: (.*)/)
{
    plan skip_all => "BPF cannot be loaded here: $1";
}
is($rc, 0, 'collect --bpf on loads BPF') or diag $err;

my $size = create_table($node, 'collector_cold', 16);

my ($cout, $cerr) = ('', '');
my $h = IPC::Run::start([ $qprof, 'collect', '--dsn', $dsn, '--out',
        "$out_dir/cap", '--bpf', 'on', '--frame-seconds', '0.1' ],
    '>', \$cout, '2>', \$cerr, IPC::Run::timeout(120));
# The programs are attached before the first file is created.
my $deadline = time + 30;
sleep 0.1 while !glob("$out_dir/cap/qprof-*.qprof") && time < $deadline;
$node->psql('SELECT count(*) FROM collector_cold', app => 'cold_scan');
# Short statements one after another, read by the collector as they come.
$node->psql(join('', map { "SELECT sum(x::bigint) FROM generate_series(1, 8000) x WHERE x <> $_;\n" } 1 .. 100),
    app => 'short_loop');
sleep 1.5;
$h->signal('TERM');
$h->finish;
is(($h->full_results)[0], 0, 'the collector stops cleanly') or diag $cerr;

($rc, $out, $err) = qprof('dump', "$out_dir/cap");
is($rc, 0, 'dump the capture') or diag $err;
my $json = JSON::PP->new;
my @records = map { $json->decode($_) } split /\n/, $out;
my ($header) = grep { $_->{kind} eq 'header' } @records;
ok($header->{collector}{io_stats}, 'the header says samples carry I/O stats');
ok($header->{collector}{syscall_stats},
    'and that they include the system call fields');
my ($scan) = grep { $_->{kind} eq 'sample' && $_->{application_name} eq 'cold_scan'
      && $_->{cmd} eq 'CMD_SELECT' } @records;
ok($scan, 'the cold scan was captured');
ok(exists $scan->{io}, 'its sample has IoStats');
my $pages = $size / page_size();
cmp_ok($scan->{io}{page_cache_misses}, '>=', 0.5 * $pages,
    "page-cache misses of the cold scan ($scan->{io}{page_cache_misses} of $pages pages)");
cmp_ok($scan->{io}{read_bytes}, '>', 0, 'read bytes of the cold scan');
is($scan->{io}{fsync_calls}, 0, 'system call fields present, zero when none');
my @short = grep { $_->{kind} eq 'sample' && $_->{application_name} eq 'short_loop'
      && $_->{cmd} eq 'CMD_SELECT' } @records;
is(scalar @short, 100, 'the short statements were captured');
cmp_ok(scalar(grep { ($_->{io}{oncpu_ns} // 0) > 0 } @short), '>=', 95,
    'almost every short statement has its on-CPU time');

($rc, $out, $err) = qprof('collect', '--dsn', $dsn, '--out', "$out_dir/off",
    '--once', '--bpf', 'off');
is($rc, 0, 'collect --bpf off') or diag $err;
($rc, $out) = qprof('dump', "$out_dir/off");
unlike($out, qr/"kind":"sample".*"io":/, '--bpf off: no sample has io');

# Without system call tracing the system call fields are absent, not zero;
# the other kernel facts are still there.
($cout, $cerr) = ('', '');
$h = IPC::Run::start([ $qprof, 'collect', '--dsn', $dsn, '--out',
        "$out_dir/nosys", '--bpf', 'on', '--bpf-syscalls', 'off',
        '--frame-seconds', '0.1' ],
    '>', \$cout, '2>', \$cerr, IPC::Run::timeout(120));
$deadline = time + 30;
sleep 0.1 while !glob("$out_dir/nosys/qprof-*.qprof") && time < $deadline;
$node->psql(join('', map { "SELECT $_;\n" } 1 .. 20), app => 'nosys_loop');
sleep 1.5;
$h->signal('TERM');
$h->finish;
is(($h->full_results)[0], 0, 'collect --bpf-syscalls off') or diag $cerr;
($rc, $out) = qprof('dump', "$out_dir/nosys");
my @nosys = map { $json->decode($_) } split /\n/, $out;
my ($nosys_header) = grep { $_->{kind} eq 'header' } @nosys;
ok(!$nosys_header->{collector}{syscall_stats},
    '--bpf-syscalls off: the header says the system call fields are absent');
my @nosys_samples = grep { $_->{kind} eq 'sample'
      && $_->{application_name} eq 'nosys_loop' } @nosys;
is(scalar @nosys_samples, 20, '--bpf-syscalls off: samples captured');
is(scalar(grep { !exists $_->{io} } @nosys_samples), 0,
    '--bpf-syscalls off: every sample has IoStats');
is(scalar(grep { exists $_->{io}{read_syscalls} || exists $_->{io}{fsync_calls} }
      @nosys_samples), 0, '--bpf-syscalls off: no system call field');
is(scalar(grep { !exists $_->{io}{page_cache_misses} || !exists $_->{io}{oncpu_ns} }
      @nosys_samples), 0, '--bpf-syscalls off: page-cache and CPU fields present');

$node->stop;
done_testing();
