# BpfTest — what the root BPF tests (tests/root/2*.pl) share: a cluster with
# pg_qprof preloaded, the BPF loader attached to it through
# pg_qprof.exec_word(), tables to read cold, the join of a sample with
# its kernel entry, and the samples of a capture `qprof collect` wrote.
package BpfTest;

use strict;
use warnings;
use Carp;
use File::Basename ();
use IPC::Run ();
use JSON::PP ();
use POSIX ();
use Test::More;
use Time::HiRes ();

use RootCluster;
use BpfDump;

use Exporter 'import';
our @EXPORT = qw(bpf_cluster attach_bpf create_table last_sample io_of
  page_size qprof_collector wait_for_capture_header start_collector
  capture_samples check_cold_scan_and_sleep);

sub page_size { POSIX::sysconf(POSIX::_SC_PAGESIZE) }

# A started cluster with pg_qprof preloaded and created.
sub bpf_cluster {
    my ($name, %settings) = @_;
    my $node = RootCluster->new($name,
        settings => {
            shared_preload_libraries => 'pg_qprof',
            shared_buffers           => '8MB',
            # one process per execution; 290 tests parallel workers
            max_parallel_workers_per_gather => 0,
            %settings
        });
    $node->start;
    $node->psql('CREATE EXTENSION pg_qprof');
    return $node;
}

# Attaches the BPF programs to `node`'s backends, with the word slot map the
# collector would use (word_slots => '' for none); skips the whole test when
# BPF cannot be loaded on this machine, saying why.
sub attach_bpf {
    my ($node, %opts) = @_;
    my ($postmaster_pid, $word_address, $slot_map_path) =
      split /\|/, $node->psql('SELECT * FROM pg_qprof.exec_word()');
    my $bpf = BpfDump->attach($postmaster_pid, $word_address,
        word_slots => $slot_map_path, %opts);
    if ($bpf->{unavailable}) {
        plan skip_all => "BPF cannot be loaded here: $bpf->{unavailable}";
        exit 0;
    }
    return $bpf;
}

# A table of about `mb` megabytes, vacuumed so that reading it writes
# nothing (hint bits set, all-visible), then dropped from the page cache.
# Returns its size in bytes.
sub create_table {
    my ($node, $table, $mb, %opts) = @_;
    # ~240 bytes a row with its header: about 4350 rows per MB
    my $rows = int($mb * 4350);
    $node->psql(
        "CREATE TABLE $table AS SELECT g AS id, repeat('x', 200) AS filler "
          . "FROM generate_series(1, $rows) g; VACUUM (FREEZE) $table",
        %opts);
    $node->drop_relation_from_page_cache($table, %opts);
    return $node->psql("SELECT pg_relation_size('$table')", %opts);
}

my @SAMPLE_COLUMNS = (
    [ seq            => 'seq' ],
    [ pid            => 'pid' ],
    [ exec_id        => 'exec_id' ],
    [ parent_exec_id => 'parent_exec_id' ],
    [ nesting_level  => 'nesting_level' ],
    [ plan_time_ms   => 'plan_time_ms' ],
    [ exec_time_ms   => 'exec_time_ms' ],
    [ start_epoch    => 'extract(epoch FROM start_time)' ],
    [ end_epoch      => 'extract(epoch FROM end_time)' ],
    [ shared_blks_hit  => 'shared_blks_hit' ],
    [ shared_blks_read => 'shared_blks_read' ],
    [ query          => 'query' ],
);

# The latest sample of the sessions named `app` (application_name) at
# nesting level `level` (0 unless given) whose query text contains `text`
# (when given), as a hash.
sub last_sample {
    my ($node, $app, $level, $text) = @_;
    $level //= 0;
    my $text_filter = defined $text ? " AND query LIKE '%$text%'" : '';
    my $cols = join ', ', map { $_->[1] } @SAMPLE_COLUMNS;
    my $row = $node->psql(
        "SELECT $cols FROM pg_qprof.samples "
          . "WHERE application_name = '$app' AND nesting_level = $level"
          . "$text_filter ORDER BY seq DESC LIMIT 1");
    croak "no sample for $app at level $level" if $row eq '';
    my %sample;
    @sample{ map { $_->[0] } @SAMPLE_COLUMNS } =
      split /\|/, $row, scalar @SAMPLE_COLUMNS;
    return \%sample;
}

