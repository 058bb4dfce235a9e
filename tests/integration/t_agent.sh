#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# attest-agent against a real vtpm-mgr: `measure` output, `evidence` extends PCRs 8/9/10 of a
# vTPM exactly as its event log replays, tpm2_checkquote accepts the quote, the AK persists;
# the hook fails closed (no verifier, a stalled verifier) and removes the vTPM it created.
. "$(dirname "$0")/lib.sh"
AGENT=$BIN/attest-agent
SHOW=$BUILD/tests/evidence_show
NONCE=000102030405060708090a0b0c0d0e0f1011121314151617
STALL_PID=

stop_stall() {
    [ -n "$STALL_PID" ] || return 0
    kill "$STALL_PID" 2>/dev/null || true
    wait "$STALL_PID" 2>/dev/null || true
    STALL_PID=
}
at_exit stop_stall

# make_bundle DIR: busybox-static rootfs and a config.json (runc spec when runc exists).
make_bundle() {
    mkdir -p "$1/rootfs/bin"
    cp "$(command -v busybox)" "$1/rootfs/bin/busybox"
    ln -s busybox "$1/rootfs/bin/sh"
    if command -v runc >/dev/null 2>&1; then
        (cd "$1" && runc spec)
    else
        cat >"$1/config.json" <<'JSON'
{"ociVersion": "1.0.2", "root": {"path": "rootfs", "readonly": true},
 "process": {"args": ["sh"], "cwd": "/", "user": {"uid": 0, "gid": 0}, "noNewPrivileges": true,
   "capabilities": {"bounding": ["CAP_KILL"], "effective": ["CAP_KILL"], "permitted": ["CAP_KILL"]}},
 "linux": {"namespaces": [{"type": "pid"}, {"type": "network"}, {"type": "ipc"},
   {"type": "uts"}, {"type": "mount"}, {"type": "cgroup"}]}}
JSON
    fi
}

command -v busybox >/dev/null 2>&1 || { echo "busybox missing"; exit 77; }
RUNTIME=$(command -v runc || command -v sh)
start_host_tpm
start_mgr
cd "$T"
make_bundle b

# measure: no TPM, stable, and sensitive to the rootfs.
"$AGENT" measure --bundle b --runtime "$RUNTIME" >m1.json || fail "measure"
"$AGENT" measure --bundle b --runtime "$RUNTIME" >m2.json || fail "measure (2)"
cmp -s m1.json m2.json || fail "measure is not deterministic"
for k in rootfs_digest config_digest runtime_digest agent_digest; do
    json "$k" <m1.json | grep -Eq '^[0-9a-f]{64}$' || fail "measure: $k missing"
done
[ "$(json config_digest <m1.json)" = "$(sha256sum b/config.json | cut -d' ' -f1)" ] ||
    fail "config_digest is not SHA-256 of config.json"
[ "$(json runtime_digest <m1.json)" = "$(sha256sum "$RUNTIME" | cut -d' ' -f1)" ] ||
    fail "runtime_digest is not SHA-256 of the runtime binary"
[ "$(json agent_digest <m1.json)" = "$(sha256sum "$AGENT" | cut -d' ' -f1)" ] ||
    fail "agent_digest is not SHA-256 of attest-agent"
echo x >b/rootfs/extra
"$AGENT" measure --bundle b --runtime "$RUNTIME" >m3.json || fail "measure (3)"
[ "$(json rootfs_digest <m1.json)" != "$(json rootfs_digest <m3.json)" ] ||
    fail "a new file does not change the rootfs digest"
rm b/rootfs/extra
mkdir bad
printf '{"root": ' >bad/config.json
if "$AGENT" measure --bundle bad 2>/dev/null; then fail "malformed config.json accepted"; fi
ok "measure: digests, determinism, rootfs sensitivity, malformed config refused"

# evidence: PCRs 8 to 11 of the vTPM (11: runtime records, none yet) = replay of the event log = what the quote covers.
U=$(create_vtpm)
S=$(sock_of "$U")
"$AGENT" evidence --run-dir "$RUN" --vtpm "$U" --nonce "$NONCE" --bundle b --out ev.cbor \
    --runtime "$RUNTIME" --container-id ctr-1 || fail "evidence"
mkdir x
"$SHOW" ev.cbor x >show.txt || fail "evidence does not parse or replay"
grep -q "^nonce: $NONCE" show.txt || fail "evidence nonce"
grep -q "^container_id: ctr-1" show.txt || fail "evidence container id"
grep -q "^vtpm_uuid: $U" show.txt || fail "evidence vTPM uuid"
grep -q "^registration: absent" show.txt || fail "offline evidence carries a registration"
grep -q "^types: rootfs runtime agent launch-config$" show.txt || fail "event log records"
vt "$S" tpm2_pcrread sha256:8,9,10,11 -o tpm-pcrs.bin >/dev/null || fail "pcrread"
cmp -s tpm-pcrs.bin x/pcrs.bin || fail "vTPM PCRs differ from the event-log replay"
for i in 8 9 10; do
    grep -q "^replay_$i: $(json pcrs <m1.json | json "$i")" show.txt ||
        fail "PCR $i: evidence replay differs from measure's prediction"
