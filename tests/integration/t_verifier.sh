#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# The verifier end to end without the attest-agent: evidence is built with tpm2-tools against a
# real vTPM (PCRs 8/9/10 extended per a CBOR event log from tests/tools/evidence_build), then
# `verifier verify` (allow, and each deny) and `verifier serve` (plain HTTP on a random port,
# then mutual TLS): registration by credential activation, nonce, evidence, replay, restart.
. "$(dirname "$0")/lib.sh"
command -v curl >/dev/null || { echo "curl missing"; exit 77; }
VF=$BIN/verifier
EB=$BUILD/tests/evidence_build
VF_PID=
ROOTFS=sha256:1111111111111111111111111111111111111111111111111111111111111111
RUNTIME=sha256:2222222222222222222222222222222222222222222222222222222222222222
at_exit stop_vf

start_host_tpm
start_mgr
cd "$T"
U=$(create_vtpm --name vf-1)
S=$(sock_of "$U")
"$BIN/vtpmctl" ek-cert "$U" | openssl x509 -outform DER -out ek.der || fail "ek-cert"
"$BIN/vtpmctl" host-chain --out chain >/dev/null || fail host-chain
mkdir trust other-trust
cp "$HOST/ek-ca.pem" trust/
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout other-trust/k.pem \
    -subj /CN=other -days 1 -out other-trust/ca.pem 2>/dev/null

# EK and AK inside the vTPM (no resource manager: flush transients after each tool).
vt "$S" tpm2_createek -G ecc -c ek.ctx -u ek.pub >/dev/null || fail createek
vt "$S" tpm2_flushcontext -t
vt "$S" tpm2_createak -C ek.ctx -c ak.ctx -G ecc -g sha256 -s ecdsa -u ak.pub -n ak.name >/dev/null ||
    fail createak
vt "$S" tpm2_flushcontext -t

# A fresh vTPM per evidence would be ideal; PCRs only grow, so each scenario that needs
# different measurements uses its own vTPM (same host chain).
extend_log() { # SOCK LOGFILE-args...
    s=$1; shift
    "$EB" log "$@" >digests.txt || fail "evidence_build log"
    while read -r pcr dg; do
        vt "$s" tpm2_pcrextend "$pcr:sha256=$dg" || fail pcrextend
    done <digests.txt
}
quote() { # SOCK NONCE
    vt "$1" tpm2_quote -c ak.ctx -l sha256:8,9,10 -q "$2" -m q.msg -s q.sig -g sha256 >/dev/null ||
        fail quote
    vt "$1" tpm2_flushcontext -t
    vt "$1" tpm2_pcrread sha256:8,9,10 -o pcrs.bin >/dev/null || fail pcrread
}
build() { # OUT NONCE [extra]
    out=$1 n=$2; shift 2
    "$EB" build --out "$out" --log log.cbor --nonce "$n" --ak-pub ak.pub --attest q.msg \
        --sig q.sig --pcrs pcrs.bin --ek-cert ek.der --chain chain --container c-1 --vtpm "$U" "$@" ||
        fail "evidence_build build"
}
"$VF" policy default >policy.json || fail "policy default"
"$VF" policy allow --policy policy.json --rootfs-digest "$ROOTFS" --runtime-digest "$RUNTIME" ||
    fail "policy allow"
grep -q "${ROOTFS#sha256:}" policy.json || fail "policy allow did not add the digest"
"$VF" policy allow --policy policy.json --rootfs-digest nothex 2>/dev/null && fail "bad digest accepted"

GOOD="--rootfs $ROOTFS --runtime $RUNTIME --cap CAP_NET_BIND_SERVICE"
N1=$(openssl rand -hex 32)
extend_log "$S" --out log.cbor $GOOD
quote "$S" "$N1"
build ev.cbor "$N1"
# VTPM_EVIDENCE_SEED_DIR=DIR keeps a copy (the fuzz corpus seed comes from here).
[ -z "${VTPM_EVIDENCE_SEED_DIR:-}" ] || cp ev.cbor "$VTPM_EVIDENCE_SEED_DIR/real-evidence.cbor"

