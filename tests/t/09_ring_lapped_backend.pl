# A backend held inside its ring slot while other sessions lap the ring
# twice (issue 26, defect 3, as it was reproduced): gdb stops the backend
# right after ring_begin_write gave it its slot, before it stored anything
# there, and pgbench writes two and a half rings' worth of samples. When
# the held backend resumes, its stores must not land in a sample that a
# later writer published: its own seq has left the window, so no sample of
# it may be read back at all. Both writers that reached its slot meanwhile
# drop their samples, and every seq is counted once.
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

my $node = new_node('lapped_backend');
$node->init;
$node->append_conf('postgresql.conf', "pg_qprof.ring_size = 1\n");
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION pg_qprof');
my $capacity =
  $node->safe_psql('postgres', 'SELECT capacity FROM pg_qprof.status');

# The held statement waits for an advisory lock, so gdb can attach first.
my $locker = $node->background_psql('postgres');
$locker->query_safe('SELECT pg_advisory_lock(26)');
my ($held_out, $held_err) = ('', '');
my $held = IPC::Run::start(
    [ 'psql', '-XAtq', '-d', $node->connstr('postgres'),
      '-c', 'SELECT pg_advisory_lock(26) AS held_statement' ],
    '>', \$held_out, '2>', \$held_err);
$node->poll_query_until('postgres', q{
    SELECT count(*) = 1 FROM pg_stat_activity
     WHERE query LIKE '%held_statement' AND wait_event_type = 'Lock'})
  or die 'the held statement does not wait for its lock';
my $held_pid = $node->safe_psql('postgres', q{
    SELECT pid FROM pg_stat_activity WHERE query LIKE '%held_statement'
       AND wait_event_type = 'Lock'});

# gdb stops the backend when ring_begin_write returns, then waits for `go`
my $dir = PostgreSQL::Test::Utils::tempdir;
my ($ready, $hit, $go) = ("$dir/ready", "$dir/hit", "$dir/go");
open my $script, '>', "$dir/hold.gdb" or die $!;
print $script <<"EOF";
set pagination off
set confirm off
handle all nostop noprint pass
break qprof::ring_begin_write
shell touch $ready
continue
delete
finish
shell touch $hit
shell while [ ! -e $go ]; do sleep 0.1; done
detach
quit
EOF
close $script;
my ($gdb_out, $gdb_err) = ('', '');
my $debugger = IPC::Run::start(
    [ $gdb, '-nx', '-batch', '-p', $held_pid, '-x', "$dir/hold.gdb" ],
    '<', \undef, '>', \$gdb_out, '2>', \$gdb_err);

# Waits up to 60 s for `file` to exist.
sub wait_for_file
{
    my ($file) = @_;
    for (1 .. 600)
    {
        return 1 if -e $file;
        usleep(100_000);
    }
    return 0;
}
ok(wait_for_file($ready), 'gdb attached with its breakpoint set')
  or diag "gdb: $gdb_out $gdb_err";
$locker->query_safe('SELECT pg_advisory_unlock(26)');
ok(wait_for_file($hit), 'the held backend stopped inside its slot')
  or diag "gdb: $gdb_out $gdb_err";

# The held backend reserved its seq before this status read. Two and a
# half laps reach its slot twice (seq + capacity, seq + 2 capacity) and not
# a third time, so what took the slot last is still there to be read.
my $head_held =
  $node->safe_psql('postgres', 'SELECT head_seq FROM pg_qprof.status');
my $transactions = int(2.5 * $capacity);
$node->command_ok(
    [ 'pgbench', '-n', '-c', '1', '-t', $transactions, '-f',
      write_script("$dir/lap.sql", "SELECT 1 AS lap\n"), 'postgres' ],
    "pgbench laps the ring twice ($transactions statements, "
      . "$capacity slots)");

# the held backend resumes and finishes its statement
open my $touch, '>', $go or die $!;
close $touch;
$debugger->finish;
ok($held->finish, 'the held statement succeeded') or diag $held_err;
$locker->quit;

my ($written, $over, $dropped, $visible, $held_visible, $outside,
    $unordered) = split /\|/, $node->safe_psql('postgres', qq{
    SELECT s.samples_written, s.samples_overwritten, s.samples_dropped,
           r.visible, r.held, r.outside, r.unordered
      FROM pg_qprof.status s,
           (SELECT count(*) AS visible,
                   count(*) FILTER (WHERE pid = $held_pid) AS held,
                   count(*) FILTER (WHERE seq < st.oldest_seq
                                       OR seq > st.head_seq) AS outside,
                   count(*) FILTER (WHERE seq <= prev) AS unordered
              FROM (SELECT pid, seq, lag(seq) OVER () AS prev
                      FROM pg_qprof.read_samples(0, 100000)) x,
                   pg_qprof.status st) r});
note "held pid $held_pid, head $head_held when held; written $written, "
  . "overwritten $over, dropped $dropped, visible $visible, "
  . "held backend's samples visible $held_visible";
ok($written - $head_held >= 2 * $capacity + 1,
    'the ring went round twice while the backend was held');
is($held_visible, 0,
    "the held backend's stores are in no sample read back (its seq left "
      . 'the window)');
is($outside + $unordered, 0,
    'every sample read back has a seq of the window, in order');
cmp_ok($dropped, '>=', 2,
    'both writers that reached the held slot dropped their samples');
is($visible, $written - $over - $dropped,
    'visible = written - overwritten - dropped: every seq counted once');

# Writes a pgbench script; returns its path.
sub write_script
{
    my ($path, $text) = @_;
    open my $f, '>', $path or die $!;
    print $f $text;
    close $f;
    return $path;
}

$node->stop;
done_testing();
