# The Debian package (make deb, debian/): built by dpkg-buildpackage from a
# clean copy of the tree, lintian-clean but for the documented overrides,
# installed with dpkg -i on this machine, its files where dpkg -L says and
# as shipped; then, through the installed files only, a server with the
# package's pg_qprof preloaded records a statement that the package's
# /usr/bin/qprof collects into a capture that passes `qprof dump --check`,
# and `make installcheck` passes against that server. Then dpkg -r, and the
# files the package replaced (the working tree's `make install`, which the
# other tests use) are put back as they were.
use strict;
use warnings;
use File::Basename qw(dirname);
use lib dirname(__FILE__);
use Cwd qw(abs_path);
use Digest::MD5;
use File::Copy ();
use File::Path ();
use File::Temp ();
use IPC::Run ();
use Test::More;
use RootCluster;

plan skip_all => 'needs root (dpkg -i)' if $> != 0;

my $repo    = abs_path(dirname(__FILE__) . '/../..');
my $package = 'postgresql-15-qprof';

# Runs a command: (exit status, stdout and stderr together).
sub run {
    my @cmd = @_;
    my $out = '';
    IPC::Run::run(\@cmd, '<', \undef, '>&', \$out);
    return ($? >> 8, $out);
}

sub md5_of {
    my ($file) = @_;
    open my $fh, '<:raw', $file or return '';
    return Digest::MD5->new->addfile($fh)->hexdigest;
}

sub package_status {
    my (undef, $out) = run('dpkg-query', '-W', '-f=${db:Status-Status}', $package);
    return $out;
}

# A package left installed by an earlier, interrupted run would hide what
# this machine had: refuse rather than guess.
isnt(package_status(), 'installed', "$package is not installed before the test")
  or BAIL_OUT("$package is installed: dpkg -r it, then make install");

my $tmp = File::Temp::tempdir('qprof_deb_XXXXXX', DIR => '/tmp', CLEANUP => 1);
chmod 0755, $tmp;

# --- build ------------------------------------------------------------------
# Without optimisation and without the debug symbols package: the build is
# most of the test's time (make deb as it is: 230 s of CPU; this whole test:
# 172 s, about 1.5 minutes on 2 idle cores), and neither changes what is
# installed where.
my $started = time;
my ($rc, $out);
{
    local $ENV{DEB_BUILD_OPTIONS} = 'noopt noautodbgsym parallel=2';
    ($rc, $out) = run('make', '-C', $repo, 'deb', "DEB_DIR=$tmp/build",
        "DEB_OUT=$tmp", 'LINTIAN=true');
}
is($rc, 0, 'make deb builds') or diag substr($out, -6000);
my ($deb) = glob("$tmp/${package}_*.deb");
ok($deb && -f $deb, 'the .deb is copied to DEB_OUT') or BAIL_OUT('no .deb');
note 'built in ' . (time - $started) . ' s';
my ($changes) = glob("$tmp/build/pg-qprof_*.changes");

# the copy holds what git knows of the tree, none of its build products
ok(-f "$tmp/build/src/debian/rules", 'built from a copy of the tree');
ok(!-e "$tmp/build/src/.git", 'without the repository');

# --- lintian ------------------------------------------------------------------
($rc, $out) = run('lintian', '--fail-on', 'error,warning', '--display-info',
    $changes);
is($rc, 0, 'lintian: no error or warning that is not overridden')
  or diag $out;
unlike($out, qr/^[EW]: /m, 'lintian reports no error or warning');
note "lintian:\n$out" if $out ne '';

# --- what the package holds ---------------------------------------------------
($rc, $out) = run('dpkg-deb', '-f', $deb, 'Package', 'Depends');
like($out, qr/^Package: \Q$package\E$/m, 'the package is named ' . $package);
like($out, qr/^Depends:.*\bpostgresql-15\b/m, 'it depends on postgresql-15');
if (-e '/sys/kernel/btf/vmlinux') {
    like($out, qr/^Depends:.*\blibbpf1\b/m,
        'built where the kernel has BTF: qprof links libbpf');
}

# The files the package will replace, as `make install` left them.
($rc, $out) = run('dpkg-deb', '--fsys-tarfile', $deb);
my @shipped;
IPC::Run::run([ 'tar', '-tf', '-' ], '<', \$out, '>', \my $list)
  or die 'tar -t failed';
for my $entry (split /\n/, $list) {
    next if $entry =~ m{/$};
    (my $path = $entry) =~ s{^\./}{/};
    push @shipped, $path;
}
my %expected = map { ($_ => 1) } (
    '/usr/lib/postgresql/15/lib/pg_qprof.so',
    '/usr/share/postgresql/15/extension/pg_qprof.control',
    '/usr/share/postgresql/15/extension/pg_qprof--1.0.sql',
    '/usr/bin/qprof');
is(scalar(grep { $expected{$_} } @shipped), scalar(keys %expected),
    'the package ships the library, its control and SQL files, and qprof')
  or diag join("\n", @shipped);

