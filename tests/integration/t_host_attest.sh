#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Host measured boot end to end: the swtpm host TPM is extended with the events of a UEFI log
# (written by uefilog_build), a boot reference policy is derived from that log, and the
# verifier service judges the host and its containers with it. A container starts on the good
# host; the node's verdict answers GET /v1/nodes and admission reviews; the agent service
# re-attests the node; a missed re-attestation revokes it; a PCR extended after boot (the log
# no longer replays) denies the node, its admission reviews and new containers. A second host,
# trusted but not registered, claiming the node's name changes nothing.
. "$(dirname "$0")/lib.sh"
need_runc jq
. "$(dirname "$0")/attest_lib.sh"

NODE=node-a.example
start_host_tpm
cd "$T"
ID=hostatt-$$

# The host "boots": every non-EV_NO_ACTION event of the log is extended into the host TPM.
"$BUILD/tests/uefilog_build" --out boot.bin --preset basic --print-pcrs >boot.pcrs ||
    fail "uefilog_build"
"$VF" boot-policy show --log boot.bin >show.jsonl || fail "boot-policy show"
jq -r 'select(.index != null and .type != "EV_NO_ACTION") | "\(.pcr):sha256=\(.sha256)"' \
    show.jsonl >extends
while read -r e; do
    TPM2TOOLS_TCTI="$HOST_TCTI" timeout 30 tpm2_pcrextend "$e" || fail "tpm2_pcrextend $e"
done <extends
start_mgr
"$VF" boot-policy derive --log boot.bin --pcrs 0-7 --no-kmod >boot.json || fail "derive"
ok "host TPM extended with $(wc -l <extends) boot events; reference policy derived"

# The intruder: another host TPM whose EK CA the verifier trusts too, and its own vtpm-mgr.
mkdir -p "$T/host2"
sh "$ROOT/swtpm-ci/host-tpm-start.sh" "$T/host2" >"$T/host2.log" 2>&1 || fail "second host TPM"
at_exit 'sh "$ROOT/swtpm-ci/host-tpm-stop.sh" "$T/host2" >/dev/null 2>&1'
"$BIN/vtpm-mgr" --foreground --state-dir "$T/state2" --run-dir "$T/run2" \
    --host-tcti "$(cat "$T/host2/tcti")" --host-ek-ca "$T/host2/ek-ca.pem" --seal-pcrs sha256:16 \
    >>"$T/mgr2.log" 2>&1 &
MGR2_PID=$!
at_exit 'stop_pid "$MGR2_PID" 100'
_m=0
until "$BIN/vtpmctl" --run-dir "$T/run2" list >/dev/null 2>&1; do
    _m=$((_m + 1)); [ $_m -lt 300 ] || { tail "$T/mgr2.log" >&2; fail "second vtpm-mgr"; }; sleep 0.1
done

base_bundle base
mkdir trust && cp "$HOST/ek-ca.pem" trust/ && cp "$T/host2/ek-ca.pem" trust/ek-ca-2.pem
allow_bundle base policy.json
start_verifier policy.json trust --boot-policy boot.json --reattest-interval 2 --reattest-grace 1
HOSTOPTS="--uefi-log $T/boot.bin --kmod-log '' --node-name $NODE"

bundle() { cp -a base "$1"; }
hook_into() { # NAME: the full hook, with the host evidence options
    edit "$1/config.json" "c['hooks'] = {'createRuntime': [{'path': '$AGENT', 'args': ['attest-agent',
        'hook', '--verifier', '$URL', '--run-dir', '$RUN', '--timeout', '10', '--agent-socket', '',
        '--uefi-log', '$T/boot.bin', '--kmod-log', '', '--node-name', '$NODE']}]}"
}
create() {
    CTRS="$CTRS $ID-$1"
    timeout 30 runc create --bundle "$1" "$ID-$1" </dev/null >"$1.out" 2>"$1.err"
}
node() { curl -sS --max-time 5 "$URL/v1/nodes/$NODE"; }
node_verdict() { node | jq -r .verdict; }
review() { # NODE: an AdmissionReview of a pod placed on NODE
    jq -n --arg n "$1" '{apiVersion: "admission.k8s.io/v1", kind: "AdmissionReview",
        request: {uid: "u-1", kind: {group: "", version: "v1", kind: "Pod"},
        resource: {group: "", version: "v1", resource: "pods"}, operation: "CREATE",
        namespace: "default", name: "p", object: {apiVersion: "v1", kind: "Pod",
        metadata: {name: "p"}, spec: {nodeName: $n, containers: [{name: "c", image: "busybox",
        securityContext: {runAsNonRoot: true, allowPrivilegeEscalation: false,
        capabilities: {drop: ["ALL"]}, seccompProfile: {type: "RuntimeDefault"}}}]}}}}' |
    curl -sS --max-time 5 -H 'Content-Type: application/json' --data-binary @- "$URL/v1/admission"
}
wait_node() { # VERDICT SECONDS
    _wn=0
    while [ "$(node_verdict)" != "$1" ]; do
        _wn=$((_wn + 1)); [ $_wn -le $(($2 * 5)) ] || { node >&2; fail "node not $1 after $2 s"; }
        sleep 0.2
    done
}

