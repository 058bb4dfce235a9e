#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Node-verdict mode at `verifier serve` (docs/verifier.md, "Node verdicts"), with real vTPM
# evidence that names its node instead of carrying a host quote, and real host evidence from
# `attest-agent host-evidence` (a swtpm host TPM extended with a UEFI log's events): a node
# never attested (node-verdict-missing), an allow while the node's verdict is fresh (its due
# capped to the node's freshness), evidence with both host and node (malformed), a second
# registered host whose vTPM names the first host's node (node-verdict-other-host), host PCR 4
# extended after boot (the node's deny cascades to the allowed container as node-denied, a
# notification is queued, and a start after that is denied with node-verdict-deny), a node
# verdict older than the policy's node_verdict_max_age (node-verdict-stale), and a node revoked
# by the sweeper for a missed re-attestation (cascade, then node-verdict-deny). Offline verify
# answers node-verdict-unchecked. Every check runs; the failures are listed at the end.
. "$(dirname "$0")/lib.sh"
command -v curl >/dev/null || { echo "curl missing"; exit 77; }
command -v jq >/dev/null || { echo "jq missing"; exit 77; }
VF=$BIN/verifier
AGENT=$BIN/attest-agent
EB=$BUILD/tests/evidence_build
ROOTFS=sha256:1111111111111111111111111111111111111111111111111111111111111111
RUNTIME=sha256:2222222222222222222222222222222222222222222222222222222222222222
GOOD="--rootfs $ROOTFS --runtime $RUNTIME --cap CAP_NET_BIND_SERVICE"
AK=0x81010001
C="curl -sS --max-time 10"
NODE=node-a.example
VF_PID= MGR2_PID=
at_exit stop_vf

start_host_tpm
cd "$T"
# The host "boots": the events of a UEFI log extended into the host TPM, so that host
# evidence with this log replays (and stops replaying once PCR 4 is extended afterwards).
"$BUILD/tests/uefilog_build" --out boot.bin --preset basic >/dev/null || fail "uefilog_build"
"$VF" boot-policy show --log boot.bin >show.jsonl || fail "boot-policy show"
jq -r 'select(.index != null and .type != "EV_NO_ACTION") | "\(.pcr):sha256=\(.sha256)"' \
    show.jsonl >extends
while read -r e; do
    TPM2TOOLS_TCTI="$HOST_TCTI" timeout 30 tpm2_pcrextend "$e" || fail "tpm2_pcrextend $e"
done <extends
start_mgr

# A second host: its own TPM (EK CA trusted too) and vtpm-mgr.
mkdir -p "$T/host2"
sh "$ROOT/swtpm-ci/host-tpm-start.sh" "$T/host2" >"$T/host2.log" 2>&1 || fail "second host TPM"
at_exit 'sh "$ROOT/swtpm-ci/host-tpm-stop.sh" "$T/host2" >/dev/null 2>&1'
"$BIN/vtpm-mgr" --foreground --state-dir "$T/state2" --run-dir "$T/run2" \
    --host-tcti "$(cat "$T/host2/tcti")" --host-ek-ca "$T/host2/ek-ca.pem" --seal-pcrs sha256:16 \
    >>"$T/mgr2.log" 2>&1 &
MGR2_PID=$!
at_exit 'stop_pid "$MGR2_PID" 100'
while read -r e; do # the same boot
    TPM2TOOLS_TCTI="$(cat "$T/host2/tcti")" timeout 30 tpm2_pcrextend "$e" || fail "extend 2 $e"
done <extends
_m=0
until "$BIN/vtpmctl" --run-dir "$T/run2" list >/dev/null 2>&1; do
    _m=$((_m + 1)); [ $_m -lt 300 ] || { tail "$T/mgr2.log" >&2; fail "second vtpm-mgr"; }; sleep 0.1
done

"$BIN/vtpmctl" host-chain --out chain1 >/dev/null || fail host-chain
"$BIN/vtpmctl" --run-dir "$T/run2" host-chain --out chain2 >/dev/null || fail "host-chain 2"
mkdir trust
cp "$HOST/ek-ca.pem" trust/
cp "$T/host2/ek-ca.pem" trust/ek-ca-2.pem
# policy FILE MAX_AGE: the default policy, the good digests allowed, node_verdict_max_age.
policy() {
    "$VF" policy default >"$1" || fail "policy default"
    "$VF" policy allow --policy "$1" --rootfs-digest "$ROOTFS" --runtime-digest "$RUNTIME" ||
        fail "policy allow"
    jq ".node_verdict_max_age = $2" "$1" >"$1.tmp" && mv "$1.tmp" "$1"
}
policy policy60.json 60
policy policy1.json 1
policy policy360.json 360

