# The server restarts while qprof collect runs: the collector reconnects,
# records the new ring epoch and follows it; samples of both epochs are
# captured once. A collector started after another restart records the
# epoch change too.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../collector";
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(sleep time);
use QprofCollectorTest;

my $node = new_qprof_node('restart');
my $epoch1 = $node->safe_psql('postgres', 'SELECT epoch FROM pg_qprof.status');
my $dir = PostgreSQL::Test::Utils::tempdir . '/restart';
my $h = do
{
    # the collector's sessions, told apart by their application name
    local $ENV{PGAPPNAME} = 'collector120';
    start_collector($node, $dir, '--frame-seconds', '0.1');
};

# Waits until `app` has `n` SELECT samples in the capture.
sub wait_for_samples
{
    my ($app, $n) = @_;
    my $deadline = time + 60;
    while (time < $deadline)
    {
        my $got = 0;
        if (glob("$dir/qprof-*.qprof"))
        {
            $got = grep { $_->{application_name} eq $app && $_->{cmd} eq 'CMD_SELECT' }
              dump_samples($dir);
        }
        return $got if $got >= $n;
        sleep 0.2;
    }
    return 0;
}

$node->safe_psql('postgres', "SET application_name = 'before'; "
      . join(' ', map { "SELECT $_;" } 1 .. 20));
is(wait_for_samples('before', 20), 20, 'samples before the restart captured');

$node->restart;
my $epoch2 = $node->safe_psql('postgres', 'SELECT epoch FROM pg_qprof.status');
isnt($epoch2, $epoch1, 'the restart gave the ring a new epoch');
$node->safe_psql('postgres', "SET application_name = 'after'; "
      . join(' ', map { "SELECT $_;" } 1 .. 30));
is(wait_for_samples('after', 30), 30, 'samples after the restart captured');

# Its connections killed without a restart: same epoch, it carries on.
my $killed = $node->safe_psql('postgres', q{
    SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
     WHERE application_name = 'collector120'});
# Two when it reads the ring through SQL, one when from memory.
cmp_ok($killed, '>=', 1, "the collector's connections terminated ($killed)");
$node->safe_psql('postgres', "SET application_name = 'after_kill'; "
      . join(' ', map { "SELECT $_;" } 1 .. 10));
is(wait_for_samples('after_kill', 10), 10, 'samples after the lost connections captured');
is(stop_collector($h), 0, 'the collector ran through the restart');

my @records = dump_records($dir);
my @changes = grep { $_->{kind} eq 'epoch_change' } @records;
is(scalar @changes, 1, 'one epoch change recorded (none for lost connections)');
is($changes[0]{previous_epoch}, $epoch1, 'from the old epoch');
is($changes[0]{new_epoch}, $epoch2, 'to the new one');
my @samples = grep { $_->{kind} eq 'sample' } @records;
is(scalar(grep { $_->{application_name} eq 'before' && $_->{epoch} eq $epoch1 } @samples),
    21, 'the old epoch has the statements run before');
is(scalar(grep { $_->{application_name} eq 'after' && $_->{epoch} eq $epoch2 } @samples),
    31, 'the new epoch has the statements run after');
my %count;
$count{"$_->{epoch}/$_->{seq}"}++ for @samples;
is(scalar(grep { $_ > 1 } values %count), 0, 'no (epoch, seq) twice');
my @new_seqs = sort { $a <=> $b } map { $_->{seq} } grep { $_->{epoch} eq $epoch2 } @samples;
is($new_seqs[0], 1, 'the new epoch is followed from its first sample');
my ($rc, $out) = check_capture($dir);
is($rc, 0, 'the capture passes --check') or diag $out;

# Collector stopped, server restarted, collector started again.
$node->restart;
my $epoch3 = $node->safe_psql('postgres', 'SELECT epoch FROM pg_qprof.status');
my $err;
($rc, $out, $err) = run_qprof('collect', '--dsn', $node->connstr('postgres'),
    '--out', $dir, '--once', '--bpf', 'off');
is($rc, 0, 'collect --once after another restart') or diag $err;
@changes = grep { $_->{kind} eq 'epoch_change' } dump_records($dir);
is(scalar @changes, 2, 'the second epoch change is recorded at start');
is($changes[1]{previous_epoch}, $epoch2, 'from the epoch of the last run');
is($changes[1]{new_epoch}, $epoch3, 'to the current one');

$node->stop;
done_testing();
