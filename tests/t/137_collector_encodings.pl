# A capture the collector writes is always readable by it (issue 26, defect
# 16): texts travel in UTF-8 (client_encoding UTF8 on every connection, the
# server converts), and bytes that are not UTF-8 (a SQL_ASCII database
# passes any through) are replaced by U+FFFD before they go into the
# capture's string fields. A tag of '%ff', a LATIN1 database and a raw 0xE9
# in a SQL_ASCII database: `qprof dump --check` passes with every sample.
use strict;
use warnings;
use utf8;
use FindBin;
use lib "$FindBin::Bin/../collector";
use PostgreSQL::Test::Utils;
use Test::More;
use QprofCollectorTest;

my $node = new_qprof_node('encodings');
$node->safe_psql('postgres', q{
    CREATE DATABASE latin1 ENCODING 'LATIN1' LC_COLLATE 'C' LC_CTYPE 'C'
        TEMPLATE template0;
    CREATE DATABASE ascii ENCODING 'SQL_ASCII' LC_COLLATE 'C' LC_CTYPE 'C'
        TEMPLATE template0;
});
$node->safe_psql($_, 'CREATE EXTENSION pg_qprof') for qw(latin1 ascii);

# The statements, each sent in its database's encoding.
$node->safe_psql('postgres', q{select 1 /*route='%ff'*/});
$node->safe_psql('postgres', q{select 2 /*route='%ff%fe',app='x'*/});
{
    # psql sends what it is given: LATIN1 bytes for the LATIN1 database
    no utf8;
    # (distinct shapes: one queryid, one text)
    $node->safe_psql('latin1', "SET client_encoding = 'LATIN1'; select 1, 2 as \"caf\xe9\"");
    $node->safe_psql('ascii', "select 1, 2, 3 as \"caf\xe9\"");
    $node->safe_psql('ascii', "select 2 /* route='\xe9\xff' */");
}
my $head = $node->safe_psql('postgres', 'SELECT head_seq FROM pg_qprof.status()');

# One capture from each database: the ring is the same, the texts come
# through each database's connection.
for my $db (qw(postgres latin1 ascii))
{
    my $dir = PostgreSQL::Test::Utils::tempdir . "/$db";
    my ($rc, $out, $err) = run_qprof('collect', '--dsn', $node->connstr($db),
        '--out', $dir, '--once', '--bpf', 'off');
    is($rc, 0, "$db: qprof collect") or diag $err;
    unlike($err, qr/invalid UTF-8/i, "$db: no invalid UTF-8 written");
    my ($check_rc, $check_out, $samples) = check_capture($dir);
    is($check_rc, 0, "$db: dump --check passes") or diag $check_out;
    unlike($check_out, qr/damage at/, "$db: no damage");
    my @seqs = sort { $a <=> $b } map { $_->{seq} } dump_samples($dir);
    ok($samples >= $head && @seqs == $samples && $seqs[0] == 1
          && $seqs[-1] == $samples,
        "$db: every sample is there (1 to $samples, ring head was $head)");

    my ($drc, $dump, $derr) = run_qprof('dump', $dir);
    is($drc, 0, "$db: dump reads it") or diag $derr;
    utf8::decode($dump) or fail("$db: the dump is UTF-8");
    if ($db eq 'latin1')
    {
        like($dump, qr/"select \$1, \$2 as \\"caf\x{e9}\\""/,
            'latin1: the LATIN1 text converted to UTF-8');
    }
    if ($db eq 'ascii')
    {
        like($dump, qr/"select \$1, \$2, \$3 as \\"caf\x{fffd}\\""/,
            'ascii: the byte SQL_ASCII passed through replaced by U+FFFD');
    }
}

$node->stop;
done_testing();
