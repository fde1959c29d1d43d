#!/usr/bin/env bash
# Sets up a throw-away LAVA server on this machine, reusing whatever an earlier
# run left in $LAVA_KIT_DIR:
#   - LAVA's Python dependencies from Debian (tests/deps/lava.txt);
#   - the lava-server and lava-common packages unpacked with dpkg -x (their
#     maintainer scripts want systemd and apache, the Python code does not);
#   - a PostgreSQL 15 cluster run as `postgres` with pg_qprof preloaded, and
#     a role and database for LAVA;
#   - LAVA's schema (`lava-server manage migrate`).
# PostgreSQL is stopped at the end unless LAVA_KIT_KEEP_RUNNING=1 (demo.sh
# sets it and stops the server itself). LAVA_KIT_RECREATE_DATABASE=1 drops
# LAVA's database first (a lab of another size is wanted).
set -euo pipefail

# shellcheck source=common.sh
. "$(dirname "$0")/common.sh"

repo_root="$(cd "$LAVA_KIT_SOURCE_DIR/../.." && pwd)"

install_debian_dependencies() {
    bash "$repo_root/tests/install_deps.sh"
}

unpack_lava_packages() {
    if [ -d "$LAVA_PACKAGE_ROOT/usr/lib/python3/dist-packages/lava_server" ]; then
        return 0
    fi
    kit_log "unpacking lava-server and lava-common into $LAVA_PACKAGE_ROOT"
    local download_dir
    download_dir="$(mktemp -d "$LAVA_KIT_DIR/download.XXXXXX")"
    # apt's sandbox user must be able to write the download folder.
    chmod 0777 "$download_dir"
    # apt's lists may be missing or stale on a machine that had every
    # dependency already: refresh them once if the download fails.
    if ! (cd "$download_dir" && apt-get download -q lava-server lava-common </dev/null); then
        apt-get update -q </dev/null
        (cd "$download_dir" && apt-get download -q lava-server lava-common </dev/null)
    fi
    mkdir -p "$LAVA_PACKAGE_ROOT.partial"
    local deb
    for deb in "$download_dir"/*.deb; do
        dpkg -x "$deb" "$LAVA_PACKAGE_ROOT.partial"
    done
    rm -rf "$download_dir" "$LAVA_PACKAGE_ROOT"
    mv "$LAVA_PACKAGE_ROOT.partial" "$LAVA_PACKAGE_ROOT"
}

port_is_free() {
    "$DEBIAN_PYTHON" - "$1" <<'EOF'
import socket, sys
with socket.socket() as probe:
    try:
        probe.bind(("127.0.0.1", int(sys.argv[1])))
    except OSError:
        sys.exit(1)
EOF
}

# Chooses the cluster's port and LAVA's secret key once.
write_kit_env() {
    if [ -f "$LAVA_KIT_ENV_FILE" ]; then
        return 0
    fi
    local port
    while :; do
        port=$((20000 + RANDOM % 10000))
        port_is_free "$port" && break
    done
    local secret
    secret="$("$DEBIAN_PYTHON" -c 'import secrets; print(secrets.token_hex(32))')"
    cat >"$LAVA_KIT_ENV_FILE" <<EOF
LAVA_PG_PORT=$port
LAVA_SECRET_KEY=$secret
EOF
}

create_cluster() {
    if [ -f "$LAVA_PGDATA/PG_VERSION" ]; then
        return 0
    fi
    kit_log "creating the PostgreSQL cluster in $LAVA_PGDATA (port $LAVA_PG_PORT)"
    install -d -o postgres -g postgres -m 0700 "$LAVA_PGDATA"
    install -d -o postgres -g postgres -m 0755 "$LAVA_PG_SOCKET_DIR"
    as_postgres "$PG_BIN_DIR/initdb" -D "$LAVA_PGDATA" -U postgres \
        --auth-local=peer --auth-host=scram-sha-256 --encoding=UTF8 \
        --locale=C.UTF-8 >/dev/null
    echo "include = '$LAVA_PG_KIT_CONF'" >>"$LAVA_PGDATA/postgresql.conf"
}

# The kit's server settings, in a file of their own rewritten at each run so
# that a kept cluster gets the current ones at its next start.
write_server_settings() {
    local library_dir
    library_dir="$(pg_config --pkglibdir)"
    [ -f "$library_dir/pg_qprof.so" ] ||
        kit_die "pg_qprof is not installed in $library_dir (run make && make install)"
    cat >"$LAVA_PGDATA/$LAVA_PG_KIT_CONF" <<EOF
# Written by tests/lava/setup.sh at each run.
port = $LAVA_PG_PORT
listen_addresses = '127.0.0.1'
unix_socket_directories = '$LAVA_PG_SOCKET_DIR'
max_connections = 40
shared_buffers = 128MB
shared_preload_libraries = 'pg_qprof'
pg_qprof.track = all
# about 420,000 samples: every statement of the demo's traffic
pg_qprof.ring_size = 256MB
EOF
    chown postgres:postgres "$LAVA_PGDATA/$LAVA_PG_KIT_CONF"
}

create_lava_database() {
    if [ "${LAVA_KIT_RECREATE_DATABASE:-0}" = 1 ]; then
        kit_log "dropping the database $LAVA_DB_NAME to generate a new lab"
        kit_psql -d postgres -q -c "DROP DATABASE IF EXISTS $LAVA_DB_NAME WITH (FORCE)"
    fi
    if [ "$(kit_psql -d postgres -Atc "SELECT 1 FROM pg_roles WHERE rolname = '$LAVA_DB_USER'")" != 1 ]; then
        kit_psql -d postgres -q -c "CREATE ROLE $LAVA_DB_USER LOGIN PASSWORD '$LAVA_DB_PASSWORD'"
    fi
    if [ "$(kit_psql -d postgres -Atc "SELECT 1 FROM pg_database WHERE datname = '$LAVA_DB_NAME'")" != 1 ]; then
        kit_psql -d postgres -q -c "CREATE DATABASE $LAVA_DB_NAME OWNER $LAVA_DB_USER"
    fi
    # Re-created at each run: the SQL API follows the library just installed
    # (it holds no data, only views and functions over shared memory).
    kit_psql -d "$LAVA_DB_NAME" -q -c "SET client_min_messages = warning" \
        -c "DROP EXTENSION IF EXISTS pg_qprof" -c "CREATE EXTENSION pg_qprof"
    # The collector's role: superuser, because attaching kernel I/O to samples
    # (pg_qprof.exec_word) needs it; a throw-away cluster on loopback only.
    if [ "$(kit_psql -d postgres -Atc "SELECT 1 FROM pg_roles WHERE rolname = '$LAVA_COLLECTOR_USER'")" != 1 ]; then
        kit_psql -d postgres -q -c "CREATE ROLE $LAVA_COLLECTOR_USER LOGIN SUPERUSER PASSWORD '$LAVA_COLLECTOR_PASSWORD'"
    fi
}

# Folders LAVA writes to or reads its device dictionaries from. The scheduler
# drops its privileges, so they are readable by everyone.
create_lava_folders() {
    mkdir -p /var/log/lava-server "$LAVA_LOG_DIR" \
        "$LAVA_STATE_DIR/devices" "$LAVA_STATE_DIR/health-checks" "$LAVA_STATE_DIR/media"
    chmod 0755 "$LAVA_KIT_DIR" "$LAVA_STATE_DIR"
}

# WhiteNoise refuses the package's static folder as unpacked (its relative
# links do not resolve there): build one with links that do.
create_static_folder() {
    local static_dir="$LAVA_STATE_DIR/static"
    [ -d "$static_dir" ] && return 0
    rm -rf "$static_dir.partial"
    "$DEBIAN_PYTHON" "$LAVA_KIT_SOURCE_DIR/link_static_files.py" \
        "$LAVA_PACKAGE_ROOT" "$static_dir.partial" >/dev/null
    mv "$static_dir.partial" "$static_dir"
}

migrate_lava_schema() {
    kit_log "applying LAVA's migrations"
    export_lava_env lava-migrate
    # The packaged entry point, as an administrator runs it; it forces LAVA's
    # production settings, which read the same environment.
    "$DEBIAN_PYTHON" "$LAVA_PACKAGE_ROOT/usr/bin/lava-server" manage migrate --noinput >"$LAVA_LOG_DIR/migrate.log" 2>&1 ||
        { tail -n 30 "$LAVA_LOG_DIR/migrate.log" >&2; kit_die "migrate failed"; }
}

main() {
    [ "$(id -u)" -eq 0 ] || kit_die "run as root (PostgreSQL is run as the postgres user)"
    mkdir -p "$LAVA_KIT_DIR"
    install_debian_dependencies
    unpack_lava_packages
    write_kit_env
    load_kit_env
    create_lava_folders
    create_static_folder
    create_cluster
    write_server_settings
    local started_here=0
    if ! pg_is_running; then
        start_postgres
        started_here=1
    fi
    if [ "$started_here" = 1 ] && [ "${LAVA_KIT_KEEP_RUNNING:-0}" != 1 ]; then
        trap stop_postgres EXIT
    fi
    create_lava_database
    migrate_lava_schema
    kit_log "LAVA is set up: database $LAVA_DB_NAME on 127.0.0.1:$LAVA_PG_PORT"
}

main "$@"
