#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# `make demo`: a swtpm host TPM, vtpm-mgr with its defaults, two container vTPMs used with stock
# tpm2-tools, the EK chain checked with OpenSSL, a restart that keeps state. Cleans up after.
set -eu
B=$(cd "${1:-build}" && pwd)
ROOT=$(cd "$(dirname "$0")/.." && pwd)
D=$(mktemp -d /tmp/vtpm-demo.XXXXXX)
chmod 755 "$D"
MGR=
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
cleanup() {
    [ -n "$MGR" ] && kill -TERM "$MGR" 2>/dev/null && sleep 1
    sh "$ROOT/swtpm-ci/host-tpm-stop.sh" "$D/host" >/dev/null 2>&1 || true
    rm -rf "$D"
}
trap cleanup EXIT INT TERM
export VTPM_MGR_RUN_DIR="$D/run"

say "host TPM: swtpm with an EK certificate from a local CA (stands in for the hardware TPM)"
mkdir -p "$D/host"
sh "$ROOT/swtpm-ci/host-tpm-start.sh" "$D/host" >/dev/null
TCTI=$(cat "$D/host/tcti")
echo "host TCTI: $TCTI"

start() {
    "$B/bin/vtpm-mgr" --foreground --state-dir "$D/state" --run-dir "$D/run" --host-tcti "$TCTI" \
        --host-ek-ca "$D/host/ek-ca.pem" 2>>"$D/mgr.log" &
    MGR=$!
    i=0
    until "$B/bin/vtpmctl" list >/dev/null 2>&1; do
        i=$((i + 1)); [ $i -lt 300 ] || { tail "$D/mgr.log"; exit 1; }; sleep 0.1
    done
}
say "vtpm-mgr: provisions the host AK and the vTPM-CA key in the host TPM, seals its state key"
start
echo "vtpm-mgr running, pid $MGR"

say "vtpmctl create --name web-1   (an ECC EK, certificate signed inside the host TPM)"
"$B/bin/vtpmctl" create --name web-1 | tee "$D/web.json" | grep -v 'BEGIN\|END\|^[A-Za-z0-9+/=]*",\?$'
"$B/bin/vtpmctl" create --name db-1 --ek rsa --tenant team-b >/dev/null
S=$("$B/bin/vtpmctl" info web-1 | python3 -c 'import json,sys; print(json.load(sys.stdin)["socket"])')
export TPM2TOOLS_TCTI="swtpm:path=$S"

say "stock tpm2-tools through the vTPM socket"
tpm2_getrandom --hex 16; echo
tpm2_pcrextend "16:sha256=$(printf 'image sha256:cafe' | sha256sum | cut -d' ' -f1)"
tpm2_pcrread sha256:16
# No resource manager in front of a TPM: tools must flush the transient objects they leave.
tpm2_createek -G ecc -c "$D/ek.ctx" -u "$D/ek.pem" -f pem >/dev/null
tpm2_flushcontext -t
tpm2_createak -C "$D/ek.ctx" -c "$D/ak.ctx" -G ecc -g sha256 -s ecdsa -u "$D/ak.pem" -f pem >/dev/null
tpm2_flushcontext -t
tpm2_quote -c "$D/ak.ctx" -l sha256:16 -q 0badc0de -m "$D/q.msg" -s "$D/q.sig" -o "$D/q.pcrs" -g sha256 >/dev/null
tpm2_checkquote -u "$D/ak.pem" -m "$D/q.msg" -s "$D/q.sig" -f "$D/q.pcrs" -g sha256 -q 0badc0de >/dev/null
echo "quote over PCR 16 verified by tpm2_checkquote"

say "vtpmctl list"
"$B/bin/vtpmctl" list

say "the EK certificate chain, checked with OpenSSL"
"$B/bin/vtpmctl" ek-cert web-1 >"$D/ek-cert.pem"
"$B/bin/vtpmctl" host-chain --out "$D/chain"
openssl x509 -in "$D/ek-cert.pem" -noout -subject -issuer -ext subjectAltName,extendedKeyUsage
openssl verify -CAfile "$D/chain/vtpm-ca.pem" "$D/ek-cert.pem"
CHAIN="$D/host/ek-ca.pem"; [ -f "$D/host/ek-ca-chain.pem" ] && CHAIN="$D/host/ek-ca-chain.pem"
openssl verify -CAfile "$CHAIN" "$D/chain/host-ek.pem"

say "graceful restart: PCR 16 is resumed, not reset"
kill -TERM "$MGR"; wait "$MGR" 2>/dev/null || true; MGR=
start
tpm2_pcrread sha256:16

say "done: the demo's files are removed on exit"
