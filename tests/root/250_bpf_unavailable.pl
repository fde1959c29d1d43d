# Without the rights to load BPF, the loader says so clearly instead of
# attaching: a user without CAP_BPF/CAP_PERFMON gets a one-line reason.
use strict;
use warnings;
use File::Basename qw(dirname);
use lib dirname(__FILE__), dirname(__FILE__) . '/../bpf';
use File::Copy ();
use Test::More;
use BpfTest;

my $node = bpf_cluster('bpf_rights');
my ($postmaster_pid, $word_address) =
  split /\|/, $node->psql('SELECT * FROM pg_qprof.exec_word()');

my $as_root = BpfDump->attach($postmaster_pid, $word_address);
if ($as_root->{unavailable}) {
    plan skip_all => "BPF cannot be loaded here: $as_root->{unavailable}";
}
ok(scalar @{ $as_root->{attachments} } >= 5, 'root attaches')
  or diag explain $as_root->{attachments};
$as_root->detach;

# A copy the postgres user can run wherever the repository lives.
my $copy = $node->dir . '/qprof_bpf_dump';
File::Copy::copy(BpfDump::tool(), $copy) or die "copy: $!";
chmod 0755, $copy;
my $as_postgres = BpfDump->attach($postmaster_pid, $word_address,
    user => 'postgres', tool => $copy);
ok($as_postgres->{unavailable}, 'an unprivileged user is refused');
like($as_postgres->{unavailable}, qr/needs root, or CAP_BPF with CAP_PERFMON/,
    'and told what is missing');
unlike($as_postgres->{unavailable}, qr/\n/, 'in one line');
is($as_postgres->{exit_code}, 2, 'the loader exits with status 2');

done_testing();
