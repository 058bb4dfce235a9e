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
podman_setup runc "$T/hooks"
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

# Namespaces joined by path: ok's network namespace (as a pod's containers join the pod's) is
# not the host's, so it passes; the host's own, by --network host or by a path to it, does not.
PNET=container:$ID-ok
prun joined img || { cat joined.err >&2; fail "joining the allowed container's network failed"; }
[ "$(state_of joined)" = running ] || fail "the joining container is not running"
ok "allowed: a container joining another container's network namespace"
PNET=host
denied hostnet img "host-namespace-forbidden:network"
PNET=ns:/proc/$$/ns/net
denied hostnetpath img "host-namespace-forbidden:network"
PNET=

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
PNET=container:$ID-svc
prun svcjoined img || { cat svcjoined.err >&2; fail "joining through the service failed"; }
[ "$(state_of svcjoined)" = running ] || fail "the service's joining container is not running"
PNET=host
denied svchostnet img "host-namespace-forbidden:network"
PNET=
ok "through the agent service: a joined network namespace runs, the host's is refused"
grep -q "container $(podman_ inspect -f '{{.Id}}' "$ID-svcbad")" ad.log ||
    fail "the service did not check the denied container"
