# The CPU the BPF programs credit to the first statement of a new session
# beyond its planning and execution times, for several builds of the
# extension side by side (tests/root/210's "two statements in one message":
# the first, then a second whose analysis waits for a lock, so that the
# first's last slice is settled at that wait). That excess is the time
# between the end of the planning and the start of the execution, which
# PostgreSQL counts in neither; on a session's first statement it holds the
# page faults of whatever the backend touches there for the first time.
#
#   perl tests/bpf/first_statement_cpu.pl \
#       ROUNDS SESSIONS BUILD_DIR...
#
# A BUILD_DIR holds a built pg_qprof.so and pg_qprof--1.0.sql (the top of a
# worktree after `make`): nothing is installed. Each round starts a cluster
# for each build in turn (the server preloads that directory's library, its
# functions are created from that directory's script) and runs SESSIONS new
# sessions in it. NO_ASLR=1 starts every server with address randomization
# off, so that the server's binary has the same layout in every cluster
# (which of its code pages an earlier page fault already mapped depends on
# it). Prints, per build, the excess of each session in µs and its
# quantiles. As root, with bpf/build/qprof_bpf_dump built (make -C bpf).
use strict;
use warnings;
use File::Basename qw(dirname);
use lib dirname(__FILE__), dirname(__FILE__) . '/../root';
use IPC::Run ();
use Time::HiRes ();
use RootCluster;
use BpfDump;

my ($rounds, $sessions, @builds) = @ARGV;
die "usage: $0 ROUNDS SESSIONS BUILD_DIR...\n"
  unless $rounds && $sessions && @builds;
for my $build (@builds) {
    die "$build: no pg_qprof.so or pg_qprof--1.0.sql (make)\n"
      unless -f "$build/pg_qprof.so" && -f "$build/pg_qprof--1.0.sql";
}

my $pg_ctl = ($ENV{PGBIN} // '/usr/lib/postgresql/15/bin') . '/pg_ctl';

sub start_cluster {
    my ($build) = @_;
    my $node = RootCluster->new('first_statement', settings => {
        shared_preload_libraries => 'pg_qprof',
        # found first in the build's directory, also by the wait sampler's
        # worker, which loads the library by its name
        dynamic_library_path => "$build:\$libdir",
        shared_buffers => '8MB',
        max_parallel_workers_per_gather => 0 });
    if ($ENV{NO_ASLR}) {
        my ($out, $err) = ('', '');
        IPC::Run::run([ 'runuser', '-u', 'postgres', '--', 'setarch',
                'x86_64', '-R', $pg_ctl, '-D', $node->data_dir, '-l',
                $node->dir . '/server.log', '-w', 'start' ],
            '<', \undef, '>', \$out, '2>', \$err)
          or die "pg_ctl start: $err$out";
        $node->{running} = 1;
    } else {
        $node->start;
    }
    # the install script, with the build's library for MODULE_PATHNAME
    open my $fh, '<', "$build/pg_qprof--1.0.sql" or die "$build: $!";
    my $script = do { local $/; <$fh> };
    $script =~ s/^\\echo.*$//m;
    $script =~ s/MODULE_PATHNAME/$build\/pg_qprof/g;
    $node->psql("BEGIN;\n$script\nCOMMIT;");
    $node->psql('CREATE TABLE locked_after (x int)');
    return $node;
}

# The excess (µs) of the first statement of one new session, or undef when
# the BPF programs credited it nothing (switched out before its end).
sub first_statement_excess {
    my ($node, $bpf, $app) = @_;
    my $holder = $node->background_psql(
        'BEGIN; LOCK TABLE locked_after IN ACCESS EXCLUSIVE MODE; '
          . 'SELECT pg_sleep(0.5); COMMIT', app => 'lock_holder');
    my $deadline = time + 30;
    until ($node->psql("SELECT count(*) FROM pg_locks WHERE relation = "
              . "'locked_after'::regclass AND granted") > 0) {
        die 'the lock holder did not take its lock' if time > $deadline;
        Time::HiRes::sleep(0.01);
    }
    my $constants = join ',', 1 .. 100_000;
    $node->psql("SELECT 1 AS first_of_two \\; WITH heavy AS (SELECT 1 AS n "
          . "WHERE 1 IN ($constants)) SELECT * FROM heavy, locked_after;",
        app => $app);
    $node->finish_psql($holder);
    my ($pid, $exec_id, $plan_ms, $exec_ms) = split /\|/, $node->psql(
        'SELECT pid, exec_id, plan_time_ms, exec_time_ms FROM pg_qprof.samples '
          . "WHERE application_name = '$app' AND nesting_level = 0 "
          . 'ORDER BY seq LIMIT 1');
    my $io = $bpf->take([ [ $pid, $exec_id ] ])->{"$pid:$exec_id"};
    return undef unless $io && $io->{oncpu_ns} > 0;
    return ($io->{oncpu_ns} - ($plan_ms + $exec_ms) * 1e6) / 1e3;
}

my (%excess, %uncredited);
for my $round (1 .. $rounds) {
    for my $build (@builds) {
        my $node = start_cluster($build);
        my ($postmaster, $word, $slots) =
          split /\|/, $node->psql('SELECT * FROM pg_qprof.exec_word()');
        my $bpf = BpfDump->attach($postmaster, $word, word_slots => $slots);
        die "BPF cannot be loaded here: $bpf->{unavailable}\n"
          if $bpf->{unavailable};
        for my $session (1 .. $sessions) {
            my $excess = first_statement_excess($node, $bpf,
                "first_statement_${round}_$session");
            if (defined $excess) {
                push @{ $excess{$build} }, $excess;
            } else {
                $uncredited{$build}++;
            }
        }
        $bpf->detach;
        $node->stop;
    }
}

for my $build (@builds) {
    my @runs   = @{ $excess{$build} // [] };
    my @sorted = sort { $a <=> $b } @runs;
    next unless @sorted;
    my $at = sub { $sorted[ int($_[0] * $#sorted + 0.5) ] };
    printf "%s: %d sessions (%d credited nothing): excess µs min %.1f, "
      . "p10 %.1f, median %.1f, p90 %.1f, max %.1f\n", $build, scalar @runs,
      $uncredited{$build} // 0, $sorted[0], $at->(0.1), $at->(0.5),
      $at->(0.9), $sorted[-1];
    print '  ', join(' ', map { sprintf '%.0f', $_ } @runs), "\n";
}