start_vf() { # POLICY [serve options]
    rm -f port
    _p=$1; shift
    "$VF" serve --listen 127.0.0.1:0 --port-file port --db "sqlite:$T/vf.db" --policy "$_p" \
        --trust trust --insecure-no-tls "$@" >>vf.log 2>&1 &
    VF_PID=$!
    wait_verifier
    URL=http://127.0.0.1:$PORT
}
post() { # FILE PATH OUT -> HTTP code
    $C -H 'Content-Type: application/cbor' --data-binary @"$1" "$URL$2" -o "$3" -w '%{http_code}'
}
nonce() { $C "$URL/v1/nonce" | jq -r .nonce; }
# rundir NAME: the run dir of NAME's host's vtpm-mgr (NAME.host holds 1 or 2).
rundir() { if [ "$(cat "$1.host")" = 2 ]; then echo "$T/run2"; else echo "$RUN"; fi; }
sock() { VTPM_MGR_RUN_DIR=$(rundir "$1") sock_of "$(cat "$1.uuid")"; }
# new_vtpm NAME HOST: a vTPM on host 1 or 2 with an EK and a persistent AK, its PCRs 8-10
# extended with the good measurements.
new_vtpm() {
    echo "$2" >"$1.host"
    VTPM_MGR_RUN_DIR=$(rundir "$1") create_vtpm --name "$1" >"$1.uuid" || fail "create $1"
    VTPM_MGR_RUN_DIR=$(rundir "$1") "$BIN/vtpmctl" ek-cert "$(cat "$1.uuid")" |
        openssl x509 -outform DER -out "$1.ek.der" || fail "ek-cert $1"
    _s=$(sock "$1")
    vt "$_s" tpm2_createek -G ecc -c "$1.ek.ctx" >/dev/null || fail "createek $1"
    vt "$_s" tpm2_flushcontext -t
    vt "$_s" tpm2_createak -C "$1.ek.ctx" -c "$1.ak.ctx" -G ecc -g sha256 -s ecdsa \
        -u "$1.ak.pub" >/dev/null || fail "createak $1"
    vt "$_s" tpm2_flushcontext -t
    vt "$_s" tpm2_evictcontrol -C o -c "$1.ak.ctx" "$AK" >/dev/null || fail "evictcontrol $1"
    vt "$_s" tpm2_flushcontext -t
    "$EB" log --out "$1.log.cbor" $GOOD >digests.txt || fail "evidence_build log"
    while read -r pcr dg; do vt "$_s" tpm2_pcrextend "$pcr:sha256=$dg" || fail pcrextend; done \
        <digests.txt
}
# register NAME: the vTPM's AK by credential activation (NAME.reg); the first vTPM of each
# host also registers its host (host-activate in that host's TPM).
register() {
    _s=$(sock "$1") _h=$(cat "$1.host")
    "$EB" register-req --out r.cbor --ek-cert "$1.ek.der" --ak-pub "$1.ak.pub" \
        --chain "chain$_h" --vtpm "$(cat "$1.uuid")"
    if [ ! -f "host$_h.registered" ]; then
        [ "$(post r.cbor /v1/hosts/register hr.cbor)" = 200 ] || fail "host register $_h"
        "$EB" cred --in hr.cbor --out hc.blob >hreg.id || fail "host registration answer"
        "$BIN/vtpmctl" --run-dir "$(rundir "$1")" host-activate --credential hc.blob \
            --out hc.out || fail "host-activate $_h"
        "$EB" activate-req --out ha.cbor --registration "$(cat hreg.id)" --credential hc.out
        [ "$(post ha.cbor /v1/register/activate /dev/null)" = 200 ] || fail "host activate $_h"
        touch "host$_h.registered"
    fi
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
# evidence NAME CONTAINER NODE OUT: NAME's vTPM quotes a fresh nonce; node-mode evidence.
evidence() {
    _s=$(sock "$1") _n=$(nonce)
    vt "$_s" tpm2_quote -c "$AK" -l sha256:8,9,10 -q "$_n" -m q.msg -s q.sig -g sha256 \
        >/dev/null || fail "quote $1"
    vt "$_s" tpm2_pcrread sha256:8,9,10 -o pcrs.bin >/dev/null || fail "pcrread $1"
    "$EB" build --out "$4" --log "$1.log.cbor" --nonce "$_n" --ak-pub "$1.ak.pub" --attest q.msg \
        --sig q.sig --pcrs pcrs.bin --ek-cert "$1.ek.der" --chain "chain$(cat "$1.host")" \
        --container "$2" --vtpm "$(cat "$1.uuid")" --registration "$(cat "$1.reg")" --node "$3" ||
        fail "evidence_build build"
}
send() { post "$1" /v1/evidence resp.json >/dev/null; }
jqe() { jq -e "$@" >/dev/null; }
verdict() { jq -r .verdict resp.json; }
says() { jq -e --arg r "$1" '.reasons | map(startswith($r)) | any' resp.json >/dev/null; }
row() { $C "$URL/v1/containers/$1" >row.json; }
rowsays() { jq -e --arg v "$1" --arg r "$2" '.verdict == $v and (.reasons | map(startswith($r)) |
    any)' row.json >/dev/null; }
# host_evidence HOST NODE OUT: `attest-agent host-evidence` over a fresh nonce, posted; the
# answer in OUT.
host_evidence() {
    "$AGENT" host-evidence --nonce "$(nonce)" --out he.cbor --run-dir "$([ "$1" = 2 ] &&
        echo "$T/run2" || echo "$RUN")" --uefi-log "$T/boot.bin" --kmod-log '' \
        --node-name "$2" || fail "attest-agent host-evidence"
    [ "$(post he.cbor /v1/hosts/evidence "$3")" = 200 ] || { cat "$3" >&2; fail "host evidence"; }
}

