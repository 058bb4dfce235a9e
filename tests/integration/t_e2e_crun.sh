#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# End to end with crun as the OCI runtime (as t_e2e_runc.sh with runc): attest-agent as the
# createRuntime hook, vtpm-mgr, `verifier serve` with a policy allowing crun's binary (the
# runtime measured is the hook's parent, crun). The allowed container is created, started,
# running; a tampered rootfs, CAP_SYS_ADMIN and a policy that allows only runc's binary are
# denied with their reasons and no container exists. Then rootful podman with crun as its
# runtime and the shipped hooks.d file: an allowed image runs, a tampered one does not (crun
# under podman shows a hook's output only with the run.oci.hooks.stderr annotation). crun 1.8 refuses this machine's hybrid
# cgroup layout, so the whole test (vtpm-mgr, the verifier, crun and its hooks) runs in a
# private mount namespace with the cgroup2 mount at /sys/fs/cgroup/unified taken away (the
# host's mounts are untouched): the hook must share vtpm-mgr's mount namespace, whose control
# socket admits no peer from another one.
if [ -z "${VTPM_CRUN_NS:-}" ] && [ "$(id -u)" -eq 0 ] && command -v unshare >/dev/null; then
    VTPM_CRUN_NS=1 exec unshare -m --propagation private sh "$0" "$@"
fi
. "$(dirname "$0")/lib.sh"
need_runc crun unshare podman
[ -n "${VTPM_CRUN_NS:-}" ] || fail "not in a private mount namespace"
if mountpoint -q /sys/fs/cgroup/unified; then
    umount /sys/fs/cgroup/unified || fail "umount /sys/fs/cgroup/unified"
fi
. "$(dirname "$0")/attest_lib.sh"
. "$(dirname "$0")/engine_lib.sh"
CRUN=$(command -v crun)

start_host_tpm
start_mgr
cd "$T" || fail "cd $T"
ID=crun-$$
base_bundle base
mkdir trust && cp "$HOST/ek-ca.pem" trust/ || fail "trust/"
allow_bundle base policy.json --runtime "$CRUN"
# podman's images (engine_lib.sh), img's tree digest allowed too
podman_setup "$CRUN" "$T/hooks"
"$VF" policy allow --policy policy.json --rootfs-digest "$("$AGENT" measure --bundle img |
                                                          json rootfs_digest)" ||
    fail "policy allow img"
# The same with runc's binary instead of crun's: crun's start must be denied under it.
"$VF" policy default >runc-policy.json &&
    "$VF" policy allow --policy runc-policy.json --rootfs-digest "$(json rootfs_digest <m.json)" \
        --runtime-digest "$("$AGENT" measure --bundle base --runtime "$(command -v runc)" |
                           json runtime_digest)" --agent-digest "$(json agent_digest <m.json)" ||
    fail "runc-only policy"

# crun_ ARGS: crun with its state under the test dir.
mkdir -p "$T/crun"
crun_() { timeout 30 "$CRUN" --root "$T/crun" "$@"; }
remove_crun() {
    for c in $CRCTRS; do crun_ delete -f "$c" >/dev/null 2>&1 || true; done
}
CRCTRS=""
at_exit remove_crun

# hook_bundle NAME URL: a copy of base with the agent hook against URL; its stderr goes where
# crun shows it (crun keeps a hook's output only with the run.oci.hooks.stderr annotation).
hook_bundle() {
    cp -a base "$1" || fail "bundle $1"
    edit "$1/config.json" "c['hooks'] = {'createRuntime': [{'path': '$AGENT', 'args': ['attest-agent',
    'hook', '--verifier', '$2', '--run-dir', '$RUN', '--timeout', '5', '--agent-socket', '']}]}
c['annotations'] = {'run.oci.hooks.stderr': '$T/$1.hook'}"
}
create() {
    CRCTRS="$CRCTRS $ID-$1"
    crun_ create --bundle "$T/$1" "$ID-$1" </dev/null >"$1.out" 2>"$1.err"
}
status_of() { crun_ state "$ID-$1" 2>/dev/null | json status 2>/dev/null || true; }

start_verifier policy.json trust
hook_bundle ok "$URL"
create ok || { cat ok.err ok.hook >&2; fail "the allowed container was not created"; }
crun_ start "$ID-ok" || fail "crun start"
[ "$(status_of ok)" = running ] || fail "the allowed container is not running: $(status_of ok)"
curl -sS --max-time 5 "$URL/v1/containers/$ID-ok" | grep -q '"allow"' ||
    fail "the verifier has no allow verdict for the container"
crun_ delete -f "$ID-ok" || fail "crun delete"
ok "allowed: crun created, started, running (runtime measured: crun)"

# denied NAME REASON: crun create fails, the hook printed the reason, no container exists.
denied() {
    if create "$1"; then fail "$1: container created"; fi
    grep -qF "$2" "$1.hook" || { cat "$1.err" "$1.hook" >&2; fail "$1: reason '$2' not printed"; }
    [ -z "$(status_of "$1")" ] || fail "$1: container exists after a deny"
    ok "denied: $1 ($2)"
}
hook_bundle rootfs "$URL"
echo tampered >rootfs/rootfs/bin/extra
denied rootfs "rootfs-digest-not-allowed"
hook_bundle sysadmin "$URL"
edit sysadmin/config.json "
for k in ('bounding', 'effective', 'permitted'): c['process']['capabilities'][k].append('CAP_SYS_ADMIN')"
denied sysadmin "capability-not-allowed:CAP_SYS_ADMIN"

# podman --runtime crun, the hook from the shipped hooks.d file (one-shot path), its output
# kept by crun in NAME.hook.
hooks_dir "$T/hooks" "['--agent-socket', '', '--engine-storage', '$PM/root',
    '--engine-storage', '$PM/run']"
prun pok img --annotation run.oci.hooks.stderr="$T/pok.hook" ||
    { cat pok.err pok.hook >&2; fail "podman run --runtime crun of the allowed image failed"; }
[ "$(state_of pok)" = running ] || fail "podman's crun container is not running: $(state_of pok)"
curl -sS --max-time 5 "$URL/v1/containers/$(podman_ inspect -f '{{.Id}}' "$ID-pok")" |
    grep -q '"allow"' || fail "no allow verdict for podman's crun container"
ok "allowed: podman --runtime crun, hook from hooks.d, running"
if prun pbad bad --annotation run.oci.hooks.stderr="$T/pbad.hook"; then
    fail "podman run --runtime crun of the tampered image succeeded"
fi
grep -qF rootfs-digest-not-allowed pbad.hook || { cat pbad.err pbad.hook >&2; fail "pbad: no reason"; }
case $(state_of pbad) in running|exited) fail "pbad: the container ran" ;; esac
ok "denied: podman --runtime crun, tampered image (rootfs-digest-not-allowed)"

stop_vf
start_verifier runc-policy.json trust
hook_bundle runconly "$URL"
denied runconly "runtime-digest-not-allowed"
