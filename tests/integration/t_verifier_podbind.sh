#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Admission-to-runtime binding (docs/verifier.md): pods admitted through POST /v1/admission are
# recorded by uid; a container whose measured launch config names a pod (CRI's annotations,
# as tests/tools/bench_verify writes them) is allowed only when it is what admission let that
# pod's container be. An admitted pod's container starts; a capability added after admission,
# an image changed after admission and an unknown pod uid are denied with
# launch-config-not-admitted; a container without a pod is judged as before; with
# launch.require_admitted_pod false an unknown pod is not denied for it; each record is flushed
# to disk before its answer and outlives a SIGKILL of the verifier.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/fleet_lib.sh"
command -v jq >/dev/null || fail "jq missing (swtpm-ci/install-deps.sh)"

start() { # POLICY
    rm -f port
    "$VF" serve --listen 127.0.0.1:0 --port-file port --db "sqlite:$T/vf.db" --policy "$1" \
        --trust trust --insecure-no-tls --threads 2 >>vf.log 2>&1 &
    VF_PID=$!
    wait_verifier
    URL=http://127.0.0.1:$PORT
}

# admit UID IMAGE ADD-CAPS(JSON) [NAMESPACE]: an allowed review of pod UID, container "app"
admit() {
    jq -n --arg uid "$1" --arg img "$2" --argjson add "$3" --arg ns "${4:-default}" '{apiVersion: "admission.k8s.io/v1",
        kind: "AdmissionReview", request: {uid: ("r-" + $uid), kind: {group: "", version: "v1",
        kind: "Pod"}, resource: {group: "", version: "v1", resource: "pods"},
        operation: "CREATE", namespace: $ns, name: "bench", object: {apiVersion: "v1",
        kind: "Pod", metadata: {name: "bench", namespace: $ns, uid: $uid},
        spec: {securityContext: {runAsUser: 1000, runAsNonRoot: true},
        containers: [{name: "app", image: $img, securityContext: {allowPrivilegeEscalation: false,
        readOnlyRootFilesystem: true, capabilities: {drop: ["ALL"], add: $add},
        seccompProfile: {type: "RuntimeDefault"}}}]}}}}' |
        curl -sS --max-time 10 -H 'Content-Type: application/json' --data-binary @- \
            "$URL/v1/admission" >adm.json || fail "admission of $1"
    [ "$(jq -r .response.allowed adm.json)" = true ] || fail "pod $1 not admitted: $(cat adm.json)"
}

# attest LOG OUT: one container attested with the launch config of LOG (fleetsim)
attest() {
    timeout 60 "$FS" --url "$URL" --host-ca-cert hostca.pem --host-ca-key hostca.key \
        --log "$1" --nodes 1 --containers 1 --agents 1 --interval 0 --duration 1 \
        --save-evidence "$2.ev" >"$2" 2>&1
}
# reasons OUT: the evidence attest saved, posted again: its reasons (nonce-reused among them)
reasons() {
    curl -sS --max-time 10 -H 'Content-Type: application/cbor' --data-binary "@$1.ev" \
        "$URL/v1/evidence" | jq -r '.reasons[]' >"$1.reasons" || fail "evidence $1 posted again"
    cat "$1.reasons"
}
allowed_all() { # OUT
    _n=$(awk '{ for (i = 1; i < NF; i++) if ($i == "n") print $(i + 1) }' "$1" | tail -n 1)
    _a=$(awk '{ for (i = 1; i < NF; i++) if ($i == "allow") print $(i + 1) }' "$1" | tail -n 1)
    [ -n "$_n" ] && [ "$_n" -gt 0 ] && [ "$_n" = "$_a" ]
}

cd "$T" || exit 1
host_ca_trust
# image references are compared, not digests: the image allow-list off (null)
allowed_policy p0.json
jq '.digests.image = null' p0.json >policy.json
jq '.launch.require_admitted_pod = false' policy.json >lax.json
"$BV" log plain.cbor >/dev/null || fail "log"
"$BV" log ok.cbor pod-ok app >/dev/null || fail "log ok"
"$BV" log strict.cbor pod-strict app >/dev/null || fail "log strict"
"$BV" log img.cbor pod-img app >/dev/null || fail "log img"
"$BV" log nope.cbor pod-nope app >/dev/null || fail "log nope"

start policy.json
attest plain.cbor plain.txt && allowed_all plain.txt || { cat plain.txt >&2; fail "container without a pod"; }
ok "a container without a pod uid: judged as before (allowed)"

admit pod-ok bench:latest '["NET_BIND_SERVICE"]'
attest ok.cbor ok.txt && allowed_all ok.txt || { cat ok.txt >&2; fail "admitted pod's container"; }
ok "an admitted pod's container starts (evidence allowed)"

admit pod-strict bench:latest '[]'
attest strict.cbor strict.txt && fail "a capability added after admission passed"
reasons strict.txt | grep -qx "launch-config-not-admitted:app: capability CAP_NET_BIND_SERVICE" ||
    { cat strict.txt strict.txt.reasons >&2; fail "edited capability: reason missing"; }
admit pod-img bench:2.0 '["NET_BIND_SERVICE"]'
attest img.cbor img.txt && fail "an image changed after admission passed"
reasons img.txt | grep -qx "launch-config-not-admitted:app: image bench:latest, admitted bench:2.0" ||
    { cat img.txt img.txt.reasons >&2; fail "changed image: reason missing"; }
