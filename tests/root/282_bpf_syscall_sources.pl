# Where the system call fields come from. By default, from the trace events
# of the positional read/write calls and fsync (other system calls of the
# machine then pay only a bit test), reading their ids from tracefs, which
# is mounted for that moment when it is not mounted already; with the raw
# syscall tracepoints (`raw-syscalls`, `--bpf-syscalls raw`) the same
# executions get the same counts; and where no tracefs can be found or
# mounted, the loader falls back to the raw tracepoints and says why.
use strict;
use warnings;
use File::Basename qw(dirname);
use lib dirname(__FILE__), dirname(__FILE__) . '/../bpf';
use Test::More;
use BpfTest;

sub tracefs_mounts {
    open my $fh, '<', '/proc/self/mounts' or die "/proc/self/mounts: $!";
    return grep { (split ' ')[2] eq 'tracefs' } <$fh>;
}

my $node = bpf_cluster('bpf_sources', fsync => 'on');
my $mounts_before = join '', tracefs_mounts();

# The loader in a mount namespace of its own where no tracefs is mounted
# (empty file systems over the usual places) and /tmp is read-only, so that
# it cannot mount one either.
my @no_tracefs = (
    'unshare', '--mount', '--propagation', 'private', 'sh', '-c',
    'mount -t tmpfs none /sys/kernel/tracing && '
      . '{ ! [ -d /sys/kernel/debug ] || mount -t tmpfs none /sys/kernel/debug; } && '
      . 'mount --bind /tmp /tmp && mount -o remount,bind,ro /tmp && exec "$@"',
    'sh');
my %attach_options = (
    'per-call'     => [],
    'raw-syscalls' => [ syscalls => 'raw-syscalls' ],
    'fallback'     => [ wrap => \@no_tracefs ]);

for my $source ('per-call', 'raw-syscalls', 'fallback') {
    my $bpf = attach_bpf($node, @{ $attach_options{$source} });
    my $attached = join ', ', @{ $bpf->{attachments} };
    if ($source eq 'fallback') {
        like($attached,
            qr{tp_btf/sys_enter,sys_exit, as no tracefs mounted, and no directory to mount one},
            'fallback: without tracefs, the raw tracepoints, saying why');
        unlike($attached, qr{tracepoint/syscalls},
            'fallback: not the trace events');
    } elsif ($source eq 'per-call') {
        like($attached, qr{tracepoint/syscalls/sys_enter,sys_exit of pread64,},
            'per-call: the trace events of the file calls are attached');
        unlike($attached, qr{tp_btf/sys_enter},
            'per-call: not the raw syscall tracepoints');
        is(join('', tracefs_mounts()), $mounts_before,
            'per-call: no tracefs mount left behind');
    } else {
        like($attached, qr{tp_btf/sys_enter,sys_exit},
            'raw: the raw syscall tracepoints are attached');
        unlike($attached, qr{tracepoint/syscalls},
            'raw: not the trace events');
    }

    my $table = "scanned_" . ($source =~ s/-/_/gr);
    my $size  = create_table($node, $table, 24);    # 3x shared_buffers
    $node->psql("SELECT count(*) FROM $table", app => "scan_$table");
    my $scan = last_sample($node, "scan_$table");
    my $io   = io_of($bpf, $scan);
    diag sprintf '%s: scan %d read calls, %d bytes (table %d), %.1f ms',
      $source, $io->{read_calls}, $io->{read_bytes}, $size, $io->{read_ns} / 1e6;
    cmp_ok($io->{read_calls}, '>=', $scan->{shared_blks_read},
        "$source: a read call at least per block PostgreSQL read");
    cmp_ok($io->{read_bytes}, '>=', 0.9 * $size,
        "$source: the read calls carried the table");
    cmp_ok($io->{read_ns}, '>', 0, "$source: read latency measured");

    $node->psql("CREATE INDEX ${table}_id ON $table (id)",
        app => "index_$table");
    my $index = last_sample($node, "index_$table");
    $io = io_of($bpf, $index);
    my $index_size = $node->psql("SELECT pg_relation_size('${table}_id')");
    diag sprintf '%s: CREATE INDEX %d write calls, %d bytes (index %d), '
      . '%d fsyncs', $source, $io->{write_calls}, $io->{write_bytes},
      $index_size, $io->{fsync_calls};
    cmp_ok($io->{write_bytes}, '>=', 0.9 * $index_size,
        "$source: the write calls carried the index");
    cmp_ok($io->{write_ns}, '>', 0, "$source: write latency measured");
    cmp_ok($io->{fsync_calls}, '>=', 1, "$source: the index was fsynced");
    $bpf->detach;
}
is(join('', tracefs_mounts()), $mounts_before,
    'no tracefs mount left behind in the end');

done_testing();