# verify() EXPECTED-EXIT EVIDENCE [options]: runs verify, keeps its JSON in out.json.
verify() {
    want=$1 ev=$2; shift 2
    set +e; "$VF" verify --policy policy.json --trust trust "$@" "$ev" >out.json 2>vf.err; rc=$?; set -e
    [ "$rc" = "$want" ] || { cat out.json vf.err >&2; fail "verify $ev $*: exit $rc, want $want"; }
}
verify 1 ev.cbor
grep -q '"ak-not-registered"' out.json || fail "offline verify without registration must say so"
verify 0 ev.cbor --allow-unregistered-ak
grep -q '"verdict":"allow"' out.json || fail "allow expected: $(cat out.json)"
ok "offline verify: allow (with --allow-unregistered-ak), ak-not-registered otherwise"
# The offline binary does not load the service's libraries (docs/verifier.md "Binaries").
if ldd "$VF" | grep -E 'libmicrohttpd|libgnutls|libsqlite3|libpq|libcurl' >&2; then
    fail "verifier links the service's libraries; only verifier-serve should"
fi
ok "verifier (verify, policy, boot-policy) is linked without the service's libraries"
# libcrypto and jansson are linked in from their archives (Makefile VERIFIER_STATIC, installed
# by libssl-dev and libjansson-dev), and the binary stays hardened: PIE, full RELRO, no text
# relocations.
if ldd "$VF" | grep -E 'libcrypto|libjansson' >&2; then
    fail "verifier loads libcrypto or jansson at run time; the Makefile links them statically"
fi
readelf -d "$VF" | grep -q 'FLAGS_1.*NOW.*PIE' || fail "verifier is not a PIE bound now (-z now)"
readelf -lW "$VF" | grep -q GNU_RELRO || fail "verifier has no RELRO segment"
if readelf -d "$VF" | grep -q TEXTREL; then fail "verifier has text relocations"; fi
ok "verifier: libcrypto and jansson static, PIE with full RELRO"
deny_has() { grep -q "\"$1" out.json || { cat out.json >&2; fail "expected reason $1"; }; }

verify 1 ev.cbor --allow-unregistered-ak --trust other-trust
deny_has host-ek-untrusted
"$VF" verify --policy policy.json --trust trust ./nonexistent >/dev/null 2>&1 && fail "missing file"
head -c 100 ev.cbor >trunc.cbor
verify 2 trunc.cbor
ok "untrusted host EK CA denied; truncated evidence is an input error (exit 2)"

# A PCR extended after the quote: the PCR values sent no longer match the quote.
cp pcrs.bin pcrs.good
vt "$S" tpm2_pcrextend "8:sha256=$(printf x | sha256sum | cut -d' ' -f1)" || fail pcrextend
vt "$S" tpm2_pcrread sha256:8,9,10 -o pcrs.bin >/dev/null
build ev-late.cbor "$N1"
verify 1 ev-late.cbor --allow-unregistered-ak
deny_has pcr-digest-mismatch
deny_has eventlog-replay-mismatch
cp pcrs.good pcrs.bin
ok "PCR extended after the quote: pcr-digest-mismatch"

# A tampered event-log record (content changed after its digest was extended).
"$EB" log --out log-tampered.cbor $GOOD --tamper 2 >/dev/null
cp log.cbor log.good; cp log-tampered.cbor log.cbor
build ev-tamper.cbor "$N1"
cp log.good log.cbor
verify 1 ev-tamper.cbor --allow-unregistered-ak
deny_has eventlog-record-digest
ok "tampered event-log record: eventlog-record-digest"

# A forged EK certificate: the EK's key, signed by another CA.
openssl ecparam -name prime256v1 -genkey -noout -out forged.key
openssl req -new -x509 -key forged.key -subj /CN=forged -days 1 -out forged-ca.pem
openssl x509 -inform DER -in ek.der -noout -pubkey >ekpub.pem
openssl x509 -new -force_pubkey ekpub.pem -subj /CN=forged-ek -CA forged-ca.pem -CAkey forged.key \
    -days 1 -outform DER -out forged-ek.der 2>/dev/null ||
    openssl x509 -inform DER -in ek.der -CA forged-ca.pem -CAkey forged.key -days 1 -outform DER \
        -out forged-ek.der 2>/dev/null || fail "cannot forge"
