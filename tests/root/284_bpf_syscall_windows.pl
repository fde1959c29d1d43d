# `--bpf-syscalls sampled`: the system call programs are attached only in
# windows (here 0.5 s every 1.5 s), so that the machine's system calls stay
# on their fast path the rest of the time. A sample carries the system call
# fields only when its whole execution ran within one window, and then they
# are complete; the others carry the other kernel facts, without the system
# call fields (absent, not zero).
#
# Each statement reads the same file at its start and at its end, with a
# sleep between: a statement counted across a window's opening or closing
# would show one read instead of two.
use strict;
use warnings;
use File::Basename qw(dirname);
use lib dirname(__FILE__), dirname(__FILE__) . '/../bpf';
use File::Temp ();
use IPC::Run ();
use JSON::PP ();
use Test::More;
use Time::HiRes ();
use BpfTest;

my $qprof = qprof_collector();
my $node  = bpf_cluster('bpf_syscall_windows');
attach_bpf($node)->detach;    # skips, saying why, where BPF cannot load
my $dsn = sprintf 'host=%s port=%d user=postgres dbname=postgres',
  $node->dir, $node->port;
my $file_size = -s $node->data_dir . '/postgresql.conf';

my $capture = File::Temp::tempdir(CLEANUP => 1);
my ($collector, $collector_err) = start_collector($qprof, $dsn, $capture,
    '--bpf', 'on', '--bpf-syscalls', 'sampled',
    '--bpf-syscall-windows', '0.5/1.5', '--poll-seconds', '0.1');
my $collector_pid = $collector->{KIDS}[0]{PID};

# Whether the collector holds the raw sys_enter link now.
sub syscall_link_attached {
    for my $fdinfo (glob "/proc/$collector_pid/fdinfo/*") {
        open my $fh, '<', $fdinfo or next;
        local $/;
        my $text = <$fh> // '';
        return 1 if $text =~ /^tp_name:\s*sys_enter$/m;
    }
    return 0;
}

my $statements = 150;
my $read = q{length(pg_read_file('postgresql.conf'))};
my $script = join '',
  map { "SELECT $read, pg_sleep(0.04), $read;\n" } 1 .. $statements;
my $script_file = File::Temp->new(SUFFIX => '.sql');
print $script_file $script;
close $script_file;
my ($out, $err) = ('', '');
local $ENV{PGAPPNAME} = 'windowed_reads';
my $psql = IPC::Run::start([ $node->psql_command, '-f', "$script_file" ],
    '<', '/dev/null', '>', \$out, '2>', \$err);
my %link_seen = (0 => 0, 1 => 0);
my ($previous, $reopened) = (-1, 0);
while ($psql->pumpable) {
    my $attached = syscall_link_attached();
    $link_seen{$attached}++;
    $reopened++ if $attached && $previous == 0;
    $previous = $attached;
    Time::HiRes::sleep(0.05);
    $psql->pump_nb;
}
$psql->finish or die "psql: $err";
sleep 2;    # the collector's last polls
# The first window opens before the collector drops its capabilities; the
# next ones open without them.
open my $status, '<', "/proc/$collector_pid/status" or die "status: $!";
my ($cap_eff) = map { /^CapEff:\s*([0-9a-f]+)/ ? $1 : () } <$status>;
close $status;
$collector->signal('INT');
$collector->finish;

ok($link_seen{1}, "the system call programs were attached in windows "
      . "($link_seen{1} of the polls)");
ok($link_seen{0}, "and detached between them ($link_seen{0} of the polls)");

ok(!(hex($cap_eff) & ((1 << 38) | (1 << 39))),
    "the collector runs without CAP_PERFMON and CAP_BPF (CapEff $cap_eff)");
cmp_ok($reopened, '>=', 1,
    "and windows opened again after that ($reopened seen opening)");

my ($dump_out, $dump_err) = ('', '');
IPC::Run::run([ $qprof, 'dump', $capture ], '>', \$dump_out, '2>', \$dump_err)
  or die "qprof dump: $dump_err";
my @records = map { JSON::PP::decode_json($_) } split /\n/, $dump_out;
my ($header) = grep { $_->{kind} eq 'header' } @records;
is($header->{collector}{syscall_tracing}, 'sampled 0.5/1.5',
    'the capture says the system call fields are sampled, and how');
ok($header->{collector}{syscall_stats}, 'and that samples can have them');

my @reads = grep {
    ($_->{application_name} // '') eq 'windowed_reads'
      && ($_->{query} // $_->{query_text} // '') !~ /^SET/
} grep { $_->{kind} eq 'sample' } @records;
is(scalar(@reads), $statements, "all $statements statements were captured");
my @with    = grep { defined $_->{io}{read_syscalls} } @reads;
my @without = grep { !defined $_->{io}{read_syscalls} } @reads;
diag sprintf '%d of %d statements have the system call fields',
  scalar(@with), scalar(@reads);
cmp_ok(scalar(@with), '>=', 0.1 * $statements,
    'the statements within a window have the system call fields');
cmp_ok(scalar(@without), '>=', 0.3 * $statements,
    'the others do not');
is(scalar(grep { !defined $_->{io} } @reads), 0,
    'all have their other kernel facts');
is(scalar(grep { !defined $_->{io}{oncpu_ns} || !$_->{io}{offcpu_other_ns} }
          @without), 0,
    'including those without the system call fields (the sleep is off-CPU)');
my @partial = grep { ($_->{io}{read_bytes} // 0) < 2 * $file_size } @with;
is(scalar(@partial), 0,
    "each statement with the fields has both reads of the file "
      . "(2 x $file_size bytes)")
  or diag explain [ map { $_->{io} } @partial[ 0 .. 2 ] ];
cmp_ok($_->{io}{read_syscalls}, '>=', 2, 'and at least two read calls')
  for @with[ 0 .. 0 ];

done_testing();
