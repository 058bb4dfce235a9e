#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Graceful stop/start keeps a vTPM's NV indices, persistent objects, PCRs and reset counter
# (resume, like Shutdown(STATE)/Startup(STATE)); a crash (kill -9) keeps every acknowledged
# NV write, loses PCRs, shows in a higher reset counter, and is never taken for a rollback.
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

# Crash during streams of NV writes (two vTPMs, so that group commits hold stores of both):
# every write that tpm2_nvwrite reported done is durable, and no crash point of the commit
# order (state files, manifest, host counter) is ever taken for a rollback.
U2=$(create_vtpm --name r2)
S2=$(json socket <create.json)
vt "$S" tpm2_nvdefine 0x01500002 -C o -s 8 -a "ownerread|ownerwrite" >/dev/null || fail nvdefine2
vt "$S2" tpm2_nvdefine 0x01500002 -C o -s 8 -a "ownerread|ownerwrite" >/dev/null || fail nvdefine3
# writer SOCKET TAG: NV writes until one fails; the last acknowledged number in acked.TAG.
writer() {
    n=0
    while [ $n -lt 100000 ]; do
        printf '%08d' $n >"w.$2.$n"
        vt "$1" tpm2_nvwrite 0x01500002 -C o -i "w.$2.$n" >/dev/null 2>&1 || break
        echo $n >"acked.$2"; rm -f "w.$2.$n"; n=$((n + 1))
    done
}
check_acked() { # SOCKET TAG
    LAST=$(cat "acked.$2")
    [ "$LAST" -gt 3 ] || fail "too few writes before the crash ($LAST)"
    vt "$1" tpm2_nvread 0x01500002 -C o -o "got.$2" >/dev/null || fail "nvread after crash"
    GOT=$(cat "got.$2")
    # The last acknowledged write, or the one in flight when the daemon died.
    [ "$GOT" -eq "$LAST" ] || [ "$GOT" -eq $((LAST + 1)) ] ||
        fail "after crash $2 holds $GOT, last acknowledged $LAST"
}
for round in 1 2 3 4; do
    rm -f acked.a acked.b
    writer "$S" a & WA=$!
    writer "$S2" b & WB=$!
    sleep "$(awk -v r=$round 'BEGIN { srand(); printf "%.2f", 1.5 + rand() * 2 }')"
    kill -KILL "$MGR_PID"
    wait "$WA" 2>/dev/null || true
    wait "$WB" 2>/dev/null || true
    stop_mgr_kill
    start_mgr
    for u in "$U" "$U2"; do
        st=$("$BIN/vtpmctl" info "$u" | json status)
        [ "$st" = live ] || fail "round $round: vtpm $u is $st after a crash ($("$BIN/vtpmctl" info "$u" | json error 2>/dev/null))"
    done
    check_acked "$S" a
    check_acked "$S2" b
done
[ "$(resets)" -gt "$R0" ] || fail "reset counter did not show the crash"
vt "$S" tpm2_nvread 0x01500001 -C o -o nv.out2 >/dev/null && cmp -s nv.in nv.out2 || fail "older NV lost"
ok "4 x kill -9 during NV writes of 2 vTPMs: acknowledged writes kept, never rolled-back"

# A worker killed alone is replaced; its vTPMs come back from durable state.
WP=$("$BIN/vtpmctl" info "$U" | json worker_pid)
kill -KILL "$WP"
i=0
while [ "$("$BIN/vtpmctl" info "$U" | json worker_pid)" = "$WP" ]; do
    i=$((i + 1)); [ $i -lt 100 ] || fail "worker not replaced"; sleep 0.1
done
vt "$S" tpm2_nvread 0x01500001 -C o -o nv.out3 >/dev/null && cmp -s nv.in nv.out3 || fail "NV after worker kill"
ok "worker kill -9: replaced, state intact"
stop_mgr
echo "t_mgr_restart: all passed"
