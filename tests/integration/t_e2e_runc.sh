#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# End to end with real runc: attest-agent as the createRuntime hook of busybox containers,
# vtpm-mgr for their vTPMs, the verifier service (plain HTTP on a random local port) with the
# default policy plus the test rootfs. The hardened base container runs; each launch-config
# escape class (docs/policy.md) is denied with its own reason and the container never
# exists: a rootfs not in policy, added capabilities, the host network, no memory or pids
# limit, the host root bound through a relative source or "ro" then "rw", a writable
# /proc/sys (no masked/readonly paths), the vtpm-mgr run dir or /run bound read-only,
# writable sysfs (also by a remount) and cgroup, shared propagation, a device rule allowing
# all, a device node, a setuid file and a device node in the rootfs, a prestart hook, root
# without a user namespace, seccomp allowing ptrace/mount/keyctl, a sysctl.
. "$(dirname "$0")/lib.sh"
need_runc
. "$(dirname "$0")/attest_lib.sh"

start_host_tpm
start_mgr
cd "$T"
ID=e2e-$$

base_bundle base
edit base/config.json "c['hooks'] = {'createRuntime': [{'path': '$AGENT', 'args': ['attest-agent',
    'hook', '--verifier', 'VERIFIER_URL', '--run-dir', '$RUN', '--timeout', '5']}]}"
mkdir trust && cp "$HOST/ek-ca.pem" trust/

# bundle NAME [PYTHON]: a copy of base with an edit of its config.json.
bundle() {
    cp -a base "$1"
    [ -z "${2:-}" ] || edit "$1/config.json" "$2"
}
# Rootfs findings: their digests are allowed, so only the setuid/device rules can deny them.
bundle setuid
cp base/rootfs/bin/busybox setuid/rootfs/bin/su
chmod 4755 setuid/rootfs/bin/su
bundle devnode
mknod devnode/rootfs/bin/disk b 8 0
allow_bundle base policy.json
for b in setuid devnode; do
    "$AGENT" measure --bundle $b >m.json || fail "measure $b"
    "$VF" policy allow --policy policy.json --rootfs-digest "$(json rootfs_digest <m.json)" ||
        fail "policy allow $b"
done
start_verifier policy.json trust
for b in base setuid devnode; do edit $b/config.json "
c['hooks']['createRuntime'][0]['args'][3] = '$URL'"; done

# create NAME: runc create; its stderr (with the agent's reasons) in NAME.err.
create() {
    CTRS="$CTRS $ID-$1"
    timeout 30 runc create --bundle "$1" "$ID-$1" </dev/null >"$1.out" 2>"$1.err"
}
status_of() { runc state "$ID-$1" 2>/dev/null | json status 2>/dev/null || true; }

# Allowed: the hardened base is created, started, running, its verdict recorded.
bundle ok
create ok || { cat ok.err >&2; fail "the allowed container was not created"; }
timeout 10 runc start "$ID-ok" || fail "runc start"
[ "$(status_of ok)" = running ] || fail "the allowed container is not running"
curl -sS --max-time 5 "$URL/v1/containers/$ID-ok" | grep -q '"allow"' ||
    fail "the verifier has no allow verdict for the container"
timeout 10 runc delete -f "$ID-ok" || fail "runc delete"
ok "allowed: hardened container attested, started and running"

