#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# vtpm-test: serial (deadlines and delays measured in wall time)
# The slow host TPM (swtpm-ci/slowtpm, docs/slowtpm.md): plain swtpm stays the default; with
# SLOW_TPM the proxy counts a known tpm2-tools sequence exactly (by command, by key algorithm,
# signatures, control commands) and SIGUSR1 zeroes the counts; the delays of the table are
# applied per command and key algorithm, one command at a time across concurrent clients
# (lower bounds only: a noisy machine can make things slower, never faster); bad input
# (oversized or undersized frames, half requests, clients that vanish, unknown control
# commands, bad tables and settings) is refused with a clear error while other clients
# are served.
. "$(dirname "$0")/lib.sh"
SLOWBIN=$BIN/slowtpm
[ -x "$SLOWBIN" ] || fail "$SLOWBIN missing (make all)"
cd "$T"
unset SLOW_TPM SLOW_TPM_TABLE

# counts FIELD [DIR]: a top-level number of DIR/counts; sub-maps as "commands.Quote".
counts() {
    python3 - "${2:-$HOST}/counts" "$1" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
for k in sys.argv[2].split('.', 1) if '.' in sys.argv[2] and not sys.argv[2].startswith('.') else [sys.argv[2]]:
    d = d.get(k, 0) if isinstance(d, dict) else 0
print(d)
EOF
}
ms() { echo $(($(date +%s%N) / 1000000)); }

# zero [DIR]: SIGUSR1 to the proxy, then wait (bounded) until its file shows the reset.
zero() {
    _d=${1:-$HOST}
    _r=$(counts resets "$_d")
    kill -USR1 "$(cat "$_d/slowtpm.pid")"
    _i=0
    until [ "$(counts resets "$_d")" -gt "$_r" ]; do
        _i=$((_i + 1)); [ $_i -lt 100 ] || fail "counts not zeroed within 10 s of SIGUSR1"
        sleep 0.1
    done
}

# --- the default stays plain swtpm; bad settings are refused -----------------------------
start_host_tpm
[ ! -e "$HOST/counts" ] && [ ! -e "$HOST/slowtpm.pid" ] || fail "SLOW_TPM unset started a proxy"
grep -q "host-tpm.sock" "/proc/$(cat "$HOST/swtpm.pid")/cmdline" ||
    fail "SLOW_TPM unset: swtpm does not serve host-tpm.sock itself"
sh "$ROOT/swtpm-ci/host-tpm-stop.sh" "$HOST"
if SLOW_TPM=slow sh "$ROOT/swtpm-ci/host-tpm-start.sh" "$T/bad" >bad.out 2>&1; then
    fail "SLOW_TPM=slow accepted"
fi
grep -q "SLOW_TPM='slow'" bad.out || fail "SLOW_TPM=slow: message does not name the setting: $(cat bad.out)"
ok "plain swtpm without SLOW_TPM; SLOW_TPM=slow refused, naming the setting"

# --- exact counts of a known sequence (profile none) ---------------------------------------
SLOW_TPM=none sh "$ROOT/swtpm-ci/host-tpm-start.sh" "$HOST" >host.log 2>&1 || { cat host.log >&2; fail "SLOW_TPM=none start"; }
[ "$(counts total)" -eq 0 ] || fail "the start script's own commands were counted"
[ "$(counts profile)" = none ] || fail "profile not none in the counts"
export TPM2TOOLS_TCTI="$(cat "$HOST/tcti")"
echo hello >msg
A="fixedtpm|fixedparent|sensitivedataorigin|userwithauth|sign"
tpm2_getrandom -o /dev/null 16 && tpm2_getrandom -o /dev/null 16 || fail getrandom
tpm2_pcrextend "16:sha256=$(printf '%064d' 1)" || fail pcrextend
tpm2_createprimary -C o -G ecc256:ecdsa-sha256 -a "$A" -c k.ctx >/dev/null || fail createprimary
tpm2_flushcontext -t
tpm2_quote -c k.ctx -l sha256:16 -q 1122 -m q.msg -s q.sig >/dev/null || fail quote
tpm2_flushcontext -t
tpm2_sign -c k.ctx -g sha256 -o s.sig msg || fail sign
tpm2_flushcontext -t
tpm2_nvdefine 0x1500020 -C o -s 8 -a "ownerread|ownerwrite|nt=counter" >/dev/null || fail nvdefine
tpm2_nvincrement 0x1500020 -C o && tpm2_nvincrement 0x1500020 -C o || fail nvincrement
tpm2_nvread 0x1500020 -C o -s 8 >/dev/null || fail nvread
tpm2_nvundefine 0x1500020 -C o || fail nvundefine
# What tpm2-tools 5.4 / tpm2-tss 3.2.1 send for this: each tool asks GetCapability once per
# ESYS context (the TCTI sets locality 0 at each of its 14 inits), ESYS reads the public
# area or NV public area of what it uses (ReadPublic, NV_ReadPublic), starts one HMAC session
# per authorized command and flushes it, tpm2_sign hashes first (Hash). libtpms answers the
# first ECDSA signature after start-up with TPM_RC_RETRY (its algorithm self-test) and ESYS
# resubmits: 2 Quote commands, 1 signature. NV_Read of a counter: one.
cat >want.json <<'EOF'
{"commands": {"ContextLoad": 2, "ContextSave": 1, "CreatePrimary": 1, "FlushContext": 11,
  "GetCapability": 15, "GetRandom": 2, "Hash": 1, "NV_DefineSpace": 1, "NV_Increment": 2,
  "NV_Read": 1, "NV_ReadPublic": 8, "NV_UndefineSpace": 1, "PCR_Extend": 1, "Quote": 2,
  "ReadPublic": 5, "Sign": 1, "StartAuthSession": 8},
 "by_alg": {"CreatePrimary/ecc": 1, "Quote/ecc": 1, "Sign/ecc": 1},
 "signatures": 2, "total": 63, "ctrl": {"SET_LOCALITY": 14}}
