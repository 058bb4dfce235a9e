#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# `verifier boot-policy` end to end: logs written by uefilog_build are extended into a real
# (swtpm) TPM with tpm2_pcrextend, and the PCR values tpm2_pcrread gives back must equal the
# verifier's replay; derive -> check allows the good log and denies a swapped boot loader, a
# removed one, Secure Boot off, a replay mismatch, an added EFI driver (PCR 2 or 4) and one
# boot application more than the reference boot had (derived policies are closed);
# malformed input and version 1 policies exit 2.
# UEFILOG_EXTRA: more log files to derive+check against themselves (e.g. a real OVMF log).
. "$(dirname "$0")/lib.sh"

TOOL=$BUILD/tests/uefilog_build
for f in "$TOOL" "$BUILD/tests/bootpolicy_cli"; do [ -x "$f" ] || fail "$f not built"; done

# The boot a reference policy is derived from; variants change one item.
boot_log() { # OUT LOADER SECUREBOOT [extra items]
    out=$1 loader=$2 sb=$3; shift 3
    set -- --out "$out" --banks sha1,sha256 0:EV_S_CRTM_VERSION:hex:31002e003000 \
        --secure-boot "$sb" 7:EV_SEPARATOR:hex:00000000 \
        1:EV_EFI_VARIABLE_BOOT:hex:0100 \
        0:EV_SEPARATOR:hex:00000000 1:EV_SEPARATOR:hex:00000000 2:EV_SEPARATOR:hex:00000000 \
        3:EV_SEPARATOR:hex:00000000 4:EV_SEPARATOR:hex:00000000 5:EV_SEPARATOR:hex:00000000 \
        6:EV_SEPARATOR:hex:00000000 "$@"
    [ -n "$loader" ] && set -- "$@" --measure shim 4:EV_EFI_BOOT_SERVICES_APPLICATION:hex:00 \
        --measure "$loader" 4:EV_EFI_BOOT_SERVICES_APPLICATION:hex:00
    "$TOOL" "$@" 5:EV_EFI_ACTION:"Exit Boot Services Invocation" --print-pcrs
}
boot_log "$T/good.bin" grub 1 >"$T/good.pcrs" || fail "uefilog_build"
pcr_args() { sed 's/^/--pcr /' "$1" | tr '\n' ' '; }

# The real verifier once main.c dispatches boot-policy, else the same code from libverifier.a.
if "$BIN/verifier" boot-policy show --log "$T/good.bin" >/dev/null 2>&1; then
    BP="$BIN/verifier boot-policy"
else
    BP="$BUILD/tests/bootpolicy_cli"
fi
echo "using $BP"

# expect RC REASON-OR-EMPTY CMD...: exit status and (if given) a reason in the JSON line.
expect() {
    want=$1 reason=$2; shift 2
    rc=0; "$@" >"$T/out.json" 2>"$T/err.txt" || rc=$?
    [ "$rc" -eq "$want" ] || { cat "$T/out.json" "$T/err.txt" >&2; fail "$* exited $rc, not $want"; }
    [ -z "$reason" ] || jq -e --arg r "$reason" '.reasons | index($r) != null' "$T/out.json" \
        >/dev/null || { cat "$T/out.json" >&2; fail "no reason $reason"; }
}

# --- derive and check the good log ---
$BP derive --log "$T/good.bin" >"$T/policy.json" || fail "derive"
jq -e '.version == 2 and .secure_boot == true and .require_vtpm_in_kmod_list == true and
       (.pcrs | length) == 9 and .open_pcrs == null and
       (.events["4"].EV_EFI_BOOT_SERVICES_APPLICATION | .max == 2 and (.digests | length) == 2)' \
    "$T/policy.json" >/dev/null || { cat "$T/policy.json" >&2; fail "derived policy content"; }
# shellcheck disable=SC2046
expect 0 "" $BP check --policy "$T/policy.json" --log "$T/good.bin" $(pcr_args "$T/good.pcrs")
jq -e '.verdict == "allow" and (.reasons | length) == 0' "$T/out.json" >/dev/null || fail "allow line"
ok "derive -> check allows the log it came from"

# --- the same events extended into a real TPM: tpm2_pcrread must equal the replay ---
start_host_tpm
export TPM2TOOLS_TCTI="$HOST_TCTI"
$BP show --log "$T/good.bin" >"$T/show.jsonl" || fail "show"
jq -r 'select(.index != null and .type != "EV_NO_ACTION") | "\(.pcr):sha256=\(.sha256)"' \
    "$T/show.jsonl" >"$T/extends"
