#!/usr/bin/env bash
# Overhead of pg_qprof with its BPF programs attached, measured with pgbench
# (a benchmark, not a test). Run as root, after `make install` and
# `make -C bpf`:
#
#   bash tests/bpf/bench_overhead.sh
#
# Three clusters on the same machine, same settings: `plain` without
# pg_qprof at all, `qprof` with pg_qprof preloaded, `pgss` with
# pg_stat_statements preloaded (for reference). For each workload
# (select-only, TPC-B-like), RUNS rounds, each round running, in an order
# that rotates:
#   plain          pgbench on the plain cluster
#   pgss           pgbench on the pg_stat_statements cluster
#   plain-busy     pgbench on the plain cluster while a dummy process burns
#                  BUSY (ms of CPU every ms, default 3.6/60: 3% of 2 CPUs,
#                  about what the collector and its backends use): what any
#                  process beside the server costs in this benchmark
#   qprof-off      pgbench on the qprof cluster with pg_qprof.enabled = off:
#                  what loading the library costs (the query id computation,
#                  which pg_stat_statements needs as well, and hooks that pass
#                  through)
#   qprof-ext      pgbench on the qprof cluster, no collector (the
#                  extension's own cost)
#   qprof-nobpf    pgbench on the qprof cluster, `qprof collect --bpf off`
#   qprof-bpf      pgbench on the qprof cluster, `qprof collect --bpf on`
#                  (system calls from the trace events of the file calls)
#   qprof-bpf-raw  the same with `--bpf-syscalls raw` (the raw syscall
#                  tracepoints: every system call of the machine runs a
#                  program; not run by default)
#   qprof-bpf-nosys  the same with `--bpf-syscalls off` (no syscall
#                  tracing: every system call of the machine stays on its
#                  fast path)
#   qprof-bpf-sampled  the same with `--bpf-syscalls sampled` and
#                  `--bpf-syscall-windows $SYSCALL_WINDOWS`, every statement
#                  still recorded (not run by default)
#   qprof-light    a cheaper way to run: pg_qprof.sample_rate = 0.1 (one
#                  top-level statement in ten recorded, the others counted)
#                  with `--bpf on`
#   qprof-light-nosys  the same with `--bpf-syscalls off` (not run by
#                  default)
#   qprof-light-nobpf  the same with `--bpf off`: the light configuration
#                  without any BPF program (not run by default)
#   qprof-light-sampled  the same with `--bpf-syscalls sampled` and
#                  `--bpf-syscall-windows $SYSCALL_WINDOWS` (default 1/10:
#                  the first window opens as the collector starts, so with
#                  DURATION=10 a run gets about a tenth of the time traced,
#                  as the default 2/20 does over a longer run; not run by
#                  default)
#   qprof-light-sampled-base  the same with the collector QPROF_BASE (not
#                  run by default): a build to compare with, e.g. one
#                  without the wait split (WAIT_SPLIT=0, docs/overhead.md)
#   qprof-floor    pgbench on the qprof cluster, no collector, programs
#                  that do nothing (tests/bpf/empty_programs.bpf.c) on the
#                  tracepoints pg_qprof's programs use with
#                  `--bpf-syscalls raw`: what attaching any program there
#                  costs, before it runs an instruction (not run by default;
#                  qprof-floor-nosys leaves out the syscall tracepoints)
# The collector reads the ring from the server's memory (it runs as root);
# two more configurations, not run by default (CONFIGS), read it through
# SQL instead: qprof-nobpf-sql and qprof-bpf-sql. qprof-nobpf-pollS and
# qprof-bpf-pollS (not run by default either) are qprof-nobpf and qprof-bpf
# with `--poll-seconds S` (the default is 0.2).
# It reports the median TPS of each and the loss against `plain` (of the
# medians, and the median of each round's loss against that round's plain
# run, which drifts of the machine's speed affect less, with a 90% bootstrap
# interval for the latter), and the CPU time the collector and its backends
# used, as a share of the machine; for a configuration NAME-base beside NAME,
# also NAME's change against it, paired by round the same way. The BPF
# programs are attached only during the qprof-bpf runs (they see every
# system call and context switch of the machine).
# Then one more run per workload with the BPF loader's own driver
# (bpf/build/qprof_bpf_dump), claiming all entries every 0.1 s like the
# collector, reports the events per second, the peak map size, and the CPU
# time spent in the BPF programs (kernel.bpf_stats_enabled, for that run
# only): on a shared machine TPS medians move by more than the overhead, the
# programs' own run time does not. With BASE_DUMP_TOOL (the driver of
# another build, e.g. the base's bpf/build/qprof_bpf_dump), RATES_ROUNDS
# rounds of a run with each driver, in alternating order, and the median
# run time of sched_switch a run and its runs a second for each.
#
# Last, what the programs cost every other process of the machine: per
# system call, 1 million 1-byte dd copies (2 million read/write calls), and
# per round trip between two processes through pipes pinned to one CPU
# (`perf bench sched pipe`: 4 system calls and 2 context switches), best of
# 3, with nothing attached, with the empty programs, and with pg_qprof's
# (without and with syscall tracing).
#
# TPS at saturation moves by more than the overhead on a shared 2-core
# machine. The `cpu` part measures what each configuration costs instead:
# pgbench at a fixed rate well below saturation (RATE_SELECT, RATE_TPCB), and
# the CPU time of the whole machine (/proc/stat, all processes, pgbench
# included) divided by the transactions: the extra CPU per transaction is
# the throughput a saturated server would lose. Not run by default: it
# counts every process of the machine (checkpointer, autovacuum of the two
# clusters), and here it moved as much as TPS did (TPC-B: 183 to 304 us/tx
# for the same configuration).
#
# The `windows` part (not run by default) gives what `--bpf-syscalls
# sampled` saves every process of the machine: the mean cost of a dd
# read/write call over about 20 s with the collector attached in each
# system call mode, and with windows on the raw tracepoints (the fallback
# where tracefs is missing).
#
# The `disturb` part (not run by default) looks at why the collector costs
# TPC-B more than its CPU share: on DISTURB_WORKLOAD, the dummy process at
# normal priority and under SCHED_IDLE (plain-busy, plain-busy-idle), and
# the collector's work in parts on the qprof cluster: a client reading the
# ring like the collector, with only the length sent back
# (qprof-read-server) or the samples sent and dropped (qprof-read-client),
# next to qprof-ext, qprof-nobpf-sql and qprof-nobpf.
#
# Environment: CONFIGS (which configurations, default all of the above),
# RUNS (5), DURATION seconds per run (10), CLIENTS (2), WORKLOADS
# ("select-only tpcb-like"),
# SCALE (10), BUSY (3.6/60), QPROF (qprof binary, default from PATH or collector/build),
# PARTS (which parts to run, default "tps rates syscalls"; add cpu,
# disturb or windows), DISTURB_WORKLOAD (tpcb-like), READ_RATE (15) and READ_BATCH
# (5000) for `disturb`,
# RATE_SELECT (20000) and RATE_TPCB (2000) transactions/s for `cpu`,
# SYSCALL_WINDOWS (1/10) for qprof-light-sampled and qprof-bpf-sampled,
# QPROF_BASE (the collector of qprof-light-sampled-base), BASE_DUMP_TOOL
# and RATES_ROUNDS (1) for `rates`,
# RATES_SAMPLE_RATE (pg_qprof.sample_rate during `rates`, default 1; 0.1
# gives the programs' cost in the light configuration).
# SETUP_LOCK and BPF_LOCK (lock files, none by default): the clusters' set-up
# (which loads the installed extension) holds a shared lock on SETUP_LOCK,
# released before the measurements, which hold BPF_LOCK; one after the
# other, never both: on a machine shared with other test runs and
# installs, the files those take.
set -euo pipefail

