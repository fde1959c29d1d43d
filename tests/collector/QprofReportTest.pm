# Helpers of the `qprof report` tests (tests/t/17x_report_*.pl): a capture
# of a known workload with planted problems, the report and the diff as
# JSON, and a validator for the JSON Schemas that docs/report-json.md and
# docs/diff.md carry.
package QprofReportTest;

use strict;
use warnings;
use feature 'state';
use B;
use File::Basename ();
use Exporter 'import';
use IPC::Run;
use JSON::PP;
use PostgreSQL::Test::Utils;
use Test::More;
use QprofCollectorTest;

our @EXPORT = qw(plant_workload capture_once report_json report_schema waits_page_probe
  diff_schema schema_errors tagged record_script diff_json diff_row
  build_capture_fixture);

# A sqlcommenter comment: route and controller, and the request's
# traceparent when a request number is given.
sub tagged
{
    my ($sql, $route, $controller, $request) = @_;
    (my $r = $route) =~ s{([^A-Za-z0-9_.~-])}{sprintf('%%%02X', ord $1)}ge;
    my $tags = "controller='$controller',route='$r'";
    $tags .= sprintf(",traceparent='00-%032x-%016x-01'", 0xabc000 + $request,
        $request)
      if defined $request;
    return "$sql /*$tags*/";
}

# Runs the workload with its planted problems on $node:
#  - /reports/slow: a slow statement (pg_sleep), first by total time;
#  - /customers/<id>/orders: filters orders on customer_id, first with its
#    index, then after the index is dropped (a plan change, and a
#    sequential scan on a large table with no index: the missing index);
#  - /orders/<id>/items: 12 lookups of items one by one in each request
#    (N+1, each request with its own traceparent);
#  - /reports/export: a sort that spills (work_mem 64kB).
sub plant_workload
{
    my ($node) = @_;
    # the setup is not part of the workload: not recorded
    $node->safe_psql('postgres', q{
        SET pg_qprof.enabled = off;
        CREATE TABLE orders (id serial PRIMARY KEY, customer_id int,
            status text, note text);
        INSERT INTO orders (customer_id, status, note)
            SELECT g % 1000, 'open', md5(g::text) FROM generate_series(1, 100000) g;
        CREATE INDEX orders_customer_idx ON orders (customer_id);
        CREATE TABLE items (id int PRIMARY KEY, order_id int, sku text);
        INSERT INTO items SELECT g, g % 5000, 'sku-' || g FROM generate_series(1, 50000) g;
        VACUUM ANALYZE orders;
        VACUUM ANALYZE items;
    });
    my $orders = sub {
        my ($from, $to) = @_;
        my $sql = '';
        $sql .= tagged("SELECT id, status FROM orders WHERE customer_id = $_",
            '/customers/<id>/orders', 'CustomerOrders', 1000 + $_) . ";\n"
          for $from .. $to;
        return $sql;
    };
    # with the index, then without it
    $node->safe_psql('postgres', $orders->(1, 20));
    $node->safe_psql('postgres',
        'SET pg_qprof.enabled = off; DROP INDEX orders_customer_idx');
    $node->safe_psql('postgres', $orders->(21, 60));

    my $script = '';
    for my $request (1 .. 10)
    {
        $script .= tagged("SELECT sku FROM items WHERE id = " . ($request * 100 + $_),
            '/orders/<id>/items', 'OrderItems', $request) . ";\n"
          for 1 .. 12;
    }
    $script .= tagged("SELECT pg_sleep(0.2), 'slow report'",
        '/reports/slow', 'SlowReport', 2000 + $_) . ";\n"
      for 1 .. 15;
    $script .= "SET work_mem = '64kB';\n";
    $script .= tagged(
        "SELECT count(*) FROM (SELECT note FROM orders WHERE id <= 20000 ORDER BY note OFFSET 0) s",
        '/reports/export', 'Export', 3000 + $_) . ";\n"
      for 1 .. 2;
    $node->safe_psql('postgres', $script);
    return;
}

# `qprof collect --once` into $dir.
sub capture_once
{
    my ($node, $dir, @extra) = @_;
    my ($rc, $out, $err) = run_qprof('collect', '--dsn',
        $node->connstr('postgres'), '--out', $dir, '--once', '--bpf', 'off',
        @extra);
    die "qprof collect failed ($rc): $err" if $rc != 0;
    return;
}

