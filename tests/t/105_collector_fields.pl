# The capture loses nothing: every field of every sample that `qprof
# collect` writes, read back with `qprof dump`, equals what pg_qprof.samples
# shows for the same sequence number, over a workload that sets each kind
# of field (WAL, temporary files, an error, sqlcommenter tags, a nested
# statement, parallel workers, JIT, per-node actuals, a utility statement,
# waits found by the wait sampler).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../collector";
use JSON::PP;
use PostgreSQL::Test::Utils;
use Test::More;
use QprofCollectorTest;

my $node = new_qprof_node('fields',
    "pg_qprof.track = all\npg_qprof.analyze_sample_rate = 1\n");

my $workload = <<'SQL';
SET application_name = 'fields105';
CREATE TABLE f_t (id int PRIMARY KEY, v text);
INSERT INTO f_t SELECT g, repeat('x', 100) || g FROM generate_series(1, 20000) g;
SET work_mem = '64kB';
SELECT count(*) FROM (SELECT v FROM f_t ORDER BY v DESC, id) s;
RESET work_mem;
SELECT 1 / 0;
/* route='%2Fscheduler%2Fjob%2F7',controller='scheduler' */ SELECT count(*) FROM f_t WHERE id < 10;
CREATE FUNCTION f_nested() RETURNS int LANGUAGE plpgsql AS
  $$ BEGIN RETURN (SELECT count(*)::int FROM f_t WHERE id < 5); END $$;
SELECT f_nested();
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
SELECT count(*) FROM f_t WHERE v LIKE '%9';
RESET max_parallel_workers_per_gather;
SET jit = on;
SET jit_above_cost = 0;
SELECT sum(id) FROM f_t;
SELECT pg_sleep(0.1);
SQL
my ($rc, $stdout, $stderr) =
  $node->psql('postgres', $workload, on_error_stop => 0);
like($stderr, qr/division by zero/, 'the workload has its failing statement');

# What the server says, field by field, with the capture's names and units.
my $rows = $node->safe_psql('postgres', <<'SQL');
SELECT jsonb_build_object(
  'seq', seq::text, 'pid', pid::text, 'exec_id', exec_id::text,
  'parent_exec_id', parent_exec_id::text,
  'nesting_level', nesting_level::text, 'toplevel', toplevel::text,
  'has_node_actuals', has_node_actuals::text, 'dbid', dbid::text,
  'userid', userid::text, 'application_name', application_name,
  'client_addr', coalesce(host(client_addr), ''),
  'queryid', coalesce(queryid, 0)::text,
  'planid', coalesce(planid, 0)::text,
  'cmd', 'CMD_' || cmd_type,
  'start_unix_us', (extract(epoch FROM start_time) * 1000000)::bigint::text,
  'end_unix_us',
    (extract(epoch FROM greatest(end_time, start_time)) * 1000000)::bigint::text,
  'plan_time_ns', round(plan_time_ms * 1e6)::bigint::text,
  'exec_time_ns', round(exec_time_ms * 1e6)::bigint::text,
  'rows', rows::text,
  'shared_blks_hit', shared_blks_hit::text,
  'shared_blks_read', shared_blks_read::text,
  'shared_blks_dirtied', shared_blks_dirtied::text,
  'shared_blks_written', shared_blks_written::text,
  'local_blks_hit', local_blks_hit::text,
  'local_blks_read', local_blks_read::text,
  'local_blks_dirtied', local_blks_dirtied::text,
  'local_blks_written', local_blks_written::text,
  'temp_blks_read', temp_blks_read::text,
  'temp_blks_written', temp_blks_written::text,
  'blk_read_time_ns', round(blk_read_time * 1e6)::bigint::text,
  'blk_write_time_ns', round(blk_write_time * 1e6)::bigint::text,
  'temp_blk_read_time_ns', round(temp_blk_read_time * 1e6)::bigint::text,
  'temp_blk_write_time_ns', round(temp_blk_write_time * 1e6)::bigint::text,
  'wal_records', wal_records::text, 'wal_fpi', wal_fpi::text,
  'wal_bytes', wal_bytes::text, 'jit_functions', jit_functions::text,
  'jit_generation_time_ns', round(jit_generation_time * 1e6)::bigint::text,
  'jit_inlining_time_ns', round(jit_inlining_time * 1e6)::bigint::text,
  'jit_optimization_time_ns',
    round(jit_optimization_time * 1e6)::bigint::text,
  'jit_emission_time_ns', round(jit_emission_time * 1e6)::bigint::text,
  'parallel_workers_planned', parallel_workers_planned::text,
  'parallel_workers_launched', parallel_workers_launched::text,
  'sqlstate', sqlstate,
  'tags', coalesce(tags, '{}'),
  'wait_sample_interval_us',
    coalesce(round(wait_sample_interval_ms * 1000)::bigint, 0)::text,
  'sampled_waits', coalesce(sampled_waits, '{}'))
