# The kernel facts in qprof collect --metrics-listen (issue 30): with the
# BPF programs, the per-application series of storage reads, I/O wait,
# other waits, on-CPU time, run queue time and off-CPU time by wait event
# class equal, to the nanosecond, the sums of the same fields over the
# samples of the capture the collector wrote; a pg_sleep(0.3) is Timeout
# time and a cold scan reads the table from storage and waits for I/O;
# the exposition passes `promtool check metrics`.
use strict;
use warnings;
use File::Basename qw(dirname);
use lib dirname(__FILE__), dirname(__FILE__) . '/../bpf';
use File::Temp ();
use HTTP::Tiny;
use IPC::Run ();
use IO::Socket::INET;
use Test::More;
use Time::HiRes qw(sleep);
use BpfTest;

my $qprof = qprof_collector();
my $node = bpf_cluster('bpf_metrics');
attach_bpf($node)->detach;    # skips where BPF cannot be loaded
my $dsn = sprintf 'host=%s port=%d user=postgres dbname=postgres',
  $node->dir, $node->port;
my $size = create_table($node, 'metrics_cold', 16);

# A free port: bound, read, closed.
my $probe = IO::Socket::INET->new(LocalAddr => '127.0.0.1:0', Listen => 1)
  or die "socket: $!";
my $port = $probe->sockport;
close $probe;

my $capture = File::Temp::tempdir(CLEANUP => 1);
my ($collector, $err) = start_collector($qprof, $dsn, $capture, '--bpf', 'on',
    '--poll-seconds', '0.1', '--metrics-listen', "127.0.0.1:$port");

$node->psql('SELECT pg_sleep(0.3)', app => 'metrics_sleep');
$node->psql('SELECT count(*) FROM metrics_cold', app => 'metrics_scan');

# The endpoint once the collector has read everything (twice the same).
my $http = HTTP::Tiny->new(timeout => 10);
my ($text, $previous);
for (1 .. 100) {
    sleep 0.2;
    my $r = $http->get("http://127.0.0.1:$port/metrics");
    next unless $r->{success};
    my ($read) = $r->{content} =~ /^qprof_collector_samples_total (\d+)$/m;
    my ($lag) = $r->{content} =~ /^qprof_collector_lag_samples (\d+)$/m;
    if (defined $lag && $lag == 0 && defined $previous && $previous == $read
        && $r->{content} =~ /application="metrics_scan"/) {
        $text = $r->{content};
        last;
    }
    $previous = $read;
}
ok($text, 'the endpoint has the workload');
$collector->signal('INT');
ok($collector->finish, 'the collector stopped cleanly') or diag $$err;

# "0.300000123" seconds as nanoseconds, exactly.
sub ns_of {
    my ($seconds) = @_;
    return undef unless defined $seconds;
    my ($s, $f) = split /\./, $seconds;
    return $s * 1_000_000_000 + ($f // 0);
}

sub exposed {
    my ($name, $labels) = @_;
    return ($text =~ /^\Q$name\E\{\Q$labels\E\} (\S+)$/m)[0];
}

# The capture's sums per application.
my %sum;
for my $s (capture_samples($qprof, $capture)) {
    my $app = $s->{application_name} // '';
    next unless $app =~ /^metrics_/ && $s->{toplevel} && $s->{io};
    my $io = $s->{io};
    my $t = $sum{$app} //= {};
    $t->{kernel_calls} += 1;
    $t->{storage_read_pages} += $io->{page_cache_misses} // 0;
    $t->{io_wait} += $io->{offcpu_io_wait_ns} // 0;
    $t->{other_wait} += $io->{offcpu_other_ns} // 0;
    $t->{cpu} += $io->{oncpu_ns} // 0;
    $t->{runqueue} += $io->{runqueue_ns} // 0;
    $t->{'class none'} += $io->{offcpu_no_wait_event_ns} // 0;
    for my $c (@{ $io->{wait_classes} // [] }) {
        (my $name = lc $c->{wait_class}) =~ s/^wait_class_//;
        $name =~ s/_//g;
        $t->{"class $name"} += $c->{ns};
    }
}

for my $app ('metrics_sleep', 'metrics_scan') {
    my $t = $sum{$app};
    ok($t, "$app: the capture has its samples with kernel facts") or next;
    my $labels = qq{application="$app"};
    is(exposed('qprof_application_kernel_calls_total', $labels),
        $t->{kernel_calls}, "$app: executions with kernel facts");
    is(exposed('qprof_application_storage_read_pages_total', $labels),
        $t->{storage_read_pages}, "$app: storage reads");
    for my $field ([ io_wait => 'io_wait' ], [ other_wait => 'other_wait' ],
        [ cpu => 'cpu' ], [ runqueue_wait => 'runqueue' ]) {
        is(ns_of(exposed("qprof_application_$field->[0]_seconds_total", $labels)),
            $t->{ $field->[1] }, "$app: $field->[0] to the nanosecond");
    }
    my %classes;
    while ($text =~ /^qprof_application_wait_seconds_total\{\Q$labels\E,wait_class="([^"]+)"\} (\S+)$/mg) {
        (my $name = lc $1) =~ s/_//g;
        $classes{"class $name"} = ns_of($2);
    }
    my %expected = map { ($_ => $t->{$_}) }
      grep { /^class / && $t->{$_} } keys %$t;
    is_deeply(\%classes, \%expected, "$app: off-CPU time by wait class")
      or diag explain { exposed => \%classes, capture => \%expected };
}

cmp_ok(ns_of(exposed('qprof_application_wait_seconds_total',
            'application="metrics_sleep",wait_class="Timeout"')) // 0,
    '>=', 0.29e9, 'pg_sleep(0.3) is Timeout time');
cmp_ok(exposed('qprof_application_storage_read_pages_total',
        'application="metrics_scan"') // 0,
    '>=', 0.9 * $size / page_size(), 'the cold scan read its table from storage');
cmp_ok(ns_of(exposed('qprof_application_io_wait_seconds_total',
            'application="metrics_scan"')) // 0,
    '>', 0, 'and waited for I/O');

# The exposition with its kernel series passes promtool's checks.
SKIP: {
    skip 'no promtool (tests/deps/metrics.txt)', 1 unless -x '/usr/bin/promtool';
    my ($out, $perr) = ('', '');
    IPC::Run::run([ '/usr/bin/promtool', 'check', 'metrics' ],
        '<', \$text, '>', \$out, '2>', \$perr);
    is("$out$perr", '', 'promtool check metrics has nothing to say');
}

$node->stop;
done_testing();
