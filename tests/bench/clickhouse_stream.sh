#!/usr/bin/env bash
# `qprof collect --clickhouse` under load (docs/clickhouse.md, "What it
# costs"): a throw-away PostgreSQL cluster with pg_qprof (the installed
# extension), a ClickHouse server, both started here; pgbench -S for
# CLICKHOUSE_STREAM_SECONDS (default 30) with CLICKHOUSE_STREAM_CLIENTS
# clients (default 4) while the collector loads each file (rotated every
# 2 s) into ClickHouse. Prints the samples per second captured and
# streamed, the ring's losses, and how long after the collector stopped
# ClickHouse had every sample of the capture.
#
# Environment: QPROF (default collector/build/qprof). Run as root (the
# servers run as postgres):
#   bash tests/bench/clickhouse_stream.sh
set -euo pipefail

repo="$(cd "$(dirname "$0")/../.." && pwd)"
qprof="${QPROF:-$repo/collector/build/qprof}"
seconds="${CLICKHOUSE_STREAM_SECONDS:-30}"
clients="${CLICKHOUSE_STREAM_CLIENTS:-4}"
source "$repo/tests/bench/bench_cluster.sh"
source "$repo/tests/bench/clickhouse_server.sh"
bench_requires curl
[ -x "$qprof" ] || { echo "build the collector first: make -C collector" >&2; exit 1; }

collector_pid=
bench_cluster_at_exit() {
    [ -n "$collector_pid" ] && kill "$collector_pid" 2>/dev/null || true
    clickhouse_stop
}
bench_cluster_create clickhouse_stream 'pg_qprof.ring_size = 64MB'
server start
clickhouse_start "$work/ch" postgres
as_pg "$pgbin/psql" -h "$work" -p "$port" -d postgres -qc 'CREATE EXTENSION pg_qprof'
as_pg "$pgbin/pgbench" -h "$work" -p "$port" -i -s 5 -q postgres >/dev/null 2>&1
as_pg "$qprof" export --clickhouse "$ch_url" --create-schema >/dev/null

echo "qprof collect --clickhouse: pgbench -S, $clients clients, $seconds s; $(nproc) cores," \
    "load average $(cut -d' ' -f1-3 /proc/loadavg)"
"$qprof" collect --dsn "host=$work port=$port dbname=postgres user=postgres" \
    --out "$work/cap" --bpf off --rotate-seconds 2 --clickhouse "$ch_url" \
    2>"$work/collector.log" &
collector_pid=$!
sleep 1
kill -0 "$collector_pid" 2>/dev/null || { echo "collector failed:"; cat "$work/collector.log"; exit 1; }
as_pg "$pgbin/pgbench" -h "$work" -p "$port" -S -n -c "$clients" -j 2 -T "$seconds" postgres \
    >"$work/pgbench.log" 2>&1
tps=$(awk '/^tps = / { printf "%.0f", $3; exit }' "$work/pgbench.log")
stopped=$(date +%s.%N)
kill -TERM "$collector_pid"
wait "$collector_pid" || { echo "collector failed:"; cat "$work/collector.log"; exit 1; }
collector_pid=
done_at=$(date +%s.%N)
captured=$("$qprof" dump --check "$work/cap" | awk '/^total:/ { print $4 }')
stored=$(ch 'SELECT count() FROM qprof.samples FINAL')
lost=$("$qprof" report --json "$work/cap" | python3 -c 'import json, sys; l = json.load(sys.stdin)["summary"]["losses"]; print(l["overwritten"] + l["reset"] + l["epoch_changed"] + l["unknown"])')
awk -v t="$tps" -v c="$captured" -v s="$seconds" -v st="$stored" -v l="$lost" \
    -v a="$stopped" -v b="$done_at" 'BEGIN {
    printf "  pgbench: %s tps; captured %d samples (%.0f a second), lost %d in the ring\n", t, c, c / (s + 1), l
    printf "  ClickHouse: %d samples (FINAL), all of the capture: %s; the last files in %.1f s after SIGTERM\n", st, (st == c ? "yes" : "NO"), b - a
}'
files=$(ls "$work/cap"/*.qprof | wc -l)
echo "  $files capture files, the last loaded: $(cat "$work/cap/clickhouse.exported")"
