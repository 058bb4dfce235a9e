# SPDX-License-Identifier: BSD-3-Clause
# A real measured boot (swtpm-ci/check-boot.sh: OVMF + swtpm + Debian's kernel under QEMU),
# checked from the host: the TCG event log parses and replays to the PCRs the guest read,
# the quote over them verifies with the host's nonce, the log's PCR 4 and 9 events are the
# kernel, command line and initrd that were booted, and kmod-vtpm's list replays to PCR 13.
# Tampering with each of these must be detected. Leaves the results in BUILD/boot-test/
# for later tests and benchmarks, and prints what the firmware measured, per PCR.
. "$(dirname "$0")/lib.sh"
D=$BUILD/boot-test
TB=$ROOT/tests/boot
EV=$T/eventlog.yaml
REPLAYED="0 1 2 3 4 5 6 7 9"   # PCRs with firmware or EFI-stub events in the log

yaml() { python3 "$TB/evlog_yaml.py" "$@"; }
kv() { sed -n "s/^$1=//p" "$D/boot-info.txt"; }
pcr_of() { awk -v i="$1" '$1 == i { print $2 }' "$2"; }

# same_pcrs A B: the PCRs of REPLAYED have one value, the same in both "index hex" files.
same_pcrs() {
    for i in $REPLAYED; do
        a=$(pcr_of "$i" "$1") b=$(pcr_of "$i" "$2")
        [ -n "$a" ] && [ "$a" = "$b" ] || { echo "PCR $i: $a vs $b"; return 1; }
    done
}

boot() {
    rc=0
    sh "$ROOT/swtpm-ci/check-boot.sh" "$BUILD" "$D" || rc=$?
    [ $rc -eq 0 ] || { echo "FAIL: check-boot.sh exit $rc" >&2; exit $rc; }
    for f in binary_bios_measurements kvtpm_measurements pcrs.yaml nonce.hex ak.pub \
             quote.msg quote.sig quote.pcrs dmesg.txt boot-info.txt; do
        [ -s "$D/$f" ] || fail "no $f from the guest"
    done
    ok "booted in $(kv boot_seconds) s, results in $D"
}

replay() {
    tpm2_eventlog "$D/binary_bios_measurements" >"$EV" || fail "tpm2_eventlog does not parse the log"
    yaml pcrs sha256 "$EV" >"$T/replayed" && yaml pcrs sha256 "$D/pcrs.yaml" >"$T/guest"
    same_pcrs "$T/replayed" "$T/guest" || fail "replayed log != PCRs read in the guest"
    ok "log replays to the guest's sha256 PCRs $REPLAYED"
    # A log with one digest changed must no longer match.
    python3 -c 'import sys
d = open(sys.argv[1], "rb").read(); x = bytes.fromhex(sys.argv[2]); i = d.find(x)
assert i > 0; open(sys.argv[3], "wb").write(d[:i] + bytes([d[i] ^ 1]) + d[i + 1:])' \
        "$D/binary_bios_measurements" "$(yaml digests EV_EFI_BOOT_SERVICES_APPLICATION "$EV" | cut -d' ' -f2)" \
        "$T/bad.log" || fail "could not make a tampered log"
    tpm2_eventlog "$T/bad.log" >"$T/bad.yaml" && yaml pcrs sha256 "$T/bad.yaml" >"$T/bad.replayed"
    ! same_pcrs "$T/bad.replayed" "$T/guest" >/dev/null || fail "tampered log still matches"
    ok "a log with one changed digest does not"
}

quote() {
    n=$(cat "$D/nonce.hex")
    tpm2_checkquote -u "$D/ak.pub" -m "$D/quote.msg" -s "$D/quote.sig" -f "$D/quote.pcrs" \
        -g sha256 -q "$n" >"$T/checkquote.yaml" || fail "tpm2_checkquote"
    yaml pcrs sha256 "$T/checkquote.yaml" >"$T/quoted"
    same_pcrs "$T/replayed" "$T/quoted" || fail "quoted PCRs != replayed log"
    ok "quote verifies with the nonce and covers the replayed PCRs"
    ! tpm2_checkquote -u "$D/ak.pub" -m "$D/quote.msg" -s "$D/quote.sig" -f "$D/quote.pcrs" \
        -g sha256 -q "00$n" >/dev/null 2>&1 || fail "quote passes with another nonce"
    cp "$D/quote.msg" "$T/bad.msg" && printf '\377' | dd of="$T/bad.msg" bs=1 seek=40 conv=notrunc 2>/dev/null
    ! tpm2_checkquote -u "$D/ak.pub" -m "$T/bad.msg" -s "$D/quote.sig" -f "$D/quote.pcrs" \
        -g sha256 -q "$n" >/dev/null 2>&1 || fail "altered quote passes"
    ok "another nonce or an altered quote fails"
}

