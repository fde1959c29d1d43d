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
use lib dirname(__FILE__);
use Test::More;
use CheckProgram;

# the repository (tests/run_tests.sh runs a copy of tests/ elsewhere)
my $root = $ENV{QPROF_SRC} // dirname(__FILE__) . '/../..';
chomp(my $pg_include = `pg_config --includedir-server`);
run_check_program(
    name    => 'ring_protocol_test',
    flags   => [ '-O2', '-pthread', '-Wno-register', "-I$root/extension", "-I$pg_include" ],
    sources => [ dirname(__FILE__) . '/../ring/ring_protocol_test.cpp', "$root/extension/ring.cpp" ],
    checks  => 27);

done_testing();
