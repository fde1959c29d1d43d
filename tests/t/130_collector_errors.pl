# qprof collect says clearly what is wrong and exits non-zero: a bad
# connection string, a server that does not answer, a role without the
# right to read samples, a database without the extension, bad options.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../collector";
use PostgreSQL::Test::Utils;
use Test::More;
use QprofCollectorTest;

my $node = new_qprof_node('errors');
my $out = PostgreSQL::Test::Utils::tempdir . '/out';

sub collect
{
    my ($dsn, @extra) = @_;
    return run_qprof('collect', '--dsn', $dsn, '--out', $out, '--once',
        '--bpf', 'off', @extra);
}

my ($rc, $stdout, $err) = collect('host=/nonexistent port=x = y');
is($rc, 2, 'malformed conninfo: exit 2');
like($err, qr/invalid connection string/, 'malformed conninfo: said so');

($rc, $stdout, $err) = collect('host=/nonexistent-dir port=1 dbname=postgres');
is($rc, 2, 'no server: exit 2');
like($err, qr/cannot connect to the server: .*nonexistent-dir/s,
    'no server: said so, with the cause');

$node->safe_psql('postgres', 'CREATE ROLE plain LOGIN');
($rc, $stdout, $err) = collect($node->connstr('postgres') . ' user=plain');
is($rc, 2, 'role without rights: exit 2');
like($err, qr/role "plain" may not read samples: grant it pg_read_all_stats/,
    'role without rights: said so, with the fix');

$node->safe_psql('postgres', 'GRANT pg_read_all_stats TO plain');
($rc, $stdout, $err) = collect($node->connstr('postgres') . ' user=plain');
is($rc, 0, 'with pg_read_all_stats the same role may collect') or diag $err;

$node->safe_psql('postgres', 'CREATE DATABASE noext');
($rc, $stdout, $err) = collect($node->connstr('noext'));
is($rc, 2, 'extension missing: exit 2');
like($err, qr/extension pg_qprof is not installed in database "noext"/,
    'extension missing: said so');

($rc, $stdout, $err) = run_qprof('collect', '--dsn', $node->connstr('postgres'));
is($rc, 1, 'neither --out nor --stdout: usage error');
like($err, qr/give either --out DIR or --stdout/, 'usage error explained');
($rc, $stdout, $err) = run_qprof('collect', '--dsn', $node->connstr('postgres'),
    '--out', $out, '--bpf', 'maybe');
is($rc, 1, 'bad --bpf value: usage error');
for my $windows ('2', '2/1', '0.01/1', 'x/20', '2/20s') {
    ($rc, $stdout, $err) = run_qprof('collect', '--dsn',
        $node->connstr('postgres'), '--out', $out,
        '--bpf-syscalls', 'sampled', '--bpf-syscall-windows', $windows);
    is($rc, 1, "--bpf-syscall-windows $windows: usage error");
    like($err, qr{--bpf-syscall-windows takes SECONDS/EVERY_SECONDS},
        "--bpf-syscall-windows $windows: says what it takes");
}
for my $syscalls ('on', 'off') {
    ($rc, $stdout, $err) = run_qprof('collect', '--dsn',
        $node->connstr('postgres'), '--out', $out,
        '--bpf-syscalls', $syscalls, '--bpf-syscall-windows', '2/20');
    is($rc, 1, "--bpf-syscall-windows with --bpf-syscalls $syscalls: "
          . 'usage error');
    like($err,
        qr/--bpf-syscall-windows goes with --bpf-syscalls sampled .* or raw/,
        'and says with which');
}
for my $entries ('63', '2097153', '-1', '1e4', '100x', '') {
    ($rc, $stdout, $err) = run_qprof('collect', '--dsn',
        $node->connstr('postgres'), '--out', $out,
        '--bpf-map-entries', $entries);
    is($rc, 1, "--bpf-map-entries '$entries': usage error");
    like($err, qr/--bpf-map-entries takes a whole number from 64 to 2097152/,
        "--bpf-map-entries '$entries': says what it takes");
}
($rc, $stdout, $err) = run_qprof('collect', '--dsn', $node->connstr('postgres'),
    '--out', $out, '--bpf', 'off', '--bpf-map-entries', '100000');
is($rc, 1, '--bpf-map-entries with --bpf off: usage error');
like($err, qr/--bpf-map-entries goes with --bpf auto or on/, 'and says so');
($rc, $stdout, $err) = run_qprof('collect', '--dsn', $node->connstr('postgres'),
    '--out', $out, '--bpf-syscalls', 'sometimes');
is($rc, 1, 'bad --bpf-syscalls value: usage error');
like($err, qr/--bpf-syscalls takes on, raw, sampled or off/, 'and says so');
($rc, $stdout, $err) = run_qprof('frobnicate');
is($rc, 1, 'unknown command: usage error');
($rc, $stdout, $err) = run_qprof('dump', '/nonexistent/file.qprof');
is($rc, 3, 'dump of a missing file: exit 3');
like($err, qr/cannot read \/nonexistent\/file\.qprof/, 'and says which');

# --bpf on as an unprivileged user: BPF cannot load, and that is an error;
# --bpf auto says it once and captures without I/O stats.
($rc, $stdout, $err) = run_qprof('collect', '--dsn', $node->connstr('postgres'),
    '--out', $out, '--once', '--bpf', 'on');
is($rc, 2, '--bpf on without BPF: exit 2');
like($err, qr/BPF I\/O attribution unavailable/, '--bpf on: says why');
($rc, $stdout, $err) = run_qprof('collect', '--dsn', $node->connstr('postgres'),
    '--out', $out, '--once', '--bpf', 'auto');
is($rc, 0, '--bpf auto without BPF still captures') or diag $err;
my @notices = $err =~ /BPF I\/O attribution unavailable/g;
is(scalar @notices, 1, '--bpf auto says so once');
my @samples = dump_samples($out);
ok(@samples > 0, 'samples were captured');
my ($io_line) = grep { /"kind":"sample".*"io":/ } split /\n/, (run_qprof('dump', $out))[1];
ok(!defined $io_line, 'without BPF samples carry no io (absent, not zero)');

$node->stop;
done_testing();
