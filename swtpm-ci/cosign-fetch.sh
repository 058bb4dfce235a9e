#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Fetches cosign, an independent maker of image signatures for the tests: Debian 12 has no
# cosign package, Debian 13's is a static Go binary that runs here. It is downloaded with a
# private apt configuration (a trixie sources list under the cache, the system's apt setup
# untouched) and only unpacked, never installed. Prints the path of the cosign binary.
# Usage: swtpm-ci/cosign-fetch.sh BUILD_DIR
set -eu
B=${1:?build dir}
mkdir -p "$B/cosign-cache"
cache=$(cd "$B/cosign-cache" && pwd)
# Tests running side by side fetch into one cache: one fetches, the others wait for it.
exec 9>"$cache/.lock"
flock -w 600 9 || { echo "cosign-fetch: $cache/.lock still held after 600 s" >&2; exit 1; }
if [ ! -f "$cache/.done" ]; then
    rm -rf "$cache/apt" "$cache/root"
    mkdir -p "$cache/apt/parts" "$cache/apt/lists/partial" "$cache/apt/cache/archives/partial" \
        "$cache/deb"
    cat >"$cache/apt/parts/trixie.sources" <<'SRC'
Types: deb
URIs: http://deb.debian.org/debian
Suites: trixie
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
    set -- -o Dir::Etc::sourcelist=/dev/null -o "Dir::Etc::sourceparts=$cache/apt/parts" \
        -o "Dir::State::Lists=$cache/apt/lists" -o "Dir::Cache=$cache/apt/cache" \
        -o APT::Sandbox::User=root
    apt-get "$@" -q update >&2 || { echo "cosign-fetch: apt-get update of Debian 13 (trixie) failed" >&2; exit 1; }
    (cd "$cache/deb" && apt-get "$@" -q download cosign >&2) ||
        { echo "cosign-fetch: apt-get download cosign (Debian 13) failed" >&2; exit 1; }
    dpkg-deb -x "$cache"/deb/cosign_*.deb "$cache/root"
    "$cache/root/usr/bin/cosign" version >/dev/null 2>&1 ||
        { echo "cosign-fetch: $cache/root/usr/bin/cosign does not run" >&2; exit 1; }
    rm -rf "$cache/apt"
    touch "$cache/.done"
fi
echo "$cache/root/usr/bin/cosign"
