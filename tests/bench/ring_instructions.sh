#!/usr/bin/env bash
# Instructions of the ring's writer per sample: ring_begin_write and
# ring_end_write (inclusive), uncontended, counted by callgrind over
# tests/ring/ring_protocol_test.cpp --write N, built from extension/ring.cpp
# with the code generation flags PGXS gives the extension. Other ring.cpp
# files given as arguments (for example an older one, from `git show
# REV:extension/ring.cpp > old_ring.cpp`) are measured alongside.
#
# Environment: RING_BENCH_N (samples, default 100000).
set -euo pipefail

repo="$(cd "$(dirname "$0")/../.." && pwd)"
n="${RING_BENCH_N:-100000}"
command -v valgrind >/dev/null || {
    echo "valgrind is missing: make deps" >&2
    exit 1
}
work="$(mktemp -d /tmp/qprof_ring_bench.XXXXXX)"
trap 'rm -rf "$work"' EXIT

flags=(-std=c++17 -O2 -g -fPIC -fno-omit-frame-pointer -fno-strict-aliasing
    -fwrapv -pthread -Wno-register -I"$repo/extension"
    -I"$(pg_config --includedir-server)")

# "begin end" instructions per sample of the ring.cpp given.
measure() { # ring.cpp
    local program="$work/writer"
    g++ "${flags[@]}" "$repo/tests/ring/ring_protocol_test.cpp" "$1" \
        -o "$program"
    valgrind --tool=callgrind --callgrind-out-file="$work/out" \
        "$program" --write "$n" >/dev/null 2>&1
    # the call sites in write_sample: the calls' inclusive cost
    callgrind_annotate --inclusive=yes "$work/out" \
        "$repo/tests/ring/ring_protocol_test.cpp" | awk -v n="$n" '
        /=> .*ring_begin_write\(/ { gsub(",", "", $1); b += $1 }
        /=> .*ring_end_write\(/ { gsub(",", "", $1); e += $1 }
        END { printf "%d %d\n", b / n, e / n }'
}

printf '%-40s %18s %16s %6s\n' ring.cpp ring_begin_write ring_end_write sum
for source in "$repo/extension/ring.cpp" "$@"; do
    read -r begin end < <(measure "$source")
    printf '%-40s %18d %16d %6d\n' "$(basename "$(dirname "$source")")/$(basename "$source")" \
        "$begin" "$end" "$((begin + end))"
done
