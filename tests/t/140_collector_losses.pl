# Samples the ring overwrote before the collector read them are recorded as
# a loss with the exact count, computed from the gap in sequence numbers,
# and the collector carries on after the gap.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../collector";
use PostgreSQL::Test::Utils;
use Test::More;
use QprofCollectorTest;

my $node = new_qprof_node('losses', "pg_qprof.ring_size = 1\n");
my $capacity = $node->safe_psql('postgres', 'SELECT capacity FROM pg_qprof.status');
my $dir = PostgreSQL::Test::Utils::tempdir . '/losses';

sub collect_once
{
    my ($rc, $out, $err) = run_qprof('collect', '--dsn',
        $node->connstr('postgres'), '--out', $dir, '--once', '--bpf', 'off');
    is($rc, 0, 'collect --once') or diag $err;
}

collect_once();
my ($last_before) = reverse sort { $a <=> $b } map { $_->{seq} } dump_samples($dir);

# Three times the ring's capacity while no collector runs.
$node->safe_psql('postgres', join('', map { "SELECT $_;\n" } 1 .. 3 * $capacity));
my $oldest = $node->safe_psql('postgres', 'SELECT oldest_seq FROM pg_qprof.status');
ok($oldest > $last_before + 1, "the ring overwrote samples (oldest $oldest, captured up to $last_before)");

collect_once();
my @records = dump_records($dir);
my @losses = grep { $_->{kind} eq 'loss' } @records;
is(scalar @losses, 1, 'one loss record');
is($losses[0]{reason}, 'OVERWRITTEN', 'the reason is overwriting');
is($losses[0]{after_seq}, $last_before, 'the gap starts after the last captured seq');
my @samples = grep { $_->{kind} eq 'sample' } @records;
my ($first_after) = sort { $a <=> $b } grep { $_ > $last_before } map { $_->{seq} } @samples;
is($losses[0]{count}, $first_after - $last_before - 1,
    "the count is the exact gap ($losses[0]{count})");
ok($first_after >= $oldest, 'capture resumed at the oldest sample the ring had');
my %count;
$count{ $_->{seq} }++ for @samples;
is(scalar(grep { $_ > 1 } values %count), 0, 'no sample twice');
is(scalar(keys %count) + $losses[0]{count},
    (sort { $b <=> $a } keys %count)[0] - (sort { $a <=> $b } keys %count)[0] + 1,
    'captured plus lost covers every seq');

# The directory is then pointed at another server: its sequence numbers
# have nothing to do with the first one's, so the capture starts afresh.
my $other = new_qprof_node('other');
my ($rc, $out, $err) = run_qprof('collect', '--dsn', $other->connstr('postgres'),
    '--out', $dir, '--once', '--bpf', 'off');
is($rc, 0, 'collect from another server into the same directory') or diag $err;
like($err, qr/holds a capture of another server .* starts afresh/,
    'says the capture starts afresh');
my ($notice) = grep { $_->{kind} eq 'notice' } dump_records($dir);
like($notice->{text} // '', qr/another server/, 'and records it');
my @last = dump_records((sort glob("$dir/qprof-*.qprof"))[-1]);
my ($first_seq) = map { $_->{seq} } grep { $_->{kind} eq 'sample' } @last;
is($first_seq, 1, "the other server's samples from its first one");
$other->stop;

$node->stop;
done_testing();
