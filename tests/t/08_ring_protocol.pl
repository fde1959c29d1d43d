# The sample ring's protocol, outside the server (tests/ring/
# ring_protocol_test.cpp builds extension/ring.cpp as it is): a writer held
# inside its slot while the others lap the ring never publishes into a sample
# a newer writer completed, and no reader accepts a sample that mixes two
# writers (issue 26, defect 3); a slot is taken again once the held writer
# left; every seq is counted once (readable, overwritten or dropped);
# resets racing resets never make a count negative or move reset_seq back.
use strict;
use warnings;
use File::Basename qw(dirname);
use File::Temp ();
use Test::More;

# the repository (tests/run_tests.sh runs a copy of tests/ elsewhere)
my $root    = $ENV{QPROF_SRC} // dirname(__FILE__) . '/../..';
my $dir     = File::Temp::tempdir(CLEANUP => 1);
my $program = "$dir/ring_protocol_test";
chomp(my $pg_include = `pg_config --includedir-server`);
my $built = system('g++', '-std=c++17', '-O2', '-pthread', '-Wall', '-Werror',
    '-Wno-register', "-I$root/extension", "-I$pg_include",
    dirname(__FILE__) . '/../ring/ring_protocol_test.cpp',
    "$root/extension/ring.cpp", '-o', $program);
is($built, 0, 'the check program builds') or BAIL_OUT('cannot build');

my @lines = `$program`;
my $status = $? >> 8;
for my $line (@lines) {
    chomp $line;
    my ($verdict, $what) = $line =~ /^(ok|not ok) (.*)$/
      or die "unexpected output: $line";
    ok($verdict eq 'ok', $what);
}
is(scalar(@lines), 27, 'all 27 checks ran');
is($status, 0, 'the check program agrees');

done_testing();
