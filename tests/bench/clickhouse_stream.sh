#!/usr/bin/env bash
# `qprof collect --clickhouse` under load (docs/clickhouse.md, "What it
# costs"): a throw-away PostgreSQL cluster with pg_qprof (the installed
# extension), a ClickHouse server, both started here; for each run,
# pgbench -S for CLICKHOUSE_STREAM_SECONDS (default 30) with
# CLICKHOUSE_STREAM_CLIENTS clients (default 4), at CLICKHOUSE_STREAM_RATE
# transactions a second (pgbench -R; default: as fast as it goes), while a
# collector sends
# the capture to ClickHouse. Prints, per run, the samples per second
# captured, the ring's losses, the rows in ClickHouse against the capture
# (FINAL and as sent), how long a statement took to be in ClickHouse
# (probes run every 2 s during the workload), the CPU of the collector's
# threads (the main one drains the ring, the other is the export thread),
# the bytes of capture files the collector mapped to read them (strace),
# how long after SIGTERM ClickHouse had every sample, and what the
# collector says its passes over the open file read (a build that says it).
#
# Runs: CLICKHOUSE_STREAM_RUNS, space-separated NAME=QPROF:ROTATE_SECONDS
# (default "qprof=$QPROF:10"; QPROF defaults to collector/build/qprof), in
# the order given, on the same servers: alternate them to compare builds
# on a loaded machine. The server is restarted before each run, so that
# each capture starts with an empty ring, and each run loads into a
# database of its own, created by its own qprof. Run as root (the servers
# run as postgres):
#   bash tests/bench/clickhouse_stream.sh
#   CLICKHOUSE_STREAM_RUNS="old=/tmp/old/qprof:2 new=collector/build/qprof:10 \
#     old=/tmp/old/qprof:2 new=collector/build/qprof:10" bash tests/bench/clickhouse_stream.sh
set -euo pipefail

repo="$(cd "$(dirname "$0")/../.." && pwd)"
qprof="${QPROF:-$repo/collector/build/qprof}"
seconds="${CLICKHOUSE_STREAM_SECONDS:-30}"
clients="${CLICKHOUSE_STREAM_CLIENTS:-4}"
rate="${CLICKHOUSE_STREAM_RATE:-}"
runs="${CLICKHOUSE_STREAM_RUNS:-qprof=$qprof:10}"
source "$repo/tests/bench/bench_cluster.sh"
source "$repo/tests/bench/clickhouse_server.sh"
bench_requires curl strace

collector_pid=
probe_pid=
sampler_pid=
bench_cluster_at_exit() {
    [ -n "$probe_pid" ] && kill "$probe_pid" 2>/dev/null || true
    [ -n "$sampler_pid" ] && kill "$sampler_pid" 2>/dev/null || true
    [ -n "$collector_pid" ] && kill "$collector_pid" 2>/dev/null || true
    clickhouse_stop
}
bench_cluster_create clickhouse_stream 'pg_qprof.ring_size = 64MB'
server start
clickhouse_start "$work/ch" postgres
as_pg "$pgbin/psql" -h "$work" -p "$port" -d postgres -qc 'CREATE EXTENSION pg_qprof'
as_pg "$pgbin/pgbench" -h "$work" -p "$port" -i -s 5 -q postgres >/dev/null 2>&1
psql_pg() { as_pg "$pgbin/psql" -h "$work" -p "$port" -d postgres -qAtc "$1"; }

