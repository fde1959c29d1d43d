# qprof collect --metrics-listen scraped by a real Prometheus (Debian's,
# started here with a 1 s scrape interval): after a workload of known
# statements on tagged routes, PromQL over the scraped series gives the
# call counts and total times that qprof report --json gives of the
# capture of the same period; the histogram puts a 50 ms statement in its
# bucket; errors are counted by SQLSTATE class; the exposition passes
# `promtool check metrics`; a collector bounded to 2 statements and 1
# route exposes no more than that plus `other`, and loses no call, and
# gives the busiest statement series of its own at a rebalance; the
# endpoint serves GET /metrics only, refuses an oversized request and
# closes an idle connection; a bad or taken address is a usage error.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../collector";
use HTTP::Tiny;
use IO::Socket::INET;
use IPC::Run;
use JSON::PP;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time sleep);
use QprofCollectorTest;

my $prometheus = '/usr/bin/prometheus';
my $promtool = '/usr/bin/promtool';
plan skip_all => "$prometheus is not installed (tests/deps/metrics.txt)"
  unless -x $prometheus && -x $promtool;

my $http = HTTP::Tiny->new(timeout => 10);
my $tmp = PostgreSQL::Test::Utils::tempdir;
my @running;    # IPC::Run handles to stop whatever happens

END
{
    for my $h (@running)
    {
        next unless $h->pumpable;
        $h->signal('KILL');
        eval { $h->finish };
    }
}

# The value of a sample line of an exposition: name{labels} value.
sub exposed
{
    my ($text, $series) = @_;
    for my $line (split /\n/, $text)
    {
        return $1 if $line =~ /^\Q$series\E (\S+)$/;
    }
    return undef;
}

sub scrape
{
    my ($port) = @_;
    my $r = $http->get("http://127.0.0.1:$port/metrics");
    return $r->{success} ? $r->{content} : undef;
}

# An instant PromQL query at $at: { label-set text => value }.
my $prom_port;
sub promql
{
    my ($query, $at) = @_;
    my $r = $http->get("http://127.0.0.1:$prom_port/api/v1/query?"
          . $http->www_form_urlencode({ query => $query, time => $at }));
    die "prometheus: $r->{status} $r->{content}" unless $r->{success};
    my $doc = decode_json($r->{content});
    my %out;
    for my $s (@{ $doc->{data}{result} })
    {
        my $m = $s->{metric};
        my $key = join ',', map { "$_=$m->{$_}" }
          sort grep { $_ ne '__name__' && $_ ne 'instance' && $_ ne 'job' }
          keys %$m;
        $out{$key} = $s->{value}[1];
    }
    return \%out;
}

my $node = new_qprof_node('metrics180');
$node->safe_psql('postgres', 'CREATE TABLE m_t (id int)');

# The collector, with its endpoint, and a client that connects and says
# nothing: the endpoint must close it without holding up anything.
my $metrics_port = PostgreSQL::Test::Cluster::get_free_port();
my $dir = "$tmp/cap";
my $collector = start_collector($node, $dir, '--poll-seconds', '0.1',
    '--metrics-listen', "127.0.0.1:$metrics_port");
push @running, $collector;
my $text;
for (1 .. 100)
{
    last if defined($text = scrape($metrics_port));
    sleep 0.1;
}
ok(defined $text, 'the collector serves /metrics');
my $idle = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$metrics_port")
  or die "connect: $!";
my $idle_since = time;

# Prometheus, scraping it every second, its data in the test's folder.
$prom_port = PostgreSQL::Test::Cluster::get_free_port();
open my $conf, '>', "$tmp/prometheus.yml" or die $!;
print $conf <<"EOF";
global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: qprof
    static_configs:
      - targets: ['127.0.0.1:$metrics_port']
