#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Admission-to-runtime binding end to end with real runc (docs/verifier.md): a pod reviewed at
# the verifier's POST /v1/admission is allowed and recorded by uid; busybox containers whose
# config.json carries the CRI annotations containerd writes for that pod are started with the
# agent as their createRuntime hook. What admission let the pod's container be runs; the same
# container edited after admission (a capability the launch rules allow added, no_new_privs
# off, another image, a container name the pod does not have), and one naming a pod uid admission never allowed,
# are denied with launch-config-not-admitted, printed by runc, and never exist. Pod specs that
# break a launch rule (privileged, hostPath, an added capability, the host network) are denied
# at admission with the start-time reason names, and are not recorded.
. "$(dirname "$0")/lib.sh"
need_runc
. "$(dirname "$0")/attest_lib.sh"
. "$(dirname "$0")/hook_lib.sh"
command -v curl >/dev/null && command -v jq >/dev/null || fail "curl and jq needed (swtpm-ci/install-deps.sh)"

attest_setup e2epod-$$
start_verifier policy.json trust
IMG=registry.test/app/busybox:1.36

# review UID NAME SECCTX_JSON [SPEC_EXTRA_JSON]: an AdmissionReview creating pod NAME (uid UID,
# namespace prod, not yet scheduled) with one container "app" of image $IMG, its
# securityContext SECCTX_JSON, SPEC_EXTRA_JSON merged into the pod spec; the answer in UID.adm.
review() {
    _extra=${4:-}
    [ -n "$_extra" ] || _extra='{}'
    jq -n --arg uid "$1" --arg name "$2" --arg img "$IMG" --argjson sc "$3" \
        --argjson extra "$_extra" '{apiVersion: "admission.k8s.io/v1", kind: "AdmissionReview",
        request: {uid: ("review-" + $uid), kind: {group: "", version: "v1", kind: "Pod"},
        resource: {group: "", version: "v1", resource: "pods"}, operation: "CREATE",
        namespace: "prod", name: $name, object: {apiVersion: "v1", kind: "Pod",
        metadata: {name: $name, namespace: "prod", uid: $uid},
        spec: ({securityContext: {runAsUser: 1000, runAsNonRoot: true},
               containers: [{name: "app", image: $img, securityContext: $sc}]} * $extra)}}}' |
        curl -sS --max-time 10 -H 'Content-Type: application/json' --data-binary @- \
            "$URL/v1/admission" >"$1.adm" || fail "POST /v1/admission for pod $1"
}
# What the hardened base bundle is, as a container securityContext.
SC='{"allowPrivilegeEscalation": false, "readOnlyRootFilesystem": true,
     "capabilities": {"drop": ["ALL"]}, "seccompProfile": {"type": "RuntimeDefault"}}'
# recorded UID: the admitted_pods row of UID as "namespace name policy".
recorded() {
    python3 -c 'import sqlite3, sys
r = sqlite3.connect(sys.argv[1]).execute("select namespace, name, policy from admitted_pods "
    "where pod_uid = ?", (sys.argv[2],)).fetchone()
print(" ".join(r) if r else "")' "$T/vf.db" "$1"
}

POD=6f1c2a9e-0b7d-4c1e-9a55-2d3e4f5a6b7c
review "$POD" web "$SC"
[ "$(jq -r .response.allowed "$POD.adm")" = true ] || fail "compliant pod not admitted: $(cat "$POD.adm")"
[ "$(jq -r .response.uid "$POD.adm")" = "review-$POD" ] || fail "answer for another review"
[ "$(recorded "$POD")" = "prod web default" ] || fail "pod $POD not recorded: '$(recorded "$POD")'"
ok "compliant pod admitted at /v1/admission and recorded by uid"

# bundle NAME UID [PYTHON]: base with the agent hook, the annotations containerd's CRI writes
# for container "app" of pod UID (sandbox id made up: no sandbox runs here), then PYTHON.
bundle() {
    hooked_bundle "$1" "c['annotations'] = {'io.kubernetes.cri.container-type': 'container',
    'io.kubernetes.cri.sandbox-id': 'e2epod-sandbox-$$', 'io.kubernetes.cri.sandbox-uid': '$2',
    'io.kubernetes.cri.sandbox-namespace': 'prod', 'io.kubernetes.cri.sandbox-name': 'web',
    'io.kubernetes.cri.container-name': 'app', 'io.kubernetes.cri.image-name': '$IMG'}