[ "$(wc -l <"$T/extends")" -eq 14 ] || fail "show listed $(wc -l <"$T/extends") extends, not 14"
while read -r e; do timeout 30 tpm2_pcrextend "$e" || fail "tpm2_pcrextend $e"; done <"$T/extends"
timeout 30 tpm2_pcrread sha256:0,1,2,3,4,5,6,7 >"$T/pcrread" || fail "tpm2_pcrread"
sed -n 's/^ *\([0-9]*\) *: 0x\([0-9A-Fa-f]*\)$/\1=\2/p' "$T/pcrread" | tr 'A-F' 'a-f' >"$T/tpm.pcrs"
[ "$(wc -l <"$T/tpm.pcrs")" -eq 8 ] || { cat "$T/pcrread" >&2; fail "pcrread output"; }
tail -n 1 "$T/show.jsonl" | jq -r '.replay | to_entries[] | "\(.key)=\(.value)"' >"$T/replay.pcrs"
cmp "$T/tpm.pcrs" "$T/replay.pcrs" || fail "the TPM's PCRs differ from the verifier's replay"
cmp "$T/tpm.pcrs" "$T/good.pcrs" || fail "the TPM's PCRs differ from uefilog_build's"
# shellcheck disable=SC2046
expect 0 "" $BP check --policy "$T/policy.json" --log "$T/good.bin" $(pcr_args "$T/tpm.pcrs")
ok "replay equals a real TPM extended with the same digests"

# --- tampered boots ---
boot_log "$T/evil.bin" evil 1 >/dev/null
expect 1 "host-boot-digest-not-allowed:pcr 4 EV_EFI_BOOT_SERVICES_APPLICATION record 13" \
    $BP check --policy "$T/policy.json" --log "$T/evil.bin"
# shellcheck disable=SC2046
expect 1 "host-eventlog-replay-mismatch:pcr 4" \
    $BP check --policy "$T/policy.json" --log "$T/evil.bin" $(pcr_args "$T/tpm.pcrs")
boot_log "$T/noloader.bin" "" 1 >/dev/null
expect 1 "host-boot-event-missing:pcr 4 EV_EFI_BOOT_SERVICES_APPLICATION" \
    $BP check --policy "$T/policy.json" --log "$T/noloader.bin"
boot_log "$T/sboff.bin" grub 0 >/dev/null
expect 1 "host-boot-secureboot:true/false" $BP check --policy "$T/policy.json" --log "$T/sboff.bin"
ok "swapped loader, missing loader, Secure Boot off and replay mismatch are denied"

# --- added events: a derived policy is closed. Record 12 is the first extra item (after the
# header, CRTM, SecureBoot, PCR 7 separator, BootOrder and seven separators). ---
boot_log "$T/drv2.bin" grub 1 --measure evil.efi 2:EV_EFI_BOOT_SERVICES_DRIVER:hex:00 >/dev/null
expect 1 "host-boot-event-unexpected:pcr 2 EV_EFI_BOOT_SERVICES_DRIVER record 12" \
    $BP check --policy "$T/policy.json" --log "$T/drv2.bin"
jq -e '(.reasons | length) == 1' "$T/out.json" >/dev/null || fail "driver: $(cat "$T/out.json")"
boot_log "$T/drv4.bin" grub 1 --measure evil.efi 4:EV_EFI_BOOT_SERVICES_DRIVER:hex:00 >/dev/null
expect 1 "host-boot-event-unexpected:pcr 4 EV_EFI_BOOT_SERVICES_DRIVER record 12" \
    $BP check --policy "$T/policy.json" --log "$T/drv4.bin"
# A third boot application whose digest is a listed one (the loader again): one more than max.
boot_log "$T/app4.bin" grub 1 --measure grub 4:EV_EFI_BOOT_SERVICES_APPLICATION:hex:00 >/dev/null
expect 1 "host-boot-event-unexpected:pcr 4 EV_EFI_BOOT_SERVICES_APPLICATION record 14" \
    $BP check --policy "$T/policy.json" --log "$T/app4.bin"
