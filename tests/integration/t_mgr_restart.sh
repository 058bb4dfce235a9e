#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Graceful stop/start keeps a vTPM's NV indices, persistent objects, PCRs and reset counter
# (resume, like Shutdown(STATE)/Startup(STATE)); a crash (kill -9) of the parent keeps every
# vTPM running in its worker (adopted by the next parent): NV writes, PCRs and reset counter,
# and no crash point of the state commit order is ever taken for a rollback.
. "$(dirname "$0")/lib.sh"
start_host_tpm
start_mgr
cd "$T"
U=$(create_vtpm --name r1)
S=$(json socket <create.json)
resets() { vt "$S" tpm2_readclock | sed -n 's/.*reset_count: *//p'; }

vt "$S" tpm2_nvdefine 0x01500001 -C o -s 32 -a "ownerread|ownerwrite" >/dev/null || fail nvdefine
printf 'persist-me-0123456789abcdef-XYZW' >nv.in
vt "$S" tpm2_nvwrite 0x01500001 -C o -i nv.in || fail nvwrite
vt "$S" tpm2_createprimary -C o -G ecc -c prim.ctx >/dev/null || fail createprimary
vt "$S" tpm2_evictcontrol -C o -c prim.ctx 0x81000005 >/dev/null || fail evictcontrol
vt "$S" tpm2_flushcontext -t >/dev/null 2>&1 || true
vt "$S" tpm2_pcrextend "16:sha256=$(printf x | sha256sum | cut -d' ' -f1)" || fail extend
vt "$S" tpm2_pcrread sha256:16 -o pcr.before >/dev/null
R0=$(resets)

stop_mgr
[ -f "$STATE/vtpm/$U/vol.enc" ] || fail "graceful stop wrote no volatile state"
start_mgr
[ -f "$STATE/vtpm/$U/vol.enc" ] && fail "volatile state not consumed at resume"
vt "$S" tpm2_nvread 0x01500001 -C o -o nv.out >/dev/null || fail "nvread after restart"
cmp -s nv.in nv.out || fail "NV content changed across restart"
vt "$S" tpm2_getcap handles-persistent | grep -qi 0x81000005 || fail "persistent object lost"
vt "$S" tpm2_pcrread sha256:16 -o pcr.after >/dev/null
cmp -s pcr.before pcr.after || fail "PCR 16 not resumed"
[ "$(resets)" = "$R0" ] || fail "reset counter changed on a graceful restart"
ok "graceful restart keeps NV, persistent objects, PCRs and reset counter"

# Crashes (kill -9 of the parent at random times) during streams of NV writes to two vTPMs
# (so that group commits hold stores of both): the workers outlive the parent and the next one
# adopts them, so every write is answered and durable (a held store is committed by the new
# parent), PCRs and the reset counter are untouched, and no crash point of the commit order
# (state files, manifest, host counter) is ever taken for a rollback.
U2=$(create_vtpm --name r2)
S2=$(json socket <create.json)
vt "$S" tpm2_nvdefine 0x01500002 -C o -s 8 -a "ownerread|ownerwrite" >/dev/null || fail nvdefine2
vt "$S2" tpm2_nvdefine 0x01500002 -C o -s 8 -a "ownerread|ownerwrite" >/dev/null || fail nvdefine3
WP0=$("$BIN/vtpmctl" info "$U" | json worker_pid)
WP2=$("$BIN/vtpmctl" info "$U2" | json worker_pid)
# writer SOCKET TAG: NV writes until ./stop; the last acknowledged number in acked.TAG, a
# failed one in failed.TAG.
writer() {
    n=0
    while [ ! -f stop ] && [ $n -lt 100000 ]; do
        printf '%08d' $n >"w.$2.$n"
        vt "$1" tpm2_nvwrite 0x01500002 -C o -i "w.$2.$n" >/dev/null 2>&1 || { echo $n >"failed.$2"; break; }
        echo $n >"acked.$2"; rm -f "w.$2.$n"; n=$((n + 1))
    done
}
check_acked() { # SOCKET TAG
    [ -f "failed.$2" ] && fail "NV write $(cat "failed.$2") of $2 failed across a parent crash"
    LAST=$(cat "acked.$2")
    [ "$LAST" -gt 3 ] || fail "too few writes ($LAST)"
    vt "$1" tpm2_nvread 0x01500002 -C o -o "got.$2" >/dev/null || fail "nvread after crash"
    GOT=$(cat "got.$2")
    [ "$GOT" -eq "$LAST" ] || fail "after crash $2 holds $GOT, last acknowledged $LAST"
}
for round in 1 2 3 4; do
    rm -f stop acked.a acked.b
    writer "$S" a & WA=$!
    writer "$S2" b & WB=$!
    sleep "$(awk -v r=$round 'BEGIN { srand(); printf "%.2f", 1 + rand() * 1.5 }')"
    kill -KILL "$MGR_PID"
    stop_mgr_kill
    kill -0 "$WP0" 2>/dev/null || fail "round $round: the worker died with its parent"
    start_mgr
    sleep 0.5
    touch stop
    wait "$WA" 2>/dev/null || true
    wait "$WB" 2>/dev/null || true
    for u in "$U" "$U2"; do
        st=$("$BIN/vtpmctl" info "$u" | json status)
        [ "$st" = live ] || fail "round $round: vtpm $u is $st after a crash ($("$BIN/vtpmctl" info "$u" | json error 2>/dev/null))"
    done
    [ "$("$BIN/vtpmctl" info "$U" | json worker_pid)" = "$WP0" ] || fail "round $round: worker not adopted"
    [ "$("$BIN/vtpmctl" info "$U2" | json worker_pid)" = "$WP2" ] || fail "round $round: worker of r2 not adopted"
    check_acked "$S" a
    check_acked "$S2" b
