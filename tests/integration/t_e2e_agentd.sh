#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# End to end with real runc through the agent service: attest-agent-hook as createRuntime hook
# forwards to `attest-agent serve` (pool of vTPMs made ahead); an allowed container runs, a
# rootfs not in policy and CAP_SYS_ADMIN are denied with their reasons relayed; a hook with
# another setup is declined and falls back; a non-root peer is refused; with the service
# stopped the same hook falls back to `attest-agent hook`.
. "$(dirname "$0")/lib.sh"
need_runc setpriv
. "$(dirname "$0")/attest_lib.sh"
HOOK=$BIN/attest-agent-hook

attest_setup agentd-$$
start_verifier policy.json trust
SOCK=$T/agentd/agent.sock

start_agentd "$SOCK" ad.log --pool 2
[ "$(stat -c %a "$SOCK")" = 600 ] || fail "service socket mode $(stat -c %a "$SOCK")"
[ "$(stat -c %a "$(dirname "$SOCK")")" = 700 ] || fail "service socket directory not 0700"
grep -q '^Seccomp:[[:space:]]*2$' "/proc/$AD_PID/status" || fail "service without a seccomp filter"
grep -q '^NoNewPrivs:[[:space:]]*1$' "/proc/$AD_PID/status" || fail "service without no_new_privs"
# Its children, the front (hook clients and their CBOR) and the network process (libcurl,
# the verifier's answers), run without root, capabilities or syscalls beyond their lists.
KIDS=$(ps -o pid= --ppid "$AD_PID" | tr -d ' ')
[ "$(echo "$KIDS" | wc -w)" -eq 2 ] || fail "the service has not 2 children: $KIDS"
for k in $KIDS; do
    st=/proc/$k/status
    grep -q '^Uid:[[:space:]]*65534[[:space:]]*65534[[:space:]]*65534' "$st" || fail "child $k not uid 65534"
    grep -q '^CapEff:[[:space:]]*0000000000000000$' "$st" || fail "child $k has capabilities"
    grep -q '^Seccomp:[[:space:]]*2$' "$st" || fail "child $k without a seccomp filter"
done
ok "service listening, socket 0600 in a 0700 directory, seccomp filter and no_new_privs"
ok "front and network process: uid 65534, no capabilities, seccomp filter"

edit base/config.json "c['hooks'] = {'createRuntime': [{'path': '$HOOK', 'args': ['attest-agent-hook',
    '--verifier', '$URL', '--run-dir', '$RUN', '--timeout', '5', '--agent-socket', '$SOCK']}]}"

bundle() {
    cp -a base "$1"
    [ -z "${2:-}" ] || edit "$1/config.json" "$2"
}
create() {
    CTRS="$CTRS $ID-$1"
    timeout 30 runc create --bundle "$1" "$ID-$1" </dev/null >"$1.out" 2>"$1.err"
}
status_of() { runc state "$ID-$1" 2>/dev/null | json status 2>/dev/null || true; }
# served NAME: the service's log has a check of container NAME.
served() { grep -q "container $ID-$1" ad.log; }

allowed() {
    create "$1" || { cat "$1.err" >&2; fail "$1: the allowed container was not created"; }
    timeout 10 runc start "$ID-$1" || fail "$1: runc start"
    [ "$(status_of "$1")" = running ] || fail "$1: the allowed container is not running"
    curl -sS --max-time 5 "$URL/v1/containers/$ID-$1" | grep -q '"allow"' ||
        fail "$1: the verifier has no allow verdict for the container"
    timeout 10 runc delete -f "$ID-$1" || fail "runc delete"
}
denied() {
    if create "$1"; then fail "$1: container created"; fi
    grep -q "$2" "$1.err" || { cat "$1.err" >&2; fail "$1: reason '$2' not printed"; }
    [ -z "$(status_of "$1")" ] || fail "$1: container exists after a deny"
}

bundle ok
allowed ok
served ok || { cat ad.log >&2; fail "the service did not check the allowed container"; }
grep -q "container $ID-ok: vTPM .* from the pool" ad.log || fail "no pooled vTPM used"
ok "service: allowed container attested (vTPM from the pool), started and running"
bundle ok2
allowed ok2
served ok2 || fail "the service did not check the second container"
ok "service: a second allowed container (pool refilled or created on demand)"

