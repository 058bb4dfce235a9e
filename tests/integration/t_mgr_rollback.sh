#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Rollback of vTPM state (docs/state-format.md, "Rollback manifest"): an older perm.enc copied
# back, an older vol.enc replayed, the whole state directory (files + manifest) copied back,
# the host TPM's counter deleted. Each time the vTPM is reported rolled-back, its socket does
# not serve and its files are left as they are; a neighbour is unaffected where it can be.
# Then a crash at each point of the commit order: never taken for a rollback.
. "$(dirname "$0")/lib.sh"
start_host_tpm
start_mgr
cd "$T"
U=$(create_vtpm --name victim)
S=$(json socket <create.json)
U2=$(create_vtpm --name neighbour)
S2=$(json socket <create.json)
D=$STATE/vtpm/$U
status() { "$BIN/vtpmctl" info "$1" | json status; }
nvw() { printf '%s' "$2" >nv.in && vt "$1" tpm2_nvwrite 0x01500020 -C o -i nv.in; }
nvr() { vt "$1" tpm2_nvread 0x01500020 -C o -s 8 -o nv.out >/dev/null 2>&1 && cat nv.out; }
served() { vt "$1" tpm2_getrandom 8 >/dev/null 2>&1; }

vt "$S" tpm2_nvdefine 0x01500020 -C o -s 8 -a "ownerread|ownerwrite" >/dev/null || fail nvdefine
nvw "$S" OLDVALUE || fail "nvwrite old"
vt "$S" tpm2_pcrextend "16:sha256=$(printf a | sha256sum | cut -d' ' -f1)" || fail extend
stop_mgr
mkdir old
cp -p "$D/perm.enc" "$D/vol.enc" old/ || fail "no state files to copy"
cp -p "$STATE/state.manifest" old/ 2>/dev/null || true # checked in step 4

start_mgr
nvw "$S" NEWVALUE || fail "nvwrite new"
vt "$S" tpm2_pcrextend "16:sha256=$(printf b | sha256sum | cut -d' ' -f1)" || fail extend2
vt "$S2" tpm2_nvdefine 0x01500020 -C o -s 8 -a "ownerread|ownerwrite" >/dev/null ||
    fail "neighbour nvdefine"
nvw "$S2" NEIGHBOR || fail "neighbour nvwrite"
stop_mgr
cp -p "$D/perm.enc" perm.new

# 1. An older perm.enc copied back while the daemon is stopped.
cp -p old/perm.enc "$D/perm.enc"
start_mgr
[ "$(status "$U")" = rolled-back ] || fail "older perm.enc not detected (status $(status "$U"))"
"$BIN/vtpmctl" info "$U" | json error | grep -q "perm.enc is generation" || fail "no reason given"
[ -e "$S" ] && fail "a rolled-back vTPM has a socket"
served "$S" && fail "a rolled-back vTPM was served"
[ "$(status "$U2")" = live ] || fail "neighbour not live"
[ "$(nvr "$S2")" = NEIGHBOR ] || fail "neighbour lost its NV"
cmp -s old/perm.enc "$D/perm.enc" || fail "the rolled-back file was changed"
ok "older perm.enc: rolled-back, not served, left as it is; neighbour served"

# The operator restores the latest file: the same vTPM is served with its latest NV.
stop_mgr
cp -p perm.new "$D/perm.enc"
start_mgr
[ "$(status "$U")" = live ] || fail "restored latest perm.enc not served"
[ "$(nvr "$S")" = NEWVALUE ] || fail "restored vTPM does not hold its latest NV"
ok "latest perm.enc put back: served with its latest NV"

# 2. While the daemon runs: the file is rolled back and the worker dies (the parent reloads).
cp -p "$D/perm.enc" perm.new
cp -p old/perm.enc "$D/perm.enc"
WP=$("$BIN/vtpmctl" info "$U" | json worker_pid)
kill -KILL "$WP"
i=0
until [ "$(status "$U")" = rolled-back ]; do
    i=$((i + 1)); [ $i -lt 100 ] || fail "rollback under a running daemon not detected"; sleep 0.1
done
[ -e "$S" ] && fail "a vTPM rolled back at run time kept its socket"
served "$S" && fail "a rolled-back vTPM was served after the worker restart"
ok "older perm.enc under a running daemon: rolled-back at the worker's restart"
stop_mgr
cp -p perm.new "$D/perm.enc"

