#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Who may write a container's verdict (docs/verifier.md, "Container verdicts"), with real vTPM
# evidence at `verifier serve`: the three verdict attacks against an allowed container (evidence
# that proves nothing: a bad signature, an unregistered AK; a replayed or unissued nonce;
# another vTPM's good evidence under the victim's id) are refused and leave its row as it was;
# a vTPM reset after the container's first attestation, its measurements extended again into
# the fresh PCRs, is denied as vtpm-reset-since-start; a binding lapses after one
# re-attestation period without its vTPM, and the id can be attested by another vTPM then.
# Every check runs and the failures are listed at the end, so a run on the old verifier shows
# each attack that gets through.
. "$(dirname "$0")/lib.sh"
command -v curl >/dev/null || { echo "curl missing"; exit 77; }
VF=$BIN/verifier
EB=$BUILD/tests/evidence_build
ED=$BUILD/tests/evidence_edit
VF_PID=
ROOTFS=sha256:1111111111111111111111111111111111111111111111111111111111111111
RUNTIME=sha256:2222222222222222222222222222222222222222222222222222222222222222
GOOD="--rootfs $ROOTFS --runtime $RUNTIME --cap CAP_NET_BIND_SERVICE"
AK=0x81010001 # persistent: the AK outlives a TPM Reset, as the attacker's would
C="curl -sS --max-time 10"
at_exit stop_vf

start_host_tpm
start_mgr
cd "$T"
"$BIN/vtpmctl" host-chain --out chain >/dev/null || fail host-chain
mkdir trust
cp "$HOST/ek-ca.pem" trust/
"$VF" policy default >policy.json || fail "policy default"
"$VF" policy allow --policy policy.json --rootfs-digest "$ROOTFS" --runtime-digest "$RUNTIME" ||
    fail "policy allow"

# new_vtpm NAME: a vTPM with an EK and a persistent AK; NAME.uuid, NAME.ek.der, NAME.ak.pub.
new_vtpm() {
    _u=$(create_vtpm --name "$1") && echo "$_u" >"$1.uuid"
    _s=$(sock_of "$_u")
    "$BIN/vtpmctl" ek-cert "$_u" | openssl x509 -outform DER -out "$1.ek.der" || fail "ek-cert $1"
    vt "$_s" tpm2_createek -G ecc -c "$1.ek.ctx" >/dev/null || fail "createek $1"
    vt "$_s" tpm2_flushcontext -t
    vt "$_s" tpm2_createak -C "$1.ek.ctx" -c "$1.ak.ctx" -G ecc -g sha256 -s ecdsa \
        -u "$1.ak.pub" >/dev/null || fail "createak $1"
    vt "$_s" tpm2_flushcontext -t
    vt "$_s" tpm2_evictcontrol -C o -c "$1.ak.ctx" "$AK" >/dev/null || fail "evictcontrol $1"
    vt "$_s" tpm2_flushcontext -t
}
uuid() { cat "$1.uuid"; }
sock() { sock_of "$(uuid "$1")"; }
# extend NAME: the good measurements into PCRs 8-10 (as the agent does at container start).
extend() {
    "$EB" log --out "$1.log.cbor" $GOOD >digests.txt || fail "evidence_build log"
    _s=$(sock "$1")
    while read -r pcr dg; do
        vt "$_s" tpm2_pcrextend "$pcr:sha256=$dg" || fail pcrextend
    done <digests.txt
}
start_vf() {
    rm -f port
    "$VF" serve --listen 127.0.0.1:0 --port-file port --db "sqlite:$T/vf.db" --policy policy.json \
        --trust trust --insecure-no-tls "$@" >>vf.log 2>&1 &
    VF_PID=$!
    wait_verifier
    URL=http://127.0.0.1:$PORT
}
post() { # FILE PATH OUT -> HTTP code
    $C -H 'Content-Type: application/cbor' --data-binary @"$1" "$URL$2" -o "$3" -w '%{http_code}'
}
# register NAME: credential activation of NAME's AK; NAME.reg gets the registration id.
register() {
    _s=$(sock "$1")
    "$EB" register-req --out r.cbor --ek-cert "$1.ek.der" --ak-pub "$1.ak.pub" --chain chain \
        --vtpm "$(uuid "$1")"
    [ "$(post r.cbor /v1/register rr.cbor)" = 200 ] || fail "register $1"
    "$EB" cred --in rr.cbor --out c.blob >"$1.reg" || fail "registration answer $1"
    vt "$_s" tpm2_startauthsession --policy-session -S s.ctx
    vt "$_s" tpm2_policysecret -S s.ctx -c e >/dev/null
    vt "$_s" tpm2_activatecredential -c "$AK" -C "$1.ek.ctx" -i c.blob -o c.out -P session:s.ctx \
        >/dev/null || fail "activatecredential $1"
    vt "$_s" tpm2_flushcontext s.ctx; vt "$_s" tpm2_flushcontext -t
    "$EB" activate-req --out a.cbor --registration "$(cat "$1.reg")" --credential c.out
    [ "$(post a.cbor /v1/register/activate /dev/null)" = 200 ] || fail "activate $1"
}
nonce() { $C "$URL/v1/nonce" | json nonce; }
# evidence NAME NONCE CONTAINER OUT [build options]: NAME's vTPM quotes NONCE now.
evidence() {
    _n=$1 _nonce=$2 _ctr=$3 _out=$4; shift 4
    _s=$(sock "$_n")
    vt "$_s" tpm2_quote -c "$AK" -l sha256:8,9,10 -q "$_nonce" -m q.msg -s q.sig -g sha256 \
        >/dev/null || fail "quote $_n"
    vt "$_s" tpm2_pcrread sha256:8,9,10 -o pcrs.bin >/dev/null || fail "pcrread $_n"
    "$EB" build --out "$_out" --log "$_n.log.cbor" --nonce "$_nonce" --ak-pub "$_n.ak.pub" \
        --attest q.msg --sig q.sig --pcrs pcrs.bin --ek-cert "$_n.ek.der" --chain chain \
        --container "$_ctr" --vtpm "$(uuid "$_n")" "$@" || fail "evidence_build build"
}
send() { post "$1" /v1/evidence resp.json >/dev/null; }
answer() { python3 -c 'import json,sys; print(json.load(open("resp.json"))[sys.argv[1]])' "$1"; }
says() { grep -q "\"$1" resp.json; }
refused() { [ "$(answer verdict)" = refused ] && says "$1"; }
row() { $C "$URL/v1/containers/$1" >row.json; }
field() { python3 -c 'import json,sys; print(json.load(open("row.json"))[sys.argv[1]])' "$1"; }
# untouched ID: the row is the one the victim's allow wrote (verdict, vTPM, time).
untouched() { row "$1"; [ "$(field verdict)" = allow ] && [ "$(field vtpm_uuid)" = "$(uuid victim)" ] &&
    [ "$(field time)" = "$VICTIM_TIME" ]; }

