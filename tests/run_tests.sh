#!/usr/bin/env bash
# The one test command (`make test`). Run as root on a fresh clone (CI runs it
# with CI=true and no stdin):
#   1. installs the Debian packages it needs (tests/install_deps.sh);
#   2. builds and installs the extension, the collector and the BPF programs;
#   3. the contracts: the error contract between C++ and PostgreSQL on the
#      objects built (tests/contract/check_error_contract.sh,
#      docs/error-contract.md), and this script's counting of skipped tests
#      (tests/contract/check_skip_counting.sh);
#   4. as the postgres user, in a throw-away directory: pg_regress on a
#      temporary instance (tests/regress_schedule, tests/regress.conf), then
#      the TAP tests tests/t/*.pl;
#   5. as root: the TAP tests tests/root/*.pl, if any.
# Every server started here is stopped on exit, whatever happened. The last
# line is "N passed, N failed, N skipped": pg_regress tests, the contract
# check and TAP files pass or fail; a TAP file that skips all its tests is
# counted skipped, not passed, and so is each test a passing file skips. A
# BPF test (tests/root/*bpf*.pl) that skips anything fails when BPF works on
# this machine (a probe loads and attaches trivial programs). The exit status
# is non-zero when anything failed.
#
# Environment: QPROF_KEEP=1 keeps the throw-away directory;
# QPROF_TESTS="contract regress t/01_x.pl ..." runs only those suites
# ("contract" is the checks of tests/contract, "regress" is pg_regress; the
# others are TAP files under tests/);
# QPROF_SKIP_BUILD=1 skips steps 1-2 (for a quick re-run);
# QPROF_SANITIZED=1 runs the TAP tests with the collector built with
# AddressSanitizer and UBSan (collector/build-asan/qprof, built in step 2 by
# `make -C collector sanitize`) first on the PATH: a sanitizer report of any
# qprof run fails the test file. Without QPROF_TESTS, the collector's tests
# (t/1*_collector_*.pl) also run a second time that way, after the others
# (QPROF_SANITIZED_PASS=0 leaves that pass out).
set -uo pipefail

repo="$(cd "$(dirname "$0")/.." && pwd)"
pg_bindir=/usr/lib/postgresql/15/bin
pgxs_dir=/usr/lib/postgresql/15/lib/pgxs
pg_regress="$pgxs_dir/src/test/regress/pg_regress"
perl_lib="$pgxs_dir/src/test/perl"
test_user=postgres

passed=0
failed=0
skipped=0
failures=()
skips=()

say() { printf '== %s\n' "$*"; }

# Runs a command as the test user (or directly when that is already us).
as_test_user() {
    if [ "$(id -u)" -eq 0 ]; then
        runuser -u "$test_user" -- "$@"
    else
        "$@"
    fi
}

# The test user's command prefix.
if [ "$(id -u)" -eq 0 ]; then
    user_prefix=(runuser -u "$test_user" --)
else
    user_prefix=()
fi

# Runs a command in its own process group, in the background, and waits for
# it: a signal then reaches this script's traps at once, and cleanup stops
# the whole group. The first argument is the directory to run in.
child=0
run_child() {
    local dir="$1" rc
    shift
    setsid env -C "$dir" "$@" </dev/null 3>&- 4>&- &
    child=$!
    wait "$child"
    rc=$?
    child=0
    return "$rc"
}

# Stops every server whose data directory is under the work directory.
stop_servers() {
    local pidfile datadir
    [ -n "${work:-}" ] && [ -d "$work" ] || return 0
    while IFS= read -r pidfile; do
        datadir="$(dirname "$pidfile")"
        say "stopping the server left in $datadir"
        as_test_user "$pg_bindir/pg_ctl" -D "$datadir" -m immediate -w stop \
            >/dev/null 2>&1 </dev/null ||
            kill -9 "$(head -n1 "$pidfile")" 2>/dev/null || true
    done < <(find "$work" -name postmaster.pid 2>/dev/null)
}

# The script's own output, for the traps: a signal may arrive while a
# command's output is redirected to a log file.
exec 3>&1 4>&2

