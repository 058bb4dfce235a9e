#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# The vTPM issuer key (docs/architecture.md, "The trust chain"): vTPM EK certificates are signed
# in software by a short-lived issuer whose certificate the vTPM-CA key signs inside the host
# TPM. The host TPM's commands are counted by the slow-TPM proxy (SLOW_TPM=none: counting
# only, docs/slowtpm.md): creates make no TPM2_Sign, a rotation makes one. Also: the chain
# with openssl verify, rotation keeps old EK certificates chaining, a restart keeps the issuer,
# tampered files are refused, and the verifier denies an EK certificate by a foreign issuer.
. "$(dirname "$0")/lib.sh"
[ -x "$BIN/slowtpm" ] || fail "$BIN/slowtpm missing (make all)"

SLOW_TPM=none
export SLOW_TPM
start_host_tpm
unset SLOW_TPM
[ -s "$HOST/counts" ] || fail "no counts from the slow-TPM proxy"
cd "$T"
# count NAME: how many TPM2_<NAME> commands the host TPM was sent so far.
count() {
    python3 -c 'import json,sys; print(json.load(open(sys.argv[1])).get("commands", {}).get(sys.argv[2], 0))' \
        "$HOST/counts" "$1"
}
CC_SIGN=Sign
CC_NV_INCREMENT=NV_Increment

start_mgr
S0=$(count $CC_SIGN)
# vtpm-ca.pem (self-signed in the TPM) and the first issuer: the counter does see signatures.
[ "$S0" -ge 1 ] || fail "no TPM2_Sign counted at the first start (counter broken?)"
[ -s "$STATE/host/vtpm-issuer.key" ] && [ -s "$STATE/host/vtpm-issuer.pem" ] ||
    fail "no issuer key and certificate in the host directory"
[ "$(ls "$STATE/host/issuers" | grep -c '\.pem$')" = 1 ] || fail "issuers/ should hold 1 certificate"
grep -q "PRIVATE KEY" "$STATE/host/vtpm-issuer.key" && fail "issuer key stored in the clear"
ok "first start: issuer made ($S0 TPM2_Sign commands: vtpm-ca.pem and the issuer, retries included)"

N=6
I0=$(count $CC_NV_INCREMENT)
for n in $(seq 1 $N); do create_vtpm --name iss-$n >/dev/null || fail "create iss-$n"; done
S1=$(count $CC_SIGN)
[ "$S1" = "$S0" ] || fail "$N creates made $((S1 - S0)) host TPM2_Sign, want 0"
I1=$(count $CC_NV_INCREMENT)
# One counted commit per create, before it is published (not one per state store: 2 before).
[ $((I1 - I0)) -le $N ] || fail "$N creates made $((I1 - I0)) NV_Increment, want at most $N"
ok "$N creates: 0 host-TPM signatures, $((I1 - I0)) NV_Increment"

U1=$("$BIN/vtpmctl" info iss-1 | json uuid)
"$BIN/vtpmctl" ek-cert iss-1 >ek1.pem || fail ek-cert
"$BIN/vtpmctl" host-chain --out c1 iss-1 >/dev/null || fail "host-chain iss-1"
openssl verify -CAfile c1/vtpm-ca.pem -untrusted c1/vtpm-issuer.pem ek1.pem >/dev/null ||
    fail "openssl verify: EK -> issuer -> vtpm-ca.pem"
openssl verify -CAfile c1/vtpm-ca.pem ek1.pem >/dev/null 2>&1 && fail "EK verified without its issuer"
openssl x509 -in c1/vtpm-issuer.pem -noout -text >iss.txt
grep -q "CA:TRUE, pathlen:0" iss.txt || fail "issuer is not a CA of path length 0"
grep -A1 "Key Usage: critical" iss.txt | grep -q "Certificate Sign" || fail "issuer lacks keyCertSign"
NB=$(date -d "$(openssl x509 -in c1/vtpm-issuer.pem -noout -startdate | cut -d= -f2)" +%s)
NA=$(date -d "$(openssl x509 -in c1/vtpm-issuer.pem -noout -enddate | cut -d= -f2)" +%s)
[ $((NA - NB)) = $((86400 + 300)) ] || fail "issuer validity $((NA - NB)) s, want the default 1 day + 300 s"
"$BIN/vtpmctl" host-chain --out cnow >/dev/null || fail "host-chain without a vTPM"
cmp -s cnow/vtpm-issuer.pem c1/vtpm-issuer.pem || fail "current issuer differs from iss-1's"
"$BIN/vtpmctl" host-chain --out cx no-such-vtpm >/dev/null 2>&1 && fail "host-chain of an unknown vTPM"
ok "openssl verify -CAfile vtpm-ca.pem -untrusted vtpm-issuer.pem ek.pem; issuer pathlen 0, 1 day"

