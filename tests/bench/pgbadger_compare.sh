#!/usr/bin/env bash
# qprof report against pgBadger, side by side in one run (`make bench`):
# pgbench select-only, CLIENTS clients, RUNS interleaved rounds (the order
# rotates each round) on throw-away clusters, in three configurations:
#   plain    no library preloaded, nothing logged
#   logged   the same cluster with log_min_duration_statement = 0: every
#            statement in the server log, the way a DBA feeds pgBadger
#   qprof    a cluster with pg_qprof preloaded, every statement recorded
#            (the defaults: sample_rate 1, min_duration 0) and `qprof
#            collect` running (--bpf $COMPARE_BPF)
# It prints the median TPS of each and its change against plain (also the
# median of each round's change against that round's plain run), then the
# time each tool takes to turn that configuration's output into its
# report: `pgbadger` on the server log of the logged runs, `qprof report`
# (terminal, and with --html) on the capture of the qprof runs, with the
# statements each read and the time per million of them.
#
# Environment: RUNS (3), DURATION seconds per run (10), CLIENTS (2), SCALE
# (10), COMPARE_BPF (off; auto or on attaches the BPF programs, root only),
# PGBADGER_JOBS (1, pgBadger's default), QPROF (default collector/build/qprof).
# Needs root, the extension installed (make install), pgbadger and
# /usr/bin/time (make deps). Results also go to
# tests/bench/out/pgbadger_compare.txt.
set -euo pipefail

RUNS=${RUNS:-3}
DURATION=${DURATION:-10}
CLIENTS=${CLIENTS:-2}
SCALE=${SCALE:-10}
COMPARE_BPF=${COMPARE_BPF:-off}
PGBADGER_JOBS=${PGBADGER_JOBS:-1}
repo="$(cd "$(dirname "$0")/../.." && pwd)"
pgbin=/usr/lib/postgresql/15/bin
qprof="${QPROF:-$repo/collector/build/qprof}"
out_dir="$repo/tests/bench/out"
mkdir -p "$out_dir"
# pgBadger's recommended prefix for a stderr log (its documentation)
log_prefix='%t [%p]: user=%u,db=%d,app=%a,client=%h '

[ "$(id -u)" -eq 0 ] || { echo "run as root" >&2; exit 1; }
for tool in pgbadger /usr/bin/time "$qprof"; do
    command -v "$tool" >/dev/null || { echo "needs $tool (make deps; make -C collector)" >&2; exit 1; }
done
[ -f "$(pg_config --pkglibdir)/pg_qprof.so" ] ||
    { echo "pg_qprof is not installed: make && make install" >&2; exit 1; }

work=$(mktemp -d /tmp/qprof_pgbadger.XXXXXX)
chown postgres "$work"
collector_pid=0
declare -A port=([plain]=$((20000 + RANDOM % 5000)) [qprof]=$((25000 + RANDOM % 5000)))