done
grep -q "rolled back" "$T/mgr.log" && fail "a parent crash was taken for a rollback: $(grep "rolled back" "$T/mgr.log" | head -n 1)"
[ "$(resets)" = "$R0" ] || fail "reset counter changed on a parent crash"
vt "$S" tpm2_pcrread sha256:16 -o pcr.crash >/dev/null
cmp -s pcr.before pcr.crash || fail "PCR 16 reset by a parent crash"
vt "$S" tpm2_nvread 0x01500001 -C o -o nv.out2 >/dev/null && cmp -s nv.in nv.out2 || fail "older NV lost"
ok "4 x kill -9 of the parent during NV writes of 2 vTPMs: workers adopted, acknowledged writes kept, PCRs and reset counter unchanged, never rolled-back"

# A worker killed alone is replaced; its vTPMs come back from durable state.
WP=$("$BIN/vtpmctl" info "$U" | json worker_pid)
kill -KILL "$WP"
i=0
while [ "$("$BIN/vtpmctl" info "$U" | json worker_pid)" = "$WP" ]; do
    i=$((i + 1)); [ $i -lt 100 ] || fail "worker not replaced"; sleep 0.1
done
vt "$S" tpm2_nvread 0x01500001 -C o -o nv.out3 >/dev/null && cmp -s nv.in nv.out3 || fail "NV after worker kill"
ok "worker kill -9: replaced, state intact"
# A worker that no parent adopts within VTPM_WORKER_ADOPT_MS exits by itself; its vTPMs then
# cold-start from their durable state (reset counter up, NV kept).
stop_mgr
export VTPM_WORKER_ADOPT_MS=1500
start_mgr
unset VTPM_WORKER_ADOPT_MS
R1=$(resets)
WP=$("$BIN/vtpmctl" info "$U" | json worker_pid)
alive() { _st=$(sed -n 's/^[0-9]* (.*) \(.\) .*/\1/p' "/proc/$1/stat" 2>/dev/null); [ -n "$_st" ] && [ "$_st" != Z ]; }
alive "$WP" || fail "no worker"
kill -KILL "$MGR_PID"
stop_mgr_kill
i=0
while alive "$WP"; do
    i=$((i + 1)); [ $i -lt 100 ] || fail "worker $WP still running 10 s after its parent died"
    sleep 0.1
done
start_mgr
vt "$S" tpm2_nvread 0x01500001 -C o -o nv.out4 >/dev/null && cmp -s nv.in nv.out4 || fail "NV after an unadopted worker"
[ "$(resets)" -gt "$R1" ] || fail "reset counter did not show the cold start"
ok "worker not adopted within VTPM_WORKER_ADOPT_MS: exited by itself; the vTPM cold-started from disk"
stop_mgr
echo "t_mgr_restart: all passed"
