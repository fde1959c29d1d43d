# The word slot map: backends move their execution word into their slot of
# a BPF map the loader pins, where the programs read it with plain loads
# instead of a read of each backend's memory at each of its context
# switches. A backend started before the map moves when it next runs a
# statement; a loader started again reuses the map; a backend whose map
# was replaced moves to the new one within seconds, its events meanwhile
# dropped, not given to a wrong execution.
use strict;
use warnings;
use File::Basename qw(dirname);
use lib dirname(__FILE__), dirname(__FILE__) . '/../bpf';
use IPC::Run ();
use Test::More;
use BpfTest;

my $node = bpf_cluster('bpf_word_slots');
my (undef, undef, $pin) =
  split /\|/, $node->psql('SELECT * FROM pg_qprof.exec_word()');
like($pin, qr{^/run/pg_qprof/words-\d+-\d+$},
    'exec_word() names where backends look for the map');
unlink $pin;

# A session of its own, one statement at a time (its backend lives on).
my ($in, $out, $err) = ('', '', '');
local $ENV{PGAPPNAME} = 'slots';
my $session = IPC::Run::start([ $node->psql_command, '-X', '-q', '-A', '-t' ],
    '<', \$in, '>', \$out, '2>', \$err, IPC::Run::timeout(120));
my $marks = 0;
sub in_session {
    my ($sql) = @_;
    my $mark = 'done' . ++$marks;
    $out = '';
    $in .= "$sql;\nSELECT '$mark';\n";
    $session->pump until $out =~ /^$mark$/m;
}
# Statements spread over `seconds`: the backend looks for a map at most
# once a second.
sub statements_for {
    my ($seconds) = @_;
    in_session('SELECT pg_sleep(0.05)') for 1 .. int($seconds / 0.06);
}
in_session('SELECT 1');

my $bpf = attach_bpf($node);
like($bpf->{word_slots}, qr/^pinned at \Q$pin\E$/, 'the loader pins the map');
my @st = stat $pin;
is(getpwuid($st[4]) // '', 'postgres', "the server's OS user owns it");
is($st[2] & 07777, 0600, 'and only that user may open it');

sub stats { $bpf->command('stats') }
sub sleep_facts {
    my ($what) = @_;
    in_session('SELECT pg_sleep(0.2)');
    my $io = io_of($bpf, last_sample($node, 'slots', 0, 'pg_sleep'));
    cmp_ok($io->{offcpu_other_ns}, '>=', 0.19e9,
        "$what: pg_sleep(0.2) has its 0.2 s off the CPU");
}

# The session started before the map: it moves at its next statements.
statements_for(2.5);
my $before = stats();
in_session('SELECT 1') for 1 .. 300;
my $after  = stats();
my $mapped = $after->{word_reads_mapped} - $before->{word_reads_mapped};
my $probed = $after->{word_reads_probed} - $before->{word_reads_probed};
diag "300 statements: $mapped words read in the map, $probed in memory";
cmp_ok($mapped, '>=', 240,
    'a session started before the map reads its word from the map');
cmp_ok($probed, '<', $mapped / 2,
    'and its word is no longer read in its memory (other processes are)');
sleep_facts('word in the map');

# A loader started again (a collector restarted) reuses the map: the
# backend goes on writing where it does.
$bpf->detach;
$bpf = attach_bpf($node);
like($bpf->{word_slots}, qr/^reused at \Q$pin\E$/, 'a new loader reuses the map');
sleep_facts('map reused');
is(stats()->{word_stale}, 0, 'no word was in a slot of another map');

# A loader with another map than the one the backend writes (pinned
# elsewhere): the backend's word names a slot it does not have, and
# its events are dropped, not given to whatever that slot of its own map
# holds.
$bpf->detach;
$bpf = attach_bpf($node, word_slots => "$pin-other");
like($bpf->{word_slots}, qr/^pinned at \Q$pin-other\E$/, 'a map elsewhere');
in_session('SELECT pg_sleep(0.2)');
my $io = io_of($bpf, last_sample($node, 'slots', 0, 'pg_sleep'));
cmp_ok($io->{offcpu_other_ns}, '<', 0.05e9,
    "a word in another map's slot: the sleep's events are dropped");
cmp_ok(stats()->{word_stale}, '>', 0, 'and counted as stale');
$bpf->detach;
unlink "$pin-other";

# The map replaced (its pin removed, a new one pinned): the backend moves
# to the new one within seconds.
unlink $pin or die "unlink $pin: $!";
$bpf = attach_bpf($node);
like($bpf->{word_slots}, qr/^pinned at \Q$pin\E$/, 'a new map when the pin is gone');
statements_for(2.5);
sleep_facts('moved to the new map');

# Without a map, words are read in each backend's memory.
$bpf->detach;
unlink $pin;
$bpf = attach_bpf($node, word_slots => '');
is($bpf->{word_slots}, '', 'no map asked for');
$node->psql('SELECT pg_sleep(0.2)', app => 'no_map');
$io = io_of($bpf, last_sample($node, 'no_map'));
cmp_ok($io->{offcpu_other_ns}, '>=', 0.19e9,
    'a backend that found no map: pg_sleep(0.2) has its 0.2 s off the CPU');
is(stats()->{word_reads_mapped}, 0, 'no word read in a map');
ok(!-e $pin, 'nothing pinned');

$in .= "\\q\n";
$session->finish;
$bpf->detach;
done_testing;
