# A small client of PostgreSQL's extended query protocol, for tests that
# must send what psql cannot: Execute with a row limit on a named portal,
# several portals open at once, Sync at chosen points.
#
#   my $c = QprofWire->connect($node, 'postgres');
#   $c->query('BEGIN');                       # simple query, waits for Z
#   $c->parse('', 'SELECT g FROM generate_series(1, 10) g');
#   $c->bind('p1', '');                       # portal p1 of the statement
#   $c->execute('p1', 1);                     # at most one row
#   my $r = $c->sync;                         # { rows, errors, status }
#
# Every request returns after ReadyForQuery ('Z'): errors are returned as
# SQLSTATE codes in $r->{errors}, never raised, so a test can check them.
package QprofWire;

use strict;
use warnings;
use IO::Socket::UNIX;
use IO::Socket::INET;

sub connect {
    my ($class, $node, $dbname, $user) = @_;
    $user //= getpwuid($<);
    my $host = $node->host;
    my $port = $node->port;
    my $sock;
    if ($host =~ m{^/}) {
        $sock = IO::Socket::UNIX->new(Peer => "$host/.s.PGSQL.$port",
            Type => IO::Socket::UNIX::SOCK_STREAM())
          or die "cannot connect to $host/.s.PGSQL.$port: $!";
    } else {
        $sock = IO::Socket::INET->new(PeerAddr => $host, PeerPort => $port,
            Proto => 'tcp')
          or die "cannot connect to $host:$port: $!";
    }
    binmode $sock;
    my $self = bless { sock => $sock }, $class;
    my $params = join('', map { "$_\0" } (user => $user, database => $dbname))
      . "\0";
    $self->_write(pack('NN', 8 + length($params), 196608) . $params);
    my $r = $self->_read_until_ready;
    die "startup failed: @{$r->{errors}}" if @{ $r->{errors} };
    return $self;
}

sub _write {
    my ($self, $bytes) = @_;
    my $off = 0;
    while ($off < length $bytes) {
        my $n = syswrite($self->{sock}, $bytes, length($bytes) - $off, $off);
        die "write failed: $!" unless defined $n;
        $off += $n;
    }
}

sub _message {
    my ($self, $type, $body) = @_;
    $self->_write($type . pack('N', 4 + length $body) . $body);
}

sub _read_exact {
    my ($self, $len) = @_;
    my $buf = '';
    while (length($buf) < $len) {
        my $n = sysread($self->{sock}, $buf, $len - length($buf), length $buf);
        die "connection closed by the server" unless $n;
    }
    return $buf;
}

# Reads messages until ReadyForQuery; collects data rows, errors (SQLSTATE)
# and command tags.
sub _read_until_ready {
    my ($self) = @_;
    my %r = (rows => 0, errors => [], tags => [], suspended => 0);
    while (1) {
        my ($type, $len) = unpack('aN', $self->_read_exact(5));
        my $body = $len > 4 ? $self->_read_exact($len - 4) : '';
        if ($type eq 'R') {
            my $code = unpack('N', $body);
            die "authentication method $code is not supported" if $code != 0;
        } elsif ($type eq 'D') {
            $r{rows}++;
        } elsif ($type eq 'C') {
            push @{ $r{tags} }, unpack('Z*', $body);
        } elsif ($type eq 's') {
            $r{suspended}++;
        } elsif ($type eq 'E') {
            my %f = map { substr($_, 0, 1) => substr($_, 1) }
              grep { length } split /\0/, $body;
            push @{ $r{errors} }, $f{C};
        } elsif ($type eq 'Z') {
            $r{status} = $body;
            return \%r;
        }
    }
}

# A simple query, waited for.
sub query {
    my ($self, $sql) = @_;
    $self->_message('Q', "$sql\0");
    return $self->_read_until_ready;
}

# Parse, Bind, Execute and Close send without waiting; sync waits.
sub parse {
    my ($self, $name, $sql) = @_;
    $self->_message('P', "$name\0$sql\0" . pack('n', 0));
}

sub bind {
    my ($self, $portal, $statement) = @_;
    $self->_message('B', "$portal\0$statement\0" . pack('nnn', 0, 0, 0));
}

sub execute {
    my ($self, $portal, $max_rows) = @_;
    $self->_message('E', "$portal\0" . pack('N', $max_rows // 0));
}

sub close_portal {
    my ($self, $portal) = @_;
    $self->_message('C', "P$portal\0");
}

sub sync {
    my ($self) = @_;
    $self->_message('S', '');
    return $self->_read_until_ready;
}

sub disconnect {
    my ($self) = @_;
    return unless $self->{sock};
    eval { $self->_message('X', '') };
    close $self->{sock};
    delete $self->{sock};
}

sub DESTROY { $_[0]->disconnect }

1;