RUNS=${RUNS:-5}
DURATION=${DURATION:-10}
CLIENTS=${CLIENTS:-2}
SCALE=${SCALE:-10}
PARTS=${PARTS:-tps rates syscalls}
RATE_SELECT=${RATE_SELECT:-20000}
RATE_TPCB=${RATE_TPCB:-2000}
BUSY=${BUSY:-3.6/60}
SYSCALL_WINDOWS=${SYSCALL_WINDOWS:-1/10}
DISTURB_WORKLOAD=${DISTURB_WORKLOAD:-tpcb-like}
READ_RATE=${READ_RATE:-15}
READ_BATCH=${READ_BATCH:-5000}
WORKLOADS=${WORKLOADS:-select-only tpcb-like}
repo="$(cd "$(dirname "$0")/../.." && pwd)"
pgbin=/usr/lib/postgresql/15/bin
dump_tool="$repo/bpf/build/qprof_bpf_dump"
attach_tool="$repo/bpf/build/attach_programs"
empty_programs="$repo/bpf/build/empty_programs.bpf.o"
QPROF=${QPROF:-$(command -v qprof || echo "$repo/collector/build/qprof")}
QPROF_BASE=${QPROF_BASE:-}
BASE_DUMP_TOOL=${BASE_DUMP_TOOL:-}
RATES_ROUNDS=${RATES_ROUNDS:-1}

[ "$(id -u)" -eq 0 ] || { echo "run as root (BPF)" >&2; exit 1; }
[ -x "$dump_tool" ] && [ -x "$attach_tool" ] || { echo "build it first: make -C bpf" >&2; exit 1; }
[ -x "$QPROF" ] || { echo "no qprof collector ($QPROF)" >&2; exit 1; }
if [[ " ${CONFIGS:-} " == *-base\ * ]] && [ ! -x "$QPROF_BASE" ]; then
    echo "the -base configurations need QPROF_BASE, the collector to compare with" >&2
    exit 1
fi
[ -z "$BASE_DUMP_TOOL" ] || [ -x "$BASE_DUMP_TOOL" ] || { echo "no driver $BASE_DUMP_TOOL" >&2; exit 1; }

work=$(mktemp -d /tmp/qprof_bench_XXXXXX)
chown postgres "$work"
collector_pid=0
dump_pid=0
busy_pid=0
reader_pid=0
empty_pid=0

