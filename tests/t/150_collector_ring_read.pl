# The collector reads the ring from the postmaster's memory when it may
# (`--ring-read memory`, chosen by `auto` here: the test runs as the
# server's OS user, with a superuser role) and through SQL otherwise. Both
# give the same samples; a sample rewritten while it is copied out of
# memory is never returned torn; a role that may not read the memory makes
# `auto` fall back to SQL, saying why, and `memory` fail.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../collector";
use IPC::Run;
use PostgreSQL::Test::Utils;
use Test::More;
use QprofCollectorTest;

my $node = new_qprof_node('ring_read', "pg_qprof.ring_size = 1\n");
my $tmp = PostgreSQL::Test::Utils::tempdir;

sub collect_once
{
    my ($dir, $dsn, @extra) = @_;
    return run_qprof('collect', '--dsn', $dsn // $node->connstr('postgres'),
        '--out', $dir, '--once', '--bpf', 'off', @extra);
}

# Varied samples: tags (the variable-length tail of a sample), a failure,
# nested statements, several applications.
$node->safe_psql('postgres', q{
    SET pg_qprof.track = 'all';
    CREATE FUNCTION nested_count() RETURNS bigint LANGUAGE sql
        AS 'SELECT count(*) FROM pg_class';
    SET application_name = 'ring_read_a';
    SELECT nested_count();
    SELECT 1 /* route='%2Fapi%2Fjobs',controller='jobs' */;
    SET application_name = 'ring_read_b';
    SELECT relname FROM pg_class ORDER BY relname LIMIT 5;
});
$node->psql('postgres', 'SELECT 1/0');

my ($rc, $out, $err) = collect_once("$tmp/memory", undef, '--ring-read', 'memory');
is($rc, 0, '--ring-read memory drains the ring') or diag $err;
is($err, '', 'and says nothing');
($rc, $out, $err) = collect_once("$tmp/sql", undef, '--ring-read', 'sql');
is($rc, 0, '--ring-read sql drains the ring') or diag $err;