# `qprof report --json ARGS...`: (exit status, decoded document, stderr).
sub report_json
{
    my (@args) = @_;
    my ($rc, $out, $err) = run_qprof('report', '--json', @args);
    my $doc = eval { JSON::PP->new->decode($out) };
    return ($rc, $doc, $err . ($@ ? "not JSON: $@" : ''));
}

# `qprof record` around psql running the SQL file `file` against `dsn`,
# into `out`; psql stops at the first error unless stop_on_error => 0.
sub record_script
{
    my ($dsn, $psql, $out, $file, %opts) = @_;
    my $stop = ($opts{stop_on_error} // 1) ? 1 : 0;
    my ($rc, $o, $err) = run_qprof('record', '--dsn', $dsn, '--out', $out,
        '--bpf', 'off', '--', $psql, '-X', '-q', '-v', "ON_ERROR_STOP=$stop",
        '-d', $dsn, '-f', $file);
    die "qprof record failed ($rc): $err" if $rc != 0;
    return;
}

# `qprof diff --json ARGS...`: (exit status, decoded document, stderr).
# Every document it decodes is checked against docs/diff.md's schema (one
# test each).
sub diff_json
{
    my (@args) = @_;
    my ($rc, $out, $err) = run_qprof('diff', '--json', @args);
    my $doc = eval { JSON::PP->new->decode($out) };
    my $decode_error = $@;
    if (defined $doc)
    {
        state $schema = diff_schema();
        my @errors = schema_errors($schema, $doc);
        my $what = join ' ', map { m{([^/]+)$} ? $1 : $_ } @args;
        is(scalar @errors, 0,
            "diff --json $what: the document validates against docs/diff.md")
          or diag join("\n", @errors[ 0 .. ($#errors < 20 ? $#errors : 19) ]);
    }
    return ($rc, $doc, $err . ($decode_error ? "not JSON: $decode_error" : ''));
}

# The row of a diff's `rows` (statements or routes) whose name matches
# `re`; dies without one.
sub diff_row
{
    my ($rows, $re) = @_;
    my ($row) = grep { $_->{name} =~ $re } @$rows;
    die "no row like $re" unless $row;
    return $row;
}

# Builds the capture fixture tests/report/NAME.cpp (capture_fixture.h: made
# up executions with kernel facts, through the collector's writer) against
# collector/build/libcapture.a into `dir`; returns the program's path.
sub build_capture_fixture
{
    my ($name, $dir) = @_;
    my $repo = repo_dir();
    my ($out, $err) = ('', '');
    IPC::Run::run(
        [ 'g++', '-O0', '-std=c++17', "-I$repo/collector/build",
            "-I$repo/collector/capture", "$repo/tests/report/$name.cpp",
            "$repo/collector/build/libcapture.a", '-lprotobuf', '-lzstd',
            '-lpthread', '-o', "$dir/$name" ],
        '>', \$out, '2>', \$err, IPC::Run::timeout(600))
      or BAIL_OUT("cannot build tests/report/$name.cpp: $err");
    return "$dir/$name";
}

# The JSON Schema block of docs/report-json.md.
# Opens the report page `page` in headless Chromium and runs
# tests/report/waits_probe.js in it with `keys`: (the browser's exit
# status, what the page logged and drew: {errors, probe}).
sub waits_page_probe
{
    my ($page, $keys) = @_;
    my $report_dir = File::Basename::dirname(__FILE__) . '/../report';
    my $probe = "$page.probe.js";
    open my $fh, '>', $probe or die "$probe: $!";
    print $fh "(function (keys) {\n" . PostgreSQL::Test::Utils::slurp_file("$report_dir/waits_probe.js")
      . "\n})(" . JSON::PP->new->encode($keys) . ')';
    close $fh;
    my ($out, $err) = ('', '');
    IPC::Run::run([ '/usr/bin/python3', "$report_dir/browser_page.py", $page, '--probe', $probe ],
        '>', \$out, '2>', \$err, IPC::Run::timeout(300));
    my $status = $?;
    Test::More::diag($err) if $status;
    return ($status, JSON::PP->new->utf8->decode($out || '{}'));
}

sub report_schema
{
    return _doc_schema('report-json.md', 'report-json-schema');
}

# The JSON Schema block of docs/diff.md (qprof-diff/2).
sub diff_schema
{
    return _doc_schema('diff.md', 'diff-json-schema');
}

# The ```json block after the <!-- $marker --> comment of docs/$file.
sub _doc_schema
{
    my ($file, $marker) = @_;
    my $path = repo_dir() . "/docs/$file";
    open my $fh, '<', $path or die "$path: $!";
    local $/;
    my $text = <$fh>;
    close $fh;
    $text =~ /<!-- \Q$marker\E -->\s*```json\n(.*?)\n```/s
      or die "no schema block in $path";
    return JSON::PP->new->decode($1);
}

# Errors of $value against $schema (the subset of JSON Schema the document
# uses: type, enum, required, properties, additionalProperties, items,
# minimum, allOf, oneOf, $ref into $defs), as "path: what" strings.
sub schema_errors
{
    my ($schema, $value) = @_;
    my @errors;
    _check($schema, $schema, $value, '$', \@errors);
    return @errors;
}

sub _json_type
{
    my ($v) = @_;
    return 'null' unless defined $v;
    my $ref = ref $v;
    return 'boolean' if $ref && JSON::PP::is_bool($v);
    return 'object' if $ref eq 'HASH';
    return 'array' if $ref eq 'ARRAY';
    my $flags = B::svref_2object(\$v)->FLAGS;
    if ($flags & (B::SVp_IOK | B::SVp_NOK) && !($flags & B::SVp_POK))
    {
        return $v == int($v) ? 'integer' : 'number';
    }
    return 'string';
}

sub _check
{
    my ($root, $s, $v, $path, $errors) = @_;
    if (my $ref = $s->{'$ref'})
    {
        my ($name) = $ref =~ m{^#/\$defs/(.+)$} or die "unsupported \$ref $ref";
        my $target = $root->{'$defs'}{$name} or die "no \$defs/$name";
        _check($root, $target, $v, $path, $errors);
    }
    for my $sub (@{ $s->{allOf} // [] })
    {
        _check($root, $sub, $v, $path, $errors);
    }
    if (my $one = $s->{oneOf})
    {
        my $matching = 0;
        for my $sub (@$one)
        {
            my @e;
            _check($root, $sub, $v, $path, \@e);
            $matching++ unless @e;
        }
        push @$errors, "$path: matches $matching of oneOf, not 1"
          if $matching != 1;
    }
    my $type = _json_type($v);
    if (exists $s->{type})
    {
        my @allowed = ref $s->{type} ? @{ $s->{type} } : ($s->{type});
        my $ok = grep {
            $_ eq $type || ($_ eq 'number' && $type eq 'integer')
        } @allowed;
        if (!$ok)
        {
            push @$errors, "$path: is $type, not " . join('|', @allowed);
            return;
        }
    }
    if (exists $s->{enum})
    {
        my $json = JSON::PP->new->canonical->allow_nonref;
        my $have = $json->encode($v);
        push @$errors, "$path: $have is not one of " . $json->encode($s->{enum})
          unless grep { $json->encode($_) eq $have } @{ $s->{enum} };
    }
    if (exists $s->{minimum} && ($type eq 'integer' || $type eq 'number'))
    {
        push @$errors, "$path: $v is below $s->{minimum}" if $v < $s->{minimum};
    }
    if ($type eq 'object')
    {
        for my $key (@{ $s->{required} // [] })
        {
            push @$errors, "$path: lacks $key" unless exists $v->{$key};
        }
        my $props = $s->{properties} // {};
        for my $key (sort keys %$v)
        {
            if (exists $props->{$key})
            {
                _check($root, $props->{$key}, $v->{$key}, "$path.$key", $errors);
            }
            elsif (ref $s->{additionalProperties} eq 'HASH')
            {
                _check($root, $s->{additionalProperties}, $v->{$key},
                    "$path.$key", $errors);
            }
            elsif (exists $s->{additionalProperties}
                && !$s->{additionalProperties})
            {
                push @$errors, "$path: unexpected $key";
            }
        }
    }
    if ($type eq 'array' && $s->{items})
    {
        for my $i (0 .. $#$v)
        {
            _check($root, $s->{items}, $v->[$i], "$path\[$i\]", $errors);
        }
    }
    return;
}

1;
