#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Fetches the Debian kernel that the guest boots (never installed on the host: the
# image package is only unpacked into a cache under the build dir) and the matching
# headers package (installed, to build the module). Prints the cache directory.
# Usage: swtpm-ci/kernel-fetch.sh BUILD_DIR
set -eu
B=${1:?build dir}
ver=$(apt-cache depends linux-headers-amd64 2>/dev/null |
      sed -n 's/.*Depends: linux-headers-\(.*\)-amd64$/\1/p' | head -n 1)
if [ -z "$ver" ]; then
    apt-get update -q >&2
    ver=$(apt-cache depends linux-headers-amd64 |
          sed -n 's/.*Depends: linux-headers-\(.*\)-amd64$/\1/p' | head -n 1)
fi
[ -n "$ver" ] || { echo "kernel-fetch: cannot resolve linux-headers-amd64" >&2; exit 1; }
kver="$ver-amd64"
if ! dpkg-query -W -f='${Status}' "linux-headers-$kver" 2>/dev/null | grep -q "install ok installed"; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
        "linux-headers-$kver" >&2
fi
cache=$(mkdir -p "$B/kernel-cache" && cd "$B/kernel-cache" && pwd)/$kver
# Tests running side by side fetch into one cache: one fetches, the others wait for it.
exec 9>"$B/kernel-cache/.lock"
flock -w 600 9 || { echo "kernel-fetch: $B/kernel-cache/.lock still held after 600 s" >&2; exit 1; }
if [ ! -f "$cache/.done" ]; then
    rm -rf "$cache" && mkdir -p "$cache/deb"
    (cd "$cache/deb" && { apt-get download "linux-image-$kver-unsigned" >&2 ||
                          apt-get download "linux-image-$kver" >&2; })
    dpkg-deb -x "$cache"/deb/linux-image-*.deb "$cache/root"
    rm -rf "$cache/deb"
    touch "$cache/.done"
fi
echo "$cache"
