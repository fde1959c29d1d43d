#!/usr/bin/env bash
# What pg_qprof's own code costs a backend: the share of the backends' CPU
# samples whose innermost pg_qprof frame is the caller of what ran, with
# the PostgreSQL function it wraps (standard_planner, standard_Executor*)
# not below it. Unlike the library's share of the samples
# (library_cpu_share.sh), this counts what our code calls outside the
# library (the clock reads, libc) and nothing PostgreSQL would do anyway.
# Its jumbling (JumbleQuery), which pg_stat_statements needs as well, is
# given apart.
#
#   bash tests/bench/backend_own_share.sh
#
# pgbench select-only at saturation on a throw-away cluster; the backends
# are sampled with call stacks (perf, CPU clock, DWARF unwinding) for
# DURATION seconds in the middle of the run. Run as root (the server runs
# as postgres). Environment: DURATION (4), CLIENTS (2), TOP (functions
# listed, 8).
set -euo pipefail

DURATION=${DURATION:-4}
CLIENTS=${CLIENTS:-2}
TOP=${TOP:-8}
source "$(dirname "$0")/bench_cluster.sh"
bench_requires perf

bench_cluster_create ownshare
server start
as_pg "$pgbin/pgbench" -i -q -s 10 -h "$work" -p "$port" postgres >/dev/null 2>&1
as_pg "$pgbin/pgbench" -h "$work" -p "$port" -n -b select-only -T 3 -c "$CLIENTS" \
    -j "$CLIENTS" postgres >/dev/null 2>&1
as_pg "$pgbin/pgbench" -h "$work" -p "$port" -n -b select-only -T $((DURATION + 6)) \
    -c "$CLIENTS" -j "$CLIENTS" postgres >"$work/pgbench.out" 2>&1 &
pgbench_pid=$!
sleep 3
backends=$(pgrep -d, -f 'postgres: postgres postgres \[local\]')
perf record -F 1999 --call-graph dwarf,16384 -p "$backends" -o "$work/perf.data" \
    -- sleep "$DURATION" >/dev/null 2>&1
wait "$pgbench_pid"
perf script -i "$work/perf.data" -F comm,ip,sym 2>/dev/null >"$work/stacks"

echo "pg_qprof's own code in the backends, pgbench select-only, $CLIENTS clients," \
    "$(sed -n 's/^tps = \([0-9]*\).*/\1/p' "$work/pgbench.out") TPS:"
python3 - "$work/stacks" "$TOP" <<'EOF'
import collections, sys

# perf script: a "comm" line, then one "ip symbol" line per frame,
# innermost first, then a blank line.
stacks, frames = [], []
for line in open(sys.argv[1]):
    if not line.strip():
        if frames:
            stacks.append(frames)
        frames = []
    elif line[0] in ' \t':
        parts = line.split(None, 1)
        frames.append(parts[1].strip() if len(parts) > 1 else '?')
if frames:
    stacks.append(frames)

wrapped = ('standard_planner', 'standard_ExecutorStart', 'standard_ExecutorRun',
           'standard_ExecutorFinish', 'standard_ExecutorEnd',
           'standard_ProcessUtility')
own = collections.Counter()
jumbling = 0
for frames in stacks:
    if any(f.startswith('JumbleQuery') for f in frames):
        jumbling += 1
    for depth, frame in enumerate(frames):
        if 'qprof' not in frame:
            continue
        if not any(f.startswith(wrapped) for f in frames[:depth]):
            name = frame.replace('(anonymous namespace)::', '')
            own[name.split('(')[0].split('<')[0]] += 1
        break

total = len(stacks)
print(f'  {total} samples of the backends')
print(f'  pg_qprof own code  {100 * sum(own.values()) / total:5.2f}%')
for name, n in own.most_common(int(sys.argv[2])):
    print(f'      {100 * n / total:5.2f}%  {name}')
print(f'  JumbleQuery        {100 * jumbling / total:5.2f}%  (query ids, needed by pg_stat_statements too)')
EOF
