# qprof diff for a terminal cuts a statement's text to fit its line, and
# never inside a UTF-8 character: two captures written with the collector's
# own writer and codec (tests/report/diff_text_capture.cpp: 12 statements
# whose texts are an ASCII prefix of 0 to 3 more bytes, then a run of é,
# € or 𝄞, longer than the width left for a text). The terminal output is
# valid UTF-8, and each statement's line shows its text's first
# characters intact, cut with "..." within 100 bytes, backed up by less
# than a character's length from the width.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../collector";
use Encode ();
use File::Path qw(make_path);
use IPC::Run;
use PostgreSQL::Test::Utils;
use Test::More;
use QprofCollectorTest;
use QprofReportTest;

my $tmp = PostgreSQL::Test::Utils::tempdir;
my ($out, $err) = ('', '');
my $fixture = build_capture_fixture('diff_text_capture', $tmp);

for my $name ('base', 'new')
{
    make_path("$tmp/$name");
    IPC::Run::run([ $fixture, '--out', "$tmp/$name" ], '>', \$out, '2>', \$err)
      or BAIL_OUT("diff_text_capture failed: $err");
    like($out, qr/480 samples/, "$name: the capture holds the 480 executions");
}

my ($rc, $stdout, $stderr) = run_qprof('diff', "$tmp/base", "$tmp/new");
is($rc, 0, 'qprof diff of the two captures exits 0') or diag $stderr;

my $text = eval {
    Encode::decode('UTF-8', $stdout, Encode::FB_CROAK | Encode::LEAVE_SRC);
};
ok(defined $text, 'the terminal output is valid UTF-8')
  or diag "not UTF-8: $@";
# each line with U+FFFD where it is not UTF-8, and its bytes as printed
my @lines = map { [ Encode::decode('UTF-8', $_), length $_ ] } split /\n/, $stdout;

# The statements' texts, as the fixture writes them.
my @texts;
for my $character ("\x{e9}", "\x{20ac}", "\x{1d11e}")
{
    push @texts, 'SELECT ' . ('x' x $_) . "'" . ($character x 30) . "' FROM t"
      for 0 .. 3;
}

my $cut_inside = 0;
for my $statement (@texts)
{
    my $start = substr($statement, 0, index($statement, "'") + 2);
    my ($found) = grep { $_->[0] =~ /\d%  \Q$start\E/ } @lines;
    my $what = substr($statement, 0, index($statement, "'") + 1) . ' '
      . sprintf('U+%04X', ord(substr($statement, index($statement, "'") + 1, 1)));
    ok(defined $found, "$what: its line is in the table") or next;
    my ($line, $line_bytes) = @$found;
    my ($lead, $shown) = $line =~ /^(.*?\d%  )(\S.*)$/;
    cmp_ok($line_bytes, '<=', 100, "$what: the line fits 100 bytes");
    ok($shown =~ s/\.\.\.$//, "$what: the text is cut with \"...\"");
    is(substr($statement, 0, length $shown), $shown,
        "$what: what is shown is the text's beginning, every character whole");
    # the width left for the text, less the "...", and what the cut kept
    my $room = 100 - length($lead) - 3;          # $lead is ASCII
    my $kept = $line_bytes - length($lead) - 3;
    my $next = length(Encode::encode('UTF-8', substr($statement, length $shown, 1)));
    ok($kept <= $room && $kept + $next > $room,
        "$what: cut at the last character that fits ($kept of $room bytes)");
    $cut_inside++ if $kept < $room;
}
cmp_ok($cut_inside, '>=', 3,
    "texts whose cut by bytes falls inside a character: $cut_inside");

done_testing();
