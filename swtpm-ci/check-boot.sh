#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Measured-boot harness: boots Debian's kernel through OVMF (UEFI with TPM 2.0 support,
# direct -kernel boot: OVMF loads and measures the kernel's EFI stub) under QEMU (q35, TCG)
# with swtpm as the guest's TPM, provisioned first like a real host TPM (EK certificate
# from a local CA), runs tests/boot/guest.sh in a busybox initramfs (vtpm-mgr, kmod-vtpm,
# attest-agent host and container evidence), and copies what it wrote out through a raw
# virtio disk into OUT_DIR, which it replaces only once all of it arrived. OUT_DIR also gets
# the host-side inputs: trust/ (the EK CA, for verifier --trust) and bundle/ (the attested
# OCI bundle). Exits 77 (skip) when qemu, swtpm, busybox or OVMF are missing.
# Usage: swtpm-ci/check-boot.sh BUILD_DIR [OUT_DIR]   (default BUILD_DIR/boot-test;
# KVTPM_BOOT_TIMEOUT, default 240 s; KVTPM_BOOT_TPM: tpm-tis (default) or tpm-crb)
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
B=$(cd "${1:?build dir}" && pwd)
OUT=${2:-$B/boot-test}
LIMIT=${KVTPM_BOOT_TIMEOUT:-240}
TPMDEV=${KVTPM_BOOT_TPM:-tpm-tis}
OVMF_CODE=/usr/share/OVMF/OVMF_CODE_4M.fd
OVMF_VARS=/usr/share/OVMF/OVMF_VARS_4M.fd
MEM_MIB=1024
DISK_MIB=32   # inputs in, results out
WORK=$B/boot-work
MARK=.check-boot   # in OUT: this script made it, so it may replace it
# Fixed, so that its measurement (PCR 9, by the EFI stub) is the same on every boot.
CMDLINE="console=ttyS0 panic=-1 rdinit=/init"

die() { echo "check-boot: $*"; exit 1; }

need() {
    for tool in qemu-system-x86_64 swtpm swtpm_setup swtpm_localca busybox python3 openssl tar; do
        command -v "$tool" >/dev/null 2>&1 || { echo "check-boot: $tool missing (make deps)"; exit 77; }
    done
    for f in "$OVMF_CODE" "$OVMF_VARS"; do
        [ -f "$f" ] || { echo "check-boot: $f missing (package ovmf)"; exit 77; }
    done
    case "$TPMDEV" in tpm-tis|tpm-crb) ;; *) die "KVTPM_BOOT_TPM must be tpm-tis or tpm-crb" ;; esac
    # Not a skip: a firmware without TCG2 cannot give a log, which is what is tested.
    python3 "$ROOT/tests/boot/ovmf_tcg2.py" "$OVMF_CODE" || die "OVMF has no TPM 2.0 support"
    if [ -e "$OUT" ] && [ ! -e "$OUT/$MARK" ]; then
        die "$OUT exists and was not made by check-boot.sh; not replacing it"
    fi
}

# The module as check-kernel.sh builds it (without its W=1/sparse pass: that one runs there).
build_guest() {
    KC=$(sh "$ROOT/swtpm-ci/kernel-fetch.sh" "$B") || die "kernel fetch failed"
    kver=$(basename "$KC")
    mkdir -p "$WORK" && rm -rf "$WORK/kmod" && cp -r "$ROOT/kmod-vtpm" "$WORK/kmod"
    make -s -C "/usr/src/linux-headers-$kver" M="$WORK/kmod" modules >"$WORK/kmod-build.log" 2>&1 ||
        { cat "$WORK/kmod-build.log"; die "module build failed"; }
    sh "$ROOT/swtpm-ci/boot-initramfs.sh" "$ROOT" "$B" "$KC" "$WORK/kmod/vtpm_attest.ko" \
        "$WORK/initramfs.cpio" || die "initramfs failed"
}

T=$(mktemp -d "${TMPDIR:-/tmp}/check-boot.XXXXXX")
SWTPM_PID="" QEMU_PID=""
stop() {
    [ -n "$QEMU_PID" ] && kill -9 "$QEMU_PID" 2>/dev/null
    [ -n "$SWTPM_PID" ] && kill -9 "$SWTPM_PID" 2>/dev/null
    rm -rf "$T"
}
trap stop EXIT
trap 'exit 1' INT TERM