start_vf
new_vtpm victim
new_vtpm attacker
# The host AK is proven once (vtpm-mgr host-activate), as in t_verifier.
"$EB" register-req --out hreg.cbor --ek-cert victim.ek.der --ak-pub victim.ak.pub --chain chain \
    --vtpm "$(uuid victim)"
[ "$(post hreg.cbor /v1/hosts/register hresp.cbor)" = 200 ] || fail "host register"
"$EB" cred --in hresp.cbor --out host-cred.blob >hreg.id || fail "host registration answer"
"$BIN/vtpmctl" host-activate --credential host-cred.blob --out host-cred.out || fail host-activate
"$EB" activate-req --out hact.cbor --registration "$(cat hreg.id)" --credential host-cred.out
[ "$(post hact.cbor /v1/register/activate /dev/null)" = 200 ] || fail "host activate"
register victim
register attacker
extend victim
extend attacker

# The victim container is allowed.
evidence victim "$(nonce)" victim ev-good.cbor --registration "$(cat victim.reg)"
send ev-good.cbor
[ "$(answer verdict)" = allow ] || fail "the victim's own evidence: $(cat resp.json)"
row victim
VICTIM_TIME=$(field time)
ok "victim container allowed (vTPM $(uuid victim))"
sleep 1 # a rewrite of the row would show in its time

# 1. Evidence that proves nothing, over the allowed container.
evidence victim "$(nonce)" victim ev-sig.cbor --registration "$(cat victim.reg)"
evidence attacker "$(nonce)" victim ev-other-sig.cbor --registration "$(cat attacker.reg)"
"$ED" get ev-other-sig.cbor quote_sig other.sig || fail "evidence_edit get"
"$ED" set ev-sig.cbor quote_sig other.sig ev-badsig.cbor || fail "evidence_edit set"
send ev-badsig.cbor
check "a quote signature that does not verify: refused (quote-signature-invalid)" \
    refused quote-signature-invalid