bundle rootfs
echo tampered >rootfs/rootfs/bin/extra
denied rootfs "rootfs"
served rootfs || fail "the service did not check the rootfs case"
ok "service: denied rootfs, reason relayed"
bundle sysadmin "
for k in ('bounding', 'effective', 'permitted'): c['process']['capabilities'][k].append('CAP_SYS_ADMIN')"
denied sysadmin "CAP_SYS_ADMIN"
served sysadmin || fail "the service did not check the CAP_SYS_ADMIN case"
ok "service: denied CAP_SYS_ADMIN, reason relayed"

# Another setup than the service's (the same run dir spelt differently): the service declines
# and the hook does the work itself.
bundle other "c['hooks']['createRuntime'][0]['args'][4] += '/'"
allowed other
! served other || fail "the service checked a hook with another setup"
ok "service declines another setup; the hook falls back and attests by itself"

# A non-root peer (socket opened up for the test) is refused by SO_PEERCRED.
chmod 0755 "$(dirname "$SOCK")" && chmod 0666 "$SOCK"
setpriv --reuid=65534 --regid=65534 --clear-groups timeout 10 python3 -c '
import socket, struct, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])
n = struct.unpack(">I", s.recv(4, socket.MSG_WAITALL))[0]
sys.stdout.buffer.write(s.recv(n, socket.MSG_WAITALL))' "$SOCK" >peer.out ||
    fail "non-root peer: no answer"
grep -q "only root" peer.out || fail "non-root peer not refused"
chmod 0700 "$(dirname "$SOCK")" && chmod 0600 "$SOCK"
ok "service: non-root peer refused"

# Stopped: socket gone, pooled vTPMs deleted, the same hook does the work itself.
nvtpms() { "$BIN/vtpmctl" --run-dir "$RUN" list | grep -o '"uuid"' | wc -l; }
# The service refills its pool a little after the last request: count once it is full again
# (the count unchanged for 1 s, bounded), or the refill races the count.
before=$(nvtpms) _st=0 _i=0
while [ $_st -lt 5 ] && [ $_i -lt 100 ]; do
    sleep 0.2; _i=$((_i + 1)); now=$(nvtpms)
    if [ "$now" -eq "$before" ]; then _st=$((_st + 1)); else _st=0; before=$now; fi
done
stop_ad
[ "$(nvtpms)" -eq $((before - 2)) ] || fail "pooled vTPMs not deleted ($before -> $(nvtpms))"
[ ! -e "$SOCK" ] || fail "socket left after the service stopped"
grep -q "stopped" ad.log || fail "the service did not stop cleanly"
bundle fb
allowed fb
! served fb || fail "a stopped service checked a container"
ok "fallback: allowed container attested by attest-agent hook with the service stopped"
bundle fbdeny
echo tampered >fbdeny/rootfs/bin/extra
denied fbdeny "rootfs"
ok "fallback: denied rootfs with the service stopped"

# Mutual TLS through the network process (uid 65534): it uses the CA, certificate and root's
# 0600 key as the parent read them before the fork, never opening them itself.
make_test_pki
chmod 0600 client.key
stop_vf
rm -f port
"$VF" serve --listen 127.0.0.1:0 --port-file port --db "sqlite:$T/vf-tls.db" --policy policy.json \
    --trust trust --tls-cert server.pem --tls-key server.key --client-ca ca.pem >>vf.log 2>&1 &
VF_PID=$!
wait_verifier
URL=https://127.0.0.1:$PORT
TLS="--ca $T/ca.pem --cert $T/client.pem --key $T/client.key"
# shellcheck disable=SC2086
start_agentd "$SOCK" ad-tls.log --pool 1 $TLS
edit base/config.json "c['hooks'] = {'createRuntime': [{'path': '$HOOK', 'args': ['attest-agent-hook',
    '--verifier', '$URL', '--run-dir', '$RUN', '--timeout', '5', '--agent-socket', '$SOCK',
    '--ca', '$T/ca.pem', '--cert', '$T/client.pem', '--key', '$T/client.key']}]}"
bundle tls
create tls || { cat tls.err >&2; fail "tls: the allowed container was not created"; }
curl -sS --max-time 5 --cacert ca.pem --cert client.pem --key client.key \
    "$URL/v1/containers/$ID-tls" | grep -q '"allow"' || fail "tls: no allow verdict"
grep -q "container $ID-tls" ad-tls.log || fail "the TLS service did not check the container"
ok "service over mutual TLS: the network process uses the key read before it dropped root"
