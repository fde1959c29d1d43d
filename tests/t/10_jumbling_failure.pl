# A statement whose jumbling fails (issue 26, defect 12). pg_qprof jumbles
# statements itself with compute_query_id = auto, turning the core's
# query_id_enabled on for the length of JumbleQuery. When JumbleQuery raises
# (its stack depth check), the flag must still be turned back off: left on,
# the core jumbles every later statement of the session itself, and reports
# query ids for statements pg_qprof would not have jumbled.
#
# A query tree deep enough to make JumbleQuery fail makes the analysis fail
# before it (both check the stack on the same tree). So gdb lowers the
# backend's stack limit when JumbleQuery is entered (assign_max_stack_depth,
# what SET max_stack_depth runs) and raises it back when the error is
# raised: the real JumbleQuery raises the real error, from its own check.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use File::Basename qw(dirname);
use IPC::Run;
use Time::HiRes qw(usleep);
use lib dirname(__FILE__);
use QprofNode;

my ($gdb) = grep { -x } map { "$_/gdb" } split /:/, $ENV{PATH};
# tests/install_deps.sh installs gdb: its absence is a broken setup
ok(defined $gdb, 'gdb is installed') or BAIL_OUT('gdb is missing');

my $node = new_node('jumbling_failure');
$node->init;
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION pg_qprof');
is($node->safe_psql('postgres', 'SHOW compute_query_id'),
    'auto', 'compute_query_id is auto: pg_qprof jumbles for itself');

# What the session reports as its query id with pg_qprof off: 0 unless the
# core jumbles statements itself.
my $observe = "SET pg_qprof.enabled = off;\n"
  . "SELECT 'query_id:' || coalesce(query_id, 0) FROM pg_stat_activity "
  . "WHERE pid = pg_backend_pid();\n";
like($node->safe_psql('postgres', $observe), qr/query_id:0$/,
    'a session that jumbled nothing yet: no query id with pg_qprof off');

# The session waits for an advisory lock, so gdb can attach first; the
# statement after the lock is the one whose jumbling fails.
my $locker = $node->background_psql('postgres');
$locker->query_safe('SELECT pg_advisory_lock(12)');
my ($out, $err) = ('', '');
my $session = IPC::Run::start(
    [ 'psql', '-XAt', '-d', $node->connstr('postgres'), '-c',
      'SELECT pg_advisory_lock(12) AS waiting_session', '-c',
      "SELECT 'jumbling fails' AS failing", '-c',
      "SELECT 'after the failure' AS next_statement", '-c', $observe ],
    '>', \$out, '2>', \$err);
$node->poll_query_until('postgres', q{
    SELECT count(*) = 1 FROM pg_stat_activity
     WHERE query LIKE '%waiting_session' AND wait_event_type = 'Lock'})
  or die 'the session does not wait for its lock';
my $pid = $node->safe_psql('postgres', q{
    SELECT pid FROM pg_stat_activity WHERE query LIKE '%waiting_session'
       AND wait_event_type = 'Lock'});

my $dir = PostgreSQL::Test::Utils::tempdir;
my ($ready, $raised) = ("$dir/ready", "$dir/raised");
open my $script, '>', "$dir/fail_jumbling.gdb" or die $!;
# $rdi: errstart's first argument, the level (ERROR is 21)
print $script <<"EOF";
set pagination off
set confirm off
handle all nostop noprint pass
break JumbleQuery
break errstart if \$rdi >= 21
disable 2
commands 1
  silent
  call (void) assign_max_stack_depth(0, (void *) 0)
  disable 1
  enable 2
  continue
end
commands 2
  silent
  bt 8
  call (void) assign_max_stack_depth(*(int *) &max_stack_depth, (void *) 0)
  disable 2
  shell touch $raised
  detach
  quit
end
shell touch $ready
continue
EOF
close $script;
my ($gdb_out, $gdb_err) = ('', '');
my $debugger = IPC::Run::start(
    [ $gdb, '-nx', '-batch', '-p', $pid, '-x', "$dir/fail_jumbling.gdb" ],
    '<', \undef, '>', \$gdb_out, '2>', \$gdb_err);

# Waits up to 60 s for `file` to exist.
sub wait_for_file {
    my ($file) = @_;
    for (1 .. 600) {
        return 1 if -e $file;
        usleep(100_000);
    }
    return 0;
}
ok(wait_for_file($ready), 'gdb attached with its breakpoints set')
  or diag "gdb: $gdb_out $gdb_err";
$locker->query_safe('SELECT pg_advisory_unlock(12)');
ok(wait_for_file($raised), 'the error was raised with the limit lowered')
  or diag "gdb: $gdb_out $gdb_err";
$debugger->finish;
$session->finish;
$locker->quit;

like($gdb_out, qr/in JumbleQuery/,
    'the error was raised inside JumbleQuery')
  or diag "gdb: $gdb_out";
like($err, qr/stack depth limit exceeded/,
    'the statement whose jumbling failed got the stack depth error');
like($out, qr/^after the failure$/m,
    'the session goes on: the next statement runs');
like($out, qr/query_id:0$/,
    'the core does not jumble the statements after the failure: '
      . 'query_id_enabled is off again')
  or diag "session: $out";

# pg_qprof goes on recording in that backend
my $recorded = $node->safe_psql('postgres', qq{
    SELECT count(*) FROM pg_qprof.samples
     WHERE pid = $pid AND query LIKE '%next_statement%'});
is($recorded, 1, 'the statement after the failure was recorded');

$node->stop;
done_testing();
