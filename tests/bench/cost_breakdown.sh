#!/usr/bin/env bash
# Where the machine's CPU goes per pgbench transaction, and what each part
# of pg_qprof adds to it. TPS at saturation on a shared 2-core machine moves
# by more than the overhead; the CPU time per transaction, split by who
# spends it, tells which part of the cost is whose.
#
#   bash tests/bench/cost_breakdown.sh
#
# One throw-away cluster, restarted with each configuration in turn, ROUNDS
# times in rotating order:
#   plain      no preloaded library
#   queryid    no preloaded library, compute_query_id = on (the statement
#              jumbling that pg_stat_statements and pg_qprof both turn on)
#   pgss       pg_stat_statements
#   qprof      pg_qprof recording every execution, nothing reading
#   collect    + `qprof collect --bpf off`
#   bpf-nosys  + `qprof collect --bpf on --bpf-syscalls off`
#   bpf        + `qprof collect --bpf on`
#   light      the same with pg_qprof.sample_rate = 0.1 (one top-level
#              statement in ten recorded; the others are not jumbled)
#   collect-sql, bpf-sql  the same as collect and bpf, the collector reading
#              the ring through SQL (`--ring-read sql`) instead of from the
#              postmaster's memory
# Each run is pgbench at saturation under `perf record -a` (CPU clock: this
# machine kind has no hardware counters; idle CPUs are sampled too). Every
# sample goes to one part:
#   pg user      the server's processes in user space, jumbling included
#   pg_qprof.so  the library, in every backend but the collector's
#   pg kernel    the server's processes in the kernel (system calls,
#                scheduling), BPF aside
#   bpf          BPF programs and the kernel code that runs them and their
#                helpers (bpf_*, htab_*, ...), whichever process ran them;
#                but not sched_switch's program: it runs with interrupts
#                off, where the CPU clock cannot sample, and its time goes
#                to where they are turned on again, the kernel time of the
#                process switched in
#   collector    the `qprof` process (user and kernel)
#   its backends the collector's backends (the definitions; with
#                `--ring-read sql`, also the one reading the ring)
#   pgbench      the client (user and kernel)
#   other        every other process
#   idle         no process
# and is worth 1/FREQ s of one CPU. The table gives the median over the
# rounds of µs per transaction, each part and in all (idle excluded), with
# the change of the total against the first configuration (`plain`).
#
# Run as root (the server runs as postgres; BPF). Environment: ROUNDS (3),
# DURATION seconds per run (10), CLIENTS (2), WORKLOAD (select-only or
# tpcb-like), FREQ (samples per second per CPU, 2000), CONFIGS (which
# configurations), QPROF (qprof binary, default from PATH), KEEP_PERF=PREFIX
# (keeps each run's perf.data as PREFIX.CONFIG), KEEP_LOG=1 (prints the
# server log at the end).
set -euo pipefail

ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-10}
CLIENTS=${CLIENTS:-2}
WORKLOAD=${WORKLOAD:-select-only}
FREQ=${FREQ:-2000}
CONFIGS=${CONFIGS:-plain queryid pgss qprof collect bpf-nosys bpf light}
QPROF=${QPROF:-$(command -v qprof || true)}
source "$(dirname "$0")/bench_cluster.sh"
bench_requires perf
[ -x "$QPROF" ] || { echo "needs the qprof collector (make install-collector)" >&2; exit 1; }

collector_pid=0
bench_cluster_at_exit() {
    [ "$collector_pid" -eq 0 ] || kill "$collector_pid" 2>/dev/null || true
    [ -z "${KEEP_LOG:-}" ] || cat "$work/server.log" >&2
}
bench_cluster_create costs "include_if_exists = 'configuration.conf'"
server start
as_pg "$pgbin/pgbench" -i -q -s 10 -h "$work" -p "$port" postgres >/dev/null 2>&1
psql_do() { as_pg "$pgbin/psql" -X -q -At -h "$work" -p "$port" -d postgres "$@"; }
psql_do -c 'CREATE EXTENSION pg_qprof' -c 'VACUUM ANALYZE' -c CHECKPOINT

# Restarts the server with the settings of a configuration.
configure() {
    local preload=pg_qprof query_id=auto rate=1
    case $1 in
    plain) preload='' ;;
    queryid) preload='' query_id=on ;;
    pgss) preload=pg_stat_statements ;;
    light) rate=0.1 ;;
    esac
    printf "shared_preload_libraries = '%s'\ncompute_query_id = %s\n" "$preload" "$query_id" \
        >"$work/data/configuration.conf"
    [ "$preload" != pg_qprof ] || echo "pg_qprof.sample_rate = $rate" >>"$work/data/configuration.conf"
    server restart
}

start_collector() { # collect options
    mkdir -p "$work/capture"
    "$QPROF" collect --dsn "host=$work port=$port dbname=postgres user=postgres" \
        --out "$work/capture" "$@" 2>>"$work/collector.log" &
    collector_pid=$!
    sleep 2 # connected and, with --bpf on, attached
    kill -0 "$collector_pid" || { cat "$work/collector.log" >&2; exit 1; }
}