# A local CA (swtpm_localca: root + intermediate) issues the EK and platform certificates
# that swtpm_setup writes into the TPM's NV, as a TPM vendor would. All four default banks
# stay active, so the firmware logs four digests per event, as before provisioning.
provision_tpm() {
    mkdir -p "$T/tpm" "$T/ca" "$T/in"
    printf 'statedir = %s\nsigningkey = %s\nissuercert = %s\ncertserial = %s\n' \
        "$T/ca" "$T/ca/signkey.pem" "$T/ca/issuercert.pem" "$T/ca/certserial" >"$T/localca.conf"
    printf -- '--platform-manufacturer vtpm-attest-ci\n--platform-version 1.0\n--platform-model ovmf-guest\n' \
        >"$T/localca.options"
    printf 'create_certs_tool = %s\ncreate_certs_tool_config = %s\ncreate_certs_tool_options = %s\n' \
        "$(command -v swtpm_localca)" "$T/localca.conf" "$T/localca.options" >"$T/swtpm_setup.conf"
    echo 1 >"$T/ca/certserial"
    swtpm_setup --tpm2 --tpmstate "$T/tpm" --config "$T/swtpm_setup.conf" --create-ek-cert \
        --create-platform-cert --pcr-banks sha1,sha256,sha384,sha512 \
        --write-ek-cert-files "$T/ca" --logfile "$T/swtpm_setup.log" >/dev/null 2>&1 ||
        { cat "$T/swtpm_setup.log"; die "swtpm_setup failed"; }
    openssl x509 -inform der -in "$T/ca/ek-rsa2048.crt" -out "$T/ek.pem" ||
        die "swtpm_setup wrote no RSA EK certificate"
    openssl verify -CAfile "$T/ca/issuercert.pem" -partial_chain "$T/ek.pem" >/dev/null ||
        die "EK certificate does not verify against its issuer"
    cp "$T/ca/issuercert.pem" "$T/in/ek-ca.pem"
}

# What the guest reads from the disk: the nonce, the EK issuer and the bundle to attest.
make_input() {
    nonce=$(openssl rand -hex 32)
    echo "$nonce" >"$T/in/nonce.hex"
    sh "$ROOT/tests/boot/bundle.sh" "$T/in/bundle" || die "bundle failed"
    tar -C "$T/in" --numeric-owner -cf "$T/in.tar" nonce.hex ek-ca.pem bundle || die "input tar failed"
    [ "$(wc -c <"$T/in.tar")" -lt $((DISK_MIB * 1024 * 1024)) ] || die "input larger than the disk"
    cp "$T/in.tar" "$T/out.img" && truncate -s "${DISK_MIB}M" "$T/out.img" || die "cannot write the disk image"
}

