# The shared store on its own (tests/store/shared_store_check.cpp), built
# with AddressSanitizer and UndefinedBehaviorSanitizer: records of random
# sizes wrap, pad, are evicted and moved to the head by their second chance
# thousands of times, and after every append every record still holds its
# own bytes, the index finds each one, the counters agree; a hot set that
# fits is never evicted (issue 26, defect 14).
use strict;
use warnings;
use PostgreSQL::Test::Utils;
use Test::More;
use File::Basename qw(dirname);

my $repo = $ENV{QPROF_SRC} // dirname(__FILE__) . '/../..';
my $exe = PostgreSQL::Test::Utils::tempdir . '/shared_store_check';
my ($out, $err);
my $built = IPC::Run::run(
    [
        'g++', '-std=c++17', '-O1', '-g',
        '-fsanitize=address,undefined', '-fno-sanitize-recover=all',
        '-Wall', '-Wextra', "-I$repo/extension",
        "$repo/tests/store/shared_store_check.cpp",
        "$repo/extension/shared_store.cpp", '-o', $exe
    ],
    '>', \$out, '2>', \$err);
ok($built, 'the check builds with the sanitizers') or diag($err);

my $ran = IPC::Run::run([$exe], '>', \$out, '2>', \$err);
note($out);
ok($ran, 'the store holds every record intact under wraps, evictions and moves')
  or diag($err);
like($out, qr/^ok$/m, 'and says so');
done_testing();
