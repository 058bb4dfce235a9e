#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Signed reference-value bundles (docs/policy.md "reference_bundles"): bundles made by
# `verifier policy bundle create` and signed by openssl (ECDSA P-256, Ed25519) are merged into
# the allow-lists of `verifier verify` (recorded evidence from the fuzz corpus); our `bundle
# sign` is checked by openssl; unsigned, wrongly signed, tampered, expired, not yet valid,
# unknown-publisher, expired-key and revoked-key bundles stop the policy load with an error
# naming the file and the reason; boot reference values from a bundle judge a host's log.
. "$(dirname "$0")/lib.sh"
cd "$T"
V=$BIN/verifier
EV=$ROOT/tests/fuzz/corpus/evidence/real-evidence-issuer.cbor
HEV=$ROOT/tests/fuzz/corpus/evidence/ovmf-host-evidence.cbor
LOG=$ROOT/tests/fuzz/corpus/uefilog/ovmf-qemu.bin
ROOTFS=sha256:2222222222222222222222222222222222222222222222222222222222222222
RUNTIME=sha256:3333333333333333333333333333333333333333333333333333333333333333
command -v openssl >/dev/null && command -v jq >/dev/null || fail "openssl and jq needed"

openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out ec.key 2>/dev/null
openssl pkey -in ec.key -pubout -out ec.pub
openssl genpkey -algorithm ED25519 -out ed.key
openssl pkey -in ed.key -pubout -out ed.pub
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out other.key 2>/dev/null
B=2020-01-01T00:00:00Z A=2099-01-01T00:00:00Z

pubkey() { # NAME PEM NOT_BEFORE NOT_AFTER [REVOKED]
    jq -nc --arg n "$1" --rawfile p "$2" --arg b "$3" --arg a "$4" --argjson r "${5:-false}" \
        '{name: $n, public_key: $p, not_before: $b, not_after: $a, revoked: $r}'
}
ACME=$(pubkey acme ec.pub $B $A)
EDPUB=$(pubkey edpub ed.pub $B $A)
"$V" policy default >base.json
# policy OUT FILES_JSON [REQUIRE_SIGNED] [PUBLISHERS_JSON]
policy() {
    jq --argjson f "$2" --argjson r "${3:-true}" --argjson p "${4:-[$ACME, $EDPUB]}" \
        '. + {reference_bundles: {publishers: $p, files: $f, require_signed: $r}}' base.json >"$1"
}
# osign KEY FILE: the detached signature FILE.sig made by openssl (base64 of the DER/raw sig).
osign() {
    case $1 in
    ed) openssl pkeyutl -sign -rawin -inkey ed.key -in "$2" -out "$2.raw" ;;
    *) openssl dgst -sha256 -sign "$1.key" -out "$2.raw" "$2" ;;
    esac
    base64 -w0 "$2.raw" >"$2.sig"
}
mkbundle() { # OUT PUBLISHER NOT_BEFORE NOT_AFTER [extra create args]
    _o=$1 _p=$2 _b=$3 _a=$4; shift 4
    "$V" policy bundle create --publisher "$_p" --not-before "$_b" --not-after "$_a" \
        --rootfs-digest "$ROOTFS" --runtime-digest "$RUNTIME" --comment "test" "$@" >"$_o" ||
        fail "bundle create $_o"
}
reasons() { "$V" verify --policy "$1" --allow-unregistered-ak "${3:-$EV}" 2>"$2" | jq -c .reasons; }
# load_fails NAME POLICY TEXT: verify refuses to load the policy; stderr names the file and TEXT.
load_fails() {
    check "$1" sh -c '"$1" verify --policy "$PWD/$2" --allow-unregistered-ak "$3" >/dev/null 2>err.txt;
        rc=$?; [ $rc = 2 ] && grep -q "reference bundle $4: .*$5" err.txt || { cat err.txt; exit 1; }' \
        - "$V" "$2" "$EV" "$T/$3" "$4"
}

# --- a valid bundle signed by openssl merges its values
mkbundle good.json acme $B $A
osign ec good.json
policy p0.json '[]'
R=$(reasons p0.json e0)
check "without the bundle, rootfs and runtime are not allowed" sh -c \
    'echo "$1" | grep -q rootfs-digest-not-allowed && echo "$1" | grep -q runtime-digest-not-allowed' - "$R"
policy p1.json '["good.json"]'
R=$(reasons p1.json e1)
check "openssl P-256 signed bundle: its rootfs and runtime digests are allowed ($R)" sh -c \
    '! echo "$1" | grep -q "rootfs-digest-not-allowed\|runtime-digest-not-allowed" && echo "$1" | grep -q "\["' - "$R"
check "bundle verify: valid" sh -c '"$1" policy bundle verify --policy p1.json good.json | jq -e ".verdict == \"valid\" and .signed" >/dev/null' - "$V"
check "bundle inspect" sh -c '"$1" policy bundle inspect good.json | jq -e ".publisher == \"acme\" and .digests.rootfs == 1 and .signature == \"present\"" >/dev/null' - "$V"

# --- Ed25519 publisher, openssl-signed
mkbundle ed.json edpub $B $A
osign ed ed.json
policy p2.json '["ed.json"]'
R=$(reasons p2.json e2)
check "openssl Ed25519 signed bundle merged" sh -c '! echo "$1" | grep -q rootfs-digest-not-allowed' - "$R"