as_postgres() { runuser -u postgres -- "$@"; }

cleanup() {
    [ "$collector_pid" -gt 0 ] && kill "$collector_pid" 2>/dev/null && wait "$collector_pid" 2>/dev/null
    [ "$dump_pid" -gt 0 ] && kill "$dump_pid" 2>/dev/null && wait "$dump_pid" 2>/dev/null
    [ "$busy_pid" -gt 0 ] && kill "$busy_pid" 2>/dev/null && wait "$busy_pid" 2>/dev/null
    [ "$reader_pid" -gt 0 ] && kill "$reader_pid" 2>/dev/null && wait "$reader_pid" 2>/dev/null
    [ "$empty_pid" -gt 0 ] && kill "$empty_pid" 2>/dev/null && wait "$empty_pid" 2>/dev/null
    for name in plain qprof pgss; do
        [ -f "$work/$name/postmaster.pid" ] &&
            as_postgres "$pgbin/pg_ctl" -D "$work/$name" -m immediate stop >/dev/null 2>&1
    done
    # the word slot map pinned for the qprof cluster (bpf/README.md)
    rm -f /run/pg_qprof/words-*-"${port[qprof]:-none}"
    rm -rf "$work"
    # SETUP_LOCK or BPF_LOCK, whichever is held
    [ -z "${lock_fd:-}" ] || flock -u "$lock_fd" 2>/dev/null || true
}
stats_enabled_at_start=$(cat /proc/sys/kernel/bpf_stats_enabled)
trap 'echo "$stats_enabled_at_start" >/proc/sys/kernel/bpf_stats_enabled; cleanup' EXIT
trap 'exit 130' INT TERM

declare -A port
port[plain]=$((20000 + RANDOM % 5000))
port[qprof]=$((25000 + RANDOM % 4000))
port[pgss]=$((29000 + RANDOM % 1000))

make_cluster() {
    local name=$1 preload=$2
    as_postgres "$pgbin/initdb" -D "$work/$name" -A trust -U postgres --no-sync >/dev/null
    cat >>"$work/$name/postgresql.conf" <<EOF
port = ${port[$name]}
listen_addresses = ''
unix_socket_directories = '$work'
shared_buffers = '256MB'
max_connections = 50
# The disk of a shared VM makes fsync-bound TPS noise; this measures CPU cost.
synchronous_commit = off
shared_preload_libraries = '$preload'
EOF
    as_postgres "$pgbin/pg_ctl" -D "$work/$name" -l "$work/$name.log" -w start >/dev/null
}

psql_to() {
    local name=$1
    shift
    "$pgbin/psql" -X -q -A -t -v ON_ERROR_STOP=1 -h "$work" -p "${port[$name]}" -U postgres -d postgres "$@"
}

dsn_of() { echo "host=$work port=${port[$1]} user=postgres dbname=postgres"; }

# Prints the TPS of one pgbench run.
pgbench_tps() {
    local name=$1 workload=$2
    "$pgbin/pgbench" -h "$work" -p "${port[$name]}" -U postgres -n \
        -b "$workload" -T "$DURATION" -c "$CLIENTS" -j "$CLIENTS" postgres 2>/dev/null |
        sed -n 's/^tps = \([0-9.]*\) .*/\1/p'
}

# The collector is $QPROF, or the one `collector` names.
start_collector() {
    local bpf=$1
    shift
    rm -rf "$work/capture"
    mkdir -p "$work/capture"
    "${collector:-$QPROF}" collect --dsn "$(dsn_of qprof)" --out "$work/capture" --bpf "$bpf" \
        "$@" 2>>"$work/collector.log" &
    collector_pid=$!
    collector_started_ns=$(date +%s%N)
    sleep 2 # connected and, with --bpf on, attached
    kill -0 "$collector_pid" || { echo "collector failed:" >&2; cat "$work/collector.log" >&2; exit 1; }
}

# CPU time (clock ticks) of a process so far: user + system.
process_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo 0; }

stop_collector() {
    local config=$1 backend ticks
    # The collector and its backends (one reads the ring, one the
    # definitions) ran since start_collector: their CPU time as a share of
    # the machine's over that time.
    ticks=$(process_ticks "$collector_pid")
    for backend in $(psql_to qprof -c "SELECT pid FROM pg_stat_activity WHERE application_name = 'qprof collect'"); do
        ticks=$((ticks + $(process_ticks "$backend")))
    done
    awk -v t="$ticks" -v hz="$(getconf CLK_TCK)" -v s="$(($(date +%s%N) - collector_started_ns))" -v n="$(nproc)" \
        -v c="$config" 'BEGIN { printf "%s %.2f\n", c, t / hz / (s / 1e9) / n * 100 }' >>"$work/collector_cpu"
    kill -INT "$collector_pid"
    wait "$collector_pid" || true
    collector_pid=0
}

