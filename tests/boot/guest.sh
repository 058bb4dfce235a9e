# SPDX-License-Identifier: BSD-3-Clause
# Guest side of the measured boot (run by tests/boot/init.sh): the host agent's work on a
# freshly booted host. vtpm-mgr on the firmware-initialised TPM, a kmod-vtpm vTPM with a
# device and one without, host evidence and container evidence with the host's nonce
# (attest-agent), plus what the host cross-checks them with (the firmware's event log,
# kmod-vtpm's list, PCR values, the host chain), all into /out. Each step is one function;
# add a step by adding a function to STEPS.
set -eu
export TPM2TOOLS_TCTI=device:/dev/tpmrm0
O=/out
I=/in
MS=/tmp/mgr-state
MR=/tmp/mgr-run
# 9: the EFI stub's initrd and command-line events; 13: kmod-vtpm.
HOST_PCRS=0-7,9,13
PCRS=sha256:0,1,2,3,4,5,6,7,9,13
NODE=boot-guest
EVLOG=/sys/kernel/security/tpm0/binary_bios_measurements
KVTPM_LIST=/sys/kernel/security/vtpm_attest/measurements
MGR_PID=

die() {
    echo "FAIL: $*"
    [ ! -f /tmp/mgr.log ] || { echo "--- vtpm-mgr log (tail)"; tail -n 20 /tmp/mgr.log; }
    exit 1
}
stop_mgr() { [ -z "$MGR_PID" ] || kill "$MGR_PID" 2>/dev/null || true; }
trap stop_mgr EXIT

# The host's inputs come as a tar at the start of the disk: the nonce (so that an old quote
# cannot pass; not on the command line, which the EFI stub measures into PCR 9), the issuer
# of the TPM's EK certificate, and the bundle to attest.
step_input() {
    mkdir -p "$I"
    tar -xf /dev/vda -C "$I" || die "no input tar on /dev/vda"
    nonce=$(cat "$I/nonce.hex")
    [ ${#nonce} -ge 16 ] || die "no nonce in the input"
    [ -s "$I/ek-ca.pem" ] && [ -s "$I/bundle/config.json" ] || die "input incomplete"
    cp "$I/nonce.hex" "$O/nonce.hex"
}

step_tpm() {
    i=0
    while [ ! -c /dev/tpmrm0 ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
    [ -c /dev/tpmrm0 ] || die "no /dev/tpmrm0"
    tpm2_getcap pcrs >"$O/banks.yaml" || die "getcap pcrs"
}

# Without a log, tell apart "firmware measured nothing" (PCR 0 zero: OVMF without TPM2)
# from "the kernel did not pick the log up" (EFI stub, config table).
explain_no_log() {
    [ -d /sys/firmware/efi ] && echo "booted through UEFI" || echo "NOT booted through UEFI"
    ls -l /sys/kernel/security/tpm0 || true
    tpm2_pcrread sha256:0 || true
    dmesg | grep -i -E 'tpm|tcg|efi:' || true
}

# securityfs files have size 0 in stat, so the copy is what is tested for content.
step_eventlog() {
    cat "$EVLOG" >"$O/binary_bios_measurements" 2>/dev/null || true
    [ -s "$O/binary_bios_measurements" ] || { explain_no_log; die "no or empty $EVLOG"; }
}

# Its op=load entry extends PCR 13; vtpm-mgr needs its control device for --device.
step_kmod() {
    insmod /lib/modules/vtpm_attest.ko || die "insmod vtpm_attest.ko"
    [ -c /dev/vtpmx-attest ] || die "no /dev/vtpmx-attest"
}

# The guest's TPM is the host TPM here: EK certificate in NV from the host's CA, which
# vtpm-mgr exports in its host chain (--host-ek-ca). Bounded wait, PID kept for the stop.
step_mgr() {
    vtpm-mgr --foreground --state-dir "$MS" --run-dir "$MR" --host-tcti device:/dev/tpmrm0 \
        --host-ek-ca "$I/ek-ca.pem" --seal-pcrs sha256:7 </dev/null >/tmp/mgr.log 2>&1 &
    MGR_PID=$!
    i=0
    until vtpmctl --run-dir "$MR" list >/dev/null 2>&1; do
        i=$((i + 1))
        kill -0 "$MGR_PID" 2>/dev/null && [ $i -lt 600 ] || { tail -n 30 /tmp/mgr.log; die "vtpm-mgr not ready"; }
        sleep 0.1
    done
    echo "vtpm-mgr ready after $((i / 10)).$((i % 10)) s"
    vtpmctl --run-dir "$MR" host-chain --out "$O/host-chain" >/dev/null || die "host-chain"
}

field() { sed -n "s/.*\"$1\": *\"\\([^\"]*\\)\".*/\\1/p"; }

# One vTPM with a kmod-vtpm device (its creation is measured into PCR 13 and listed), one
# without (not listed: the verifier's negative case).
step_vtpms() {
    vtpmctl --run-dir "$MR" create --name boot-dev --device >"$O/vtpm-dev.json" || die "create --device"
    vtpmctl --run-dir "$MR" create --name boot-nodev >"$O/vtpm-nodev.json" || die "create"
    dev=$(field device <"$O/vtpm-dev.json")
    [ -c "$dev" ] || die "no device node '$dev'"
    grep -q "op=create .*uuid=$(field uuid <"$O/vtpm-dev.json")" "$KVTPM_LIST" ||
        die "no op=create line for the device vTPM"
}

# --host-pcrs adds 9 to the default: the EFI stub measures the command line and initrd there.
host_opts() { echo "--run-dir $MR --host-pcrs $HOST_PCRS --node-name $NODE"; }

step_hostev() {
    attest-agent host-evidence --nonce "$(cat "$O/nonce.hex")" --out "$O/host.cbor" \
        $(host_opts) || die "attest-agent host-evidence"
}

# The runtime measured is busybox (no runc here); the host measures the same file.
evidence_of() { # NAME OUT
    u=$(field uuid <"$O/vtpm-$1.json")
    attest-agent evidence --vtpm "$u" --nonce "$(cat "$O/nonce.hex")" --bundle "$I/bundle" \
        --container-id "boot-$1" --runtime /bin/busybox --out "$O/$2" $(host_opts) ||
        die "attest-agent evidence ($1)"
}

step_evidence() {
    attest-agent measure --bundle "$I/bundle" --runtime /bin/busybox >"$O/measure.json" ||
        die "attest-agent measure"
    evidence_of dev ev.cbor
    evidence_of nodev ev-nodev.cbor
}

# Last, so that PCR 13 and the list include every create: for the host's cross-checks.
step_final() {
    cat "$KVTPM_LIST" >"$O/kvtpm_measurements" || die "no $KVTPM_LIST"
    [ -s "$O/kvtpm_measurements" ] || die "empty $KVTPM_LIST"
    tpm2_pcrread "$PCRS" >"$O/pcrs.yaml" || die "pcrread"
    cp /tmp/mgr.log "$O/mgr.log"
}

STEPS="input tpm eventlog kmod mgr vtpms hostev evidence final"
for s in $STEPS; do
    echo "-- $s $(cut -d' ' -f1 /proc/uptime)"
    "step_$s"
done
ls -l "$O"
echo "guest: done"
