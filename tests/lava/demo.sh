#!/usr/bin/env bash
# `make demo`: pg_qprof profiling a real LAVA server, end to end.
#
#   1. installs the Debian packages (tests/deps/*.txt), builds and installs
#      the extension, and the collector if it builds;
#   2. sets up LAVA on a throw-away PostgreSQL cluster with pg_qprof
#      preloaded (setup.sh), fills it with a lab's data (generate_lab.py);
#   3. serves LAVA with gunicorn, runs LAVA's scheduler, and drives a lab's
#      traffic at it (drive_traffic.py) while `qprof collect` captures;
#   4. checks the capture with `qprof dump --check`, prints `qprof report`
#      (where the database time went, and what to do first) and writes the
#      report's HTML page next to the capture;
#   5. with LAVA_DEMO_DIFF=1 (`make demo-diff`), records the same traffic
#      with `qprof record` three times: twice as it is, once with one of
#      LAVA's indexes dropped (a planted regression, undone after), and
#      prints `qprof diff --fail-on` of each against the first: the noise
#      passes (exit 0), the regression fails (exit 1) with its statement,
#      route and plan change first.
# A second run reuses the cluster and the data in $LAVA_KIT_DIR. Everything
# started here is stopped on exit.
#
# Settings (environment):
#   LAVA_DEMO_DUMP          a pg_dump of a real LAVA database to restore
#                           instead of generating a lab (custom, tar,
#                           directory or plain format; a plain or custom one
#                           may be compressed with gzip, zstd or xz); LAVA's
#                           migrations bring an older schema up to date. It is
#                           restored again when the file changes.
#   LAVA_DEMO_JOBS          test jobs in the generated lab (20000); the lab is
#                           generated again when this changes
#   LAVA_DEMO_DURATION      seconds of traffic (150)
#   LAVA_DEMO_CLIENTS       concurrent people and CI systems (2)
#   LAVA_DEMO_MAX_REQUESTS  upper bound on the requests sent (20000)
#   LAVA_DEMO_SCHEDULER     1 to run LAVA's scheduler during the traffic (1)
#   LAVA_DEMO_RETENTION     1 to run LAVA's retention (`jobs rm --older-than
#                           170d`, as a dry run, rolled back) during the traffic (1)
#   LAVA_DEMO_STATEMENT_TIMEOUT_MS
#                           LAVA's statement_timeout for web requests (250;
#                           LAVA's default is 30000): lowered so that a small
#                           lab's slowest pages fail the way a large lab's do
#   LAVA_DEMO_DIFF          1 for step 5 (0)
#   LAVA_DEMO_DIFF_DURATION seconds of traffic in each of step 5's three
#                           recordings (60)
#   LAVA_DEMO_DIFF_FAIL_ON  the --fail-on PERCENT of step 5's diffs (25: a
#                           change must also stand out of each recording's
#                           own drift, docs/diff.md; the dropped index makes
#                           its lookup 40 times slower)
#   LAVA_DEMO_INSTALL       0 to build and install nothing: the extension
#                           installed already and the `qprof` first on PATH are
#                           used (1)
#   LAVA_DEMO_BPF           qprof's --bpf: auto, on, or off for no kernel facts
#                           (auto)
#   LAVA_KIT_DIR            where the kit keeps its state (/tmp/qprof-lava)
set -euo pipefail

# shellcheck source=common.sh
. "$(dirname "$0")/common.sh"

