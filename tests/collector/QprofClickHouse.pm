# ClickHouse servers for the tests of `qprof export` and `report
# --clickhouse` (tests/t/19x_clickhouse*.pl): Debian's clickhouse-server,
# started as the test's user with its own configuration and data in a
# temporary folder, on free ports, as the shards of one cluster
# (`qprof_fleet`), and stopped when the test ends.
package QprofClickHouse;

use strict;
use warnings;
use Exporter 'import';
use HTTP::Tiny;
use IO::Socket::INET;
use IPC::Run;
use Test::More ();
use Time::HiRes qw(sleep);

our @EXPORT = qw(clickhouse_server_path start_clickhouse_shards
  stop_clickhouse stop_clickhouse_server restart_clickhouse_server ch_query
  ch_rows same_timeline same_waits waits_block same_attribution);

sub clickhouse_server_path { return '/usr/sbin/clickhouse-server' }

my @started;    # IPC::Run handles, stopped at the end whatever happened
my @homes;      # each server's folder (its config.xml), by shard number

END
{
    stop_clickhouse();
}

# A TCP port on 127.0.0.1 that nothing listens on.
sub _free_port
{
    for (1 .. 200)
    {
        my $port = 30000 + int(rand(10000));
        my $sock = IO::Socket::INET->new(
            LocalAddr => '127.0.0.1', LocalPort => $port,
            Proto => 'tcp', ReuseAddr => 0);
        next unless $sock;
        close $sock;
        return $port;
    }
    die "no free port";
}

my $users_xml = <<'XML';
<?xml version="1.0"?>
<yandex>
  <profiles><default><max_memory_usage>2000000000</max_memory_usage></default></profiles>
  <users><default><password></password>
    <networks><ip>127.0.0.1</ip><ip>::1</ip></networks>
    <profile>default</profile><quota>default</quota></default></users>
  <quotas><default></default></quotas>
</yandex>
XML

