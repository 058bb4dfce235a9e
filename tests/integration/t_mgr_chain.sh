#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# The EK chain, checked from outside the daemon with OpenSSL and tpm2-tools:
# vTPM EK cert -> issuer cert (software key, short-lived) -> vTPM-CA cert (key in the host TPM)
# -> TPM2_Certify by the host AK -> the AK
# is the host TPM's, under the host EK whose certificate chains to the (local) EK CA.
. "$(dirname "$0")/lib.sh"
start_host_tpm
start_mgr
cd "$T"
U=$(create_vtpm --name chain-1)
"$BIN/vtpmctl" ek-cert "$U" >ek.pem
"$BIN/vtpmctl" host-chain --out chain "$U" >/dev/null || fail host-chain
for f in host-ek.pem host-ek-ca.pem host-ak.pub.pem vtpm-ca.pem vtpm-ca.certify.attest \
         vtpm-ca.certify.sig vtpm-issuer.pem; do
    [ -s "chain/$f" ] || fail "host-chain did not write $f"
done
CHAIN=$HOST/ek-ca.pem
[ -f "$HOST/ek-ca-chain.pem" ] && CHAIN=$HOST/ek-ca-chain.pem
openssl verify -CAfile "$CHAIN" chain/host-ek.pem >/dev/null || fail "host EK cert does not chain to the EK CA"
openssl verify -CAfile chain/vtpm-ca.pem -untrusted chain/vtpm-issuer.pem ek.pem >/dev/null ||
    fail "vTPM EK cert does not verify against vtpm-ca.pem through vtpm-issuer.pem"
openssl verify -CAfile chain/vtpm-ca.pem ek.pem >/dev/null 2>&1 &&
    fail "vTPM EK cert verifies without its issuer: not signed by the issuer key"
openssl x509 -in ek.pem -noout -ext extendedKeyUsage | grep -q "2.23.133.8.1" || fail "EK cert lacks tcg-kp-EKCertificate"
openssl x509 -in ek.pem -noout -ext subjectAltName | grep -q "urn:uuid:$U" || fail "EK cert does not name the vTPM"
ok "openssl: host EK -> EK CA, vTPM EK -> vtpm-issuer.pem -> vtpm-ca.pem"

export TPM2TOOLS_TCTI="$HOST_TCTI"
tpm2_loadexternal -C n -u chain/host-ak.pub -c ak.ctx -n ak.name >/dev/null || fail "load host AK public"
tpm2_verifysignature -c ak.ctx -g sha256 -m chain/vtpm-ca.certify.attest \
    -s chain/vtpm-ca.certify.sig -t ticket >/dev/null || fail "certify signature does not verify with the host AK"
tpm2_flushcontext -t >/dev/null
tpm2_loadexternal -C n -u chain/vtpm-ca.pub -c ca.ctx -n ca.name >/dev/null || fail "load vtpm-ca public"
tpm2_readpublic -c ca.ctx -f pem -o ca-tpm.pem >/dev/null
tpm2_flushcontext -t >/dev/null
openssl x509 -in chain/vtpm-ca.pem -noout -pubkey >ca-cert.pem
cmp -s ca-tpm.pem ca-cert.pem || fail "vtpm-ca.pem's key is not the certified key"
"$BUILD/tests/attest_show" chain/vtpm-ca.certify.attest >attest.txt || fail "attest does not unmarshal"
grep -q "^magic: ff544347" attest.txt || fail "attest lacks TPM_GENERATED_VALUE"
grep -q "^type: 8017" attest.txt || fail "attest is not a TPM2_Certify"
NAME=$(od -An -tx1 -v ca.name | tr -d ' \n')
grep -q "^certified_name: $NAME" attest.txt || fail "certified name is not the vTPM-CA key's name"
EXTRA=$(openssl x509 -in chain/vtpm-ca.pem -outform DER | sha256sum | cut -d' ' -f1)
grep -q "^extra_data: $EXTRA" attest.txt || fail "certify is not bound to vtpm-ca.pem (extraData)"
ok "tpm2-tools: TPM2_Certify of the vTPM-CA key by the host AK verifies"

# The AK and the CA key really live in this host TPM, the AK as a restricted signing key.
tpm2_readpublic -c 0x81000a01 -n ak-tpm.name >ak-attrs.txt || fail "host AK not at its handle"
cmp -s ak.name ak-tpm.name || fail "exported AK is not the host TPM's AK"
grep -q "restricted" ak-attrs.txt && grep -q "fixedtpm" ak-attrs.txt || fail "AK attributes"
tpm2_readpublic -c 0x81000a02 >ca-attrs.txt || fail "vTPM-CA key not at its handle"
grep -q "fixedtpm" ca-attrs.txt && grep -q "fixedparent" ca-attrs.txt || fail "CA key exportable"
ok "AK and vTPM-CA key are fixedTPM keys of the host TPM"

# The AK is bound to the host EK: a credential made for the AK's name with the EK's public
# key (tpm2_makecredential -T none: no TPM involved) comes back only from this host's TPM.
SECRET=$(openssl rand -hex 16)
printf '%s' "$SECRET" >secret.in
tpm2_makecredential -T none -u chain/host-ek.pub -s secret.in -n "$(od -An -tx1 -v ak.name | tr -d ' \n')" \
    -o cred.blob >/dev/null || fail "makecredential"
"$BIN/vtpmctl" host-activate --credential cred.blob --out secret.out || fail "host-activate"
cmp -s secret.in secret.out || fail "activated credential differs"
head -c 40 cred.blob >cred.bad
"$BIN/vtpmctl" host-activate --credential cred.bad --out x 2>/dev/null && fail "truncated credential accepted"
ok "credential activation: the host AK is under this host's EK"

# A certificate signed by some other key does not pass.
openssl ecparam -name prime256v1 -genkey -noout -out other.key
openssl req -new -x509 -key other.key -subj /CN=forged -days 1 -out forged-ca.pem
openssl x509 -in ek.pem -noout -pubkey >ekpub.pem
openssl x509 -new -force_pubkey ekpub.pem -subj /CN=forged-ek -CA forged-ca.pem -CAkey other.key \
    -days 1 -out forged-ek.pem 2>/dev/null ||
    openssl x509 -in ek.pem -CA forged-ca.pem -CAkey other.key -days 1 -out forged-ek.pem 2>/dev/null ||
    fail "could not make a forged cert"
openssl verify -CAfile chain/vtpm-ca.pem -untrusted chain/vtpm-issuer.pem forged-ek.pem \
    >/dev/null 2>&1 && fail "forged EK cert verified"
ok "a forged EK certificate is rejected"
stop_mgr
echo "t_mgr_chain: all passed"
