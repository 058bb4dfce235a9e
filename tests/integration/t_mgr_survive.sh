#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# 50 random kill -9 of the vtpm-mgr parent (some in the middle of its start, while it adopts
# workers) while clients extend PCRs and write NV on several vTPMs of two tenants: no command
# fails, no PCR is reset (PCR 16 is exactly the chain of acknowledged extends, reset counter
# unchanged), no acknowledged NV write is lost, every vTPM stays in its first worker, and no
# crash is ever reported as a rollback of the state.
. "$(dirname "$0")/lib.sh"
KILLS=${SURVIVE_KILLS:-50}
[ -n "${SURVIVE_LOG:-}" ] && at_exit "cp $T/mgr.log $SURVIVE_LOG"
start_host_tpm
start_mgr
cd "$T"
NV=0x01500010
D=$(printf survive | sha256sum | cut -d' ' -f1)
resets() { vt "$1" tpm2_readclock | sed -n 's/.*reset_count: *//p'; }

# Three vTPMs: two of tenant a (one worker), one of tenant b (another worker).
N=0
for ten in a a b; do
    N=$((N + 1))
    create_vtpm --name "s$N" --tenant "$ten" >"uuid.$N" || fail "create s$N"
    json socket <create.json >"sock.$N"
    S=$(cat "sock.$N")
    vt "$S" tpm2_nvdefine $NV -C o -s 8 -a "ownerread|ownerwrite" >/dev/null || fail "nvdefine s$N"
    vt "$S" tpm2_pcrread sha256:16 -o "pcr0.$N" >/dev/null || fail "pcrread s$N"
    resets "$S" >"resets0.$N"
    "$BIN/vtpmctl" info "$(cat "uuid.$N")" | json worker_pid >"wpid.$N"
done
[ "$(cat wpid.1)" = "$(cat wpid.2)" ] && [ "$(cat wpid.1)" != "$(cat wpid.3)" ] ||
    fail "expected tenants a and b in two workers"

# client I: extend PCR 16, then write the count to NV, until told to stop; any failure stops it.
client() {
    S=$(cat "sock.$1") n=0
    while [ ! -f stop ]; do
        vt "$S" tpm2_pcrextend "16:sha256=$D" >/dev/null 2>>"err.$1" || { echo "extend $((n + 1))" >"fail.$1"; return; }
        n=$((n + 1)); echo $n >"ext.$1"
        printf '%08d' $n >"val.$1"
        vt "$S" tpm2_nvwrite $NV -C o -i "val.$1" >/dev/null 2>>"err.$1" || { echo "nvwrite $n" >"fail.$1"; return; }
        echo $n >"nvack.$1"
    done
}
CLIENTS=
for i in 1 2 3; do client $i & CLIENTS="$CLIENTS $!"; done
at_exit "touch '$T/stop'; for p in $CLIENTS; do kill \$p 2>/dev/null; done"

# A random number of milliseconds in [$1, $2).
rnd_ms() { shuf -i "$1-$(($2 - 1))" -n 1; }
msleep() { sleep "$(printf '%d.%03d' $(($1 / 1000)) $(($1 % 1000)))"; }
launch() {
    "$BIN/vtpm-mgr" --foreground --state-dir "$STATE" --run-dir "$RUN" \
        --host-tcti "$HOST_TCTI" --host-ek-ca "$HOST/ek-ca.pem" --seal-pcrs sha256:16 \
        >>"$T/mgr.log" 2>&1 &
    MGR_PID=$!
}

# The test's host TPM is swtpm without a resource manager: what a killed parent had loaded
# stays loaded (the kernel's /dev/tpmrm0 of a real host flushes it when the parent dies).
flush_host() {
    for f in -t -l -s; do TPM2TOOLS_TCTI=$HOST_TCTI timeout 10 tpm2_flushcontext $f >/dev/null 2>&1 || true; done
}
kill_mgr() { kill -KILL "$MGR_PID"; wait "$MGR_PID" 2>/dev/null || true; MGR_PID=; flush_host; }

k=0 midstart=0 creates=0 CREATORS=
while [ $k -lt "$KILLS" ]; do
    # One kill in three lands while a vTPM is being created.
    if [ "$(rnd_ms 0 3)" = 0 ]; then
        timeout 20 "$BIN/vtpmctl" create --name "c$k" --tenant a >/dev/null 2>&1 &
        CREATORS="$CREATORS $!" creates=$((creates + 1))
        msleep "$(rnd_ms 0 300)"
    else
        msleep "$(rnd_ms 50 500)"
    fi
    kill_mgr
    k=$((k + 1))
    # One start in four is itself killed while it adopts the workers.
    if [ "$(rnd_ms 0 4)" = 0 ]; then
        launch
        msleep "$(rnd_ms 0 150)"
        kill_mgr
        midstart=$((midstart + 1))
    fi
    start_mgr
    for i in 1 2 3; do [ -f "fail.$i" ] && fail "client $i: $(cat "fail.$i") failed after $k kills: $(tail -n 3 "err.$i")"; done
