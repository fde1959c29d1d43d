#!/usr/bin/env bash
# Instruction cost per statement on the hot path (`make bench`).
#
# `postgres --single` reads N point SELECTs on pgbench_accounts from stdin
# under `valgrind --tool=callgrind`; the instructions of an empty run (same
# startup, no statement) are subtracted and the rest divided by N. Three
# configurations, side by side in the same run:
#   none                no preloaded library
#   queryid             no preloaded library, compute_query_id = on (the
#                       statement jumbling that both extensions turn on)
#   pg_stat_statements  shared_preload_libraries = pg_stat_statements, track = top
#   pg_qprof            shared_preload_libraries = pg_qprof, track = top,
#                       every execution recorded (sample_rate 1, min_duration 0)
#   qprof_sampled_10pct the same with sample_rate 0.1: one execution in ten
#                       recorded, the others counted
#   qprof_sampled_none  the same with sample_rate 0: what a statement pg_qprof
#                       does not record costs (the hooks it passes through,
#                       the decision, the count)
#   qprof_analyze_1pct  the same, per-node actuals for 1% of executions
#   qprof_analyze_all   the same, per-node actuals for every execution
# Needs root (runs the server as postgres) or the postgres user, the
# extension installed (make install) and valgrind.
#
# Environment: BENCH_N (statements per run, default 2000); BENCH_KEEP=1 keeps
# the work directory; BENCH_BASE_LIB (below). Results also go to tests/bench/out/.
set -euo pipefail

repo="$(cd "$(dirname "$0")/../.." && pwd)"
pg_bindir=/usr/lib/postgresql/15/bin
n="${BENCH_N:-2000}"
out_dir="$repo/tests/bench/out"
mkdir -p "$out_dir"