FROM pg_qprof.samples WHERE application_name = 'fields105' ORDER BY seq
SQL
my $json = JSON::PP->new;
my %expected = map { my $r = $json->decode($_); ($r->{seq} => $r) }
  split /\n/, $rows;

my $dir = PostgreSQL::Test::Utils::tempdir . '/cap';
my ($crc, $cout, $cerr) = run_qprof('collect', '--dsn',
    $node->connstr('postgres'), '--out', $dir, '--once', '--bpf', 'off');
is($crc, 0, 'collect --once succeeds') or diag $cerr;
my %captured = map { ($_->{seq} => $_) }
  grep { $_->{application_name} eq 'fields105' } dump_samples($dir);

is_deeply([ sort { $a <=> $b } keys %captured ],
    [ sort { $a <=> $b } keys %expected ],
    'the capture has exactly the samples the server has');

# The sampled waits (no BPF): the server's ms per class, the capture's ns.
sub captured_waits
{
    my ($got) = @_;
    my $w = $got->{sampled_waits} or return ('0', {});
    return ("$w->{interval_us}",
        { map { ($_->{class} => $_->{ns} / 1e6) } @{ $w->{classes} } });
}

my @fields = grep { $_ ne 'tags' && $_ ne 'sampled_waits' && $_ ne 'wait_sample_interval_us' }
  sort keys %{ (values %expected)[0] };
my $mismatches = 0;
for my $seq (sort { $a <=> $b } keys %expected)
{
    my ($want, $got) = ($expected{$seq}, $captured{$seq});
    for my $field (@fields)
    {
        next if ($got->{$field} // '<absent>') eq $want->{$field};
        diag "seq $seq: $field is " . ($got->{$field} // '<absent>')
          . " in the capture, $want->{$field} on the server";
        $mismatches++;
    }
    if (!eq_hash($got->{tags} // {}, $want->{tags}))
    {
        diag "seq $seq: the tags differ";
        $mismatches++;
    }
    my ($interval_us, $waits) = captured_waits($got);
    if ($interval_us ne $want->{wait_sample_interval_us}
        || !eq_hash($waits, $want->{sampled_waits}))
    {
        diag "seq $seq: the sampled waits differ";
        $mismatches++;
    }
}
is($mismatches, 0,
    'every field of ' . scalar(keys %expected) . ' samples is as the server has it');

# The workload set each kind of field, so the comparison covered them.
my @samples = values %expected;
sub some { my ($test) = @_; return scalar grep { $test->($_) } @samples }
ok(some(sub { $_[0]{wal_bytes} > 0 }), 'a sample with WAL');
ok(some(sub { $_[0]{temp_blks_written} > 0 && $_[0]{temp_blks_read} > 0 }),
    'a sample with temporary blocks');
ok(some(sub { $_[0]{sqlstate} eq '22012' }), 'a failed sample');
ok(some(sub { ($_[0]{tags}{route} // '') eq '/scheduler/job/7' }),
    'a sample with tags');
ok(some(sub { $_[0]{nesting_level} > 0 && $_[0]{parent_exec_id} > 0 }),
    'a nested sample');
ok(some(sub { $_[0]{parallel_workers_launched} > 0 }),
    'a sample with parallel workers');
ok(some(sub { $_[0]{has_node_actuals} eq 'true' }),
    'a sample with per-node actuals');
ok(some(sub { $_[0]{cmd} eq 'CMD_UTILITY' }), 'a utility statement');
ok(some(sub { $_[0]{jit_functions} > 0 && $_[0]{jit_emission_time_ns} > 0 }),
    'a sample with JIT');
ok(some(sub { ($_[0]{sampled_waits}{Timeout} // 0) >= 50 }),
    'a sample with sampled waits (pg_sleep as Timeout)');

done_testing();
