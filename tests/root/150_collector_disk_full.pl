# The capture disk fills up (a small tmpfs; mounting needs root): qprof
# collect stops with a clear error and a non-zero exit, the files written
# before are whole, and once there is room again a new run resumes with no
# sample twice and none missing.
use strict;
use warnings;
use File::Basename qw(dirname);
use File::Temp ();
use lib dirname(__FILE__), dirname(__FILE__) . '/../collector';
use IPC::Run ();
use Test::More;
use RootCluster;

my $qprof = -x '/usr/local/bin/qprof' ? '/usr/local/bin/qprof'
  : dirname(__FILE__) . '/../../collector/build/qprof';

my $node = RootCluster->new('collector_disk_full', settings => {
    shared_preload_libraries => 'pg_qprof',
    'pg_qprof.ring_size' => '64MB' });
$node->start;
$node->psql('CREATE EXTENSION pg_qprof');
my $dsn = 'host=' . $node->dir . ' port=' . $node->port . ' user=postgres dbname=postgres';

my $mnt = File::Temp::tempdir('qprof_full_XXXXXX', DIR => '/tmp', CLEANUP => 0);
system('mount', '-t', 'tmpfs', '-o', 'size=64k,mode=0700', 'tmpfs', $mnt) == 0
  or BAIL_OUT("cannot mount a tmpfs on $mnt");
END { system('umount', $mnt) if $mnt; rmdir $mnt if $mnt; }

# Many more samples than 64 kB of capture can hold.
$node->psql(join('', map { "SELECT $_, 'fill', $_ * 7;\n" } 1 .. 6000), app => 'fill');
$node->psql(join('', map { "SELECT 'more' || $_;\n" } 1 .. 6000), app => 'fill');
$node->psql(join('', map { "SELECT $_ AS n UNION ALL SELECT 2;\n" } 1 .. 6000), app => 'fill');

sub qprof
{
    my ($out, $err) = ('', '');
    IPC::Run::run([ $qprof, @_ ], '>', \$out, '2>', \$err, IPC::Run::timeout(120));
    return ($? >> 8, $out, $err);
}

my ($rc, $out, $err) = qprof('collect', '--dsn', $dsn, '--out', $mnt,
    '--once', '--bpf', 'off', '--frame-records', '300', '--rotate-mb', '0.01');
is($rc, 3, 'disk full: exit 3');
like($err, qr/disk full \(no space left on device\)/, 'disk full: said so');
like($err, qr/\Q$mnt\E/, 'and names the capture directory');

my ($check_rc, $check_out) = qprof('dump', '--check', $mnt);
is($check_rc, 0, 'the files written before are whole') or diag $check_out;
unlike($check_out, qr/damage at/, 'no damage');
my ($captured) = $check_out =~ /^total: \d+ files, (\d+) samples/m;
ok($captured > 0, "$captured samples made it before the disk was full");

# Room again: a new run resumes where the durable data ends.
system('mount', '-o', 'remount,size=16m', $mnt) == 0 or BAIL_OUT('remount');
($rc, $out, $err) = qprof('collect', '--dsn', $dsn, '--out', $mnt, '--once',
    '--bpf', 'off');
is($rc, 0, 'the next run succeeds') or diag $err;
($rc, $out) = qprof('dump', $mnt);
my %count;
$count{$1}++ while $out =~ /"kind":"sample","epoch":\d+,"seq":(\d+)/g;
my @seqs = sort { $a <=> $b } keys %count;
is(scalar(grep { $_ > 1 } values %count), 0, 'no sample twice');
is($seqs[0], 1, 'from the first sample');
is($seqs[-1] - $seqs[0] + 1, scalar @seqs, 'none missing');
ok(@seqs > 18000, scalar(@seqs) . ' samples in all');
($check_rc, $check_out) = qprof('dump', '--check', $mnt);
is($check_rc, 0, 'every file passes --check') or diag $check_out;

$node->stop;
done_testing();