# Rotation: one TPM2_Sign; the old vTPM's EK certificate keeps its issuer, new ones get the new.
"$BIN/vtpmctl" issuer-rotate >new-issuer.pem || fail issuer-rotate
S2=$(count $CC_SIGN)
[ "$S2" = $((S1 + 1)) ] || fail "rotation made $((S2 - S1)) host TPM2_Sign, want 1"
cmp -s new-issuer.pem c1/vtpm-issuer.pem && fail "rotation kept the same issuer"
create_vtpm --name iss-new >/dev/null || fail "create after rotation"
[ "$(count $CC_SIGN)" = "$S2" ] || fail "create after rotation used the host TPM to sign"
"$BIN/vtpmctl" ek-cert iss-new >ek2.pem
"$BIN/vtpmctl" host-chain --out c2 iss-new >/dev/null || fail "host-chain iss-new"
"$BIN/vtpmctl" host-chain --out c1b "$U1" >/dev/null || fail "host-chain iss-1 by uuid"
cmp -s c2/vtpm-issuer.pem new-issuer.pem || fail "iss-new's issuer is not the new one"
cmp -s c1b/vtpm-issuer.pem c1/vtpm-issuer.pem || fail "iss-1's issuer changed with the rotation"
openssl verify -CAfile c2/vtpm-ca.pem -untrusted c2/vtpm-issuer.pem ek2.pem >/dev/null ||
    fail "new EK certificate does not chain"
openssl verify -CAfile c2/vtpm-ca.pem -untrusted c2/vtpm-issuer.pem ek1.pem >/dev/null 2>&1 &&
    fail "old EK certificate chains through the new issuer"
[ "$(ls "$STATE/host/issuers" | grep -c '\.pem$')" = 2 ] || fail "issuers/ should hold 2 certificates"
ok "rotation: 1 host TPM2_Sign; old EK certs keep their issuer (issuers/), new ones the new"

# The attest-agent's evidence of a vTPM made before the rotation carries that vTPM's issuer
# (not the current one), so its EK chain verifies.
mkdir -p b/rootfs
cat >b/config.json <<'JSON'
{"ociVersion": "1.0.2", "root": {"path": "rootfs", "readonly": true},
 "process": {"args": ["sh"], "cwd": "/", "user": {"uid": 0, "gid": 0}, "noNewPrivileges": true},
 "linux": {"namespaces": [{"type": "pid"}, {"type": "network"}, {"type": "ipc"},
   {"type": "uts"}, {"type": "mount"}]}}
JSON
"$BIN/attest-agent" evidence --run-dir "$RUN" --vtpm iss-2 --nonce "$(openssl rand -hex 32)" \
    --bundle b --out agent-ev.cbor --runtime "$(command -v sh)" --container-id ctr-iss 2>agent.err ||
    { cat agent.err >&2; fail "attest-agent evidence"; }
"$BIN/verifier" policy default >agent-policy.json
mkdir agent-trust && cp "$HOST/ek-ca.pem" agent-trust/
set +e
"$BIN/verifier" verify --policy agent-policy.json --trust agent-trust --allow-unregistered-ak \
    agent-ev.cbor >agent-out.json 2>/dev/null
set -e
grep -q '"verdict"' agent-out.json || fail "verifier gave no verdict on the agent's evidence"
grep -q 'ek-cert\|vtpm-issuer\|host-chain' agent-out.json &&
    { cat agent-out.json >&2; fail "agent evidence after a rotation: EK chain denied"; }
ok "attest-agent evidence of a vTPM made before the rotation: its EK chain verifies"

# Restart: the same issuer, no signature.
stop_mgr
cp "$STATE/host/vtpm-issuer.key" key.save
cp "$STATE/host/vtpm-issuer.pem" cert.save
start_mgr
[ "$(count $CC_SIGN)" = "$S2" ] || fail "restart signed in the host TPM"
cmp -s "$STATE/host/vtpm-issuer.pem" cert.save || fail "restart replaced the issuer"
"$BIN/vtpmctl" host-chain --out c3 iss-1 >/dev/null && cmp -s c3/vtpm-issuer.pem c1/vtpm-issuer.pem ||
    fail "after restart, iss-1's issuer is not found"