${3:-}"
}

bundle admitted "$POD"
create admitted || { cat admitted.err >&2; fail "the admitted pod's container was not created"; }
timeout 10 runc start "$ID-admitted" || fail "runc start"
[ "$(status_of admitted)" = running ] || fail "the admitted pod's container is not running"
curl -sS --max-time 5 "$URL/v1/containers/$ID-admitted" | grep -q '"allow"' ||
    fail "no allow verdict recorded for the admitted pod's container"
timeout 10 runc delete -f "$ID-admitted" || fail "runc delete"
ok "allowed: the admitted pod's container (launch config as admitted) attested and running"

# Edits between admission and start. CAP_NET_BIND_SERVICE is in the default policy's
# allowed_capabilities: only the binding denies it.
bundle addcap "$POD" "p = c['process']['capabilities']
for k in ('bounding', 'effective', 'permitted'): p[k] = ['CAP_NET_BIND_SERVICE']"
denied addcap "launch-config-not-admitted:app: capability CAP_NET_BIND_SERVICE"
bundle nnpoff "$POD" "c['process']['noNewPrivileges'] = False"
denied nnpoff "launch-config-not-admitted:app: no_new_privileges off"
grep -qF "no-new-privileges-missing" nnpoff.err || fail "nnpoff: the launch rule's reason missing"
bundle otherimg "$POD" "c['annotations']['io.kubernetes.cri.image-name'] = 'registry.test/app/busybox:1.37'"
denied otherimg "launch-config-not-admitted:app: image registry.test/app/busybox:1.37, admitted $IMG"
bundle otherctr "$POD" "c['annotations']['io.kubernetes.cri.container-name'] = 'sidecar'"
denied otherctr "launch-config-not-admitted:sidecar: not a container of the admitted pod"
bundle unknown 0d9e8f7a-1111-4222-8333-944455556666
denied unknown "launch-config-not-admitted:unknown pod 0d9e8f7a-1111-4222-8333-944455556666"

# Pod specs breaking a launch rule: denied at admission with the start-time reasons, and not
# recorded (a container naming such a pod is an unknown pod at start).
# violation UID SECCTX SPEC_EXTRA REASON...: each REASON a cause (at most 32 are listed),
# the first one first in the message.
violation() {
    _u=$1 _sc=$2 _x=$3; shift 3
    review "$_u" "bad-$_u" "$_sc" "$_x"
    [ "$(jq -r .response.allowed "$_u.adm")" = false ] || fail "pod $_u admitted: $(cat "$_u.adm")"
    jq -r .response.status.message "$_u.adm" | grep -qF "pod spec violates the launch rules: $1" ||
        fail "pod $_u: $1 not in the message: $(cat "$_u.adm")"
    for _r in "$@"; do
        jq -e --arg r "$_r" '.response.status.details.causes | map(.reason) | index($r)' \
            "$_u.adm" >/dev/null || fail "pod $_u: cause $_r missing: $(cat "$_u.adm")"
    done
    [ -z "$(recorded "$_u")" ] || fail "denied pod $_u recorded"
    ok "admission denied pod $_u: $*"
}
violation priv '{"privileged": true, "allowPrivilegeEscalation": true,
    "readOnlyRootFilesystem": true, "seccompProfile": {"type": "RuntimeDefault"}}' '{}' \
    capability-not-allowed:ALL "device-rule-forbidden:a *:* rwm" sysfs-writable:/sys \
    cgroup-writable:/sys/fs/cgroup masked-path-missing:/proc/kcore
violation hostpath "$SC" '{"volumes": [{"name": "host", "hostPath": {"path": "/etc"}}],
    "containers": [{"name": "app", "image": "'"$IMG"'", "securityContext": '"$SC"',
    "volumeMounts": [{"name": "host", "mountPath": "/host"}]}]}' "host-mount-sensitive:/etc (rw)"
violation netadmin '{"allowPrivilegeEscalation": false, "readOnlyRootFilesystem": true,
    "capabilities": {"drop": ["ALL"], "add": ["NET_ADMIN"]},
    "seccompProfile": {"type": "RuntimeDefault"}}' '{}' capability-not-allowed:NET_ADMIN
violation hostnet "$SC" '{"hostNetwork": true}' host-namespace-forbidden:network
bundle deniedpod priv
denied deniedpod "launch-config-not-admitted:unknown pod priv"
echo "t_e2e_podbind: all passed"
