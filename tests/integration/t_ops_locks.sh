#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# One instance per socket, run directory, state directory and port file: a second vtpm-mgr,
# `attest-agent serve` or `verifier serve` on the same paths exits non-zero naming the lock
# (and the first one's pid), and leaves the first one's socket, state and port file alone:
# the first one still answers; SIGHUP does not end vtpm-mgr or the agent service. (vtpm-cuse's lock is tested in tests/kernel/t_85_cuse.sh.)
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/attest_lib.sh"
start_host_tpm
start_mgr
cd "$T"

# second_mgr LOG [options]: a second vtpm-mgr (foreground, bounded); its exit code.
second_mgr() {
    _log=$1; shift
    _rc=0
    timeout -k 5 60 "$BIN/vtpm-mgr" --foreground --host-tcti "$HOST_TCTI" \
        --host-ek-ca "$HOST/ek-ca.pem" --seal-pcrs sha256:16 "$@" >"$_log" 2>&1 || _rc=$?
    return $_rc
}
U=$(create_vtpm --name lock-1)
SOCK_INO=$(stat -c %i "$RUN/vtpm-mgr.sock")
rc=0; second_mgr mgr2.log --state-dir "$STATE" --run-dir "$RUN" || rc=$?
[ $rc -ne 0 ] || fail "a second vtpm-mgr on the same directories exited 0"
grep -q "$RUN/vtpm-mgr.sock.lock" mgr2.log && grep -q "pid $MGR_PID" mgr2.log ||
    { cat mgr2.log >&2; fail "the second vtpm-mgr does not name the lock and pid $MGR_PID"; }
[ "$(stat -c %i "$RUN/vtpm-mgr.sock" 2>/dev/null)" = "$SOCK_INO" ] ||
    fail "the first vtpm-mgr's control socket was replaced or removed"
"$BIN/vtpmctl" info "$U" >/dev/null || fail "the first vtpm-mgr does not answer"
ok "vtpm-mgr: a second one on the same run directory exits $rc naming the lock and pid"

# Same state directory, another run directory: refused on the state directory's lock, before
# anything of the state directory is touched.
rc=0; second_mgr mgr3.log --state-dir "$STATE" --run-dir "$T/run2" || rc=$?
[ $rc -ne 0 ] || fail "a second vtpm-mgr on the same state directory exited 0"
grep -q "$STATE/vtpm-mgr.lock" mgr3.log && grep -q "pid $MGR_PID" mgr3.log ||
    { cat mgr3.log >&2; fail "the second vtpm-mgr does not name the state lock"; }
[ ! -e "$T/run2/vtpm-mgr.sock" ] && [ ! -e "$T/run2/vtpm" ] ||
    fail "the refused vtpm-mgr made its sockets"
"$BIN/vtpmctl" info "$U" >/dev/null || fail "the first vtpm-mgr does not answer (2)"
ok "vtpm-mgr: a second one on the same state directory exits $rc naming the state lock"

# verifier serve: the same --port-file.
mkdir trust && cp "$HOST/ek-ca.pem" trust/
"$VF" policy default >policy.json || fail "policy default"
start_verifier policy.json trust
P1=$(cat port)
rc=0
timeout -k 5 30 "$VF" serve --listen 127.0.0.1:0 --port-file port --db "sqlite:$T/vf.db" \
    --policy policy.json --trust trust --insecure-no-tls >vf2.log 2>&1 || rc=$?
[ $rc -ne 0 ] || fail "a second verifier on the same port file exited 0"
grep -q "$T/port.lock\|port.lock" vf2.log && grep -q "pid $VF_PID" vf2.log ||
    { cat vf2.log >&2; fail "the second verifier does not name the port file's lock and pid"; }
[ "$(cat port)" = "$P1" ] || fail "the port file changed"
curl -sf -m 10 "$URL/healthz" >/dev/null || fail "the first verifier does not answer"
ok "verifier: a second one on the same port file exits $rc naming the lock and pid"

# attest-agent serve: the same --listen-socket.
AS=$T/agent/agent.sock
start_agentd "$AS" ad.log --pool 0 --no-host-evidence
AS_INO=$(stat -c %i "$AS")
rc=0
timeout -k 5 30 "$AGENT" serve --listen-socket "$AS" --verifier "$URL" --run-dir "$RUN" \
    --pool 1 --no-host-evidence >ad2.log 2>&1 || rc=$?
[ $rc -ne 0 ] || fail "a second agent service on the same socket exited 0"
grep -q "$AS.lock" ad2.log && grep -q "pid $AD_PID" ad2.log ||
    { cat ad2.log >&2; fail "the second agent service does not name the lock and pid"; }
[ "$(stat -c %i "$AS" 2>/dev/null)" = "$AS_INO" ] || fail "the first service's socket was replaced or removed"
python3 -c 'import socket,sys; s=socket.socket(socket.AF_UNIX); s.settimeout(5); s.connect(sys.argv[1])' "$AS" ||
    fail "the first agent service does not accept"
[ "$("$BIN/vtpmctl" list | grep -c '"uuid"')" -eq 1 ] || fail "the refused service made vTPMs"
ok "attest-agent serve: a second one on the same socket exits $rc naming the lock and pid"

# attest-agent monitor: the same --monitor-socket.
MS=$T/agent/monitor.sock
"$AGENT" monitor --verifier "$URL" --run-dir "$RUN" --monitor-socket "$MS" --state-dir "$T/monstate" >mon.log 2>&1 &
MON_PID=$!
at_exit "stop_pid $MON_PID 50"
wait_socket "$MS" "$MON_PID" mon.log monitor
MS_INO=$(stat -c %i "$MS")
rc=0
timeout -k 5 30 "$AGENT" monitor --verifier "$URL" --run-dir "$RUN" --monitor-socket "$MS" \
    >mon2.log 2>&1 || rc=$?
[ $rc -ne 0 ] || fail "a second monitor on the same socket exited 0"
grep -q "$MS.lock" mon2.log && grep -q "pid $MON_PID" mon2.log ||
    { cat mon2.log >&2; fail "the second monitor does not name the lock and pid"; }
[ "$(stat -c %i "$MS" 2>/dev/null)" = "$MS_INO" ] || fail "the first monitor's socket was replaced or removed"
kill -0 "$MON_PID" 2>/dev/null || fail "the first monitor ended"
ok "attest-agent monitor: a second one on the same socket exits $rc naming the lock and pid"

# SIGHUP does not end vtpm-mgr or the agent service (they have nothing to reload).
kill -HUP "$MGR_PID" "$AD_PID"
sleep 1
kill -0 "$MGR_PID" 2>/dev/null && kill -0 "$AD_PID" 2>/dev/null || fail "SIGHUP ended a daemon"
"$BIN/vtpmctl" info "$U" >/dev/null || fail "vtpm-mgr does not answer after SIGHUP"
[ "$(stat -c %i "$AS" 2>/dev/null)" = "$AS_INO" ] || fail "the agent service's socket went on SIGHUP"
grep -q "SIGHUP: nothing to reload" "$T/mgr.log" && grep -q "SIGHUP: nothing to reload" ad.log ||
    fail "SIGHUP not logged"
ok "SIGHUP: vtpm-mgr and attest-agent serve log it and go on"
