# A nested statement's I/O goes to the nested execution, not to the
# statement that called it.
use strict;
use warnings;
use File::Basename qw(dirname);
use lib dirname(__FILE__), dirname(__FILE__) . '/../bpf';
use Test::More;
use BpfTest;

my $node = bpf_cluster('bpf_nested', 'pg_qprof.track' => 'all');
my $bpf  = attach_bpf($node);

my $size  = create_table($node, 'nested_cold', 24);
my $pages = $size / page_size();
$node->psql(<<'SQL');
CREATE FUNCTION scan_nested_cold() RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    n bigint;
BEGIN
    PERFORM pg_sleep(0.05);
    SELECT count(*) INTO n FROM nested_cold;
    RETURN n;
END
$$;
SQL

$node->psql('SELECT scan_nested_cold()', app => 'nested');
my $outer = last_sample($node, 'nested', 0);
my $inner = last_sample($node, 'nested', 1, 'nested_cold');
like($inner->{query}, qr/nested_cold/, 'the nested scan has its own sample');
is($inner->{parent_exec_id}, $outer->{exec_id}, 'nested under the call');

my $inner_io = io_of($bpf, $inner);
my $outer_io = io_of($bpf, $outer);
diag sprintf 'nested scan: %d of %d pages missed, %d block bytes; '
  . 'caller: %d pages missed, %d block bytes, %.1f ms off-CPU',
  $inner_io->{page_cache_miss_pages}, $pages, $inner_io->{block_bytes},
  $outer_io->{page_cache_miss_pages}, $outer_io->{block_bytes},
  $outer_io->{offcpu_other_ns} / 1e6;
cmp_ok($inner_io->{page_cache_miss_pages}, '>=', 0.9 * $pages,
    'nested scan: its misses cover the table');
cmp_ok($inner_io->{block_bytes}, '>=', 0.9 * $size,
    'nested scan: its storage reads cover the table');
cmp_ok($outer_io->{page_cache_miss_pages}, '<=', 0.02 * $pages,
    'caller: the nested reads are not its own');
cmp_ok($outer_io->{block_bytes}, '<=', 0.02 * $size,
    'caller: the nested storage reads are not its own');
# PERFORM pg_sleep() is a nested statement too, with its own sample
my $sleep = io_of($bpf, last_sample($node, 'nested', 1, 'pg_sleep'));
cmp_ok($sleep->{offcpu_other_ns}, '>=', 0.045e9,
    'nested pg_sleep: its off-CPU time is its own');
cmp_ok($outer_io->{offcpu_other_ns}, '<', 0.02e9,
    'caller: the nested sleep is not its own');

$bpf->detach;
done_testing();
