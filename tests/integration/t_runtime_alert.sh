#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Runtime drift in alert mode (docs/runtime-integrity.md, policy runtime.drift "alert"): a
# copy of busybox run from the container's /tmp keeps the verdict allow and is not revoked,
# but the verifier's notifier POSTs one notification of event type "runtime-drift-alert"
# naming runtime-drift:/tmp/sh, once: the monitor's later re-attestations, which re-send the
# same log, add none.
. "$(dirname "$0")/lib.sh"
need_runc curl
. "$(dirname "$0")/attest_lib.sh"
MON_PID=
RX_PID=
MOUNTS=""
stop_mon() { stop_pid "$MON_PID" 100 || true; MON_PID=; }
unmount_all() { for m in $MOUNTS; do umount "$m" 2>/dev/null || umount -l "$m" || true; done; }
at_exit unmount_all
at_exit stop_mon
at_exit 'stop_pid "$RX_PID" 30 || true'

start_host_tpm
start_mgr
cd "$T" || fail "cd $T"
ID=ra-$$

mkdir -p a1/rootfs
mount -t tmpfs -o size=16m,mode=755 "ra-a1" a1/rootfs || fail "mount tmpfs a1/rootfs"
MOUNTS="$T/a1/rootfs"
base_bundle a1
edit a1/config.json "c['mounts'].append({'destination': '/tmp', 'type': 'tmpfs',
'source': 'tmpfs', 'options': ['nosuid', 'nodev', 'mode=1777', 'size=8m']})"
allow_bundle a1 policy.json
edit policy.json "c['runtime'] = {'drift': 'alert'}"
mkdir trust && cp "$HOST/ek-ca.pem" trust/ || fail "trust/"

cat >rx.py <<'EOF'
import http.server, sys, time
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        with open("rx.log", "a") as f:
            f.write(body.decode() + "\n")
        self.send_response(200); self.end_headers()
    def log_message(self, *a): pass
s = http.server.HTTPServer(("127.0.0.1", 0), H)
open("rx.port", "w").write(str(s.server_address[1]))
s.timeout = 0.5
end = time.monotonic() + 120
while time.monotonic() < end:
    s.handle_request()
EOF
python3 rx.py 2>rx.err &
RX_PID=$!
i=0
while [ ! -s rx.port ]; do
    i=$((i + 1)); [ $i -lt 100 ] || { cat rx.err >&2; fail "webhook receiver did not start"; }
    sleep 0.1
done
start_verifier policy.json trust --reattest-interval 120 \
    --notify-url "http://127.0.0.1:$(cat rx.port)/hook"

mkdir -m 700 cache
MSOCK=$T/monitor.sock
"$AGENT" monitor --verifier "$URL" --run-dir "$RUN" --monitor-socket "$MSOCK" \
    --cache-dir "$T/cache" --state-dir "$T/mstate" --reattest-interval 1 >>mon.log 2>&1 &
MON_PID=$!
i=0
while [ ! -S "$MSOCK" ]; do
    i=$((i + 1)); [ $i -lt 100 ] || { cat mon.log >&2; fail "monitor did not start"; }
    kill -0 "$MON_PID" 2>/dev/null || { cat mon.log >&2; fail "monitor exited"; }
    sleep 0.1
done
# the verifier's answers are parsed in the monitor's sandboxed network process (uid 65534)
net=$(pgrep -P "$MON_PID" | head -n 1)
[ -n "$net" ] || fail "the monitor has no network process"
grep -q "^Uid:[[:space:]]*65534[[:space:]]" "/proc/$net/status" || fail "the network process is not uid 65534"
grep -q "^CapEff:[[:space:]]*0*$" "/proc/$net/status" || fail "the network process has capabilities"
grep -q "^Seccomp:[[:space:]]*2" "/proc/$net/status" || fail "the network process has no syscall filter"
ok "the monitor's network process: uid 65534, no capabilities, seccomp filter"
# the monitor itself: only CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_KILL, CAP_SYS_PTRACE,
# CAP_SYS_ADMIN (0x280026), also in its bounding set
grep -q "^CapEff:[[:space:]]*0*280026$" "/proc/$MON_PID/status" ||
    { grep ^Cap "/proc/$MON_PID/status" >&2; fail "the monitor kept other capabilities"; }
