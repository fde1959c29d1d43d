# qprof diff tests the I/O wait per execution (kernel facts) as it tests the
# rest of an execution's work: three captures written with the collector's
# own writer and codec (tests/report/io_wait_capture.cpp: 220 reads of
# known I/O wait, 220 statements without kernel facts). The same I/O wait
# twice is not a change; fifteen times the I/O wait is, by Welch's test,
# with the read's route; a statement without kernel facts is not tested
# on it.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../collector";
use File::Path qw(make_path);
use IPC::Run;
use JSON::PP;
use PostgreSQL::Test::Utils;
use Test::More;
use QprofCollectorTest;
use QprofReportTest;

my $tmp  = PostgreSQL::Test::Utils::tempdir;
my ($out, $err) = ('', '');
my $fixture = build_capture_fixture('io_wait_capture', $tmp);

# Each capture: its name and the reads' I/O wait in microseconds.
for ([ 'base', 200 ], [ 'again', 200 ], [ 'slow', 3000 ])
{
    my ($name, $io_wait_us) = @$_;
    make_path("$tmp/$name");
    IPC::Run::run([ $fixture, '--out', "$tmp/$name",
            '--io-wait-us', $io_wait_us ], '>', \$out, '2>', \$err)
      or BAIL_OUT("io_wait_capture failed: $err");
    like($out, qr/440 samples/, "$name: the capture holds the 440 executions");
}

# A row's work change of `measure`, or undef.
sub measure
{
    my ($row, $measure) = @_;
    my ($change) = grep { $_->{measure} eq $measure } @{ $row->{work} };
    return $change;
}

my ($rc, $doc, $stderr) = diff_json("$tmp/base", "$tmp/again");
is($rc, 0, 'the same capture twice: exit 0') or diag $stderr;
my $read = diff_row($doc->{statements}, qr/FROM blobs/);
my $io = measure($read, 'io_wait_ms_per_call');
ok($io, 'the read is tested on its I/O wait');
cmp_ok(abs($io->{base} - 0.2), '<', 0.001, 'a mean of 0.2 ms an execution');
ok(!$io->{significant}, 'the same I/O wait is no change');
my $health = diff_row($doc->{statements}, qr/^SELECT \$1$/);
ok(!measure($health, 'io_wait_ms_per_call'),
    'a statement without kernel facts is not tested on it');
is(scalar @{ $health->{work} }, 4, 'but on its rows, blocks and errors');

($rc, $doc, $stderr) = diff_json("$tmp/base", "$tmp/slow");
$read = diff_row($doc->{statements}, qr/FROM blobs/);
$io = measure($read, 'io_wait_ms_per_call');
cmp_ok(abs($io->{new} - 3), '<', 0.001, 'after: 3 ms an execution');
is($io->{method}, 'welch-t', 'by Welch\'s test');
ok($io->{significant}, 'significant');
cmp_ok($io->{p_value}, '<', 1e-6, 'p < 1e-6');
cmp_ok($io->{z}, '>', 0, 'more in NEW');
my @others = grep { $_->{significant} && $_->{measure} ne 'io_wait_ms_per_call' }
  @{ $read->{work} };
is(scalar @others, 0, 'nothing else of its work changed');
my $route = diff_row($doc->{routes}, qr{^/blob$});
ok(measure($route, 'io_wait_ms_per_call')->{significant}, 'and its route\'s I/O wait changed');
is($read->{verdict}, 'regressed', 'its latency regressed with it');

my ($trc, $text) = run_qprof('diff', "$tmp/base", "$tmp/slow");
like($text, qr{work changed: I/O wait \(ms\) 0\.2 -> 3\.0 a call \(p <1e-6\)},
    'the terminal shows the change');
note $text;

done_testing();
