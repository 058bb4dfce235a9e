#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Runtime integrity with real runc (docs/runtime-integrity.md): `attest-agent monitor` watches
# what attested containers execute (fanotify on each container's own superblocks, events
# attributed by cgroup). Running binaries of the image keeps the verdict allow; a copy of
# busybox in the container's /tmp run as /tmp/sh, and a script of the image modified in place,
# are each a `runtime-drift:<path>` deny at the
# verifier and a revocation at its webhook (the time from the exec is measured and printed,
# not asserted tightly); with the annotation org.vtpm-attest.runtime=enforce the same exec is
# refused before it runs while the image's binaries still run. A container started through
# the agent service is watched too, and re-attested by the monitor (its log goes on in PCR 11),
# not by the service. A rootfs that is a directory of the host's file system gets no
# permission event: enforcement is refused there, monitor mode uses notifications.
. "$(dirname "$0")/lib.sh"
need_runc curl
. "$(dirname "$0")/attest_lib.sh"
. "$(dirname "$0")/runtime_lib.sh"

start_host_tpm
start_mgr
cd "$T" || fail "cd $T"
ID=rt-$$

own_bundle c1
own_bundle c2
own_bundle c3
own_bundle c4
# a script of the image (its exec opens the script itself), writable by the container's uid
printf '#!/bin/busybox sh\nexit 0\n' >c4/rootfs/bin/tool && chmod 0777 c4/rootfs/bin/tool
edit c4/config.json "c['root']['readonly'] = False"
# c5, c6: a rootfs that is a plain directory of the host's file system (a superblock shared
# with the host): enforcement is refused, monitor mode watches it with notifications only.
for b in c5 c6; do
    base_bundle $b
    edit "$b/config.json" "c['mounts'].append({'destination': '/tmp', 'type': 'tmpfs',
    'source': 'tmpfs', 'options': ['nosuid', 'nodev', 'mode=1777', 'size=8m']})"
done
edit c5/config.json "c.setdefault('annotations', {})['org.vtpm-attest.runtime'] = 'enforce'"
allow_bundle c1 policy.json
allow_rootfs policy.json c2 c3 c4 c5 c6
mkdir trust && cp "$HOST/ek-ca.pem" trust/ || fail "trust/"

start_rx 240
start_verifier policy.json trust --reattest-interval 120 \
    --notify-url "http://127.0.0.1:$(cat rx.port)/hook"

start_mon --reattest-interval 2
hook_monitor c1 c2 c4 c5 c6
edit c2/config.json "c.setdefault('annotations', {})['org.vtpm-attest.runtime'] = 'enforce'"
ASOCK=$T/agentd/agent.sock
mkdir -p "$T/agentd"
start_agentd "$ASOCK" ad.log --pool 1 --reattest-interval 2 --cache-dir "$T/cache"
edit c3/config.json "c['hooks'] = {'createRuntime': [{'path': '$BIN/attest-agent-hook',
    'args': ['attest-agent-hook', '--verifier', '$URL', '--run-dir', '$RUN', '--timeout', '10',
             '--agent-socket', '$ASOCK', '--cache-dir', '$T/cache', '--monitor-socket', '$MSOCK']}]}"

now_ms() { date +%s%3N; }

# --- monitor mode: the image's binaries run, nothing is denied -----------------------------
run_ctr c1
grep -q "container $ID-c1: watched (monitor" mon.log || { cat mon.log >&2; fail "c1 not watched"; }
grep -q "container $ID-c1: /.*rootfs (tmpfs.*(permission events, always allowed)" mon.log || fail "c1's rootfs superblock not marked"
grep -q "container $ID-c1: /.*rootfs/tmp (tmpfs" mon.log || fail "c1's /tmp superblock not marked"
x c1 /bin/busybox true || fail "c1: exec busybox"
x c1 /bin/busybox ls / >/dev/null || fail "c1: exec busybox ls"
allowed_once() { [ "$(count "container $ID-c1: runtime evidence allowed")" -ge 1 ]; }
until_ok 10 "c1: no runtime evidence allowed" allowed_once
grep -q "container $ID-c1: exec /bin/busybox sha256:" mon.log || fail "c1: exec not recorded"
grep -q "not a file of the measured rootfs" mon.log && fail "an image binary was taken for drift"
[ "$(field c1 verdict)" = allow ] || fail "c1: running the image's binaries was denied"
ok "monitor mode: the image's binaries run, recorded in PCR 11, verdict allow"

