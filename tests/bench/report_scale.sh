#!/usr/bin/env bash
# `qprof report` at scale (`make bench`): synthetic captures of 1, 2.5, 5
# and 10 million samples (tests/bench/synth_capture.cpp: thousands of
# statements with skewed frequencies, routes and requests, plans and plan
# changes, per-node actuals for 1%, kernel facts, errors, losses, three
# epochs), each read by `qprof report` under /usr/bin/time -v: wall time,
# CPU time and maximum resident set size, best of REPORT_SCALE_RUNS runs;
# then one `--json` and one `--html` run per size. The target (issue 27):
# 10 million samples in at most 5 s and 512 MiB, time growing linearly.
#
# Environment: REPORT_SCALE_SIZES (samples, default "1e6 2.5e6 5e6 1e7"),
# REPORT_SCALE_RUNS (default 2), QPROF (default collector/build/qprof),
# BENCH_KEEP=1 keeps the captures. Results also go to
# tests/bench/out/report_scale.txt. Needs the collector built (make -C
# collector) and /usr/bin/time (Debian's time).
set -euo pipefail

repo="$(cd "$(dirname "$0")/../.." && pwd)"
qprof="${QPROF:-$repo/collector/build/qprof}"
sizes="${REPORT_SCALE_SIZES:-1e6 2.5e6 5e6 1e7}"
runs="${REPORT_SCALE_RUNS:-2}"
out_dir="$repo/tests/bench/out"
mkdir -p "$out_dir"

[ -x /usr/bin/time ] || { echo "needs /usr/bin/time: make deps" >&2; exit 1; }
[ -x "$qprof" ] && [ -f "$repo/collector/build/libcapture.a" ] ||
    { echo "build the collector first: make -C collector" >&2; exit 1; }

work="$(mktemp -d /tmp/qprof_report_scale.XXXXXX)"
cleanup() {
    if [ "${BENCH_KEEP:-0}" = 1 ]; then echo "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT

# The generator links the collector's capture library: the same writer,
# definition tables and sample codec as `qprof collect`.
g++ -O2 -std=c++17 -I"$repo/collector/build" -I"$repo/collector/capture" \
    "$repo/tests/bench/synth_capture.cpp" "$repo/collector/build/libcapture.a" \
    -lprotobuf -lzstd -lpthread -o "$work/synth_capture"

# One timed command, its output to a file: prints "wall_s cpu_s maxrss_kib
# exit".
timed() { # output_file command...
    local output="$1" log="$work/time.log" status=0
    shift
    /usr/bin/time -v -o "$log" "$@" >"$output" || status=$?
    awk -v status="$status" -F': ' '
        /Elapsed \(wall clock\)/ { n = split($2, p, ":"); w = 0
            for (i = 1; i <= n; i++) w = w * 60 + p[i] }
        /User time/ { cpu += $2 } /System time/ { cpu += $2 }
        /Maximum resident set size/ { rss = $2 }
        END { printf "%.2f %.2f %d %d\n", w, cpu, rss, status }' "$log"
}

echo "qprof report at scale: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
results="$work/results"
: >"$results"
for size in $sizes; do
    samples=$(awk -v s="$size" 'BEGIN { printf "%d", s }')
    capture="$work/c$samples"
    mkdir -p "$capture"
    "$work/synth_capture" --out "$capture" --samples "$samples" --seed 1 |
        sed 's/^/  /'
    "$qprof" dump --check "$capture" >"$work/check.txt" ||
        { tail -n 5 "$work/check.txt" >&2; echo "dump --check failed" >&2; exit 1; }
    bytes=$(du -sb "$capture" | cut -f1)
    best=""
    for _ in $(seq "$runs"); do
        t=$(timed "$work/report.txt" "$qprof" report "$capture")
        [ "$(cut -d' ' -f4 <<<"$t")" = 0 ] ||
            { echo "qprof report failed on $samples samples" >&2; exit 1; }
        if [ -z "$best" ] || awk -v a="$t" -v b="$best" \
            'BEGIN { split(a, x, " "); split(b, y, " "); exit !(x[1] < y[1]) }'; then
            best="$t"
        fi
    done
    json=$(timed "$work/report.json" "$qprof" report "$capture" --json)
    html=$(timed /dev/null "$qprof" report "$capture" --html "$work/report.html")
    python3 -c 'import json, sys; json.load(open(sys.argv[1]))' "$work/report.json" ||
        { echo "--json wrote no JSON" >&2; exit 1; }
    [ -s "$work/report.html" ] || { echo "--html wrote nothing" >&2; exit 1; }
    echo "$samples $bytes $best $json $html" >>"$results"
    echo "  $samples samples: report $best (wall s, cpu s, max RSS KiB, exit)"
done

{
    printf '\n%11s %9s %8s %8s %10s %9s %8s %8s\n' samples "capture" "wall s" \
        "cpu s" "max RSS" "cpu ns/" "--json" "--html"
    printf '%11s %9s %8s %8s %10s %9s %8s %8s\n' "" MiB "" "" MiB sample "wall s" "wall s"
    awk '{ printf "%11d %9.1f %8.2f %8.2f %10.1f %9.0f %8.2f %8.2f\n",
               $1, $2 / 1048576, $3, $4, $5 / 1024, $4 * 1e9 / $1, $7, $11 }' "$results"
    # Linear growth: CPU time per sample of the largest size against the
    # smallest (1.0 is linear; fixed costs make small sizes dearer).
    awk 'NR == 1 { s0 = $1; c0 = $4 } { s1 = $1; c1 = $4; w1 = $3; r1 = $5 }
        END {
            printf "\ngrowth: %.1fx the samples, %.1fx the CPU time (per sample %.2fx)\n",
                s1 / s0, c1 / c0, (c1 / s1) / (c0 / s0)
            ok = (w1 <= 5 && r1 <= 512 * 1024)
            printf "%s: %d samples in %.2f s wall (%.2f s CPU), %.0f MiB (target 5 s, 512 MiB)\n",
                ok ? "target met" : "target missed", s1, w1, c1, r1 / 1024
        }' "$results"
} | tee "$out_dir/report_scale.txt"
