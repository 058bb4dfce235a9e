#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# End to end with real runc: attest-agent as the createRuntime hook of busybox containers,
# vtpm-mgr for their vTPMs, the verifier service (plain HTTP on a random local port) with a
# policy that allows the test rootfs. An allowed container runs; a rootfs not in policy,
# CAP_SYS_ADMIN, the host network namespace and a missing memory limit are denied and the
# container never starts.
. "$(dirname "$0")/lib.sh"
command -v runc >/dev/null 2>&1 || { echo "runc missing"; exit 77; }
command -v busybox >/dev/null 2>&1 || { echo "busybox missing"; exit 77; }
[ "$(id -u)" -eq 0 ] || { echo "runc needs root here"; exit 77; }
. "$(dirname "$0")/attest_lib.sh"

start_host_tpm
start_mgr
cd "$T"
ID=e2e-$$

base_bundle base
mkdir trust && cp "$HOST/ek-ca.pem" trust/
allow_bundle base policy.json
start_verifier policy.json trust

edit base/config.json "c['hooks'] = {'createRuntime': [{'path': '$AGENT', 'args': ['attest-agent',
    'hook', '--verifier', '$URL', '--run-dir', '$RUN', '--timeout', '5']}]}"

# bundle NAME [PYTHON]: a copy of base with an edit of its config.json.
bundle() {
    cp -a base "$1"
    [ -z "${2:-}" ] || edit "$1/config.json" "$2"
}
# create NAME: runc create; its stderr (with the agent's reasons) in NAME.err.
create() {
    CTRS="$CTRS $ID-$1"
    timeout 30 runc create --bundle "$1" "$ID-$1" </dev/null >"$1.out" 2>"$1.err"
}
status_of() { runc state "$ID-$1" 2>/dev/null | json status 2>/dev/null || true; }

# Allowed: created, started, running, its verdict recorded by the verifier.
bundle ok
create ok || { cat ok.err >&2; fail "the allowed container was not created"; }
timeout 10 runc start "$ID-ok" || fail "runc start"
[ "$(status_of ok)" = running ] || fail "the allowed container is not running"
curl -sS --max-time 5 "$URL/v1/containers/$ID-ok" | grep -q '"allow"' ||
    fail "the verifier has no allow verdict for the container"
timeout 10 runc delete -f "$ID-ok" || fail "runc delete"
ok "allowed container attested, started and running"

# denied NAME REASON-PATTERN: runc create fails, the reason is printed, no container exists.
denied() {
    if create "$1"; then fail "$1: container created"; fi
    grep -q "$2" "$1.err" || { cat "$1.err" >&2; fail "$1: reason '$2' not printed"; }
    [ -z "$(status_of "$1")" ] || fail "$1: container exists after a deny"
    ok "denied: $1 ($2)"
}
bundle rootfs
echo tampered >rootfs/rootfs/bin/extra
denied rootfs "rootfs"
bundle sysadmin "
for k in ('bounding', 'effective', 'permitted'): c['process']['capabilities'][k].append('CAP_SYS_ADMIN')"
denied sysadmin "CAP_SYS_ADMIN"
bundle hostnet "c['linux']['namespaces'] = [n for n in c['linux']['namespaces'] if n['type'] != 'network']"
denied hostnet "network"
bundle nomem "del c['linux']['resources']['memory']"
denied nomem "memory"
