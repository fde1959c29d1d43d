#!/usr/bin/env bash
# `qprof export` into ClickHouse (docs/clickhouse.md, "What it costs"): a
# synthetic capture (tests/bench/synth_capture.cpp: thousands of statements,
# routes, requests, plans, kernel facts, errors) exported into a ClickHouse
# server started here with its own configuration, on free ports: samples
# per second exported (the best of CLICKHOUSE_BENCH_RUNS exports into empty
# tables), then the bytes per sample ClickHouse keeps once the parts are
# merged (OPTIMIZE ... FINAL), per column for the largest ones.
#
# Environment: CLICKHOUSE_BENCH_SAMPLES (default 1e6), CLICKHOUSE_BENCH_RUNS
# (default 2), QPROF (default collector/build/qprof), BENCH_KEEP=1 keeps the
# folder. Needs the collector built (make -C collector) and
# clickhouse-server (tests/deps/clickhouse.txt). Run as a user that is not
# root (ClickHouse's files are its own), e.g.
#   runuser -u postgres -- bash tests/bench/clickhouse_export.sh
set -euo pipefail

repo="$(cd "$(dirname "$0")/../.." && pwd)"
qprof="${QPROF:-$repo/collector/build/qprof}"
source "$repo/tests/bench/clickhouse_server.sh"
samples=$(awk -v s="${CLICKHOUSE_BENCH_SAMPLES:-1e6}" 'BEGIN { printf "%d", s }')
runs="${CLICKHOUSE_BENCH_RUNS:-2}"
[ -x "$qprof" ] && [ -f "$repo/collector/build/libcapture.a" ] ||
    { echo "build the collector first: make -C collector" >&2; exit 1; }

work="$(mktemp -d /tmp/qprof_clickhouse_bench.XXXXXX)"
cleanup() {
    clickhouse_stop
    if [ "${BENCH_KEEP:-0}" = 1 ]; then echo "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT

clickhouse_start "$work/ch"
url=$ch_url
q() { ch "$1"; }

g++ -O2 -std=c++17 -I"$repo/collector/build" -I"$repo/collector/capture" \
    "$repo/tests/bench/synth_capture.cpp" "$repo/collector/build/libcapture.a" \
    -lprotobuf -lzstd -lpthread -o "$work/synth_capture"
mkdir -p "$work/capture"
"$work/synth_capture" --out "$work/capture" --samples "$samples" --seed 1 >/dev/null
capture_bytes=$(du -sb "$work/capture" | cut -f1)

echo "qprof export into ClickHouse $(q 'SELECT version()'): $samples synthetic samples," \
    "$(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
best=
for run in $(seq "$runs"); do
    q 'DROP DATABASE IF EXISTS qprof' >/dev/null
    "$qprof" export --clickhouse "$url" --create-schema >/dev/null
    start=$(date +%s.%N)
    "$qprof" export --clickhouse "$url" "$work/capture" >"$work/export.log"
    end=$(date +%s.%N)
    seconds=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.2f", b - a }')
    echo "  run $run: $(cat "$work/export.log")"
    if [ -z "$best" ] || awk -v a="$seconds" -v b="$best" 'BEGIN { exit !(a < b) }'; then
        best=$seconds
    fi
done
stored=$(q 'SELECT count() FROM qprof.samples FINAL')
q 'OPTIMIZE TABLE qprof.samples_local FINAL' >/dev/null || true
for p in $(q "SELECT DISTINCT partition FROM system.parts WHERE database = 'qprof' AND table = 'samples_local' AND active FORMAT TSV"); do
    q "OPTIMIZE TABLE qprof.samples_local PARTITION $p FINAL" >/dev/null
done
echo "  samples in ClickHouse (FINAL): $stored"
awk -v n="$samples" -v s="$best" 'BEGIN { printf "  exported: %.0f samples/s (best of runs, wall time of qprof export, %.2f s)\n", n / s, s }'
q "SELECT formatReadableSize(sum(bytes_on_disk)), sum(bytes_on_disk) / sum(rows), sum(rows), count()
   FROM system.parts WHERE database = 'qprof' AND table = 'samples_local' AND active FORMAT TSV" |
    awk -F'\t' '{ printf "  samples_local on disk: %s, %.1f bytes per sample (%d rows in %d parts, merged)\n", $1, $2, $3, $4 }'
awk -v b="$capture_bytes" -v n="$samples" 'BEGIN { printf "  the capture files: %.1f bytes per sample\n", b / n }'
q "SELECT table, formatReadableSize(sum(bytes_on_disk)) FROM system.parts
   WHERE database = 'qprof' AND active AND table != 'samples_local' GROUP BY table ORDER BY table FORMAT TSV" |
    awk -F'\t' '{ printf "  %s: %s\n", $1, $2 }'
echo "  largest columns of samples_local (compressed bytes per sample):"
q "SELECT name, data_compressed_bytes / $samples AS b FROM system.columns
   WHERE database = 'qprof' AND table = 'samples_local' ORDER BY b DESC LIMIT 8 FORMAT TSV" |
    awk -F'\t' '{ printf "    %-22s %6.2f\n", $1, $2 }'
