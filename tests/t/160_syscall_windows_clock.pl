# System call windows and wall clock steps: SyscallWindowSchedule is judged
# on the samples' wall clock, so a window around a step, and the windows
# opening soon after one, must cover no execution (collector/
# kernel/syscall_windows.h). Steps cannot be made on a shared machine: the check
# program drives the schedule with made-up times.
use strict;
use warnings;
use File::Basename qw(dirname);
use lib dirname(__FILE__);
use Test::More;
use CheckProgram;

# the repository (tests/run_tests.sh runs a copy of tests/ elsewhere)
my $root      = $ENV{QPROF_SRC} // dirname(__FILE__) . '/../..';
my $collector = "$root/collector/kernel";
run_check_program(
    name    => 'syscall_windows_check',
    flags   => [ '-O1', "-I$collector" ],
    sources => [ dirname(__FILE__) . '/../collector/syscall_windows_check.cpp',
        "$collector/syscall_windows.cpp" ],
    checks => 10);

done_testing();
