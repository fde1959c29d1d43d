# Capture files that are damaged, hostile or not capture files at all: each
# is refused with a clear message and the exit status `qprof dump --help`
# documents (3: not a file to read, 4: damaged or unreadable), in bounded
# memory and time. Only the last frame of a file may be unfinished, and only
# when nothing valid follows it (issue 26, defects 17, 18 and 19).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../collector";
use IPC::Run;
use PostgreSQL::Test::Utils;
use Test::More;
use QprofCollectorTest;

my $tmp = PostgreSQL::Test::Utils::tempdir;
# Memory a reader may use on any file: a frame's limit (64 MiB) and change.
# The sanitized build (make -C collector sanitize) has its shadow memory.
my $rss_limit_mb = $ENV{QPROF_SANITIZED} ? 600 : 200;

# Runs qprof under /usr/bin/time: (exit status, stdout, stderr, max RSS in
# MB, seconds).
sub run_measured
{
    my (@args) = @_;
    my ($out, $err) = ('', '');
    IPC::Run::run([ '/usr/bin/time', '-f', 'qprof-usage %M %e', qprof_path(), @args ],
        '>', \$out, '2>', \$err, IPC::Run::timeout(120));
    my $rc = ($? & 127) ? 128 + ($? & 127) : $? >> 8;
    my ($kb, $seconds) = $err =~ /qprof-usage (\d+) ([\d.]+)/;
    $err =~ s/qprof-usage .*\n?//;
    return ($rc, $out, $err, ($kb // 0) / 1024, $seconds // 0);
}

sub write_file
{
    my ($path, $bytes) = @_;
    open my $fh, '>:raw', $path or die "$path: $!";
    print $fh $bytes;
    close $fh;
    return $path;
}

sub read_file
{
    my ($path) = @_;
    open my $fh, '<:raw', $path or die "$path: $!";
    local $/;
    my $bytes = <$fh>;
    close $fh;
    return $bytes;
}

sub varint
{
    my ($value) = @_;
    my $out = '';
    while ($value >= 0x80)
    {
        $out .= chr(($value & 0x7f) | 0x80);
        $value >>= 7;
    }
    return $out . chr($value);
}

# A zstd frame of $plain as qprof's writer writes it (content size,
# checksum, a window of 2^19 bytes at most).
sub zstd_frame
{
    my ($plain) = @_;
    my $in = write_file("$tmp/plain.bin", $plain);
    PostgreSQL::Test::Utils::system_or_bail('zstd', '-q', '-f', '--content-size',
        '--check', '--zstd=wlog=19', $in, '-o', "$tmp/plain.zst");
    return read_file("$tmp/plain.zst");
}

# The zstd frames of a file: [offset, size, offset of the first block].
sub zstd_frames
{
    my ($bytes) = @_;
    my ($pos, @frames) = (0);
    while ($pos < length $bytes)
    {
        die "no zstd magic at $pos" unless substr($bytes, $pos, 4) eq "\x28\xb5\x2f\xfd";
        my $fhd = ord substr($bytes, $pos + 4, 1);
        my ($fcs, $single, $checksum, $dict) =
          ($fhd >> 6, ($fhd >> 5) & 1, ($fhd >> 2) & 1, $fhd & 3);
        my $p = $pos + 5 + ($single ? 0 : 1) + (0, 1, 2, 4)[$dict] +
          ($fcs == 0 ? $single : 1 << $fcs);
        my $first_block = $p;
        for (;;)
        {
            my $h = unpack('V', substr($bytes, $p, 3) . "\0");
            my ($last, $type, $size) = ($h & 1, ($h >> 1) & 3, $h >> 3);
            $p += 3 + ($type == 1 ? 1 : $size);
            last if $last;
        }
        $p += 4 if $checksum;
        push @frames, [ $pos, $p - $pos, $first_block ];
        $pos = $p;
    }
    return @frames;
}

# A capture of a few hundred statements, in small frames.
my $node = new_qprof_node('hostile');
$node->safe_psql('postgres', join('', map { "SELECT $_;" } 1 .. 600));
my $dir = "$tmp/capture";
my ($rc, $out, $err) = run_qprof('collect', '--dsn', $node->connstr('postgres'),
    '--out', $dir, '--once', '--bpf', 'off', '--frame-records', '40');
is($rc, 0, 'a capture to damage') or diag $err;
my ($good) = glob("$dir/qprof-*.qprof");
my $bytes = read_file($good);
my @frames = zstd_frames($bytes);
ok(@frames >= 10, scalar(@frames) . ' frames');
($rc, $out) = run_qprof('dump', '--check', $good);
is($rc, 0, 'the capture reads') or diag $out;
my ($samples) = $out =~ /samples=(\d+)/;
ok($samples >= 600, "with its $samples samples");

# --- defect 17: damage is not a truncated tail ---------------------------
# A bit flipped in the block header of a middle frame: the frame seems to
# run on past the frames after it.
my $middle = $frames[ int(@frames / 2) ];
my $flipped = $bytes;
substr($flipped, $middle->[2] + 2, 1) = chr(ord(substr($flipped, $middle->[2] + 2, 1)) ^ 0x10);
($rc, $out) = run_qprof('dump', '--check', write_file("$tmp/middle.qprof", $flipped));
is($rc, 4, 'a bit flipped in a middle frame\'s block header: exit 4');
like($out, qr/DAMAGED.*\n.*damage at offset $middle->[0]:/,
    'damaged, at the offset of that frame') or diag $out;
unlike($out, qr/ok \(truncated tail\)/, 'not a truncated tail');
($rc) = run_qprof('dump', "$tmp/middle.qprof");
is($rc, 4, 'dump exits 4 too');

# A bit flipped in the first frame's header.
for my $bit (0x20, 0x40, 0x04)
{
    $flipped = $bytes;
    substr($flipped, 4, 1) = chr(ord(substr($flipped, 4, 1)) ^ $bit);
    ($rc, $out) = run_qprof('dump', '--check', write_file("$tmp/first.qprof", $flipped));
    is($rc, 4, sprintf('bit 0x%02x flipped in the first frame header: exit 4', $bit));
    like($out, qr/damage at offset 0:/, 'damage at offset 0') or diag $out;
}

# Random bytes after a zstd magic number: alone, or at the end of a file.
srand(135);
my ($alone_ok, $tail_ok) = (0, 0);
for my $round (1 .. 20)
{
    my $random = "\x28\xb5\x2f\xfd" . join('', map { chr(int(rand(256))) } 1 .. 200 + int(rand(4000)));
    ($rc, $out) = run_qprof('dump', '--check', write_file("$tmp/random.qprof", $random));
    $alone_ok++ if $rc == 4 && $out =~ /damage at offset 0:/;
    ($rc, $out) = run_qprof('dump', '--check', write_file("$tmp/random.qprof", $bytes . $random));
    $tail_ok++ if $rc == 4 && $out =~ /damage at offset ${\ length $bytes}:/;
    diag "round $round: $out" if $rc != 4;
}
is($alone_ok, 20, 'random bytes after a magic number: exit 4, at offset 0');
is($tail_ok, 20, 'the same at the end of a capture: exit 4, at that offset');

# A file cut inside its first frame, or inside its last, is a truncated
# tail (what a crash, or a copy cut short, leaves).
($rc, $out) = run_qprof('dump', '--check',
    write_file("$tmp/cut_first.qprof", substr($bytes, 0, int($frames[0][1] / 2))));
is($rc, 0, 'cut in its first frame: exit 0');
like($out, qr/ok \(truncated tail\), \d+ bytes, 0 frames/, 'a truncated tail, nothing read');
my $last = $frames[-1];
($rc, $out) = run_qprof('dump', '--check',
    write_file("$tmp/cut.qprof", substr($bytes, 0, $last->[0] + int($last->[1] / 2))));
is($rc, 0, 'cut in its last frame: exit 0');
like($out, qr/ok \(truncated tail\)/, 'a truncated tail');

# --- defect 18: bombs ------------------------------------------------------
# A frame claiming 2^31 bytes of content (single segment, checksum).
my $claim = "\x28\xb5\x2f\xfd\xa4" . pack('V', 2**31)
  . substr(pack('V', 1 | (10 << 3)), 0, 3) . ('x' x 10) . "\0\0\0\0";
my ($mrc, $mout, $merr, $rss, $seconds) =
  run_measured('dump', '--check', write_file("$tmp/claim.qprof", $bytes . $claim));
is($mrc, 4, 'a frame claiming 2^31 bytes: exit 4');
like($mout, qr/claiming 2147483648 bytes/, 'said so') or diag $mout;
ok($rss < $rss_limit_mb, sprintf('in %.0f MB', $rss));

# Zeroes run-length encoded: 60 MiB of empty records (under the frame limit)
# in a few KB, with the writer's window (2^19) or as one segment (a 60 MiB
# window); and 256 MiB (over the limit).
sub rle_zero_frame
{
    my ($content, $single) = @_;
    my $frame = "\x28\xb5\x2f\xfd"
      . ($single ? "\xa4" : "\x84\x48") . pack('V', $content);
    my $blocks = $content / (128 << 10);
    for my $i (1 .. $blocks)
    {
        my $h = ($i == $blocks ? 1 : 0) | (1 << 1) | ((128 << 10) << 3);
        $frame .= substr(pack('V', $h), 0, 3) . "\0";
    }
    return $frame . "\0\0\0\0";
}
for my $case ([ 60, 0, qr/record with no kind/ ],
    [ 60, 1, qr/a frame with a window of 62914560 bytes/ ],
    [ 256, 1, qr/claiming 268435456 bytes/ ])
{
    my ($mb, $single, $why) = @$case;
    my $bomb = rle_zero_frame($mb << 20, $single);
    ($mrc, $mout, $merr, $rss, $seconds) =
      run_measured('dump', '--check', write_file("$tmp/bomb.qprof", $bytes . $bomb));
    is($mrc, 4, "$mb MiB of zeroes in " . length($bomb) . " bytes: exit 4");
    like($mout, $why, 'said why') or diag $mout;
    ok($rss < $rss_limit_mb && $seconds < 10,
        sprintf('in %.0f MB and %.1f s', $rss, $seconds));
}

# 14 KB of zero bytes after a valid frame header (the capture's own).
my $header_bytes = substr($bytes, 0, $frames[0][2]);
($mrc, $mout, $merr, $rss, $seconds) = run_measured('dump', '--check',
    write_file("$tmp/zeroes.qprof", $header_bytes . ("\0" x 14000)));
is($mrc, 4, '14 KB of zero bytes after a frame header: exit 4') or diag $mout;
like($mout, qr/damage at offset 0: unfinished frame with an empty block/,
    'empty blocks, which the writer never writes');
ok($rss < $rss_limit_mb && $seconds < 10, sprintf('in %.0f MB and %.1f s', $rss, $seconds));

# A valid frame of 20 million empty notices: the reader streams them, and a
# collector resuming on a directory whose newest file ends with it holds
# none of them at once.
my $notices = zstd_frame("\x02\x62\x00" x 20_000_000);
my $resume_dir = "$tmp/resume";
mkdir $resume_dir or die;
my $base = $good =~ s{.*/}{}r;
write_file("$resume_dir/$base", $bytes . $notices);
($mrc, $mout, $merr, $rss, $seconds) = run_measured('dump', '--check', "$resume_dir/$base");
is($mrc, 0, 'a frame of 20 million notices reads') or diag $mout;
like($mout, qr/notice=20000000/, 'all of them');
ok($rss < $rss_limit_mb, sprintf('in %.0f MB (%.1f s)', $rss, $seconds));
$node->safe_psql('postgres', 'SELECT 601');
($mrc, $mout, $merr, $rss, $seconds) = run_measured('collect', '--dsn',
    $node->connstr('postgres'), '--out', $resume_dir, '--once', '--bpf', 'off');
is($mrc, 0, 'the collector resumes after it') or diag $merr;
ok($rss < $rss_limit_mb, sprintf('in %.0f MB (%.1f s)', $rss, $seconds));

# --- defect 19: the header, and what is not a capture ----------------------
my $body = substr($bytes, $frames[1][0]);
my %headers = (
    'no header frame' => [ $body, qr/no header: the file's first record is a / ],
    'format_version 0' => [ zstd_frame("\x02\x0a\x00") . $body, qr/without a format version/ ],
    'format_version 2' => [ zstd_frame("\x04\x0a\x02\x08\x02") . $body, qr/format version 2 is newer/ ],
    'format_version 999' => [ zstd_frame("\x05\x0a\x03\x08\xe7\x07") . $body, qr/format version 999 is newer/ ],
);
for my $case (sort keys %headers)
{
    my ($file_bytes, $why) = @{ $headers{$case} };
    my $path = write_file("$tmp/header.qprof", $file_bytes);
    ($rc, $out, $err) = run_qprof('dump', '--check', $path);
    is($rc, 4, "$case: dump --check exits 4");
    like($out, $why, "$case: says why") or diag $out;
    ($rc, $out, $err) = run_qprof('dump', $path);
    is($rc, 4, "$case: dump exits 4");
    is($out, '', "$case: dump prints no record");
    like($err, $why, "$case: and says why");
}

($rc, $out) = run_qprof('dump', '--check', write_file("$tmp/empty.qprof", ''));
is($rc, 4, 'an empty file: exit 4');
like($out, qr/empty file: no header/, 'said so');
my $zero_dir = "$tmp/zero_capture";
mkdir $zero_dir or die;
write_file("$zero_dir/$base", '');
($rc, $out) = run_qprof('dump', '--check', $zero_dir);
is($rc, 4, 'a 0-byte capture in a directory: exit 4');
unlike($out, qr/: ok/, 'not ok');
mkdir "$tmp/nothing" or die;
write_file("$tmp/nothing/notes.txt", 'x');
($rc, $out, $err) = run_qprof('dump', '--check', "$tmp/nothing");
is($rc, 3, 'a directory without capture files: exit 3');
like($err, qr/no capture files/, 'said so');
($rc, $out, $err) = run_qprof('dump', '--check', '/dev/zero');
is($rc, 3, '/dev/zero: exit 3');
like($err, qr/neither a capture file nor a directory/, 'said so');
PostgreSQL::Test::Utils::system_or_bail('mkfifo', "$tmp/fifo");
my ($fout, $ferr) = ('', '');
my $started = time;
IPC::Run::run([ qprof_path(), 'dump', '--check', "$tmp/fifo" ],
    '>', \$fout, '2>', \$ferr, IPC::Run::timeout(30));
is($? >> 8, 3, 'a FIFO: exit 3, at once');
like($ferr, qr/neither a capture file nor a directory/, 'said so');

# The collector never leaves a capture file without its header: it writes
# under a hidden name until the header frame is durable.
my @names = map { s{.*/}{}r } glob("$dir/* $dir/.*");
is(scalar(grep { /\.partial$/ } @names), 0, 'no partial file left');

$node->stop;
done_testing();
