#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# systemd integration without libsystemd: vtpm-mgr, `attest-agent serve` and `verifier serve`
# send READY=1 to NOTIFY_SOCKET (a path, or an @abstract name) once their socket or port file
# exists, and STOPPING=1 on SIGTERM (notifyrecv.py stands in for systemd); log lines carry
# sd-daemon priorities ("<3>" error, "<6>" info) when stderr is the journal's stream
# (JOURNAL_STREAM names it) and none otherwise.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/attest_lib.sh"
RECV_PID=
at_exit 'stop_pid "$RECV_PID" 20'
# listen SOCKET WATCH OUT: the stand-in receiver, bound before the daemon starts.
listen() {
    rm -f "$3"
    python3 "$ROOT/tests/integration/notifyrecv.py" "$1" "$2" "$3" 60 &
    RECV_PID=$!
    _i=0
    until grep -q bound "$3" 2>/dev/null; do
        _i=$((_i + 1)); [ $_i -lt 100 ] || fail "notification receiver did not start"
        sleep 0.1
    done
}
# got OUT MSG [EXISTS]: OUT has MSG, with the watched path existing when it came (EXISTS 1,
# the default) or either way (EXISTS ''), within 10 s.
got() {
    _i=0
    until grep -q "^$2 exists=${3-1}" "$1"; do
        _i=$((_i + 1))
        [ $_i -lt 100 ] || { cat "$1" >&2; fail "no '$2' with the socket there ($1)"; }
        sleep 0.1
    done
}
start_host_tpm
cd "$T"

listen "$T/n-mgr.sock" "$RUN/vtpm-mgr.sock" n-mgr.out
NOTIFY_SOCKET=$T/n-mgr.sock start_mgr
got n-mgr.out READY=1
stop_mgr
got n-mgr.out STOPPING=1 ""
wait "$RECV_PID" 2>/dev/null || true; RECV_PID=
ok "vtpm-mgr: READY=1 once its control socket exists, STOPPING=1 on SIGTERM"
start_mgr

mkdir trust && cp "$HOST/ek-ca.pem" trust/
"$VF" policy default >policy.json || fail "policy default"
AB="@vtpm-notify-$$-vf"
listen "$AB" "$T/port" n-vf.out
NOTIFY_SOCKET=$AB start_verifier policy.json trust
got n-vf.out READY=1
ok "verifier serve: READY=1 (abstract socket) once its port file exists"

listen "$T/n-ad.sock" "$T/ad/agent.sock" n-ad.out
NOTIFY_SOCKET=$T/n-ad.sock start_agentd "$T/ad/agent.sock" ad.log --pool 0 --no-host-evidence
got n-ad.out READY=1
stop_ad
got n-ad.out STOPPING=1 ""
wait "$RECV_PID" 2>/dev/null || true; RECV_PID=
ok "attest-agent serve: READY=1 once its socket exists, STOPPING=1 on SIGTERM"
stop_vf

# Priorities: only when stderr is the stream JOURNAL_STREAM names.
: >j.log
J=$(stat -c '%d:%i' j.log)
JOURNAL_STREAM=$J "$VF" serve --listen 127.0.0.1:0 --port-file port2 --db "sqlite:$T/vf.db" \
    --policy policy.json --trust trust --insecure-no-tls 2>>j.log &
VF_PID=$!
_i=0
until [ -s port2 ]; do _i=$((_i + 1)); [ $_i -lt 100 ] || fail "verifier (journal) did not start"; sleep 0.1; done
stop_vf
grep -q '^<6>verifier: info: listening on' j.log || { cat j.log >&2; fail "no <6> on info lines"; }
grep -q '^<4>verifier: warn: ' j.log || { cat j.log >&2; fail "no <4> on warnings"; }
JOURNAL_STREAM=$J "$VF" serve --listen bad --db "sqlite:$T/vf.db" --policy policy.json \
    --trust trust --insecure-no-tls 2>>j.log && fail "a bad --listen was accepted"
grep -q '^<3>verifier: error: --listen bad' j.log || { cat j.log >&2; fail "no <3> on errors"; }
JOURNAL_STREAM=$J "$VF" serve --listen bad --db "sqlite:$T/vf.db" --policy policy.json \
    --trust trust --insecure-no-tls 2>plain.log && fail "a bad --listen was accepted"
grep -q '^verifier: error: --listen bad' plain.log || { cat plain.log >&2; fail "prefix without the journal"; }
ok "log priorities <3>/<4>/<6> on the journal's stream, none on another stderr"