check "... and the victim's row is untouched" untouched victim
evidence attacker "$(nonce)" victim ev-unreg.cbor
send ev-unreg.cbor
check "an AK that was never registered: refused (ak-not-registered)" refused ak-not-registered
check "... and the victim's row is untouched" untouched victim

# 2. A replayed nonce and one the verifier never issued.
send ev-good.cbor
check "the victim's own evidence replayed: refused (nonce-reused)" refused nonce-reused
check "... and the victim's row is untouched" untouched victim
evidence victim "$(openssl rand -hex 32)" victim ev-unissued.cbor --registration "$(cat victim.reg)"
send ev-unissued.cbor
check "a nonce the verifier never issued: refused (nonce-unknown)" refused nonce-unknown
check "... and the victim's row is untouched" untouched victim

# 3. Another vTPM's good evidence under the victim's id: good under its own id, refused here.
evidence attacker "$(nonce)" attacker-own ev-own.cbor --registration "$(cat attacker.reg)"
send ev-own.cbor
[ "$(answer verdict)" = allow ] || fail "the attacker's evidence is good under its own id: $(cat resp.json)"
evidence attacker "$(nonce)" victim ev-takeover.cbor --registration "$(cat attacker.reg)"
send ev-takeover.cbor
check "another vTPM's good evidence under the victim's id: refused (container-vtpm-mismatch)" \
    refused container-vtpm-mismatch
check "... and the victim's row is untouched" untouched victim
audited() { python3 -c "import sqlite3,sys; sys.exit(0 if sqlite3.connect('$T/vf.db').execute(
    \"select count(*) from audit where kind='evidence' and subject='victim' and outcome='refused'\"
    ).fetchone()[0] >= 5 else 1)"; }
check "every refused evidence is in the audit trail as refused" audited

# The victim re-attests: its own vTPM still writes its row.
evidence victim "$(nonce)" victim ev-again.cbor --registration "$(cat victim.reg)"
send ev-again.cbor
check "the victim's vTPM re-attests: allow" [ "$(answer verdict)" = allow ]

# 4. A reset of the victim's vTPM (its volatile state lost: cold start, resetCount up), then
# its measurements extended again into the fresh PCRs: the quote looks like a fresh vTPM's.
resets() { vt "$(sock victim)" tpm2_readclock | sed -n 's/.*reset_count: *//p'; }
R0=$(resets)
stop_mgr
rm -f "$STATE/vtpm/$(uuid victim)/vol.enc"
start_mgr
[ "$(resets)" -gt "$R0" ] || fail "the vTPM was not reset (reset_count $R0 -> $(resets))"
extend victim
evidence victim "$(nonce)" victim ev-reset.cbor --registration "$(cat victim.reg)"
send ev-reset.cbor
check "a vTPM reset since the container started: deny (vtpm-reset-since-start)" \
    eval '[ "$(answer verdict)" = deny ] && says vtpm-reset-since-start'
row victim
check "... written to the container's row" eval '[ "$(field verdict)" = deny ]'

# 5. Lifecycle: a binding lapses one re-attestation period after its vTPM's last evidence (a
# deleted container stops attesting); then another vTPM may attest under the reused id.
stop_vf
start_vf --reattest-interval 1 --reattest-grace 1
# Both made first: the two posts then fall well within the 2 s period on a busy machine.
evidence attacker "$(nonce)" reused ev-first.cbor --registration "$(cat attacker.reg)"
evidence victim "$(nonce)" reused ev-early.cbor --registration "$(cat victim.reg)"
send ev-first.cbor
[ "$(answer verdict)" = allow ] || fail "first container of a reused id: $(cat resp.json)"
send ev-early.cbor
check "a reused id within the binding's period: refused (container-vtpm-mismatch)" \
    refused container-vtpm-mismatch
sleep 3
evidence victim "$(nonce)" reused ev-later.cbor --registration "$(cat victim.reg)"
send ev-later.cbor
row reused
check "after the period without its vTPM: the id is bound to the new vTPM" \
    eval '[ "$(answer verdict)" != refused ] && [ "$(field vtpm_uuid)" = "$(uuid victim)" ]'
stop_vf
stop_mgr
[ -z "$FAILED" ] || fail "verdict checks failed:$FAILED"
echo "t_verifier_verdicts: all passed"
