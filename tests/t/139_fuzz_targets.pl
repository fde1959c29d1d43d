# The libFuzzer targets of tests/fuzz (the capture reader, the sqlcommenter
# parser), built with clang, AddressSanitizer and UBSan: every input of
# their corpus (tests/fuzz/corpus/<target>/, where every crash found is kept)
# runs once, then each target is fuzzed for a bounded time,
# QPROF_FUZZ_SECONDS (60 by default), with at most 10 s and 1.5 GB for any
# one input. No server is needed. A crash leaves its input in the test's
# directory: add it to the corpus with the fix.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../collector";
use File::Path qw(make_path);
use IPC::Run;
use PostgreSQL::Test::Utils;
use Test::More;
use QprofCollectorTest;

my $src = repo_dir();
my $seconds = $ENV{QPROF_FUZZ_SECONDS} // 60;
my $work = PostgreSQL::Test::Utils::tempdir;
my $build = "$work/build";

my ($out, $err) = ('', '');
IPC::Run::run([ 'make', '-s', '-j2', '-C', "$src/tests/fuzz", "BUILD=$build" ],
    '>', \$out, '2>', \$err, IPC::Run::timeout(1200));
is($?, 0, 'the fuzz targets build') or BAIL_OUT("cannot build the fuzz targets: $err");

for my $target ('capture_reader', 'sqlcommenter')
{
    my $binary = "$build/${target}_fuzz";
    my $corpus = "$src/tests/fuzz/corpus/$target";
    my @inputs = glob("$corpus/*");
    ok(@inputs >= 5, "$target: a corpus of " . scalar(@inputs) . ' inputs');

    # the corpus, each input once: the regression inputs of crashes found
    ($out, $err) = ('', '');
    IPC::Run::run([ $binary, '-timeout=10', '-rss_limit_mb=1536', @inputs ],
        '>', \$out, '2>', \$err, IPC::Run::timeout(600));
    my $rc = $?;
    my $ran = () = $err =~ /^Executed /mg;
    ok($rc == 0 && $ran == @inputs, "$target: every corpus input runs clean ($ran)")
      or diag $err =~ s/\A.*?(==\d+==ERROR|runtime error|\w+_fuzz: )/$1/sr;

    # fuzzing, new inputs kept in the test directory only
    my $found = "$work/$target-found";
    make_path($found);
    ($out, $err) = ('', '');
    IPC::Run::run([ $binary, "-max_total_time=$seconds", '-timeout=10',
            '-rss_limit_mb=1536', '-print_final_stats=1',
            "-artifact_prefix=$work/$target-", $found, $corpus ],
        '>', \$out, '2>', \$err, IPC::Run::timeout($seconds + 600));
    $rc = $?;
    my ($units) = $err =~ /stat::number_of_executed_units:\s*(\d+)/;
    my ($per_second) = $err =~ /DONE .* exec\/s: (\d+)/;
    my ($coverage) = $err =~ /DONE\s+cov: (\d+)/;
    is($rc, 0, sprintf('%s: %d s of fuzzing, no crash (%s executions, %s a second, coverage %s)',
            $target, $seconds, $units // '?', $per_second // '?', $coverage // '?'))
      or diag "the input is kept as $work/$target-*: add it to tests/fuzz/corpus/$target/ with the fix\n",
      $err =~ s/\A.*?(==\d+==ERROR|runtime error|\w+_fuzz: )/$1/sr;
}

done_testing();
