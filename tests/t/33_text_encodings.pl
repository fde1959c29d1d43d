# Query texts keep the encoding of the database they were seen in and are
# converted to the reader's (issue 26, defect 6), as pg_stat_statements
# does, but a character the reader's encoding lacks becomes '?' instead of
# failing the read. Four databases: UTF8, LATIN1, WIN1251 (no direct
# conversion to or from LATIN1: through UTF-8) and SQL_ASCII (bytes of no
# known encoding: those not valid in the reader's encoding become '?'). Each
# runs `SELECT n AS "<name>"` with a name in its own encoding; every
# database then reads all four texts, through pg_qprof.queries and through
# pg_qprof.samples. Plans too, read through pg_qprof.plans.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use File::Basename qw(dirname);
use lib dirname(__FILE__);
use QprofNode;

my $node = new_node('encodings');
$node->init(extra => [ '--encoding=UTF8', '--locale=C' ]);
$node->start;

my %encoding_of = (
    postgres  => 'UTF8',
    latin1db  => 'LATIN1',
    win1251db => 'WIN1251',
    asciidb   => 'SQL_ASCII');
for my $db (grep { $_ ne 'postgres' } sort keys %encoding_of)
{
    $node->safe_psql('postgres',
            "CREATE DATABASE $db ENCODING '$encoding_of{$db}'"
          . " LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0");
}
$node->safe_psql($_, 'CREATE EXTENSION pg_qprof') for sort keys %encoding_of;

# The column name of each database's statement, as bytes of its encoding
# (the client sends them as they are: client_encoding is the database's).
my %name_bytes = (
    postgres  => "\xe6\x97\xa5\xe6\x9c\xac",    # 日本 in UTF-8
    latin1db  => "caf\xe9",                     # café in LATIN1
    win1251db => "\xcf\xf0\xe8",                # При in WIN1251
    asciidb   => "raw\xe9");                    # a byte of no encoding
for my $db (sort keys %name_bytes)
{
    $node->safe_psql($db, qq{SELECT 1 AS "$name_bytes{$db}"});
}

# What each reader must see, as UTF-8 bytes (convert_to() checks that the
# text is valid in the reader's encoding before converting it).
my %expected = (
    postgres => {
        postgres  => "\xe6\x97\xa5\xe6\x9c\xac",
        latin1db  => "caf\xc3\xa9",
        win1251db => "\xd0\x9f\xd1\x80\xd0\xb8",
        asciidb   => 'raw?'
    },
    latin1db => {
        postgres  => '??',
        latin1db  => "caf\xc3\xa9",
        win1251db => '???',
        asciidb   => "raw\xc3\xa9"
    },
    win1251db => {
        postgres  => '??',
        latin1db  => 'caf?',
        win1251db => "\xd0\x9f\xd1\x80\xd0\xb8",
        asciidb   => "raw\xd0\xb9"    # 0xE9 is a letter in WIN1251
    },
    asciidb => {%name_bytes});    # a SQL_ASCII reader gets the bytes

for my $reader (sort keys %expected)
{
    # the bytes of a SQL_ASCII reader's texts, unconverted
    my $as = $reader eq 'asciidb' ? 'SQL_ASCII' : 'UTF8';
    for my $view ('queries', 'samples')
    {
        my ($rc, $out, $err) = $node->psql(
            $reader, qq{
            SELECT DISTINCT d.datname,
                   encode(convert_to(q.query, '$as'), 'hex')
              FROM pg_qprof.$view q
              JOIN pg_catalog.pg_database d ON d.oid = q.dbid
             WHERE q.query LIKE 'SELECT \$1 AS %'
             ORDER BY 1});
        is($rc, 0, "$reader reads the texts of $view") or diag($err);
        my %got = map { split /\|/ } split /\n/, $out;
        for my $db (sort keys %name_bytes)
        {
            my $want = $expected{$reader}{$db};
            next unless defined $want;
            is( $got{$db},
                unpack('H*', qq{SELECT \$1 AS "$want"}),
                "$reader, $view: the text of $db in the reader's encoding");
        }
    }
}

# Plans name relations in their database's encoding: a LATIN1 table read
# from the UTF8 database, in text and in JSON.
$node->safe_psql('latin1db', qq{CREATE TABLE "caf\xe9" (id int);
                                SELECT * FROM "caf\xe9"});
for my $column ('plan_text', 'plan_json::text')
{
    is( $node->safe_psql(
            'postgres', qq{
            SELECT count(*) FROM pg_qprof.plans p
              JOIN pg_catalog.pg_database d ON d.oid = p.dbid
             WHERE d.datname = 'latin1db'
               AND encode(convert_to($column, 'UTF8'), 'hex') LIKE '%636166c3a9%'}),
        '1',
        "the LATIN1 table's name in the plan's $column, read in UTF-8");
}

$node->stop;
done_testing();