stop_collector() {
    kill -INT "$collector_pid"
    wait "$collector_pid" || true
    collector_pid=0
    rm -rf "$work/capture"
}

# One run: appends "config tps part=us ..." to $work/runs.
measure() {
    local config=$1 backends=
    configure "$config"
    case $config in
    collect) start_collector --bpf off ;;
    bpf-nosys) start_collector --bpf on --bpf-syscalls off ;;
    bpf | light) start_collector --bpf on ;;
    collect-sql) start_collector --bpf off --ring-read sql ;;
    bpf-sql) start_collector --bpf on --ring-read sql ;;
    esac
    [ "$collector_pid" -eq 0 ] ||
        backends=$(psql_do -c "SELECT string_agg(pid::text, ',') FROM pg_stat_activity WHERE application_name = 'qprof collect'")
    perf record -a -F "$FREQ" -e cpu-clock -o "$work/perf.data" -- \
        runuser -u postgres -- "$pgbin/pgbench" -h "$work" -p "$port" -n -b "$WORKLOAD" \
        -T "$DURATION" -c "$CLIENTS" -j "$CLIENTS" postgres >"$work/pgbench.out" 2>/dev/null
    [ -z "${KEEP_PERF:-}" ] || cp "$work/perf.data" "$KEEP_PERF.$config"
    [ "$collector_pid" -eq 0 ] || stop_collector
    local tx
    tx=$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' "$work/pgbench.out")
    perf script -i "$work/perf.data" -F comm,pid,ip,sym,dso 2>/dev/null | awk \
        -v config="$config" -v tx="$tx" -v us_per_sample="$((1000000 / FREQ))" \
        -v backends="$backends" -v duration="$DURATION" '
        BEGIN { split(backends, list, ","); for (i in list) backend[list[i]] = 1 }
        {
            comm = $1; pid = $2; sym = $4; dso = $NF
            kernel = dso ~ /^\(\[kernel|^\(bpf_prog_/
            if (pid == 0) part = "idle"
            else if (kernel && sym ~ /^(bpf_|__bpf_|htab_|__htab_|lookup_nulls_elem_raw|copy_from_user_nofault)/) part = "bpf"
            else if (comm == "qprof") part = "collector"
            else if (pid in backend) part = "backends"
            else if (dso ~ /pg_qprof\.so/) part = "library"
            else if (comm == "postgres") part = kernel ? "pgkernel" : "pguser"
            else if (comm == "pgbench") part = "pgbench"
            else part = "other"
            n[part]++
        }
        END {
            printf "%s %.0f", config, tx / duration
            split("pguser library pgkernel bpf collector backends pgbench other idle", parts, " ")
            for (i = 1; i <= 9; i++)
                printf " %s=%.3f", parts[i], n[parts[i]] * us_per_sample / tx
            printf "\n"
        }' >>"$work/runs"
}

read -r -a configs <<<"$CONFIGS"
for ((round = 0; round < ROUNDS; round++)); do
    for ((i = 0; i < ${#configs[@]}; i++)); do
        measure "${configs[$(((i + round) % ${#configs[@]}))]}"
    done
done

echo "CPU µs per $WORKLOAD transaction, by part (median of $ROUNDS rounds; $CLIENTS clients, $DURATION s, $(nproc) CPUs):"
perl -e '
    my @configs = split " ", $ARGV[0];
    my @parts = qw(pguser library pgkernel bpf collector backends pgbench other);
    my %runs;
    open my $in, "<", $ARGV[1] or die;
    while (<$in>) {
        my ($config, $tps, @kv) = split;
        my %r = (tps => $tps, map { split /=/ } @kv);
        $r{total} += $r{$_} for @parts;
        push @{ $runs{$config} }, \%r;
    }
    sub median { my @v = sort { $a <=> $b } @_; @v % 2 ? $v[$#v / 2] : ($v[@v / 2 - 1] + $v[@v / 2]) / 2 }
    my %med;
    for my $c (@configs) {
        for my $k ("tps", "total", "idle", @parts) { $med{$c}{$k} = median(map { $_->{$k} } @{ $runs{$c} }) }
    }
    my @head = ("TPS", "pg user", "pg_qprof", "pg kernel", "bpf", "collector", "backends", "pgbench", "other", "idle", "total");
    printf "  %-9s" . (" %9s" x @head) . " %8s\n", "", @head, "change";
    for my $c (@configs) {
        my $m = $med{$c};
        printf "  %-9s %9.0f" . (" %9.2f" x (@head - 1)) . " %+7.1f%%\n", $c, $m->{tps},
            (map { $m->{$_} } @parts), $m->{idle}, $m->{total},
            100 * ($m->{total} / $med{$configs[0]}{total} - 1);
    }
' "$CONFIGS" "$work/runs"