# --- a binary that is not the image's: revoked within seconds -------------------------------
x c1 /bin/busybox cp /bin/busybox /tmp/sh || fail "c1: cp to /tmp"
t0=$(now_ms)
out=$(x c1 /tmp/sh -c 'echo ran-from-tmp') || fail "c1: /tmp/sh did not run in monitor mode"
[ "$out" = ran-from-tmp ] || fail "c1: /tmp/sh printed '$out'"
denied() { [ "$(field c1 verdict)" = deny ]; }
until_ok 10 "c1 not revoked after /tmp/sh ran" denied
t1=$(now_ms)
curl -sS --max-time 5 "$URL/v1/containers/$ID-c1" | grep -q 'runtime-drift:/tmp/sh' ||
    fail "c1: the reason is not runtime-drift:/tmp/sh"
notified() { grep -q "\"$ID-c1\".*runtime-drift:/tmp/sh\|runtime-drift:/tmp/sh.*\"$ID-c1\"" rx.log 2>/dev/null; }
until_ok 10 "no revocation of c1 at the webhook" notified
t2=$(now_ms)
grep '"revoked"' rx.log | grep -q "$ID-c1" || fail "the webhook body is not a revocation"
ok "/tmp/sh (a copy of busybox on a writable mount): runtime-drift deny $((t1 - t0)) ms and webhook $((t2 - t0)) ms after the exec"

# --- a binary of the image modified in place: drift at its own path ------------------------
run_ctr c4
x c4 /bin/tool true || fail "c4: exec /bin/tool"
c4_allowed() { [ "$(count "container $ID-c4: runtime evidence allowed")" -ge 1 ]; }
until_ok 10 "c4: the image's /bin/tool was not allowed" c4_allowed
x c4 /bin/busybox sh -c 'echo "echo changed" >>/bin/tool' || fail "c4: cannot append to /bin/tool"
x c4 /bin/tool true || fail "c4: the modified /bin/tool did not run"
c4_denied() { [ "$(field c4 verdict)" = deny ]; }
until_ok 10 "c4 not revoked after a modified /bin/tool ran" c4_denied
curl -sS --max-time 5 "$URL/v1/containers/$ID-c4" | grep -q 'runtime-drift:/bin/tool' ||
    fail "c4: the reason is not runtime-drift:/bin/tool"
[ "$(grep -c "container $ID-c4: exec /bin/tool sha256:" mon.log)" -eq 2 ] ||
    fail "c4: /bin/tool not recorded twice (measured, then modified)"
ok "a file of the image modified in place (a script run directly): runtime-drift:/bin/tool, revoked"

# --- enforcement mode: the exec of an unmeasured file is refused ---------------------------
run_ctr c2
grep -q "container $ID-c2: watched (enforce" mon.log || { cat mon.log >&2; fail "c2 not enforced"; }
x c2 /bin/busybox true || fail "c2: the image's busybox was refused"
x c2 /bin/busybox cp /bin/busybox /tmp/sh || fail "c2: cp to /tmp"
if x c2 /tmp/sh -c 'echo ran' >c2.exec 2>&1; then
    cat c2.exec >&2; fail "c2: /tmp/sh ran under enforcement"
fi
grep -q "container $ID-c2: exec of /tmp/sh (sha256:[0-9a-f]*) denied" mon.log ||
    fail "c2: no denial in the monitor's log"
grep -q ran c2.exec && fail "c2: /tmp/sh printed its output"
x c2 /bin/busybox true || fail "c2: the image's busybox refused after a denial"
c2_allowed() { [ "$(count "container $ID-c2: runtime evidence allowed")" -ge 1 ]; }
until_ok 10 "c2: no runtime evidence allowed" c2_allowed
[ "$(field c2 verdict)" = allow ] || fail "c2: verdict not allow"
ok "enforcement: /tmp/sh refused before it ran (FAN_DENY), the image's binaries run, verdict allow"

