# clickhouse_server.sh — sourced by the ClickHouse benchmarks: Debian's
# clickhouse-server started with its own configuration and data in a
# folder, on free ports, as the user running the script (or as USER when
# given: clickhouse_start DIR [USER]).
#
#   source tests/bench/clickhouse_server.sh
#   clickhouse_start "$work/ch"      # sets ch_url (http://127.0.0.1:PORT/)
#   ch 'SELECT version()'            # a statement, its answer on stdout
#   clickhouse_stop                  # also at the script's exit, if set
ch_server=/usr/sbin/clickhouse-server
ch_pid=

clickhouse_free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

clickhouse_start() { # dir [user]
    local dir=$1 user=${2:-} http_port tcp_port
    [ -x "$ch_server" ] || { echo "needs $ch_server: make deps" >&2; exit 1; }
    mkdir -p "$dir"
    http_port=$(clickhouse_free_port)
    tcp_port=$(clickhouse_free_port)
    cat >"$dir/users.xml" <<'XML'
<?xml version="1.0"?>
<yandex>
  <profiles><default><max_memory_usage>4000000000</max_memory_usage></default></profiles>
  <users><default><password></password><networks><ip>127.0.0.1</ip></networks>
    <profile>default</profile><quota>default</quota></default></users>
  <quotas><default></default></quotas>
</yandex>
XML
    cat >"$dir/config.xml" <<XML
<?xml version="1.0"?>
<yandex>
  <logger><level>warning</level><log>$dir/server.log</log>
    <errorlog>$dir/error.log</errorlog></logger>
  <http_port>$http_port</http_port>
  <tcp_port>$tcp_port</tcp_port>
  <listen_host>127.0.0.1</listen_host>
  <path>$dir/data/</path>
  <tmp_path>$dir/tmp/</tmp_path>
  <user_files_path>$dir/user_files/</user_files_path>
  <format_schema_path>$dir/format_schemas/</format_schema_path>
  <users_config>$dir/users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <timezone>UTC</timezone>
  <mark_cache_size>268435456</mark_cache_size>
</yandex>
XML
    if [ -n "$user" ]; then
        chown -R "$user" "$dir"
        runuser -u "$user" -- "$ch_server" --config-file="$dir/config.xml" \
            >"$dir/stdout.log" 2>&1 &
    else
        "$ch_server" --config-file="$dir/config.xml" >"$dir/stdout.log" 2>&1 &
    fi
    ch_pid=$!
    ch_url="http://127.0.0.1:$http_port/"
    for _ in $(seq 300); do
        curl -sf "${ch_url}ping" >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    echo "clickhouse-server did not start: $dir/stdout.log" >&2
    exit 1
}

clickhouse_stop() {
    if [ -n "$ch_pid" ]; then
        pkill -TERM -P "$ch_pid" 2>/dev/null || true
        kill "$ch_pid" 2>/dev/null || true
        wait "$ch_pid" 2>/dev/null || true
    fi
    ch_pid=
}

ch() { curl -sSf "$ch_url" --data-binary "$1"; }
