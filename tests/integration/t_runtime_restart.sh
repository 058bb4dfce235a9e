#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# A restarted runtime monitor (docs/runtime-integrity.md "Restarts"): `attest-agent monitor`
# keeps each watched container in its --state-dir (0600 files, atomic writes, one monitor per
# directory). After kill -9 and a restart it watches the container that still runs again:
# its log goes on from what PCR 11 of the vTPM holds, with an `exec-gap` record (judged by the
# policy's runtime.gap, here alert), so its quotes still replay and the verdict stays allow;
# an image binary run afterwards is still allowed and a copy of busybox in /tmp still revokes
# it. Under enforcement, /tmp/sh is refused before the kill and after the restart, and runs in
# the gap (nothing enforces while no monitor runs: what exec-gap stands for). A container that
# ended while no monitor ran is dropped; a second monitor on the same state directory is
# refused. The three containers are one image, whose manifest is kept once (one .img file); the
# per-container manifests an earlier monitor kept ("<key>.mf") are taken as that image.
. "$(dirname "$0")/lib.sh"
need_runc curl
. "$(dirname "$0")/attest_lib.sh"
. "$(dirname "$0")/runtime_lib.sh"
# the monitor is killed (kill -9 is what this test restarts it from)
stop_mon() { [ -z "$MON_PID" ] || { kill -KILL "$MON_PID" 2>/dev/null; wait "$MON_PID" 2>/dev/null || true; }; MON_PID=; }

start_host_tpm
start_mgr
cd "$T" || fail "cd $T"
ID=rr-$$

own_bundle r1
own_bundle r2
own_bundle r3
allow_bundle r1 policy.json
allow_rootfs policy.json r2 r3
edit policy.json "c['runtime'] = {'drift': 'deny', 'gap': 'alert'}"
mkdir trust && cp "$HOST/ek-ca.pem" trust/ || fail "trust/"
start_verifier policy.json trust --reattest-interval 120

STATE=$T/mstate
start_mon --reattest-interval 2
hook_monitor r1 r2 r3

