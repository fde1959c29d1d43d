#!/usr/bin/env bash
# check_skip_counting.sh — tests/run_tests.sh counts skipped tests as
# skipped, never as passed, and fails a BPF test that skips on a machine
# where BPF works. Runs a copy of run_tests.sh on made-up TAP files:
#   - one that skips all, one that skips two of three tests, one that passes:
#     "2 passed, 0 failed, 3 skipped";
#   - a BPF test (tests/root/*bpf*.pl) that skips all: a failure when
#     run_tests.sh's probe finds that BPF works here, else one skipped.
# Usage: check_skip_counting.sh [repository root]. Exit 0 when both hold.
set -uo pipefail

repo="$(cd "${1:-$(dirname "$0")/../..}" && pwd)"
copy="$(mktemp -d /tmp/qprof_skips.XXXXXX)"
trap 'rm -rf "$copy"' EXIT
mkdir -p "$copy/tests/t" "$copy/tests/root" "$copy/bpf"
cp "$repo/tests/run_tests.sh" "$repo/tests/regress.conf" "$copy/tests/"
# the BPF probe's programs, built by make -C bpf
[ -d "$repo/bpf/build" ] && ln -s "$repo/bpf/build" "$copy/bpf/build"
cp "$repo/bpf/Makefile" "$copy/bpf/" 2>/dev/null

cat >"$copy/tests/t/901_skips_all.pl" <<'EOF'
use Test::More;
plan skip_all => 'nothing to test here';
EOF
cat >"$copy/tests/t/902_skips_two.pl" <<'EOF'
use Test::More;
ok(1, 'runs');
SKIP: { skip 'not here', 2; ok(1); ok(1); }
done_testing;
EOF
cat >"$copy/tests/t/903_passes.pl" <<'EOF'
use Test::More;
ok(1, 'runs');
done_testing;
EOF
cat >"$copy/tests/root/904_bpf_skips.pl" <<'EOF'
use Test::More;
plan skip_all => 'BPF cannot be loaded here: made up';
EOF
[ "$(id -u)" -eq 0 ] && chmod -R a+rX "$copy"

# run_tests.sh of the copy on the given suites: its output.
run() {
    (cd "$copy" && QPROF_SKIP_BUILD=1 QPROF_TESTS="$*" bash tests/run_tests.sh 2>&1)
}

problems=0
out="$(run t/901_skips_all.pl t/902_skips_two.pl t/903_passes.pl)"
last="$(tail -n1 <<<"$out")"
if [ "$last" = "2 passed, 0 failed, 3 skipped" ]; then
    echo "ok: skips counted as skipped: $last"
else
    echo "skip counting broken: expected '2 passed, 0 failed, 3 skipped', got '$last'" >&2
    echo "$out" | tail -n 20 >&2
    problems=$((problems + 1))
fi

if [ "$(id -u)" -ne 0 ]; then
    echo "note: not root, the BPF skip rule is not checked"
else
    out="$(run root/904_bpf_skips.pl)"
    last="$(tail -n1 <<<"$out")"
    if grep -q '^== BPF works here: yes' <<<"$out"; then
        expected="0 passed, 1 failed, 0 skipped"
    else
        expected="0 passed, 0 failed, 1 skipped"
    fi
    if [ "$last" = "$expected" ]; then
        echo "ok: a BPF test that skips: $last ($(grep -m1 '^== BPF works here' <<<"$out"))"
    else
        echo "BPF skip rule broken: expected '$expected', got '$last'" >&2
        echo "$out" | tail -n 20 >&2
        problems=$((problems + 1))
    fi
fi
[ "$problems" -eq 0 ]
