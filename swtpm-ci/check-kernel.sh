#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Kernel test harness: builds kmod-vtpm against the Debian kernel's headers, boots that
# kernel under QEMU (TCG) with swtpm as the guest's TPM (tpm-tis; provisioned like a host
# TPM: EK certificate from a local CA, whose issuer the guest finds at /etc/kvtpm-ek-ca.pem
# for its verifier's --trust) and an initramfs that runs tests/kernel/, and checks the
# guest console: every test passed, and no Oops, BUG,
# WARNING, call trace or KASAN report. Ends with "N passed, N failed"; exit non-zero on
# any failure or timeout. Exits 77 (skip) when the machine lacks what it needs.
# Usage: swtpm-ci/check-kernel.sh BUILD_DIR    (KVTPM_BOOT_TIMEOUT, default 600 s;
# KVTPM_APPEND: extra kernel command line, e.g. vtpm_bench=1 for swtpm-ci/bench-kernel.sh;
# KVTPM_OUT: work dir, default BUILD_DIR/kernel-test)
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
B=$(cd "${1:-$ROOT/build}" && pwd)
LIMIT=${KVTPM_BOOT_TIMEOUT:-600}
for tool in qemu-system-x86_64 swtpm swtpm_setup swtpm_localca busybox; do
    command -v "$tool" >/dev/null 2>&1 || { echo "check-kernel: $tool missing (make deps)"; exit 77; }
done

KC=$(sh "$ROOT/swtpm-ci/kernel-fetch.sh" "$B") || { echo "check-kernel: kernel fetch failed"; exit 1; }
kver=$(basename "$KC")
OUT=${KVTPM_OUT:-$B/kernel-test}
mkdir -p "$OUT"
rm -rf "$OUT/kmod" && cp -r "$ROOT/kmod-vtpm" "$OUT/kmod"
make -s -C "/usr/src/linux-headers-$kver" M="$OUT/kmod" W=1 C=2 modules >"$OUT/kmod-build.log" 2>&1 ||
    { cat "$OUT/kmod-build.log"; echo "check-kernel: module build failed"; exit 1; }
if grep -q 'warning:' "$OUT/kmod-build.log"; then
    cat "$OUT/kmod-build.log"; echo "check-kernel: module build has warnings"; exit 1
fi
# The same sources packaged by dkms, for tests/kernel/t_95_modprobe.sh.
KVTPM_MODULES_DIR=$(timeout -k 5 300 sh "$ROOT/swtpm-ci/kmod-dkms.sh" "$ROOT" "$kver" "$OUT/dkms") ||
    { echo "check-kernel: dkms build failed"; exit 1; }
export KVTPM_MODULES_DIR
sh "$ROOT/swtpm-ci/kernel-initramfs.sh" "$ROOT" "$B" "$KC" "$OUT/kmod/vtpm_attest.ko" \
    "$OUT/initramfs.cpio" || { echo "check-kernel: initramfs failed"; exit 1; }

T=$(mktemp -d "${TMPDIR:-/tmp}/kvtpm-vm.XXXXXX")
SWTPM_PID="" QEMU_PID=""
stop() {
    [ -n "$QEMU_PID" ] && kill -9 "$QEMU_PID" 2>/dev/null
    [ -n "$SWTPM_PID" ] && kill -9 "$SWTPM_PID" 2>/dev/null
    rm -rf "$T"
}
trap stop EXIT
trap 'exit 1' INT TERM

# The guest's TPM manufactured as a host TPM is (about 1 s): a local CA (swtpm_localca) issues
# the EK certificates swtpm_setup writes into its NV; vtpm-mgr in the guest exports them in
# its host chain. The issuer goes into the guest as /etc/kvtpm-ek-ca.pem, appended to the
# initramfs as an archive of its own (the kernel unpacks concatenated archives in order).
mkdir -p "$T/tpm" "$T/ca" "$T/extra/etc"
printf 'statedir = %s\nsigningkey = %s\nissuercert = %s\ncertserial = %s\n' \
    "$T/ca" "$T/ca/signkey.pem" "$T/ca/issuercert.pem" "$T/ca/certserial" >"$T/localca.conf"
