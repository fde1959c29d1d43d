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
    # (no port yet when the demo stops before the kit's setup)
    [ -z "${LAVA_PG_PORT:-}" ] || rm -f /run/pg_qprof/words-*-"$LAVA_PG_PORT"
}

# psql as the superuser over the kit's socket; extra arguments are passed on.
kit_psql() {
    as_postgres "$PG_BIN_DIR/psql" -X -h "$LAVA_PG_SOCKET_DIR" -p "$LAVA_PG_PORT" "$@"
}

# LAVA's migrations, as an administrator runs them: the packaged entry point,
# which forces LAVA's production settings (they read export_lava_env's
# environment). Brings an older schema up to date; nothing to do on a
# current one.
lava_migrate() {
    (
        export_lava_env lava-migrate
        "$DEBIAN_PYTHON" "$LAVA_PACKAGE_ROOT/usr/bin/lava-server" manage migrate --noinput
    ) >"$LAVA_LOG_DIR/migrate.log" 2>&1 ||
        { tail -n 30 "$LAVA_LOG_DIR/migrate.log" >&2; kit_die "LAVA's migrations failed (log: $LAVA_LOG_DIR/migrate.log)"; }
}

# What a dump file is, from its first bytes: custom, tar, or plain (SQL),
# compressed with gzip, zstd or xz or not; e.g. "gzip plain". A directory is
# pg_dump's directory format.
dump_format() {
    local file="$1" compression=none magic inner
    if [ -d "$file" ]; then
        echo "none directory"
        return 0
    fi
    magic="$(head -c 6 "$file" | od -An -v -tx1 | tr -d ' \n')"
    case "$magic" in
    1f8b*) compression=gzip ;;
    28b52ffd*) compression=zstd ;;
    fd377a585a00) compression=xz ;;
    esac
    # the first 512 bytes of the dump itself, decompressed if need be
    if [ "$compression" = none ]; then
        inner="$(head -c 512 "$file" | od -An -v -c | tr -d ' \n')"
    else
        # (the decompressor is cut short by head: its status is not ours)
        inner="$( (decompress_dump "$compression" "$file" 2>/dev/null || true) | head -c 512 | od -An -v -c | tr -d ' \n')"
    fi
    case "$inner" in
    PGDMP*) echo "$compression custom" ;;
    *ustar*) echo "$compression tar" ;;
    *) echo "$compression plain" ;;
    esac
}

# Writes a dump file to stdout, decompressed.
decompress_dump() {
    case "$1" in
    gzip) gzip -dc -- "$2" ;;
    zstd) zstd -dcq -- "$2" ;;
    xz) xz -dc -- "$2" ;;
    *) cat -- "$2" ;;
    esac
}

# Replaces LAVA's database with the contents of a DBA's pg_dump (custom,
# tar, directory or plain format; gzip, zstd or xz around a plain or custom
# one), then runs LAVA's migrations, which bring an older LAVA's schema up to
# date, and ANALYZE. Objects are restored without their original owner and
# privileges (those roles need not exist here) and made LAVA's role's: the
# restore runs as a throw-away superuser role whose objects then go to LAVA's
# role. The server must be running.
restore_lava_dump() {
    local file="$1" compression format restore_role=qprof_kit_restore
    [ -e "$file" ] || kit_die "no dump at $file"
    read -r compression format < <(dump_format "$file")
    kit_log "restoring $file ($format format, compression: $compression; $(file -b "$file" | cut -c1-60))"
    kit_psql -d postgres -q -v ON_ERROR_STOP=1 \
        -c "SET client_min_messages = warning" \
        -c "DROP DATABASE IF EXISTS $LAVA_DB_NAME WITH (FORCE)" \
        -c "DROP ROLE IF EXISTS $restore_role" \
        -c "CREATE ROLE $restore_role SUPERUSER NOLOGIN" \
        -c "CREATE DATABASE $LAVA_DB_NAME OWNER $LAVA_DB_USER"
    local log="$LAVA_LOG_DIR/restore.log"
    local status=0
    case "$format" in
    plain)
        # Owners and privileges are the dump's roles': their statements are
        # left out (they are one line each in pg_dump's output).
        { echo "SET ROLE $restore_role;"; decompress_dump "$compression" "$file" |
            sed -E '/^ALTER [A-Z ]+ .+ OWNER TO [^;]+;$/d'; } |
            kit_psql -d "$LAVA_DB_NAME" -q -v ON_ERROR_STOP=0 >"$log" 2>&1 || status=$?
        ;;
    custom)
        # from stdin: the postgres user need not be able to read the file
        decompress_dump "$compression" "$file" |
            as_postgres "$PG_BIN_DIR/pg_restore" -h "$LAVA_PG_SOCKET_DIR" -p "$LAVA_PG_PORT" \
                -d "$LAVA_DB_NAME" --no-owner --no-privileges --role="$restore_role" \
                >"$log" 2>&1 || status=$?
        ;;
    tar | directory)
        # pg_restore reads these only from a path the postgres user can read
        local copy="$LAVA_KIT_DIR/restore.$format"
        rm -rf "$copy"
        if [ "$format" = directory ]; then
            cp -r -- "$file" "$copy"
        else
            decompress_dump "$compression" "$file" >"$copy"
        fi
        chown -R postgres: "$copy"
        as_postgres "$PG_BIN_DIR/pg_restore" -h "$LAVA_PG_SOCKET_DIR" -p "$LAVA_PG_PORT" \
            -d "$LAVA_DB_NAME" --no-owner --no-privileges --role="$restore_role" \
            "$copy" >"$log" 2>&1 || status=$?
        rm -rf "$copy"
        ;;
    esac
    # pg_restore and psql go on past an object they cannot create (a role
    # or an extension missing here, the public schema that exists): say how
    # many, and let the migrations and the demo tell whether LAVA works.
    local errors
    errors="$(grep -c 'ERROR' "$log" || true)"
    [ "$errors" -gt 0 ] && kit_log "the restore reported $errors errors (status $status); see $log"
    kit_psql -d "$LAVA_DB_NAME" -q -v ON_ERROR_STOP=1 \
        -c "SET client_min_messages = warning" \
        -c "REASSIGN OWNED BY $restore_role TO $LAVA_DB_USER" \
        -c "DROP OWNED BY $restore_role" -c "DROP ROLE $restore_role" \
        -c "CREATE EXTENSION IF NOT EXISTS pg_qprof"
    [ "$(kit_psql -d "$LAVA_DB_NAME" -Atc "SELECT to_regclass('public.django_migrations') IS NOT NULL")" = t ] ||
        kit_die "$file has no LAVA database (no django_migrations table); see $log"
    kit_log "applying LAVA's migrations to the restored schema"
    lava_migrate
    kit_psql -d "$LAVA_DB_NAME" -q -c "ANALYZE"
}
