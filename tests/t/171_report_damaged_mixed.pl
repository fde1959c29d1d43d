# qprof report over damaged, truncated and mixed captures: two servers (one
# recording a tenth of its statements), one of them restarted between two
# captures (two epochs), a file with a damaged frame, a file cut inside its
# last frame, a file that is not a capture and a file named twice. The
# report says what it skipped, reports the rest, and scales the sampled
# server's totals, saying so.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../collector";
use File::Copy qw(copy);
use List::Util qw(sum first);
use PostgreSQL::Test::Utils;
use Test::More;
use QprofCollectorTest;
use QprofReportTest;

my $tmp = PostgreSQL::Test::Utils::tempdir;

# server A: a capture, a restart, another capture (a new epoch)
my $a = new_qprof_node('report171a');
my $work_a = join '', map { "SELECT count(*) FROM pg_class WHERE oid > $_ /*route='%2Fa'*/;\n" } 1 .. 300;
$a->safe_psql('postgres', $work_a);
capture_once($a, "$tmp/a1", '--frame-records', '20');
$a->restart;
$a->safe_psql('postgres', "SELECT 'after restart', $_ /*route='%2Fa2'*/;") for 1 .. 3;
capture_once($a, "$tmp/a2");

# server B: records one top-level statement in ten
my $b = new_qprof_node('report171b', "pg_qprof.sample_rate = 0.1\n");
$b->safe_psql('postgres',
    join '', map { "SELECT $_ + 1 AS sampled /*route='%2Fb'*/;\n" } 1 .. 600);
capture_once($b, "$tmp/b");

my ($a1_file) = glob("$tmp/a1/qprof-*.qprof");
my ($b_file) = glob("$tmp/b/qprof-*.qprof");

# the intact set: the reference
my ($rc, $whole, $err) = report_json("$tmp/a1", "$tmp/a2", "$tmp/b");
is($rc, 0, 'report over two servers and three captures') or diag $err;
is(scalar @{ $whole->{summary}{servers} }, 2, 'two servers');
my ($server_a) = grep { $_->{executions} > 300 } @{ $whole->{summary}{servers} };
is(scalar @{ $server_a->{epochs} }, 2, 'server A in two epochs');
my %file_samples = map { ($_->{path} => $_->{samples}) } @{ $whole->{inputs}{files} };
is(sum(values %file_samples), $whole->{inputs}{samples_read},
    'every sample read is accounted to a file');

# sampling: server B's totals are scaled, and the report says so
my $sampling = $whole->{summary}{sampling};
ok($sampling->{scaled}, 'the report scales sampled totals');
is($sampling->{sample_rate}, 0.1, 'with the rate in force');
ok($sampling->{mixed}, 'and says the servers differ');
like($sampling->{note}, qr/sample_rate = 0\.1.*scaled/, 'in words');
my $sampled = first { $_->{text} =~ /AS sampled/ } @{ $whole->{statements} };
ok($sampled, 'the sampled statement is reported');
cmp_ok($sampled->{executions}, '>', 20, 'about a tenth recorded');
cmp_ok($sampled->{executions}, '<', 120, 'not all of them');
is($sampled->{calls}, $sampled->{executions} * 10, 'its calls scaled by 10');
my (undef, $terminal_b) = run_qprof('report', "$tmp/b");
like($terminal_b, qr/SAMPLED: about 1 in 10 statements recorded/,
    'the terminal report says it is sampled');

# damaged, truncated, not a capture, named twice
my $bad = "$tmp/bad";
mkdir $bad;
copy($a1_file, "$bad/damaged.qprof") or die $!;
my $size = -s "$bad/damaged.qprof";
open my $fh, '+<', "$bad/damaged.qprof" or die $!;
binmode $fh;
seek $fh, int($size * 0.6), 0;
print $fh "\xde\xad\xbe\xef" x 8;
close $fh;
copy($b_file, "$bad/truncated.qprof") or die $!;
truncate "$bad/truncated.qprof", (-s $b_file) - 7 or die $!;
open $fh, '>', "$bad/garbage.qprof" or die $!;
print $fh "this is not a capture file\n" x 10;
close $fh;

($rc, my $doc, $err) = report_json("$bad/damaged.qprof", "$bad/truncated.qprof",
    "$bad/garbage.qprof", "$tmp/a2", "$tmp/a2");
is($rc, 0, 'a report over damaged files still succeeds') or diag $err;
my %status = map { ($_->{path} => $_) } @{ $doc->{inputs}{files} };
is($status{"$bad/damaged.qprof"}{status}, 'damaged', 'the damaged file is called damaged');
like($status{"$bad/damaged.qprof"}{problems}[0]{what}, qr/\S/, 'with what was wrong');
cmp_ok($status{"$bad/damaged.qprof"}{problems}[0]{offset}, '>', 0, 'and where');
cmp_ok($status{"$bad/damaged.qprof"}{samples}, '>', 0, 'the frames before the damage are read');
cmp_ok($status{"$bad/damaged.qprof"}{samples}, '<', $file_samples{$a1_file},
    'the damaged frames are not');
is($status{"$bad/truncated.qprof"}{status}, 'truncated', 'the cut file is called truncated');
is($status{"$bad/truncated.qprof"}{problems}[0]{kind}, 'truncated_tail', 'its tail skipped');
is($status{"$bad/garbage.qprof"}{status}, 'unreadable', 'a file that is not a capture is unreadable');
my @a2 = grep { $_->{path} =~ m{/a2/} } @{ $doc->{inputs}{files} };
is(scalar(grep { $_->{status} eq 'duplicate' } @a2), 1, 'a file named twice is read once');
is(sum(map { $_->{samples} } @{ $doc->{inputs}{files} }), $doc->{inputs}{samples_read},
    'the samples reported are those of the readable frames');
cmp_ok($doc->{summary}{executions}, '>', 0, 'the rest is reported');
ok((first { $_->{text} =~ /route='%2Fa2'/ } @{ $doc->{statements} }),
    'statements of the intact file are there');

my (undef, $terminal) = run_qprof('report', "$bad/damaged.qprof",
    "$bad/truncated.qprof", "$bad/garbage.qprof", "$tmp/a2");
like($terminal, qr/CAPTURE PROBLEMS: 3 file/, 'the terminal report says files were skipped');
# long paths are wrapped: compare without white space
(my $flat = $terminal) =~ s/\s+//g;
like($flat, qr/damaged:\Q$bad\E\/damaged\.qprof\(\d+samplesread\)damageatoffset\d+/,
    'and lists the damage');
like($flat, qr/truncated:\Q$bad\E\/truncated\.qprof\(\d+samplesread\)truncated_tail/,
    'and the truncation');
is(scalar(grep { length($_) > 100 } split /\n/, $terminal), 0, 'in 100 columns');

# nothing readable at all, and a path that does not exist
my ($none_rc, undef, $none_err) = run_qprof('report', "$bad/garbage.qprof");
is($none_rc, 4, 'no readable file: exit status 4');
like($none_err, qr/no capture file could be read/, 'said on stderr');
my ($missing_rc) = run_qprof('report', "$tmp/no-such-dir");
is($missing_rc, 3, 'a path that does not exist: exit status 3');

$a->stop;
$b->stop;
done_testing();