repo_root="$(cd "$LAVA_KIT_SOURCE_DIR/../.." && pwd)"
demo_jobs="${LAVA_DEMO_JOBS:-20000}"
demo_duration_s="${LAVA_DEMO_DURATION:-150}"
demo_clients="${LAVA_DEMO_CLIENTS:-2}"
demo_max_requests="${LAVA_DEMO_MAX_REQUESTS:-20000}"
demo_scheduler="${LAVA_DEMO_SCHEDULER:-1}"
demo_retention="${LAVA_DEMO_RETENTION:-1}"
demo_statement_timeout_ms="${LAVA_DEMO_STATEMENT_TIMEOUT_MS:-250}"
demo_install="${LAVA_DEMO_INSTALL:-1}"
demo_diff="${LAVA_DEMO_DIFF:-0}"
demo_diff_duration_s="${LAVA_DEMO_DIFF_DURATION:-60}"
demo_diff_fail_on="${LAVA_DEMO_DIFF_FAIL_ON:-25}"
# The planted regression: LAVA's index of test suites by job. Uploading a
# job's log looks each of its suites up by job and name, the results pages
# and the REST API list a job's suites; without it each lookup scans every
# suite of the lab.
planted_index="lava_results_app_testsuite_job_id_8e4a6b57"
planted_index_definition="CREATE INDEX IF NOT EXISTS $planted_index ON lava_results_app_testsuite USING btree (job_id)"
planted=0
diff_dir=""
diff_status=0
declare -A recorded_rate
demo_bpf="${LAVA_DEMO_BPF:-auto}"
manifest="$LAVA_KIT_DIR/manifest.json"
demo_dump="${LAVA_DEMO_DUMP:-}"
# The size of the lab in the database, written once it is generated.
lab_size_file="$LAVA_KIT_DIR/lab-jobs"
# Which dump the database holds, written once it is restored.
lab_dump_file="$LAVA_KIT_DIR/lab-dump"

started_pids=()