# 3. An older volatile state replayed after a crash of the whole service, workers included
#    (a parent-only crash is 3b): it would bring back older PCRs.
start_mgr
[ "$(status "$U")" = live ] || fail "vTPM not live again"
stop_mgr_kill
kill_workers
cp -p "$D/perm.enc" perm.new
cp -p old/vol.enc "$D/vol.enc"
start_mgr
[ "$(status "$U")" = rolled-back ] || fail "replayed vol.enc not detected (status $(status "$U"))"
"$BIN/vtpmctl" info "$U" | json error | grep -q "vol.enc" || fail "no reason given for vol.enc"
served "$S" && fail "a vTPM with a replayed volatile state was served"
[ "$(status "$U2")" = live ] || fail "neighbour not live (vol replay)"
ok "older vol.enc replayed: rolled-back, not served; neighbour served"
stop_mgr
rm -f "$D/vol.enc"

# 3b. The files rolled back while only the parent is dead: the worker kept running, its
#     memory is the latest state. The next parent adopts it (the rollback checks pass: the
#     manifest and the counter agree), never loads the old files (the replayed vol.enc is
#     removed, perm.enc logged as rolled back behind the running vTPM), and the vTPM's next
#     store replaces perm.enc, so that a later restart from disk finds the latest state.
start_mgr
WP=$("$BIN/vtpmctl" info "$U" | json worker_pid)
vt "$S" tpm2_pcrread sha256:16 -o pcr.live >/dev/null || fail "pcrread"
stop_mgr_kill
cp -p old/perm.enc "$D/perm.enc"
cp -p old/vol.enc "$D/vol.enc"
start_mgr
[ "$(status "$U")" = live ] || fail "3b: adopted vTPM is $(status "$U")"
[ "$("$BIN/vtpmctl" info "$U" | json worker_pid)" = "$WP" ] || fail "3b: worker not adopted"
[ -e "$D/vol.enc" ] && fail "3b: a replayed vol.enc left beside an adopted vTPM"
grep -q "rolled back while the vTPM ran" "$T/mgr.log" || fail "3b: the rolled-back perm.enc was not reported"
[ "$(nvr "$S")" = NEWVALUE ] || fail "3b: the adopted vTPM lost its latest NV"
vt "$S" tpm2_pcrread sha256:16 -o pcr.adopted >/dev/null || fail "pcrread"
cmp -s pcr.live pcr.adopted || fail "3b: PCR 16 changed: old state was loaded"
nvw "$S" ADOPTED1 && nvw "$S" NEWVALUE || fail "3b: store after adoption"
kill -KILL "$WP"
i=0
while [ "$("$BIN/vtpmctl" info "$U" | json worker_pid)" = "$WP" ]; do
    i=$((i + 1)); [ $i -lt 100 ] || fail "3b: worker not replaced"; sleep 0.1
done
[ "$(status "$U")" = live ] || fail "3b: restart from disk after adoption: $(status "$U")"
[ "$(nvr "$S")" = NEWVALUE ] || fail "3b: restart from disk lost the NV"
ok "files rolled back under a running worker (parent crashed): adopted, old files never used, replaced by the next store"

# 4. The whole state directory rolled back: older perm.enc and older manifest together, while
#    the parent is dead and its workers run: the next parent checks before it adopts, adopts
#    nothing and stops them.
stop_mgr_kill
WPS=$(worker_pids)
[ -n "$WPS" ] || fail "no worker outlived the parent"
cp -p "$D/perm.enc" perm.new
cp -p "$STATE/state.manifest" mf.new 2>/dev/null || true
cp -p old/perm.enc "$D/perm.enc"
cp -p old/state.manifest "$STATE/state.manifest" || fail "no manifest was written"
start_mgr
for wp in $WPS; do # killed: gone, or a zombie until its reaper (not us) collects it
    st=$(sed -n 's/^[0-9]* (.*) \(.\) .*/\1/p' "/proc/$wp/stat" 2>/dev/null)
    [ -n "$st" ] && [ "$st" != Z ] && fail "worker $wp of a rolled-back directory still runs"
done
[ "$(status "$U")" = rolled-back ] || fail "rolled-back directory not detected"
"$BIN/vtpmctl" info "$U" | json error | grep -q "state directory was rolled back" ||
    fail "no reason given for the directory"
