# The ring's epoch changes when shared memory is re-created (restart, crash
# recovery) and sequence numbers start again from 1; CREATE EXTENSION fails
# with a hint when the library is not preloaded.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use File::Basename qw(dirname);
use lib dirname(__FILE__);
use QprofNode;

my $node = new_node('epoch');
$node->init;
$node->append_conf('postgresql.conf', "restart_after_crash = on\n");
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION pg_qprof');

my $status_sql =
  'SELECT epoch, head_seq, oldest_seq, samples_written FROM pg_qprof.status';

$node->safe_psql('postgres', "SELECT $_ AS before_restart") for 1 .. 20;
my ($epoch1, $head1, $oldest1, $written1) =
  split /\|/, $node->safe_psql('postgres', $status_sql);
ok($head1 >= 20, "statements recorded before the restart (head $head1)");
is($oldest1, 1, 'sequence numbers start at 1');
is($head1, $written1, 'head_seq equals samples_written');

# restart: new shared memory, new epoch, sequence numbers from 1 again
$node->restart;
my ($epoch2, $head2, $oldest2, $written2) =
  split /\|/, $node->safe_psql('postgres', $status_sql);
isnt($epoch2, $epoch1, "restart gives a new epoch ($epoch1 -> $epoch2)");
ok($head2 < $head1, "sequence numbers start again ($head1 -> $head2)");
is($head2, $written2, 'head_seq equals samples_written after the restart');
is( $node->safe_psql(
        'postgres',
        q{SELECT count(*) FROM pg_qprof.samples
           WHERE query LIKE '%before_restart%'
              OR start_time < pg_postmaster_start_time()}),
    '0',
    'no sample of the previous epoch is visible');
$node->safe_psql('postgres', 'SELECT 1 AS after_restart');
is( $node->safe_psql(
        'postgres',
        q{SELECT count(*) > 0,
                 count(*) FILTER (WHERE start_time < pg_postmaster_start_time())
            FROM pg_qprof.read_samples(0, 100000)}),
    't|0',
    'read_samples returns only samples of the new epoch');

# crash recovery: a backend killed with SIGKILL makes the postmaster
# re-create shared memory
my $victim = $node->background_psql('postgres', on_error_stop => 0);
my $victim_pid = $victim->query_safe('SELECT pg_backend_pid()');
chomp $victim_pid;
kill 'KILL', $victim_pid;
eval { $victim->quit };
$node->poll_query_until('postgres', 'SELECT 1', '1')
  or die 'server did not come back after the crash';
my ($epoch3) = split /\|/, $node->safe_psql('postgres', $status_sql);
isnt($epoch3, $epoch2, "crash recovery gives a new epoch ($epoch2 -> $epoch3)");
isnt($epoch3, $epoch1, 'and not an earlier one');
$node->stop;

# not preloaded: CREATE EXTENSION fails and says why
my $plain = new_node('not_preloaded');
$plain->init;
$plain->append_conf('postgresql.conf', "shared_preload_libraries = ''\n");
$plain->start;
my ($ret, $stdout, $stderr) =
  $plain->psql('postgres', 'CREATE EXTENSION pg_qprof');
isnt($ret, 0, 'CREATE EXTENSION fails without preloading');
like($stderr, qr/shared_preload_libraries/,
    'the error names shared_preload_libraries');
is($plain->safe_psql('postgres',
        q{SELECT count(*) FROM pg_extension WHERE extname = 'pg_qprof'}),
    '0', 'the extension is not installed');
$plain->stop;

done_testing();