EOF
close $conf;
my $prom = IPC::Run::start(
    [ $prometheus, "--config.file=$tmp/prometheus.yml",
        "--storage.tsdb.path=$tmp/prometheus-data",
        "--web.listen-address=127.0.0.1:$prom_port" ],
    '<', \undef, '>&', "$tmp/prometheus.log");
push @running, $prom;
my $up;
for (1 .. 300)
{
    $up = eval { promql('up{job="qprof"}', time)->{''} };
    last if defined $up && $up == 1;
    sleep 0.1;
}
is($up, 1, 'prometheus scrapes the collector')
  or diag slurp_file("$tmp/prometheus.log");

# The workload: known statements on tagged routes, one of them failing;
# a route with a double quote (escaped in the tags' JSON, and in the
# exposition), and one whose other tag holds text that looks like a route.
my %routes = (
    '/m/list' => [ 200, 'SELECT count(*) FROM m_t WHERE id > %d' ],
    '/m/add' => [ 100, 'INSERT INTO m_t VALUES (%d)' ],
    '/m/slow' => [ 5, 'SELECT pg_sleep(0.05) WHERE %d > 0' ],
    '/m/fail' => [ 3, 'SELECT 1 / (%d * 0)' ],
    '/m/q"uote' => [ 2, 'SELECT %d AS quoted' ],
    '/m/decoy' => [ 2, 'SELECT %d AS decoy', q{"route":"/fake",} ]);
my $script = "SET application_name = 'metrics180';\n";
my $encode = sub { $_[0] =~ s{([^A-Za-z0-9_.~-])}{sprintf('%%%02X', ord $1)}ger };
for my $route (sort keys %routes)
{
    my ($count, $sql, $controller) = @{ $routes{$route} };
    my $tags = sprintf("route='%s'", $encode->($route));
    $tags = sprintf("controller='%s',%s", $encode->($controller), $tags)
      if defined $controller;
    $script .= sprintf("$sql /*%s*/;\n", $_, $tags) for 1 .. $count;
}
$node->psql('postgres', $script, on_error_stop => 0);

# Wait until the collector has read everything and Prometheus has scraped
# the last of it: the same count in both, twice in a row.
my ($settled_at, $previous);
for (1 .. 60)
{
    sleep 1;
    my $now = scrape($metrics_port) // next;
    my $direct = exposed($now, 'qprof_collector_samples_total');
    my $lag = exposed($now, 'qprof_collector_lag_samples') // 1;
    my $at = time;
    my $scraped = promql('qprof_collector_samples_total', $at)->{''} // -1;
    if ($lag == 0 && $scraped == $direct && defined $previous
        && $previous == $direct)
    {
        $settled_at = $at;
        $text = $now;
        last;
    }
    $previous = $direct;
}
ok($settled_at, 'prometheus has scraped all the collector read');

my $calls = promql('qprof_route_calls_total', $settled_at);
my $seconds = promql('qprof_route_duration_seconds_sum', $settled_at);
my $stmt_calls = promql('qprof_statement_calls_total', $settled_at);
my $stmt_seconds = promql('qprof_statement_duration_seconds_sum', $settled_at);
my $app_calls = promql('sum(qprof_application_calls_total)', $settled_at);
my $errors = promql('qprof_errors_total', $settled_at);
my $slow_buckets = promql('qprof_route_duration_seconds_bucket{route="/m/slow"}',
    $settled_at);
my $info = promql('qprof_statement_info', $settled_at);

# The capture of the same period, as qprof report sees it.
is(stop_collector($collector), 0, 'the collector stops cleanly');
my ($rc, $out, $err) = run_qprof('report', '--json', '--top', '1000', $dir);
is($rc, 0, 'qprof report --json') or diag $err;
my $doc = decode_json($out);
my ($route_dim) =
  grep { $_->{dimension} eq 'route' } @{ $doc->{attribution}{dimensions} };
my %report_route = map { ($_->{name} => $_) } @{ $route_dim->{groups} };

