# kill -9 of the collector at random moments during a pgbench load, ten
# times, restarting it each time: every sequence number is captured exactly
# once across all files, every file passes --check (a truncated tail is
# reported, not damage), and nothing the ring still had is lost.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../collector";
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(sleep);
use QprofCollectorTest;

# A ring that holds the whole load: any gap would be the collector's fault.
my $node = new_qprof_node('kill9', "pg_qprof.ring_size = 64\nmax_connections = 30\n");
my $capacity = $node->safe_psql('postgres', 'SELECT capacity FROM pg_qprof.status');
$node->command_ok([ 'pgbench', '-i', '-s', '1', '-q', '-h', $node->host,
        '-p', $node->port, 'postgres' ], 'pgbench -i');

my ($pgb_out, $pgb_err) = ('', '');
local $ENV{PGAPPNAME} = 'pgbench';
my $pgbench = IPC::Run::start(
    [ 'pgbench', '-n', '-S', '-c', '4', '-j', '2', '-R', '1500', '-T', '14',
        '-h', $node->host, '-p', $node->port, 'postgres' ],
    '>', \$pgb_out, '2>', \$pgb_err, IPC::Run::timeout(300));

my $dir = PostgreSQL::Test::Utils::tempdir . '/kill9';
my $kills = 0;
for my $round (1 .. 10)
{
    # Small frames so that a kill often lands between write and state update.
    my $h = start_collector($node, $dir, '--frame-records', '200',
        '--frame-seconds', '0.05', '--batch', '500');
    sleep(0.4 + rand(1.4));
    $h->signal('KILL');
    $h->finish;
    $kills++;
}
ok($pgbench->finish, 'pgbench ran') or diag $pgb_err;
$ENV{PGAPPNAME} = '110_collector_kill9';

my $head = $node->safe_psql('postgres', 'SELECT head_seq FROM pg_qprof.status');
ok($head < $capacity, "the ring held everything ($head of $capacity)");
my ($rc, $out, $err) = run_qprof('collect', '--dsn', $node->connstr('postgres'),
    '--out', $dir, '--once', '--bpf', 'off');
is($rc, 0, 'a last collector run after ten kills') or diag $err;

my ($check_rc, $check_out, $total) = check_capture($dir);
is($check_rc, 0, 'every file passes --check') or diag $check_out;
unlike($check_out, qr/damage at/, 'no damage');
my @tails = $check_out =~ /truncated tail at offset/g;
ok(@tails <= $kills, scalar(@tails) . ' truncated tails reported, at most one per kill');
my @files = glob("$dir/qprof-*.qprof");
# A run killed before its header frame is durable leaves no file (the
# writer names a file only then; on a loaded machine many kills land
# there); every other run leaves one, numbered after the last.
my %runs_of_index;
$runs_of_index{$_}++ for map { m{/qprof-(\d+)-} } @files;
my @twice_numbered = grep { $runs_of_index{$_} > 1 } keys %runs_of_index;
ok(@files >= 2 && !@twice_numbered,
    scalar(@files) . ' files from 11 runs, no number twice')
  or diag "files: @files";

my @records = dump_records($dir);
my @samples = grep { $_->{kind} eq 'sample' } @records;
is($total, scalar @samples, 'dump and --check agree');
my %count;
$count{ $_->{seq} }++ for @samples;
my @twice = grep { $count{$_} > 1 } keys %count;
is(scalar @twice, 0, 'no sequence number twice') or diag "twice: @twice[0 .. 9]";
my @seqs = sort { $a <=> $b } keys %count;
is($seqs[0], 1, 'the capture starts at the first sample of the ring');
is($seqs[-1] - $seqs[0] + 1, scalar @seqs, 'no sequence number missing');
ok($seqs[-1] >= $head, "everything up to head_seq $head was captured");
my @losses = grep { $_->{kind} eq 'loss' } @records;
is(scalar @losses, 0, 'no loss recorded');
my %epochs = map { ($_->{epoch} => 1) } @samples;
is(scalar keys %epochs, 1, 'one epoch');
my $pgbench_samples = grep { $_->{application_name} eq 'pgbench' } @samples;
ok($pgbench_samples > 5000, "the load was captured ($pgbench_samples pgbench samples)");

# A crash in the middle of a write leaves a torn frame: cut the newest file
# in half. The reader reports a truncated tail and skips it; the collector
# resumes from what is left and reads the rest again from the ring.
my ($newest) = grep { -s $_ > 4096 } reverse sort @files;
my $cut_at = int((-s $newest) / 2);
truncate $newest, $cut_at or die "truncate: $!";
($check_rc, $check_out) = check_capture($dir);
is($check_rc, 0, 'a truncated tail is not damage');
like($check_out, qr/\Q$newest\E:\s+truncated tail at offset \d+/,
    'the truncated tail is reported with its offset');