# --- a registration client that sends slowly holds no exec, and is cut after 10 s ------------
# A root client trickles a request to the monitor's socket (a byte every 0.3 s, for 15 s if
# nothing stops it) while c2, whose every exec waits for the monitor's answer, runs busybox:
# that exec is answered at once (the registration thread reads clients, not the thread that
# answers permission events); after 10 s the monitor cuts the client, so that the next
# registrations do not wait on it.
python3 - "$MSOCK" >trickle.out 2>&1 <<'PYEOF' &
import socket, struct, sys, time
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.sendall(struct.pack(">I", 4096))
t0 = time.monotonic()
try:
    for _ in range(50):
        s.sendall(b"\xa0")
        time.sleep(0.3)
    print("not cut")
except OSError:
    print("cut after %.1f s" % (time.monotonic() - t0))
PYEOF
TR_PID=$!
sleep 0.5
timeout 4 runc exec "$ID-c2" /bin/busybox true ||
    fail "c2: an exec waited for a slow registration client (or failed)"
wait "$TR_PID" || { cat trickle.out >&2; fail "the trickling client"; }
grep -q "^cut after" trickle.out || fail "the trickling client was not cut: $(cat trickle.out)"
grep -q "monitor: a registration client still sending after 10 s: cut" mon.log ||
    fail "the monitor did not log the cut"
refused() { grep -q "registration refused: request: " mon.log; }
until_ok 5 "the trickled request was not refused" refused
x c2 /bin/busybox true || fail "c2: exec after the slow client"
ok "a registration client trickling its request: an enforced container's exec answered meanwhile, the client $(cat trickle.out)"

# --- a rootfs shared with the host: no permission event there ------------------------------
CTRS="$CTRS $ID-c5"
if timeout 30 runc create --bundle c5 "$ID-c5" </dev/null >c5.out 2>c5.err; then
    fail "c5: enforcement on a rootfs shared with the host was accepted"
fi
grep -q "shared with the host: enforcement needs the container's own superblocks" c5.err ||
    { cat c5.err >&2; fail "c5: not refused for its shared rootfs"; }
run_ctr c6
grep -q "container $ID-c6: /.*c6/rootfs (.*shared with the host: notifications" mon.log ||
    fail "c6: its rootfs not watched with notifications"
grep -q "container $ID-c6: /.*c6/rootfs/tmp (tmpfs.*(permission events, always allowed)" mon.log ||
    fail "c6: its own /tmp not watched with permission events"
x c6 /bin/busybox true || fail "c6: exec busybox"
ok "rootfs shared with the host: enforcement refused at the start, monitor mode by notifications"

# --- through the agent service: watched, re-attested by the monitor only -------------------
run_ctr c3
grep -q "container $ID-c3: allowed" ad.log || { cat ad.log >&2; fail "c3 not checked by the service"; }
grep -q "container $ID-c3: watched (monitor" mon.log || fail "c3 (service path) not watched"
x c3 /bin/busybox true || fail "c3: exec busybox"
n3=$(count "container $ID-c3: runtime evidence allowed")
c3_again() { [ "$(count "container $ID-c3: runtime evidence allowed")" -ge $((n3 + 2)) ]; }
until_ok 12 "c3 not re-attested by the monitor" c3_again
grep -q "container $ID-c3: re-attested" ad.log && fail "the service re-attests a watched container"
[ "$(field c3 verdict)" = allow ] || { curl -sS "$URL/v1/containers/$ID-c3" >&2; fail "c3 denied"; }
ok "service path: watched, re-attested by the monitor every 2 s (PCR 11 in the log), allow"

# --- the container ends: the monitor forgets it ---------------------------------------------
timeout 10 runc delete -f "$ID-c2" || fail "runc delete c2"
forgotten() { grep -q "container $ID-c2: no longer watched" mon.log; }
until_ok 5 "c2 not forgotten after it ended" forgotten
ok "ended container no longer watched"

# --- SIGTERM: the monitor stops cleanly (status 0; under ASan also no leak report) ----------
term_mon
[ "$mrc" = 0 ] || { sed -n "/Sanitizer/,\$p" mon.log | head -n 150 >&2; tail -n 5 mon.log >&2; fail "the monitor exited with $mrc"; }
grep -q "monitor: stopped (" mon.log || fail "the monitor did not log its stop"
ok "monitor stopped on SIGTERM: $(sed -n 's/.*monitor: stopped (\(.*\))/\1/p' mon.log)"
echo "t_runtime_integrity: all passed"