# Starts $count servers in $dir/chN as the shards of cluster qprof_fleet;
# returns their HTTP URLs (http://127.0.0.1:PORT/), once each answers.
sub start_clickhouse_shards
{
    my ($dir, $count) = @_;
    my @http = map { _free_port() } 1 .. $count;
    my @tcp = map { _free_port() } 1 .. $count;
    my $shards = join '',
      map { "<shard><replica><host>127.0.0.1</host><port>$_</port></replica></shard>" }
      @tcp;
    my @urls;
    for my $i (0 .. $count - 1)
    {
        my $home = "$dir/ch" . ($i + 1);
        mkdir $home or die "$home: $!";
        open my $users, '>', "$home/users.xml" or die $!;
        print $users $users_xml;
        close $users;
        open my $conf, '>', "$home/config.xml" or die $!;
        print $conf <<"XML";
<?xml version="1.0"?>
<yandex>
  <logger><level>warning</level><log>$home/server.log</log>
    <errorlog>$home/error.log</errorlog></logger>
  <http_port>$http[$i]</http_port>
  <tcp_port>$tcp[$i]</tcp_port>
  <listen_host>127.0.0.1</listen_host>
  <path>$home/data/</path>
  <tmp_path>$home/tmp/</tmp_path>
  <user_files_path>$home/user_files/</user_files_path>
  <format_schema_path>$home/format_schemas/</format_schema_path>
  <users_config>$home/users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <timezone>UTC</timezone>
  <mark_cache_size>67108864</mark_cache_size>
  <uncompressed_cache_size>67108864</uncompressed_cache_size>
  <max_concurrent_queries>20</max_concurrent_queries>
  <remote_servers><qprof_fleet>$shards</qprof_fleet></remote_servers>
</yandex>
XML
        close $conf;
        push @homes, $home;
        push @urls, "http://127.0.0.1:$http[$i]/";
        _launch($#homes);
    }
    _wait_up($_) for @urls;
    return @urls;
}

# Starts the server of shard $i (0-based) in its folder.
sub _launch
{
    my ($i) = @_;
    my $home = $homes[$i];
    $started[$i] = IPC::Run::start(
        [ clickhouse_server_path(), "--config-file=$home/config.xml" ],
        '<', \undef, '>>', "$home/stdout.log", '2>>', "$home/stderr.log");
    return;
}

sub _wait_up
{
    my ($url) = @_;
    my $http = HTTP::Tiny->new(timeout => 5);
    for (1 .. 300)
    {
        return if $http->get("${url}ping")->{success};
        sleep 0.1;
    }
    die "clickhouse at $url did not start";
}

# Stops the server of shard $i (SIGTERM), its data kept.
sub stop_clickhouse_server
{
    my ($i) = @_;
    my $h = $started[$i];
    return unless $h && $h->pumpable;
    $h->signal('TERM');
    eval { $h->finish };
    return;
}

# Starts the server of shard $i again, on its ports, with its data.
sub restart_clickhouse_server
{
    my ($i, $url) = @_;
    _launch($i);
    _wait_up($url);
    return;
}

# Stops every server started (SIGTERM: ClickHouse waits at most a few
# seconds for its queries).
sub stop_clickhouse
{
    for my $h (@started)
    {
        next unless $h && $h->pumpable;
        $h->signal('TERM');
        eval { $h->finish };
    }
    @started = ();
    return;
}

# Runs $sql on the server at $url; dies with ClickHouse's message.
sub ch_query
{
    my ($url, $sql) = @_;
    my $r = HTTP::Tiny->new(timeout => 60)->post($url, { content => $sql });
    die "clickhouse: $r->{status} $r->{content}\n$sql" unless $r->{success};
    return $r->{content};
}

# The rows of a SELECT: arrays of its TabSeparated fields.
sub ch_rows
{
    my ($url, $sql) = @_;
    my $out = ch_query($url, "$sql FORMAT TabSeparated");
    return [ map { [ split /\t/, $_, -1 ] } split /\n/, $out ];
}

# Checks the `timeseries` and `heatmap` of `qprof report --clickhouse
# --json` ($got) against those of `qprof report --json` ($want): the same
# grid, series and keys; executions, errors and the heatmap's counts
# exact; times within single precision of the interval's total (the report
# of files sums each interval in a float).
sub same_timeline
{
    my ($what, $got, $want) = @_;
    my ($g, $w) = ($got->{timeseries}, $want->{timeseries});
    Test::More::is_deeply([ map { $g->{$_} } qw(start_unix_us interval_s intervals) ],
        [ map { $w->{$_} } qw(start_unix_us interval_s intervals) ],
        "$what: the report's time grid");
    Test::More::is_deeply([ $g->{executions}, $g->{errors} ],
        [ $w->{executions}, $w->{errors} ],
        "$what: executions and errors per interval");
    Test::More::is_deeply($got->{heatmap}, $want->{heatmap},
        "$what: the heatmap");
    my $scale = 0;
    $scale = $_ > $scale ? $_ : $scale for @{ $w->{db_time_ms} };
    my @off;
    my $compare = sub {
        my ($name, $gv, $wv) = @_;
        return push @off, "$name: " . scalar(@$gv) . ' intervals'
          unless @$gv == @$wv;
        for my $i (0 .. $#$wv)
        {
            push @off, "$name [$i]: $gv->[$i], report $wv->[$i]"
              if abs($gv->[$i] - $wv->[$i]) > 1e-5 * $scale + 1e-6;
        }
    };
    $compare->('db_time_ms', $g->{db_time_ms}, $w->{db_time_ms});
    Test::More::is_deeply([ map { $_->{key} } @{ $g->{series} } ],
        [ map { $_->{key} } @{ $w->{series} } ], "$what: the same series");
    my %gs = map { ($_->{key} => $_) } @{ $g->{series} };
    for my $s (@{ $w->{series} })
    {
        $compare->($s->{key}, $gs{ $s->{key} }{db_time_ms} // [], $s->{db_time_ms});
    }
    Test::More::is_deeply(\@off, [],
        "$what: database time per interval, in all and per series");
    return;
}

# Checks the `waits` objects (where the time went) of rows keyed alike, as
# `qprof report --clickhouse --json` ($got) and `qprof report --json`
# ($want) give them: null on both sides, or the same executions, sampled
# executions and interval, and the same times and counts (per class and
# per event too) within the JSON's rounding. Returns how many rows have
# waits in the report.
sub same_waits
{
    my ($what, $got, $want) = @_;
    Test::More::is_deeply([ sort keys %$got ], [ sort keys %$want ],
        "$what: the same rows");
    my ($with, @off) = (0);
    my $near = sub { abs($_[0] - $_[1]) <= 1e-5 * abs($_[1]) + 1e-6 };
    for my $key (sort keys %$want)
    {
        my ($g, $w) = ($got->{$key}, $want->{$key});
        if (!defined $w)
        {
            push @off, "$key: waits, the report has none" if defined $g;
            next;
        }
        $with++;
        if (!defined $g)
        {
            push @off, "$key: no waits";
            next;
        }
        for my $f (qw(executions sampled_executions sample_interval_ms))
        {
            push @off, "$key $f: $g->{$f}, report $w->{$f}"
              unless $g->{$f} == $w->{$f};
        }
        for my $f (qw(calls elapsed_ms oncpu_ms runqueue_ms runqueue_waits
            io_wait_ms other_events_ms other_events_count no_wait_event_ms
            no_wait_event_count unaccounted_ms))
        {
            push @off, "$key $f: $g->{$f}, report $w->{$f}"
              unless defined $g->{$f} && $near->($g->{$f}, $w->{$f});
        }
        for my $list (qw(classes events))
        {
            my %gl = map { ("$_->{class} $_->{name}" => $_) }
              map { { %$_, name => $_->{name} // '' } } @{ $g->{$list} };
            for my $item (@{ $w->{$list} })
            {
                my $name = "$item->{class} " . ($item->{name} // '');
                my $gi = $gl{$name};
                push @off, "$key $list $name: "
                  . ($gi ? "$gi->{ms} ms x$gi->{count}" : 'missing')
                  . ", report $item->{ms} ms x$item->{count}"
                  unless $gi && $near->($gi->{ms}, $item->{ms})
                  && $near->($gi->{count}, $item->{count});
                delete $gl{$name};
            }
            push @off, "$key $list: $_ not in the report" for sort keys %gl;
        }
    }
    Test::More::is_deeply(\@off, [], "$what: where the time went as in the report");
    return $with;
}

# Checks `attribution.dimensions` of `qprof report --clickhouse --json`
# ($got) against `qprof report --json`'s ($want): the same dimensions in
# the same order, each with as many groups in all and the same groups
# listed, each group with the same measures (within the JSON's rounding),
# the same kernel facts and waits (null or not, and their time), and the
# same top statements in the same order with their calls, time and share.
# Statements are compared by what $got_id and $want_id make of their keys,
# groups by name ($want_name may rename the report's).
sub same_attribution
{
    my ($what, $got, $want, $got_id, $want_id, $want_name) = @_;
    $want_name //= sub { $_[0] };
    my @gd = @{ $got->{attribution}{dimensions} // [] };
    my @wd = @{ $want->{attribution}{dimensions} // [] };
    Test::More::is_deeply([ map { $_->{dimension} } @gd ],
        [ map { $_->{dimension} } @wd ], "$what: the dimensions of the report");
    my $near = sub {
        my ($g, $w) = @_;
        return !defined $g && !defined $w if !defined $g || !defined $w;
        return abs($g - $w) <= 1e-5 * abs($w) + 1e-6;
    };
    my %gd = map { ($_->{dimension} => $_) } @gd;
    my @off;
    my ($groups, $tops) = (0, 0);
    for my $wdim (@wd)
    {
        my $dim = $wdim->{dimension};
        my $gdim = $gd{$dim} or next;
        push @off, "$dim: $gdim->{groups_total} groups, report $wdim->{groups_total}"
          unless $gdim->{groups_total} == $wdim->{groups_total};
        my %gg = map { ($_->{name} => $_) } @{ $gdim->{groups} };
        my @wnames = map { $want_name->($_->{name}) } @{ $wdim->{groups} };
        push @off, "$dim: groups " . join(', ', sort keys %gg)
          . '; report ' . join(', ', sort @wnames)
          unless join("\n", sort keys %gg) eq join("\n", sort @wnames);
        for my $w (@{ $wdim->{groups} })
        {
            my $name = $want_name->($w->{name});
            my $g = $gg{$name} or next;
            $groups++;
            my $at = "$dim $name";
            push @off, "$at tagged" unless !!$g->{tagged} == !!$w->{tagged};
            for my $f (qw(share executions calls errors total_ms mean_ms
                min_ms max_ms p50_ms p95_ms p99_ms plan_ms rows
                shared_blks_hit shared_blks_read shared_blks_dirtied
                shared_blks_written local_blks_read temp_blks_read
                temp_blks_written blk_read_time_ms blk_write_time_ms
                wal_records wal_bytes))
            {
                push @off, "$at $f: " . ($g->{$f} // 'none') . ", report $w->{$f}"
                  unless $near->($g->{$f}, $w->{$f});
            }
            for my $part ([ 'kernel', qw(executions oncpu_ms io_wait_ms
                    other_wait_ms page_cache_misses block_requests block_bytes
                    read_bytes write_bytes) ],
                [ 'kernel.waits', qw(executions elapsed_ms) ],
                [ 'sampled_waits', qw(executions elapsed_ms) ])
            {
                my ($key, @fields) = @$part;
                my ($gp, $wp) = ($g, $w);
                for my $k (split /\./, $key)
                {
                    $gp = ref $gp ? $gp->{$k} : undef;
                    $wp = ref $wp ? $wp->{$k} : undef;
                }
                if (defined $gp != defined $wp)
                {
                    push @off, "$at $key: " . (defined $gp ? 'given' : 'null')
                      . ', report ' . (defined $wp ? 'given' : 'null');
                    next;
                }
                next unless defined $wp;
                for my $f (@fields)
                {
                    push @off, "$at $key.$f: $gp->{$f}, report $wp->{$f}"
                      unless $near->($gp->{$f}, $wp->{$f});
                }
            }
            my @gt = @{ $g->{top_statements} };
            my @wt = @{ $w->{top_statements} };
            push @off, "$at: " . scalar(@gt) . ' top statements, report '
              . scalar(@wt) unless @gt == @wt;
            for my $i (0 .. $#wt)
            {
                last if $i > $#gt;
                $tops++;
                my ($gs, $ws) = ($gt[$i], $wt[$i]);
                my ($gi, $wi) = ($got_id->($gs->{statement}), $want_id->($ws->{statement}));
                push @off, "$at statement $i: $gi, report $wi" unless $gi eq $wi;
                for my $f (qw(calls total_ms share))
                {
                    push @off, "$at statement $i $f: $gs->{$f}, report $ws->{$f}"
                      unless $near->($gs->{$f}, $ws->{$f});
                }
            }
        }
    }
    Test::More::is_deeply(\@off, [],
        "$what: every dimension's groups ($groups), their measures and top "
          . "statements ($tops) as in the report")
      or Test::More::diag(join "\n", @off);
    return;
}

# The section "Where the time went" of a terminal report (up to the next
# section's heading), or undef.
sub waits_block
{
    my ($text) = @_;
    return $text =~ /^(Where the time went.*?)(?=\n\n[^\n]+\n-+\n|\n*\z)/ms
      ? $1 : undef;
}

1;
