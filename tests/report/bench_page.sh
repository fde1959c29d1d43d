#!/usr/bin/env bash
# The HTML page of `qprof report --html` at scale: a synthetic capture with
# 100,000 distinct statements (tests/bench/synth_capture.cpp), reported
# with --top 20 (the default), 1,000 and 100,000 rows a table, each page
# opened in headless Chromium (browser_page.py): the page's size and the
# time from navigation until it has drawn everything (window.qprofReport
# .readyMs), best of PAGE_BENCH_RUNS runs.
#
# Environment: PAGE_BENCH_STATEMENTS (100000), PAGE_BENCH_SAMPLES (2000000),
# PAGE_BENCH_TOPS ("20 1000 100000"), PAGE_BENCH_RUNS (2), QPROF (default
# collector/build/qprof). Needs the collector built and chromium.
set -euo pipefail

repo="$(cd "$(dirname "$0")/../.." && pwd)"
qprof="${QPROF:-$repo/collector/build/qprof}"
statements="${PAGE_BENCH_STATEMENTS:-100000}"
samples="${PAGE_BENCH_SAMPLES:-2000000}"
tops="${PAGE_BENCH_TOPS:-20 1000 100000}"
runs="${PAGE_BENCH_RUNS:-2}"

work="$(mktemp -d /tmp/qprof_page_bench.XXXXXX)"
trap 'rm -rf "$work"' EXIT

g++ -O2 -std=c++17 -I"$repo/collector/build" -I"$repo/collector/capture" \
    "$repo/tests/bench/synth_capture.cpp" "$repo/collector/build/libcapture.a" \
    -lprotobuf -lzstd -lpthread -o "$work/synth_capture"
mkdir -p "$work/capture"
"$work/synth_capture" --out "$work/capture" --samples "$samples" \
    --statements "$statements" >/dev/null

echo "capture: $samples samples, $statements distinct statements"
printf '%-8s %12s %10s %12s %10s %12s\n' top statements listed "page MiB" "report s" "open ms"
for top in $tops; do
    page="$work/page-$top.html"
    started=$(date +%s.%N)
    "$qprof" report "$work/capture" --top "$top" --html "$page" >/dev/null
    report_s=$(python3 -c "import sys; print(float(sys.argv[1]) - float(sys.argv[2]))" "$(date +%s.%N)" "$started")
    read -r rows listed < <("$qprof" report "$work/capture" --top "$top" --json |
        python3 -c 'import json,sys; d=json.load(sys.stdin); print(len(d["statements"]), d.get("statement_index", {}).get("count", len(d["statements"])))')
    best=""
    for _ in $(seq 1 "$runs"); do
        ms=$(python3 "$repo/tests/report/browser_page.py" "$page" --timeout 600 |
            python3 -c 'import json,sys; r=json.load(sys.stdin); assert not r["errors"], r["errors"]; print(round(r["ready_ms"]))')
        if [ -z "$best" ] || [ "$ms" -lt "$best" ]; then best=$ms; fi
    done
    printf '%-8s %12s %10s %12.1f %10.1f %12s\n' "$top" "$rows" "$listed" \
        "$(python3 -c "import sys; print(int(sys.argv[1]) / 1048576)" "$(stat -c %s "$page")")" "$report_s" "$best"
done