start_vf policy60.json
new_vtpm a 1
new_vtpm b 2
register a
register b
ok "two hosts and a vTPM on each registered"

# 1. A node nobody attested: the container is denied (written).
evidence a ctr-missing node-x.example ev.cbor
send ev.cbor
check "node never attested: deny (node-verdict-missing)" \
    eval '[ "$(verdict)" = deny ] && says node-verdict-missing'
row ctr-missing
check "... written to the container's row" rowsays deny node-verdict-missing

# 2. The node attested by its host: the answer says until when it is fresh; a container
# start in node mode is allowed, its due capped to the node's freshness.
host_evidence 1 "$NODE" h1.json
check "host evidence: allow with time, due, fresh_until = min(time + 60, due - 1)" \
    jqe '.verdict == "allow" and .due > .time and
           .fresh_until == ([.time + 60, .due - 1] | min)' h1.json
FRESH=$(jq .fresh_until h1.json)
check "GET /v1/nodes answers the same fresh_until" \
    eval '[ "$($C "$URL/v1/nodes/$NODE" | jq .fresh_until)" = "$FRESH" ]'
evidence a ctr-ok "$NODE" ev-ok.cbor
send ev-ok.cbor
check "node-mode container on a fresh allowed node: allow" eval '[ "$(verdict)" = allow ]'
row ctr-ok
check "... its due capped to the node's freshness (<= $FRESH + 1)" \
    jqe --argjson f "$FRESH" '.verdict == "allow" and .node == "'$NODE'" and .due <= $f + 1' \
    row.json

# 3. Both a host part and a node: malformed (400), nothing written.
python3 - ev-ok.cbor both.cbor <<'EOF'
import sys
b = open(sys.argv[1], 'rb').read()
assert 0xa0 <= b[0] < 0xb7, "evidence_build writes a small definite map"
# one more entry: "host" -> {} (the node key stays)
open(sys.argv[2], 'wb').write(bytes([b[0] + 1]) + b[1:] + b'\x64host\xa0')
EOF
code=$(post both.cbor /v1/evidence resp.json)
check "evidence with both host and node: 400 evidence-malformed" \
    eval '[ "$code" = 400 ] && says evidence-malformed'

# 4. Another host's vTPM names this node: denied, the node's row untouched.
$C "$URL/v1/nodes/$NODE" >node-before.json
evidence b ctr-other "$NODE" ev-other.cbor
send ev-other.cbor
check "a vTPM of another (registered) host naming the node: deny (node-verdict-other-host)" \
    eval '[ "$(verdict)" = deny ] && says node-verdict-other-host'