# A process burning BUSY (burst ms/period ms) of one CPU, in bursts like
# the collector's batches; with `idle`, under SCHED_IDLE (it then runs only
# on a CPU nothing else wants).
start_busy() {
    local policy=()
    [ "${1:-}" = idle ] && policy=(chrt --idle 0)
    "${policy[@]}" perl -MTime::HiRes=time,sleep -e '
        my ($burst, $period) = map { $_ / 1000 } split m{/}, $ARGV[0];
        while (1) { my $t = time; 1 while time - $t < $burst; sleep($period - $burst) }' \
        "$BUSY" &
    busy_pid=$!
}
stop_busy() {
    kill "$busy_pid"
    wait "$busy_pid" 2>/dev/null || true
    busy_pid=0
}

# The empty programs attached, but for the tracepoints named, until
# stop_empty_programs.
start_empty_programs() {
    rm -f "$work/empty.in" "$work/empty.out"
    mkfifo "$work/empty.in"
    "$attach_tool" "$empty_programs" "$@" <"$work/empty.in" >"$work/empty.out" &
    empty_pid=$!
    exec 9>"$work/empty.in"
    until grep -q ready "$work/empty.out" 2>/dev/null; do
        kill -0 "$empty_pid" 2>/dev/null || { echo "cannot attach the empty programs" >&2; exit 1; }
        sleep 0.1
    done
}
stop_empty_programs() {
    exec 9>&-
    wait "$empty_pid" || true
    empty_pid=0
}

# A client of the qprof cluster reading READ_RATE times a second the last
# READ_BATCH samples of the ring, as the collector does: with `server`, only
# their length comes back (the server copies them out of the ring, nothing
# is sent); with `client`, the samples are sent and the client drops them.
start_ring_reader() {
    local what="pg_qprof.read_samples_packed(greatest(head_seq - $READ_BATCH, 0), $READ_BATCH)"
    [ "$1" = server ] && what="length($what)"
    printf 'SELECT pg_qprof.exclude_session();\nSELECT %s FROM pg_qprof.status;\n' "$what" >"$work/reader.sql"
    "$pgbin/pgbench" -h "$work" -p "${port[qprof]}" -U postgres -n -f "$work/reader.sql" \
        -R "$READ_RATE" -T $((DURATION + 5)) -c 1 postgres >"$work/reader.out" 2>&1 &
    reader_pid=$!
    sleep 1
}
stop_ring_reader() {
    kill "$reader_pid" 2>/dev/null || true
    wait "$reader_pid" 2>/dev/null || true
    reader_pid=0
}

# Busy CPU time of the machine so far, in clock ticks: user, nice, system,
# irq and softirq of all CPUs (not idle, iowait, or steal).
busy_ticks() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 }' /proc/stat; }

# Prints the machine's CPU time per transaction (µs) of one pgbench run at
# a fixed rate.
pgbench_cpu_us() {
    local name=$1 workload=$2 rate=$3 before after done_tx
    before=$(busy_ticks)
    done_tx=$("$pgbin/pgbench" -h "$work" -p "${port[$name]}" -U postgres -n \
        -b "$workload" -R "$rate" -T "$DURATION" -c "$CLIENTS" -j "$CLIENTS" postgres 2>/dev/null |
        sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p')
    after=$(busy_ticks)
    awk -v t=$((after - before)) -v hz="$(getconf CLK_TCK)" -v n="$done_tx" \
        'BEGIN { printf "%.2f", n ? t / hz * 1e6 / n : 0 }'
}

# Sets pg_qprof.$1 to $2 on the qprof cluster; pgbench's new sessions see it.
set_qprof() {
    psql_to qprof -c "ALTER SYSTEM SET pg_qprof.$1 = '$2'" -c 'SELECT pg_reload_conf()' >/dev/null
}

# Runs `measure` (pgbench_tps or pgbench_cpu_us, with its arguments after
# the cluster name) in one configuration.
run_config() {
    local config=$1 measure=$2
    shift 2
    case $config in
    plain) "$measure" plain "$@" ;;
    pgss) "$measure" pgss "$@" ;;
    plain-busy)
        start_busy
        "$measure" plain "$@"
        stop_busy
        ;;
    plain-busy-idle)
        start_busy idle
        "$measure" plain "$@"
        stop_busy
        ;;
    qprof-read-server | qprof-read-client)
        start_ring_reader "${config#qprof-read-}"
        "$measure" qprof "$@"
        stop_ring_reader
        ;;
    qprof-off)
        set_qprof enabled off
        "$measure" qprof "$@"
        set_qprof enabled on
        ;;
    qprof-ext) "$measure" qprof "$@" ;;
    qprof-nobpf)
        start_collector off
        "$measure" qprof "$@"
        stop_collector "$config"
        ;;
    qprof-bpf)
        start_collector on
        "$measure" qprof "$@"
        stop_collector "$config"
        ;;
    qprof-nobpf-poll*)
        start_collector off --poll-seconds "${config#qprof-nobpf-poll}"
        "$measure" qprof "$@"
        stop_collector "$config"
        ;;
    qprof-bpf-poll*)
        start_collector on --poll-seconds "${config#qprof-bpf-poll}"
        "$measure" qprof "$@"
        stop_collector "$config"
        ;;
    qprof-bpf-raw)
        start_collector on --bpf-syscalls raw
        "$measure" qprof "$@"
        stop_collector "$config"
        ;;
    qprof-bpf-nosys)
        start_collector on --bpf-syscalls off
        "$measure" qprof "$@"
        stop_collector "$config"
        ;;
    qprof-bpf-sampled)
        start_collector on --bpf-syscalls sampled --bpf-syscall-windows "$SYSCALL_WINDOWS"
        "$measure" qprof "$@"
        stop_collector "$config"
        ;;
    qprof-nobpf-sql)
        start_collector off --ring-read sql
        "$measure" qprof "$@"
        stop_collector "$config"
        ;;
    qprof-bpf-sql)
        start_collector on --ring-read sql
        "$measure" qprof "$@"
        stop_collector "$config"
        ;;
    qprof-floor)
        start_empty_programs
        "$measure" qprof "$@"
        stop_empty_programs
        ;;
    qprof-floor-nosys)
        start_empty_programs sys_enter sys_exit
        "$measure" qprof "$@"
        stop_empty_programs
        ;;
    qprof-light)
        set_qprof sample_rate 0.1
        start_collector on
        "$measure" qprof "$@"
        stop_collector "$config"
        set_qprof sample_rate 1
        ;;
    qprof-light-nobpf)
        set_qprof sample_rate 0.1
        start_collector off
        "$measure" qprof "$@"
        stop_collector "$config"
        set_qprof sample_rate 1
        ;;
    qprof-light-nosys)
        set_qprof sample_rate 0.1
        start_collector on --bpf-syscalls off
        "$measure" qprof "$@"
        stop_collector "$config"
        set_qprof sample_rate 1
        ;;
    qprof-light-sampled | qprof-light-sampled-base)
        set_qprof sample_rate 0.1
        local collector=$QPROF
        [ "$config" = qprof-light-sampled-base ] && collector=$QPROF_BASE
        start_collector on --bpf-syscalls sampled --bpf-syscall-windows "$SYSCALL_WINDOWS"
        "$measure" qprof "$@"
        stop_collector "$config"
        set_qprof sample_rate 1
        ;;
    esac
}

