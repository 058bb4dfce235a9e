#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# 50 vTPMs in one daemon (several per worker, state swapping) used in interleaved order each
# keep their own PCR values; then a graceful restart keeps all of them.
. "$(dirname "$0")/lib.sh"
start_host_tpm
start_mgr --instances-per-worker 8
cd "$T"
N=50
i=0
while [ $i -lt $N ]; do
    create_vtpm --name "c$i" >/dev/null || fail "create c$i"
    json socket <create.json >"sock.$i"
    i=$((i + 1))
done
W=$("$BIN/vtpmctl" list | python3 -c 'import json,sys; print(len({v["worker_pid"] for v in json.load(sys.stdin)}))')
[ "$W" -ge 7 ] || fail "expected >= 7 workers for 50 vTPMs at 8 per worker, got $W"
ok "$N vTPMs in $W workers"

dig() { printf '%s-%s' "$1" "$2" | sha256sum | cut -d' ' -f1; }
# round 1 in ascending, round 2 in descending order: every extend lands on a swapped-out TPM
for round in 1 2; do
    order=$(seq 0 $((N - 1)))
    [ $round -eq 2 ] && order=$(seq $((N - 1)) -1 0)
    for i in $order; do
        vt "$(cat sock.$i)" tpm2_pcrextend "16:sha256=$(dig $i $round)" || fail "extend $i"
    done
done
# Expected PCR 16 of vTPM i after its two extends, computed once for all.
for i in $(seq 0 $((N - 1))); do echo "$(dig $i 1) $(dig $i 2)"; done | python3 -c "
import hashlib, sys
for line in sys.stdin:
    v = bytes(32)
    for d in line.split():
        v = hashlib.sha256(v + bytes.fromhex(d)).digest()
    print(v.hex())" >expected
check_all() {
    for i in $(seq 0 $((N - 1))); do
        vt "$(cat sock.$i)" tpm2_pcrread sha256:16 -o p.bin >/dev/null || fail "pcrread $i"
        [ "$(od -An -tx1 -v p.bin | tr -d ' \n')" = "$(sed -n "$((i + 1))p" expected)" ] ||
            fail "vTPM $i has a foreign PCR 16 ($1)"
    done
}
check_all "before restart"
ok "$N vTPMs keep their own PCRs in interleaved use"
stop_mgr
start_mgr --instances-per-worker 8
check_all "after restart"
ok "all PCRs survive a graceful restart"
stop_mgr
echo "t_mgr_many: all passed"
