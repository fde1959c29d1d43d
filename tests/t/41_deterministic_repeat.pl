# The deterministic measures in a pg_regress suite: sql/40_deterministic.sql
# passes three times in a row on one cluster (its expected file pins plan
# shapes and block counts), and fails, with a diff that says why, when the
# index it pins is not created or when its rows are wider (more blocks read
# by the same plans: the sort's sequential scan).
use strict;
use warnings;
use File::Copy;
use File::Path qw(make_path);
use FindBin;
use lib "$FindBin::Bin";
use PostgreSQL::Test::Utils;
use Test::More;
use QprofNode;

my $src = $ENV{QPROF_SRC} // "$FindBin::Bin/../..";
my $pg_regress = $ENV{PG_REGRESS} or plan skip_all => 'PG_REGRESS not set';

my $node = new_node('deterministic');
$node->init;
$node->start;
my $bindir = $node->config_data('--bindir');
my $tmp = PostgreSQL::Test::Utils::tempdir;

# A pg_regress input folder holding the test file (edited by `edit`) and
# the project's expected file.
sub input_dir
{
    my ($name, $edit) = @_;
    my $dir = "$tmp/$name";
    make_path("$dir/sql", "$dir/expected");
    copy("$src/expected/40_deterministic.out", "$dir/expected/") or die;
    my $sql = slurp_file("$src/sql/40_deterministic.sql");
    $sql = $edit->($sql) if $edit;
    open my $fh, '>', "$dir/sql/40_deterministic.sql" or die;
    print $fh $sql;
    close $fh;
    return $dir;
}

# Runs the file once: (passed, the diff).
sub run_regress
{
    my ($dir, $run) = @_;
    my $out = "$dir/out$run";
    my ($stdout, $stderr) = run_command([
        $pg_regress, "--inputdir=$dir", "--outputdir=$out",
        "--bindir=$bindir", '--host=' . $node->host,
        '--port=' . $node->port, '--dbname=regression',
        '40_deterministic' ]);
    my $diffs = -e "$out/regression.diffs" ? slurp_file("$out/regression.diffs") : '';
    return ($stdout =~ /40_deterministic\s+\.\.\. ok/ ? 1 : 0, $diffs);
}

my $plain = input_dir('plain');
for my $run (1 .. 3)
{
    my ($ok, $diffs) = run_regress($plain, $run);
    ok($ok, "run $run of 40_deterministic passes on the same cluster")
      or diag $diffs;
}

# The index is gone: the plans change, and the expected file says where.
my $noindex = input_dir('noindex',
    sub { my $s = shift; $s =~ s/^CREATE INDEX det_orders_customer.*\n//m or die; $s });
my ($ok, $diffs) = run_regress($noindex, 1);
ok(!$ok, 'without the index the file fails');
like($diffs, qr/^-.*Bitmap Index Scan using det_orders_customer/m,
    'the diff shows the index scan that is expected');
like($diffs, qr/^\+.*Seq Scan on public\.det_orders/m,
    'and the sequential scan that replaced it');
note $diffs;

# Wider rows, the same plans and results: more blocks read, nothing else.
my $wide = input_dir('wide',
    sub { my $s = shift; $s =~ s/repeat\('n', 40\)/repeat('n', 400)/ or die; $s });
($ok, $diffs) = run_regress($wide, 1);
ok(!$ok, 'with wider rows the file fails');
# the sort's sequential scan reads every block of the table
my ($before) = $diffs =~ /^-.*\|\s+1 \|\s+(\d+) \| t$/m;
my ($after) = $diffs =~ /^\+.*\|\s+1 \|\s+(\d+) \| t$/m;
ok(defined $before && defined $after && $after > $before,
    'the diff shows the shared blocks growing ('
      . ($before // '?') . ' -> ' . ($after // '?') . ')');
unlike($diffs, qr/^[-+].*(Scan|Join|Loop)/m, 'the plans did not change');
note $diffs;

$node->stop;
done_testing();
