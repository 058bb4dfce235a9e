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
. "$(dirname "$0")/runtime_lib.sh"

start_host_tpm
start_mgr
cd "$T" || fail "cd $T"
ID=ra-$$

own_bundle a1
allow_bundle a1 policy.json
edit policy.json "c['runtime'] = {'drift': 'alert'}"
mkdir trust && cp "$HOST/ek-ca.pem" trust/ || fail "trust/"

start_rx 120
start_verifier policy.json trust --reattest-interval 120 \
    --notify-url "http://127.0.0.1:$(cat rx.port)/hook"

start_mon --reattest-interval 1
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
hook_monitor a1
run_ctr a1

alerts() { if [ -f rx.log ]; then grep -c '"event":"runtime-drift-alert"' rx.log || true; else echo 0; fi; }

x a1 /bin/busybox cp /bin/busybox /tmp/sh || fail "a1: cp to /tmp"
x a1 /tmp/sh -c true || fail "a1: /tmp/sh did not run"
alerted() { [ "$(alerts)" -ge 1 ]; }
until_ok 10 "no runtime-drift-alert at the webhook" alerted
grep '"event":"runtime-drift-alert"' rx.log | grep "\"$ID-a1\"" | grep -q 'runtime-drift:/tmp/sh' ||
    { cat rx.log >&2; fail "the alert does not name a1 and runtime-drift:/tmp/sh"; }
grep '"event":"runtime-drift-alert"' rx.log | grep -q '"verdict":"allow"' ||
    fail "the alert's verdict is not allow"
grep -q "container $ID-a1: runtime drift (alert only): /tmp/sh" vf.log || fail "no alert in the verifier's log"
[ "$(field a1 verdict)" = allow ] || fail "a1 denied in alert mode"
ok "alert mode: /tmp/sh gives a runtime-drift-alert notification, the verdict stays allow"

# the monitor re-sends the same log every second: no second alert, no revocation
n=$(count "container $ID-a1: runtime evidence allowed")
again() { [ "$(count "container $ID-a1: runtime evidence allowed")" -ge $((n + 3)) ]; }
until_ok 15 "a1 not re-attested three more times" again
sleep 1.2 # the sweeper delivers once a second
[ "$(alerts)" = 1 ] || { cat rx.log >&2; fail "$(alerts) alert notifications, not 1"; }
grep -q '"revoked"' rx.log && fail "a revocation in alert mode"
[ "$(field a1 verdict)" = allow ] || fail "a1 denied after re-attestation"
ok "re-attestations with the same log: still one alert, no revocation, allow"

# SIGTERM: the monitor and its network process stop (status 0)
term_mon
[ "$mrc" = 0 ] || { tail -n 5 mon.log >&2; fail "the monitor exited with $mrc"; }
! kill -0 "$net" 2>/dev/null || fail "the network process outlived the monitor"
ok "monitor and network process stopped on SIGTERM"
echo "t_runtime_alert: all passed"
