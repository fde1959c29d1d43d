# RootCluster — a throwaway PostgreSQL 15 cluster for tests that run as root.
#
# PostgreSQL refuses to run as root, so the server runs as the `postgres`
# user (through runuser) in a directory under /tmp that it owns; the test
# itself stays root (it needs root for BPF and for dropping the page cache)
# and talks to the server over the cluster's Unix socket.
#
#   my $node = RootCluster->new('bpf', settings => {
#       shared_preload_libraries => 'pg_qprof', shared_buffers => '8MB' });
#   $node->start;
#   my $n = $node->psql('SELECT 1');
#   # stopped and removed when the object goes away or the test ends
#
package RootCluster;

use strict;
use warnings;
use Carp;
use File::Temp ();
use IPC::Run ();
use File::Path ();
use IO::Socket::INET;

my $PGBIN = $ENV{PGBIN} // '/usr/lib/postgresql/15/bin';
my @live_clusters;

# A port in 20000-29999 that nothing listens on.
sub _free_port {
    for (1 .. 100) {
        my $port = 20000 + int(rand(10000));
        next if -e "/tmp/.s.PGSQL.$port";
        my $sock = IO::Socket::INET->new(
            LocalAddr => '127.0.0.1',
            LocalPort => $port,
            Proto     => 'tcp',
            ReuseAddr => 0);
        next unless $sock;
        close $sock;
        return $port;
    }
    croak 'no free port in 20000-29999';
}

sub _run_as_postgres {
    my @cmd = @_;
    my ($out, $err) = ('', '');
    my $ok = IPC::Run::run([ 'runuser', '-u', 'postgres', '--', @cmd ],
        '<', \undef, '>', \$out, '2>', \$err);
    croak "@cmd failed: $err$out" unless $ok;
    return $out;
}

# Creates (initdb) a cluster; `settings` go into postgresql.conf.
sub new {
    my ($class, $name, %opts) = @_;
    my $dir = File::Temp::tempdir("qprof_${name}_XXXXXX", DIR => '/tmp',
        CLEANUP => 0);
    my (undef, undef, $uid, $gid) = getpwnam('postgres')
      or croak 'no postgres user';
    chown $uid, $gid, $dir or croak "chown $dir: $!";
    chmod 0700, $dir;
    my $self = bless {
        name     => $name,
        dir      => $dir,
        data_dir => "$dir/data",
        port     => _free_port(),
        running  => 0,
        owner_pid => $$,
    }, $class;
    _run_as_postgres("$PGBIN/initdb", '-D', $self->{data_dir}, '-A', 'trust',
        '-U', 'postgres', '--no-sync');
    my %settings = (
        port                    => $self->{port},
        listen_addresses        => '',
        unix_socket_directories => $dir,
        fsync                   => 'off',
        %{ $opts{settings} // {} });
    open my $conf, '>>', "$self->{data_dir}/postgresql.conf"
      or croak "postgresql.conf: $!";
    for my $key (sort keys %settings) {
        # Every setting accepts a quoted value.
        (my $value = $settings{$key}) =~ s/'/''/g;
        print $conf "$key = '$value'\n";
    }
    close $conf;
    push @live_clusters, $self;
    return $self;
}

sub dir      { $_[0]{dir} }
sub data_dir { $_[0]{data_dir} }
sub port     { $_[0]{port} }

sub start {
    my ($self) = @_;
    _run_as_postgres("$PGBIN/pg_ctl", '-D', $self->{data_dir}, '-l',
        "$self->{dir}/server.log", '-w', '-t', '60', 'start');
    $self->{running} = 1;
    return $self;
}

sub stop {
    my ($self, $mode) = @_;
    return unless $self->{running};
    _run_as_postgres("$PGBIN/pg_ctl", '-D', $self->{data_dir}, '-m',
        $mode // 'fast', '-w', 'stop');
    $self->{running} = 0;
}

sub restart {
    my ($self) = @_;
    $self->stop;
    $self->start;
}

# Pid of the postmaster, from postmaster.pid.
sub postmaster_pid {
    my ($self) = @_;
    open my $fh, '<', "$self->{data_dir}/postmaster.pid" or croak $!;
    my $pid = <$fh>;
    chomp $pid;
    return $pid;
}

# psql invocation for this cluster (superuser postgres, no psqlrc).
sub psql_command {
    my ($self, $db) = @_;
    return ("$PGBIN/psql", '-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1',
        '-h', $self->{dir}, '-p', $self->{port}, '-U', 'postgres',
        '-d', $db // 'postgres');
}

# Runs SQL, returns its output (rows separated by newlines, columns by |);
# dies on error. Options: db, app (the session's application_name).
sub psql {
    my ($self, $sql, %opts) = @_;
    local $ENV{PGAPPNAME} = $opts{app} if defined $opts{app};
    my ($out, $err) = ('', '');
    my $ok = IPC::Run::run([ $self->psql_command($opts{db}) ],
        '<', \$sql, '>', \$out, '2>', \$err);
    croak "psql failed: $err\nSQL: $sql" unless $ok;
    chomp $out;
    return $out;
}

# Starts psql in the background on `sql` (one query string, sent at once);
# returns a handle for finish_psql.
sub background_psql {
    my ($self, $sql, %opts) = @_;
    local $ENV{PGAPPNAME} = $opts{app} if defined $opts{app};
    my $h = { out => '', err => '' };
    $h->{run} = IPC::Run::start([ $self->psql_command($opts{db}), '-c', $sql ],
        '<', '/dev/null', '>', \$h->{out}, '2>', \$h->{err});
    return $h;
}

sub finish_psql {
    my ($self, $h) = @_;
    my $ok = $h->{run}->finish;
    croak "psql failed: $h->{err}" unless $ok;
    chomp $h->{out};
    return $h->{out};
}

# Files of a relation (main fork and its 1 GB segments).
sub relation_files {
    my ($self, $relation, %opts) = @_;
    my $path = $self->psql("SELECT pg_relation_filepath('$relation')", %opts);
    my $base = "$self->{data_dir}/$path";
    return grep { -f $_ } ($base, glob("$base.*"));
}

# Writes the relation's dirty pages and drops them from the kernel's page
# cache, so that the next read has to go to storage. dd's nocache flag with
# count=0 asks the kernel (posix_fadvise DONTNEED) to drop the whole file.
sub drop_relation_from_page_cache {
    my ($self, $relation, %opts) = @_;
    $self->psql('CHECKPOINT', %opts);
    for my $file ($self->relation_files($relation, %opts)) {
        system('sync', '-d', $file) == 0 or croak "sync $file failed";
        system('dd', "if=$file", 'iflag=nocache', 'count=0',
            'status=none') == 0 or croak "dd nocache $file failed";
    }
}

sub DESTROY {
    my ($self) = @_;
    return unless $self->{owner_pid} == $$;
    eval { $self->stop('immediate') };
    # the word slot map a collector pinned for it (pg_qprof.exec_word())
    unlink glob("/run/pg_qprof/words-*-$self->{port}") if $self->{port};
    File::Path::rmtree($self->{dir}) if $self->{dir} && -d $self->{dir};
    $self->{dir} = undef;
}

# A test killed by a signal still stops its servers.
$SIG{$_} = sub { die "killed by signal\n" } for qw(INT TERM HUP);

END {
    # Global destruction order is not defined: stop servers explicitly.
    for my $node (@live_clusters) {
        $node->DESTROY if $node && $node->{dir};
    }
}

1;