cleanup() {
    local rc=$?
    # finish cleaning up even if signalled again
    trap - EXIT
    trap '' INT TERM
    exec 1>&3 2>&4
    if [ "$child" -ne 0 ]; then
        kill -TERM -- "-$child" 2>/dev/null
        sleep 2
        kill -KILL -- "-$child" 2>/dev/null
    fi
    stop_servers
    if [ -n "${work:-}" ] && [ -d "$work" ]; then
        if [ "${QPROF_KEEP:-0}" = 1 ]; then
            say "kept $work"
        else
            rm -rf "$work"
        fi
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'echo "interrupted" >&4; exit 130' INT TERM

# A port in 20000-29999 that nothing listens on.
free_port() {
    local port
    for _ in $(seq 1 50); do
        port=$((20000 + RANDOM % 10000))
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null &&
            [ ! -e "/tmp/.s.PGSQL.$port" ]; then
            echo "$port"
            return 0
        fi
    done
    return 1
}

record() { # name ok|fail
    if [ "$2" = ok ]; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
        failures+=("$1")
    fi
}

finish() {
    if [ "${#skips[@]}" -gt 0 ]; then
        say "skipped:"
        printf '   %s\n' "${skips[@]}"
    fi
    if [ "${#failures[@]}" -gt 0 ]; then
        say "failed: ${failures[*]}"
    fi
    echo "$passed passed, $failed failed, $skipped skipped"
    [ "$failed" -eq 0 ]
    exit $?
}

cd "$repo"

# --- 1-2. dependencies, build, install ------------------------------------
if [ "${QPROF_SKIP_BUILD:-0}" != 1 ]; then
    say "dependencies"
    if ! bash tests/install_deps.sh </dev/null; then
        record install_deps fail
        finish
    fi

    say "build and install the extension"
    if ! { make -j2 </dev/null && make install </dev/null; }; then
        record build fail
        finish
    fi
    if [ -f collector/Makefile ]; then
        say "build and install the collector"
        if ! { make -C collector -j2 </dev/null && make -C collector install </dev/null; }; then
            record build-collector fail
            finish
        fi
        if [ "${QPROF_SANITIZED:-0}" = 1 ] ||
            { [ -z "${QPROF_TESTS:-}" ] && [ "${QPROF_SANITIZED_PASS:-1}" = 1 ]; }; then
            say "build the collector with ASan and UBSan (collector/build-asan)"
            if ! make -C collector -j2 sanitize </dev/null; then
                record build-collector-sanitized fail
                finish
            fi
        fi
    fi
    if [ -f bpf/Makefile ]; then
        say "build the BPF programs"
        if ! make -C bpf -j2 </dev/null; then
            record build-bpf fail
            finish
        fi
    fi
fi

# --- throw-away directory the test user can write ---------------------------
work="$(mktemp -d /tmp/qprof_test.XXXXXX)"
mkdir -p "$work/src" "$work/regress" "$work/tap"
mkdir -p "$work/src/sql" "$work/src/expected"
cp -r tests "$work/src/"
cp sql/*.sql "$work/src/sql/" 2>/dev/null || true
cp expected/*.out "$work/src/expected/" 2>/dev/null || true
[ "$(id -u)" -eq 0 ] && chown -R "$test_user:" "$work"
chmod 755 "$work"

# --- 3. the contracts the build and this script keep ---------------------------
# The error contract between C++ and PostgreSQL, and the counting of skips.
run_contract() {
    local check
    for check in error_contract skip_counting; do
        say "tests/contract/check_$check.sh"
        if run_child "$repo" bash "tests/contract/check_$check.sh" "$repo"; then
            record "contract/$check" ok
        else
            record "contract/$check" fail
        fi
    done
}

# --- 4a. pg_regress ------------------------------------------------------------
run_regress() {
    say "pg_regress"
    schedule="$work/src/tests/regress_schedule"
    missing=()
    for f in sql/*.sql; do
        [ -e "$f" ] || continue
        name="$(basename "$f" .sql)"
        if ! grep -Eq "^test:.*[[:space:]]$name([[:space:]]|\$)" tests/regress_schedule; then
            missing+=("$name")
        fi
    done
    if [ "${#missing[@]}" -gt 0 ]; then
        echo "tests/regress_schedule does not list: ${missing[*]}" >&2
        record regress_schedule fail
    fi

    port="$(free_port)"
    regress_log="$work/regress/pg_regress.log"
    # output shown as it comes and kept in $regress_log for the counts
    run_child "$work/regress" bash -c \
        'log="$1"; shift; "$@" 2>&1 | tee "$log"; exit "${PIPESTATUS[0]}"' \
        _ "$regress_log" "${user_prefix[@]}" timeout 1200 "$pg_regress" \
        --temp-instance="$work/regress/instance" \
        --temp-config="$work/src/tests/regress.conf" \
        --schedule="$schedule" \
        --inputdir="$work/src" \
        --outputdir="$work/regress" \
        --bindir="$pg_bindir" \
        --port="$port" \
        --no-locale --encoding=UTF8
    regress_rc=$?
    n_ok=$(grep -Ec '\.\.\. ok' "$regress_log")
    n_bad=$(grep -Ec '\.\.\. (FAILED|failed)' "$regress_log")
    passed=$((passed + n_ok))
    if [ "$n_bad" -gt 0 ]; then
        failed=$((failed + n_bad))
        failures+=($(grep -E '\.\.\. (FAILED|failed)' "$regress_log" |
            sed -E 's/^[[:space:]]*(test[[:space:]]+)?([^[:space:]]+).*/\2/'))
    fi
    if [ "$regress_rc" -ne 0 ] && [ "$n_bad" -eq 0 ]; then
        record pg_regress fail
    fi
    if [ -s "$work/regress/regression.diffs" ]; then
        say "regression.diffs"
        cat "$work/regress/regression.diffs"
    fi
    if [ "$regress_rc" -ne 0 ] && [ -d "$work/regress/log" ]; then
        say "server log (tail)"
        tail -n 60 "$work/regress/log/postmaster.log" 2>/dev/null
    fi
    stop_servers
}

