# A backend of another PostgreSQL cluster on the same machine is not
# attributed: only the backends of the postmaster we attached to count.
use strict;
use warnings;
use File::Basename qw(dirname);
use lib dirname(__FILE__), dirname(__FILE__) . '/../bpf';
use Test::More;
use BpfTest;

my $ours   = bpf_cluster('bpf_ours');
my $theirs = bpf_cluster('bpf_theirs');
my $bpf    = attach_bpf($ours);

my $our_size   = create_table($ours,   'our_cold',   16);
my $their_size = create_table($theirs, 'their_cold', 16);

# Both scan cold at the same time.
my $our_scan = $ours->background_psql('SELECT count(*) FROM our_cold',
    app => 'ours');
my $their_scan = $theirs->background_psql('SELECT count(*) FROM their_cold',
    app => 'theirs');
$ours->finish_psql($our_scan);
$theirs->finish_psql($their_scan);

my $their_sample = last_sample($theirs, 'theirs');
my $our_sample   = last_sample($ours,   'ours');
my %their_pids   = map { ($_ => 1) } split /\n/,
  $theirs->psql('SELECT DISTINCT pid FROM pg_qprof.samples');
ok($their_pids{ $their_sample->{pid} }, 'their scan ran in their backend');

my $entries = $bpf->peek;
my @stray = grep { $their_pids{ $entries->{$_}{pid} } } keys %$entries;
is(scalar @stray, 0, 'no entry for a backend of the other cluster')
  or diag explain [ @{$entries}{@stray} ];

my $our_io = io_of($bpf, $our_sample);
cmp_ok($our_io->{page_cache_miss_pages}, '>=', 0.9 * $our_size / page_size(),
    'our scan is attributed');
my $all_misses = 0;
$all_misses += $_->{page_cache_miss_pages} for values %$entries;
cmp_ok($all_misses, '<', ($our_size + 0.5 * $their_size) / page_size(),
    'their reads are in no entry of ours');

$bpf->detach;
done_testing();
