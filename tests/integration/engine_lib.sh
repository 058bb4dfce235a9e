# SPDX-License-Identifier: BSD-3-Clause
# Shared pieces of the container-engine tests (sourced after attest_lib.sh): the busybox image
# root filesystem and the shipped hooks.d file made concrete for a test.

# image_rootfs DIR: base's busybox plus what an image has and podman expects: /etc/passwd and
# /etc/group naming uid/gid 1000 (else podman binds a passwd file of its own), the
# directories engines mount on, /etc/mtab -> /proc/mounts and the root directory 0555 (podman
# makes both when the image has not), so that no engine changes what the tree digest covers
# and the digest of DIR is the one measured in the container.
image_rootfs() {
    mkdir -p "$1" || fail "mkdir $1"
    cp -a base/rootfs/. "$1/" || fail "copy of base's rootfs"
    mkdir -p "$1/etc" "$1/dev" "$1/proc" "$1/sys" "$1/run" "$1/tmp" || fail "image dirs"
    chmod 1777 "$1/tmp"
    printf 'root:x:0:0:root:/:/bin/sh\nu:x:1000:1000:u:/:/bin/sh\n' >"$1/etc/passwd"
    printf 'root:x:0:\nu:x:1000:\n' >"$1/etc/group"
    ln -s /proc/mounts "$1/etc/mtab" || fail "etc/mtab"
    chmod 555 "$1"
}

# hooks_dir DIR HOOK_ARGS_PYTHON: the shipped attest-agent/hooks.d/vtpm-attest.json in DIR with
# its placeholders filled in (this build's bin dir, $URL, $RUN) and the Python list expression
# HOOK_ARGS_PYTHON appended to the hook's arguments.
hooks_dir() {
    mkdir -p "$1" || fail "mkdir $1"
    sed -e "s|@BINDIR@|$BIN|g" -e "s|@VERIFIER_URL@|$URL|g" -e "s|@RUN_DIR@|$RUN|g" \
        "$ROOT/attest-agent/hooks.d/vtpm-attest.json" >"$1/vtpm-attest.json" ||
        fail "hooks.d file"
    ! grep -q @ "$1/vtpm-attest.json" || fail "hooks.d file: a placeholder left"
    edit "$1/vtpm-attest.json" "c['hook']['args'] += $2"
}