"$EB" build --out ev-forged.cbor --log log.cbor --nonce "$N1" --ak-pub ak.pub --attest q.msg \
    --sig q.sig --pcrs pcrs.bin --ek-cert forged-ek.der --chain chain --container c-1 --vtpm "$U"
verify 1 ev-forged.cbor --allow-unregistered-ak
deny_has ek-cert-not-from-vtpm-ca
ok "forged EK certificate: ek-cert-not-from-vtpm-ca"

# RSA MakeCredential against a real TPM: the swtpm host TPM's EK is RSA 2048.
openssl rand 32 >host-secret.in
"$EB" makecred --ek-cert chain/host-ek.pem --ak-pub chain/host-ak.pub --credential host-secret.in \
    --out host-cred.blob || fail "makecred (RSA EK)"
"$BIN/vtpmctl" host-activate --credential host-cred.blob --out host-secret.out ||
    fail "the host TPM rejected the verifier's RSA credential"
cmp -s host-secret.in host-secret.out || fail "RSA credential activated to something else"
ok "software MakeCredential (RSA EK) activates in the host TPM"

# Policy denials need their own measurements, so their own vTPMs.
policy_case() { # NAME REASON log-args...
    name=$1 reason=$2; shift 2
    u=$(create_vtpm --name "vf-$name"); s=$(sock_of "$u")
    vt "$s" tpm2_createek -G ecc -c ek2.ctx >/dev/null; vt "$s" tpm2_flushcontext -t
    vt "$s" tpm2_createak -C ek2.ctx -c ak2.ctx -G ecc -g sha256 -s ecdsa -u ak2.pub >/dev/null
    vt "$s" tpm2_flushcontext -t
    "$BIN/vtpmctl" ek-cert "$u" | openssl x509 -outform DER -out ek2.der
    extend_log "$s" --out log2.cbor "$@"
    n=$(openssl rand -hex 32)
    vt "$s" tpm2_quote -c ak2.ctx -l sha256:8,9,10 -q "$n" -m q2.msg -s q2.sig -g sha256 >/dev/null
    vt "$s" tpm2_flushcontext -t
    vt "$s" tpm2_pcrread sha256:8,9,10 -o pcrs2.bin >/dev/null
    "$EB" build --out "ev-$name.cbor" --log log2.cbor --nonce "$n" --ak-pub ak2.pub --attest q2.msg \
        --sig q2.sig --pcrs pcrs2.bin --ek-cert ek2.der --chain chain --container "c-$name" --vtpm "$u"
    verify 1 "ev-$name.cbor" --allow-unregistered-ak
    [ "$(python3 -c 'import json,sys; print(len(json.load(open("out.json"))["reasons"]))')" = 1 ] ||
        { cat out.json >&2; fail "$name: exactly one reason expected"; }
    deny_has "$reason"
    ok "$name: $reason"
}
policy_case rootfs rootfs-digest-not-allowed --rootfs sha256:3333333333333333333333333333333333333333333333333333333333333333 --runtime "$RUNTIME" --cap CAP_NET_BIND_SERVICE
policy_case sysadmin capability-not-allowed:CAP_SYS_ADMIN $GOOD --cap CAP_SYS_ADMIN
policy_case hostnet host-namespace-forbidden:network $GOOD --host-ns network
policy_case nomem memory-limit-missing $GOOD --no-memory-limit

