# QprofNode — what the TAP tests share: a PostgreSQL::Test::Cluster on a free
# port in 20000-29999 (the range this project's tests use).
package QprofNode;

use strict;
use warnings;
use IO::Socket::INET;
use PostgreSQL::Test::Cluster;

use Exporter 'import';
our @EXPORT = qw(new_node);

# A node named `name` on a port nothing listens on.
sub new_node
{
    my ($name) = @_;
    for (1 .. 200)
    {
        my $port = 20000 + int(rand(10000));
        next if -e "/tmp/.s.PGSQL.$port";
        my $sock = IO::Socket::INET->new(
            LocalAddr => '127.0.0.1', LocalPort => $port,
            Proto => 'tcp', ReuseAddr => 0);
        next unless $sock;
        close $sock;
        return PostgreSQL::Test::Cluster->new($name, port => $port);
    }
    die "no free port";
}

1;