as_pg() {
    if [ "$(id -u)" -eq 0 ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

command -v valgrind >/dev/null || {
    echo "valgrind is missing: make deps" >&2
    exit 1
}
[ -f "$(pg_config --pkglibdir)/pg_qprof.so" ] || {
    echo "pg_qprof is not installed: make && make install" >&2
    exit 1
}

work="$(mktemp -d /tmp/qprof_bench.XXXXXX)"
data="$work/data"
cleanup() {
    if [ -f "$data/postmaster.pid" ]; then
        as_pg "$pg_bindir/pg_ctl" -D "$data" -m immediate stop >/dev/null 2>&1 || true
    fi
    if [ "${BENCH_KEEP:-0}" = 1 ]; then
        echo "kept $work"
    else
        rm -rf "$work"
    fi
}
trap cleanup EXIT
[ "$(id -u)" -eq 0 ] && chown postgres: "$work"

# A cluster with pgbench tables (scale 1: 100,000 accounts).
as_pg "$pg_bindir/initdb" -D "$data" -A trust --no-sync -E UTF8 --no-locale >/dev/null
cat >>"$data/postgresql.conf" <<EOF
fsync = off
huge_pages = off
jit = off
listen_addresses = ''
unix_socket_directories = '$work'
EOF
port=$((20000 + RANDOM % 10000))
as_pg "$pg_bindir/pg_ctl" -D "$data" -o "-p $port -c shared_preload_libraries=pg_qprof" \
    -l "$work/server.log" -w start >/dev/null
as_pg "$pg_bindir/pgbench" -i -s 1 -q -h "$work" -p "$port" postgres >/dev/null 2>&1
as_pg "$pg_bindir/psql" -X -q -h "$work" -p "$port" -d postgres \
    -c 'CREATE EXTENSION pg_qprof' -c 'VACUUM ANALYZE pgbench_accounts' >/dev/null
as_pg "$pg_bindir/pg_ctl" -D "$data" -m fast -w stop >/dev/null

# The statements: N point SELECTs with varying keys, one a line.
awk -v n="$n" 'BEGIN { for (i = 0; i < n; i++)
    printf "SELECT abalance FROM pgbench_accounts WHERE aid = %d;\n", (i * 7919) % 100000 + 1 }' \
    >"$work/stmts.sql"
: >"$work/empty.sql"
chmod 644 "$work"/*.sql

configs=(none queryid pg_stat_statements pg_qprof qprof_sampled_10pct
    qprof_sampled_none qprof_analyze_1pct qprof_analyze_all)
opts_none=()
opts_queryid=(-c compute_query_id=on)
opts_pg_stat_statements=(-c shared_preload_libraries=pg_stat_statements
    -c pg_stat_statements.track=top)
opts_pg_qprof=(-c shared_preload_libraries=pg_qprof -c pg_qprof.track=top
    -c pg_qprof.sample_rate=1 -c pg_qprof.min_duration=0)
opts_qprof_sampled_10pct=(-c shared_preload_libraries=pg_qprof
    -c pg_qprof.track=top -c pg_qprof.sample_rate=0.1 -c pg_qprof.min_duration=0)
opts_qprof_sampled_none=(-c shared_preload_libraries=pg_qprof
    -c pg_qprof.track=top -c pg_qprof.sample_rate=0 -c pg_qprof.min_duration=0)
# the same with per-node actuals kept for 1% and for every execution
opts_qprof_analyze_1pct=("${opts_pg_qprof[@]}" -c pg_qprof.analyze_sample_rate=0.01)
opts_qprof_analyze_all=("${opts_pg_qprof[@]}" -c pg_qprof.analyze_sample_rate=1)

# BENCH_BASE_LIB=/path/to/pg_qprof.so adds pg_qprof_base: the same
# settings as pg_qprof with another build of the library (an older commit's),
# so that a change's cost is read side by side in one run.
if [ -n "${BENCH_BASE_LIB:-}" ]; then
    configs+=(pg_qprof_base)
    opts_pg_qprof_base=(-c "shared_preload_libraries=$BENCH_BASE_LIB"
        -c pg_qprof.track=top -c pg_qprof.sample_rate=1 -c pg_qprof.min_duration=0)
fi

# Total instructions (callgrind Ir) of one single-user run reading $2.
count_ir() { # config input
    local cfg="$1" input="$2" opts_var out
    opts_var="opts_${cfg}[@]"
    out="$work/callgrind.$cfg.$(basename "$input" .sql)"
    as_pg valgrind --tool=callgrind --trace-children=no \
        --callgrind-out-file="$out" \
        "$pg_bindir/postgres" --single -D "$data" "${!opts_var}" postgres \
        <"$input" >"$out.stdout" 2>"$out.stderr" || {
        echo "run $cfg $input failed (status $?):" >&2
        tail -n 20 "$out.stderr" "$out.stdout" >&2 || ls -la "$work" >&2
        exit 1
    }
    awk '/^(summary|totals):/ { print $2; exit }' "$out"
}

# Make sure each run really did what it says: the library loaded, and for
# pg_qprof every statement recorded.
check_config() { # config
    local cfg="$1" opts_var
    opts_var="opts_${cfg}[@]"
    local probe="$work/probe.$cfg.sql"
    {
        head -n 10 "$work/stmts.sql"
        echo "SELECT 'libs=' || current_setting('shared_preload_libraries');"
        if [ "$cfg" = pg_qprof ]; then
            echo "SELECT 'written=' || samples_written FROM pg_qprof.status;"
        fi
    } >"$probe"
    chmod 644 "$probe"
    as_pg "$pg_bindir/postgres" --single -D "$data" "${!opts_var}" postgres \
        <"$probe" 2>&1 | grep -Eo '"(libs|written)=[^"]*"' | tr -d '"' | tr '\n' ' '
}

echo "pg_qprof hot-path cost: $n point SELECTs on pgbench_accounts, postgres --single under callgrind"
declare -A per_stmt
for cfg in "${configs[@]}"; do
    probe_out="$(check_config "$cfg")"
    echo "  $cfg: $probe_out"
    # the probe runs 10 statements and the settings query before reading
    # the status: all 11 must have been recorded
    if [ "$cfg" = pg_qprof ] && ! grep -q 'written=11 ' <<<"$probe_out"; then
        echo "pg_qprof did not record every statement in single-user mode" >&2
        exit 1
    fi
    empty=$(count_ir "$cfg" "$work/empty.sql")
    full=$(count_ir "$cfg" "$work/stmts.sql")
    per_stmt[$cfg]=$(((full - empty) / n))
    echo "    total Ir: empty $empty, with statements $full"
done

{
    printf '\n%-20s %18s %15s %15s\n' configuration "instructions/stmt" \
        "delta vs none" "vs queryid"
    base=${per_stmt[none]}
    qbase=${per_stmt[queryid]}
    for cfg in "${configs[@]}"; do
        v=${per_stmt[$cfg]}
        case "$cfg" in
        none) printf '%-20s %18d %15s %15s\n' "$cfg" "$v" - - ;;
        queryid) printf '%-20s %18d %+15d %15s\n' "$cfg" "$v" "$((v - base))" - ;;
        *) printf '%-20s %18d %+15d %+15d\n' "$cfg" "$v" "$((v - base))" "$((v - qbase))" ;;
        esac
    done
} | tee "$out_dir/instructions.txt"

# Where pg_qprof's own code spends them: self instructions per statement of
# each function in pg_qprof.so (run with statements minus the empty run).
self_ir() { # callgrind output -> "instructions<TAB>function" for pg_qprof.so
    callgrind_annotate --threshold=100 "$1" 2>/dev/null |
        awk '/pg_qprof\.so\]$/ {
            ir = $1; gsub(",", "", ir)
            fn = $0; sub(/^[^:]*:/, "", fn); sub(/ \[[^]]*\]$/, "", fn)
            gsub(/\(anonymous namespace\)::/, "", fn); sub(/^void /, "", fn)
            if (fn ~ /</) sub(/<.*$/, "<>", fn); else sub(/\(.*$/, "", fn)
            print ir "\t" fn }'
}
top_functions() { # config
    printf '\npg_qprof.so, self instructions per statement (top functions), %s:\n' "$1"
    awk -F'\t' -v n="$n" '
        FNR == NR { empty[$2] += $1; next }
        { full[$2] += $1 }
        END {
            for (f in full) {
                d = (full[f] - empty[f]) / n
                total += d
                if (d >= 1) printf "%10.0f  %s\n", d, f
            }
            printf "%10.0f  (all of pg_qprof.so)\n", total
        }' <(self_ir "$work/callgrind.$1.empty") \
        <(self_ir "$work/callgrind.$1.stmts") | sort -rn | head -n 16
}
{
    top_functions pg_qprof
    top_functions qprof_sampled_10pct
    top_functions qprof_sampled_none
} | tee -a "$out_dir/instructions.txt"

echo "per analyzed execution (qprof_analyze_all - pg_qprof): $((per_stmt[qprof_analyze_all] - per_stmt[pg_qprof])) instructions" |
    tee -a "$out_dir/instructions.txt"

qprof_delta=$((per_stmt[pg_qprof] - per_stmt[none]))
pgss_delta=$((per_stmt[pg_stat_statements] - per_stmt[none]))
if [ "$qprof_delta" -le "$pgss_delta" ]; then
    echo "target met: pg_qprof adds no more than pg_stat_statements ($qprof_delta <= $pgss_delta)"
else
    echo "target missed: pg_qprof adds $qprof_delta instructions/statement, pg_stat_statements $pgss_delta"
fi