($rc, $out, $err) = run_qprof('collect', '--dsn', $node->connstr('postgres'),
    '--out', $dir, '--once', '--bpf', 'off');
is($rc, 0, 'the collector resumes after a torn file') or diag $err;
%count = ();
$count{ $_->{seq} }++ for dump_samples($dir);
@seqs = sort { $a <=> $b } keys %count;
is(scalar(grep { $_ > 1 } values %count), 0, 'still no sequence number twice');
is($seqs[-1] - $seqs[0] + 1, scalar @seqs, 'and none missing');

# A crash between a frame's fdatasync and the state update leaves a stale
# state file; a crash during the update (it is overwritten in place) a torn
# one, which fails its check; a lost state file is possible too. Either way
# the files say where the capture stands.
my $older_state = slurp_file("$dir/qprof.state");
like($older_state, qr/^check \d+$/m, 'the state file carries a check');
$node->safe_psql('postgres', "SET application_name = 'state_advance'; SELECT 1;");
($rc, $out, $err) = run_qprof('collect', '--dsn', $node->connstr('postgres'),
    '--out', $dir, '--once', '--bpf', 'off');
is($rc, 0, 'collect past the older state') or diag $err;
isnt(slurp_file("$dir/qprof.state"), $older_state, 'the state moved on');
for my $case ('stale', 'torn', 'missing')
{
    $node->safe_psql('postgres', "SET application_name = 'state_$case'; SELECT 1; SELECT 2;");
    if ($case eq 'missing')
    {
        unlink "$dir/qprof.state" or die;
    }
    else
    {
        my $state = $older_state;
        # torn: digits of a new update over the old one's, the check left
        # as it was (a next file index that would show in the file names)
        $state =~ s/next_file_index \d+/next_file_index 9999999999999999999/
          or die "no next_file_index in the state file"
          if $case eq 'torn';
        open my $sf, '>', "$dir/qprof.state" or die;
        print $sf $state;
        close $sf;
    }
    ($rc, $out, $err) = run_qprof('collect', '--dsn', $node->connstr('postgres'),
        '--out', $dir, '--once', '--bpf', 'off');
    is($rc, 0, "collect with a $case state file") or diag $err;
    %count = ();
    my @s = dump_samples($dir);
    $count{ $_->{seq} }++ for @s;
    is(scalar(grep { $_ > 1 } values %count), 0, "$case state file: no sequence number twice");
    is(scalar(grep { /qprof-9{6}/ } glob("$dir/*.qprof")), 0,
        "$case state file: file numbers follow the files");
    is(scalar(grep { $_->{application_name} eq "state_$case" && $_->{cmd} eq 'CMD_SELECT' } @s),
        2, "$case state file: the new statements captured");
}

# Damage is not a truncated tail: a corrupted byte in the middle of a file.
my $copy = PostgreSQL::Test::Utils::tempdir . '/damaged.qprof';
PostgreSQL::Test::Utils::system_or_bail('cp', $files[0], $copy);
open my $fh, '+<:raw', $copy or die;
seek $fh, int((-s $copy) / 2), 0;
print $fh "\xff\xff\xff\xff";
close $fh;
($check_rc, $check_out) = check_capture($copy);
is($check_rc, 4, 'dump --check exits 4 on damage');
like($check_out, qr/DAMAGED/, 'and says the file is damaged');
like($check_out, qr/damage at offset \d+/, 'with the offset');

# Wherever a crash cuts a file, the reader sees a truncated tail, never
# damage; and no corruption makes dump fail other than by saying so.
my $sample_file = (grep { -s $_ > 4096 } sort @files)[0];
my $bytes = slurp_file($sample_file);
my $cut = PostgreSQL::Test::Utils::tempdir . '/cut.qprof';
my ($cut_damage, $flip_crash) = (0, 0);
for my $i (1 .. 60)
{
    my $at = 1 + int(rand(length($bytes) - 1));
    open my $cf, '>:raw', $cut or die;
    print $cf substr($bytes, 0, $at);
    close $cf;
    my ($crc) = check_capture($cut);
    $cut_damage++ if $crc != 0;

    my $flipped = $bytes;
    substr($flipped, int(rand(length $flipped)), 1) = chr(int(rand(256)));
    open $cf, '>:raw', $cut or die;
    print $cf $flipped;
    close $cf;
    my ($frc) = check_capture($cut);
    my ($drc) = run_qprof('dump', $cut);
    $flip_crash++ unless ($frc == 0 || $frc == 4) && ($drc == 0 || $drc == 4);
}
is($cut_damage, 0, 'a file cut anywhere reads as a truncated tail');
is($flip_crash, 0, 'a flipped byte is reported, never a crash');

$node->stop;
done_testing();