# The second collector ran later: compare what both saw.
my @from_memory = dump_samples("$tmp/memory");
my %by_seq = map { ($_->{seq} => $_) } dump_samples("$tmp/sql");
my $last = $from_memory[-1]{seq};
my @from_sql = map { $by_seq{$_->{seq}} // {} } @from_memory;
cmp_ok(scalar @from_memory, '>', 10, 'samples read from memory (' . scalar(@from_memory) . ')');
is_deeply(\@from_sql, \@from_memory, "memory and SQL give the same samples, every field (seq 1-$last)");
ok((grep { ($_->{tags}{route} // '') eq '/api/jobs' } @from_memory), 'tags read from memory');
ok((grep { ($_->{sqlstate} // '') eq '22012' } @from_memory), 'the failure read from memory');
ok((grep { $_->{nesting_level} == 1 } @from_memory), 'nested statements read from memory');

# Writers lap the small ring while the collector copies slots out of the
# postmaster's memory: two statements whose fields differ everywhere (query,
# rows, tags at the end of the sample), so a torn copy would mix them.
my $capacity = $node->safe_psql('postgres', 'SELECT capacity FROM pg_qprof.status');
my %script = (
    a => "SELECT 1 FROM generate_series(1, 3) /* route='a' */;\n",
    b => "SELECT 1, 2, 3 FROM generate_series(1, 7) /* route='b' */;\n");
for my $name (keys %script)
{
    open my $fh, '>', "$tmp/$name.sql" or die $!;
    print $fh $script{$name};
    close $fh;
}
my $live_dir = "$tmp/live";
my ($cout, $cerr) = ('', '');
my $collector = IPC::Run::start(
    [ qprof_path(), 'collect', '--dsn', $node->connstr('postgres'), '--out', $live_dir,
        '--bpf', 'off', '--ring-read', 'memory', '--poll-seconds', '0.002', '--batch', '300' ],
    '>', \$cout, '2>', \$cerr, IPC::Run::timeout(300));
my $head_before = $node->safe_psql('postgres', 'SELECT head_seq FROM pg_qprof.status');
my ($bout, $berr) = ('', '');
IPC::Run::run(
    [ '/usr/lib/postgresql/15/bin/pgbench', '-n', '-h', $node->host, '-p', $node->port,
        '-c', '2', '-j', '2', '-t', '20000', '-f', "$tmp/a.sql", '-f', "$tmp/b.sql", 'postgres' ],
    '>', \$bout, '2>', \$berr)
  or die "pgbench: $berr";
my $head_after = $node->safe_psql('postgres', 'SELECT head_seq FROM pg_qprof.status');
sleep 1;
is(stop_collector($collector), 0, 'the live collector stopped cleanly') or diag $cerr;

my @records = dump_records($live_dir);
my @live = grep { $_->{kind} eq 'sample' && $_->{seq} > $head_before && $_->{seq} <= $head_after
      && ($_->{tags}{route} // '') =~ /^[ab]$/ } @records;
my %query_of;
my $torn = 0;
for my $s (@live)
{
    my $route = $s->{tags}{route} // '';
    my $rows = $route eq 'a' ? 3 : $route eq 'b' ? 7 : -1;
    $query_of{$route} //= $s->{queryid};
    $torn++ if $s->{rows} != $rows || $s->{queryid} ne $query_of{$route};
}
cmp_ok(scalar @live, '>', $capacity, "the collector read more than a ring's worth while it was written (" . scalar(@live) . ")");
is($torn, 0, 'no sample mixes two statements (query, rows and tags agree in every one)');
isnt($query_of{a}, $query_of{b}, 'the two statements have their own query ids');

my %seen;
$seen{ $_->{seq} }++ for grep { $_->{kind} eq 'sample' } @records;
is(scalar(grep { $_ > 1 } values %seen), 0, 'no sample twice');
my $lost = 0;
$lost += $_->{count} for grep { $_->{kind} eq 'loss' } @records;
my @seqs = sort { $a <=> $b } keys %seen;
is(scalar(@seqs) + $lost, $seqs[-1] - $seqs[0] + 1,
    "captured plus lost ($lost) covers every seq")
  or diag 'losses: ', join(' ', map { "$_->{after_seq}+$_->{count}" } grep { $_->{kind} eq 'loss' } @records),
  '; gaps: ', join(' ', map { "$seqs[$_-1]..$seqs[$_]" } grep { $seqs[$_] != $seqs[$_-1] + 1 } 1 .. $#seqs);

# A role that may read samples but is no superuser cannot be told where the
# ring is: `auto` falls back to SQL and says why, `memory` fails.
$node->safe_psql('postgres', 'CREATE ROLE ring_reader LOGIN; GRANT pg_read_all_stats TO ring_reader');
my $reader_dsn = $node->connstr('postgres') . ' user=ring_reader';
($rc, $out, $err) = collect_once("$tmp/reader", $reader_dsn);
is($rc, 0, 'auto, no superuser: collected') or diag $err;
like($err, qr/samples are read through SQL, not from the server's memory: the role is not a superuser/,
    'auto, no superuser: says it reads through SQL, and why');
cmp_ok(scalar(dump_samples("$tmp/reader")), '>', 10, 'auto, no superuser: samples captured through SQL');
($rc, $out, $err) = collect_once("$tmp/reader2", $reader_dsn, '--ring-read', 'memory');
is($rc, 2, '--ring-read memory, no superuser: exit 2');
like($err, qr/--ring-read memory: the role is not a superuser/, '--ring-read memory, no superuser: says why');
($rc, $out, $err) = collect_once("$tmp/reader3", undef, '--ring-read', 'disk');
is($rc, 1, 'a bad --ring-read: exit 1');
like($err, qr/--ring-read takes auto, memory or sql/, 'a bad --ring-read: says which values');

my ($denied) = $node->psql('postgres', 'SELECT * FROM pg_qprof.ring_memory()',
    extra_params => [ '-U', 'ring_reader' ]);
isnt($denied, 0, 'pg_qprof.ring_memory() is refused to a role that is not a superuser');

$node->stop;
done_testing();
