#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# State at rest: NV plaintext never reaches the disk; one flipped byte of a state file is
# detected (the vTPM is refused, never re-manufactured, neighbours unaffected); restoring the
# byte brings the same vTPM back.
. "$(dirname "$0")/lib.sh"
start_host_tpm
start_mgr
cd "$T"
U=$(create_vtpm --name victim)
S=$(json socket <create.json)
U2=$(create_vtpm --name neighbour)
S2=$(json socket <create.json)
SECRET=TOPSECRET-$(openssl rand -hex 12)
printf '%s' "$SECRET" >secret.bin
SZ=$(wc -c <secret.bin)
vt "$S" tpm2_nvdefine 0x01500010 -C o -s "$SZ" -a "ownerread|ownerwrite" >/dev/null || fail nvdefine
vt "$S" tpm2_nvwrite 0x01500010 -C o -i secret.bin || fail nvwrite
stop_mgr
grep -rqa "$SECRET" "$STATE" "$RUN" && fail "NV plaintext found on disk"
HEX=$(od -An -tx1 -v secret.bin | tr -d ' \n')
python3 - "$STATE" "$HEX" <<'PY' || fail "NV plaintext found on disk (binary scan)"
import os, sys
needle = bytes.fromhex(sys.argv[2])
for d, _, fs in os.walk(sys.argv[1]):
    for f in fs:
        with open(os.path.join(d, f), 'rb') as fh:
            if needle in fh.read():
                sys.exit(1)
PY
ok "the NV secret appears nowhere on disk"

EK_BEFORE=$(openssl x509 -in "$STATE/vtpm/$U/ek.der" -inform DER -noout -fingerprint)
flip() { python3 -c "
import sys; p=sys.argv[1]; b=bytearray(open(p,'rb').read()); i=len(b)//2; b[i]^=0x40; open(p,'wb').write(b)" "$1"; }
flip "$STATE/vtpm/$U/perm.enc"
start_mgr
[ "$("$BIN/vtpmctl" info "$U" | json status)" = broken ] || fail "tampered state not detected"
"$BIN/vtpmctl" info "$U" | json error | grep -q "permanent state" || fail "no reason given"
vt "$S" tpm2_getrandom 8 >/dev/null 2>&1 && fail "a tampered vTPM was served"
vt "$S2" tpm2_getrandom 8 >/dev/null || fail "neighbour affected by the tampered vTPM"
ok "one flipped byte is detected; neighbour unaffected"
stop_mgr
flip "$STATE/vtpm/$U/perm.enc"
start_mgr
[ "$("$BIN/vtpmctl" info "$U" | json status)" = live ] || fail "restored state not served"
vt "$S" tpm2_nvread 0x01500010 -C o -o back.bin >/dev/null && cmp -s back.bin secret.bin ||
    fail "NV content lost"
EK_AFTER=$(openssl x509 -in "$STATE/vtpm/$U/ek.der" -inform DER -noout -fingerprint)
[ "$EK_BEFORE" = "$EK_AFTER" ] || fail "vTPM was re-manufactured"
ok "restored file: the same vTPM, not re-manufactured"

# Without the host TPM's sealed key the files are useless: another host TPM cannot unseal.
stop_mgr
sh "$ROOT/swtpm-ci/host-tpm-stop.sh" "$HOST"
rm -rf "$HOST"; start_host_tpm
"$BIN/vtpm-mgr" --foreground --state-dir "$STATE" --run-dir "$RUN" --host-tcti "$HOST_TCTI" \
    --seal-pcrs sha256:16 >other-host.log 2>&1 && fail "state opened with another host TPM"
grep -qiE "state key|provision|unseal|exists|host TPM" other-host.log || fail "unclear error: $(tail -n 3 other-host.log)"
ok "another host TPM cannot open the state ($(grep -iE 'error' other-host.log | head -n 1))"
echo "t_mgr_tamper: all passed"