EOF
python3 - "$HOST/counts" want.json <<'EOF' || fail "counts differ from the known sequence"
import json, sys
got, want = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
bad = [(k, got.get(k), v) for k, v in want.items() if got.get(k) != v]
for k, g, w in bad:
    print("%s: got %s, want %s" % (k, g, w), file=sys.stderr)
sys.exit(1 if bad else 0)
EOF
ok "profile none: exact counts of a tpm2-tools sequence (63 commands, 2 signatures, by key algorithm)"
zero
[ "$(counts total)" -eq 0 ] && [ "$(counts signatures)" -eq 0 ] && [ "$(counts commands.Quote)" -eq 0 ] ||
    fail "SIGUSR1 did not zero the counts"
tpm2_getrandom -o /dev/null 8 || fail "getrandom after zeroing"
[ "$(counts commands.GetRandom)" -eq 1 ] || fail "counting did not go on after SIGUSR1"
ok "SIGUSR1 zeroes the counts (resets $(counts resets)); counting goes on"

# --- bad input: refused, the proxy keeps serving -----------------------------------------
SOCK=$HOST/host-tpm.sock
bad() { # KIND: one misbehaving client; prints what it saw
    timeout 20 python3 - "$SOCK" "$1" <<'EOF'
import socket, struct, sys, time
path, kind = sys.argv[1], sys.argv[2]
def conn(p):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM); s.settimeout(10); s.connect(p); return s
def answer(s, want=None):  # one frame (by its size field), or all until the peer closes
    data = b''
    try:
        while True:
            c = s.recv(4096)
            if not c: break
            data += c
            if want and len(data) >= want: break
            if not want and len(data) >= 10 and len(data) >= struct.unpack('>I', data[2:6])[0]: break
    except (ConnectionResetError, socket.timeout):
        pass
    return data
getrandom = struct.pack('>HIIH', 0x8001, 12, 0x17b, 8)
if kind == 'huge':        # header announces 100000 bytes
    s = conn(path); s.sendall(struct.pack('>HII', 0x8001, 100000, 0x17b) + b'\0' * 64)
    print('closed' if answer(s) == b'' else 'answered')
elif kind == 'tiny':      # header announces 6 bytes
    s = conn(path); s.sendall(struct.pack('>HII', 0x8001, 6, 0x17b))
    print('closed' if answer(s) == b'' else 'answered')
elif kind == 'two':       # a second request before the first answer
    s = conn(path); s.sendall(getrandom + getrandom)
    print('closed' if answer(s) == b'' else 'answered')
elif kind == 'badtag':    # forwarded: the TPM itself answers with an error
    s = conn(path); s.sendall(struct.pack('>HIIH', 0x1234, 12, 0x17b, 8))
    d = answer(s); rc = struct.unpack('>I', d[6:10])[0] if len(d) >= 10 else 0
    print('tpm-error' if rc else 'closed or success')
elif kind == 'vanish':    # sends a command and leaves before the answer
    s = conn(path); s.sendall(getrandom); s.close(); print('gone')
elif kind == 'ctrl':      # an unknown control command
    s = conn(path + '.ctrl'); s.sendall(struct.pack('>I', 0x99))
    d = answer(s, 4); print('ctrl 0x%x' % struct.unpack('>I', d[:4])[0] if len(d) == 4 else 'ctrl %r' % d)
elif kind == 'stall':     # half a header, kept open while someone else is served
    s = conn(path); s.sendall(b'\x80\x01\x00'); time.sleep(3); print('stalled')
