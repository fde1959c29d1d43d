#!/usr/bin/env bash
# Share of the machine's CPU samples spent in pg_qprof.so while pgbench
# runs select-only at saturation (`perf record -a`; this machine kind has no
# hardware counters, so samples come from the CPU clock). TPS on a shared
# machine moves by more than the library costs; its share of the samples
# does not, nor do its functions' shares.
#
#   bash tests/bench/library_cpu_share.sh             # the installed library
#   bash tests/bench/library_cpu_share.sh A.so B.so   # two builds, alternating
#
# Run as root (the server runs as postgres). Environment: ROUNDS (3),
# DURATION seconds per run (10), CLIENTS (2), TOP (functions listed, 5).
# Each build is installed in turn (the installed library is put back at
# the end) and the server restarted with it.
set -euo pipefail

ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-10}
CLIENTS=${CLIENTS:-2}
TOP=${TOP:-5}
source "$(dirname "$0")/bench_cluster.sh"
bench_requires perf
lib="$(pg_config --pkglibdir)/pg_qprof.so"

bench_cluster_create libshare
installed="$work/installed.so"
cp "$lib" "$installed"
# never copied over in place: a running server maps it
bench_cluster_at_exit() { cp --remove-destination "$installed" "$lib"; }
builds=("$@")
[ ${#builds[@]} -gt 0 ] || builds=("$installed")
server start
as_pg "$pgbin/pgbench" -i -q -s 10 -h "$work" -p "$port" postgres >/dev/null 2>&1
as_pg "$pgbin/psql" -X -q -h "$work" -p "$port" -d postgres -c 'CREATE EXTENSION pg_qprof'

echo "pg_qprof.so's share of the machine's CPU samples, pgbench select-only, $CLIENTS clients, $DURATION s, $ROUNDS rounds:"
for ((round = 1; round <= ROUNDS; round++)); do
    for build in "${builds[@]}"; do
        cp --remove-destination "$build" "$lib"
        server restart
        perf record -a -o "$work/perf.data" -- sleep $((DURATION + 2)) >/dev/null 2>&1 &
        perf_pid=$!
        sleep 1
        tps=$(as_pg "$pgbin/pgbench" -h "$work" -p "$port" -n -b select-only -T "$DURATION" \
            -c "$CLIENTS" -j "$CLIENTS" postgres 2>/dev/null | sed -n 's/^tps = \([0-9.]*\).*/\1/p')
        wait "$perf_pid"
        share=$(perf report -i "$work/perf.data" --sort dso --stdio 2>/dev/null |
            awk '$2 == "pg_qprof.so" { print $1 }')
        printf '  round %d  %-40s %8.0f TPS  library %s\n' "$round" "$(basename "$build")" "$tps" "${share:-0%}"
        perf report -i "$work/perf.data" --dso pg_qprof.so --sort symbol --stdio 2>/dev/null |
            awk -v top="$TOP" '/^ +[0-9.]+%/ && n < top {
                n++; name = $0; sub(/^.*\[\.\] /, "", name); sub(/[ -]+$/, "", name)
                printf "      %6s %s\n", $1, name }'
    done
done