ok "edits between admission and start denied: capability added, image changed (launch-config-not-admitted)"

attest nope.cbor nope.txt && fail "an unknown pod uid passed"
reasons nope.txt | grep -qx "launch-config-not-admitted:unknown pod pod-nope" ||
    { cat nope.txt nope.txt.reasons >&2; fail "unknown pod: reason missing"; }
# The policy that admitted a pod judges its containers: a namespace policy seeded into the
# database (picked up within --policy-poll-ms), a pod admitted under it, its container's
# evidence answer naming it; a container without a pod still names the file.
"$BUILD/tests/verifier_seed" "sqlite:$T/vf.db" policies wl 1 '{"namespaces":["prodns"]}' \
    policy.json || fail "seed a namespace policy"
"$BV" log ns.cbor pod-ns app >/dev/null || fail "log ns"
_i=0
while admit pod-ns bench:latest '["NET_BIND_SERVICE"]' prodns &&
      [ "$(jq -r .response.auditAnnotations.policy adm.json)" != wl-0 ]; do
    _i=$((_i + 1)); [ $_i -lt 50 ] || fail "the seeded policy not in force: $(cat adm.json)"
    sleep 0.1
done
attest ns.cbor ns.txt && allowed_all ns.txt || { cat ns.txt >&2; fail "pod under wl-0"; }
curl -sS --max-time 10 -H 'Content-Type: application/cbor' --data-binary @ns.txt.ev \
    "$URL/v1/evidence" >ns.json && [ "$(jq -c .policy ns.json)" = '{"name":"wl-0","version":1}' ] ||
    fail "evidence of a pod admitted by wl-0: $(cat ns.json)"
curl -sS --max-time 10 -H 'Content-Type: application/cbor' --data-binary @plain.txt.ev \
    "$URL/v1/evidence" >plain.json && [ "$(jq -c .policy plain.json)" = '{"name":"default","version":0}' ] ||
    fail "evidence without a pod: $(cat plain.json)"
ok "a container is judged by the policy that admitted its pod (wl-0 version 1); without a pod, by the file"
stop_vf
start lax.json
attest nope.cbor nope2.txt && allowed_all nope2.txt ||
    { cat nope2.txt >&2; fail "unknown pod with require_admitted_pod false"; }
attest strict.cbor strict2.txt && fail "an edit passed with require_admitted_pod false"
reasons strict2.txt | grep -q "^launch-config-not-admitted:app: capability" ||
    { cat strict2.txt.reasons >&2; fail "edit with require_admitted_pod false: reason missing"; }
reasons nope2.txt | grep -q "launch-config-not-admitted" &&
    { cat nope2.txt.reasons >&2; fail "unknown pod denied with require_admitted_pod false"; }
ok "an unknown pod uid denied; with launch.require_admitted_pod false allowed, an admitted pod's edit still denied"
stop_vf

# Durability: an admitted pod's record is flushed to disk (fdatasync) before the review is
# answered (each review here alone, so one flush each), and it outlives a SIGKILL of the
# verifier right after the answer. strace attached to the running verifier counts its flushes.
command -v strace >/dev/null || fail "strace missing (swtpm-ci/install-deps.sh)"
traced() { # OUT COMMAND...: COMMAND run while strace counts the verifier's fdatasync/fsync
    strace -f -qq -e trace=fdatasync,fsync -o "$1" -p "$VF_PID" 2>strace.err &
    _st=$!
    _out=$1; shift
    _i=0 # attached once every thread of the verifier has a tracer
    while grep -qs '^TracerPid:[[:space:]]*0$' /proc/"$VF_PID"/task/*/status; do
        _i=$((_i + 1)); [ $_i -lt 100 ] || { cat strace.err >&2; fail "strace did not attach"; }
        kill -0 "$_st" 2>/dev/null || { cat strace.err >&2; fail "strace exited"; }
        sleep 0.1
    done
    "$@"
    kill -INT "$_st"; wait "$_st" 2>/dev/null || true # strace ends 130 on SIGINT
    FLUSHES=$(grep -c 'sync(' "$_out")
}
pods() { _i=0; while [ $_i -lt 10 ]; do admit "$1-$_i" bench:latest '["NET_BIND_SERVICE"]'; _i=$((_i + 1)); done; }
start policy.json
traced pods.st pods sync
[ "$FLUSHES" -ge 10 ] || fail "10 admitted pods, one at a time: $FLUSHES flushes"
ok "each of 10 admitted pods' records flushed before its answer ($FLUSHES flushes)"
"$BV" log dur.cbor sync-9 app >/dev/null || fail "log dur"
kill -KILL "$VF_PID"; wait "$VF_PID" 2>/dev/null || true; VF_PID=
start policy.json
attest dur.cbor dur.txt && allowed_all dur.txt ||
    { cat dur.txt >&2; fail "a pod admitted before a SIGKILL of the verifier"; }
ok "a record answered just before a SIGKILL of the verifier: its pod's container starts"
stop_vf
"$VF" serve --listen 127.0.0.1:0 --db "sqlite:$T/vf.db" --policy policy.json --trust trust \
    --insecure-no-tls --admission-cache-ms soon >bad.out 2>&1 &&
    fail "--admission-cache-ms soon accepted"
grep -q -- "--admission-cache-ms soon: not a valid value" bad.out ||
    fail "a bad --admission-cache-ms not named: $(head -n 2 bad.out)"
ok "a bad serve option value is named (--admission-cache-ms soon)"
ok "t_verifier_podbind"