# OVMF logs the kernel as QEMU handed it over (setup header filled in: pe_authenticode.py).
booted_images() {
    k=$(kv kernel_image)
    want=$(python3 "$TB/pe_authenticode.py" "$k" --qemu-initrd-size "$(kv initrd_size)" \
           --qemu-mem-mib "$(kv mem_mib)") || fail "pe_authenticode"
    got=$(yaml digests EV_EFI_BOOT_SERVICES_APPLICATION "$EV")
    [ "$got" = "4 $want file kernel" ] || fail "PCR 4 application '$got', kernel $want"
    ok "PCR 4: the booted kernel (Authenticode $want; as a file: $(python3 "$TB/pe_authenticode.py" "$k"))"
    # The EFI stub (Linux >= 6.1) measures its load options, which OVMF ends with
    # " initrd=initrd", as UTF-16 with the terminating NUL, and the initrd.
    opts=$(python3 -c 'import hashlib,sys; print(hashlib.sha256((sys.argv[1] + " initrd=initrd\0").encode("utf-16-le")).hexdigest())' "$(kv cmdline)")
    yaml digests EV_EVENT_TAG "$EV" >"$T/pcr9"
    grep -qx "9 $opts LOADED_IMAGE::LoadOptions" "$T/pcr9" || fail "PCR 9 load options: $(cat "$T/pcr9")"
    grep -qx "9 $(kv initrd_sha256) Linux initrd" "$T/pcr9" || fail "PCR 9 initrd: $(cat "$T/pcr9")"
    ok "PCR 9: the command line and the initrd that were booted"
}

kmod_list() {
    grep -q ' vtpm-attest/1 op=load pcr=13 ' "$D/kvtpm_measurements" || fail "no op=load entry"
    r=$("$BUILD/tests/kvtpm_replay" "$D/kvtpm_measurements") || fail "kvtpm_replay"
    [ "$r" = "13 sha256 $(pcr_of 13 "$T/guest")" ] || fail "kmod list replays to '$r', PCR 13 $(pcr_of 13 "$T/guest")"
    ok "kmod-vtpm list replays to PCR 13"
    sed 's/op=load/op=lead/' "$D/kvtpm_measurements" >"$T/bad.list"
    ! "$BUILD/tests/kvtpm_replay" "$T/bad.list" >/dev/null 2>&1 || fail "altered kmod list replays"
}

# The helpers must be able to say no, or the checks above prove nothing.
negative_tools() {
    ! python3 "$TB/ovmf_tcg2.py" /usr/share/OVMF/OVMF_VARS_4M.fd >/dev/null || fail "ovmf_tcg2 accepts a non-firmware file"
    head -c 4096 "$(kv kernel_image)" >"$T/short.efi"
    ! python3 "$TB/pe_authenticode.py" "$T/short.efi" 2>/dev/null || fail "pe_authenticode accepts a truncated image"
    ! tpm2_eventlog "$T/short.efi" >/dev/null 2>&1 || fail "tpm2_eventlog accepts a non-log"
}

# The verifier's own UEFI log parser and boot policy (verifier/uefilog.c, bootpolicy.c),
# on the real log: the policy derived from it allows it and denies a tampered copy.
boot_policy() {
    "$BIN/verifier" boot-policy derive --log "$D/binary_bios_measurements" --pcrs 0-7 --no-kmod \
        >"$T/boot-policy.json" || fail "verifier boot-policy derive"
    set --
    for i in 0 1 2 3 4 5 6 7; do set -- "$@" --pcr "$i=$(pcr_of "$i" "$T/guest")"; done
    "$BIN/verifier" boot-policy check --policy "$T/boot-policy.json" \
        --log "$D/binary_bios_measurements" "$@" >"$T/bp.out" || fail "boot-policy check: $(cat "$T/bp.out")"
    rc=0
    "$BIN/verifier" boot-policy check --policy "$T/boot-policy.json" --log "$T/bad.log" "$@" \
        >"$T/bp.bad" 2>&1 || rc=$?
    [ $rc -eq 1 ] || fail "boot-policy check of the tampered log: exit $rc, want 1 (deny)"
    ok "verifier boot-policy: the policy derived from this boot allows it, denies the tampered log"
}

show_measured() {
    yaml summary "$EV" | tee "$D/events-per-pcr.txt"
}

boot
replay
quote
booted_images
kmod_list
negative_tools
boot_policy
echo "--- what OVMF (and the EFI stub, PCR 9) measured, per PCR (also $D/events-per-pcr.txt) ---"
show_measured
