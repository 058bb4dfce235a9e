#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# A Kubernetes pod as containerd's CRI and the kubelet would start it, with containerd 1.6 and
# `ctr run --config` (no kubelet or crictl on Debian 12): a sandbox container (the CRI
# annotations, its /dev/shm from a CRI state dir under the test), then a pod container that
# joins the sandbox's network, IPC and UTS namespaces by path and binds what CRI and the
# kubelet bind (hostname, resolv.conf, /dev/shm from the sandbox's CRI dirs; etc-hosts, a
# termination log, a projected token, an emptyDir, a configMap and a secret from a kubelet
# pods dir under the test), with no pids limit of its own in a cgroup whose parent (the pod's)
# has one. Both run under the default policy (but for require_admitted_pod). The same pod container with another sandbox's
# hosts file, another pod's secret volume, annotations naming a sandbox whose namespaces it
# did not join, or no pids limit above it is refused, with the reason. The same once more
# through the agent service.
. "$(dirname "$0")/lib.sh"
need_runc containerd ctr containerd-shim-runc-v2
. "$(dirname "$0")/attest_lib.sh"
. "$(dirname "$0")/engine_lib.sh"

attest_setup cri-$$
containerd_setup k8s.io
CRI=$T/cri CRIST=$T/cri-state KUB=$T/kubelet
SB=$ID-sandbox OSB=$ID-other-sandbox
PUID=$(cat /proc/sys/kernel/random/uuid) OUID=$(cat /proc/sys/kernel/random/uuid)
POD=$KUB/pods/$PUID
# the pod's cgroup (pids hierarchy: v1's, else v2) with a pids limit, one without
CG=/sys/fs/cgroup/pids
[ -d "$CG" ] || CG=/sys/fs/cgroup
PODCG=vtpm-cri-$$-pod NOLIMCG=vtpm-cri-$$-nolimit
remove_cgroups() {
    for _d in /sys/fs/cgroup/*/$PODCG /sys/fs/cgroup/*/$NOLIMCG /sys/fs/cgroup/$PODCG \
        /sys/fs/cgroup/$NOLIMCG; do
        [ -d "$_d" ] || continue
        for _s in "$_d"/*/; do [ -d "$_s" ] && rmdir "$_s" 2>/dev/null; done
        rmdir "$_d" 2>/dev/null || true
    done
}
at_exit remove_cgroups
mkdir "$CG/$PODCG" "$CG/$NOLIMCG" || fail "pod cgroups"
echo 128 >"$CG/$PODCG/pids.max" || fail "pod pids.max"

# What CRI makes per sandbox and the kubelet per pod
for s in $SB $OSB; do
    mkdir -p "$CRI/sandboxes/$s" "$CRIST/sandboxes/$s/shm" || fail "sandbox dirs"
    for f in hostname hosts resolv.conf; do echo "$s" >"$CRI/sandboxes/$s/$f"; done
done
for u in $PUID $OUID; do
    d=$KUB/pods/$u
    mkdir -p "$d/containers/app" "$d/volumes/kubernetes.io~projected/kube-api-access-x" \
        "$d/volumes/kubernetes.io~empty-dir/cache" "$d/volumes/kubernetes.io~configmap/cfg" \
        "$d/volumes/kubernetes.io~secret/sec" || fail "pod dirs"
    echo "127.0.0.1 localhost" >"$d/etc-hosts"
    : >"$d/containers/app/0a1b2c3d"
    echo token >"$d/volumes/kubernetes.io~projected/kube-api-access-x/token"
    echo key >"$d/volumes/kubernetes.io~secret/sec/key"
done

bind() { # SOURCE DEST ro|rw: as CRI writes it
    echo "{'destination': '$2', 'type': 'bind', 'source': '$1',
        'options': ['rbind', 'rprivate', '$3']}"
}

# The pod container's image: base's tree with the mount points CRI and the kubelet bind on
# made ahead (so runc makes none in it), allowed by its digest as the agent measures it (with
# the pod container's mounts, whose destinations the digest skips).
mkdir podimg && cp -a base/rootfs podimg/rootfs || fail "podimg"
R=podimg/rootfs
mkdir -p $R/etc $R/dev $R/proc $R/sys $R/cache $R/cfg $R/sec \
    $R/var/run/secrets/kubernetes.io/serviceaccount || fail "mount points"
: >$R/etc/hostname; : >$R/etc/hosts; : >$R/etc/resolv.conf
POD_MOUNTS="[$(bind "$CRI/sandboxes/$SB/hostname" /etc/hostname rw),
    $(bind "$CRI/sandboxes/$SB/resolv.conf" /etc/resolv.conf rw),
    $(bind "$CRIST/sandboxes/$SB/shm" /dev/shm rw),
    $(bind "$POD/etc-hosts" /etc/hosts rw),
    $(bind "$POD/containers/app/0a1b2c3d" /dev/termination-log rw),
    $(bind "$POD/volumes/kubernetes.io~projected/kube-api-access-x" \
        /var/run/secrets/kubernetes.io/serviceaccount ro),
    $(bind "$POD/volumes/kubernetes.io~empty-dir/cache" /cache rw),
    $(bind "$POD/volumes/kubernetes.io~configmap/cfg" /cfg ro),
    $(bind "$POD/volumes/kubernetes.io~secret/sec" /sec ro)]"
mkdir podbundle && cp base/config.json podbundle/config.json || fail "podbundle"
edit podbundle/config.json "c['root'] = {'path': '$T/$R', 'readonly': True}
c['mounts'] = [m for m in c['mounts'] if m['destination'] != '/dev/shm'] + $POD_MOUNTS"
"$AGENT" measure --bundle podbundle >pm.json || fail "measure of the pod container"
"$VF" policy allow --policy policy.json --rootfs-digest "$(json rootfs_digest <pm.json)" ||
    fail "policy allow"
# No admission webhook runs here (no API server): the pods were not admitted, so the binding of
# admitted pods to their containers (t_verifier_podbind.sh) is off; every other rule is default.
jq '.launch.require_admitted_pod = false' policy.json >policy.tmp && mv policy.tmp policy.json ||
    fail "policy: require_admitted_pod"

start_verifier policy.json trust
HOOK="{'createRuntime': [{'path': '$AGENT', 'args': ['attest-agent', 'hook', '--verifier',
    '$URL', '--run-dir', '$RUN', '--timeout', '5', '--agent-socket', '', '--cri-root', '$CRI',
    '--cri-state', '$CRIST', '--kubelet-root', '$KUB']}]}"
ann() { # TYPE SANDBOX UID
    echo "{'io.kubernetes.cri.container-type': '$1', 'io.kubernetes.cri.sandbox-id': '$2',
        'io.kubernetes.cri.sandbox-uid': '$3', 'io.kubernetes.cri.container-name': 'app'}"
}

# The sandbox ("pause") container: base's spec, its own namespaces, its /dev/shm
cp base/config.json sandbox.json || fail "sandbox.json"
edit sandbox.json "c['hooks'] = $HOOK; c['root'] = {'path': '$T/base/rootfs', 'readonly': True}
c['process']['args'] = ['/bin/busybox', 'sleep', '60']; c['annotations'] = $(ann sandbox "$SB" "$PUID")
c['mounts'] = [m for m in c['mounts'] if m['destination'] != '/dev/shm']
c['mounts'].append($(bind "$CRIST/sandboxes/$SB/shm" /dev/shm ro))"
CTRDS="$SB"
ctr_ run -d --null-io --runc-root "$C/runc" --config sandbox.json "$SB" </dev/null \
    >sandbox.out 2>sandbox.err || { cat sandbox.err >&2; fail "the sandbox container was refused"; }
SPID=$(cat "$C/state/io.containerd.runtime.v2.task/k8s.io/$SB/init.pid") || fail "sandbox pid"
[ -d "/proc/$SPID" ] || fail "the sandbox container is not running"
ok "allowed: a CRI sandbox container with its own /dev/shm"

NSJOIN="[{'type': 'pid'}, {'type': 'mount'},
    {'type': 'network', 'path': '/proc/$SPID/ns/net'}, {'type': 'ipc', 'path': '/proc/$SPID/ns/ipc'},
    {'type': 'uts', 'path': '/proc/$SPID/ns/uts'}]"
# podspec NAME [PYTHON]: the pod container's spec NAME.json, PYTHON applied to it last
podspec() {
    cp base/config.json "$1.json" || fail "$1.json"
    edit "$1.json" "c['hooks'] = $HOOK; c['root'] = {'path': '$T/$R', 'readonly': True}
c['process']['args'] = ['/bin/busybox', 'sleep', '60']; c.pop('hostname', None)
c['annotations'] = $(ann container "$SB" "$PUID"); c['linux']['namespaces'] = $NSJOIN
c['linux']['resources'].pop('pids', None); c['linux']['cgroupsPath'] = '/$PODCG/$ID-$1'
c['mounts'] = [m for m in c['mounts'] if m['destination'] != '/dev/shm'] + $POD_MOUNTS
${2:-}"
}
podspec pod

ctr_run pod || { cat pod.err >&2; fail "the pod container was refused"; }
ctr_running pod || fail "the pod container is not running"
curl -sS --max-time 5 "$URL/v1/containers/$ID-pod" | grep -q '"allow"' ||
    fail "the verifier has no allow verdict for the pod container"
ok "allowed: a pod container with CRI's sandbox files, the kubelet's pod files and volumes, the pod's pids limit"

podspec othersandbox "c['mounts'] = [m for m in c['mounts'] if m['destination'] != '/etc/hosts']
c['mounts'].append($(bind "$CRI/sandboxes/$OSB/hosts" /etc/hosts rw))"
ctr_denied othersandbox "host-mount-not-allowed:$CRI/sandboxes/$OSB/hosts (rw)"
podspec otherpod "c['mounts'] = [m for m in c['mounts'] if m['destination'] != '/sec']
c['mounts'].append($(bind "$KUB/pods/$OUID/volumes/kubernetes.io~secret/sec" /sec ro))"
ctr_denied otherpod "host-mount-not-allowed:$KUB/pods/$OUID/volumes/kubernetes.io~secret/sec (rw)"
podspec notjoined "c['linux']['namespaces'] = [{'type': t} for t in
    ('pid', 'mount', 'network', 'ipc', 'uts')]"
ctr_denied notjoined "host-mount-not-allowed:$CRI/sandboxes/$SB/hostname (rw)" \
    "host-mount-not-allowed:$POD/volumes/kubernetes.io~secret/sec (rw)"
podspec nolimit "c['linux']['cgroupsPath'] = '/$NOLIMCG/$ID-nolimit'"
ctr_denied nolimit "pids-limit-missing"

# Through the agent service (attest-agent-hook forwarding to it; the service has the hook's
# CRI and kubelet directories, so it serves instead of falling back) the same pod container
# runs and another sandbox's hosts file is refused: the service measures the container's
# process (namespaces, cgroup) from its own sandboxed process.
SOCK=$T/agentd/agent.sock
start_agentd "$SOCK" ad.log --pool 1 --reattest-interval 0 --cri-root "$CRI" \
    --cri-state "$CRIST" --kubelet-root "$KUB"
HOOK="{'createRuntime': [{'path': '$BIN/attest-agent-hook', 'args': ['attest-agent-hook',
    '--verifier', '$URL', '--run-dir', '$RUN', '--timeout', '5', '--agent-socket', '$SOCK',
    '--cri-root', '$CRI', '--cri-state', '$CRIST', '--kubelet-root', '$KUB']}]}"
podspec svc
ctr_run svc || { cat svc.err ad.log >&2; fail "the pod container was refused through the service"; }
ctr_running svc || fail "the service's pod container is not running"
grep -q "container $ID-svc" ad.log || fail "the service did not check $ID-svc"
podspec svcother "c['mounts'] = [m for m in c['mounts'] if m['destination'] != '/etc/hosts']
c['mounts'].append($(bind "$CRI/sandboxes/$OSB/hosts" /etc/hosts rw))"
ctr_denied svcother "host-mount-not-allowed:$CRI/sandboxes/$OSB/hosts (rw)"
grep -q "container $ID-svcother" ad.log || fail "the service did not check $ID-svcother"
ok "through the agent service: the pod container runs, another sandbox's file is refused"
