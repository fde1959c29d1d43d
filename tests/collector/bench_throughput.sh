#!/bin/bash
# Throughput of `qprof collect` (a benchmark, not a test): fills the ring of a
# temporary server with a pgbench workload, then times one `qprof collect
# --once` draining it, and reports samples/s (wall and per collector CPU
# second) and bytes per sample on disk.
#   bash tests/collector/bench_throughput.sh [SECONDS_OF_LOAD] [RING_MB] [select|tpcb]
# Run as root (the server runs as postgres). Needs qprof on PATH or built in
# collector/build.
set -euo pipefail

load_seconds=${1:-20}
ring_mb=${2:-1024}
workload=${3:-select}
case "$workload" in
select) pgbench_mode=(-S) ;;
tpcb) pgbench_mode=() ;;
*) echo "workload: select or tpcb" >&2; exit 1 ;;
esac
here=$(cd "$(dirname "$0")/../.." && pwd)
qprof=$(command -v qprof || echo "$here/collector/build/qprof")
source "$here/tests/bench/bench_cluster.sh"
bench_cluster_create bench "pg_qprof.ring_size = '${ring_mb}MB'" "max_connections = 40"
server start
psql=(psql -h "$work" -p "$port" -U postgres -qAtX)
"${psql[@]}" -c "CREATE EXTENSION pg_qprof"
as_pg "$pgbin/pgbench" -h "$work" -p "$port" -U postgres -i -s 2 -q postgres \
    >/dev/null 2>&1
"${psql[@]}" -c "SELECT pg_qprof.reset()" >/dev/null

echo "load: pgbench ${pgbench_mode[*]} -M prepared -c 4 -j 2 for ${load_seconds}s (ring ${ring_mb} MB)"
as_pg "$pgbin/pgbench" -h "$work" -p "$port" -U postgres "${pgbench_mode[@]}" -M prepared \
    -c 4 -j 2 -T "$load_seconds" postgres >/dev/null 2>&1
read -r head oldest capacity < <("${psql[@]}" -F ' ' -c \
    "SELECT head_seq, oldest_seq, capacity FROM pg_qprof.status")
echo "ring: head_seq=$head oldest_seq=$oldest capacity=$capacity"

mkdir "$work/out"
start=$(date +%s.%N)
/usr/bin/time -f '%U %S' -o "$work/cpu" "$qprof" collect --once --bpf off \
    --dsn "host=$work port=$port user=postgres dbname=postgres" \
    --out "$work/out" --batch 50000 --frame-records 16384
end=$(date +%s.%N)

samples=$("$qprof" dump --check "$work/out" | sed -n 's/^total: .* files, \([0-9]*\) samples.*/\1/p')
bytes=$(cat "$work"/out/*.qprof | wc -c)
read -r user sys <"$work/cpu"
awk -v n="$samples" -v b="$bytes" -v s="$start" -v e="$end" -v u="$user" \
    -v y="$sys" 'BEGIN {
        wall = e - s; cpu = u + y;
        printf "samples: %d in %.2f s wall, collector CPU %.2f s (user %.2f, sys %.2f)\n", n, wall, cpu, u, y;
        printf "throughput: %.0f samples/s wall, %.0f samples per collector CPU second\n", n / wall, (cpu > 0 ? n / cpu : 0);
        printf "size: %d bytes, %.2f bytes/sample\n", b, b / n;
    }'