# --- the service, plain HTTP on a random port ---
DB=sqlite:$T/vf.db
start_vf() { # extra args
    rm -f port
    "$VF" serve --listen 127.0.0.1:0 --port-file port --db "$DB" --policy policy.json \
        --trust trust "$@" >>vf.log 2>&1 &
    VF_PID=$!
    wait_verifier
}
start_vf --insecure-no-tls
URL=http://127.0.0.1:$PORT
C="curl -sS --max-time 10"
$C "$URL/healthz" | grep -q '"ok"' || fail healthz
# Registration: credential made in software by the verifier, activated by the vTPM.
"$EB" register-req --out reg.cbor --ek-cert ek.der --ak-pub ak.pub --chain chain --vtpm "$U"
$C -H 'Content-Type: application/cbor' --data-binary @reg.cbor "$URL/v1/register" -o reg-resp.cbor \
    -w '%{http_code}' >code; [ "$(cat code)" = 200 ] || { cat reg-resp.cbor; fail "register: $(cat code)"; }
REG=$("$EB" cred --in reg-resp.cbor --out cred.blob) || fail "registration answer"
vt "$S" tpm2_startauthsession --policy-session -S session.ctx
vt "$S" tpm2_policysecret -S session.ctx -c e >/dev/null
vt "$S" tpm2_activatecredential -c ak.ctx -C ek.ctx -i cred.blob -o cred.out -P session:session.ctx \
    >/dev/null || fail "tpm2_activatecredential rejected the verifier's credential"
vt "$S" tpm2_flushcontext session.ctx; vt "$S" tpm2_flushcontext -t
[ "$(stat -c %s cred.out)" = 32 ] || fail "activated credential size"
"$EB" activate-req --out act.cbor --registration "$REG" --credential cred.out
$C -H 'Content-Type: application/cbor' --data-binary @act.cbor "$URL/v1/register/activate" \
    -o act-resp.cbor -w '%{http_code}' >code
[ "$(cat code)" = 200 ] || fail "activate: $(cat code) $(cat act-resp.cbor)"
ok "registration: the vTPM's ActivateCredential recovers the verifier's software MakeCredential (ECC EK)"
$C -H 'Content-Type: application/cbor' --data-binary @act.cbor "$URL/v1/register/activate" \
    -o /dev/null -w '%{http_code}' >code
[ "$(cat code)" = 404 ] || fail "a registration activates once"

