# A huge statement is clipped before it is normalized (issue 26, defect 8):
# whatever its size, the text store allocates about what it can keep, and
# the statement succeeds. A statement of the largest size a simple Query
# message may carry (1 GB less a few bytes) used to be normalized whole into
# a buffer larger than PostgreSQL allocates, failing the statement. psql
# cannot send it without copying it several times: a small client of the
# wire protocol sends it from one buffer.
use strict;
use warnings;
use IO::Socket::UNIX;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use File::Basename qw(dirname);
use lib dirname(__FILE__);
use QprofNode;

# the longest query a Query message carries: its length word counts itself,
# the text and its NUL, and may be at most MaxAllocSize - 1 (0x3ffffffe)
my $statement_bytes = 0x3ffffffe - 4 - 1;

my $node = new_node('huge');
$node->init;
# The log must not copy the statement: PostgreSQL fails a statement of
# 1 GB that it has to log (the TAP clusters log every statement).
$node->append_conf(
    'postgresql.conf', q{
log_statement = none
log_min_error_statement = panic
});
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION pg_qprof');

# Reads one protocol message: (type, body).
sub read_message
{
    my ($sock) = @_;
    my $head = '';
    while (length($head) < 5)
    {
        my $n = sysread($sock, $head, 5 - length($head), length($head));
        die "connection closed: $!" unless $n;
    }
    my ($type, $len) = unpack('a N', $head);
    my $body = '';
    while (length($body) < $len - 4)
    {
        my $n = sysread($sock, $body, $len - 4 - length($body), length($body));
        die "connection closed: $!" unless $n;
    }
    return ($type, $body);
}

# Reads messages up to ReadyForQuery: the error message if one came, the
# count of data rows.
sub read_until_ready
{
    my ($sock) = @_;
    my ($error, $rows) = (undef, 0);
    for (;;)
    {
        my ($type, $body) = read_message($sock);
        $rows++ if $type eq 'D';
        if ($type eq 'E')
        {
            my %f = map { /^(.)(.*)$/s } grep { length } split /\0/, $body;
            $error = $f{M};
        }
        return ($error, $rows) if $type eq 'Z';
    }
}

# Sends `$$text_ref` as one simple Query on a new connection.
sub run_simple_query
{
    my ($text_ref) = @_;
    my $sock = IO::Socket::UNIX->new(
        Type => SOCK_STREAM,
        Peer => $node->host . '/.s.PGSQL.' . $node->port)
      or die "cannot connect: $!";
    my $params = "user\0" . getpwuid($<) . "\0database\0postgres\0\0";
    syswrite($sock, pack('N N', 8 + length($params), 196608) . $params);
    my ($error) = read_until_ready($sock);
    die "startup failed: $error" if defined $error;

    syswrite($sock, pack('a N', 'Q', 4 + length($$text_ref) + 1));
    my $offset = 0;
    while ($offset < length($$text_ref))
    {
        my $n = syswrite($sock, $$text_ref, 1 << 24, $offset);
        die "write failed: $!" unless defined $n;
        $offset += $n;
    }
    syswrite($sock, "\0");
    my @result = read_until_ready($sock);
    syswrite($sock, pack('a N', 'X', 4));
    close($sock);
    return @result;
}

# SELECT with two constants, then a comment that fills the rest.
my $head = 'SELECT 1 AS huge, 2 AS two /* ';
my $text = 'x' x $statement_bytes;
substr($text, 0, length($head)) = $head;
substr($text, -3) = ' */';

my ($error, $rows) = run_simple_query(\$text);
undef $text;
is($error, undef, 'a statement of 1 GB succeeds');
is($rows,  1,     'and returns its row');

my $longest = $node->safe_psql('postgres',
    q{SELECT pg_size_bytes(current_setting('pg_qprof.query_texts_size')) / 4});
my $stored = $node->safe_psql('postgres',
    q{SELECT octet_length(query), left(query, 40) FROM pg_qprof.queries
       WHERE query LIKE 'SELECT $1 AS huge, $2 AS two /* xx%'});
my ($len, $start) = split /\|/, $stored;
ok(defined $len && $len > 0 && $len <= $longest,
    "its text is kept, clipped to a quarter of the store ($stored)");
is($start, 'SELECT $1 AS huge, $2 AS two /* xxxxxxxx',
    'normalized, with the comment after the last constant');
cmp_ok(
    $node->safe_psql('postgres',
        'SELECT query_texts_truncated FROM pg_qprof.store_status()'),
    '>=', 1,
    'counted as truncated');

$node->stop;
done_testing();
