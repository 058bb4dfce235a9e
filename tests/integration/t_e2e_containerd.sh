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

spec ok base/config.json "$T/base/rootfs"
ctr_run ok || { cat ok.err >&2; fail "ctr run of the hardened spec failed"; }
ctr_running ok || fail "the allowed task is not running"
curl -sS --max-time 5 "$URL/v1/containers/$ID-ok" | grep -q '"allow"' ||
    fail "the verifier has no allow verdict for the container"
ok "allowed: ctr run --config with the hardened spec and the hook, running"

cp -a base/rootfs bad && echo tampered >bad/bin/extra
spec bad base/config.json "$T/bad"
ctr_denied bad "rootfs-digest-not-allowed"
# ctr's default spec: what `ctr run` uses without --config
ctr oci spec >ctr-default.json || fail "ctr oci spec"
spec default ctr-default.json "$T/base/rootfs"
ctr_denied default "capability-not-allowed:CAP_MKNOD" "seccomp-missing" "run-as-root" \
    "memory-limit-missing" "pids-limit-missing"