stop_mgr
ok "restart keeps the issuer (0 host TPM2_Sign)"

# Tampered files: the daemon refuses to start and replaces nothing.
refused() { # WHAT LOG-PATTERN
    cat "$STATE/host/vtpm-issuer.pem" "$STATE/host/vtpm-issuer.key" >before 2>/dev/null || true
    set +e
    timeout 60 "$BIN/vtpm-mgr" --foreground --state-dir "$STATE" --run-dir "$RUN" \
        --host-tcti "$HOST_TCTI" --host-ek-ca "$HOST/ek-ca.pem" --seal-pcrs sha256:16 >refused.log 2>&1
    rc=$?
    set -e
    [ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] || { cat refused.log >&2; fail "$1: vtpm-mgr started (rc $rc)"; }
    grep -q "$2" refused.log || { cat refused.log >&2; fail "$1: no clear error"; }
    cat "$STATE/host/vtpm-issuer.pem" "$STATE/host/vtpm-issuer.key" >after 2>/dev/null || true
    cmp -s before after || fail "$1: the issuer files were replaced"
}
flip_byte "$STATE/host/vtpm-issuer.key" 40
refused "tampered key" "vtpm-issuer.key does not decrypt"
cp key.save "$STATE/host/vtpm-issuer.key"
flip_byte "$STATE/host/vtpm-issuer.pem" 100
refused "tampered certificate" "vtpm-issuer.pem"
cp cert.save "$STATE/host/vtpm-issuer.pem"
# An issuer certificate made with another key (not vtpm-ca.pem's) put in issuers/.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout fk.pem \
    -subj "/O=vtpm-attest/CN=vtpm-attest vTPM issuer 0000" -days 1 \
    -addext basicConstraints=critical,CA:TRUE,pathlen:0 -out "$STATE/host/issuers/00.pem" 2>/dev/null
refused "foreign certificate in issuers/" "issuers/00.pem is not an issuer certificate"
rm "$STATE/host/issuers/00.pem"
rm "$STATE/host/vtpm-issuer.key"
refused "key removed" "vtpm-issuer.pem exists without vtpm-issuer.key"
cp key.save "$STATE/host/vtpm-issuer.key"
ok "tampered key, tampered certificate, foreign issuers/ file, lost key: start refused"

# A shorter --issuer-lifetime: the issuer is replaced at start (one TPM2_Sign), 600 s long.
S3=$(count $CC_SIGN)
start_mgr --issuer-lifetime 600
[ "$(count $CC_SIGN)" = $((S3 + 1)) ] || fail "shorter lifetime: want 1 host TPM2_Sign at start"
NB=$(date -d "$(openssl x509 -in "$STATE/host/vtpm-issuer.pem" -noout -startdate | cut -d= -f2)" +%s)
NA=$(date -d "$(openssl x509 -in "$STATE/host/vtpm-issuer.pem" -noout -enddate | cut -d= -f2)" +%s)
[ $((NA - NB)) = 900 ] || fail "issuer validity $((NA - NB)) s, want 600 + 300"
"$BIN/vtpmctl" host-chain --out c4 iss-1 >/dev/null && cmp -s c4/vtpm-issuer.pem c1/vtpm-issuer.pem ||
    fail "iss-1's issuer lost with the new lifetime"
ok "--issuer-lifetime 600: replaced at start, old EK certificates still chain"
"$BIN/vtpm-mgr" --issuer-lifetime 600 --help >/dev/null || fail "--issuer-lifetime 600 refused"
"$BIN/vtpm-mgr" --issuer-lifetime 599 --help >/dev/null 2>&1 && fail "--issuer-lifetime 599 accepted"

# The verifier: a vTPM's evidence chains through its issuer; an EK certificate of the same EK
# signed by a foreign issuer (own key, same name as the real one) is denied.
command -v tpm2_createek >/dev/null || { echo "tpm2-tools missing"; exit 77; }
VF=$BIN/verifier
EB=$BUILD/tests/evidence_build
U=$(create_vtpm --name iss-vf)
S=$(sock_of "$U")
"$BIN/vtpmctl" ek-cert "$U" | openssl x509 -outform DER -out ek.der
"$BIN/vtpmctl" host-chain --out chain "$U" >/dev/null || fail host-chain
mkdir trust && cp "$HOST/ek-ca.pem" trust/
vt "$S" tpm2_createek -G ecc -c ek.ctx -u ek.pub >/dev/null || fail createek
vt "$S" tpm2_flushcontext -t
vt "$S" tpm2_createak -C ek.ctx -c ak.ctx -G ecc -g sha256 -s ecdsa -u ak.pub -n ak.name >/dev/null ||
    fail createak