jq -e '(.reasons | length) == 1' "$T/out.json" >/dev/null || fail "app: $(cat "$T/out.json")"
# The operator opens PCR 2: the driver passes there, the extra application still does not.
jq '.open_pcrs = [2]' "$T/policy.json" >"$T/open2.json"
expect 0 "" $BP check --policy "$T/open2.json" --log "$T/drv2.bin"
expect 1 "host-boot-event-unexpected:pcr 4 EV_EFI_BOOT_SERVICES_APPLICATION record 14" \
    $BP check --policy "$T/open2.json" --log "$T/app4.bin"
ok "an added EFI driver (PCR 2, PCR 4) and an extra boot application are denied; open_pcrs opens"

# --- malformed input and usage ---
{ cat "$T/good.bin"; printf '\000\000\000\000'; } >"$T/padded.bin"
expect 2 "" $BP check --policy "$T/policy.json" --log "$T/padded.bin"
jq -e '.verdict == "error" and (.error | test("zero padding"))' "$T/out.json" >/dev/null ||
    fail "padded log: $(cat "$T/out.json")"
echo '{"version": 2, "event": {}}' >"$T/bad-policy.json"
expect 2 "" $BP check --policy "$T/bad-policy.json" --log "$T/good.bin"
# A version 1 policy (unlisted types unchecked) is refused with a message saying what to do.
jq '.version = 1 | .events |= map_values(map_values(.digests))' "$T/policy.json" >"$T/v1.json"
expect 2 "" $BP check --policy "$T/v1.json" --log "$T/drv2.bin"
grep -q "version 1.*open_pcrs" "$T/out.json" "$T/err.txt" || fail "v1: $(cat "$T/out.json" "$T/err.txt")"
expect 2 "" $BP check --policy "$T/policy.json" --log "$T/good.bin" --pcr 24=00
expect 2 "" $BP check --policy "$T/policy.json" --log "$T/missing.bin"
expect 2 "" $BP show --log "$T/padded.bin"
expect 2 "" $BP derive --log "$T/good.bin" --pcrs 0-24
"$TOOL" --out "$T/sha1.bin" --banks sha1 --preset basic >/dev/null
expect 2 "" $BP derive --log "$T/sha1.bin"
grep -q "no sha256 bank" "$T/err.txt" || fail "derive without sha256: $(cat "$T/err.txt")"
$BP derive --log "$T/good.bin" --pcrs 0-7 --no-kmod >"$T/p07.json" || fail "derive --pcrs"
jq -e '(.pcrs | length) == 8 and .require_vtpm_in_kmod_list == false' "$T/p07.json" >/dev/null ||
    fail "derive --pcrs 0-7 --no-kmod"
ok "malformed logs and policies, bad options exit 2"

# --- real firmware logs: OVMF under QEMU (sha1, sha256, sha384, sha512 banks, recorded by
# swtpm-ci/check-boot.sh) and any in UEFILOG_EXTRA. The replay must equal tpm2_eventlog's (an
# independent parser; it ignores StartupLocality, so only logs at locality 0 are compared) and
# a derived policy must accept its log. ---
for extra in "$ROOT/tests/fuzz/corpus/uefilog/ovmf-qemu.bin" ${UEFILOG_EXTRA:-}; do
    $BP show --log "$extra" >"$T/extra.jsonl" || fail "show $extra"
    if [ "$(tail -n 1 "$T/extra.jsonl" | jq .startup_locality)" = 0 ]; then
        tail -n 1 "$T/extra.jsonl" | jq -r '.replay | to_entries[] | "\(.key)=\(.value)"' >"$T/ours"
        timeout 30 tpm2_eventlog "$extra" | sed -n '/^  sha256:$/,/^  [a-z0-9]*:$/p' |
            sed -n 's/^ *\([0-9]*\) *: 0x\([0-9a-fA-F]*\)$/\1=\2/p' | tr 'A-F' 'a-f' >"$T/theirs"
        [ -s "$T/theirs" ] || fail "tpm2_eventlog gave no sha256 PCRs for $extra"
        cmp "$T/ours" "$T/theirs" || fail "replay of $extra differs from tpm2_eventlog's"
    fi
    $BP derive --log "$extra" >"$T/extra.json" || fail "derive $extra"
    expect 0 "" $BP check --policy "$T/extra.json" --log "$extra"
    ok "$(basename "$extra"): replay as tpm2_eventlog's, derive -> check allows"
done
