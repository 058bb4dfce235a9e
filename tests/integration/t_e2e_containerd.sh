#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# End to end with containerd 1.6 (`ctr run`, runc through containerd-shim-runc-v2): containerd
# has no hooks.d, so the spec carries the agent's createRuntime hook (`ctr run --config`).
# A hardened spec (t_e2e_runc.sh's) runs and is attested; the same spec with a tampered
# rootfs is denied; ctr's own default spec (`ctr oci spec`: root, CAP_MKNOD among its
# capabilities, no seccomp, no memory or pids limit) with the hook added is denied with those reasons, and
# `ctr run` fails with them. containerd runs from this test with its own config, root, state
# and socket under the test dir (engine_lib.sh), and is stopped by PID after its tasks are
# removed.
. "$(dirname "$0")/lib.sh"
need_runc containerd ctr containerd-shim-runc-v2
. "$(dirname "$0")/attest_lib.sh"
. "$(dirname "$0")/engine_lib.sh"

attest_setup ctrd-$$
containerd_setup vtpm-e2e

start_verifier policy.json trust
HOOK="{'createRuntime': [{'path': '$AGENT', 'args': ['attest-agent', 'hook', '--verifier',
    '$URL', '--run-dir', '$RUN', '--timeout', '5', '--agent-socket', '']}]}"
# spec NAME FROM ROOTFS: FROM with the hook, the root at ROOTFS (absolute: containerd's bundle
# is its own directory), the process a 60 s sleep.
spec() {
    cp "$2" "$1.json" || fail "spec $1"
    edit "$1.json" "c['hooks'] = $HOOK; c['root'] = {'path': '$3', 'readonly': True}
c['process']['args'] = ['/bin/busybox', 'sleep', '60']; c['process']['terminal'] = False"
}
# run NAME: ctr run -d of spec NAME.json; its stderr in NAME.err.
run() {
    CTRDS="$CTRDS $ID-$1"
    ctr_ run -d --null-io --runc-root "$C/runc" --config "$1.json" "$ID-$1" </dev/null >"$1.out" 2>"$1.err"
}
running() { ctr_ task ls 2>/dev/null | grep -q "^$ID-$1 .*RUNNING"; }

spec ok base/config.json "$T/base/rootfs"
run ok || { cat ok.err >&2; fail "ctr run of the hardened spec failed"; }
running ok || fail "the allowed task is not running"
curl -sS --max-time 5 "$URL/v1/containers/$ID-ok" | grep -q '"allow"' ||
    fail "the verifier has no allow verdict for the container"
ok "allowed: ctr run --config with the hardened spec and the hook, running"

# denied NAME REASON...: ctr run fails printing each reason; no task runs.
denied() {
    _dn=$1; shift
    if run "$_dn"; then fail "$_dn: ctr run succeeded"; fi
    for r in "$@"; do
        grep -qF "$r" "$_dn.err" || { cat "$_dn.err" >&2; fail "$_dn: reason '$r' not printed"; }
    done
    ! running "$_dn" || fail "$_dn: the task runs"
    ok "denied: $_dn ($*)"
}
cp -a base/rootfs bad && echo tampered >bad/bin/extra
spec bad base/config.json "$T/bad"
denied bad "rootfs-digest-not-allowed"
# ctr's default spec: what `ctr run` uses without --config
ctr oci spec >ctr-default.json || fail "ctr oci spec"
spec default ctr-default.json "$T/base/rootfs"
denied default "capability-not-allowed:CAP_MKNOD" "seccomp-missing" "run-as-root" \
    "memory-limit-missing" "pids-limit-missing"
