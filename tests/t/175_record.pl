# qprof record -- COMMAND: the command's exit status is passed on (0, 3,
# death by a signal, not found), the capture holds every sample of the
# command's statements exactly once and none of the traffic before it, also
# when the collector is slow to read (it is waited for) or too slow for the
# wait (a last drain reads the rest); a collector that cannot start or fails
# exits 125 with a message that tells it from the command's failure.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../collector";
use PostgreSQL::Test::Utils;
use Test::More;
use QprofCollectorTest;

my $node = new_qprof_node('record');
$node->safe_psql('postgres', 'CREATE TABLE rec_t (id int)');
my $dsn = $node->connstr('postgres');
my $psql = $node->config_data('--bindir') . '/psql';
my $tmp = PostgreSQL::Test::Utils::tempdir;

# Traffic before the recording, which the capture must not hold.
$node->safe_psql('postgres',
    "SET application_name = 'before175';\n"
      . join('', map { "SELECT $_ AS before_record;\n" } 1 .. 20));

# A psql script of $n tagged statements, then `exit $status`.
my $n = 137;
open my $fh, '>', "$tmp/work.sql" or die;
print $fh "SET application_name = 'record175';\n";
print $fh "INSERT INTO rec_t VALUES ($_);\n" for 1 .. $n;
close $fh;
sub workload
{
    my ($status) = @_;
    return ('sh', '-c',
        qq{"$psql" -X -q -v ON_ERROR_STOP=1 -d "$dsn" -f "$tmp/work.sql" }
          . qq{&& exit $status});
}

# The samples of the command, by application name, and their seqs.
sub command_samples
{
    my ($dir, $name) = @_;
    my @samples = grep { $_->{application_name} eq $name } dump_samples($dir);
    return grep { $_->{cmd} ne 'CMD_UTILITY' } @samples;
}

sub check_complete
{
    my ($dir, $what) = @_;
    my @work = command_samples($dir, 'record175');
    is(scalar @work, $n, "$what: all $n statements of the command captured");
    my %seqs;
    $seqs{ $_->{seq} }++ for @work;
    is(scalar(grep { $_ > 1 } values %seqs), 0, "$what: none twice");
    is(scalar(command_samples($dir, 'before175')),
        0, "$what: nothing of the traffic before the recording");
    my ($check_rc, $check_out) = check_capture($dir);
    is($check_rc, 0, "$what: the capture passes dump --check")
      or diag $check_out;
}

# 1. Status 0, a collector that reads the ring every 3 s: record waits.
my ($rc, $out, $err) = run_qprof('record', '--dsn', $dsn, '--out',
    "$tmp/ok", '--label', 'ci-base', '--bpf', 'off', '--poll-seconds', '3',
    '--', workload(0));
is($rc, 0, 'status 0 of the command is passed on') or diag $err;
check_complete("$tmp/ok", 'slow poll');
my ($header) = grep { $_->{kind} eq 'header' } dump_records("$tmp/ok");
is($header->{label}, 'ci-base', 'the label is in the capture');

# 2. Status 3; the collector too slow for --drain-seconds: the last drain.
$node->safe_psql('postgres', 'TRUNCATE rec_t');
($rc, $out, $err) = run_qprof('record', '--dsn', $dsn, '--out',
    "$tmp/three", '--bpf', 'off', '--poll-seconds', '60',
    '--drain-seconds', '0.2', '--', workload(3));
is($rc, 3, 'status 3 of the command is passed on') or diag $err;
check_complete("$tmp/three", 'last drain');

# 3. Death by a signal, and a command that does not exist.
($rc, $out, $err) = run_qprof('record', '--dsn', $dsn, '--out',
    "$tmp/killed", '--bpf', 'off', '--', 'sh', '-c', 'kill -TERM $$');
is($rc, 128 + 15, 'a command killed by SIGTERM gives 143');
($rc, $out, $err) = run_qprof('record', '--dsn', $dsn, '--out',
    "$tmp/missing", '--bpf', 'off', '--', "$tmp/no-such-command");
is($rc, 127, 'a command not found gives 127');
like($err, qr/cannot run .*no-such-command/, 'and says so');

# 4. The collector cannot start: 125, the command is not run.
my $marker = "$tmp/ran";
($rc, $out, $err) = run_qprof('record', '--dsn',
    'host=/nonexistent port=1 dbname=postgres connect_timeout=2', '--out',
    "$tmp/baddsn", '--', 'touch', $marker);
is($rc, 125, 'a bad DSN gives 125, not a status of the command');
like($err, qr/the collector cannot start, the command was not run/,
    'the message tells the collector failure from the command');
ok(!-e $marker, 'the command was not run');

# 5. The collector fails as it starts (a --ring-read value it rejects):
# 125, and the command is not run.
($rc, $out, $err) = run_qprof('record', '--dsn', $dsn, '--out',
    "$tmp/collectfail", '--ring-read', 'nonsense', '--', 'touch', $marker);
is($rc, 125, 'a collector that exits at once gives 125');
like($err, qr/--ring-read takes.*\n.*the collector cannot start/s,
    "the collector's error, then record's");
ok(!-e $marker, 'the command was not run');

# The collector dies while the command runs (the command kills its sibling,
# record's other child): 125 though the command passed, and the message
# gives the command's own status.
($rc, $out, $err) = run_qprof('record', '--dsn', $dsn, '--out',
    "$tmp/collectdied", '--bpf', 'off', '--', 'sh', '-c',
    'for p in $(ps -o pid= --ppid $PPID); do '
      . '[ "$p" != "$$" ] && kill -KILL "$p"; done; exit 0');
is($rc, 125, 'a collector that dies gives 125 although the command passed');
like($err,
    qr/the capture failed, not the command: qprof collect exited with status 137.*\n.*the command exited with status 0/,
    'the message says the collector died and the command exited with 0');

# 7. The server restarts while the command runs: the statements before and
# after are all captured, once. (The ring does not outlive a restart: the
# command waits for the collector to read the first run before it.)
$node->safe_psql('postgres', 'TRUNCATE rec_t');
my $pg_ctl = $node->config_data('--bindir') . '/pg_ctl';
my ($pgdata, $log) = ($node->data_dir, $node->logfile);
($rc, $out, $err) = run_qprof('record', '--dsn', $dsn, '--out',
    "$tmp/restart", '--bpf', 'off', '--', 'sh', '-c',
    qq{"$psql" -X -q -v ON_ERROR_STOP=1 -d "$dsn" -f "$tmp/work.sql" && }
      . qq{sleep 2 && "$pg_ctl" -D "$pgdata" -l "$log" -m fast -w restart >/dev/null && }
      . qq{"$psql" -X -q -v ON_ERROR_STOP=1 -d "$dsn" -c 'TRUNCATE rec_t' }
      . qq{-f "$tmp/work.sql"});
is($rc, 0, 'a restart during the command: status 0') or diag $err;
my @both = command_samples("$tmp/restart", 'record175');
is(scalar(grep { $_->{cmd} eq 'CMD_INSERT' } @both),
    2 * $n, "both runs' $n inserts captured across the restart");

# 6. A directory that already holds a capture is refused.
($rc, $out, $err) = run_qprof('record', '--dsn', $dsn, '--out', "$tmp/ok",
    '--', 'true');
is($rc, 1, 'an --out that holds a capture is a usage error');
like($err, qr/already holds a capture/, 'and says so');

done_testing();
