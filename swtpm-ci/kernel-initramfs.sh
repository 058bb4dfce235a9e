#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Builds the kernel-test guest's initramfs: busybox, the module, the kernel's own
# modules the tests need, tpm2-tools, our binaries and test tools (evidence_show replays the
# runtime monitor's saved log for t_94_monitor.sh), every shared
# library they load (ldd, plus tpm2-tss's dlopen'ed TCTIs), and tests/kernel/.
# Usage: swtpm-ci/kernel-initramfs.sh ROOT BUILD_DIR KERNEL_CACHE MODULE_KO OUT_CPIO
# (KVTPM_GUEST_DIR: the directory whose init.sh is /init and whose *.sh go to /tests,
# default tests/kernel; swtpm-ci/boot-initramfs.sh uses tests/boot)
set -eu
ROOT=$1 B=$2 KC=$3 KO=$4 OUT=$5
G=${KVTPM_GUEST_DIR:-$ROOT/tests/kernel}
kver=$(basename "$KC")
R=$(mktemp -d "${TMPDIR:-/tmp}/kvtpm-initramfs.XXXXXX")
trap 'rm -rf "$R"' EXIT
mkdir -p "$R/bin" "$R/usr/bin" "$R/usr/lib/x86_64-linux-gnu" "$R/usr/lib64" \
         "$R/lib/modules" "$R/tests" "$R/proc" "$R/sys" "$R/dev" "$R/tmp" "$R/etc"
# Debian 12 is merged-/usr: /lib and /lib64 resolve into /usr.
rmdir "$R/lib/modules" "$R/lib" && mkdir -p "$R/usr/lib/modules" &&
    ln -s usr/lib "$R/lib" && ln -s usr/lib64 "$R/lib64"

copy_libs() { # ELF files...: copy every library ldd resolves for them
    ldd "$@" 2>/dev/null | awk '/=> \//{print $3} /^\t\/[^ ]* \(/{print $1}' | sort -u |
    while read -r lib; do
        [ -e "$R$lib" ] || { mkdir -p "$R$(dirname "$lib")"; cp -L "$lib" "$R$lib"; }
    done
}
copy_bin() { # file dest-dir
    cp -L "$1" "$R$2/" && copy_libs "$1"
}

cp /bin/busybox "$R/bin/busybox"
cp "$G/init.sh" "$R/init" && chmod 755 "$R/init"
cp "$G"/*.sh "$R/tests/"
# The shipped units (t_92_units.sh reads their capability sets) and setpriv to apply them.
mkdir -p "$R/tests/systemd" && cp -r "$ROOT/systemd/." "$R/tests/systemd/"
copy_bin /usr/bin/setpriv /usr/bin
cp "$KO" "$R/lib/modules/vtpm_attest.ko"
for m in crypto/sha512_generic.ko fs/fuse/fuse.ko fs/fuse/cuse.ko fs/overlayfs/overlay.ko \
         drivers/char/tpm/tpm_vtpm_proxy.ko; do
    f="$KC/root/lib/modules/$kver/kernel/$m"
    [ -f "$f" ] && cp "$f" "$R/lib/modules/"
done
copy_bin /usr/bin/tpm2 /usr/bin
for t in getrandom pcrread pcrextend pcrreset createek createak quote checkquote \
         startup getcap flushcontext; do
    ln -s tpm2 "$R/usr/bin/tpm2_$t"
done
for f in /usr/lib/x86_64-linux-gnu/libtss2-tcti-*.so*; do cp -a "$f" "$R/usr/lib/x86_64-linux-gnu/"; done
copy_libs /usr/lib/x86_64-linux-gnu/libtss2-tcti-*.so.0
# glibc dlopens libgcc_s for pthread_cancel (libfuse stops its threads when vtpm-cuse exits).
cp -L /usr/lib/x86_64-linux-gnu/libgcc_s.so.1 "$R/usr/lib/x86_64-linux-gnu/"
for f in "$B"/bin/* "$B"/tests/kvtpm_* "$B"/tests/bench_rtt "$B"/tests/evidence_show; do
    [ -x "$f" ] && copy_bin "$f" /usr/bin
done
# swtpm behind tpm_vtpm_proxy: the baseline of tests/kernel/bench_kvtpm.sh.
copy_bin /usr/bin/swtpm /usr/bin
# runc for tests/kernel/t_94_monitor.sh (runtime integrity with real containers).
copy_bin /usr/sbin/runc /usr/bin
# The module as dkms installed it, with depmod's files (swtpm-ci/kmod-dkms.sh): modprobe.
if [ -n "${KVTPM_MODULES_DIR:-}" ]; then
    cp -r "$KVTPM_MODULES_DIR" "$R/usr/lib/modules/$kver"
fi
printf 'root:x:0:0:root:/:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' >"$R/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' >"$R/etc/group"
(cd "$R" && find . | busybox cpio -o -H newc 2>/dev/null) >"$OUT"
