# The collector finds the postmaster's process (its pid as the BPF programs
# and /proc/PID/mem see it) from the pid and start time the server reports.
# pg_postmaster_start_time is taken seconds after the process started when
# the postmaster loads its libraries and creates its shared memory on a
# loaded machine: the check program makes the server's start time up around
# a real child process (collector/collect/host_pid.h).
use strict;
use warnings;
use File::Basename qw(dirname);
use File::Temp ();
use Test::More;

# the repository (tests/run_tests.sh runs a copy of tests/ elsewhere)
my $root      = $ENV{QPROF_SRC} // dirname(__FILE__) . '/../..';
my $collect   = "$root/collector/collect";
my $dir       = File::Temp::tempdir(CLEANUP => 1);
my $program   = "$dir/host_pid_check";
my $built     = system('g++', '-std=c++17', '-O1', '-Wall', '-Werror',
    "-I$collect", dirname(__FILE__) . '/../collector/host_pid_check.cpp',
    "$collect/host_pid.cpp", '-o', $program);
is($built, 0, 'the check program builds') or BAIL_OUT('cannot build');

my @lines = `$program`;
my $status = $? >> 8;
for my $line (@lines) {
    chomp $line;
    my ($verdict, $what) = $line =~ /^(ok|not ok) (.*)$/
      or die "unexpected output: $line";
    ok($verdict eq 'ok', $what);
}
is(scalar(@lines), 5, 'all 5 checks ran');
is($status, 0, 'the check program agrees');

done_testing();