# --- a good host: the container starts, the node is allowed ---
bundle ok && hook_into ok
create ok || { cat ok.err >&2; fail "container on the good host was not created"; }
curl -sS --max-time 5 "$URL/v1/containers/$ID-ok" >ok.json
jq -e --arg n "$NODE" '.verdict == "allow" and .node == $n' ok.json >/dev/null ||
    { cat ok.json >&2; fail "container verdict"; }
node >n.json
jq -e '.verdict == "allow" and (.host | startswith("host:")) and .due > .time' n.json >/dev/null ||
    { cat n.json >&2; fail "node verdict"; }
review "$NODE" | jq -e '.response.allowed == true and .response.uid == "u-1"' >/dev/null ||
    fail "admission on the good node"
ok "good host: container created, node $NODE allowed, admission allowed"

# --- no re-attestation: the node's verdict is revoked once it falls due ---
wait_node deny 8
node | jq -e '.reasons | index("reattest-missed") != null' >/dev/null || fail "revocation reason"
review "$NODE" >adm.json
jq -e '.response.allowed == false' adm.json >/dev/null || fail "admission on a stale node"
ok "missed re-attestation revokes the node: $(jq -r .response.status.message adm.json)"

# --- the agent service re-attests the host on its interval ---
eval "start_agentd '$T/ad/agent.sock' ad.log --reattest-interval 1 $HOSTOPTS"
wait_node allow 10
t1=$(node | jq .time); sleep 2.5; t2=$(node | jq .time)
[ "$t2" -gt "$t1" ] || fail "node not re-attested (time $t1 -> $t2)"
ok "agent service re-attests the node (time $t1 -> $t2)"

# --- a container started through the service in node mode: no host quote of its own ---
svc_into() { # NAME: the forwarding hook to the agent service (node mode, the default)
    edit "$1/config.json" "c['hooks'] = {'createRuntime': [{'path': '$BIN/attest-agent-hook',
        'args': ['attest-agent-hook', '--verifier', '$URL', '--run-dir', '$RUN', '--timeout', '10',
        '--agent-socket', '$T/ad/agent.sock', '--uefi-log', '$T/boot.bin', '--kmod-log', '',
        '--node-name', '$NODE']}]}"
}
bundle svc && svc_into svc
create svc || { cat svc.err >&2; fail "container through the service on the good host"; }
timeout 10 runc start "$ID-svc" || fail "runc start svc"
curl -sS --max-time 5 "$URL/v1/containers/$ID-svc" >svc.json
jq -e --arg n "$NODE" '.verdict == "allow" and .node == $n' svc.json >/dev/null ||
    { cat svc.json >&2; fail "service container verdict"; }
ok "container through the agent service (node mode) allowed on $NODE"

# --- another host claims the node: denied, and the node's row is not touched ---
node >before.json
NONCE=$(curl -sS --max-time 5 "$URL/v1/nonce" | jq -r .nonce)
"$AGENT" host-evidence --nonce "$NONCE" --out intruder.cbor --run-dir "$T/run2" \
    --uefi-log "$T/boot.bin" --kmod-log '' --node-name "$NODE" || fail "intruder host-evidence"
curl -sS --max-time 5 -H 'Content-Type: application/cbor' --data-binary @intruder.cbor \
    "$URL/v1/hosts/evidence" >intruder.json
jq -e '.verdict == "deny" and (.reasons | index("host-ak-not-registered") != null) and
       (.reasons | map(startswith("host-node-mismatch")) | any)' intruder.json >/dev/null ||
    { cat intruder.json >&2; fail "intruder verdict"; }
node >after.json
jq -e --slurpfile b before.json '.host == $b[0].host and .verdict == "allow"' after.json \
    >/dev/null || { cat before.json after.json >&2; fail "the intruder changed the node's row"; }
ok "another host claiming $NODE: denied (not registered, node bound elsewhere), row unchanged"

# --- a PCR extended after boot: the log no longer replays, the host is denied ---
TPM2TOOLS_TCTI="$HOST_TCTI" timeout 30 tpm2_pcrextend \
    4:sha256=0000000000000000000000000000000000000000000000000000000000000bad || fail "extend"
wait_node deny 10
node | jq -e '.reasons | index("host-eventlog-replay-mismatch:pcr 4") != null' >/dev/null ||
    { node >&2; fail "replay mismatch reason"; }
review "$NODE" >adm.json
jq -e '.response.allowed == false and (.response.status.message | contains("'$NODE'"))' \
    adm.json >/dev/null || { cat adm.json >&2; fail "admission on the tampered node"; }