for my $route (sort keys %routes)
{
    my $r = $report_route{$route};
    is($calls->{"route=$route"}, $r->{calls},
        "$route: calls in Prometheus as in the report ($r->{calls})");
    is($r->{calls}, $routes{$route}[0], "$route: as many as were run");
    ok(abs($seconds->{"route=$route"} * 1000 - $r->{total_ms}) < 0.01,
        "$route: total time in Prometheus as in the report "
          . "($seconds->{\"route=$route\"} s, $r->{total_ms} ms)");
}

ok(!grep({ m{/fake} } keys %$calls), 'no route read from another tag');

my %statement_of_route;
for my $st (@{ $doc->{statements} })
{
    my $key = "queryid=$st->{queryid}";
    next unless defined $stmt_calls->{$key};
    for my $route (keys %routes)
    {
        $statement_of_route{$route} = $st
          if grep { $_->{name} eq $route } @{ $st->{routes} };
    }
}
for my $route (sort keys %routes)
{
    my $st = $statement_of_route{$route};
    ok($st, "$route: its statement is a series of its own") or next;
    my $key = "queryid=$st->{queryid}";
    is($stmt_calls->{$key}, $st->{calls},
        "statement $st->{queryid}: calls as in the report ($st->{calls})");
    ok(abs($stmt_seconds->{$key} * 1000 - $st->{total_ms}) < 0.01,
        "statement $st->{queryid}: total time as in the report");
    my ($text) = map { /text=(.*)/ ? $1 : () }
      grep { /^\Q$key\E,text=/ } keys %$info;
    is($text, substr($st->{text} =~ s/\s+/ /gr, 0, 80),
        "statement $st->{queryid}: its text in qprof_statement_info");
}
is($app_calls->{''}, $doc->{summary}{calls},
    'the calls of all applications are the report\'s top-level calls');
is($errors->{'sqlstate_class=22'}, 3, 'three errors of class 22');
# The histogram's buckets hold the sleeps as their samples' times say
# (a loaded machine may make a 50 ms sleep last more than 100 ms).
my @slow_ns = map { $_->{plan_time_ns} + $_->{exec_time_ns} }
  grep { ($_->{tags}{route} // '') eq '/m/slow' } dump_samples($dir);
is(scalar @slow_ns, 5, 'the capture has the five sleeps');
for my $le ('0.025', '0.05', '0.1', '0.25', '1', '+Inf')
{
    my $expected = grep { $le eq '+Inf' || $_ <= $le * 1e9 } @slow_ns;
    is($slow_buckets->{"le=$le,route=/m/slow"}, $expected,
        "/m/slow: $expected of 5 in the bucket le=$le");
}
is($slow_buckets->{'le=0.025,route=/m/slow'}, 0,
    'no 50 ms sleep at or below 25 ms');

# The exposition itself passes promtool's checks.
my ($check_out, $check_err) = ('', '');
IPC::Run::run([ $promtool, 'check', 'metrics' ],
    '<', \$text, '>', \$check_out, '2>', \$check_err);
is($? >> 8, 0, 'promtool check metrics passes')
  or diag "$check_out$check_err";
is($check_out . $check_err, '', 'promtool has nothing to say');

# The idle client was disconnected, about 5 s after it connected.
$idle->blocking(1);
my $got = sysread($idle, my $buf, 1);
is($got, 0, 'an idle connection is closed by the endpoint');
ok(time - $idle_since >= 4.5, 'not before it was idle for 5 s');
close $idle;

# A collector of the same ring bounded to 2 statements and 1 route (and
# application): no more series than that plus `other`, and no call lost.
my $bounded_port = PostgreSQL::Test::Cluster::get_free_port();
my $bounded = start_collector($node, "$tmp/cap2", '--poll-seconds', '0.1',
    '--metrics-listen', "127.0.0.1:$bounded_port", '--metrics-statements',
    '2', '--metrics-groups', '1', '--metrics-rebalance-seconds', '1');
push @running, $bounded;
my $total = exposed($text, 'qprof_collector_samples_total');
my $bounded_text;
for (1 .. 100)
{
    sleep 0.1;
    $bounded_text = scrape($bounded_port) // next;
    last
      if (exposed($bounded_text, 'qprof_collector_samples_total') // 0) >= $total;
}
my @queryids = $bounded_text =~ /^qprof_statement_calls_total\{queryid="([^"]*)"\}/mg;
ok(@queryids <= 3 && grep({ $_ eq 'other' } @queryids),
    "at most 2 statements and other (@queryids)");
my @bounded_routes = $bounded_text =~ /^qprof_route_calls_total\{route="([^"]*)"\}/mg;
ok(@bounded_routes <= 2 && grep({ $_ eq '(other)' } @bounded_routes),
    "at most 1 route and (other) (@bounded_routes)");
my $sum = sub {
    my ($t, $name) = @_;
    my $s = 0;
    $s += $1 while $t =~ /^\Q$name\E\{[^}]*\} (\d+)$/mg;
    return $s;
};
# (the second collector also reads its own sessions' first statements,
# made before they excluded themselves from the ring)
for my $t ([ 'all', $text ], [ 'bounded', $bounded_text ])
{
    is($sum->($t->[1], 'qprof_statement_calls_total'),
        exposed($t->[1], 'qprof_collector_samples_total'),
        "$t->[0]: the statements' calls add up to the samples read");
}
is($sum->($bounded_text, 'qprof_route_calls_total'),
    $sum->($text, 'qprof_route_calls_total'),
    'the bounded routes and (other) add up to all routes\' calls');