# No startup-clear: the firmware sends TPM2_Startup itself, as on real hardware.
start_swtpm() {
    swtpm socket --tpm2 --tpmstate dir="$T/tpm" --ctrl type=unixio,path="$T/swtpm-sock" \
        --log file="$T/swtpm.log" &
    SWTPM_PID=$!
    i=0
    while [ ! -S "$T/swtpm-sock" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
    [ -S "$T/swtpm-sock" ] || die "swtpm did not start"
}

# A private copy of the variable store: OVMF writes boot entries into it.
run_qemu() {
    cp "$OVMF_VARS" "$T/vars.fd"
    timeout -k 10 "$LIMIT" qemu-system-x86_64 -machine q35 -accel tcg -m "$MEM_MIB" -smp 2 \
        -nographic -vga none -nic none -no-reboot -monitor none -serial stdio \
        -drive if=pflash,format=raw,unit=0,readonly=on,file="$OVMF_CODE" \
        -drive if=pflash,format=raw,unit=1,file="$T/vars.fd" \
        -kernel "$KC/root/boot/vmlinuz-$kver" -initrd "$WORK/initramfs.cpio" \
        -append "$CMDLINE" \
        -chardev socket,id=chrtpm,path="$T/swtpm-sock" \
        -tpmdev emulator,id=tpm0,chardev=chrtpm -device "$TPMDEV,tpmdev=tpm0" \
        -drive if=none,id=out,format=raw,file="$T/out.img" -device virtio-blk-pci,drive=out \
        </dev/null >"$T/console.log" 2>&1 &
    QEMU_PID=$!
    wait "$QEMU_PID"
    qrc=$?
    QEMU_PID=""
    tr -d '\r' <"$T/console.log" >"$T/console.txt"
}

# Takes exactly the stream the guest announced (size, SHA-256), then publishes OUT.
fetch_out() {
    set -- $(sed -n 's/^boot-out: \([0-9]*\) \([0-9a-f]\{64\}\)$/\1 \2/p' "$T/console.txt" | tail -n 1)
    [ $# -eq 2 ] || return 1
    head -c "$1" "$T/out.img" >"$T/out.tar"
    [ "$(sha256sum <"$T/out.tar" | cut -d' ' -f1)" = "$2" ] || { echo "check-boot: results disk: digest mismatch"; return 1; }
    mkdir "$T/out" && tar -xf "$T/out.tar" -C "$T/out" || return 1
    [ "$(cat "$T/out/nonce.hex" 2>/dev/null)" = "$nonce" ] || { echo "check-boot: guest used another nonce"; return 1; }
    cp "$T/console.txt" "$T/out/console.log"
    mkdir "$T/out/trust" && cp "$T/in/ek-ca.pem" "$T/out/trust/" && cp -a "$T/in/bundle" "$T/out/" ||
        return 1
    boot_info >"$T/out/boot-info.txt"
    touch "$T/out/$MARK"
    rm -rf "$OUT.old" && { [ ! -e "$OUT" ] || mv "$OUT" "$OUT.old"; } &&
        mkdir -p "$(dirname "$OUT")" && mv "$T/out" "$OUT" && rm -rf "$OUT.old"
}

# What was booted, for reference policies written against this log.
boot_info() {
    echo "kernel=$kver"
    echo "kernel_image=$KC/root/boot/vmlinuz-$kver"
    echo "cmdline=$CMDLINE"
    echo "initrd_sha256=$(sha256sum <"$WORK/initramfs.cpio" | cut -d' ' -f1)"
    echo "initrd_size=$(wc -c <"$WORK/initramfs.cpio")"
    echo "mem_mib=$MEM_MIB"
    echo "ovmf=$(dpkg-query -W -f='${Version}' ovmf 2>/dev/null) $OVMF_CODE"
    echo "qemu=$(dpkg-query -W -f='${Version}' qemu-system-x86 2>/dev/null) q35 tcg"
    echo "swtpm=$(dpkg-query -W -f='${Version}' swtpm 2>/dev/null)"
    echo "tpm_device=$TPMDEV"
    echo "boot_seconds=$dur"
}

report() {
    fail=0
    grep -E '^boot-guest: |^    \| ' "$T/console.txt"
    if [ $qrc -eq 124 ] || [ $qrc -eq 137 ]; then echo "check-boot: TIMEOUT after ${LIMIT}s"; fail=1; fi
    if grep -E 'Oops|BUG:|WARNING:|Call Trace|KASAN|Kernel panic' "$T/console.txt"; then
        echo "check-boot: kernel reported a problem"; fail=1
    fi
    grep -q '^boot-guest: guest.sh exit 0$' "$T/console.txt" || fail=1
    fetch_out || { echo "check-boot: no results from the guest"; fail=1; }
    if [ $fail -ne 0 ]; then
        tail -n 60 "$T/console.txt"
        cp "$T/console.txt" "$B/boot-console.log"
        echo "check-boot: FAILED after ${dur}s, console $B/boot-console.log"
        return 1
    fi
    echo "check-boot: boot+guest ${dur}s, results in $OUT"
}

need
build_guest
t0=$(date +%s)
provision_tpm
make_input
echo "check-boot: TPM provisioned, inputs ready in $(( $(date +%s) - t0 )) s"
start_swtpm
start=$(date +%s)
run_qemu
dur=$(( $(date +%s) - start ))
report