post_evidence() { # FILE
    $C -H 'Content-Type: application/cbor' --data-binary @"$1" "$URL/v1/evidence" >resp.json
}
# The quote must be over a nonce the verifier issued.
N2=$($C "$URL/v1/nonce" | json nonce)
[ ${#N2} = 64 ] || fail "nonce"
# vTPM 1's PCR 8 holds an extra extend now; the service runs on a second vTPM.
U2=$(create_vtpm --name vf-serve); S2=$(sock_of "$U2")
"$BIN/vtpmctl" ek-cert "$U2" | openssl x509 -outform DER -out ek3.der
vt "$S2" tpm2_createek -G ecc -c ek3.ctx >/dev/null; vt "$S2" tpm2_flushcontext -t
vt "$S2" tpm2_createak -C ek3.ctx -c ak3.ctx -G ecc -g sha256 -s ecdsa -u ak3.pub >/dev/null
vt "$S2" tpm2_flushcontext -t
register() { # SOCK EKCTX AKCTX AKPUB EKDER UUID -> prints the registration id
    "$EB" register-req --out r.cbor --ek-cert "$5" --ak-pub "$4" --chain chain --vtpm "$6"
    $C -H 'Content-Type: application/cbor' --data-binary @r.cbor "$URL/v1/register" -o rr.cbor
    id=$("$EB" cred --in rr.cbor --out c.blob) || fail "register $6"
    vt "$1" tpm2_startauthsession --policy-session -S s.ctx
    vt "$1" tpm2_policysecret -S s.ctx -c e >/dev/null
    vt "$1" tpm2_activatecredential -c "$3" -C "$2" -i c.blob -o c.out -P session:s.ctx >/dev/null ||
        fail activatecredential
    vt "$1" tpm2_flushcontext s.ctx; vt "$1" tpm2_flushcontext -t
    "$EB" activate-req --out a.cbor --registration "$id" --credential c.out
    $C -H 'Content-Type: application/cbor' --data-binary @a.cbor "$URL/v1/register/activate" \
        -o /dev/null -w '%{http_code}' | grep -q 200 || fail "activate $6"
    echo "$id"
}
REG2=$(register "$S2" ek3.ctx ak3.ctx ak3.pub ek3.der "$U2")
extend_log "$S2" --out log3.cbor $GOOD
serve_evidence() { # SOCK NONCE OUT
    vt "$1" tpm2_quote -c ak3.ctx -l sha256:8,9,10 -q "$2" -m q3.msg -s q3.sig -g sha256 >/dev/null
    vt "$1" tpm2_flushcontext -t
    vt "$1" tpm2_pcrread sha256:8,9,10 -o pcrs3.bin >/dev/null
    "$EB" build --out "$3" --log log3.cbor --nonce "$2" --ak-pub ak3.pub --attest q3.msg --sig q3.sig \
        --pcrs pcrs3.bin --ek-cert ek3.der --chain chain --container web-1 --vtpm "$U2" \
        --registration "$REG2"
}
# Until the host AK is proven to live in the host EK's TPM, no evidence certified by it passes.
N1=$($C "$URL/v1/nonce" | json nonce)
serve_evidence "$S2" "$N1" ev-nohost.cbor
post_evidence ev-nohost.cbor
grep -q '"host-ak-not-registered"' resp.json || fail "unregistered host AK: $(cat resp.json)"
# Host registration: the verifier's credential for the host AK's name, made with the host EK's
# public key, comes back only from this host's TPM (vtpm-mgr host-activate).
$C -H 'Content-Type: application/cbor' --data-binary @reg.cbor "$URL/v1/hosts/register" \
    -o host-resp.cbor -w '%{http_code}' >code
[ "$(cat code)" = 200 ] || fail "host register: $(cat code) $(cat host-resp.cbor)"
HREG=$("$EB" cred --in host-resp.cbor --out host-cred.blob) || fail "host registration answer"
"$BIN/vtpmctl" host-activate --credential host-cred.blob --out host-cred.out || fail "host-activate"
"$EB" activate-req --out hact.cbor --registration "$HREG" --credential host-cred.out
$C -H 'Content-Type: application/cbor' --data-binary @hact.cbor "$URL/v1/register/activate" \
    -o /dev/null -w '%{http_code}' >code
[ "$(cat code)" = 200 ] || fail "host activate: $(cat code)"
$C -H 'Content-Type: application/cbor' --data-binary @reg.cbor "$URL/v1/hosts/register" \
    -o host-resp2.cbor
grep -aq registered host-resp2.cbor || fail "a registered host is challenged again"
ok "host registration: evidence denied until the host AK is activated against the host EK"
serve_evidence "$S2" "$N2" ev-serve.cbor
post_evidence ev-serve.cbor
grep -q '"verdict":"allow"' resp.json || fail "service deny: $(cat resp.json)"
post_evidence ev-serve.cbor
grep -q '"nonce-reused"' resp.json || fail "replayed evidence: $(cat resp.json)"
grep -q '"verdict":"refused"' resp.json || fail "a replay must be refused: $(cat resp.json)"
ok "service: nonce -> evidence -> allow; the same evidence again -> refused, nonce-reused"
serve_evidence "$S2" "$(openssl rand -hex 32)" ev-nononce.cbor
post_evidence ev-nononce.cbor
grep -q '"nonce-unknown"' resp.json || fail "unissued nonce: $(cat resp.json)"
"$EB" build --out ev-noreg.cbor --log log3.cbor --nonce "$N2" --ak-pub ak3.pub --attest q3.msg \
    --sig q3.sig --pcrs pcrs3.bin --ek-cert ek3.der --chain chain --container web-2 --vtpm "$U2"
post_evidence ev-noreg.cbor
grep -q '"ak-not-registered"' resp.json || fail "unregistered: $(cat resp.json)"
# Evidence that proves nothing (replay, unissued nonce) left web-1's allow as it was.
$C "$URL/v1/containers/web-1" | grep -q '"verdict":"allow"' || fail "container lookup (latest verdict)"
$C -o /dev/null -w '%{http_code}' "$URL/v1/containers/nope" | grep -q 404 || fail "unknown container"
$C --data-binary @trunc.cbor -H 'Content-Type: application/cbor' -o /dev/null -w '%{http_code}' \
    "$URL/v1/evidence" | grep -q 400 || fail "malformed evidence must be 400"
$C "$URL/metrics" | grep -q '^verifier_verdicts_total{verdict="allow"} 1$' || fail metrics
ok "service: unissued nonce, unregistered AK, container lookup, malformed body, metrics"

# Restart: registrations, verdicts and the audit trail survive.
AUDIT=$(python3 -c "import sqlite3; print(sqlite3.connect('$T/vf.db').execute('select count(*) from audit').fetchone()[0])")
[ "$AUDIT" -ge 6 ] || fail "audit rows: $AUDIT"
stop_vf
start_vf --insecure-no-tls
URL=http://127.0.0.1:$PORT
$C "$URL/v1/containers/web-1" | grep -q '"verdict":"allow"' || fail "verdict lost across restart"
N3=$($C "$URL/v1/nonce" | json nonce)
serve_evidence "$S2" "$N3" ev-serve2.cbor
post_evidence ev-serve2.cbor
grep -q '"verdict":"allow"' resp.json || fail "after restart: $(cat resp.json)"
A2=$(python3 -c "import sqlite3; print(sqlite3.connect('$T/vf.db').execute('select count(*) from audit').fetchone()[0])")
[ "$A2" -gt "$AUDIT" ] || fail "audit trail not kept"
ok "restart: registration still active, verdicts and audit trail kept"
stop_vf

# --- mutual TLS ---
make_test_pki
start_vf --tls-cert server.pem --tls-key server.key --client-ca ca.pem
URL=https://127.0.0.1:$PORT
$C --cacert ca.pem --cert client.pem --key client.key "$URL/healthz" | grep -q '"ok"' ||
    fail "mutual TLS request failed"
code=$($C --cacert ca.pem -o /dev/null -w '%{http_code}' "$URL/v1/nonce" 2>/dev/null || true)
[ "$code" != 200 ] || fail "a client without a certificate got an answer"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout rogue.key \
    -subj /CN=rogue -days 1 -out rogue.pem 2>/dev/null
code=$($C --cacert ca.pem --cert rogue.pem --key rogue.key -o /dev/null -w '%{http_code}' \
    "$URL/v1/nonce" 2>/dev/null || true)
[ "$code" != 200 ] || fail "a client with an untrusted certificate got an answer"
# The verification is remembered per connection (server.c): on one kept-alive connection an
# untrusted certificate is refused every time, a trusted one answered every time.
codes=$($C --cacert ca.pem --cert rogue.pem --key rogue.key -w '%{http_code} %{num_connects}\n' \
    -o /dev/null -o /dev/null -o /dev/null "$URL/v1/nonce" "$URL/healthz" "$URL/v1/nonce" 2>/dev/null || true)
[ "$(echo "$codes" | awk '$1 == 200' | wc -l)" -eq 0 ] || fail "untrusted certificate, kept-alive: $codes"
codes=$($C --cacert ca.pem --cert client.pem --key client.key -w '%{http_code} %{num_connects}\n' \
    -o /dev/null -o /dev/null -o /dev/null "$URL/healthz" "$URL/v1/nonce" "$URL/healthz")
[ "$(echo "$codes" | awk '$1 == 200' | wc -l)" -eq 3 ] &&
    [ "$(echo "$codes" | awk '$2 == 0' | wc -l)" -eq 2 ] || fail "trusted certificate, kept-alive: $codes"
"$VF" serve --listen 127.0.0.1:0 --db "$DB" --policy policy.json --trust trust >/dev/null 2>&1 &&
    fail "serve without TLS options and without --insecure-no-tls must refuse"
ok "mutual TLS: a client certificate from --client-ca is required"
stop_vf
stop_mgr
echo "t_verifier: all passed"
