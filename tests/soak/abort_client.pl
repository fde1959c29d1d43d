# abort_client.pl — one soak client (tests/soak/010_soak.pl starts several):
# until the deadline, transactions that end while portals are still open,
# the ways PostgreSQL ends an execution without ExecutorEnd: ROLLBACK TO
# SAVEPOINT over a suspended portal, an error in the middle of a fetch, a
# plain ROLLBACK of a named portal partly fetched (JDBC's fetchSize), a
# PL/pgSQL exception block around a loop and an open cursor. Reconnects
# when the server goes away (the soak restarts it).
#
#   perl abort_client.pl SOCKET_DIR PORT SECONDS CLIENT_NUMBER
#
# Prints one line: rounds=N lost_connections=N unexpected=N, then the first
# unexpected outcomes, one a line.
use strict;
use warnings;
use FindBin;
use lib $FindBin::Bin;
use Time::HiRes qw(time sleep);
use SoakWire;

my ($socket_dir, $port, $seconds, $number) = @ARGV;
die "usage: $0 SOCKET_DIR PORT SECONDS CLIENT_NUMBER\n" unless defined $number;
srand($$ ^ time);
my $deadline = time + $seconds;
my ($rounds, $lost, @unexpected) = (0, 0);
my %by_scenario;

# Runs the messages and checks the SQLSTATEs of their errors ('' for none).
sub expect
{
    my ($c, $what, $sqlstates, @messages) = @_;
    my $r = $c->run(@messages);
    my $got = join ',', @{ $r->{sqlstates} };
    push @unexpected,
      "$what: got [$got] (" . join('; ', @{ $r->{messages} }) . "), expected [$sqlstates]"
      if $got ne $sqlstates;
    return $r;
}

# A statement whose text outlives nothing: tags at its end, and now and then
# a large comment before them (the text the tags pointed into, in defect 1).
sub portal_sql
{
    my ($n) = @_;
    my $pad = rand() < 0.05 ? '/* ' . ('p' x (512 * 1024)) . ' */ ' : '';
    return "SELECT g, repeat('x', 20) FROM generate_series(1, $n) g "
      . "$pad/* client='$number',route='%2Fsoak%2Fportal' */";
}

my %scenarios = (
    # defect 1's shape: ROLLBACK TO over a suspended portal, then an error,
    # then ROLLBACK closes whatever is left
    savepoint_portal => sub {
        my ($c) = @_;
        expect($c, 'begin', '', Q('BEGIN'), Q('SAVEPOINT s'));
        my $r = expect($c, 'portal', '', P('', portal_sql(1000)), B('p1', ''),
            E('p1', 1), S());
        push @unexpected, 'portal not suspended' unless $r->{suspended} == 1;
        expect($c, 'rollback to', '', Q('ROLLBACK TO s'));
        expect($c, 'error', '22012', Q('SELECT 1/0'));
        expect($c, 'rollback', '', Q('ROLLBACK'));
    },
    # JDBC fetchSize / asyncpg cursors: fetch in pieces, then ROLLBACK or
    # COMMIT with the portal still open
    fetch_then_end => sub {
        my ($c) = @_;
        expect($c, 'begin', '', Q('BEGIN'));
        expect($c, 'fetch', '', P('', portal_sql(100)), B('c1', ''), E('c1', 10), S());
        expect($c, 'fetch more', '', E('c1', 10), S());
        expect($c, 'end', '', Q(rand() < 0.5 ? 'ROLLBACK' : 'COMMIT'));
    },
    # an error in the middle of a fetch: the suspended portal fails with the
    # transaction
    error_mid_fetch => sub {
        my ($c) = @_;
        expect($c, 'begin', '', Q('BEGIN'));
        expect($c, 'fetch', '', P('', portal_sql(100)), B('p1', ''), E('p1', 1), S());
        expect($c, 'error', '22012', P('', 'SELECT 1/0'), B('p2', ''), E('p2', 0), S());
        expect($c, 'rollback', '', Q('ROLLBACK'));
    },
    # nested savepoints over portals on a real table, the inner one rolled
    # back after an error, the outer released, the transaction committed
    nested_savepoints => sub {
        my ($c) = @_;
        expect($c, 'begin', '', Q('BEGIN'), Q('SAVEPOINT a'));
        expect($c, 'fetch', '',
            P('', 'SELECT aid, abalance FROM pgbench_accounts WHERE aid <= 500'),
            B('p1', ''), E('p1', 5), S());
        expect($c, 'savepoint b', '', Q('SAVEPOINT b'));
        expect($c, 'fetch inner', '', P('', portal_sql(50)), B('p2', ''), E('p2', 2), S());
        expect($c, 'error', '22012', Q('SELECT 1/0'));
        expect($c, 'rollback to b', '', Q('ROLLBACK TO b'));
        expect($c, 'release a', '', Q('RELEASE a'));
        expect($c, 'commit', '', Q('COMMIT'));
    },
    # PL/pgSQL: an exception block around a loop and an open cursor; the
    # error is caught inside the function, the statement succeeds
    plpgsql_exception => sub {
        my ($c) = @_;
        expect($c, 'do', '', Q(q{DO $$
            DECLARE cur refcursor; r record;
            BEGIN
              BEGIN
                OPEN cur FOR SELECT g FROM generate_series(1, 100) g;
                FETCH cur INTO r;
                FOR r IN SELECT g FROM generate_series(1, 10) g LOOP
                  PERFORM 1 / (5 - r.g);
                END LOOP;
              EXCEPTION WHEN division_by_zero THEN NULL;
              END;
            END $$}));
    },
);
my @names = sort keys %scenarios;

my $c;
while (time < $deadline)
{
    unless ($c)
    {
        $c = SoakWire->connect($socket_dir, $port, 'postgres', 'postgres',
            "soak_abort_$number");
        unless ($c)
        {
            sleep 0.2;    # the server is restarting
            next;
        }
        # half the clients log no errors: cleanup must not depend on the log
        # hook; odd clients record nested statements too
        eval {
            expect($c, 'settings', '',
                Q("SET log_min_messages = " . ($number % 2 ? 'fatal' : 'warning')),
                Q("SET pg_qprof.track = " . ($number % 2 ? "'all'" : "'top'")));
            1;
        } or do { $c = undef; $lost++; next };
    }
    my $name = $names[ int(rand(@names)) ];
    if (eval { $scenarios{$name}->($c); 1 })
    {
        $rounds++;
        $by_scenario{$name}++;
    }
    else
    {
        push @unexpected, "$name: $@" unless $@ =~ /^connection lost/;
        $lost++;
        $c = undef;
    }
}
$c->close if $c;
printf "rounds=%d lost_connections=%d unexpected=%d %s\n", $rounds, $lost,
  scalar @unexpected, join ' ', map { "$_=$by_scenario{$_}" } @names;
print "$_\n" for @unexpected[ 0 .. ($#unexpected < 9 ? $#unexpected : 9) ];
