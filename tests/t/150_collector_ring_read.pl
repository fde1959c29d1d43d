# Where the collector may not map the ring from the postmaster's memory it
# reads it through SQL: `auto` captures all the same, without a word (the
# samples are the same), and `--ring-read memory` fails with the reason. Here the
# collector runs as the server's OS user, without root's capabilities, and
# also with a role that is not a superuser (the ring's location is only
# given to superusers). The memory path itself is tested as root
# (tests/root/155_collector_ring_memory.pl).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../collector";
use PostgreSQL::Test::Utils;
use Test::More;
use QprofCollectorTest;

my $node = new_qprof_node('ring_read');
my $tmp = PostgreSQL::Test::Utils::tempdir;
$node->safe_psql('postgres', "SET application_name = 'ring_read'; "
      . join(' ', map { "SELECT $_;" } 1 .. 20));
$node->safe_psql('postgres', 'CREATE ROLE ring_reader LOGIN; GRANT pg_read_all_stats TO ring_reader');
my $reader_dsn = $node->connstr('postgres') . ' user=ring_reader';

sub collect_once
{
    my ($dir, $dsn, @extra) = @_;
    return run_qprof('collect', '--dsn', $dsn, '--out', $dir, '--once', '--bpf', 'off', @extra);
}

# The SET and the 20 SELECTs of application ring_read.
sub captured
{
    my ($dir) = @_;
    return scalar grep { $_->{application_name} eq 'ring_read' } dump_samples($dir);
}

my ($rc, $out, $err) = collect_once("$tmp/auto", $node->connstr('postgres'));
is($rc, 0, 'auto, without the capabilities: collected') or diag $err;
is($err, '', 'auto, without the capabilities: quiet');
is(captured("$tmp/auto"), 21, 'auto, without the capabilities: every sample captured');

($rc, $out, $err) = collect_once("$tmp/memory", $node->connstr('postgres'), '--ring-read', 'memory');
is($rc, 2, '--ring-read memory, without the capabilities: exit 2');
like($err, qr/--ring-read memory: this process may not open the postmaster's memory \(pid \d+; root may: [^)]*\): permission denied/,
    '--ring-read memory, without the capabilities: says why');

($rc, $out, $err) = collect_once("$tmp/sql", $node->connstr('postgres'), '--ring-read', 'sql');
is($rc, 0, '--ring-read sql: collected') or diag $err;
is($err, '', '--ring-read sql: nothing to say');
is(captured("$tmp/sql"), 21, '--ring-read sql: every sample captured');

($rc, $out, $err) = collect_once("$tmp/reader", $reader_dsn);
is($rc, 0, 'auto, no superuser: collected') or diag $err;
is($err, '', 'auto, no superuser: quiet');
is(captured("$tmp/reader"), 21, 'auto, no superuser: every sample captured');
($rc, $out, $err) = collect_once("$tmp/reader2", $reader_dsn, '--ring-read', 'memory');
is($rc, 2, '--ring-read memory, no superuser: exit 2');
like($err, qr/--ring-read memory: the role is not a superuser/, '--ring-read memory, no superuser: says why');

($rc, $out, $err) = collect_once("$tmp/bad", $node->connstr('postgres'), '--ring-read', 'disk');
is($rc, 1, 'a bad --ring-read: exit 1');
like($err, qr/--ring-read takes auto, memory or sql/, 'a bad --ring-read: says which values');

my ($denied) = $node->psql('postgres', 'SELECT * FROM pg_qprof.ring_memory()',
    extra_params => [ '-U', 'ring_reader' ]);
isnt($denied, 0, 'pg_qprof.ring_memory() is refused to a role that is not a superuser');

$node->stop;
done_testing();
