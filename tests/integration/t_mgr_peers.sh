#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Peers are judged by their namespaces, not by uid alone, from real runc containers: a
# container running as uid 0 without a user namespace, with a read-only bind of vtpm-mgr's run
# directory (a Unix socket connects on a read-only mount), is refused on the control socket and
# on vTPMs it was not given; the container a vTPM is bound to uses it, another container does
# not, also across a kill -9 of vtpm-mgr's parent; host root uses every vTPM; vTPMs of different
# owners never share a worker. Prints the cost of one connection (connect + TPM2_GetRandom)
# with the per-connection peer check.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/attest_lib.sh"
command -v runc >/dev/null 2>&1 || { echo "skip: runc not installed"; exit 77; }
command -v busybox >/dev/null 2>&1 || { echo "skip: busybox not installed"; exit 77; }
SP=$BUILD/tests/sockpeer-static
[ -x "$SP" ] || fail "$SP not built (make all)"
start_host_tpm
start_mgr
cd "$T"

A=$(create_vtpm --name a)                      # root's, tenant default
B=$(create_vtpm --name b --tenant other)       # root's, another tenant
C=$(create_vtpm --name c --owner 12345:12345)  # another owner, tenant default
sock() { echo "/run/vtpm-mgr/vtpm/$1/tpm.sock"; }

# A container as runc's default spec runs it (the launch policy is not in play here: no hook),
# plus what the attack needs: root (uid 0, no user namespace) and the run directory bound
# read-only.
base_bundle "$T/ctr"
cp "$SP" "$T/ctr/rootfs/bin/sockpeer"
python3 -c 'import json,sys
f=sys.argv[1]; c=json.load(open(f))
c["mounts"].append({"destination": "/run/vtpm-mgr", "type": "bind", "source": sys.argv[2],
                    "options": ["rbind", "ro"]})
c["process"]["user"] = {"uid": 0, "gid": 0}
caps = ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]  # runc spec default
c["process"]["capabilities"] = {k: caps for k in ("bounding", "effective", "permitted")}
assert not any(n["type"] == "user" for n in c["linux"]["namespaces"])
json.dump(c, open(f, "w"), indent=1)' "$T/ctr/config.json" "$RUN" || fail "bundle"
ID1=peers-$$-1 ID2=peers-$$-2
start_ctr() {
    CTRS="$CTRS $1"
    timeout 30 runc run -d --bundle "$T/ctr" "$1" </dev/null >"$T/$1.log" 2>&1 ||
        { cat "$T/$1.log" >&2; fail "runc run $1"; }
}
in_ctr() { id=$1; shift; timeout 30 runc exec "$id" /bin/sockpeer "$@"; }
start_ctr "$ID1"
start_ctr "$ID2"
P1=$(timeout 10 runc state "$ID1" | json pid)

# ---- the control socket ----
r=0; in_ctr "$ID1" ctl /run/vtpm-mgr/vtpm-mgr.sock || r=$?
[ $r -eq 3 ] || fail "container root on the control socket: exit $r (3 = refused)"
grep -q "control: refused peer .*uid 0 .*not in the daemon's pid and mount namespaces" \
    "$T/mgr.log" || fail "control refusal not logged with its reason"
"$BIN/vtpmctl" list >/dev/null || fail "host root refused on the control socket"
ok "control socket: container root refused (reason logged), host root served"

# ---- vTPM sockets of vTPMs the container was not given ----
for v in "$A" "$B"; do
    r=0; in_ctr "$ID1" tpm "$(sock "$v")" || r=$?
    [ $r -eq 3 ] || fail "container root on vTPM $v: exit $r (3 = refused)"
done
# Another owner's directory is 0700: without CAP_DAC_OVERRIDE connect() fails already (4).
r=0; in_ctr "$ID1" tpm "$(sock "$C")" || r=$?
[ $r -eq 3 ] || [ $r -eq 4 ] || fail "container root on another owner's vTPM: exit $r"
r=0; in_ctr "$ID1" ctrl "$(sock "$A").ctrl" || r=$?
[ $r -eq 3 ] || fail "container root on vTPM a's control channel: exit $r"
grep -q "vtpm $A: refused data peer .*uid 0: in another container" "$T/mgr.log" ||
    fail "vTPM refusal not logged with its reason"
ok "vTPM sockets: container root refused on unbound vTPMs of its own and other tenants/owners"

# ---- the container a vTPM is given to ----
"$BIN/vtpmctl" bind a --bind-pid "$P1" >bind.json || fail "bind"
[ "$(json bound <bind.json)" = True ] || fail "bind not reported"
in_ctr "$ID1" tpm "$(sock "$A")" >/dev/null || fail "the bound container cannot use its vTPM"
in_ctr "$ID1" ctrl "$(sock "$A").ctrl" >/dev/null || fail "the bound container: control channel"
r=0; in_ctr "$ID1" tpm "$(sock "$B")" || r=$?
[ $r -eq 3 ] || fail "the bound container reached another tenant's vTPM: exit $r"
r=0; in_ctr "$ID2" tpm "$(sock "$A")" || r=$?
[ $r -eq 3 ] || fail "another container reached a bound vTPM: exit $r"
ok "bound container uses its vTPM (data, control); not others'; another container not it"
"$BIN/vtpmctl" bind a --bind-pid 999999999 >/dev/null 2>&1 && fail "bind to a missing pid"
"$BIN/vtpmctl" bind a >/dev/null 2>&1 && fail "bind without a pid"
in_ctr "$ID1" tpm "$(sock "$A")" >/dev/null || fail "a failed bind dropped the binding"