# denied NAME REASON [PYTHON]: runc create fails, the reason is printed, no container exists.
# With PYTHON, bundle NAME is made from base first.
denied() {
    [ $# -lt 3 ] || bundle "$1" "$3"
    if create "$1"; then fail "$1: container created"; fi
    grep -qF "$2" "$1.err" || { cat "$1.err" >&2; fail "$1: reason '$2' not printed"; }
    [ -z "$(status_of "$1")" ] || fail "$1: container exists after a deny"
    ok "denied: $1 ($2)"
}
bundle rootfs
echo tampered >rootfs/rootfs/bin/extra
denied rootfs "rootfs-digest-not-allowed"
denied sysadmin "capability-not-allowed:CAP_SYS_ADMIN" "
for k in ('bounding', 'effective', 'permitted'): c['process']['capabilities'][k].append('CAP_SYS_ADMIN')"
denied netraw "capability-not-allowed:CAP_NET_RAW" "
c['process']['capabilities']['bounding'].append('CAP_NET_RAW')"
denied hostnet "host-namespace-forbidden:network" "
c['linux']['namespaces'] = [n for n in c['linux']['namespaces'] if n['type'] != 'network']"
denied nomem "memory-limit-missing" "del c['linux']['resources']['memory']"
denied nopids "pids-limit-missing" "del c['linux']['resources']['pids']"
# the host root through a relative source (runc joins it to the bundle dir), and through
# "ro" then "rw" (the last wins)
denied relbind "host-mount-sensitive:/ (rw)" "
c['mounts'].append({'destination': '/host', 'source': '../../../../../../../../..',
                    'options': ['rbind']})"
denied rorw "host-mount-sensitive:/ (rw)" "
c['mounts'].append({'destination': '/host', 'type': 'bind', 'source': '/',
                    'options': ['rbind', 'ro', 'rw']})"
# no masked/readonly paths: /proc/sys writable (core_pattern)
denied procsys "readonly-path-missing:/proc/sys" "
c['linux']['maskedPaths'] = []; c['linux']['readonlyPaths'] = []"
# vtpm-mgr's run dir read-only: its sockets still connect
denied mgrdir "host-mount-vtpm-mgr:$RUN" "
c['mounts'].append({'destination': '/mgr', 'source': '$RUN', 'options': ['bind', 'ro']})"
denied hostrun "host-mount-sensitive:/run (ro)" "
c['mounts'].append({'destination': '/hostrun', 'source': '/run', 'options': ['rbind', 'rro']})"
denied sysfsrw "sysfs-writable:/sys" "
[m.update(options=['nosuid', 'noexec', 'nodev']) for m in c['mounts'] if m['type'] == 'sysfs']"
# "remount" with "rw" turns the earlier sysfs mount writable (runc applies it to /sys itself)
mkdir -p "$T/empty"
denied remount "sysfs-writable:/sys" "
c['mounts'].append({'destination': '/sys', 'type': 'none', 'source': '$T/empty',
                    'options': ['remount', 'bind', 'rw']})"
denied cgrouprw "cgroup-writable:/sys/fs/cgroup" "
[m.update(options=['nosuid', 'rw']) for m in c['mounts'] if m['type'] == 'cgroup']"
denied shared "mount-propagation-shared:/shm2" "
c['mounts'].append({'destination': '/shm2', 'type': 'tmpfs', 'source': 'tmpfs',
                    'options': ['nosuid', 'rshared']})"
denied rshared "rootfs-propagation-shared:rshared" "c['linux']['rootfsPropagation'] = 'rshared'"
denied devall "device-rule-forbidden:a *:* rwm" "
c['linux']['resources']['devices'] = [{'allow': True, 'access': 'rwm'}]"
denied devcfg "device-node-forbidden:/dev/sda b 8:0" "
c['linux']['devices'] = [{'path': '/dev/sda', 'type': 'b', 'major': 8, 'minor': 0}]"
denied setuid "rootfs-setid-file:bin/su"
denied devnode "rootfs-device-node:bin/disk"
denied prestart "hook-forbidden:prestart" "
c['hooks']['prestart'] = [{'path': '/bin/true', 'args': ['true']}]"
denied root "run-as-root" "c['process']['user'] = {'uid': 0, 'gid': 0}"
denied seccomp "seccomp-allows:keyctl" "
c['linux']['seccomp']['syscalls'][0]['names'] = [n for n in c['linux']['seccomp']['syscalls'][0]['names']
                                                 if n not in ('ptrace', 'mount', 'keyctl')]"
grep -qF "seccomp-allows:ptrace" seccomp.err || fail "seccomp: ptrace allowed, not printed"
# The list the bundles here block is the agent's (`attest-agent dangerous-syscalls`), the one
# docs/policy.md states.
python3 -c 'import json, re, sys
doc = re.search(r"our floor denies it\):\s*`([^`]*)`", open(sys.argv[1]).read())
agent = json.loads(sys.argv[2])
sys.exit(0 if doc and doc.group(1).split() == agent and len(agent) > 60 else 1)' \
    "$ROOT/docs/policy.md" "$DANGEROUS_SYSCALLS" ||
    fail "attest-agent dangerous-syscalls is not the list docs/policy.md states"
ok "attest-agent dangerous-syscalls: the list docs/policy.md states"
denied sysctl "sysctl-forbidden:kernel.msgmax" "c['linux']['sysctl'] = {'kernel.msgmax': '65536'}"
# (a negative oomScoreAdj is unit-tested only: runc here lacks CAP_SYS_RESOURCE to set it)