EOF
}
rej0=$(counts rejected)
[ "$(bad huge)" = closed ] || fail "a 100000-byte frame was not refused"
[ "$(bad tiny)" = closed ] || fail "a 6-byte frame was not refused"
[ "$(bad two)" = closed ] || fail "two requests in one write were not refused"
[ "$(bad ctrl)" = "ctrl 0xa" ] || fail "an unknown control command got no TPM_BAD_ORDINAL"
[ "$(bad badtag)" = "tpm-error" ] || fail "a bad tag did not reach the TPM (want its error answer)"
[ "$(bad vanish)" = gone ] || fail "vanish client"
[ "$(counts rejected)" -eq $((rej0 + 4)) ] || fail "rejected count $(counts rejected), want $((rej0 + 4))"
bad stall >stall.out &
STALL=$!
at_exit "kill $STALL 2>/dev/null"
sleep 0.5
timeout 10 tpm2_getrandom -o /dev/null 8 || fail "a half-sent request of another client blocks the TPM"
wait $STALL || true
kill -0 "$(cat "$HOST/slowtpm.pid")" || fail "the proxy died of bad input"
# Every connection slot taken (256) by idle clients for 3 s: the proxy must wait, not spin
# (CPU time well under the 3 s; spinning burns a core), and a client queued behind them in
# the listen backlog is served once they leave.
SPID=$(cat "$HOST/slowtpm.pid")
cpu() { awk '{ print $14 + $15 }' "/proc/$SPID/stat"; }
c0=$(cpu)
timeout 20 python3 - "$SOCK" <<'EOF' &
import socket, sys, time
held = []
for i in range(260):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM); s.connect(sys.argv[1]); held.append(s)
time.sleep(3)
EOF
HOLD=$!
sleep 1
timeout 20 tpm2_getrandom -o /dev/null 8 || fail "a client behind 256 idle connections was never served"
wait $HOLD || fail "could not hold 260 connections"
c1=$(cpu)
[ $((c1 - c0)) -lt 50 ] || fail "the proxy used $((c1 - c0)) ticks of CPU while every slot was taken: a busy loop"
grep -q "announces 100000 bytes" "$HOST/slowtpm.log" || fail "no log line naming the oversized frame"
ok "bad input refused with a log line (oversized, undersized, two at once, unknown control command); bad tag answered by the TPM; vanished and stalled clients do not stop others"

sh "$ROOT/swtpm-ci/host-tpm-stop.sh" "$HOST"
[ ! -e "$SOCK" ] && [ ! -e "$HOST/slowtpm.pid" ] && [ ! -e "$HOST/swtpm.pid" ] || fail "stop left sockets or PID files"
ok "host-tpm-stop.sh stops the proxy and swtpm, sockets removed"

# --- bad tables: refused at start, naming file and line -----------------------------------
tbl() { printf 'command\talg\tt\tsource\n%s\n' "$1" >bad.tsv; }
refuse() { # ROW MESSAGE
    tbl "$1"
    if "$SLOWBIN" --listen "$T/x.sock" --upstream "$T/none.sock" --counts "$T/x.json" \
        --profile t --table bad.tsv >tbl.out 2>&1; then fail "table row '$1' accepted"; fi
    grep -q "bad.tsv:2: $2" tbl.out || fail "table row '$1': $(cat tbl.out)"
}
refuse "$(printf 'Qoute\t*\t1\tx')" "unknown command 'Qoute'"
refuse "$(printf 'Quote\tdsa\t1\tx')" "alg 'dsa'"
refuse "$(printf 'Quote\tecc\t-5\tx')" "'-5' is not a delay"
refuse "$(printf 'Quote\tecc\t1e9\tx')" "'1e9' is not a delay"
refuse "$(printf 'Quote\tecc\t5\t')" "the source column is empty"
refuse "$(printf 'Quote\tecc\t5')" "3 fields"
refuse "$(printf '*\tecc\t5\tx')" "the default row"
tbl "$(printf 'Quote\tecc\t5\tx')"
"$SLOWBIN" --listen "$T/x.sock" --upstream "$T/none.sock" --counts "$T/x.json" --profile fast \
    --table bad.tsv >tbl.out 2>&1 && fail "a missing profile column accepted"
grep -q "no profile 'fast'" tbl.out || fail "missing profile: $(cat tbl.out)"
"$SLOWBIN" --listen "$T/x.sock" --upstream "$T/none.sock" --counts "$T/x.json" --profile fast \
    >tbl.out 2>&1 && fail "a profile without a table accepted"