# Every 2 s, the same statement once more (the alias names it) and the
# seconds until ClickHouse has as many samples of it, one line each to $1.
probe_latency() { # out database
    local out=$1 db=$2 i=0 t0 found
    : >"$out"
    while :; do
        i=$((i + 1))
        t0=$(date +%s.%N)
        psql_pg "SELECT 1 AS qprof_probe" >/dev/null
        found=0
        for _ in $(seq 300); do
            found=$(ch "SELECT count() FROM $db.samples_local WHERE queryid IN
                (SELECT queryid FROM $db.statements_local
                 WHERE position(text, 'qprof_probe') > 0)" 2>/dev/null || echo 0)
            [ "${found:-0}" -ge "$i" ] && break
            sleep 0.1
        done
        if [ "${found:-0}" -ge "$i" ]; then
            awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f\n", b - a }' >>"$out"
        fi
        sleep 2
    done
}

# The CPU ticks of each thread of the process, read every 0.5 s (the
# largest reading of each thread counts).
sample_threads() { # pid out
    local pid=$1 out=$2
    : >"$out"
    while kill -0 "$pid" 2>/dev/null; do
        cat /proc/"$pid"/task/*/stat 2>/dev/null | awk '{ print $1, $14 + $15 }' >>"$out" || true
        sleep 0.5
    done
}

echo "qprof collect --clickhouse: pgbench -S, $clients clients${rate:+ at $rate tps}, $seconds s per run; $(nproc) cores," \
    "load average $(cut -d' ' -f1-3 /proc/loadavg)"
n=0
for run in $runs; do
    n=$((n + 1))
    name=${run%%=*}
    spec=${run#*=}
    binary=${spec%:*}
    rotate=${spec##*:}
    [ -x "$binary" ] || { echo "$name: no executable $binary (make -C collector)" >&2; exit 1; }
    db="qprof_$n"
    dir="$work/cap$n"
    mkdir "$dir"
    chown postgres "$dir"
    server restart
    as_pg "$binary" export --clickhouse "$ch_url" --database "$db" --create-schema >/dev/null
    # strace stops the collector at its mmap calls only (seccomp filter)
    strace -f --seccomp-bpf -y -e trace=mmap -o "$dir.strace" \
        "$binary" collect --dsn "host=$work port=$port dbname=postgres user=postgres" \
        --out "$dir" --bpf off --rotate-seconds "$rotate" --clickhouse "$ch_url" \
        --clickhouse-database "$db" 2>"$dir.log" &
    collector_pid=$!
    qpid=
    for _ in $(seq 50); do
        qpid=$(pgrep -P "$collector_pid" || true)
        [ -n "$qpid" ] && break
        sleep 0.1
    done
    sleep 1
    kill -0 "$qpid" 2>/dev/null || { echo "collector failed:"; cat "$dir.log"; exit 1; }
    sample_threads "$qpid" "$dir.cpu" &
    sampler_pid=$!
    probe_latency "$dir.latency" "$db" &
    probe_pid=$!
    as_pg "$pgbin/pgbench" -h "$work" -p "$port" -S -n -c "$clients" -j 2 -T "$seconds" \
        ${rate:+-R "$rate"} postgres \
        >"$dir.pgbench" 2>&1
    kill "$probe_pid" 2>/dev/null || true
    wait "$probe_pid" 2>/dev/null || true
    probe_pid=
    tps=$(awk '/^tps = / { printf "%.0f", $3; exit }' "$dir.pgbench")
    stopped=$(date +%s.%N)
    kill -TERM "$qpid"
    wait "$collector_pid" || { echo "collector failed:"; cat "$dir.log"; exit 1; }
    collector_pid=
    done_at=$(date +%s.%N)
    wait "$sampler_pid" 2>/dev/null || true
    sampler_pid=
    captured=$("$binary" dump --check "$dir" | awk '/^total:/ { print $4 }')
    stored=$(ch "SELECT count() FROM $db.samples_local FINAL")
    sent=$(ch "SELECT count() FROM $db.samples_local")
    lost=$("$binary" report --json "$dir" | python3 -c 'import json, sys; l = json.load(sys.stdin)["summary"]["losses"]; print(l["overwritten"] + l["reset"] + l["epoch_changed"] + l["unknown"])')
    files=$(ls "$dir"/*.qprof | wc -l)
    file_bytes=$(cat "$dir"/*.qprof | wc -c)
    read -r maps mapped < <(awk '/mmap\(/ && /\.qprof>/ { split($0, a, ", "); n++; s += a[2] } END { print n + 0, s + 0 }' "$dir.strace")
    hz=$(getconf CLK_TCK)
    read -r main_cpu other_cpu others < <(awk -v p="$qpid" -v hz="$hz" '
        $2 > t[$1] { t[$1] = $2 }
        END { for (i in t) if (i == p) m = t[i]; else { o += t[i]; k++ }
              printf "%.2f %.2f %d\n", m / hz, o / hz, k }' "$dir.cpu")
    latency=$(sort -n "$dir.latency" | awk '{ v[NR] = $1 } END { if (NR) printf "median %.2f s, max %.2f s (%d probes)", v[int((NR + 1) / 2)], v[NR], NR; else print "no probe seen" }')
    echo "$name ($binary, --rotate-seconds $rotate):"
    awk -v t="$tps" -v c="$captured" -v s="$seconds" -v st="$stored" -v se="$sent" -v l="$lost" \
        -v a="$stopped" -v b="$done_at" 'BEGIN {
        printf "  pgbench: %s tps; captured %d samples (%.0f a second), lost %d in the ring\n", t, c, c / (s + 1), l
        printf "  ClickHouse: %d samples (FINAL), %d rows as sent; all of the capture: %s; the last in %.1f s after SIGTERM\n", st, se, (st == c ? "yes" : "NO"), b - a
    }'
    echo "  statement to ClickHouse: $latency"
    echo "  CPU: main thread $main_cpu s, other threads ($others, the export) $other_cpu s"
    awk -v m="$maps" -v b="$mapped" -v f="$file_bytes" -v k="$files" 'BEGIN {
        printf "  capture files: %d, %.1f MiB; mapped %d times, %.1f MiB, %.1f times their size (a header read maps a file too)\n", k, f / 1048576, m, b / 1048576, (f ? b / f : 0)
    }'
    sed -n 's/^qprof collect: ClickHouse followed/  followed/p' "$dir.log"
done