edit r3/config.json "c.setdefault('annotations', {})['org.vtpm-attest.runtime'] = 'enforce'"
run_ctr r1
run_ctr r2
run_ctr r3
x r3 /bin/busybox cp /bin/busybox /tmp/sh || fail "r3: cp to /tmp"
if x r3 /tmp/sh -c true 2>/dev/null; then fail "r3: /tmp/sh ran under enforcement"; fi
den() { grep -c "container $ID-r3: exec of /tmp/sh (sha256:[0-9a-f]*) denied" mon.log || true; }
[ "$(den)" = 1 ] || fail "r3: the denial not logged"
x r1 /bin/busybox true || fail "r1: exec busybox"
n0=$(count "container $ID-r1: runtime evidence allowed")
allowed_after() { [ "$(count "container $ID-r1: runtime evidence allowed")" -gt "$1" ]; }
until_ok 10 "r1: no runtime evidence allowed" allowed_after 0
f=$(ls "$STATE"/*.ctr | head -n 1)
# r1, r2 and r3 are one image (the same busybox tree): one manifest file for the three
imgs=$(for b in r1 r2 r3; do "$AGENT" measure --bundle "$b" | json rootfs_digest; done | sort -u | wc -l)
[ "$imgs" = 1 ] || fail "r1, r2 and r3 are $imgs images, not one"
[ "$(ls "$STATE"/*.ctr | wc -l)" = 3 ] && [ "$(ls "$STATE"/*.img | wc -l)" = 1 ] ||
    { ls -la "$STATE" >&2; fail "not one state file per container and one manifest for their image"; }
[ "$(stat -c %a "$f")" = 600 ] && [ "$(stat -c %a "$STATE")" = 700 ] ||
    fail "state file or directory not private"
ok "state kept: $(ls "$STATE" | wc -l) files in --state-dir, 0600 in a 0700 directory"

# a second monitor on the same state directory is refused
if timeout 10 "$AGENT" monitor --verifier "$URL" --run-dir "$RUN" --monitor-socket "$T/m2.sock" \
    --state-dir "$STATE" >m2.log 2>&1; then fail "a second monitor used the same state dir"; fi
grep -q "another monitor holds it" m2.log || { cat m2.log >&2; fail "second monitor: wrong error"; }
ok "a second monitor on the same --state-dir refused"

# kill -9: no clean stop; r2 ends while no monitor runs, r1 execs during the gap
kill -KILL "$MON_PID"; wait "$MON_PID" 2>/dev/null || true; MON_PID=
timeout 10 runc delete -f "$ID-r2" || fail "runc delete r2"
# the state as a monitor before shared images left it: a manifest per container, "<key>.mf"
for f in "$STATE"/*.ctr; do cp "$STATE"/*.img "${f%.ctr}.mf" || fail "cp to ${f%.ctr}.mf"; done
rm -f "$STATE"/*.img
x r1 /bin/busybox true || fail "r1: exec with no monitor"
out=$(x r3 /tmp/sh -c 'echo gap-ran') || fail "r3: /tmp/sh did not run while no monitor ran"
[ "$out" = gap-ran ] || fail "r3: /tmp/sh printed '$out' in the gap"
start_mon --reattest-interval 2
grep -q "container $ID-r1: watched again (monitor" mon.log || { tail -n 20 mon.log >&2; fail "r1 not watched again"; }
grep -q "container $ID-r2 dropped: \(its process .* ended while no monitor ran\|process [0-9]* left cgroup\)" mon.log ||
    { tail -n 20 mon.log >&2; fail "r2 not dropped"; }
[ "$(ls "$STATE"/*.ctr | wc -l)" = 2 ] || fail "r2's state not removed"
[ "$(ls "$STATE"/*.img | wc -l)" = 1 ] && ! ls "$STATE"/*.mf >/dev/null 2>&1 ||
    { ls -la "$STATE" >&2; fail "the per-container manifests of an earlier monitor not taken as one image"; }
grep -q "container $ID-r3: watched again (enforce" mon.log || fail "r3 not enforced again"
if x r3 /tmp/sh -c true 2>/dev/null; then fail "r3: /tmp/sh ran under enforcement after the restart"; fi
[ "$(den)" = 2 ] || fail "r3: no denial after the restart"
x r3 /bin/busybox true || fail "r3: busybox refused after the restart"
ok "enforcement: /tmp/sh refused before the kill, ran in the gap (no monitor), refused again after the restart"
n1=$(count "container $ID-r1: runtime evidence allowed")
until_ok 10 "r1: no evidence allowed after the restart" allowed_after "$n1"
until_ok 10 "r1: not re-attested twice after the restart" allowed_after $((n1 + 1))
[ "$(field r1 verdict)" = allow ] || { curl -sS "$URL/v1/containers/$ID-r1" >&2; fail "r1 denied after the restart"; }
grep -q "container $ID-r1: runtime monitor gap (alert only)" vf.log ||
    fail "the verifier did not see the exec-gap record"
grep -q "runtime evidence failed\|not sent again\|PCR 11 may not" mon.log && fail "r1's evidence failed after the restart"
grep "$ID-r1" vf.log | grep -q "mismatch" && { grep "$ID-r1" vf.log >&2; fail "r1: a mismatch at the verifier"; }
ok "kill -9 and restart: r1 watched again, exec-gap recorded (alert), its log replays, allow; r2 dropped"

x r1 /bin/busybox ls / >/dev/null || fail "r1: busybox ls after the restart"
grep -q "container $ID-r1: exec /bin/busybox sha256:" mon.log || fail "no exec record"
n2=$(count "container $ID-r1: runtime evidence allowed")
until_ok 10 "r1: not re-attested after the image binary" allowed_after "$n2"
[ "$(field r1 verdict)" = allow ] || fail "r1: an image binary after the restart was denied"
ok "after the restart an image binary is still allowed"

drift_revoked r1 # after the restart
grep -q "container $ID-r1: exec /tmp/sh sha256:" mon.log || fail "/tmp/sh not recorded after the restart"
ok "after the restart /tmp/sh is still revoked (runtime-drift:/tmp/sh)"

# SIGTERM: the restarted monitor stops cleanly (status 0; under `make asan` also no leak of the
# containers it watched again), and keeps r1's and r3's state for the next one
term_mon
[ "$mrc" = 0 ] || { sed -n "/Sanitizer/,\$p" mon.log | head -n 100 >&2; fail "the monitor exited with $mrc"; }
[ "$(ls "$STATE"/*.ctr | wc -l)" = 2 ] || fail "the state was not kept at the stop"
ok "restarted monitor stopped on SIGTERM, state kept"

# The image's file lives while a container holds it. r3's saved mount point no longer exists
# (its state edited: "/tmp" -> "/tmq"), so r3 is dropped at the start after it took the image:
# r1, of the same image, is watched again whichever of the two is read first; an image file no
# container holds is removed at the start; once r1 ends, its image's file goes with its state.
f3=$(grep -l "$ID-r3" "$STATE"/*.ctr) || fail "r3's state file"
python3 - "$f3" <<'PYEOF' || fail "edit r3's state"
import sys
p = sys.argv[1]; b = open(p, "rb").read()
assert b.count(b"\x64/tmp") >= 1
open(p, "wb").write(b.replace(b"\x64/tmp", b"\x64/tmq", 1))
PYEOF
stale=$(printf '%064d' 7).img
echo stale >"$STATE/$stale" && chmod 600 "$STATE/$stale" || fail "stale image file"
n_again=$(count "container $ID-r1: watched again")
start_mon --reattest-interval 2
grep -q "state .* of container $ID-r3 dropped: its mount /tmq cannot be watched again" mon.log ||
    { tail -n 20 mon.log >&2; fail "r3 with a changed mount point not dropped"; }
[ "$(count "container $ID-r1: watched again")" -gt "$n_again" ] ||
    { tail -n 20 mon.log >&2; fail "r1 not watched again beside a dropped container of its image"; }
grep -q "monitor: state $stale held by no container: removed" mon.log && [ ! -e "$STATE/$stale" ] ||
    { tail -n 20 mon.log >&2; fail "a stale image file was not removed at the start"; }
[ "$(ls "$STATE"/*.ctr | wc -l)" = 1 ] && [ "$(ls "$STATE"/*.img | wc -l)" = 1 ] ||
    { ls -la "$STATE" >&2; fail "r3's state not dropped, or r1's image file gone"; }
timeout 10 runc delete -f "$ID-r3" || fail "runc delete r3"
timeout 10 runc delete -f "$ID-r1" || fail "runc delete r1"
r1_gone() { grep -q "container $ID-r1: no longer watched" mon.log; }
until_ok 10 "r1 not forgotten after it ended" r1_gone
! ls "$STATE"/*.ctr "$STATE"/*.img >/dev/null 2>&1 ||
    { ls -la "$STATE" >&2; fail "state left after the last container of the image ended"; }
ok "a container dropped at the start after taking the image leaves it to r1; a stale image file removed at the start; the image's file removed with its last container"
term_mon
[ "$mrc" = 0 ] || { sed -n "/Sanitizer/,\$p" mon.log | head -n 100 >&2; fail "the monitor exited with $mrc"; }
echo "t_runtime_restart: all passed"
