#!/usr/bin/env bash
# Checks the restore of a DBA's pg_dump that `LAVA_DEMO_DUMP=FILE make demo`
# does (restore_lava_dump in common.sh): generates a small lab in a kit of
# its own, dumps it in custom format, in plain format compressed with zstd,
# and in plain format compressed with gzip, then as an older LAVA's (its
# last scheduler migration undone) in custom format; restores each dump in
# turn and checks that the restored lab has the same rows, that its tables
# are LAVA's role's, that LAVA's migrations found nothing left to do (or, for
# the older one, applied the missing migration), and that LAVA's role can
# read it. Run as root; about 3 minutes (more on a first run, which
# unpacks LAVA). Prints "N passed, N failed".
#
#   LAVA_KIT_DIR   the kit's folder (/tmp/qprof-lava-dumpcheck: not the
#                  demo's, whose lab stays as it is)
#   DUMP_CHECK_JOBS  test jobs in the lab (300)
set -euo pipefail

export LAVA_KIT_DIR="${LAVA_KIT_DIR:-/tmp/qprof-lava-dumpcheck}"
# shellcheck source=common.sh
. "$(dirname "$0")/common.sh"

jobs="${DUMP_CHECK_JOBS:-300}"
passed=0
failed=0

check() { # description, then a command that succeeds when it holds
    local what="$1"
    shift
    if "$@"; then
        echo "ok - $what"
        passed=$((passed + 1))
    else
        echo "not ok - $what"
        failed=$((failed + 1))
    fi
}

# Row counts of the tables a lab is made of, one line.
lab_counts() {
    kit_psql -d "$LAVA_DB_NAME" -Atc "SELECT
        (SELECT count(*) FROM lava_scheduler_app_testjob) || ' jobs, ' ||
        (SELECT count(*) FROM lava_results_app_testcase) || ' test cases, ' ||
        (SELECT count(*) FROM lava_scheduler_app_device) || ' devices, ' ||
        (SELECT count(*) FROM auth_user) || ' users, ' ||
        (SELECT count(*) FROM django_migrations) || ' migrations'"
}

# Tables and sequences of the public schema that LAVA's role does not own.
foreign_owned() {
    kit_psql -d "$LAVA_DB_NAME" -Atc "SELECT count(*) FROM pg_class c
        JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'public' AND c.relkind IN ('r', 'S', 'v', 'm', 'p')
          AND pg_get_userbyid(c.relowner) <> '$LAVA_DB_USER'"
}

main() {
    [ "$(id -u)" -eq 0 ] || kit_die "run as root"
    trap stop_postgres EXIT
    LAVA_KIT_KEEP_RUNNING=1 bash "$LAVA_KIT_SOURCE_DIR/setup.sh"
    load_kit_env
    start_postgres
    (
        export_lava_env lava-generator
        cd "$LAVA_KIT_DIR"
        "$DEBIAN_PYTHON" "$LAVA_KIT_SOURCE_DIR/generate_lab.py" --jobs "$jobs" \
            --manifest "$LAVA_KIT_DIR/manifest.json" >/dev/null
    )
    local expected
    expected="$(lab_counts)"
    echo "the lab: $expected"

    local dumps="$LAVA_KIT_DIR/dumps"
    rm -rf "$dumps"
    mkdir -p "$dumps"
    local dump="as_postgres $PG_BIN_DIR/pg_dump -h $LAVA_PG_SOCKET_DIR -p $LAVA_PG_PORT $LAVA_DB_NAME"
    $dump -Fc >"$dumps/lava.custom"
    $dump -Fp | zstd -q >"$dumps/lava.sql.zst"
    $dump -Fp | gzip >"$dumps/lava.sql.gz"
    # an older LAVA's database: without the scheduler's last migration
    # (0056 adds testjob.queue_timeout)
    (
        export_lava_env lava-migrate
        "$DEBIAN_PYTHON" "$LAVA_PACKAGE_ROOT/usr/bin/lava-server" manage migrate \
            lava_scheduler_app 0055_notificationcallback_header --noinput >/dev/null
    )
    $dump -Fc >"$dumps/lava-0055.custom"
    # root's files, unreadable by the postgres user, as a DBA's copy may be
    chmod 0600 "$dumps"/*

    check "custom dump recognised" test "$(dump_format "$dumps/lava.custom")" = "none custom"
    check "zstd plain dump recognised" test "$(dump_format "$dumps/lava.sql.zst")" = "zstd plain"
    check "gzip plain dump recognised" test "$(dump_format "$dumps/lava.sql.gz")" = "gzip plain"

    local file
    for file in "$dumps/lava.custom" "$dumps/lava.sql.zst" "$dumps/lava.sql.gz" "$dumps/lava-0055.custom"; do
        restore_lava_dump "$file"
        check "$(basename "$file"): same rows after the restore" test "$(lab_counts)" = "$expected"
        check "$(basename "$file"): every table is $LAVA_DB_USER's" test "$(foreign_owned)" = 0
        if [ "$(basename "$file")" = lava-0055.custom ]; then
            check "$(basename "$file"): the migrations brought it up to date" \
                grep -q "Applying lava_scheduler_app.0056_testjob_queue_timeout... OK" "$LAVA_LOG_DIR/migrate.log"
            check "$(basename "$file"): with the new column" test "$(kit_psql -d "$LAVA_DB_NAME" -Atc \
                "SELECT count(*) FROM information_schema.columns WHERE table_name = 'lava_scheduler_app_testjob' AND column_name = 'queue_timeout'")" = 1
        else
            check "$(basename "$file"): the migrations had nothing to do" \
                grep -q "No migrations to apply" "$LAVA_LOG_DIR/migrate.log"
        fi
        check "$(basename "$file"): LAVA's role reads the lab" test "$(PGPASSWORD="$LAVA_DB_PASSWORD" \
            "$PG_BIN_DIR/psql" -X -h 127.0.0.1 -p "$LAVA_PG_PORT" -U "$LAVA_DB_USER" -d "$LAVA_DB_NAME" \
            -Atc "SELECT count(*) > 0 FROM lava_scheduler_app_testjob")" = t
        check "$(basename "$file"): pg_qprof is there" test "$(kit_psql -d "$LAVA_DB_NAME" -Atc \
            "SELECT count(*) FROM pg_extension WHERE extname = 'pg_qprof'")" = 1
    done
    echo "$passed passed, $failed failed"
    [ "$failed" -eq 0 ]
}

main "$@"
