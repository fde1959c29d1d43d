# bench_cluster.sh — sourced by the benchmarks: a throw-away PostgreSQL 15
# cluster with pg_qprof preloaded, run as postgres from a temporary
# directory, stopped and removed when the script exits.
#
#   source tests/bench/bench_cluster.sh
#   bench_cluster_create NAME 'pg_qprof.ring_size = 128MB' ...  # extra settings
#   server start            # pg_ctl ... start (restart, stop)
#   as_pg "$pgbin/pgbench" -h "$work" -p "$port" ...
#   bench_requires perf     # root and these commands, or stop
#
# Sets pgbin, work (the directory, also the socket directory) and port.
# A script that must undo more at exit defines bench_cluster_at_exit.

pgbin=/usr/lib/postgresql/15/bin

as_pg() { runuser -u postgres -- "$@"; }

# Stops the benchmark unless it runs as root and has the named commands.
bench_requires() { # [command ...]
    local command
    [ "$(id -u)" -eq 0 ] || { echo "run as root" >&2; exit 1; }
    for command in "$@"; do
        command -v "$command" >/dev/null || { echo "needs $command" >&2; exit 1; }
    done
}

server() { as_pg "$pgbin/pg_ctl" -D "$work/data" -l "$work/server.log" -w "$@" >/dev/null; }

bench_cluster_cleanup() {
    if declare -F bench_cluster_at_exit >/dev/null; then bench_cluster_at_exit; fi
    as_pg "$pgbin/pg_ctl" -D "$work/data" -m immediate stop >/dev/null 2>&1 || true
    # the word slot map a collector pinned for it (bpf/README.md)
    rm -f /run/pg_qprof/words-*-"$port"
    rm -rf "$work"
}

bench_cluster_create() { # name [setting lines]
    local name=$1 setting
    shift
    work=$(mktemp -d "/tmp/qprof_$name.XXXXXX")
    chown postgres "$work"
    port=$((20000 + RANDOM % 10000))
    trap bench_cluster_cleanup EXIT
    as_pg "$pgbin/initdb" -D "$work/data" -A trust --no-sync >/dev/null
    {
        echo "port = $port"
        echo "listen_addresses = ''"
        echo "unix_socket_directories = '$work'"
        echo "shared_preload_libraries = 'pg_qprof'"
        echo "fsync = off"
        for setting in "$@"; do echo "$setting"; done
    } >>"$work/data/postgresql.conf"
}