$C "$URL/v1/nodes/$NODE" >node-after.json
check "... the node's row untouched" cmp -s node-before.json node-after.json

# 5. Host PCR 4 extended after boot: the next host evidence denies the node, and the node's
# deny cascades to the allowed container in the same transaction.
TPM2TOOLS_TCTI="$HOST_TCTI" timeout 30 tpm2_pcrextend \
    4:sha256=0000000000000000000000000000000000000000000000000000000000000bad || fail "extend"
host_evidence 1 "$NODE" h2.json
check "host evidence after PCR 4 extended: deny (host-eventlog-replay-mismatch:pcr 4), fresh_until 0" \
    jqe '.verdict == "deny" and .fresh_until == 0 and
           (.reasons | index("host-eventlog-replay-mismatch:pcr 4") != null)' h2.json
row ctr-ok
check "the allowed container follows its node: deny (node-denied:$NODE)" \
    rowsays deny "node-denied:$NODE"
notices() { python3 -c "import sqlite3,sys; print(sqlite3.connect('$T/vf.db').execute(
    \"select count(*) from notifications where body like ? \", ('%node-denied:$NODE%',)).fetchone()[0])"; }
check "... with its revocation notification queued" [ "$(notices)" = 1 ]
evidence a ctr-after "$NODE" ev-after.cbor
send ev-after.cbor
check "a container start after that: deny (node-verdict-deny)" \
    eval '[ "$(verdict)" = deny ] && says node-verdict-deny'

# 6. Offline: a node verdict cannot be checked.
rc=0
"$VF" verify --policy policy60.json --trust trust --allow-unregistered-ak ev-after.cbor \
    >offline.json || rc=$?
check "offline verify of node-mode evidence: deny (node-verdict-unchecked)" \
    eval '[ $rc = 1 ] && jq -e ".reasons | map(startswith(\"node-verdict-unchecked\")) | any" offline.json >/dev/null'

# 7. Stale: node_verdict_max_age 1 s; once its fresh_until has passed, the node no longer counts.
stop_vf
start_vf policy1.json
host_evidence 2 node-b.example hb.json
jq -e '.verdict == "allow" and .fresh_until == .time + 1' hb.json >/dev/null ||
    { cat hb.json >&2; fail "node-b host evidence"; }
until [ "$(date +%s)" -gt "$(jq .fresh_until hb.json)" ]; do sleep 0.2; done
evidence b ctr-stale node-b.example ev-stale.cbor
send ev-stale.cbor
check "a node verdict older than node_verdict_max_age: deny (node-verdict-stale)" \
    eval '[ "$(verdict)" = deny ] && says node-verdict-stale'

# 8. Revoked: the node misses its re-attestation; the sweeper revokes it and its allowed
# container with it; a start after that is denied.
stop_vf
start_vf policy360.json --reattest-interval 4 --reattest-grace 2
evidence b ctr-rev node-c.example ev-rev.cbor # made ahead: posted right after the node's allow
host_evidence 2 node-c.example hc.json
send ev-rev.cbor
[ "$(verdict)" = allow ] || fail "container on node-c before the revocation: $(cat resp.json)"
i=0
until $C "$URL/v1/nodes/node-c.example" | jq -e '.verdict == "deny"' >/dev/null; do
    i=$((i + 1)); [ $i -lt 100 ] || fail "node-c not revoked after 20 s"; sleep 0.2
done
$C "$URL/v1/nodes/node-c.example" | jq -e '.reasons == ["reattest-missed"]' >/dev/null ||
    fail "node-c's revocation reason"
row ctr-rev
check "the sweeper's revocation of the node reaches its container (node-denied:node-c.example)" \
    rowsays deny node-denied:node-c.example
check "... logged with the count" grep -q "node node-c.example revoked: 1 container" vf.log
evidence b ctr-rev2 node-c.example ev-rev2.cbor
send ev-rev2.cbor
check "a container start on the revoked node: deny (node-verdict-deny)" \
    eval '[ "$(verdict)" = deny ] && says node-verdict-deny'
stop_vf
[ -z "$FAILED" ] || fail "node verdict checks failed:$FAILED"
echo "t_verifier_nodes: all passed"