served "$S" && fail "a vTPM of a rolled-back directory was served"
served "$S2" && fail "nothing of a rolled-back directory can be proven the latest"
"$BIN/vtpmctl" create --name more >/dev/null 2>&1 && fail "create accepted in a rolled-back directory"
ok "older perm.enc + older manifest (workers running): none adopted, every vTPM rolled-back, nothing served, no create"
stop_mgr
cp -p perm.new "$D/perm.enc"
cp -p mf.new "$STATE/state.manifest"

# 4b. A deleted vTPM's directory copied back.
start_mgr
U3=$(create_vtpm --name gone)
stop_mgr
cp -a "$STATE/vtpm/$U3" gone.copy
start_mgr
"$BIN/vtpmctl" delete "$U3" >/dev/null || fail "delete"
stop_mgr
cp -a gone.copy "$STATE/vtpm/$U3"
start_mgr
[ "$(status "$U3")" = rolled-back ] || fail "a deleted vTPM put back is $(status "$U3")"
"$BIN/vtpmctl" info "$U3" | json error | grep -q "removed vTPM put back" || fail "no reason (put back)"
[ "$(status "$U")" = live ] || fail "victim not live beside a put-back vTPM"
ok "a deleted vTPM's directory put back: rolled-back"
stop_mgr
rm -rf "${STATE:?}/vtpm/$U3"

# 5. The host TPM's counter deleted (as a TPM2_Clear would): refused with a clear reason.
TPM2TOOLS_TCTI="$HOST_TCTI" tpm2_nvundefine -C o 0x01000a10 || fail "nvundefine"
start_mgr
[ "$(status "$U")" = rolled-back ] || fail "missing counter not detected"
"$BIN/vtpmctl" info "$U2" | json error | grep -q "host TPM cleared" || fail "unclear reason"
served "$S2" && fail "served without the counter"
ok "counter deleted: nothing served ($(grep 'rollback check' "$T/mgr.log" | tail -n 1 | cut -c1-100)...)"
stop_mgr

# The operator takes the state as it is: served again.
"$BIN/vtpm-mgr" --accept-state --state-dir "$STATE" --host-tcti "$HOST_TCTI" \
    --seal-pcrs sha256:16 >>"$T/mgr.log" 2>&1 || fail "--accept-state failed"
start_mgr
[ "$(status "$U")" = live ] && [ "$(status "$U2")" = live ] || fail "not live after --accept-state"
[ "$(nvr "$S")" = NEWVALUE ] || fail "NV after --accept-state"
ok "--accept-state: counter re-created, both vTPMs served"
# 6. A crash at each point of the commit order (the daemon dies there by itself, as with
#    kill -9): after the state file, after the manifest, after the counter's increment. The
#    next start never reports a rollback; the NV holds the write in flight or the one before
#    (the write in flight was not acknowledged).
#    The worker outlives the parent and holds the store: the write is answered only once the
#    next parent took the re-sent store through its own group commit (manifest, counter).
n=0
for point in before-manifest before-increment after-increment; do
    n=$((n + 1))
    stop_mgr
    export VTPM_MGR_FAULT=$point
    start_mgr
    unset VTPM_MGR_FAULT
    rm -f nvw.done
    ( nvw "$S" "CRASH00$n" && touch nvw.done ) & NVW=$!
    i=0
    while kill -0 "$MGR_PID" 2>/dev/null; do
        i=$((i + 1)); [ $i -lt 100 ] || fail "$point: the daemon did not die there"; sleep 0.1
    done
    grep -q "VTPM_MGR_FAULT=$point: dying here" "$T/mgr.log" || fail "$point: not reached"
    stop_mgr_kill
    sleep 1
    [ -f nvw.done ] && fail "$point: the write was acknowledged while no parent had committed it"
    C0=$(grep -c "finishing the state commit" "$T/mgr.log" || true)
    start_mgr
    wait "$NVW"
    [ -f nvw.done ] || fail "$point: the held write failed after adoption"
    for u in "$U" "$U2"; do
        [ "$(status "$u")" = live ] || fail "$point: vtpm $u is $(status "$u") after the crash"
    done
    GOT=$(nvr "$S")
    [ "$GOT" = "CRASH00$n" ] || fail "$point: NV holds '$GOT'"
    if [ $point = before-increment ]; then
        [ "$(grep -c "finishing the state commit" "$T/mgr.log")" -gt "$C0" ] ||
            fail "the interrupted commit was not finished"
    fi
done
ok "crash after the file, after the manifest, after the increment: never rolled-back; the held write acknowledged after the next parent's commit"
stop_mgr
echo "t_mgr_rollback: all passed"