median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# The median, over the rounds, of each round's change against plain in the
# same round (%): the machine's speed drifts over minutes on a shared host,
# and a round's runs are minutes apart at most.
paired_change() {
    local base=($1) values=($2) r
    for ((r = 0; r < ${#base[@]}; r++)); do
        awk -v v="${values[$r]}" -v b="${base[$r]}" 'BEGIN { print (v - b) / b * 100 }'
    done | median
}

# A 90% interval for paired_change: the 5th and 95th percentiles of the
# median of the rounds' changes, over 2000 resamplings of the rounds with
# replacement (a bootstrap; fixed seed, so a run prints the same interval
# for the same figures). A loss is shown to be within a budget only when
# the whole interval is.
paired_interval() {
    perl -e '
        my @b = split " ", $ARGV[0];
        my @v = split " ", $ARGV[1];
        my @c = map { ($v[$_] - $b[$_]) / $b[$_] * 100 } 0 .. $#b;
        sub median { my @s = sort { $a <=> $b } @_; my $n = @s;
            $n % 2 ? $s[($n - 1) / 2] : ($s[$n / 2 - 1] + $s[$n / 2]) / 2 }
        srand(1);
        my @m = sort { $a <=> $b }
          map { median(map { $c[int rand @c] } @c) } 1 .. 2000;
        printf "%+.1f%% to %+.1f%%", $m[100], $m[1899];
    ' "$1" "$2"
}

# The run time of the programs named like pg_qprof's (the empty ones have
# the same names) loaded since `bpftool -j prog show` wrote $1, during a
# pgbench run whose output is $2 (run-time statistics on).
program_times() {
    bpftool -j prog show | perl -MJSON::PP -e '
        my ($before_file, $seconds, $tx) = @ARGV;
        my %ours = map { ($_ => 1) } qw(sys_enter sys_exit file_syscall_enter file_syscall_exit page_cache_add
          ra_unbounded ra_order block_io_start block_rq_issue
          block_rq_complete sched_switch);
        open my $fh, "<", $before_file or die;
        my %old = map { ($_->{id} => 1) } @{ decode_json(join "", <$fh>) };
        my ($ns, $runs, @each) = (0, 0);
        for my $p (@{ decode_json(join "", <STDIN>) }) {
            next if $old{ $p->{id} } || !$ours{ $p->{name} };
            $ns += $p->{run_time_ns} // 0;
            $runs += $p->{run_cnt} // 0;
            push @each, sprintf "%s %.0f/s %.0f ns", $p->{name},
              ($p->{run_cnt} // 0) / $seconds,
              $p->{run_cnt} ? $p->{run_time_ns} / $p->{run_cnt} : 0;
        }
        printf "%.0f program runs/s, %.0f ns per run, %.2f%% of one CPU, "
          . "%.0f ns per transaction\n               (%s)",
            $runs / $seconds, $runs ? $ns / $runs : 0, $ns / $seconds / 1e7,
            $tx ? $ns / $tx : 0, join ", ", @each;
    ' "$1" "$DURATION" "$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' "$2")"
}

# Starts pgbench on the qprof cluster in the background ($bench), with the
# programs' run-time statistics on until stats_pgbench_end, which waits for
# it (the programs keep what the statistics counted).
stats_pgbench_start() {
    stats_before=$(cat /proc/sys/kernel/bpf_stats_enabled)
    echo 1 >/proc/sys/kernel/bpf_stats_enabled
    "$pgbin/pgbench" -h "$work" -p "${port[qprof]}" -U postgres -n -b "$1" \
        -T "$DURATION" -c "$CLIENTS" -j "$CLIENTS" postgres >"$work/bench.out" 2>&1 &
    bench=$!
}
stats_pgbench_end() {
    wait "$bench" || true
    echo "$stats_before" >/proc/sys/kernel/bpf_stats_enabled
}

# One run with the loader's driver ($2, default the tree's) attached:
# events/s and peak map size. sched_switch's runs a second and run time a
# run are added to $work/switch_runs, after the label $3.
bpf_event_rates() {
    local workload=$1 driver=${2:-$dump_tool} label=${3:-} word pm addr
    word=$(psql_to qprof -c 'SELECT * FROM pg_qprof.exec_word()')
    IFS='|' read -r pm addr slots <<<"$word"
    rm -f "$work/dump.in" "$work/dump.out"
    mkfifo "$work/dump.in"
    bpftool -j prog show >"$work/progs_before.json"
    "$driver" "$pm" "$addr" "--word-slots=$slots" <"$work/dump.in" >"$work/dump.out" &
    dump_pid=$!
    exec 7>"$work/dump.in"
    until grep -q ready "$work/dump.out" 2>/dev/null; do sleep 0.2; done
    echo stats >&7
    stats_pgbench_start "$workload"
    while kill -0 "$bench" 2>/dev/null; do
        echo drain >&7
        sleep 0.1
    done
    stats_pgbench_end
    local prog_time
    prog_time=$(program_times "$work/progs_before.json" "$work/bench.out")
    echo stats >&7
    exec 7>&-
    wait "$dump_pid" || true
    dump_pid=0
    local last
    last=$(grep '"events_per_sec"' "$work/dump.out" | tail -1)
    printf '  %-12s %s TPS; events/s %s, peak map entries %s, lost events %s, word read failures %s\n' \
        "$workload" "$(sed -n 's/^tps = \([0-9.]*\) .*/\1/p' "$work/bench.out")" \
        "$(sed -n 's/.*"events_per_sec":\([0-9.e+]*\).*/\1/p' <<<"$last")" \
        "$(sed -n 's/.*"peak_entries":\([0-9]*\).*/\1/p' <<<"$last")" \
        "$(sed -n 's/.*"lost_events":\([0-9]*\).*/\1/p' <<<"$last")" \
        "$(sed -n 's/.*"word_read_failures":\([0-9]*\).*/\1/p' <<<"$last")"
    echo "               pg_qprof's programs${label:+ ($label)}: $prog_time"
    sed -n "s|.*sched_switch \([0-9]*\)/s \([0-9]*\) ns.*|$label \1 \2|p" <<<"$prog_time" >>"$work/switch_runs"
}

# The same run with the empty programs instead: what the statistics report
# for a program that does nothing (their own cost included), to subtract.
empty_program_rates() {
    local workload=$1
    bpftool -j prog show >"$work/progs_before.json"
    start_empty_programs
    stats_pgbench_start "$workload"
    stats_pgbench_end
    local prog_time
    prog_time=$(program_times "$work/progs_before.json" "$work/bench.out")
    stop_empty_programs
    printf '  %-12s %s TPS\n' "$workload" "$(sed -n 's/^tps = \([0-9.]*\) .*/\1/p' "$work/bench.out")"
    echo "               empty programs: $prog_time"
}

# A lock on file $1 (flock's options after it) until unlock_file, with the
# file descriptor in lock_fd. The clusters started meanwhile inherit the
# descriptor: the lock is released explicitly, not at its close.
lock_file() {
    local file=$1
    shift
    exec {lock_fd}<"$file"
    flock "$@" "$lock_fd"
}
unlock_file() {
    flock -u "$lock_fd"
    exec {lock_fd}<&-
}

[ -z "${SETUP_LOCK:-}" ] || lock_file "$SETUP_LOCK" -s
make_cluster plain ''
make_cluster qprof pg_qprof
make_cluster pgss pg_stat_statements
psql_to qprof -c 'CREATE EXTENSION pg_qprof' >/dev/null
[ -z "${SETUP_LOCK:-}" ] || unlock_file
for name in plain qprof pgss; do
    "$pgbin/pgbench" -h "$work" -p "${port[$name]}" -U postgres -i -q -s "$SCALE" postgres >/dev/null 2>&1
    psql_to "$name" -c 'VACUUM ANALYZE' -c CHECKPOINT >/dev/null
done
[ -z "${BPF_LOCK:-}" ] || lock_file "$BPF_LOCK"

read -r -a configs <<<"${CONFIGS:-plain pgss plain-busy qprof-off qprof-ext qprof-nobpf qprof-bpf qprof-bpf-nosys qprof-light}"
[[ " ${configs[*]} " == *" plain "* ]] || { echo "CONFIGS must include plain" >&2; exit 2; }
wants() { [[ " $PARTS " == *" $1 "* ]]; }

# Runs `measure` with its arguments in every configuration, RUNS rounds in
# a rotating order, and prints each configuration's median against plain
# with `unit`.
compare_configs() {
    local unit=$1
    shift
    local -A results=()
    local round k config base med
    : >"$work/collector_cpu"
    for ((round = 0; round < RUNS; round++)); do
        for ((k = 0; k < ${#configs[@]}; k++)); do
            config=${configs[$(((k + round) % ${#configs[@]}))]}
            results[$config]+="$(run_config "$config" "$@") "
        done
    done
    base=$(tr ' ' '\n' <<<"${results[plain]}" | grep . | median)
    for config in "${configs[@]}"; do
        med=$(tr ' ' '\n' <<<"${results[$config]}" | grep . | median)
        printf '  %-15s median %10.2f %s  (%+.2f, %+.1f%% vs plain; paired %+.1f%%, 90%% interval %s)  runs: %s\n' \
            "$config" "$med" "$unit" "$(awk -v m="$med" -v b="$base" 'BEGIN { print m - b }')" \
            "$(awk -v m="$med" -v b="$base" 'BEGIN { print (m - b) / b * 100 }')" \
            "$(paired_change "${results[plain]}" "${results[$config]}")" \
            "$(paired_interval "${results[plain]}" "${results[$config]}")" \
            "${results[$config]}"
    done
    # a build against its base, round by round
    for config in "${configs[@]}"; do
        [[ $config == *-base ]] && [ -n "${results[${config%-base}]:-}" ] || continue
        printf '  %-15s against %s: paired %+.1f%%, 90%% interval %s\n' "${config%-base}" "$config" \
            "$(paired_change "${results[$config]}" "${results[${config%-base}]}")" \
            "$(paired_interval "${results[$config]}" "${results[${config%-base}]}")"
    done
    for config in "${configs[@]}"; do
        grep -q "^$config " "$work/collector_cpu" || continue
        printf '  %-15s collector and its backends: median %.2f%% of the machine CPU\n' "$config" \
            "$(awk -v c="$config" '$1 == c { print $2 }' "$work/collector_cpu" | median)"
    done
}

if wants tps; then
    echo "pgbench: $CLIENTS clients, scale $SCALE, $DURATION s per run, $RUNS rounds, $(nproc) CPUs"
    for workload in $WORKLOADS; do
        echo "$workload:"
        compare_configs TPS pgbench_tps "$workload"
    done
fi

if wants cpu; then
    echo "CPU time of the machine per transaction at a fixed rate ($CLIENTS clients, $DURATION s per run, $RUNS rounds):"
    for workload in $WORKLOADS; do
        rate=$RATE_SELECT
        [ "$workload" = tpcb-like ] && rate=$RATE_TPCB
        echo "$workload at $rate TPS:"
        compare_configs us/tx pgbench_cpu_us "$workload" "$rate"
    done
fi

# What disturbs the TPC-B-like run beyond the CPU it takes: the dummy
# process at normal priority and under SCHED_IDLE, and the collector's work
# in parts (ring reads that stay in the server, the same sent to a client).
if wants disturb; then
    echo "What disturbs $DISTURB_WORKLOAD ($CLIENTS clients, $DURATION s per run, $RUNS rounds; busy $BUSY ms, reads of $READ_BATCH samples $READ_RATE times a second):"
    saved_configs=("${configs[@]}")
    configs=(plain plain-busy plain-busy-idle qprof-ext qprof-read-server qprof-read-client qprof-nobpf-sql qprof-nobpf)
    compare_configs TPS pgbench_tps "$DISTURB_WORKLOAD"
    configs=("${saved_configs[@]}")
fi

if wants rates; then
    echo "BPF activity (loader driver, entries claimed every 0.1 s, sample_rate ${RATES_SAMPLE_RATE:-1}):"
    set_qprof sample_rate "${RATES_SAMPLE_RATE:-1}"
    for workload in $WORKLOADS; do
        if [ -n "$BASE_DUMP_TOOL" ]; then
            : >"$work/switch_runs"
            for ((round = 0; round < RATES_ROUNDS; round++)); do
                if ((round % 2)); then
                    bpf_event_rates "$workload" "$dump_tool" this
                    bpf_event_rates "$workload" "$BASE_DUMP_TOOL" base
                else
                    bpf_event_rates "$workload" "$BASE_DUMP_TOOL" base
                    bpf_event_rates "$workload" "$dump_tool" this
                fi
            done
            for label in base this; do
                printf '  %-12s sched_switch (%s): median %s runs/s, %s ns a run; each run: %s\n' "$workload" "$label" \
                    "$(awk -v l="$label" '$1 == l { print $2 }' "$work/switch_runs" | median)" \
                    "$(awk -v l="$label" '$1 == l { print $3 }' "$work/switch_runs" | median)" \
                    "$(awk -v l="$label" '$1 == l { printf "%s ", $3 }' "$work/switch_runs")"
            done
        else
            bpf_event_rates "$workload"
        fi
        empty_program_rates "$workload"
    done
    set_qprof sample_rate 1
fi

# What the attached programs cost processes that are not the server's, in
# ns: per read/write system call (dd copying 1-byte blocks: two calls a
# block; calls the trace events of the file calls do not watch), per pread
# of a regular file (a python3 loop: a call they watch), and per round trip
# through two pipes between two processes pinned to one CPU (perf bench
# sched pipe: 4 system calls and 2 context switches), best of 3 each.
per_syscall_ns() {
    local best=0 start elapsed
    for _ in 1 2 3; do
        start=$(date +%s%N)
        dd if=/dev/zero of=/dev/null bs=1 count=1000000 status=none
        elapsed=$(($(date +%s%N) - start))
        if [ "$best" -eq 0 ] || [ "$elapsed" -lt "$best" ]; then best=$elapsed; fi
    done
    awk -v t="$best" 'BEGIN { printf "%.1f", t / 2e6 }'
}
per_pread_ns() {
    python3 - <<'EOF'
import os, time
fd = os.open("/etc/passwd", os.O_RDONLY)
best = None
for _ in range(3):
    start = time.perf_counter_ns()
    for _ in range(1000000):
        os.pread(fd, 1, 0)
    elapsed = time.perf_counter_ns() - start
    best = elapsed if best is None else min(best, elapsed)
print("%.1f" % (best / 1e6), end="")
EOF
}
per_round_trip_ns() {
    for _ in 1 2 3; do
        taskset -c 0 perf bench sched pipe -l 200000 2>/dev/null |
            awk '/usecs\/op/ { printf "%.0f\n", $1 * 1000 }'
    done | sort -n | head -1
}
process_costs() { echo "$(per_syscall_ns)/$(per_pread_ns)/$(per_round_trip_ns)"; }
# pg_qprof's programs attached (for postmaster pid 1: no process here is a
# backend), with the loader's arguments after the entry map size.
ours_attached() {
    rm -f "$work/dd.in"
    mkfifo "$work/dd.in"
    "$dump_tool" 1 0x1000 32768 "$@" <"$work/dd.in" >"$work/dd.out" &
    dump_pid=$!
    exec 8>"$work/dd.in"
    until grep -q ready "$work/dd.out" 2>/dev/null; do sleep 0.2; done
    process_costs
    exec 8>&-
    wait "$dump_pid" || true
    dump_pid=0
}
empty_attached() {
    start_empty_programs "$@"
    process_costs
    stop_empty_programs
}
# What the system call windows save every other process: the mean cost of
# a dd read/write call over 60 runs of 1 million copies (about 20 s, so
# that the share of time windows are open shows; a best of 3 would hide
# them), with the collector attached in each system call mode.
mean_syscall_ns() {
    local run start total=0
    for run in $(seq 60); do
        start=$(date +%s%N)
        dd if=/dev/zero of=/dev/null bs=1 count=1000000 status=none
        total=$((total + $(date +%s%N) - start))
    done
    awk -v t="$total" 'BEGIN { printf "%.1f", t / 60 / 2e6 }'
}
collector_syscall_ns() {
    start_collector on "$@"
    mean_syscall_ns
    stop_collector windows
}
if wants windows; then
    echo "what other processes pay with the collector attached, mean ns per dd read/write call over 60 runs (about 20 s):"
    printf '  nothing %s; --bpf-syscalls on %s, raw %s, sampled (2/20) %s, raw in windows (2/20) %s, off %s\n' \
        "$(mean_syscall_ns)" "$(collector_syscall_ns)" \
        "$(collector_syscall_ns --bpf-syscalls raw)" \
        "$(collector_syscall_ns --bpf-syscalls sampled)" \
        "$(collector_syscall_ns --bpf-syscalls raw --bpf-syscall-windows 2/20)" \
        "$(collector_syscall_ns --bpf-syscalls off)"
fi

if wants syscalls; then
    if command -v perf >/dev/null; then
        echo "what other processes pay, ns per read/write call (dd) / per pread (python3 loop) / per pipe round trip (4 calls, 2 switches), best of 3:"
        for round in 1 2 3; do
            printf '  nothing %s; empty programs %s, with raw syscalls %s; pg_qprof %s, with syscall events %s, with raw syscalls %s\n' \
                "$(process_costs)" "$(empty_attached sys_enter sys_exit)" "$(empty_attached)" \
                "$(ours_attached no-syscalls)" "$(ours_attached)" "$(ours_attached raw-syscalls)"
        done
    else
        echo "no perf (Debian package linux-perf): the syscalls part is left out" >&2
    fi
fi
