#!/usr/bin/env bash
# Instructions `qprof collect` spends per sample (part of `make bench`):
# CPU time of the collector moves with the machine, instruction counts do
# not. `qprof collect` runs under valgrind --tool=callgrind while pgbench
# runs N, then 2N select-only transactions on a temporary server (restarted
# in between, which empties its ring); it is stopped once it has captured
# them all. The difference divided by N is the cost of one sample, startup
# excluded. With --bpf off, and with --bpf on where BPF can be loaded (each
# sample is then joined with its execution's kernel facts; the collector
# runs while pgbench does, as it gives no facts to executions that began
# before it watched the server). The collector reads the ring from the
# server's memory (root may); the first line reads it through SQL instead,
# where a backend copies the samples out of the ring, which the
# collector's count does not include.
#
# Run as root (the server runs as postgres; BPF). Needs valgrind, the
# extension installed and qprof on PATH or built in collector/build.
# Environment: COLLECTOR_BENCH_N (default 20000).
set -euo pipefail

n=${COLLECTOR_BENCH_N:-20000}
repo="$(cd "$(dirname "$0")/../.." && pwd)"
source "$repo/tests/bench/bench_cluster.sh"
qprof=$(command -v qprof || echo "$repo/collector/build/qprof")
out_dir="$repo/tests/bench/out"
mkdir -p "$out_dir"
bench_requires valgrind
[ -x "$qprof" ] || { echo "no qprof collector ($qprof): make collector" >&2; exit 1; }

bench_cluster_create collector_bench "pg_qprof.ring_size = '128MB'"
server start
as_pg "$pgbin/pgbench" -i -q -s 1 -h "$work" -p "$port" postgres >/dev/null 2>&1
as_pg "$pgbin/psql" -X -q -h "$work" -p "$port" -d postgres -c 'CREATE EXTENSION pg_qprof'
dsn="host=$work port=$port user=postgres dbname=postgres"

captured() { # samples in the capture directory so far
    "$qprof" dump "$work/capture" 2>/dev/null | grep -c '"kind":"sample"' || true
}

# Instructions of one `qprof collect` capturing `count` select-only
# pgbench transactions on a freshly restarted server.
drain_ir() { # count bpf ring-read
    local count=$1 bpf=$2 ring=$3 out="$work/callgrind.$2.$3.$1" pid waited
    server restart
    rm -rf "$work/capture"
    valgrind --tool=callgrind --callgrind-out-file="$out" \
        "$qprof" collect --dsn "$dsn" --out "$work/capture" --bpf "$bpf" \
        --ring-read "$ring" --frame-seconds 0.5 >"$out.stdout" 2>"$out.stderr" &
    pid=$!
    # attached and writing once the capture file has its header
    for waited in $(seq 600); do
        [ -s "$(ls "$work"/capture/*.qprof 2>/dev/null | head -n 1)" ] && break
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    as_pg "$pgbin/pgbench" -n -b select-only -t "$count" -c 1 -h "$work" -p "$port" postgres >/dev/null
    for waited in $(seq 600); do
        [ "$(captured)" -ge "$count" ] && break
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.2
    done
    kill -INT "$pid" 2>/dev/null || true
    wait "$pid" || {
        echo "qprof collect --bpf $bpf under valgrind failed:" >&2
        tail -n 20 "$out.stderr" >&2
        return 1
    }
    "$qprof" dump --check "$work/capture" | sed -n 's/^total: .* \([0-9]*\) samples.*/\1/p' >"$out.samples"
    awk '/^(summary|totals):/ { print $2; exit }' "$out"
}

report() { # bpf ring-read
    local bpf=$1 ring=$2 small large s_small s_large
    small=$(drain_ir "$n" "$bpf" "$ring") || return 1
    large=$(drain_ir $((2 * n)) "$bpf" "$ring") || return 1
    s_small=$(cat "$work/callgrind.$bpf.$ring.$n.samples")
    s_large=$(cat "$work/callgrind.$bpf.$ring.$((2 * n)).samples")
    printf '  --bpf %-3s --ring-read %-6s  %6d instructions per sample  (%d samples: %d, %d samples: %d)\n' \
        "$bpf" "$ring" $(((large - small) / (s_large - s_small))) "$s_small" "$small" "$s_large" "$large"
}

{
    echo "qprof collect, instructions per sample (callgrind, pgbench select-only samples, $n and $((2 * n)) drained):"
    report off sql
    report off memory
    if "$qprof" collect --dsn "$dsn" --out "$work/probe" --once --bpf on >/dev/null 2>"$work/probe.err"; then
        report on memory
    else
        echo "  --bpf on: not measured, BPF cannot be loaded here: $(head -n 1 "$work/probe.err")"
    fi
} | tee "$out_dir/collector_instructions.txt"