as_pg() { runuser -u postgres -- "$@"; }
cleanup() {
    if [ "$collector_pid" -gt 0 ]; then
        kill -INT "$collector_pid" 2>/dev/null || true
        wait "$collector_pid" 2>/dev/null || true
    fi
    for name in plain qprof; do
        [ -f "$work/$name/postmaster.pid" ] &&
            as_pg "$pgbin/pg_ctl" -D "$work/$name" -m immediate stop >/dev/null 2>&1
    done
    rm -f /run/pg_qprof/words-*-"${port[qprof]}"
    if [ "${BENCH_KEEP:-0}" = 1 ]; then echo "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

make_cluster() { # name preload
    local name=$1 preload=$2
    as_pg "$pgbin/initdb" -D "$work/$name" -A trust -U postgres --no-sync >/dev/null
    mkdir -p "$work/log_$name" && chown postgres "$work/log_$name"
    cat >>"$work/$name/postgresql.conf" <<EOF
port = ${port[$name]}
listen_addresses = ''
unix_socket_directories = '$work'
shared_buffers = '256MB'
max_connections = 50
# the disk of a shared VM makes fsync-bound noise; this measures CPU cost
synchronous_commit = off
shared_preload_libraries = '$preload'
logging_collector = on
log_directory = '$work/log_$name'
log_filename = 'postgresql.log'
log_rotation_size = 0
log_rotation_age = 0
log_line_prefix = '$log_prefix'
lc_messages = 'C'
log_min_duration_statement = -1
EOF
    as_pg "$pgbin/pg_ctl" -D "$work/$name" -l "$work/$name.start.log" -w start >/dev/null
}

psql_to() { # name args...
    local name=$1
    shift
    "$pgbin/psql" -X -q -A -t -v ON_ERROR_STOP=1 -h "$work" -p "${port[$name]}" \
        -U postgres -d postgres "$@"
}

pgbench_tps() { # name
    "$pgbin/pgbench" -h "$work" -p "${port[$1]}" -U postgres -n -b select-only \
        -T "$DURATION" -c "$CLIENTS" -j "$CLIENTS" postgres 2>/dev/null |
        sed -n 's/^tps = \([0-9.]*\) .*/\1/p'
}

set_logging() { # value of log_min_duration_statement
    psql_to plain -c "ALTER SYSTEM SET log_min_duration_statement = $1" \
        -c 'SELECT pg_reload_conf()' >/dev/null
    sleep 0.5
}

# One run of `config`; its TPS is added to tps[config].
run_config() { # config
    local result
    case "$1" in
    plain) result=$(pgbench_tps plain) ;;
    logged)
        set_logging 0
        result=$(pgbench_tps plain)
        set_logging -1
        ;;
    qprof)
        # one capture over the rounds: the collector resumes where it
        # stopped (its state file), so no execution is captured twice
        local out="$work/capture"
        mkdir -p "$out"
        "$qprof" collect --dsn "host=$work port=${port[qprof]} user=postgres dbname=postgres" \
            --out "$out" --bpf "$COMPARE_BPF" 2>>"$work/collector.log" &
        collector_pid=$!
        sleep 2
        kill -0 "$collector_pid" ||
            { echo "collector failed:" >&2; cat "$work/collector.log" >&2; exit 1; }
        result=$(pgbench_tps qprof)
        sleep 1 # the collector drains what is left in the ring
        kill -INT "$collector_pid"
        local status=0
        wait "$collector_pid" || status=$?
        collector_pid=0
        [ "$status" -eq 0 ] || { echo "collector exited with $status" >&2; exit 1; }
        ;;
    esac
    [ -n "$result" ] || { echo "pgbench failed ($1)" >&2; exit 1; }
    tps[$1]+="$result "
}

median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# One timed command, its output to a file: prints "wall_s cpu_s maxrss_kib".
timed() { # output_file command...
    local output="$1" log="$work/time.log"
    shift
    /usr/bin/time -v -o "$log" "$@" >"$output" ||
        { echo "failed: $*" >&2; tail -n 20 "$output" >&2; exit 1; }
    awk -F': ' '
        /Elapsed \(wall clock\)/ { n = split($2, p, ":"); w = 0
            for (i = 1; i <= n; i++) w = w * 60 + p[i] }
        /User time/ { cpu += $2 } /System time/ { cpu += $2 }
        /Maximum resident set size/ { rss = $2 }
        END { printf "%.2f %.2f %d\n", w, cpu, rss }' "$log"
}

make_cluster plain ''
make_cluster qprof pg_qprof
psql_to qprof -c 'CREATE EXTENSION pg_qprof' >/dev/null
for name in plain qprof; do
    "$pgbin/pgbench" -h "$work" -p "${port[$name]}" -U postgres -i -q -s "$SCALE" \
        postgres >/dev/null 2>&1
    psql_to "$name" -c 'VACUUM ANALYZE' -c CHECKPOINT >/dev/null
done

# the capture holds the qprof runs' statements only, not the set-up's
psql_to qprof -c 'SELECT pg_qprof.reset()' >/dev/null