# --- 4b. TAP tests as the test user, 5. as root --------------------------------
# Whether BPF programs load and attach here ("yes" or "no: why"), probed once
# with the trivial programs of tests/bpf/empty_programs.bpf.c.
bpf_probe_result=
bpf_works() {
    if [ -z "$bpf_probe_result" ]; then
        local tool="$repo/bpf/build/attach_programs"
        local object="$repo/bpf/build/empty_programs.bpf.o" out
        if [ "$(id -u)" -ne 0 ]; then
            bpf_probe_result="no: not root"
        elif [ ! -e /sys/kernel/btf/vmlinux ]; then
            bpf_probe_result="no: no /sys/kernel/btf/vmlinux"
        elif [ ! -x "$tool" ] && ! make -s -C "$repo/bpf" build/attach_programs \
            build/empty_programs.bpf.o </dev/null >/dev/null 2>&1; then
            bpf_probe_result="no: the probe (bpf/build/attach_programs) does not build"
        elif out="$(timeout 60 "$tool" "$object" sys_enter sys_exit </dev/null 2>&1)" &&
            [[ "$out" == ready* ]]; then
            bpf_probe_result=yes
        else
            bpf_probe_result="no: ${out:-the probe failed}"
        fi
        say "BPF works here: $bpf_probe_result"
    fi
    [ "$bpf_probe_result" = yes ]
}

# A TAP file that exercises the BPF programs.
is_bpf_test() {
    [[ "$(basename "$1")" == *bpf* ]] ||
        grep -Eq '^use (BpfTest|BpfDump)\b' "$repo/tests/$1" 2>/dev/null
}

tap_env=(
    "PATH=$pg_bindir:$PATH"
    "PERL5LIB=$perl_lib${PERL5LIB:+:$PERL5LIB}"
    "PG_REGRESS=$pg_regress"
    "TEMP_CONFIG=$work/src/tests/regress.conf"
    "QPROF_SRC=$repo"
    "PG_TEST_TIMEOUT_DEFAULT=180"
    "LC_ALL=C.UTF-8"
)

# The environment of a TAP file run with the sanitized collector: its
# reports go to files, which fail the test file (a test that accepts a
# failing qprof would not notice them otherwise).
sanitized=0
[ "${QPROF_SANITIZED:-0}" = 1 ] && sanitized=1
sanitized_env() { # <report dir>
    echo "PATH=$repo/collector/build-asan:$pg_bindir:$PATH"
    echo "ASAN_OPTIONS=log_path=$1/asan:detect_leaks=1:abort_on_error=0"
    echo "UBSAN_OPTIONS=log_path=$1/ubsan:print_stacktrace=1:halt_on_error=1"
    echo "QPROF_SANITIZED=1"
}