# Moving the vTPM to another container takes it from the first at once, also from a process
# that keeps connecting (remembered admissions are forgotten).
in_ctr "$ID1" tpm "$(sock "$A")" 100000 >loop.out 2>&1 &
LOOP=$!
sleep 0.5
"$BIN/vtpmctl" bind a --bind-pid "$(timeout 10 runc state "$ID2" | json pid)" >/dev/null ||
    fail "re-bind"
i=0; while kill -0 $LOOP 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
kill -0 $LOOP 2>/dev/null && { kill $LOOP; fail "the old container still served after re-bind"; }
r=0; wait $LOOP || r=$?
[ $r -eq 3 ] || fail "connection loop across re-bind ended with $r: $(cat loop.out)"
in_ctr "$ID2" tpm "$(sock "$A")" >/dev/null || fail "the new container cannot use the vTPM"
ok "re-bind moves the vTPM: the old container's running client refused within 10 s"

# ---- a kill -9 of the parent: the binding and the worker keys survive it ----
# The binding lives in the parent; the next parent restores it (same pid, start time and
# namespaces), so the bound container keeps its vTPM. A connection accepted while there is
# no parent is neither admitted nor refused: it waits for the next parent's verdict.
WA0=$("$BIN/vtpmctl" info a | json worker_pid)
WC0=$("$BIN/vtpmctl" info c | json worker_pid)
kill -KILL "$MGR_PID"
stop_mgr_kill
in_ctr "$ID2" tpm "$(sock "$A")" >gap2.out 2>&1 & GAP2=$!
in_ctr "$ID1" tpm "$(sock "$A")" >gap1.out 2>&1 & GAP1=$!
sleep 1
kill -0 $GAP2 2>/dev/null || fail "a connection without a parent was answered: $(cat gap2.out)"
kill -0 $GAP1 2>/dev/null || fail "a connection without a parent was answered: $(cat gap1.out)"
start_mgr
r=0; wait $GAP2 || r=$?
[ $r -eq 0 ] || fail "the bound container's connection during the crash: exit $r ($(cat gap2.out))"
r=0; wait $GAP1 || r=$?
[ $r -eq 3 ] || fail "another container's connection during the crash: exit $r (3 = refused)"
grep -q "vtpm $A: binding to pid .* restored" "$T/mgr.log" || fail "binding not restored"
[ "$("$BIN/vtpmctl" info a | json worker_pid)" = "$WA0" ] || fail "worker of a not adopted"
in_ctr "$ID2" tpm "$(sock "$A")" >/dev/null || fail "the bound container lost its vTPM across a parent crash"
r=0; in_ctr "$ID1" tpm "$(sock "$A")" || r=$?
[ $r -eq 3 ] || fail "after the crash another container reached a bound vTPM: exit $r"
E=$(create_vtpm --name e --owner 12345:12345)
[ "$("$BIN/vtpmctl" info e | json worker_pid)" = "$WC0" ] || fail "owner 12345's new vTPM not in its adopted worker"
[ "$("$BIN/vtpmctl" info e | json worker_pid)" != "$WA0" ] || fail "owners share an adopted worker"
ok "parent kill -9: binding restored, the bound container keeps its vTPM (a connection made meanwhile waits for the verdict), adopted workers keep their (tenant, owner)"

# ---- host root, every vTPM ----
for v in "$A" "$B" "$C"; do
    vt "$RUN/vtpm/$v/tpm.sock" tpm2_getrandom 8 >/dev/null || fail "host root on vTPM $v"
done
ok "host root (tpm2-tools) uses every vTPM"

# ---- workers: one tenant and one owner each ----
wa=$("$BIN/vtpmctl" info a | json worker_pid)
wc=$("$BIN/vtpmctl" info c | json worker_pid)
[ "$wa" != "$wc" ] || fail "vTPMs of different owners share worker $wa"
D=$(create_vtpm --name d)
[ "$("$BIN/vtpmctl" info d | json worker_pid)" = "$wa" ] || fail "same tenant+owner not packed"
ok "owners apart without --tenant (a: worker $wa, c: worker $wc); same owner packed"

# ---- cost of the per-connection check ----
echo "connect + TPM2_GetRandom, one connection each (tpm2-tss swtpm TCTI pattern):"
h=$("$BUILD/tests/sockpeer" tpm "$RUN/vtpm/$D/tpm.sock" 400) || fail "host bench"
c=$(in_ctr "$ID2" tpm "$(sock "$A")" 400) || fail "container bench"
echo "  host root:       $h"
echo "  bound container: $c"
stop_mgr
echo "t_mgr_peers: all passed"
