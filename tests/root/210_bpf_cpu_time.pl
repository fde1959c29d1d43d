# On- and off-CPU time per execution: a sleep is off-CPU but not I/O wait,
# a CPU-bound statement is on the CPU for about its execution time.
use strict;
use warnings;
use File::Basename qw(dirname);
use lib dirname(__FILE__), dirname(__FILE__) . '/../bpf';
use Test::More;
use BpfTest;

my $node = bpf_cluster('bpf_cpu', work_mem => '256MB');
my $bpf  = attach_bpf($node);

$node->psql('SELECT pg_sleep(0.2)', app => 'sleeper');
my $sample = last_sample($node, 'sleeper');
my $sleep  = io_of($bpf, $sample);
diag sprintf 'pg_sleep(0.2): %.1f ms exec, off-CPU %.1f ms other, %.1f ms I/O, '
  . 'on-CPU %.2f ms', $sample->{exec_time_ms}, $sleep->{offcpu_other_ns} / 1e6,
  $sleep->{offcpu_io_ns} / 1e6, $sleep->{oncpu_ns} / 1e6;
cmp_ok($sleep->{offcpu_other_ns}, '>=', 0.19e9,
    'pg_sleep(0.2): at least 0.19 s off-CPU');
cmp_ok($sleep->{offcpu_other_ns}, '<=', $sample->{exec_time_ms} * 1e6 * 1.05 + 5e6,
    'pg_sleep(0.2): off-CPU within its execution time');
cmp_ok($sleep->{offcpu_io_ns}, '<', 0.01e9, 'pg_sleep(0.2): not waiting on I/O');
cmp_ok($sleep->{oncpu_ns}, '<', 0.05e9, 'pg_sleep(0.2): hardly on the CPU');

$node->psql('SELECT sum(g::bigint * g) FROM generate_series(1, 2000000) g',
    app => 'cpu_bound');
$sample = last_sample($node, 'cpu_bound');
my $cpu     = io_of($bpf, $sample);
my $exec_ns = $sample->{exec_time_ms} * 1e6;
my $offcpu  = $cpu->{offcpu_other_ns} + $cpu->{offcpu_io_ns};
diag sprintf 'CPU-bound: %.1f ms exec, on-CPU %.1f ms, off-CPU %.1f ms',
  $sample->{exec_time_ms}, $cpu->{oncpu_ns} / 1e6, $offcpu / 1e6;
cmp_ok($exec_ns, '>=', 0.1e9, 'CPU-bound statement ran for a while');
cmp_ok($cpu->{oncpu_ns}, '>=', 0.9 * ($exec_ns - $offcpu),
    'CPU-bound: on-CPU whenever it was not switched out');
cmp_ok($cpu->{oncpu_ns}, '>=', 0.5 * $exec_ns,
    'CPU-bound: on-CPU most of its execution time');
cmp_ok(abs($cpu->{oncpu_ns} + $offcpu - $exec_ns), '<=', 0.1 * $exec_ns + 8e6,
    'CPU-bound: on- plus off-CPU time is the execution time');

$bpf->detach;
done_testing();
