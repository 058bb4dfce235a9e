#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Builds and installs kmod-vtpm the way a host does (dkms add, build, install with
# kmod-vtpm/dkms.conf), but into private trees under WORKDIR so the host's /usr/src,
# /var/lib/dkms and /lib/modules stay untouched, then runs depmod on the private module
# root. Result: WORKDIR/root/lib/modules/KVER/{updates/dkms/vtpm_attest.ko,modules.dep,...}.
# The module is signed with a throw-away key in WORKDIR (dkms signs when sign-file exists).
# Usage: swtpm-ci/kmod-dkms.sh ROOT KVER WORKDIR      (WORKDIR is emptied first)
set -eu
ROOT=$1 KVER=$2 W=$3
for tool in dkms depmod; do
    command -v "$tool" >/dev/null 2>&1 || { echo "kmod-dkms: $tool missing (make deps)" >&2; exit 1; }
done
[ -d "/lib/modules/$KVER/build" ] || { echo "kmod-dkms: no headers for $KVER" >&2; exit 1; }
ver=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"$/\1/p' "$ROOT/kmod-vtpm/dkms.conf")
name=$(sed -n 's/^PACKAGE_NAME="\(.*\)"$/\1/p' "$ROOT/kmod-vtpm/dkms.conf")
[ -n "$ver" ] && [ -n "$name" ] || { echo "kmod-dkms: dkms.conf lacks a name or version" >&2; exit 1; }
rm -rf "$W" && mkdir -p "$W/src" "$W/tree" "$W/root/lib/modules/$KVER" "$W/key"
# The sources only: a developer's in-tree build products must not leak into the package.
mkdir "$W/src/$name-$ver"
tar -C "$ROOT/kmod-vtpm" --exclude='*.o' --exclude='*.ko' --exclude='.*.cmd' --exclude='*.mod' \
    --exclude='*.mod.c' --exclude=Module.symvers --exclude=modules.order -cf - . |
    tar -C "$W/src/$name-$ver" -xf -
export mok_signing_key="$W/key/mok.key" mok_certificate="$W/key/mok.der"
set -- -m "$name" -v "$ver" --dkmstree "$W/tree" --sourcetree "$W/src"
dkms add "$@" >"$W/dkms.log" 2>&1 &&
    dkms build "$@" -k "$KVER" >>"$W/dkms.log" 2>&1 &&
    dkms install "$@" -k "$KVER" --installtree "$W/root/lib/modules" --no-depmod \
        >>"$W/dkms.log" 2>&1 || { cat "$W/dkms.log" >&2; echo "kmod-dkms: dkms failed" >&2; exit 1; }
depmod -b "$W/root" "$KVER" 2>>"$W/dkms.log" || { echo "kmod-dkms: depmod failed" >&2; exit 1; }
echo "$W/root/lib/modules/$KVER"