my $backup = "$tmp/backup";
my @backed_up;
for my $path (@shipped) {
    next unless -f $path;
    File::Path::make_path(dirname("$backup$path"));
    File::Copy::copy($path, "$backup$path") or die "backup $path: $!";
    chmod((stat $path)[2] & 07777, "$backup$path");
    push @backed_up, $path;
}

# Puts back what the package replaced; once, whatever happens below.
my $restored = 0;
sub restore {
    return if $restored++;
    if (package_status() eq 'installed') {
        my ($rc, $out) = run('dpkg', '-r', $package);
        diag "dpkg -r: $out" if $rc != 0;
    }
    for my $path (@backed_up) {
        File::Copy::copy("$backup$path", $path) or diag "restore $path: $!";
        chmod((stat "$backup$path")[2] & 07777, $path);
    }
}
END { restore() }

# --- install ------------------------------------------------------------------
($rc, $out) = run('dpkg', '-i', $deb);
is($rc, 0, 'dpkg -i installs it') or diag $out;
is(package_status(), 'installed', 'dpkg says it is installed');

($rc, $out) = run('dpkg', '-L', $package);
my @listed = grep { -f $_ } split /\n/, $out;
is_deeply([ sort @listed ], [ sort @shipped ],
    'dpkg -L lists the files of the .deb, and they are there');
($rc, $out) = run('dpkg', '--verify', $package);
is($out, '', 'every installed file is as shipped (dpkg --verify)');
($rc, $out) = run('/usr/bin/qprof', '--help');
like($out, qr/collect/, '/usr/bin/qprof runs');

# --- smoke test through the installed files --------------------------------------
my $node = RootCluster->new('deb', settings => {
    shared_preload_libraries => 'pg_qprof', track_io_timing => 'on' });
open my $conf, '>>', $node->data_dir . '/postgresql.conf' or die $!;
open my $regress_conf, '<', "$repo/tests/regress.conf" or die $!;
print $conf $_ while <$regress_conf>;
close $regress_conf;
close $conf;
$node->start;

is($node->psql('SHOW shared_preload_libraries'), 'pg_qprof',
    'the server preloads pg_qprof');
$node->psql('CREATE EXTENSION pg_qprof');
is($node->psql(q{SELECT extversion FROM pg_extension WHERE extname = 'pg_qprof'}),
    '1.0', 'CREATE EXTENSION from the package\'s SQL files');
$node->psql(q{SELECT count(*) AS deb_smoke_marker FROM generate_series(1, 1000)});
ok($node->psql('SELECT count(*) FROM pg_qprof.ring_samples()') > 0,
    'the library records samples');

my $capture = "$tmp/capture";
my $dsn = sprintf('host=%s port=%d user=postgres dbname=postgres',
    $node->dir, $node->port);
($rc, $out) = run('/usr/bin/qprof', 'collect', '--dsn', $dsn, '--out',
    $capture, '--once', '--bpf', 'off');
is($rc, 0, '/usr/bin/qprof collect --once') or diag $out;
($rc, $out) = run('/usr/bin/qprof', 'dump', '--check', $capture);
is($rc, 0, '/usr/bin/qprof dump --check passes') or diag $out;
my ($samples) = $out =~ /^total: \d+ files?, (\d+) samples/m;
ok(($samples // 0) > 0, 'the capture holds ' . ($samples // 0) . ' samples')
  or diag $out;
($rc, $out) = run('/usr/bin/qprof', 'dump', $capture);
like($out, qr/deb_smoke_marker/, 'with the statement run above');

# --- make installcheck, against this server -------------------------------------
# In the copy the package was built from, so that the results stay there.
$node->psql('DROP EXTENSION pg_qprof');
{
    local $ENV{PGHOST} = $node->dir;
    local $ENV{PGUSER} = 'postgres';
    ($rc, $out) = run('make', '-C', "$tmp/build/src", 'installcheck',
        'PGPORT=' . $node->port);
}
is($rc, 0, 'make installcheck passes') or diag $out;
like($out, qr/All \d+ tests passed/, 'every pg_regress test passed')
  or diag "$tmp/build/src/regression.diffs:\n"
  . (-f "$tmp/build/src/regression.diffs"
      ? `tail -n 80 $tmp/build/src/regression.diffs` : 'none');
$node->stop;

# --- remove, and put back what was there ---------------------------------------------
($rc, $out) = run('dpkg', '-r', $package);
is($rc, 0, 'dpkg -r removes it') or diag $out;
isnt(package_status(), 'installed', 'dpkg says it is gone');
ok(!-e '/usr/bin/qprof', 'its qprof is gone');
restore();
my @differ = grep { md5_of($_) ne md5_of("$backup$_") } @backed_up;
is_deeply(\@differ, [], scalar(@backed_up)
      . ' files the package had replaced are back as make install left them');

done_testing();