# run_tap <as: user|root> <file under tests/>
run_tap() {
    local who="$1" file="$2" name dir rc file_label
    name="$(basename "$file" .pl)"
    dir="$work/tap/$name"
    local env_extra=()
    if [ "$sanitized" = 1 ]; then
        dir="$work/tap/$name.sanitized"
        mkdir -p "$dir/sanitizer"
        [ "$(id -u)" -eq 0 ] && chown "$test_user:" "$dir" "$dir/sanitizer"
        mapfile -t env_extra < <(sanitized_env "$dir/sanitizer")
        file_label="$file (sanitized qprof)"
    fi
    mkdir -p "$dir"
    [ "$who" = user ] && [ "$(id -u)" -eq 0 ] && chown "$test_user:" "$dir"
    say "prove $file${env_extra:+ with collector/build-asan/qprof}"
    # output shown as it comes and kept in $dir/prove.log for the skips
    local tee_to=(bash -c 'log="$1"; shift; "$@" 2>&1 | tee "$log"; exit "${PIPESTATUS[0]}"'
        _ "$dir/prove.log")
    if [ "$who" = user ]; then
        run_child "$dir" "${tee_to[@]}" "${user_prefix[@]}" env "${tap_env[@]}" \
            "${env_extra[@]}" TESTDIR="$dir" timeout 900 prove -v "$work/src/tests/$file"
    else
        run_child "$repo" "${tee_to[@]}" env "${tap_env[@]}" "${env_extra[@]}" \
            TESTDIR="$dir" timeout 900 prove -v "$repo/tests/$file"
    fi
    rc=$?
    if [ "$sanitized" = 1 ] && [ -n "$(ls -A "$dir/sanitizer")" ]; then
        say "sanitizer reports of $file"
        cat "$dir"/sanitizer/*
        rc=1
    fi
    [ "$sanitized" = 1 ] && file="$file_label"
    # prove -v: "file .. skipped: why" when the file skips all its tests,
    # "ok N # skip why" for each test skipped
    local skip_all skip_count
    skip_all="$(grep -m1 -E '\.\. skipped: ' "$dir/prove.log" | sed 's/.*\.\. skipped: //')"
    skip_count="$(grep -Eci '^ok [0-9]+[^#]*# skip' "$dir/prove.log")"
    if [ "$rc" -eq 0 ] && { [ -n "$skip_all" ] || [ "$skip_count" -gt 0 ]; } &&
        is_bpf_test "$file" && bpf_works; then
        echo "$file skipped tests although BPF works here: ${skip_all:-$skip_count skipped}" >&2
        rc=1
    fi
    if [ "$rc" -eq 0 ] && [ -n "$skip_all" ]; then
        skipped=$((skipped + 1))
        skips+=("$file (all: $skip_all)")
    elif [ "$rc" -eq 0 ]; then
        record "$file" ok
        if [ "$skip_count" -gt 0 ]; then
            skipped=$((skipped + skip_count))
            skips+=("$file ($skip_count tests)")
        fi
    else
        record "$file" fail
        for log in "$dir"/tmp_check/log/*; do
            [ -f "$log" ] || continue
            say "$log (tail)"
            tail -n 80 "$log"
        done
    fi
    stop_servers
}

if [ -n "${QPROF_TESTS:-}" ]; then
    for f in $QPROF_TESTS; do
        case "$f" in
        contract) run_contract ;;
        regress) run_regress ;;
        root/*) run_tap root "$f" ;;
        *) run_tap user "$f" ;;
        esac
    done
else
    run_contract
    run_regress
    for f in tests/t/*.pl; do
        [ -e "$f" ] && run_tap user "t/$(basename "$f")"
    done
    # the collector's tests once more, with the collector built with ASan
    # and UBSan: 11 files, 8.5 min on a loaded 2-core machine (2.3 min of
    # CPU), the build 2.4 min of CPU
    if [ "$sanitized" = 0 ] && [ "${QPROF_SANITIZED_PASS:-1}" = 1 ]; then
        sanitized=1
        for f in tests/t/1*_collector_*.pl; do
            [ -e "$f" ] && run_tap user "t/$(basename "$f")"
        done
        sanitized=0
    fi
    # the soak, shortened to 2 minutes of load (5 collector kills and the
    # restart); `make soak` runs the 3 of the issue
    SOAK_SECONDS="${SOAK_SECONDS:-120}" run_tap user soak/010_soak.pl
    if [ "$(id -u)" -eq 0 ]; then
        for f in tests/root/*.pl; do
            [ -e "$f" ] && run_tap root "root/$(basename "$f")"
        done
    elif ls tests/root/*.pl >/dev/null 2>&1; then
        echo "tests/root/*.pl need root" >&2
        record tests/root fail
    fi
fi

finish
