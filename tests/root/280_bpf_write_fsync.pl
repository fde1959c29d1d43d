# Write and fsync system calls of an execution: CREATE INDEX writes the new
# btree with write system calls and fsyncs it itself, in the backend.
use strict;
use warnings;
use File::Basename qw(dirname);
use lib dirname(__FILE__), dirname(__FILE__) . '/../bpf';
use Test::More;
use BpfTest;

my $node = bpf_cluster('bpf_write', fsync => 'on');
my $bpf  = attach_bpf($node);
create_table($node, 'indexed', 8);

$node->psql('CREATE INDEX indexed_id ON indexed (id)', app => 'indexer');
my $sample = last_sample($node, 'indexer');
like($sample->{query}, qr/CREATE INDEX/i, 'CREATE INDEX has a sample');
my $io = io_of($bpf, $sample);
my $index_size = $node->psql("SELECT pg_relation_size('indexed_id')");
diag sprintf 'CREATE INDEX: %d writes, %d bytes (index: %d bytes), %.1f ms; '
  . '%d fsyncs, %.1f ms; %d page-cache misses',
  $io->{write_calls}, $io->{write_bytes}, $index_size, $io->{write_ns} / 1e6,
  $io->{fsync_calls}, $io->{fsync_ns} / 1e6, $io->{page_cache_miss_pages};

cmp_ok($io->{write_calls}, '>', 0, 'write system calls counted');
cmp_ok($io->{write_bytes}, '>=', 0.9 * $index_size,
    'they carried the whole index');
cmp_ok($io->{write_ns}, '>', 0, 'write latency measured');
cmp_ok($io->{fsync_calls}, '>=', 1, 'the index file was fsynced');
cmp_ok($io->{fsync_ns}, '>', 0, 'fsync latency measured');
# Pages a write puts into the page cache are not misses: what is left is
# the cold table the index was built from.
cmp_ok($io->{page_cache_miss_pages}, '<=',
    1.05 * $node->psql("SELECT pg_relation_size('indexed')") / page_size(),
    'written pages are not counted as page-cache misses');

# The commit of a statement sent alone flushes WAL after its execution has
# ended: that flush is still the statement's own I/O.
$node->psql('INSERT INTO indexed SELECT g, \'y\' FROM generate_series(1, 100) g',
    app => 'committer');
my $insert = last_sample($node, 'committer');
like($insert->{query}, qr/INSERT/i, 'INSERT has a sample');
my $commit_io = io_of($bpf, $insert);
cmp_ok($commit_io->{fsync_calls}, '>=', 1,
    'the WAL flush at commit is attributed to the INSERT');

$bpf->detach;
done_testing();
