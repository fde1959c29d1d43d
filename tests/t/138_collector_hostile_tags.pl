# A running collector keeps reading through hostile sqlcommenter tags
# (issue 26, defect 4). With pg_qprof.analyze_sample_rate = 1 the collector
# reads each sample's per-node actuals through pg_qprof.node_actuals(seq),
# which reads the sample's row, tags included: a plain role's
# /* k='%00' */ made that read fail and `qprof collect` exit 2, again at
# every restart. Now the pair whose value decodes to a NUL is dropped, bytes
# that are not UTF-8 become U+FFFD, and every sample comes through with its
# node actuals.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../collector";
use PostgreSQL::Test::Utils;
use Test::More;
use QprofCollectorTest;

my $node = new_qprof_node('hostile_tags', "pg_qprof.analyze_sample_rate = 1\n");
$node->safe_psql('postgres', 'CREATE ROLE hostile138 LOGIN');

my $dir = PostgreSQL::Test::Utils::tempdir . '/live';
my $h = start_collector($node, $dir, '--poll-seconds', '0.2');
sleep 1.0;

# From a plain role, each in a statement of its own.
my @comments = (
    q{/* k='%00' */},                 # the value is a NUL: no tags
    q{/* k='a%00b',ok='kept' */},     # the pair with the NUL goes alone
    q{/* %00='v',ok='kept' */},       # so does a key with a NUL
    q{/* k='%FF%FE' */},              # not UTF-8: two U+FFFD
    q{/* k='caf%C3%A9' */},           # well-formed UTF-8, kept
);
for my $i (0 .. $#comments)
{
    $node->safe_psql('postgres',
        "SET ROLE hostile138; SET application_name = 'hostile138'; "
          . "SELECT $i AS n $comments[$i]");
}
sleep 1.5;
ok($h->pumpable, 'the collector is still running after the hostile samples');

# Later statements are read too: the collector did not stop at them.
$node->safe_psql('postgres',
    "SET application_name = 'after138'; SELECT 1; SELECT 2; SELECT 3;");
sleep 1.5;
is(stop_collector($h), 0, 'collect exits 0 on SIGTERM');

my ($check_rc, $check_out) = check_capture($dir);
is($check_rc, 0, 'dump --check passes') or diag $check_out;

my @records = dump_records($dir);
my @hostile = sort { $a->{seq} <=> $b->{seq} }
  grep { $_->{kind} eq 'sample' && $_->{application_name} eq 'hostile138'
      && $_->{cmd} eq 'CMD_SELECT' } @records;
is(scalar @hostile, scalar @comments, 'every hostile sample is captured');
my %actuals = map { ("$_->{epoch}/$_->{seq}" => 1) }
  grep { $_->{kind} eq 'node_actuals' } @records;
is(scalar(grep { $_->{has_node_actuals} eq 'true'
          && $actuals{"$_->{epoch}/$_->{seq}"} } @hostile),
    scalar @comments, 'each with its node actuals');

my @tags = map { $_->{tags} } @hostile;
ok(!defined $tags[0] || !%{ $tags[0] }, "k='%00': no tags");
is_deeply($tags[1], { ok => 'kept' }, "a value with a NUL: its pair dropped");
is_deeply($tags[2], { ok => 'kept' }, "a key with a NUL: its pair dropped");
# (qprof dump's UTF-8 as bytes: U+FFFD is EF BF BD, e-acute C3 A9)
is_deeply($tags[3], { k => "\xef\xbf\xbd\xef\xbf\xbd" },
    'bytes that are not UTF-8 replaced by U+FFFD');
is_deeply($tags[4], { k => "caf\xc3\xa9" }, 'well-formed UTF-8 kept');

is(scalar(grep { $_->{kind} eq 'sample' && $_->{application_name} eq 'after138'
          && $_->{cmd} eq 'CMD_SELECT' } @records),
    3, 'the statements after them are captured');

# The SQL readers give the same, for a superuser and for the plain role.
is($node->safe_psql('postgres',
        "SELECT count(*) FROM pg_qprof.samples WHERE application_name = 'hostile138'"
          . " AND cmd_type = 'SELECT'"),
    scalar @comments, 'pg_qprof.samples reads them');
is($node->safe_psql('postgres',
        "SET ROLE hostile138; SELECT count(tags) FROM pg_qprof.samples"
          . " WHERE application_name = 'hostile138' AND cmd_type = 'SELECT'"),
    scalar(@comments) - 1, 'the plain role reads its own tags');

$node->stop;
done_testing();
