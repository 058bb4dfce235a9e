#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# End to end with rootful podman (runc as its runtime): the shipped OCI hooks.d file
# (attest-agent/hooks.d/vtpm-attest.json) runs attest-agent-hook at createRuntime for
# containers annotated org.vtpm-attest.attest=true, against vtpm-mgr and `verifier serve`.
# podman's own per-container files (/dev/shm, /etc/hosts, /etc/hostname, /run/.containerenv)
# pass as engine files. An image whose root filesystem digest the policy allows, started
# hardened, runs; the same image with a forbidden launch setting (CAP_SYS_ADMIN, a host
# directory, another source at /etc/hosts) and a tampered image do not start and `podman run`
# fails with the reason; an unannotated container is not attested. The same through the agent
# service (attest-agent-hook forwarding to `attest-agent serve`). podman runs with its own
# storage, run and tmp dirs under the test dir; every container is removed at exit.
. "$(dirname "$0")/lib.sh"
need_runc podman
. "$(dirname "$0")/attest_lib.sh"
. "$(dirname "$0")/engine_lib.sh"

attest_setup podman-$$
PM=$T/podman
mkdir -p "$PM/root" "$PM/run" "$PM/tmp" "$PM/conf"
# No user or system configuration changes what this podman does: only the files below.
: >"$PM/conf/containers.conf"
export CONTAINERS_CONF="$PM/conf/containers.conf"
podman_() {
    timeout 60 podman --root "$PM/root" --runroot "$PM/run" --tmpdir "$PM/tmp" \
        --storage-driver overlay --cgroup-manager cgroupfs --events-backend file \
        --runtime runc --hooks-dir "$HOOKS" "$@"
}
HOOKS=$T/hooks
remove_podman() {
    podman_ rm -af -t 0 >/dev/null 2>&1 || true
    podman_ rmi -af >/dev/null 2>&1 || true
    # anything podman left mounted under its dirs (overlay layers, shm), deepest first
    for m in $(findmnt -rn -o TARGET | grep "^$PM/" | sort -r); do umount -l "$m" || true; done
}
at_exit remove_podman

# Images: the allowed one and a tampered copy (one file added).
image_rootfs img/rootfs
cp base/config.json img/config.json
cp -a img bad && echo tampered >bad/rootfs/bin/extra
for i in img bad; do
    tar -C $i/rootfs -cf $i.tar . || fail "tar $i"
    podman_ import -q $i.tar localhost/vtpm-e2e-$i:1 >/dev/null || fail "podman import $i"
done
# The policy: the default plus img's tree digest (what the hook measures in podman's overlay
# root), runc, the agent.
"$AGENT" measure --bundle img >m.json || fail "measure img"
"$VF" policy allow --policy policy.json --rootfs-digest "$(json rootfs_digest <m.json)" ||
    fail "policy allow"
start_verifier policy.json trust
# The hook: the shipped file; the one-shot path (no agent service here), podman's storage
# roots of this test as the engine's.
hooks_dir "$T/hooks" "['--agent-socket', '$T/no-service.sock', '--engine-storage', '$PM/root',
    '--engine-storage', '$PM/run']"

# prun NAME IMAGE [podman run options]: a detached, hardened, annotated container; podman's
# stderr in NAME.err. The seccomp profile blocks the dangerous set (podman's default lets
# ptrace through), capabilities all dropped, limits set, uid 1000, no network, /proc/asound
# masked (podman's masked paths lack it).
python3 -c "import json; json.dump({'defaultAction': 'SCMP_ACT_ALLOW',
    'syscalls': [{'names': $DANGEROUS_SYSCALLS, 'action': 'SCMP_ACT_ERRNO'}]}, open('seccomp.json', 'w'))"
prun() {
    _n=$1 _i=$2; shift 2
    podman_ run -d --name "$ID-$_n" --annotation org.vtpm-attest.attest=true --network none \
        --user 1000:1000 --cap-drop all --security-opt no-new-privileges \
        --security-opt seccomp="$T/seccomp.json" --security-opt mask=/proc/asound --memory 64m --cpu-shares 512 \
        --pids-limit 64 --ulimit nofile=1024:1024 --ulimit nproc=1024:1024 "$@" \
        "localhost/vtpm-e2e-$_i:1" /bin/busybox sleep 60 >"$_n.out" 2>"$_n.err"
}
state_of() { podman_ inspect -f '{{.State.Status}}' "$ID-$1" 2>/dev/null || true; }
verdict_of() { curl -sS --max-time 5 "$URL/v1/containers/$1" 2>/dev/null || true; }