# Stops what this script started, newest first: SIGTERM, then SIGKILL after
# a grace period.
stop_everything() {
    local index pid
    for ((index = ${#started_pids[@]} - 1; index >= 0; index--)); do
        pid="${started_pids[$index]}"
        kill -TERM "$pid" 2>/dev/null || continue
        for _ in $(seq 1 50); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.2
        done
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    started_pids=()
    stop_postgres
}

on_exit() {
    local status=$?
    restore_planted_index
    stop_everything
    if [ "$status" -eq 130 ]; then
        kit_log "demo interrupted; everything it started is stopped"
    elif [ "$status" -ne 0 ]; then
        kit_log "demo failed (exit $status); logs in $LAVA_LOG_DIR"
    fi
    exit "$status"
}

stop_pid() {
    local pid="$1" index
    kill -TERM "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    for index in "${!started_pids[@]}"; do
        [ "${started_pids[$index]}" = "$pid" ] && unset 'started_pids[index]'
    done
    started_pids=("${started_pids[@]}")
}

section() {
    printf '\n==== %s ====\n' "$*"
}

build_and_install() {
    mkdir -p "$LAVA_LOG_DIR"
    section "Debian packages"
    bash "$repo_root/tests/install_deps.sh"

    if [ "$demo_install" = 0 ]; then
        section "pg_qprof (as installed)"
        echo "extension: $(pg_config --pkglibdir)/pg_qprof.so; collector: $(command -v qprof || echo none)"
        return 0
    fi

    section "Building pg_qprof"
    if ! { make -C "$repo_root" && make -C "$repo_root" install; } >"$LAVA_LOG_DIR/build.log" 2>&1; then
        tail -n 30 "$LAVA_LOG_DIR/build.log" >&2
        kit_die "the extension did not build (log: $LAVA_LOG_DIR/build.log)"
    fi
    echo "extension installed in $(pg_config --pkglibdir)"

    if { make -C "$repo_root/collector" && make -C "$repo_root/collector" install; } \
        >"$LAVA_LOG_DIR/collector-build.log" 2>&1; then
        echo "collector installed: $(command -v qprof)"
    elif command -v qprof >/dev/null; then
        echo "collector did not build (log: $LAVA_LOG_DIR/collector-build.log); using $(command -v qprof)"
    else
        echo "collector did not build (log: $LAVA_LOG_DIR/collector-build.log); no capture this time"
    fi
}

free_port() {
    "$DEBIAN_PYTHON" - <<'EOF'
import random, socket
while True:
    port = random.randint(20000, 29999)
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            continue
    print(port)
    break
EOF
}

wait_for_http() {
    local url="$1" timeout_s="$2"
    "$DEBIAN_PYTHON" - "$url" "$timeout_s" <<'EOF'
import sys, time, urllib.request
url, deadline = sys.argv[1], time.monotonic() + float(sys.argv[2])
while time.monotonic() < deadline:
    try:
        urllib.request.urlopen(url, timeout=10).read()
        sys.exit(0)
    except OSError:
        time.sleep(1)
sys.exit(1)
EOF
}

start_lava_web() {
    web_port="$(free_port)"
    (
        export_lava_env lava-web
        export QPROF_LAVA_STATEMENT_TIMEOUT_MS="$demo_statement_timeout_ms"
        cd "$LAVA_KIT_DIR"
        exec "$DEBIAN_PYTHON" -m gunicorn.app.wsgiapp --bind "127.0.0.1:$web_port" \
            --workers 2 --timeout 120 lava_server.wsgi
    ) >"$LAVA_LOG_DIR/gunicorn.log" 2>&1 &
    started_pids+=($!)
    wait_for_http "http://127.0.0.1:$web_port/api/v0.2/" 60 ||
        { tail -n 20 "$LAVA_LOG_DIR/gunicorn.log" >&2; kit_die "LAVA's web server did not answer"; }
    echo "LAVA serves http://127.0.0.1:$web_port (gunicorn, 2 workers, statement_timeout ${demo_statement_timeout_ms} ms)"
}

# LAVA's scheduler drops its privileges to an existing user and group.
start_lava_scheduler() {
    (
        export_lava_env lava-scheduler
        cd "$LAVA_KIT_DIR"
        exec "$DEBIAN_PYTHON" -m django lava-scheduler --level DEBUG \
            --log-file "$LAVA_LOG_DIR/scheduler.log" --user nobody --group nogroup
    ) >"$LAVA_LOG_DIR/scheduler.out" 2>&1 &
    started_pids+=($!)
    echo "LAVA's scheduler runs (log: $LAVA_LOG_DIR/scheduler.log)"
}

# Removing old jobs one by one with their suites and test cases, as a lab's
# nightly retention does. A dry run deletes in a transaction it rolls back,
# so the lab stays the same for the next demo.
start_lava_retention() {
    (
        export_lava_env lava-retention
        cd "$LAVA_KIT_DIR"
        exec "$DEBIAN_PYTHON" -m django jobs rm --older-than 170d --dry-run
    ) >"$LAVA_LOG_DIR/retention.log" 2>&1 &
    retention_pid=$!
    started_pids+=("$retention_pid")
    echo "LAVA's retention runs (jobs rm --older-than 170d --dry-run)"
}

finish_lava_retention() {
    [ -n "${retention_pid:-}" ] || return 0
    local status=0
    wait "$retention_pid" || status=$?
    stop_pid "$retention_pid"
    echo "retention: $(head -n 1 "$LAVA_LOG_DIR/retention.log") (exit $status)"
}

start_collector() {
    capture_dir=""
    command -v qprof >/dev/null || return 0
    capture_dir="$LAVA_KIT_DIR/capture-$(date -u +%Y%m%dT%H%M%S)"
    local dsn="host=127.0.0.1 port=$LAVA_PG_PORT dbname=$LAVA_DB_NAME user=$LAVA_COLLECTOR_USER password=$LAVA_COLLECTOR_PASSWORD application_name=qprof"
    qprof collect --dsn "$dsn" --out "$capture_dir" --label lava-demo --bpf "$demo_bpf" \
        --duration "$((demo_duration_s + 10))" >"$LAVA_LOG_DIR/collector.log" 2>&1 &
    collector_pid=$!
    started_pids+=("$collector_pid")
    echo "qprof collect writes to $capture_dir"
}

finish_collector() {
    [ -n "$capture_dir" ] || return 0
    section "Capture"
    local status=0
    wait "$collector_pid" || status=$?
    stop_pid "$collector_pid"
    echo "qprof collect exited with status $status"
    if [ -s "$LAVA_LOG_DIR/collector.log" ]; then
        tail -n 5 "$LAVA_LOG_DIR/collector.log" | sed 's/^/  /'
    fi
    if [ -d "$capture_dir" ]; then
        qprof dump --check "$capture_dir" 2>&1 | tail -n 15 || echo "qprof dump --check failed"
    fi
}

# `qprof report` of the capture, in the terminal and as an HTML page next to
# the capture folder.
report_capture() {
    report_page=""
    [ -n "$capture_dir" ] && [ -d "$capture_dir" ] || return 0
    section "Where LAVA's database time went (qprof report $capture_dir)"
    qprof report "$capture_dir" || echo "qprof report failed (exit $?)"
    report_page="$capture_dir.html"
    if ! qprof report "$capture_dir" --html "$report_page" >"$LAVA_LOG_DIR/report-html.log" 2>&1; then
        cat "$LAVA_LOG_DIR/report-html.log" >&2
        echo "qprof report --html failed"
        report_page=""
    fi
}

# Step 5: the traffic recorded around the driver with `qprof record`, as a
# CI job records its test suite, into $diff_dir/NAME.
record_traffic() {
    local name="$1" status=0
    local dsn="host=127.0.0.1 port=$LAVA_PG_PORT dbname=$LAVA_DB_NAME user=$LAVA_COLLECTOR_USER password=$LAVA_COLLECTOR_PASSWORD application_name=qprof"
    qprof record --dsn "$dsn" --out "$diff_dir/$name" --label "lava-demo-$name" --bpf "$demo_bpf" -- \
        "$DEBIAN_PYTHON" "$LAVA_KIT_SOURCE_DIR/drive_traffic.py" --url "http://127.0.0.1:$web_port" \
        --manifest "$manifest" --duration "$demo_diff_duration_s" --clients "$demo_clients" \
        --max-requests "$demo_max_requests" >"$LAVA_LOG_DIR/record-$name.log" 2>&1 &
    local record_pid=$!
    started_pids+=("$record_pid")
    wait "$record_pid" || status=$?
    stop_pid "$record_pid"
    [ "$status" -eq 0 ] ||
        { tail -n 20 "$LAVA_LOG_DIR/record-$name.log" >&2; kit_die "qprof record of $name exited $status"; }
    local summary
    summary="$(grep -m1 'requests in' "$LAVA_LOG_DIR/record-$name.log")"
    # "316 requests in 61 s": requests a minute, the machine's speed
    recorded_rate["$name"]="$(echo "$summary" | awk '{ printf "%d", $1 * 60 / $4 }')"
    echo "$name: $summary (load average $(cut -d' ' -f1 /proc/loadavg)), capture $diff_dir/$name"
}

plant_regression() {
    kit_psql -d "$LAVA_DB_NAME" -qc "DROP INDEX $planted_index"
    planted=1
    echo "planted: DROP INDEX $planted_index (lava_results_app_testsuite (job_id))"
}

# Puts the dropped index back, also when the demo stops half-way.
restore_planted_index() {
    [ "$planted" = 1 ] || return 0
    if kit_psql -d "$LAVA_DB_NAME" -qc "$planted_index_definition"; then
        planted=0
        echo "restored: $planted_index"
    else
        kit_log "could not restore the index $planted_index: $planted_index_definition"
    fi
}

record_before_and_after() {
    diff_dir="$LAVA_KIT_DIR/diff-$(date -u +%Y%m%dT%H%M%S)"
    mkdir -p "$diff_dir"
    section "Before and after: qprof record around ${demo_diff_duration_s} s of traffic, three times"
    record_traffic base
    record_traffic again
    plant_regression
    record_traffic dropped-index
    restore_planted_index
}

# qprof diff base NEW --fail-on, in the terminal and as a page; checks its
# exit status.
diff_pair() {
    local new="$1" expected="$2" title="$3" status=0
    section "$title (qprof diff base $new --fail-on $demo_diff_fail_on)"
    qprof diff "$diff_dir/base" "$diff_dir/$new" --fail-on "$demo_diff_fail_on" \
        --top 8 --html "$diff_dir/$new.html" || status=$?
    if [ "$status" -eq "$expected" ]; then
        echo "exit status $status, as expected"
    elif [ "$new" = again ] && load_changed base again; then
        # the same traffic went through at another speed: the machine's
        # load changed, and with it every CPU-bound statement's time
        echo "exit status $status, expected $expected; not conclusive: the same traffic ran at" \
            "${recorded_rate[base]} and ${recorded_rate[again]} requests a minute (other load on the machine)"
    else
        echo "exit status $status, expected $expected"
        diff_status=1
    fi
}

# Whether two recordings of the same traffic ran at speeds more than 25%
# apart.
load_changed() {
    local a="${recorded_rate[$1]:-0}" b="${recorded_rate[$2]:-0}"
    [ "$a" -gt 0 ] && [ "$b" -gt 0 ] || return 1
    [ $((a * 4)) -gt $((b * 5)) ] || [ $((b * 4)) -gt $((a * 5)) ]
}

diff_captures() {
    [ -n "$diff_dir" ] || return 0
    diff_pair again 0 "Noise: the same traffic twice"
    diff_pair dropped-index 1 "A planted regression: $planted_index dropped"
    # what it put first, from its JSON
    qprof diff "$diff_dir/base" "$diff_dir/dropped-index" --fail-on "$demo_diff_fail_on" --json \
        >"$diff_dir/dropped-index.json" || true
    "$DEBIAN_PYTHON" "$LAVA_KIT_SOURCE_DIR/check_diff.py" "$diff_dir/dropped-index.json" \
        "$planted_index" || diff_status=1
}

# A description of the dump, to restore it again only when it changed.
dump_identity() {
    local path
    path="$(realpath -- "$1")"
    echo "$path $(du -sb -- "$path" | cut -f1) $(stat -c %Y -- "$path")"
}

# The kit's sign-in users (generate_lab.py's, password = user name) in a
# restored lab, for the traffic's signed-in pages; a user of the dump with
# the same name is left as it is.
add_sign_in_users() {
    (
        export_lava_env lava-generator
        cd "$LAVA_KIT_DIR"
        "$DEBIAN_PYTHON" -c '
import django
django.setup()
from django.contrib.auth.models import User
for index in range(5):
    name = f"user{index:02d}"
    user, created = User.objects.get_or_create(username=name)
    if created:
        user.set_password(name)
        user.save()
'
    )
}

main() {
    [ "$(id -u)" -eq 0 ] || kit_die "run as root (make demo installs packages and runs PostgreSQL as postgres)"
    local demo_started=$SECONDS
    trap on_exit EXIT
    trap 'exit 130' INT TERM

    build_and_install

    section "LAVA"
    local recreate_database=0 restore_dump=0 dump_id=""
    if [ -n "$demo_dump" ]; then
        [ -e "$demo_dump" ] || kit_die "LAVA_DEMO_DUMP: no file $demo_dump"
        dump_id="$(dump_identity "$demo_dump")"
        if [ "$(cat "$lab_dump_file" 2>/dev/null)" != "$dump_id" ]; then
            restore_dump=1
            rm -f "$lab_dump_file" "$lab_size_file"
        fi
    elif [ -f "$lab_dump_file" ]; then
        # a restored lab is there; a generated one is wanted
        recreate_database=1
        rm -f "$lab_dump_file" "$lab_size_file"
    elif [ -f "$lab_size_file" ] && [ "$(cat "$lab_size_file")" != "$demo_jobs" ]; then
        recreate_database=1
        rm -f "$lab_size_file"
    fi
    LAVA_KIT_KEEP_RUNNING=1 LAVA_KIT_RECREATE_DATABASE="$recreate_database" \
        bash "$LAVA_KIT_SOURCE_DIR/setup.sh"
    load_kit_env
    start_postgres

    if [ -n "$demo_dump" ]; then
        section "Lab data (restored from $demo_dump)"
        if [ "$restore_dump" = 1 ]; then
            restore_lava_dump "$demo_dump"
            add_sign_in_users
            echo "$dump_id" >"$lab_dump_file"
        else
            echo "the database holds this dump already"
        fi
    else
        section "Lab data"
    fi
    # generate_lab.py keeps a lab that has devices (a restored one): it only
    # writes the device dictionaries and the traffic's manifest then.
    (
        export_lava_env lava-generator
        cd "$LAVA_KIT_DIR"
        "$DEBIAN_PYTHON" "$LAVA_KIT_SOURCE_DIR/generate_lab.py" --jobs "$demo_jobs" --manifest "$manifest"
    )
    [ -n "$demo_dump" ] || [ -f "$lab_size_file" ] || echo "$demo_jobs" >"$lab_size_file"
    kit_psql -d "$LAVA_DB_NAME" -Atc "SELECT 'jobs ' || (SELECT count(*) FROM lava_scheduler_app_testjob) || ', test cases ' || (SELECT count(*) FROM lava_results_app_testcase) || ', database ' || pg_size_pretty(pg_database_size(current_database()))"

    section "Traffic"
    start_lava_web
    # Only the traffic's statements in the report.
    kit_psql -d "$LAVA_DB_NAME" -qAtc "SELECT pg_qprof.reset()" >/dev/null
    start_collector
    if [ "$demo_scheduler" = 1 ]; then
        start_lava_scheduler
    fi
    if [ "$demo_retention" = 1 ]; then
        start_lava_retention
    fi
    echo "driving traffic for ${demo_duration_s} s with $demo_clients clients and the workers' heartbeats"
    # In the background so that an interrupt reaches the trap at once (bash
    # runs traps only between foreground commands, but `wait` is interrupted).
    "$DEBIAN_PYTHON" "$LAVA_KIT_SOURCE_DIR/drive_traffic.py" --url "http://127.0.0.1:$web_port" \
        --manifest "$manifest" --duration "$demo_duration_s" --clients "$demo_clients" \
        --max-requests "$demo_max_requests" &
    local driver_pid=$!
    started_pids+=("$driver_pid")
    wait "$driver_pid" || kit_die "the traffic driver failed"
    stop_pid "$driver_pid"
    finish_lava_retention

    finish_collector
    if [ "$demo_diff" = 1 ]; then
        command -v qprof >/dev/null || kit_die "LAVA_DEMO_DIFF=1 needs qprof"
        record_before_and_after
    fi
    stop_everything
    report_capture
    diff_captures

    section "Done"
    echo "demo finished in $((SECONDS - demo_started)) s; logs in $LAVA_LOG_DIR"
    if [ -n "$capture_dir" ] && [ -d "$capture_dir" ]; then
        echo "capture:     $capture_dir"
    fi
    if [ -n "$report_page" ]; then
        echo "report page: $report_page"
    else
        echo "no report page (no capture, or qprof report failed)"
    fi
    if [ -n "$diff_dir" ]; then
        echo "before/after: $diff_dir (captures base, again, dropped-index; the diffs' pages)"
        [ "$diff_status" = 0 ] || kit_die "qprof diff did not tell the noise from the planted regression"
    fi
}

main "$@"
