# The collector finds the postmaster's process (its pid as the BPF programs
# and /proc/PID/mem see it) from the pid and start time the server reports.
# pg_postmaster_start_time is taken seconds after the process started when
# the postmaster loads its libraries and creates its shared memory on a
# loaded machine: the check program makes the server's start time up around
# a real child process (collector/collect/host_pid.h).
use strict;
use warnings;
use File::Basename qw(dirname);
use lib dirname(__FILE__);
use Test::More;
use CheckProgram;

# the repository (tests/run_tests.sh runs a copy of tests/ elsewhere)
my $root    = $ENV{QPROF_SRC} // dirname(__FILE__) . '/../..';
my $collect = "$root/collector/collect";
run_check_program(
    name    => 'host_pid_check',
    flags   => [ '-O1', "-I$collect" ],
    sources => [ dirname(__FILE__) . '/../collector/host_pid_check.cpp',
        "$collect/host_pid.cpp" ],
    checks => 5);

done_testing();