# The running container falls with its node: the cascade (node-denied) or, if the service's
# container round came first, its own node check (node-verdict-deny).
curl -sS --max-time 5 "$URL/v1/containers/$ID-svc" >svc.json
jq -e --arg n "$NODE" '.verdict == "deny" and (.reasons | map(. == "node-denied:" + $n or
    startswith("node-verdict-deny")) | any)' svc.json >/dev/null ||
    { cat svc.json >&2; fail "the node's deny did not reach its running container"; }
bundle svc2 && svc_into svc2
if create svc2; then fail "a container started through the service on the tampered host"; fi
grep -q "node-verdict-deny\|host-eventlog-replay-mismatch" svc2.err ||
    { cat svc2.err >&2; fail "service start on the tampered host: reason not printed"; }
ok "tampered host: the running container denied with its node, a new start through the service denied"
stop_ad
bundle bad && hook_into bad
if create bad; then fail "a container started on the tampered host"; fi
grep -q "host-eventlog-replay-mismatch" bad.err || { cat bad.err >&2; fail "reason not printed"; }
ok "tampered host: node denied, admission denied, container start denied"

# --- offline: the same checks without the service ---
NONCE=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
eval "\"$AGENT\" host-evidence --nonce $NONCE --out host.cbor --run-dir '$RUN' $HOSTOPTS" ||
    fail "attest-agent host-evidence"
rc=0; "$VF" verify --host --policy policy.json --boot-policy boot.json --trust trust \
    --allow-unregistered-ak host.cbor >v.json || rc=$?
[ $rc -eq 1 ] && jq -e '.reasons | index("host-eventlog-replay-mismatch:pcr 4") != null' v.json \
    >/dev/null || { cat v.json >&2; fail "offline host verdict (rc $rc)"; }
"$VF" boot-policy derive --log boot.bin --pcrs 0-3 --no-kmod >boot03.json || fail "derive 0-3"
"$VF" verify --host --policy policy.json --boot-policy boot03.json --trust trust \
    --allow-unregistered-ak host.cbor >v.json || { cat v.json >&2; fail "PCRs 0-3 still good"; }
rc=0; "$VF" verify --host --policy policy.json --boot-policy boot03.json \
    --allow-unregistered-ak host.cbor >v.json || rc=$?
[ $rc -eq 1 ] && jq -e '.reasons | index("host-ek-untrusted") != null' v.json >/dev/null ||
    { cat v.json >&2; fail "host EK without trust anchors"; }
ok "offline: PCR 4 mismatch denied, PCRs 0-3 alone allowed, untrusted host EK denied"

# --- added boot events: the second host TPM boots the same log plus an EFI driver in PCR 2
# and the boot loader once more in PCR 4. Its quote matches its log; the derived (closed)
# policy denies both added events. ---
"$BUILD/tests/uefilog_build" --out added.bin --preset basic \
    --measure evil.efi 2:EV_EFI_BOOT_SERVICES_DRIVER:hex:00 \
    --measure grubx64.efi 4:EV_EFI_BOOT_SERVICES_APPLICATION:hex:0000000000000000000000000000000000000000000000000000000000000000 \
    >/dev/null || fail "uefilog_build (added events)"
"$VF" boot-policy show --log added.bin >added.jsonl || fail "boot-policy show (added)"
jq -r 'select(.index != null and .type != "EV_NO_ACTION") | "\(.pcr):sha256=\(.sha256)"' \
    added.jsonl >added.extends
while read -r e; do
    TPM2TOOLS_TCTI="$(cat "$T/host2/tcti")" timeout 30 tpm2_pcrextend "$e" || fail "extend $e"
done <added.extends
DRV=$(jq -r 'select(.type == "EV_EFI_BOOT_SERVICES_DRIVER") | .index' added.jsonl)
APP=$(jq -r 'select(.type == "EV_EFI_BOOT_SERVICES_APPLICATION") | .index' added.jsonl | tail -n 1)
NONCE=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
"$AGENT" host-evidence --nonce "$NONCE" --out added.cbor --run-dir "$T/run2" \
    --uefi-log "$T/added.bin" --kmod-log '' --node-name "$NODE" || fail "host-evidence (added)"
rc=0; "$VF" verify --host --policy policy.json --boot-policy boot.json --trust trust \
    --allow-unregistered-ak added.cbor >v.json || rc=$?
[ $rc -eq 1 ] && jq -e --arg d "host-boot-event-unexpected:pcr 2 EV_EFI_BOOT_SERVICES_DRIVER record $DRV" \
    --arg a "host-boot-event-unexpected:pcr 4 EV_EFI_BOOT_SERVICES_APPLICATION record $APP" \
    '(.reasons | index($d) != null and index($a) != null) and
     (.reasons | map(startswith("host-eventlog-replay-mismatch")) | any | not)' v.json >/dev/null ||
    { cat v.json >&2; fail "added boot events (rc $rc)"; }
ok "host TPM booted an added EFI driver and a second loader copy: denied (records $DRV, $APP)"
