# shellcheck shell=bash disable=SC2034  # variables used by the scripts that source this file
# Shared definitions of the LAVA workload kit, sourced by setup.sh and demo.sh.
# Everything the kit creates lives under $LAVA_KIT_DIR so that a second run
# reuses it and one `rm -rf` removes it.

LAVA_KIT_SOURCE_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
LAVA_KIT_DIR="${LAVA_KIT_DIR:-/tmp/qprof-lava}"
LAVA_PACKAGE_ROOT="$LAVA_KIT_DIR/lava-package"
LAVA_PGDATA="$LAVA_KIT_DIR/pgdata"
LAVA_PG_KIT_CONF="lava_kit.conf"
LAVA_PG_SOCKET_DIR="$LAVA_KIT_DIR/pg-socket"
LAVA_STATE_DIR="$LAVA_KIT_DIR/lava-state"
LAVA_KIT_ENV_FILE="$LAVA_KIT_DIR/kit.env"
LAVA_LOG_DIR="$LAVA_KIT_DIR/logs"

PG_BIN_DIR="/usr/lib/postgresql/15/bin"
# Debian's interpreter: the Python dependencies come from Debian packages and
# another python3 may come first on PATH.
DEBIAN_PYTHON="/usr/bin/python3"

LAVA_DB_NAME="lavaserver"
LAVA_DB_USER="lava"
LAVA_DB_PASSWORD="lava"
LAVA_COLLECTOR_USER="qprof_collector"
LAVA_COLLECTOR_PASSWORD="qprof"

kit_log() {
    printf '[lava-kit %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2
}

kit_die() {
    kit_log "error: $*"
    exit 1
}

as_postgres() {
    runuser -u postgres -- "$@"
}

# The port and secret chosen on the first run, kept for later runs.
load_kit_env() {
    if [ -f "$LAVA_KIT_ENV_FILE" ]; then
        # shellcheck source=/dev/null
        . "$LAVA_KIT_ENV_FILE"
    fi
}

# Environment for every LAVA process (manage commands, gunicorn, generator).
# application_name tells the web server's SQL from the scheduler's.
export_lava_env() {
    local application_name="${1:-lava-server}"
    export PYTHONPATH="$LAVA_KIT_SOURCE_DIR:$LAVA_PACKAGE_ROOT/usr/lib/python3/dist-packages"
    export DATABASE_URL="postgres://$LAVA_DB_USER:$LAVA_DB_PASSWORD@127.0.0.1:$LAVA_PG_PORT/$LAVA_DB_NAME?application_name=$application_name"
    export SECRET_KEY="$LAVA_SECRET_KEY"
    export ALLOWED_HOSTS="127.0.0.1,localhost"
    export DJANGO_SETTINGS_MODULE="qprof_lava_settings"
    export QPROF_LAVA_PACKAGE_ROOT="$LAVA_PACKAGE_ROOT"
    export QPROF_LAVA_STATE_DIR="$LAVA_STATE_DIR"
}

# Runs a Django management command of LAVA with the kit's settings.
lava_manage() {
    "$DEBIAN_PYTHON" -m django "$@"
}

pg_is_running() {
    as_postgres "$PG_BIN_DIR/pg_ctl" -D "$LAVA_PGDATA" status >/dev/null 2>&1
}

start_postgres() {
    if pg_is_running; then
        return 0
    fi
    as_postgres "$PG_BIN_DIR/pg_ctl" -D "$LAVA_PGDATA" -w -t 60 \
        -l "$LAVA_PGDATA/server.log" start >/dev/null ||
        { tail -n 20 "$LAVA_PGDATA/server.log" >&2; kit_die "PostgreSQL did not start"; }
}

stop_postgres() {
    if pg_is_running; then
        as_postgres "$PG_BIN_DIR/pg_ctl" -D "$LAVA_PGDATA" -m fast -w stop >/dev/null || true
    fi
    # the word slot map the demo's collector pinned (bpf/README.md): the
    # kit's server is a throw-away one
    rm -f /run/pg_qprof/words-*-"$LAVA_PG_PORT"
}

# psql as the superuser over the kit's socket; extra arguments are passed on.
kit_psql() {
    as_postgres "$PG_BIN_DIR/psql" -X -h "$LAVA_PG_SOCKET_DIR" -p "$LAVA_PG_PORT" "$@"
}
