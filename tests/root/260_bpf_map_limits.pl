# The entry map is bounded: when full, events are lost and counted, never
# blocked on; entries no sample will claim are dropped, the others kept.
use strict;
use warnings;
use File::Basename qw(dirname);
use lib dirname(__FILE__), dirname(__FILE__) . '/../bpf';
use Test::More;
use BpfTest;

my $node = bpf_cluster('bpf_limits');
create_table($node, 'limits_cold', 4);

# A map of 4 entries and 8 executions that each spend time off the CPU.
my $tiny = attach_bpf($node, max_entries => 4);
$node->psql('SELECT pg_sleep(0.01)', app => "tiny$_") for 1 .. 8;
my $stats = $tiny->stats;
diag sprintf 'map of 4: peak %d entries, %d events added, %d lost',
  $stats->{peak_entries}, $stats->{events}, $stats->{lost_events};
is($stats->{max_entries}, 4, 'map of 4 entries');
cmp_ok($stats->{peak_entries}, '<=', 4, 'never more entries than that');
cmp_ok($stats->{lost_events}, '>', 0, 'events that found no room are counted');
$tiny->detach;

# The CPU slice of each ended statement waits in a ring of 16,384 per CPU
# until user space reads it: a reader that falls further behind counts
# what was overwritten, and still gets the slices that were not.
my $behind = attach_bpf($node);
my $statements = 40_000;
$node->psql(join('', map { "SELECT $_;\n" } 1 .. $statements), app => 'behind');
my $seen = $behind->peek;
my $behind_stats = $behind->stats;
diag sprintf '%d statements read once: %d events, %d lost', $statements,
  $behind_stats->{events}, $behind_stats->{lost_events};
cmp_ok($behind_stats->{lost_events}, '>', 0,
    'slices overwritten before they were read are counted as lost');
# (two statements may share a slice when the next arrives before the
# backend waits: rare, but never counted twice)
cmp_ok($behind_stats->{lost_events} + $behind_stats->{events}, '>=',
    0.95 * $statements, 'every slice is either read or counted lost');
cmp_ok(scalar(grep { $_->{oncpu_ns} > 0 } values %$seen), '>=', 16_384,
    'the slices still in the rings are read');
$behind->detach;

my $bpf = attach_bpf($node);

# Executions below pg_qprof.min_duration leave no sample: their entries are
# dropped once a later execution of the same backend has been taken.
$node->psql(
    "SET pg_qprof.min_duration = '1h'; SELECT pg_sleep(0.05); "
      . 'RESET pg_qprof.min_duration',
    app => 'skipped');
my $last = last_sample($node, 'skipped');
like($last->{query}, qr/RESET/i, 'the sample after the skipped sleep');
my @unclaimed = grep {
    $_->{pid} == $last->{pid} && $_->{exec_id} < $last->{exec_id}
} values %{ $bpf->peek };
cmp_ok(scalar @unclaimed, '>=', 1, 'the skipped sleep left an entry')
  or diag explain $bpf->peek;
io_of($bpf, $last);

# A live backend whose execution ended but whose sample was not read yet.
my $live = $node->background_psql(
    'SELECT count(*) FROM limits_cold; SELECT pg_sleep(1.5)', app => 'live');
my $pending;
for (1 .. 50) {
    $pending = eval { last_sample($node, 'live', 0, 'limits_cold') };
    last if $pending;
    select(undef, undef, undef, 0.1);
}
ok($pending, 'the live backend finished its scan');

my $dropped = $bpf->drop_unclaimed(0);
cmp_ok($dropped, '>=', scalar @unclaimed, 'unclaimed entries dropped');
my $left = $bpf->peek;
ok(!(grep { $_->{pid} == $last->{pid} && $_->{exec_id} < $last->{exec_id} }
        values %$left), 'no entry left for the skipped execution');
my $kept = io_of($bpf, $pending);
cmp_ok($kept->{read_calls}, '>', 0,
    'the entry of a sample still to be read is kept');
$node->finish_psql($live);

is($bpf->stats->{lost_events}, 0, 'a large enough map loses nothing');
$bpf->detach;
done_testing();