# The shipped table loads for both profiles.
for p in fast p95; do
    "$SLOWBIN" --listen "$T/$(printf '%0100d' 0)" --upstream x --counts x --profile $p \
        --table "$ROOT/swtpm-ci/slowtpm-profiles.tsv" >tbl.out 2>&1 && fail "an over-long path accepted"
    grep -q "socket path too long" tbl.out || fail "shipped table, profile $p: $(cat tbl.out)"
done
sh "$ROOT/swtpm-ci/slowtpm-doc.sh" --check || fail "docs/slowtpm.md does not show the shipped table"
ok "bad tables refused at start with file:line; the shipped table loads (fast, p95) and docs/slowtpm.md shows it"

# --- delays: per command and key algorithm, one command at a time --------------------------
# A table of our own, large delays: only lower bounds are checked (noise adds, never removes).
printf 'command\talg\tt\tsource\n' >t.tsv
printf 'GetRandom\t*\t500\ttest\nCreatePrimary\tecc\t300\ttest\nCreatePrimary\trsa\t1500\ttest\n*\t*\t0\ttest\n' >>t.tsv
SLOW_TPM=fast SLOW_TPM_TABLE=$T/t.tsv sh "$ROOT/swtpm-ci/host-tpm-start.sh" "$HOST" >host.log 2>&1 &&
    fail "profile fast accepted with a table that has no column fast"
sed -i '1s/\tt\t/\tfast\t/' t.tsv
SLOW_TPM=fast SLOW_TPM_TABLE=$T/t.tsv sh "$ROOT/swtpm-ci/host-tpm-start.sh" "$HOST" >host.log 2>&1 ||
    { cat host.log >&2; fail "SLOW_TPM=fast with the test table"; }
t0=$(ms); tpm2_createprimary -C o -G ecc -c e.ctx >/dev/null || fail "createprimary ecc"; t1=$(ms)
tpm2_flushcontext -t
t2=$(ms); tpm2_createprimary -C o -G rsa -c r.ctx >/dev/null || fail "createprimary rsa"; t3=$(ms)
tpm2_flushcontext -t
[ $((t1 - t0)) -ge 300 ] || fail "CreatePrimary/ecc answered in $((t1 - t0)) ms, its delay is 300"
[ $((t3 - t2)) -ge 1500 ] || fail "CreatePrimary/rsa answered in $((t3 - t2)) ms, its delay is 1500"
[ "$(counts by_alg.CreatePrimary/ecc)" -eq 1 ] && [ "$(counts by_alg.CreatePrimary/rsa)" -eq 1 ] ||
    fail "CreatePrimary not counted by key algorithm"
ok "delays by key algorithm: CreatePrimary ecc $((t1 - t0)) ms (>= 300), rsa $((t3 - t2)) ms (>= 1500)"

# Four clients at once, each one GetRandom of 500 ms: served one after the other, so the
# last answer comes at least 4 x 500 ms after the first request (in parallel: ~500 ms).
zero
t0=$(ms)
pids=""
for n in 1 2 3 4; do
    timeout 30 tpm2_getrandom -o "r$n" 8 &
    pids="$pids $!"
done
for p in $pids; do wait "$p" || fail "a concurrent client failed"; done
t1=$(ms)
[ "$(counts commands.GetRandom)" -eq 4 ] || fail "GetRandom count $(counts commands.GetRandom), want 4"
[ $((t1 - t0)) -ge 2000 ] || fail "4 concurrent GetRandom of 500 ms took $((t1 - t0)) ms: not one at a time"
[ "$(counts max_waiting)" -ge 1 ] || fail "the clients never waited behind each other"
ok "4 concurrent clients served one at a time: $((t1 - t0)) ms (>= 2000), up to $(counts max_waiting) waiting"

# A client arriving while a slow command is in service waits for it: its answer comes at
# least the slow command's delay after the slow command was sent.
t0=$(ms)
timeout 30 tpm2_createprimary -C o -G rsa -c r2.ctx >/dev/null &
SLOWCMD=$!
_i=0
until [ "$(counts by_alg.CreatePrimary/rsa)" -ge 1 ]; do # in service (counted when forwarded)
    _i=$((_i + 1)); [ $_i -lt 100 ] || fail "the slow command never reached the TPM"; sleep 0.05
done
timeout 30 tpm2_getrandom -o /dev/null 8 || fail "getrandom behind a slow command"
t1=$(ms)
wait $SLOWCMD || fail "createprimary rsa (concurrent)"
[ $((t1 - t0)) -ge 2000 ] || fail "a GetRandom behind a 1500 ms command answered after $((t1 - t0)) ms"
ok "a command arriving during a slow one waits for it ($((t1 - t0)) ms >= 1500 + 500)"
sh "$ROOT/swtpm-ci/host-tpm-stop.sh" "$HOST"