vt "$S" tpm2_flushcontext -t
ROOTFS=sha256:1111111111111111111111111111111111111111111111111111111111111111
RUNTIME=sha256:2222222222222222222222222222222222222222222222222222222222222222
"$EB" log --out log.cbor --rootfs $ROOTFS --runtime $RUNTIME >digests.txt || fail "evidence_build log"
while read -r pcr dg; do vt "$S" tpm2_pcrextend "$pcr:sha256=$dg" || fail pcrextend; done <digests.txt
NONCE=$(openssl rand -hex 32)
vt "$S" tpm2_quote -c ak.ctx -l sha256:8,9,10 -q "$NONCE" -m q.msg -s q.sig -g sha256 >/dev/null ||
    fail quote
vt "$S" tpm2_flushcontext -t
vt "$S" tpm2_pcrread sha256:8,9,10 -o pcrs.bin >/dev/null || fail pcrread
"$VF" policy default >policy.json
"$VF" policy allow --policy policy.json --rootfs-digest "$ROOTFS" --runtime-digest "$RUNTIME"
build() { # OUT EK-DER CHAIN-DIR
    "$EB" build --out "$1" --log log.cbor --nonce "$NONCE" --ak-pub ak.pub --attest q.msg \
        --sig q.sig --pcrs pcrs.bin --ek-cert "$2" --chain "$3" --container c-1 --vtpm "$U" ||
        fail "evidence_build build"
}
verify() { # EXPECTED-EXIT EVIDENCE
    set +e; "$VF" verify --policy policy.json --trust trust --allow-unregistered-ak "$2" >out.json 2>vf.err
    rc=$?; set -e
    [ "$rc" = "$1" ] || { cat out.json vf.err >&2; fail "verify $2: exit $rc, want $1"; }
}
build ev.cbor ek.der chain
verify 0 ev.cbor
ok "verifier: EK -> vtpm-issuer.pem -> vtpm-ca.pem allowed"

cp -r chain nochain && rm nochain/vtpm-issuer.pem
build ev-noiss.cbor ek.der nochain
verify 1 ev-noiss.cbor
grep -q '"ek-cert-not-from-vtpm-ca' out.json || fail "no issuer: want ek-cert-not-from-vtpm-ca"
# The foreign issuer: same subject as the real one, its own key, self-signed.
SUBJ=$(openssl x509 -in chain/vtpm-issuer.pem -noout -subject -nameopt compat | sed 's/^subject=//')
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout fi.key -subj "$SUBJ" \
    -days 1 -addext basicConstraints=critical,CA:TRUE,pathlen:0 -addext keyUsage=critical,keyCertSign \
    -out fi.pem 2>/dev/null || fail "foreign issuer"
openssl x509 -inform DER -in ek.der -noout -pubkey >ekpub.pem
printf 'subjectAltName=critical,URI:urn:uuid:%s\nextendedKeyUsage=2.23.133.8.1\n' "$U" >ek-ext.cnf
openssl x509 -new -force_pubkey ekpub.pem -subj /CN=forged-ek -CA fi.pem -CAkey fi.key -days 1 \
    -extfile ek-ext.cnf -outform DER -out forged-ek.der || fail "cannot forge"
cp -r chain fchain && cp fi.pem fchain/vtpm-issuer.pem
build ev-forged.cbor forged-ek.der fchain
verify 1 ev-forged.cbor
grep -q '"ek-cert-not-from-vtpm-ca' out.json || { cat out.json >&2; fail "foreign issuer: want ek-cert-not-from-vtpm-ca"; }
# Both issuers offered: the forged EK certificate still finds only the foreign one.
cat chain/vtpm-issuer.pem fi.pem >fchain/vtpm-issuer.pem
build ev-forged2.cbor forged-ek.der fchain
verify 1 ev-forged2.cbor
grep -q '"ek-cert-not-from-vtpm-ca' out.json || fail "foreign issuer beside the real one: not denied"
ok "verifier: no issuer, or an EK certificate by a foreign issuer: ek-cert-not-from-vtpm-ca"
stop_mgr
echo "t_mgr_issuer: all passed"
