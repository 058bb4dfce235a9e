#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# vtpm-mgr end to end: create/list/info/delete through vtpmctl, and stock tpm2-tools through a
# vTPM's socket (getrandom, pcrextend/pcrread, createek vs. the EK certificate, createak,
# quote, checkquote, EK certificate NV index), for an ECC and an RSA EK.
. "$(dirname "$0")/lib.sh"
start_host_tpm
start_mgr
cd "$T"

U=$(create_vtpm --name web-1)
S=$(json socket <create.json)
[ "$S" = "$RUN/vtpm/$U/tpm.sock" ] || fail "socket path $S"
[ -S "$S" ] && [ -S "$S.ctrl" ] || fail "sockets missing"
json ek_cert <create.json | grep -q "BEGIN CERTIFICATE" || fail "no ek_cert in create output"
"$BIN/vtpmctl" list | grep -q "\"$U\"" || fail "list lacks $U"
[ "$("$BIN/vtpmctl" info web-1 | json uuid)" = "$U" ] || fail "info by name"
ok "create/list/info"

vt "$S" tpm2_getrandom --hex 16 >rnd && [ "$(wc -c <rnd)" -ge 32 ] || fail getrandom
D=$(printf 'measurement-1' | sha256sum | cut -d' ' -f1)
vt "$S" tpm2_pcrextend "16:sha256=$D" || fail pcrextend
EXP=$(python3 -c "import hashlib,sys; print(hashlib.sha256(bytes(32)+bytes.fromhex(sys.argv[1])).hexdigest())" "$D")
vt "$S" tpm2_pcrread sha256:16 -o pcr16.bin >/dev/null || fail pcrread
[ "$(od -An -tx1 -v pcr16.bin | tr -d ' \n')" = "$EXP" ] || fail "PCR 16 value"
ok "getrandom, pcrextend, pcrread"

"$BIN/vtpmctl" ek-cert "$U" >ek.pem || fail ek-cert
openssl x509 -in ek.pem -noout -pubkey >ek-cert-pub.pem
vt "$S" tpm2_createek -G ecc -c ek.ctx -u ek-tpm.pem -f pem >/dev/null || fail createek
cmp -s ek-cert-pub.pem ek-tpm.pem || fail "EK in the vTPM differs from the EK certificate"
vt "$S" tpm2_nvread 0x01c0000a -o ek-nv.der >/dev/null || fail "nvread EK cert index"
openssl x509 -in ek.pem -outform DER -out ek.der
cmp -s ek.der ek-nv.der || fail "EK cert in NV differs from vtpmctl ek-cert"
vt "$S" tpm2_nvundefine 0x01c0000a >/dev/null 2>&1 && fail "container could undefine the EK cert"
ok "EK matches its certificate; certificate in NV 0x01c0000a and locked"

vt "$S" tpm2_createak -C ek.ctx -c ak.ctx -G ecc -g sha256 -s ecdsa -u ak.pem -f pem \
    -n ak.name >/dev/null || fail createak
vt "$S" tpm2_flushcontext -t >/dev/null 2>&1 || true
N=$(openssl rand -hex 16)
vt "$S" tpm2_quote -c ak.ctx -l sha256:16 -q "$N" -m q.msg -s q.sig -o q.pcrs -g sha256 >/dev/null ||
    fail quote
tpm2_checkquote -u ak.pem -m q.msg -s q.sig -f q.pcrs -g sha256 -q "$N" >/dev/null || fail checkquote
tpm2_checkquote -u ak.pem -m q.msg -s q.sig -f q.pcrs -g sha256 -q "00$N" >/dev/null 2>&1 &&
    fail "checkquote accepted a wrong nonce"
ok "createak, quote, checkquote"

U2=$(create_vtpm --name db-1 --ek rsa --tenant team-b)
S2=$(json socket <create.json)
"$BIN/vtpmctl" ek-cert db-1 | openssl x509 -noout -pubkey >ek2-cert-pub.pem
vt "$S2" tpm2_createek -G rsa -c ek2.ctx -u ek2-tpm.pem -f pem >/dev/null || fail "createek rsa"
cmp -s ek2-cert-pub.pem ek2-tpm.pem || fail "RSA EK differs from its certificate"
vt "$S2" tpm2_nvread 0x01c00002 -o ek2-nv.der >/dev/null || fail "nvread RSA EK cert"
[ "$("$BIN/vtpmctl" info "$U2" | json tenant)" = team-b ] || fail "tenant"
W1=$("$BIN/vtpmctl" info "$U" | json worker_pid)
W2=$("$BIN/vtpmctl" info "$U2" | json worker_pid)
[ "$W1" != "$W2" ] || fail "two tenants share worker $W1"
ok "RSA EK vTPM of another tenant in another worker"

"$BIN/vtpmctl" delete "$U" >/dev/null || fail delete
"$BIN/vtpmctl" list | grep -q "\"$U\"" && fail "deleted vTPM still listed"
[ -e "$S" ] && fail "deleted vTPM's socket remains"
[ -e "$STATE/vtpm/$U" ] && fail "deleted vTPM's state remains"
"$BIN/vtpmctl" info "$U" 2>err.txt && fail "info of a deleted vTPM succeeded"
grep -q "no such vTPM" err.txt || fail "unclear error: $(cat err.txt)"
"$BIN/vtpmctl" create --name 'bad name' 2>/dev/null && fail "accepted a bad name"
"$BIN/vtpmctl" create --ek dsa 2>/dev/null && fail "accepted a bad EK type"
vt "$S2" tpm2_getrandom 8 >/dev/null || fail "neighbour broken after delete"
N0=$("$BIN/vtpmctl" list | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')
"$BIN/vtpmctl" create --name devtpm --device 2>err.txt && fail "a device vTPM without kmod-vtpm"
grep -qi "no such file\|not loaded\|No such" err.txt || fail "unclear device error: $(cat err.txt)"
[ "$("$BIN/vtpmctl" list | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')" = "$N0" ] ||
    fail "a failed device create left a vTPM behind"
"$BIN/vtpmctl" attach-device db-1 2>/dev/null && fail "attach-device without kmod-vtpm"
vt "$S2" tpm2_getrandom 8 >/dev/null || fail "vTPM broken by a failed attach-device"
ok "delete and errors"
stop_mgr
echo "t_mgr_basic: all passed"
