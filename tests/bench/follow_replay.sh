#!/usr/bin/env bash
# What a streaming pass of `qprof collect --clickhouse` reads as its open
# file grows (docs/clickhouse.md, "What it costs"), without PostgreSQL or
# ClickHouse: a synthetic capture of FOLLOW_REPLAY_SAMPLES samples
# (default 300000; tests/bench/synth_capture.cpp) in one file, replayed a
# frame at a time by tests/bench/follow_replay.cpp with a pass after each
# frame, reading the file again from its start (fd867dc) or only the
# frames added (CaptureSet::read_appended); the two alternated
# FOLLOW_REPLAY_RUNS times (default 2), for a loaded machine; then, with
# FOLLOW_REPLAY_CALLGRIND=1, each once under callgrind, for the
# instructions (the machine's load does not change them). Built against
# collector/build (make -C collector first).
#   bash tests/bench/follow_replay.sh
#   FOLLOW_REPLAY_SAMPLES=1000000 FOLLOW_REPLAY_CALLGRIND=1 bash tests/bench/follow_replay.sh
set -euo pipefail

repo="$(cd "$(dirname "$0")/../.." && pwd)"
samples="${FOLLOW_REPLAY_SAMPLES:-300000}"
runs="${FOLLOW_REPLAY_RUNS:-2}"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

flags=(-O2 -std=c++17 -I"$repo/collector/build" -I"$repo/collector/capture")
libs=("$repo/collector/build/libcapture.a" -lprotobuf -lzstd -lpthread)
g++ "${flags[@]}" "$repo/tests/bench/synth_capture.cpp" "${libs[@]}" -o "$work/synth_capture"
g++ "${flags[@]}" "$repo/tests/bench/follow_replay.cpp" "${libs[@]}" -o "$work/follow_replay"
mkdir "$work/capture"
"$work/synth_capture" --out "$work/capture" --samples "$samples" --seed 1 --rotate-mib 4096 >/dev/null
file=$(ls "$work"/capture/*.qprof | head -1)
echo "a pass after each frame of one file of $samples synthetic samples; $(nproc) cores," \
    "load average $(cut -d' ' -f1-3 /proc/loadavg)"
for _ in $(seq "$runs"); do
    for mode in again appended; do
        rm -f "$work/followed.qprof"
        "$work/follow_replay" "$file" "$work" "$mode"
    done
done
if [ "${FOLLOW_REPLAY_CALLGRIND:-0}" = 1 ]; then
    for mode in again appended; do
        rm -f "$work/followed.qprof"
        valgrind --tool=callgrind --callgrind-out-file="$work/callgrind.$mode" \
            "$work/follow_replay" "$file" "$work" "$mode" 2>"$work/valgrind.$mode" |
            sed 's/;.*//'
        awk -v m="$mode" '/Collected :/ { printf "  %s: %.1f million instructions, all the passes\n", m, $4 / 1e6 }' \
            "$work/valgrind.$mode"
    done
fi
