# The reader decodes samples with its own decoder of qprof.proto's Sample
# (collector/capture/sample_fields.h), not protobuf's generated parser: the
# check program compares the two on the samples the collector writes, on
# samples with fields this reader does not know (a newer collector's), and
# on damaged samples, which must be refused exactly when protobuf refuses
# them (the reader then reports the record as undecodable, as before).
# The same for tag sets (collector/capture/tag_set_fields.h), against
# protobuf's parser of the Record they come in, its map's rules included.
use strict;
use warnings;
use File::Basename qw(dirname);
use lib dirname(__FILE__);
use Test::More;
use CheckProgram;

# the repository (tests/run_tests.sh runs a copy of tests/ elsewhere)
my $root  = $ENV{QPROF_SRC} // dirname(__FILE__) . '/../..';
my $build = "$root/collector/build";
run_check_program(
    name    => 'sample_fields_check',
    flags   => [ '-O2', "-I$build", "-I$root/collector/capture" ],
    sources => [
        dirname(__FILE__) . '/../collector/sample_fields_check.cpp',
        "$build/libcapture.a", '-lprotobuf', '-lzstd', '-lpthread'
    ],
    checks => 5);
run_check_program(
    name    => 'tag_set_fields_check',
    flags   => [ '-O2', "-I$build", "-I$root/collector/capture" ],
    sources => [
        dirname(__FILE__) . '/../collector/tag_set_fields_check.cpp',
        "$build/libcapture.a", '-lprotobuf', '-lzstd', '-lpthread'
    ],
    checks => 5);

done_testing();