done
ok "PCRs 8/9/10 in the vTPM = event-log replay = measure's prediction"

tpm2_checkquote -u x/ak.pub -m x/quote.attest -s x/quote.sig -g sha256 -q "$NONCE" \
    -f x/pcrs.bin -l sha256:8,9,10,11 >/dev/null || fail "tpm2_checkquote rejects the quote"
if tpm2_checkquote -u x/ak.pub -m x/quote.attest -s x/quote.sig -g sha256 -q "${NONCE}00" \
    >/dev/null 2>&1; then fail "tpm2_checkquote accepts a wrong nonce"; fi
flip_byte x/pcrs.bin 40
if tpm2_checkquote -u x/ak.pub -m x/quote.attest -s x/quote.sig -g sha256 -q "$NONCE" \
    -f x/pcrs.bin -l sha256:8,9,10,11 >/dev/null 2>&1; then fail "checkquote accepts other PCRs"; fi
ok "tpm2_checkquote accepts the quote (nonce, PCR digest) and refuses altered inputs"

# The AK is persistent at 0x81010002 and is the key of the evidence; the EK cert is vtpm-mgr's.
vt "$S" tpm2_readpublic -c 0x81010002 -o ak-tpm.pub >ak-attrs.txt || fail "no persistent AK"
cmp -s ak-tpm.pub x/ak.pub || fail "evidence AK is not the persistent AK"
grep -q restricted ak-attrs.txt && grep -q sign ak-attrs.txt || fail "AK is not restricted signing"
"$BIN/vtpmctl" ek-cert "$U" | openssl x509 -outform DER >ek.der || fail "ek-cert"
cmp -s ek.der x/ek.der || fail "evidence EK certificate differs from vtpm-mgr's"
vt "$S" tpm2_getcap handles-transient >transient.txt || fail getcap
[ ! -s transient.txt ] || fail "agent left transient objects: $(cat transient.txt)"
ok "AK persistent and in the evidence, EK certificate from vtpm-mgr, no transient leftovers"

# A used vTPM is refused: its PCRs could not be explained by a new event log.
if "$AGENT" evidence --run-dir "$RUN" --vtpm "$U" --nonce "$NONCE" --bundle b --out ev2.cbor \
    --runtime "$RUNTIME" 2>err.txt; then fail "evidence on an extended vTPM"; fi
grep -q "already extended" err.txt || fail "no reason for refusing a used vTPM"
[ ! -e ev2.cbor ] || fail "evidence written despite the error"
ok "a vTPM with extended PCRs is refused"

# The hook fails closed and removes the vTPM it created when the verifier is unreachable.
BUNDLE=$T/b
state() { printf '{"ociVersion":"1.0.2","id":"%s","status":"creating","pid":%d,"bundle":"%s"}' \
    "$1" $$ "$BUNDLE"; }
before=$("$BIN/vtpmctl" list | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')
if state c2 | "$AGENT" hook --verifier http://127.0.0.1:9 --run-dir "$RUN" 2>hook.err; then
    fail "hook succeeded without a verifier"
fi
grep -q "must not start" hook.err || fail "hook gave no reason: $(cat hook.err)"
after=$("$BIN/vtpmctl" list | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')
[ "$before" = "$after" ] || fail "the hook left its vTPM behind ($before -> $after)"
if echo '{"id": 5}' | "$AGENT" hook --verifier http://127.0.0.1:9 --run-dir "$RUN" 2>/dev/null; then
    fail "hook accepted a malformed state"
fi
ok "hook: unreachable verifier and malformed state fail, created vTPM removed"

# A verifier that accepts and never answers: the hook ends within its --timeout.
python3 -c '
import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(8)
print(s.getsockname()[1], flush=True)
conns = []
while True:
    c, _ = s.accept(); conns.append(c)
' >stall.port &
STALL_PID=$!
i=0
while [ ! -s stall.port ]; do i=$((i + 1)); [ $i -lt 50 ] || fail "stall server"; sleep 0.1; done
start=$(date +%s%N)
if state c3 | "$AGENT" hook --verifier "http://127.0.0.1:$(cat stall.port)" --run-dir "$RUN" \
    --timeout 1 2>hook.err; then fail "hook succeeded against a stalled verifier"; fi
ms=$(( ($(date +%s%N) - start) / 1000000 ))
[ "$ms" -lt 1800 ] || fail "hook took $ms ms with --timeout 1"
stop_stall
ok "hook: stalled verifier -> failure after $ms ms (--timeout 1)"