# Allowed: runs, and the verifier's verdict for podman's container id is allow.
prun ok img || { cat ok.err >&2; fail "podman run of the allowed image failed"; }
[ "$(state_of ok)" = running ] || fail "the allowed container is not running: $(state_of ok)"
CID=$(podman_ inspect -f '{{.Id}}' "$ID-ok")
verdict_of "$CID" | grep -q '"allow"' || fail "no allow verdict for $CID"
ok "allowed: podman run of the allowed image, attested through hooks.d, running"

# denied NAME IMAGE REASON [podman run options]: podman run exits non-zero printing the
# reason, and the container never ran.
denied() {
    _dn=$1 _di=$2 _dr=$3; shift 3
    if prun "$_dn" "$_di" "$@"; then fail "$_dn: podman run succeeded"; fi
    grep -qF "$_dr" "$_dn.err" || { cat "$_dn.err" >&2; fail "$_dn: reason '$_dr' not printed"; }
    case $(state_of "$_dn") in
        running|exited) fail "$_dn: the container ran ($(state_of "$_dn"))" ;;
    esac
    ok "denied: $_dn ($_dr)"
}
denied image bad "rootfs-digest-not-allowed"
denied sysadmin img "capability-not-allowed:CAP_SYS_ADMIN" --cap-add SYS_ADMIN
# (podman's ":ro" is rbind + ro: runc makes only the top mount read-only, so it counts as rw)
denied hostetc img "host-mount-sensitive:/etc (rw)" -v /etc:/hostetc:ro
# /etc/hosts from elsewhere than podman's own file for this container: a host bind as any
mkdir data && echo "127.0.0.1 x" >data/hosts
denied hosts img "host-mount-not-allowed:$T/data/hosts (rw)" -v "$T/data/hosts:/etc/hosts"

# Unannotated: the hook does not run (podman's hooks.d match), so even the tampered image
# starts and the verifier has never heard of it.
podman_ run -d --name "$ID-plain" --network none --ulimit nofile=1024:1024 \
    --ulimit nproc=1024:1024 localhost/vtpm-e2e-bad:1 /bin/busybox sleep 60 >plain.out 2>plain.err ||
    { cat plain.err >&2; fail "the unannotated container did not start"; }
[ "$(state_of plain)" = running ] || fail "the unannotated container is not running"
PID=$(podman_ inspect -f '{{.Id}}' "$ID-plain")
! verdict_of "$PID" | grep -q '"verdict"' || fail "the unannotated container was attested"
ok "unannotated: not attested, started as without the hook"

# Through the agent service: the same hooks.d file, attest-agent-hook forwarding to it; the
# service has the hook's podman storage roots (--engine-storage; a hook with others would
# fall back to the one-shot path) and measures the container itself.
SOCK=$T/agentd/agent.sock
start_agentd "$SOCK" ad.log --pool 1 --reattest-interval 0 --engine-storage "$PM/root" \
    --engine-storage "$PM/run"
hooks_dir "$T/hooks-svc" "['--agent-socket', '$SOCK', '--engine-storage', '$PM/root',
    '--engine-storage', '$PM/run']"
HOOKS=$T/hooks-svc
prun svc img || { cat svc.err ad.log >&2; fail "podman run through the service failed"; }
[ "$(state_of svc)" = running ] || fail "the service's allowed container is not running"
CID=$(podman_ inspect -f '{{.Id}}' "$ID-svc")
grep -q "container $CID" ad.log || fail "the service did not check $CID"
verdict_of "$CID" | grep -q '"allow"' || fail "no allow verdict for $CID"
ok "allowed through the agent service: podman's engine files judged as such, running"
denied svcbad bad "rootfs-digest-not-allowed"
grep -q "container $(podman_ inspect -f '{{.Id}}' "$ID-svcbad")" ad.log ||
    fail "the service did not check the denied container"