configs=(plain logged qprof)
declare -A tps=()
for ((round = 0; round < RUNS; round++)); do
    for ((k = 0; k < ${#configs[@]}; k++)); do
        config=${configs[$(((k + round) % ${#configs[@]}))]}
        run_config "$config"
    done
done

log="$work/log_plain/postgresql.log"
logged_statements=$(grep -c ' duration: ' "$log" || true)
"$qprof" dump --check "$work"/capture >"$work/check.txt" ||
    { tail -n 5 "$work/check.txt" >&2; echo "dump --check failed" >&2; exit 1; }
captured=$(sed -n 's/^total: .* files, \([0-9]*\) samples.*/\1/p' "$work/check.txt")
capture_bytes=$(du -cb "$work"/capture/*.qprof | tail -1 | cut -f1)
log_bytes=$(stat -c %s "$log")

badger=$(timed "$work/pgbadger.out" pgbadger -q -j "$PGBADGER_JOBS" \
    --prefix "$log_prefix" -o "$work/pgbadger.html" "$log")
report=$(timed "$work/report.txt" "$qprof" report "$work"/capture)
report_html=$(timed "$work/report_html.txt" "$qprof" report "$work"/capture \
    --html "$work/report.html")
[ -s "$work/pgbadger.html" ] && [ -s "$work/report.html" ] ||
    { echo "a report is missing" >&2; exit 1; }

{
    echo "pgbench select-only, $CLIENTS clients, scale $SCALE, $DURATION s per run," \
        "$RUNS interleaved rounds, $(nproc) CPUs (load average at the end: $(cut -d' ' -f1-3 /proc/loadavg))"
    base=$(tr ' ' '\n' <<<"${tps[plain]}" | grep . | median)
    read -r -a base_runs <<<"${tps[plain]}"
    for config in "${configs[@]}"; do
        read -r -a runs_of <<<"${tps[$config]}"
        med=$(printf '%s\n' "${runs_of[@]}" | median)
        paired=$(for ((r = 0; r < ${#runs_of[@]}; r++)); do
            awk -v v="${runs_of[$r]}" -v b="${base_runs[$r]}" 'BEGIN { print (v - b) / b * 100 }'
        done | median)
        case $config in
        plain) label="plain" ;;
        logged) label="log_min_duration_statement = 0" ;;
        qprof) label="pg_qprof + qprof collect (--bpf $COMPARE_BPF)" ;;
        esac
        printf '  %-44s median %9.0f TPS  %+6.1f%% vs plain (paired %+.1f%%)  runs: %s\n' \
            "$label" "$med" "$(awk -v m="$med" -v b="$base" 'BEGIN { print (m - b) / b * 100 }')" \
            "$paired" "${tps[$config]}"
    done
    echo
    echo "the reports, from the output of those runs:"
    printf '  %-34s %12s %9s %8s %8s %9s %13s\n' tool statements "input" "wall s" "cpu s" \
        "max RSS" "cpu s per 1M"
    printf '  %-34s %12s %9s %8s %8s %9s %13s\n' "" "" MiB "" "" MiB statements
    line() { # label statements bytes "wall cpu rss"
        local w c r
        read -r w c r <<<"$4"
        awk -v l="$1" -v n="$2" -v b="$3" -v w="$w" -v c="$c" -v r="$r" 'BEGIN {
            printf "  %-34s %12d %9.1f %8.2f %8.2f %9.1f %13.2f\n",
                l, n, b / 1048576, w, c, r / 1024, n ? c * 1e6 / n : 0 }'
    }
    line "pgbadger -j $PGBADGER_JOBS (server log)" "$logged_statements" "$log_bytes" "$badger"
    line "qprof report (capture)" "$captured" "$capture_bytes" "$report"
    line "qprof report --html (capture)" "$captured" "$capture_bytes" "$report_html"
} | tee "$out_dir/pgbadger_compare.txt"