# Within a rebalance or two, the statement with the most time (the 50 ms
# sleeps) takes the place of one that had less, and the sums still hold.
my $slow_id = $statement_of_route{'/m/slow'}{queryid};
my $taken;
for (1 .. 50)
{
    sleep 0.1;
    $bounded_text = scrape($bounded_port) // next;
    last
      if $taken = $bounded_text =~
      /^qprof_statement_calls_total\{queryid="\Q$slow_id\E"\}/m;
}
ok($taken, "the busiest statement ($slow_id) has series of its own");
@queryids = $bounded_text =~ /^qprof_statement_calls_total\{queryid="([^"]*)"\}/mg;
is(scalar(@queryids), 3, "still 2 statements and other (@queryids)");
is($sum->($bounded_text, 'qprof_statement_calls_total'),
    exposed($bounded_text, 'qprof_collector_samples_total'),
    'after the rebalance, the calls still add up to the samples read');

# GET /metrics only, and a bounded request.
my $r = $http->get("http://127.0.0.1:$bounded_port/");
is($r->{status}, 404, 'another path: 404');
$r = $http->post("http://127.0.0.1:$bounded_port/metrics");
is($r->{status}, 405, 'another method: 405');
$r = $http->get("http://127.0.0.1:$bounded_port/metrics",
    { headers => { 'X-Padding' => 'x' x 10000 } });
is($r->{status}, 431, 'a request over 8 KiB: 431');
is(stop_collector($bounded), 0, 'the bounded collector stops cleanly');

# A malformed address, and one taken (Prometheus's): said, exit status 1.
($rc, $out, $err) = run_qprof('collect', '--dsn', $node->connstr('postgres'),
    '--out', "$tmp/cap3", '--metrics-listen', 'localhost');
is($rc, 1, 'a malformed --metrics-listen: exit status 1');
like($err, qr/--metrics-listen takes HOST:PORT/, 'saying what it takes');
($rc, $out, $err) = run_qprof('collect', '--dsn', $node->connstr('postgres'),
    '--out', "$tmp/cap3", '--metrics-listen', "127.0.0.1:$prom_port");
is($rc, 1, 'a port in use: exit status 1');
like($err, qr/cannot listen: .*in use/, 'saying so');

$prom->signal('TERM');
$prom->finish;
$node->stop;
done_testing();