# --- our signature, checked by openssl
mkbundle ours.json acme $B $A
check "bundle sign writes ours.json.sig" sh -c '"$1" policy bundle sign --key ec.key ours.json >/dev/null && [ -s ours.json.sig ]' - "$V"
base64 -d ours.json.sig >ours.der
check "openssl verifies our P-256 bundle signature" sh -c 'openssl dgst -sha256 -verify ec.pub -signature ours.der ours.json | grep -q "Verified OK"'
mkbundle ours-ed.json edpub $B $A
"$V" policy bundle sign --key ed.key ours-ed.json >/dev/null
base64 -d ours-ed.json.sig >ours-ed.raw
check "openssl verifies our Ed25519 bundle signature" sh -c 'openssl pkeyutl -verify -rawin -pubin -inkey ed.pub -in ours-ed.json -sigfile ours-ed.raw | grep -q "Verified Successfully\|Signature Verified Successfully"'
policy p3.json '["ours.json", "ours-ed.json"]'
check "our signatures pass our verifier" sh -c '"$1" verify --policy p3.json --allow-unregistered-ak "$2" >/dev/null 2>&1; [ $? = 1 ]' - "$V" "$EV"

# --- rejected bundles
mkbundle unsigned.json acme $B $A
policy p4.json '["good.json", "unsigned.json"]'
load_fails "unsigned bundle refused" p4.json unsigned.json "unsigned"
policy p4b.json '["unsigned.json"]' false
R=$(reasons p4b.json e4b)
check "unsigned bundle accepted when require_signed is false" sh -c '! echo "$1" | grep -q rootfs-digest-not-allowed' - "$R"
mkbundle wrong.json acme $B $A
osign other wrong.json
policy p5.json '["wrong.json"]'
load_fails "bundle signed by another key" p5.json wrong.json "signature invalid"
policy p5b.json '["wrong.json"]' false
load_fails "a bad signature is refused even when signatures are not required" p5b.json wrong.json "signature invalid"
cp good.json tampered.json; cp good.json.sig tampered.json.sig
sed -i "s/$(echo "$ROOTFS" | cut -c8-)/$(echo "$ROOTFS" | cut -c8- | tr 2 4)/" tampered.json
policy p6.json '["tampered.json"]'
load_fails "bundle edited after signing" p6.json tampered.json "signature invalid"
mkbundle expired.json acme 2020-01-01T00:00:00Z 2021-01-01T00:00:00Z
osign ec expired.json
policy p7.json '["expired.json"]'
load_fails "expired bundle" p7.json expired.json "expired at 2021-01-01T00:00:00Z"
mkbundle future.json acme 2098-01-01T00:00:00Z $A
osign ec future.json
policy p8.json '["future.json"]'
load_fails "bundle not yet valid" p8.json future.json "not valid before 2098-01-01T00:00:00Z"
mkbundle nobody.json nobody $B $A
osign ec nobody.json
policy p9.json '["nobody.json"]'
load_fails "unknown publisher" p9.json nobody.json "publisher nobody is not in reference_bundles.publishers"
policy p10.json '["good.json"]' true "[$(pubkey acme ec.pub 2020-01-01T00:00:00Z 2021-01-01T00:00:00Z), $EDPUB]"
load_fails "publisher key expired" p10.json good.json "publisher key acme expired at 2021-01-01T00:00:00Z"
policy p11.json '["good.json"]' true "[$(pubkey acme ec.pub $B $A true), $EDPUB]"
load_fails "publisher key revoked" p11.json good.json "publisher key acme is revoked"
check "bundle verify --time after its end: invalid, exit 1" sh -c \
    '"$1" policy bundle verify --policy p1.json --time 2100-01-01T00:00:00Z good.json >out.json; [ $? = 1 ] && jq -e ".error | test(\"expired at\")" out.json >/dev/null' - "$V"
check "policy allow still edits a policy whose bundle is bad" \
    "$V" policy allow --policy p7.json --agent-digest "$ROOTFS"

# --- boot reference values from a bundle
"$V" boot-policy derive --log "$LOG" | jq '.secure_boot = true' >boot.json
"$V" policy bundle create --publisher acme --not-before $B --not-after $A --boot-policy boot.json >boot-bundle.json ||
    fail "bundle create with boot"
osign ec boot-bundle.json
policy p12.json '["boot-bundle.json"]'
R=$(reasons p12.json e12 "$HEV")
check "boot values from a signed bundle judge the host log ($R)" sh -c 'echo "$1" | grep -q "host-boot-secureboot:true/false"' - "$R"
R=$(reasons p0.json e0b "$HEV")
check "no boot values without it" sh -c '! echo "$1" | grep -q host-boot-' - "$R"
check "--boot-policy and a boot bundle together are refused" sh -c \
    '! "$1" verify --policy p12.json --boot-policy boot.json --allow-unregistered-ak "$2" >/dev/null 2>err.txt && grep -q "come from reference bundle" err.txt' - "$V" "$HEV"

[ -z "$FAILED" ] || fail "failed:$FAILED"
echo "t_refbundle: all passed"
