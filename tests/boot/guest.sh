# SPDX-License-Identifier: BSD-3-Clause
# Guest side of the measured boot (run by tests/boot/init.sh): collects, into /out, what a
# verifier checks about this boot: the firmware's TCG event log, kmod-vtpm's measurement
# list, PCR values and a quote over them with the host's nonce (tpm2-tools standing in for
# the host agent). Each step is one function; add a step by adding a function to STEPS.
set -eu
export TPM2TOOLS_TCTI=device:/dev/tpmrm0
O=/out
W=/tmp/guest
# 9: the EFI stub's initrd and command-line events; 13: kmod-vtpm.
PCRS=sha256:0,1,2,3,4,5,6,7,9,13
EVLOG=/sys/kernel/security/tpm0/binary_bios_measurements
KVTPM_LIST=/sys/kernel/security/vtpm_attest/measurements
mkdir -p "$W"

die() { echo "FAIL: $*"; exit 1; }

# The nonce comes from the host, so an old quote cannot pass; through the disk, not the
# kernel command line, which the EFI stub measures into PCR 9 (it would change each boot).
step_nonce() {
    nonce=$(head -c 512 /dev/vda | sed -n 's/^vtpm-boot-nonce \([0-9a-f]*\)$/\1/p')
    [ ${#nonce} -ge 16 ] || die "no nonce on /dev/vda"
    echo "$nonce" >"$O/nonce.hex"
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

# Loaded before the PCRs are read: its op=load entry extends PCR 13.
step_kmod() {
    insmod /lib/modules/vtpm_attest.ko || die "insmod vtpm_attest.ko"
    cat "$KVTPM_LIST" >"$O/kvtpm_measurements" || die "no $KVTPM_LIST"
    [ -s "$O/kvtpm_measurements" ] || die "empty $KVTPM_LIST"
}

step_keys() {
    tpm2_createek -c "$W/ek.ctx" -G ecc -u "$O/ek.pub" || die "createek"
    tpm2_createak -C "$W/ek.ctx" -c "$W/ak.ctx" -G ecc -g sha256 -s ecdsa \
        -u "$O/ak.pub" -n "$O/ak.name" || die "createak"
}

# -m/-s stay in TSS format (marshalled TPMS_ATTEST and TPMT_SIGNATURE), as in evidence.
step_quote() {
    tpm2_pcrread "$PCRS" -o "$O/pcrs.bin" >"$O/pcrs.yaml" || die "pcrread"
    tpm2_quote -c "$W/ak.ctx" -l "$PCRS" -q "$(cat "$O/nonce.hex")" -m "$O/quote.msg" \
        -s "$O/quote.sig" -o "$O/quote.pcrs" -g sha256 >"$O/quote.yaml" || die "quote"
}

STEPS="nonce tpm eventlog kmod keys quote"
for s in $STEPS; do
    echo "-- $s"
    "step_$s"
done
ls -l "$O"
echo "guest: done"
