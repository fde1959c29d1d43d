#!/usr/bin/env bash
# Installs the Debian packages listed in tests/deps/*.txt (one a line, '#'
# starts a comment), only those that are missing. Runs `apt-get update` once,
# and only when something has to be installed. Noninteractive: CI runs it as
# root on a fresh Debian 12 with no stdin.
set -euo pipefail

deps_dir="$(cd "$(dirname "$0")" && pwd)/deps"

mapfile -t wanted < <(sed -e 's/#.*//' "$deps_dir"/*.txt | tr -s ' \t' '\n' |
    sed -e '/^$/d' | sort -u)

missing=()
for pkg in "${wanted[@]}"; do
    status="$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)"
    if [ "$status" != "installed" ]; then
        missing+=("$pkg")
    fi
done

if [ "${#missing[@]}" -eq 0 ]; then
    echo "install_deps: all ${#wanted[@]} packages already installed"
    exit 0
fi

echo "install_deps: installing ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
    echo "install_deps: missing packages and not root; run as root: $0" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get -o DPkg::Lock::Timeout=900 update -q </dev/null
apt-get -o DPkg::Lock::Timeout=900 install -y -q --no-install-recommends "${missing[@]}" </dev/null