grep -q "^CapBnd:[[:space:]]*0*280026$" "/proc/$MON_PID/status" || fail "the monitor's bounding set"
ok "the monitor keeps only CAP_SYS_ADMIN, CAP_SYS_PTRACE, CAP_DAC_*, CAP_KILL"
edit a1/config.json "c['hooks'] = {'createRuntime': [{'path': '$AGENT',
    'args': ['attest-agent', 'hook', '--verifier', '$URL', '--run-dir', '$RUN', '--timeout', '10',
             '--cache-dir', '$T/cache', '--monitor-socket', '$MSOCK']}]}"
CTRS="$ID-a1"
timeout 30 runc create --bundle a1 "$ID-a1" </dev/null >a1.out 2>a1.err ||
    { cat a1.err mon.log >&2; fail "a1: not created"; }
timeout 10 runc start "$ID-a1" || fail "a1: runc start"

field() { curl -sS --max-time 5 "$URL/v1/containers/$ID-a1" 2>/dev/null | json "$1" 2>/dev/null || true; }
x() { timeout 10 runc exec "$ID-a1" "$@"; }
count() { grep -c "$1" mon.log || true; }
until_ok() { # SECONDS DESCRIPTION COMMAND...
    _u_n=$(( $1 * 20 )) _u_what=$2; shift 2
    while ! "$@"; do
        _u_n=$((_u_n - 1))
        [ $_u_n -gt 0 ] || { tail -n 20 mon.log >&2; tail -n 10 vf.log >&2; cat rx.log >&2 2>/dev/null; fail "$_u_what"; }
        sleep 0.05
    done
}
alerts() { if [ -f rx.log ]; then grep -c '"event":"runtime-drift-alert"' rx.log || true; else echo 0; fi; }

x /bin/busybox cp /bin/busybox /tmp/sh || fail "a1: cp to /tmp"
x /tmp/sh -c true || fail "a1: /tmp/sh did not run"
alerted() { [ "$(alerts)" -ge 1 ]; }
until_ok 10 "no runtime-drift-alert at the webhook" alerted
grep '"event":"runtime-drift-alert"' rx.log | grep "\"$ID-a1\"" | grep -q 'runtime-drift:/tmp/sh' ||
    { cat rx.log >&2; fail "the alert does not name a1 and runtime-drift:/tmp/sh"; }
grep '"event":"runtime-drift-alert"' rx.log | grep -q '"verdict":"allow"' ||
    fail "the alert's verdict is not allow"
grep -q "container $ID-a1: runtime drift (alert only): /tmp/sh" vf.log || fail "no alert in the verifier's log"
[ "$(field verdict)" = allow ] || fail "a1 denied in alert mode"
ok "alert mode: /tmp/sh gives a runtime-drift-alert notification, the verdict stays allow"

# the monitor re-sends the same log every second: no second alert, no revocation
n=$(count "container $ID-a1: runtime evidence allowed")
again() { [ "$(count "container $ID-a1: runtime evidence allowed")" -ge $((n + 3)) ]; }
until_ok 15 "a1 not re-attested three more times" again
sleep 1.2 # the sweeper delivers once a second
[ "$(alerts)" = 1 ] || { cat rx.log >&2; fail "$(alerts) alert notifications, not 1"; }
grep -q '"revoked"' rx.log && fail "a revocation in alert mode"
[ "$(field verdict)" = allow ] || fail "a1 denied after re-attestation"
ok "re-attestations with the same log: still one alert, no revocation, allow"

# SIGTERM: the monitor and its network process stop (status 0)
kill -TERM "$MON_PID"
i=0
while kill -0 "$MON_PID" 2>/dev/null; do
    i=$((i + 1)); [ $i -lt 100 ] || fail "the monitor did not stop within 10 s"
    sleep 0.1
done
mrc=0; wait "$MON_PID" || mrc=$?
MON_PID=
[ "$mrc" = 0 ] || { tail -n 5 mon.log >&2; fail "the monitor exited with $mrc"; }
! kill -0 "$net" 2>/dev/null || fail "the network process outlived the monitor"
ok "monitor and network process stopped on SIGTERM"
echo "t_runtime_alert: all passed"
