#!/usr/bin/env bash
# check_error_contract.sh — verifies the error contract between the
# extension's C++ and PostgreSQL (docs/error-contract.md) on the objects the
# build made:
#   - every extension object but the one allowed file was compiled with
#     -fno-exceptions and -fno-rtti (the compiler's own record of its flags in
#     the debug information), has no exception tables, and references nothing
#     that throws, catches or allocates the C++ way: no __cxa_* or
#     personality routine, no _Unwind_Resume, no typeinfo, no function of
#     the standard library (std::__throw_*, a std::string's growth), no
#     operator new or delete;
#   - the allowed file includes no PostgreSQL header, directly or not.
# It first checks itself: objects and sources made to break each rule must be
# reported, and a plain one using std::atomic must pass, or the check fails.
#
# Usage: check_error_contract.sh [repository root]. Builds the extension's
# objects with make when they are missing or older than their sources. Exit 0
# when the contract holds, 1 when it is broken.
set -uo pipefail

repo="$(cd "${1:-$(dirname "$0")/../..}" && pwd)"
allowed_source=extension/sqlcommenter.cpp
cxx="${CXX:-g++}"
pg_config="${PG_CONFIG:-pg_config}"
pg_include_dirs=(
    "$("$pg_config" --includedir-server)"
    "$("$pg_config" --includedir)"
    "$("$pg_config" --pkgincludedir)"
)

problems=0
complain() {
    echo "error contract broken: $*" >&2
    problems=$((problems + 1))
}

# Prints one line per reason why object $1 could let an exception reach
# PostgreSQL or was not compiled without exceptions; nothing when it is fit.
object_problems() {
    local object="$1" producers
    if readelf -SW "$object" | grep -q '\.gcc_except_table'; then
        echo "has exception tables (.gcc_except_table)"
    fi
    producers="$(readelf --debug-dump=info "$object" 2>/dev/null |
        grep 'DW_AT_producer' | sed 's/.*DW_AT_producer[^:]*: //')"
    if [ -z "$producers" ]; then
        echo "has no debug information: its compiler flags cannot be verified"
    else
        grep -v -e '-fno-exceptions' <<<"$producers" | grep -q . &&
            echo "was compiled without -fno-exceptions"
        grep -v -e '-fno-rtti' <<<"$producers" | grep -q . &&
            echo "was compiled without -fno-rtti"
    fi
    # throwing, catching and unwinding code of the C++ runtime, typeinfo;
    # any function of the standard library (std::), which may throw or
    # allocate; operators new and delete (memory here is palloc'd)
    nm -u "$object" | awk '{print $2}' |
        grep -E '^(__cxa_|__gxx_personality|_Unwind_Resume$|_ZTI|_ZN?K?St|_Z[nd][wa])' |
        while read -r symbol; do
            echo "references $symbol ($(c++filt "$symbol"))"
        done
}

# Prints every PostgreSQL header that source $1 includes, directly or not
# (PostgreSQL's include paths given, so that such an include is found).
postgres_includes() {
    local source="$1" deps
    if ! deps="$("$cxx" -std=c++17 -M -I"$repo/extension" \
        "${pg_include_dirs[@]/#/-I}" "$source" 2>&1)"; then
        echo "(cannot list the includes: $deps)"
        return
    fi
    tr ' \\' '\n\n' <<<"$deps" | grep -F "${pg_include_dirs[@]/#/-e}" |
        sort -u
}

# --- the check checks itself ---------------------------------------------------
scratch="$(mktemp -d /tmp/error_contract.XXXXXX)"
trap 'rm -rf "$scratch"' EXIT

cat >"$scratch/throws.cpp" <<'EOF'
int checked(int x) { if (x < 0) throw x; return x; }
EOF
cat >"$scratch/grows_string.cpp" <<'EOF'
#include <string>
std::string twice(const char *s) { std::string t(s); t += s; return t; }
EOF
cat >"$scratch/uses_new.cpp" <<'EOF'
int *boxed(int x) { return new int(x); }
EOF
cat >"$scratch/plain.cpp" <<'EOF'
#include <atomic>
static std::atomic<long> counter;
extern "C" long plain_bump(void) { return counter.fetch_add(1, std::memory_order_relaxed); }
EOF
cat >"$scratch/includes_postgres.cpp" <<'EOF'
extern "C" {
#include "postgres.h"
}
EOF
strict=(-std=c++17 -g -O2 -fPIC -fno-exceptions -fno-rtti)
self_test_ok=1
if ! "$cxx" -std=c++17 -g -O2 -fPIC -c -o "$scratch/throws.o" "$scratch/throws.cpp" ||
    ! "$cxx" "${strict[@]}" -c -o "$scratch/grows_string.o" "$scratch/grows_string.cpp" ||
    ! "$cxx" "${strict[@]}" -c -o "$scratch/uses_new.o" "$scratch/uses_new.cpp" ||
    ! "$cxx" "${strict[@]}" -c -o "$scratch/plain.o" "$scratch/plain.cpp"; then
    complain "the self-test objects do not compile"
    self_test_ok=0
else
    [ -n "$(object_problems "$scratch/throws.o")" ] ||
        { complain "self-test: an object that throws passes"; self_test_ok=0; }
    [ -n "$(object_problems "$scratch/grows_string.o")" ] ||
        { complain "self-test: an object that grows a std::string passes"; self_test_ok=0; }
    [ -n "$(object_problems "$scratch/uses_new.o")" ] ||
        { complain "self-test: an object that uses operator new passes"; self_test_ok=0; }
    [ -z "$(object_problems "$scratch/plain.o")" ] ||
        { complain "self-test: a plain object (std::atomic) fails: $(object_problems "$scratch/plain.o")"; self_test_ok=0; }
fi
[ -n "$(postgres_includes "$scratch/includes_postgres.cpp")" ] ||
    { complain "self-test: a source that includes postgres.h passes"; self_test_ok=0; }
[ "$self_test_ok" = 1 ] && echo "ok: the check reports a throw, a growing std::string, operator new and an include of postgres.h, and passes std::atomic"

# --- the extension --------------------------------------------------------------
cd "$repo" || exit 1
mapfile -t sources < <(ls extension/*.cpp)
objects=("${sources[@]/%.cpp/.o}")
if ! make -s --no-print-directory "${objects[@]}" >/dev/null; then
    complain "the extension's objects do not build"
    exit 1
fi

allowed_seen=0
for source in "${sources[@]}"; do
    object="${source%.cpp}.o"
    if [ "$source" = "$allowed_source" ]; then
        allowed_seen=1
        includes="$(postgres_includes "$source")"
        if [ -n "$includes" ]; then
            while read -r header; do
                complain "$source (compiled with exceptions) includes $header"
            done <<<"$includes"
        else
            echo "ok: $source, the one file with exceptions, includes no PostgreSQL header"
        fi
        continue
    fi
    reasons="$(object_problems "$object")"
    if [ -n "$reasons" ]; then
        while read -r reason; do
            complain "$object $reason"
        done <<<"$reasons"
    else
        echo "ok: $object: no exceptions, no RTTI, nothing that throws or allocates the C++ way"
    fi
done
[ "$allowed_seen" = 1 ] || echo "note: $allowed_source no longer exists"

if [ "$problems" -gt 0 ]; then
    echo "error contract: $problems problem(s); see docs/error-contract.md" >&2
    exit 1
fi
echo "error contract: holds for ${#sources[@]} files"