# Takes the kernel entry of `sample` out of the map; an execution without
# entry had no kernel event, which reads as zeros.
sub io_of {
    my ($bpf, $sample) = @_;
    my $key = "$sample->{pid}:$sample->{exec_id}";
    my $io  = $bpf->take([ [ $sample->{pid}, $sample->{exec_id} ] ])->{$key};
    return $io if $io;
    return {
        map { ($_ => 0) }
          qw(read_calls read_bytes read_ns write_calls write_bytes write_ns
          fsync_calls fsync_ns page_cache_miss_pages readahead_pages
          block_requests block_bytes block_device_ns offcpu_io_ns
          offcpu_other_ns oncpu_ns)
    };
}

# The qprof binary the tests run: $QPROF, else the one on PATH, else the
# one built in collector/build. Skips the whole test when there is none.
sub qprof_collector {
    my $built = File::Basename::dirname(__FILE__) . '/../../collector/build/qprof';
    my $qprof = $ENV{QPROF}
      // (grep { -x } map({ "$_/qprof" } split(/:/, $ENV{PATH})), $built)[0];
    unless ($qprof && -x $qprof) {
        plan skip_all => 'no qprof collector built';
        exit 0;
    }
    return $qprof;
}

# Waits (at most a minute) until a collector writing into `dir` has
# written its first file's header: with --bpf on, the programs are then
# attached.
sub wait_for_capture_header {
    my ($dir) = @_;
    my $deadline = time + 60;
    until (grep { -s } glob("$dir/*.qprof")) {
        return 0 if time > $deadline;
        Time::HiRes::sleep(0.1);
    }
    return 1;
}

# Starts `qprof collect --dsn DSN --out DIR OPTIONS...` and waits until
# it has written its first file's header (with --bpf on, its programs are
# then attached). Returns the IPC::Run handle and a reference to the
# collector's stderr, complete once it has finished.
sub start_collector {
    my ($qprof, $dsn, $dir, @options) = @_;
    my ($out, $err) = ('', '');
    my $run = IPC::Run::start(
        [ $qprof, 'collect', '--dsn', $dsn, '--out', $dir, @options ],
        '<', '/dev/null', '>', \$out, '2>', \$err, IPC::Run::timeout(180));
    wait_for_capture_header($dir)
      or croak "qprof collect wrote no capture into $dir within a minute";
    return ($run, \$err);
}

# The kernel facts of two captured samples: a sequential scan of a cold
# table of `size` bytes and a pg_sleep(0.2).
sub check_cold_scan_and_sleep {
    my ($scan, $sleep, $size) = @_;
    cmp_ok($scan->{io}{page_cache_misses} // 0, '>=', 0.9 * $size / page_size(),
        'the cold scan\'s page-cache misses cover the table');
    cmp_ok($scan->{io}{block_bytes} // 0, '>=', 0.9 * $size,
        'its storage reads cover the table');
    cmp_ok($sleep->{io}{offcpu_other_ns} // 0, '>=', 0.19e9,
        'the pg_sleep(0.2) has its off-CPU time');
    is($sleep->{io}{block_requests} // -1, 0,
        'and zero where nothing happened');
}

# The samples in the capture directory `dir`, as `qprof dump` gives them
# (hashes), in order.
sub capture_samples {
    my ($qprof, $dir) = @_;
    my ($out, $err) = ('', '');
    IPC::Run::run([ $qprof, 'dump', $dir ], '>', \$out, '2>', \$err)
      or croak "qprof dump $dir: $err";
    return grep { $_->{kind} eq 'sample' }
      map { JSON::PP::decode_json($_) } split /\n/, $out;
}

1;