printf -- '--platform-manufacturer vtpm-attest-ci\n--platform-version 1.0\n--platform-model kernel-guest\n' \
    >"$T/localca.options"
printf 'create_certs_tool = %s\ncreate_certs_tool_config = %s\ncreate_certs_tool_options = %s\n' \
    "$(command -v swtpm_localca)" "$T/localca.conf" "$T/localca.options" >"$T/swtpm_setup.conf"
echo 1 >"$T/ca/certserial"
swtpm_setup --tpm2 --tpmstate "$T/tpm" --config "$T/swtpm_setup.conf" --create-ek-cert \
    --write-ek-cert-files "$T/ca" --logfile "$T/swtpm_setup.log" >/dev/null 2>&1 ||
    { cat "$T/swtpm_setup.log"; echo "check-kernel: swtpm_setup failed"; exit 1; }
[ -s "$T/ca/ek-rsa2048.crt" ] || { echo "check-kernel: swtpm_setup wrote no EK certificate"; exit 1; }
cp "$T/ca/issuercert.pem" "$T/extra/etc/kvtpm-ek-ca.pem"
(cd "$T/extra" && find etc | busybox cpio -o -H newc 2>/dev/null) >>"$OUT/initramfs.cpio" ||
    { echo "check-kernel: cannot append the EK issuer to the initramfs"; exit 1; }

swtpm socket --tpm2 --tpmstate dir="$T/tpm" --ctrl type=unixio,path="$T/swtpm-sock" \
    --flags startup-clear --pid file="$T/swtpm.pid" --log file="$T/swtpm.log" &
SWTPM_PID=$!
i=0
while [ ! -S "$T/swtpm-sock" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
[ -S "$T/swtpm-sock" ] || { echo "check-kernel: swtpm did not start"; exit 1; }

start=$(date +%s)
timeout -k 10 "$LIMIT" qemu-system-x86_64 -machine q35 -accel tcg -m 1024 -smp 2 \
    -nographic -no-reboot -monitor none -serial stdio \
    -kernel "$KC/root/boot/vmlinuz-$kver" -initrd "$OUT/initramfs.cpio" \
    -append "console=ttyS0 panic=-1 rdinit=/init ${KVTPM_APPEND:-}" \
    -chardev socket,id=chrtpm,path="$T/swtpm-sock" \
    -tpmdev emulator,id=tpm0,chardev=chrtpm -device tpm-tis,tpmdev=tpm0 \
    </dev/null >"$OUT/console.log" 2>&1 &
QEMU_PID=$!
wait "$QEMU_PID"
rc=$?
QEMU_PID=""
dur=$(( $(date +%s) - start ))

tr -d '\r' <"$OUT/console.log" | grep -E '^(PASS|FAIL) |^    \| |kernel-tests:'
fail=0
if [ $rc -eq 124 ] || [ $rc -eq 137 ]; then
    echo "check-kernel: TIMEOUT after ${LIMIT}s"; fail=1
fi
if grep -E 'Oops|BUG:|WARNING:|Call Trace|KASAN|Kernel panic' "$OUT/console.log"; then
    echo "check-kernel: kernel reported a problem (console: $OUT/console.log)"; fail=1
fi
summary=$(tr -d '\r' <"$OUT/console.log" | sed -n 's/^kernel-tests: \([0-9]* passed, [0-9]* failed\)$/\1/p')
[ -n "$summary" ] || { echo "check-kernel: no result line (console: $OUT/console.log)"; fail=1; }
case "$summary" in *" 0 failed") ;; *) fail=1 ;; esac
case "$summary" in "0 passed"*) fail=1 ;; esac
echo "check-kernel: boot+tests ${dur}s, console $OUT/console.log"
echo "${summary:-0 passed, 1 failed}"
exit $fail
