#!/usr/bin/env bash
# check_memory.sh — `make check-memory`: the pg_regress suite once against a
# server running under valgrind memcheck, with pg_qprof preloaded. Fails when
# valgrind reports an error in pg_qprof's code (the innermost frame that is
# pg_qprof's or PostgreSQL's, in the error's stack or where the uninitialised
# value came from, is pg_qprof's); errors in PostgreSQL's own code are
# counted and left in the report, and tests/memory/valgrind.supp suppresses
# the known harmless ones. Slow (13 minutes here, 97 server processes under
# valgrind; timing tests such as 04_errors' statement_timeout then differ,
# which is shown but does not fail it): not part of `make test`.
#
# How: pg_regress --temp-instance with a --bindir whose `postgres` runs the
# real one under valgrind (initdb and the tools are links to the real ones,
# so initdb's bootstrap runs without it). Every server process, the
# postmaster and each backend it forks, writes its own log.
#
# Debian's PostgreSQL is not built with USE_VALGRIND: palloc'd chunks are
# not marked to valgrind one by one, so reads past a palloc'd chunk inside
# its memory context block go unseen, and shared memory is all addressable
# to valgrind. Uninitialised values (on the stack, in malloc'd and palloc'd
# memory), accesses outside malloc'd blocks, overlapping copies and bad
# frees are checked.
#
# Run as root (the server runs as the postgres user) after `make install`.
# QPROF_KEEP=1 keeps the work directory (valgrind's logs, with a
# suppression for each error, and the report).
set -uo pipefail

repo="$(cd "$(dirname "$0")/../.." && pwd)"
pg_bindir=/usr/lib/postgresql/15/bin
pgxs_dir=/usr/lib/postgresql/15/lib/pgxs
pg_regress="$pgxs_dir/src/test/regress/pg_regress"
test_user=postgres

say() { printf '== %s\n' "$*"; }

as_test_user() {
    if [ "$(id -u)" -eq 0 ]; then
        runuser -u "$test_user" -- "$@"
    else
        "$@"
    fi
}

work="$(mktemp -d /tmp/qprof_memcheck.XXXXXX)"
cleanup() {
    local pidfile
    while IFS= read -r pidfile; do
        as_test_user "$pg_bindir/pg_ctl" -D "$(dirname "$pidfile")" -m immediate \
            -w stop >/dev/null 2>&1 || true
    done < <(find "$work" -name postmaster.pid 2>/dev/null)
    if [ "${QPROF_KEEP:-0}" = 1 ]; then
        say "kept $work"
    else
        rm -rf "$work"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

command -v valgrind >/dev/null || { echo "valgrind is not installed (make deps)" >&2; exit 1; }

# The judge of valgrind's logs first checks itself on two made-up ones.
selftest="$repo/tests/memory/selftest"
if ! perl "$repo/tests/memory/valgrind_errors.pl" "$selftest/error_in_postgresql.log" >/dev/null ||
    perl "$repo/tests/memory/valgrind_errors.pl" "$selftest/error_in_pg_qprof.log" >/dev/null; then
    echo "check-memory: tests/memory/valgrind_errors.pl misjudges its self-test logs" >&2
    exit 1
fi

mkdir -p "$work/bin" "$work/valgrind" "$work/src/sql" "$work/src/expected" "$work/regress"
cp "$repo"/sql/*.sql "$work/src/sql/"
cp "$repo"/expected/*.out "$work/src/expected/"
cp "$repo/tests/regress_schedule" "$repo/tests/regress.conf" \
    "$repo/tests/memory/valgrind.supp" "$work/"

for tool in "$pg_bindir"/*; do
    ln -s "$tool" "$work/bin/"
done
rm "$work/bin/postgres"
cat >"$work/bin/postgres" <<EOF
#!/bin/sh
exec valgrind --quiet --tool=memcheck --trace-children=yes \\
    --track-origins=yes --num-callers=40 --error-limit=no --leak-check=no \\
    --gen-suppressions=all --fullpath-after= \\
    --suppressions="$work/valgrind.supp" \\
    --log-file="$work/valgrind/%p.log" "$pg_bindir/postgres" "\$@"
EOF
chmod 755 "$work/bin/postgres"
[ "$(id -u)" -eq 0 ] && chown -R "$test_user:" "$work"
chmod 755 "$work"

port=$((20000 + RANDOM % 10000))
say "pg_regress against a server under valgrind (port $port)"
started=$(date +%s)
as_test_user env -C "$work/regress" PGCTLTIMEOUT=900 timeout 7200 "$pg_regress" \
    --temp-instance="$work/regress/instance" \
    --temp-config="$work/regress.conf" \
    --schedule="$work/regress_schedule" \
    --inputdir="$work/src" \
    --outputdir="$work/regress" \
    --bindir="$work/bin" \
    --port="$port" \
    --no-locale --encoding=UTF8 </dev/null 2>&1 | tee "$work/pg_regress.log"
regress_rc=${PIPESTATUS[0]}
elapsed=$(($(date +%s) - started))

# Valgrind's errors, told apart by whose code they are in.
report="$work/report.txt"
perl "$repo/tests/memory/valgrind_errors.pl" "$work"/valgrind/*.log >"$report"
ours_rc=$?
processes=$(ls "$work"/valgrind/*.log 2>/dev/null | wc -l)

say "report ($report)"
cat "$report"
echo "pg_regress under valgrind: exit $regress_rc in ${elapsed} s, $processes server processes"
if ! grep -q '\.\.\. ok\|^ok ' "$work/pg_regress.log"; then
    echo "check-memory: the suite did not run" >&2
    exit 1
fi
if [ "$regress_rc" -ne 0 ]; then
    # Under valgrind everything is 20-50 times slower: a difference is shown,
    # but only valgrind's findings decide.
    say "regression.diffs (the suite is slow under valgrind)"
    cat "$work/regress/regression.diffs" 2>/dev/null | head -100
fi
if [ "$ours_rc" -ne 0 ]; then
    echo "check-memory: valgrind errors with pg_qprof frames (above)" >&2
    exit 1
fi
echo "check-memory: no valgrind error in pg_qprof's code"
