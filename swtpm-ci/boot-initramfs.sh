#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Builds the measured-boot guest's initramfs: the kernel-test initramfs with tests/boot/ as
# its /init and scripts (swtpm-ci/kernel-initramfs.sh), plus an appended archive holding
# virtio_blk and its dependencies (modules in Debian's kernel) in load order, for the disk
# the guest writes its results to.
# Usage: swtpm-ci/boot-initramfs.sh ROOT BUILD_DIR KERNEL_CACHE MODULE_KO OUT_CPIO
set -eu
ROOT=$1 B=$2 KC=$3 KO=$4 OUT=$5
kver=$(basename "$KC")
MODS=$KC/root/lib/modules/$kver/kernel
R=$(mktemp -d "${TMPDIR:-/tmp}/boot-initramfs.XXXXXX")
trap 'rm -rf "$R"' EXIT

# The module packages are unpacked without depmod, so dependencies come from modinfo.
mod_file() { # name: its .ko (module names use '_', some file names '-')
    find "$MODS" -name "$(echo "$1" | sed 's/_/[_-]/g').ko" | head -n 1
}
add_mod() { # name: appends its dependencies, then itself, to the load order once
    grep -qx "$1.ko" "$R/boot-mods/order" 2>/dev/null && return 0
    f=$(mod_file "$1")
    [ -n "$f" ] || { echo "boot-initramfs: module $1 not in $MODS" >&2; exit 1; }
    for d in $(modinfo -F depends "$f" | tr ',' ' '); do add_mod "$d"; done
    f=$(mod_file "$1")  # again: sh has no locals, the recursion overwrote f
    cp "$f" "$R/boot-mods/$1.ko"
    echo "$1.ko" >>"$R/boot-mods/order"
}

# Built-in drivers (virtio_pci is =m on Debian, =y elsewhere) need no module.
builtin() { grep -q "/$1.ko\$" "$KC/root/lib/modules/$kver/modules.builtin" 2>/dev/null; }

KVTPM_GUEST_DIR=$ROOT/tests/boot KVTPM_MODULES_DIR='' \
    sh "$ROOT/swtpm-ci/kernel-initramfs.sh" "$ROOT" "$B" "$KC" "$KO" "$OUT"
mkdir -p "$R/boot-mods"
: >"$R/boot-mods/order"
for m in virtio_pci virtio_blk; do
    builtin "$m" || add_mod "$m"
done
# The kernel unpacks concatenated newc archives in order, so this one adds to the first.
(cd "$R" && find boot-mods | busybox cpio -o -H newc 2>/dev/null) >>"$OUT"
