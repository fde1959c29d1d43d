# SoakWire — a minimal client of PostgreSQL's frontend/backend protocol
# (version 3) over the Unix socket, for what libpq and psql cannot send: an
# Execute with a row limit on a named portal left open, then more messages
# in the same transaction. Trust authentication only (the test clusters').
#
#   my $c = SoakWire->connect($socket_dir, $port, $user, $dbname, $app);
#   my $r = $c->run(Q('BEGIN'));
#   $r = $c->run(P('', 'SELECT ...'), B('p1', ''), E('p1', 1), S());
#   $r->{suspended}, $r->{rows}, $r->{sqlstates}, $r->{status}
#
# run() sends the messages, then reads until the ReadyForQuery that ends
# each of them (one per Sync or Query). A lost connection dies with
# "connection lost".
package SoakWire;

use strict;
use warnings;
use IO::Socket::UNIX;
use Socket qw(SOCK_STREAM);

use Exporter 'import';
our @EXPORT = qw(P B E S Q C);

# Messages: Parse (unnamed parameters none), Bind (no parameters, text
# results), Execute (row limit, 0 = all), Sync, simple Query, Close portal.
sub message { my ($type, $body) = @_; return $type . pack('N', 4 + length $body) . $body }
sub P { my ($stmt, $sql) = @_; return message('P', "$stmt\0$sql\0" . pack('n', 0)) }
sub B { my ($portal, $stmt) = @_; return message('B', "$portal\0$stmt\0" . pack('nnn', 0, 0, 0)) }
sub E { my ($portal, $max_rows) = @_; return message('E', "$portal\0" . pack('N', $max_rows)) }
sub S { return message('S', '') }
sub Q { my ($sql) = @_; return message('Q', "$sql\0") }
sub C { my ($portal) = @_; return message('C', "P$portal\0") }

# A connection, or undef with $@ set when the server refuses it.
sub connect
{
    my ($class, $socket_dir, $port, $user, $dbname, $app) = @_;
    my $socket = IO::Socket::UNIX->new(
        Type => SOCK_STREAM,
        Peer => "$socket_dir/.s.PGSQL.$port");
    unless ($socket)
    {
        $@ = "cannot connect: $!";
        return undef;
    }
    my $self = bless { socket => $socket }, $class;
    my $params = "user\0$user\0database\0$dbname\0application_name\0$app\0\0";
    my $body = pack('N', 196608) . $params;
    my $ok = eval {
        $self->send(pack('N', 4 + length $body) . $body);
        my $r = $self->read_until_ready;
        die "refused: @{ $r->{sqlstates} }" if @{ $r->{sqlstates} };
        1;
    };
    return $self if $ok;
    $@ = "startup: $@";
    return undef;
}

sub send
{
    my ($self, $bytes) = @_;
    my $off = 0;
    while ($off < length $bytes)
    {
        my $n = syswrite($self->{socket}, $bytes, length($bytes) - $off, $off);
        die "connection lost (write: $!)\n" unless defined $n && $n > 0;
        $off += $n;
    }
}

sub read_exactly
{
    my ($self, $n) = @_;
    my $buf = '';
    while (length $buf < $n)
    {
        my $got = sysread($self->{socket}, $buf, $n - length $buf, length $buf);
        die "connection lost (read: " . ($got // $!) . ")\n" unless $got;
    }
    return $buf;
}

# Reads messages up to ReadyForQuery: rows counted, portals suspended,
# SQLSTATEs of the errors, and the transaction status (I, T or E).
sub read_until_ready
{
    my ($self) = @_;
    my %r = (rows => 0, suspended => 0, sqlstates => [], messages => []);
    while (1)
    {
        my ($type, $len) = unpack('a N', $self->read_exactly(5));
        my $body = $len > 4 ? $self->read_exactly($len - 4) : '';
        if ($type eq 'R')
        {
            my $code = unpack('N', $body);
            die "authentication $code is not supported\n" if $code != 0;
        }
        elsif ($type eq 'E')
        {
            my %fields = map { /^(.)(.*)$/s } grep { length } split /\0/, $body;
            push @{ $r{sqlstates} }, $fields{C} // '?';
            push @{ $r{messages} }, $fields{M} // '';
            # a FATAL error ends the session: nothing more will come
            die "connection lost (FATAL $fields{C}: $fields{M})\n"
              if ($fields{S} // '') =~ /^(FATAL|PANIC)$/;
        }
        elsif ($type eq 'D') { $r{rows}++ }
        elsif ($type eq 's') { $r{suspended}++ }
        elsif ($type eq 'Z')
        {
            $r{status} = $body;
            return \%r;
        }
    }
}

# Sends the messages, then reads up to the ReadyForQuery of each Sync and
# simple Query among them; the results are merged, the status is the last.
sub run
{
    my ($self, @messages) = @_;
    $self->send(join '', @messages);
    my $readies = grep { /^[QS]/ } @messages;
    my %r = (rows => 0, suspended => 0, sqlstates => [], messages => []);
    for (1 .. $readies)
    {
        my $one = $self->read_until_ready;
        $r{$_} += $one->{$_} for qw(rows suspended);
        push @{ $r{$_} }, @{ $one->{$_} } for qw(sqlstates messages);
        $r{status} = $one->{status};
    }
    return \%r;
}

sub close
{
    my ($self) = @_;
    eval { $self->send(message('X', '')) };
    close $self->{socket};
}

1;
