# System call windows and wall clock steps: SyscallWindowSchedule is judged
# on the samples' wall clock, so a window around a step, and the windows
# opening soon after one, must cover no execution (collector/
# kernel/syscall_windows.h). Steps cannot be made on a shared machine: the check
# program drives the schedule with made-up times.
use strict;
use warnings;
use File::Basename qw(dirname);
use File::Temp ();
use Test::More;

# the repository (tests/run_tests.sh runs a copy of tests/ elsewhere)
my $root      = $ENV{QPROF_SRC} // dirname(__FILE__) . '/../..';
my $collector = "$root/collector/kernel";
my $dir       = File::Temp::tempdir(CLEANUP => 1);
my $program   = "$dir/syscall_windows_check";
my $built     = system('g++', '-std=c++17', '-O1', '-Wall', '-Werror',
    "-I$collector", dirname(__FILE__) . '/../collector/syscall_windows_check.cpp',
    "$collector/syscall_windows.cpp", '-o', $program);
is($built, 0, 'the check program builds') or BAIL_OUT('cannot build');

my @lines = `$program`;
my $status = $? >> 8;
for my $line (@lines) {
    chomp $line;
    my ($verdict, $what) = $line =~ /^(ok|not ok) (.*)$/
      or die "unexpected output: $line";
    ok($verdict eq 'ok', $what);
}
is(scalar(@lines), 10, 'all 10 checks ran');
is($status, 0, 'the check program agrees');

done_testing();