done
sleep 1
touch stop
for p in $CLIENTS $CREATORS; do wait "$p" 2>/dev/null || true; done
CLIENTS=

for i in 1 2 3; do
    [ -f "fail.$i" ] && fail "client $i: $(cat "fail.$i") failed: $(tail -n 3 "err.$i")"
    S=$(cat "sock.$i") E=$(cat "ext.$i" 2>/dev/null || echo 0) W=$(cat "nvack.$i" 2>/dev/null || echo 0)
    [ "$E" -gt "$KILLS" ] || fail "client $i: only $E extends in $KILLS kills: the vTPM stalled"
    vt "$S" tpm2_pcrread sha256:16 -o "pcr1.$i" >/dev/null || fail "s$i: pcrread at the end"
    python3 -c 'import hashlib,sys
p=open(sys.argv[1],"rb").read(); d=bytes.fromhex(sys.argv[3])
for _ in range(int(sys.argv[4])): p=hashlib.sha256(p+d).digest()
sys.exit(0 if p==open(sys.argv[2],"rb").read() else 1)' "pcr0.$i" "pcr1.$i" "$D" "$E" ||
        fail "s$i: PCR 16 is not the chain of its $E acknowledged extends (a reset or a lost extend)"
    [ "$(resets "$S")" = "$(cat "resets0.$i")" ] || fail "s$i: reset counter went from $(cat "resets0.$i") to $(resets "$S")"
    vt "$S" tpm2_nvread $NV -C o -o "nv.$i" >/dev/null || fail "s$i: nvread at the end"
    [ "$(cat "nv.$i")" = "$(printf '%08d' "$W")" ] || fail "s$i: NV holds $(cat "nv.$i"), last acknowledged write $W"
    [ "$("$BIN/vtpmctl" info "$(cat "uuid.$i")" | json worker_pid)" = "$(cat "wpid.$i")" ] ||
        fail "s$i: no longer in its first worker $(cat "wpid.$i")"
    echo "  s$i: $E extends, $W NV writes, PCR 16 and reset counter as expected"
done
# The rollback checks ran at every start (manifest against the host counter, each vTPM's
# files against the manifest) and never took a crash for a rollback.
[ "$(grep -c "adopted (tenant" "$T/mgr.log")" -ge "$KILLS" ] || fail "fewer adoptions than kills"
if grep -E "rolled back|rollback check|not served" "$T/mgr.log" >rb.txt; then
    fail "a parent crash was reported as a rollback: $(head -n 2 rb.txt)"
fi
ok "$KILLS kill -9 of the parent ($midstart more during a start): 0 failed commands, 0 PCR resets, 0 lost NV writes, 0 rollbacks reported"

# Creations cut by a kill: each vTPM is either listed, live and answering, or gone without a
# trace; never half there.
"$BIN/vtpmctl" list >list.json || fail "list"
python3 -c 'import json,sys
for v in json.load(open(sys.argv[1])): print(v["uuid"], v["status"], v["socket"])' list.json >list.txt ||
    fail "vtpmctl list: unexpected output"
[ "$(wc -l <list.txt)" -ge 3 ] || fail "vtpmctl list lost vTPMs: $(cat list.txt)"
while read -r u st sock; do
    [ "$st" = live ] || fail "vTPM $u is $st after the crashes"
    vt "$sock" tpm2_getrandom 8 >/dev/null || fail "vTPM $u does not answer"
done <list.txt
for d in "$STATE"/vtpm/* "$STATE"/vtpm/.[!.]*; do
    [ -e "$d" ] || continue
    grep -q "^$(basename "$d") " list.txt || fail "state directory $(basename "$d") is not a listed vTPM"
done
for d in "$RUN"/vtpm/*; do
    [ -e "$d" ] || continue
    grep -q "^$(basename "$d") " list.txt || fail "run directory $(basename "$d") is not a listed vTPM"
done
ok "$creates creations cut by a kill: $(($(wc -l <list.txt) - 3)) completed and answer, the rest left nothing"

stop_mgr
[ -z "$(worker_pids)" ] || fail "workers left after a graceful stop: $(worker_pids)"
[ -z "$(ls -A "$RUN/workers")" ] || fail "worker records left after a graceful stop: $(ls -A "$RUN/workers")"
ok "graceful stop after the crashes ends every worker"
echo "t_mgr_survive: all passed"
