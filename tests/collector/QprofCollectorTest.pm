# Helpers shared by the collector's TAP tests (tests/t/1xx_*.pl): a node
# with the extension on a free port, running qprof, and reading captures
# back through `qprof dump`.
package QprofCollectorTest;

use strict;
use warnings;
use Exporter 'import';
use File::Basename qw(dirname);
use FindBin;
use IPC::Run;
use JSON::PP;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use lib dirname(__FILE__) . '/../t';
use QprofNode;

our @EXPORT = qw(new_qprof_node qprof_path run_qprof start_collector
  stop_collector dump_records dump_samples check_capture repo_dir);

# The source tree (the test harness says where; tests/ alone may be a copy).
sub repo_dir { return $ENV{QPROF_SRC} // "$FindBin::Bin/../.." }

# The installed qprof, else the one built in the tree.
sub qprof_path
{
    for my $dir (split /:/, $ENV{PATH})
    {
        return "$dir/qprof" if -x "$dir/qprof";
    }
    my $built = repo_dir() . '/collector/build/qprof';
    return $built if -x $built;
    die "qprof is neither on PATH nor built in collector/build";
}

# A started node on a free port in 20000-29999 with pg_qprof created.
sub new_qprof_node
{
    my ($name, $conf) = @_;
    my $node = new_node($name);
    $node->init;
    $node->append_conf('postgresql.conf', $conf // '');
    $node->start;
    $node->safe_psql('postgres', 'CREATE EXTENSION pg_qprof');
    return $node;
}

# Runs qprof to completion: (exit status, stdout, stderr); death by a
# signal reads as 128 + the signal, as in a shell.
sub run_qprof
{
    my (@args) = @_;
    my ($out, $err) = ('', '');
    IPC::Run::run([ qprof_path(), @args ], '>', \$out, '2>', \$err,
        IPC::Run::timeout(300));
    my $status = ($? & 127) ? 128 + ($? & 127) : $? >> 8;
    return ($status, $out, $err);
}

# Starts `qprof collect` in the background; returns the IPC::Run handle.
sub start_collector
{
    my ($node, $dir, @extra) = @_;
    my ($out, $err) = ('', '');
    my $h = IPC::Run::start(
        [ qprof_path(), 'collect', '--dsn', $node->connstr('postgres'),
            '--out', $dir, '--bpf', 'off', @extra ],
        '>', \$out, '2>', \$err, IPC::Run::timeout(600));
    return $h;
}

# SIGTERM, then wait; returns the wait status (0: exited with 0).
sub stop_collector
{
    my ($h) = @_;
    $h->signal('TERM');
    $h->finish;
    return ($h->full_results)[0];
}

# Every record of the capture files in $dir (or files), decoded. Sample
# lines are many and flat: their scalar fields are read with a regex
# (JSON::PP would take minutes on a large capture).
sub dump_records
{
    my (@paths) = @_;
    my ($rc, $out, $err) = run_qprof('dump', @paths);
    die "qprof dump failed ($rc): $err" if $rc != 0;
    my $json = JSON::PP->new;
    my @records;
    for my $line (split /\n/, $out)
    {
        if ($line !~ /^\{"kind":"sample"/)
        {
            push @records, $json->decode($line);
            next;
        }
        my %sample;
        my $object = qr/\{(?:[^"{}]|"(?:[^"\\]|\\.)*")*\}/;
        $sample{tags} = $json->decode($1) if $line =~ /"tags":($object)/;
        # the wait sampler's classes: small numbers, decoded as they are
        my $sampled = qr/\{"interval_us":\d+,"classes":\[[^\]]*\]\}/;
        $sample{sampled_waits} = $json->decode($1)
          if $line =~ /"sampled_waits":($sampled)/;
        (my $flat = $line) =~ s/,"sampled_waits":$sampled//;
        $flat =~ s/,"(?:tags|io)":$object//g;
        while ($flat =~ /"(\w+)":("(?:[^"\\]|\\.)*"|-?\d+|true|false)/g)
        {
            my ($key, $value) = ($1, $2);
            if ($value =~ s/^"(.*)"$/$1/s)
            {
                $value =~ s/\\(.)/$1/g;
            }
            $sample{$key} = $value;
        }
        push @records, \%sample;
    }
    return @records;
}

sub dump_samples
{
    return grep { $_->{kind} eq 'sample' } dump_records(@_);
}

# `qprof dump --check`: (exit status, output, samples in the total line).
sub check_capture
{
    my ($dir) = @_;
    my ($rc, $out, $err) = run_qprof('dump', '--check', $dir);
    my ($samples) = $out =~ /^total: \d+ files, (\d+) samples/m;
    return ($rc, $out . $err, $samples);
}

1;
