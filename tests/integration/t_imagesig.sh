#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Image signatures (docs/policy.md "image_signatures"), judged by `verifier policy check-image`
# and at Kubernetes-style admission: signatures made by tools other than ours. (a) cosign's own
# signatures: Debian's containers/image `dir-img-cosign-*` fixtures and cosign.pub; (b) openssl
# signatures (ECDSA P-256, Ed25519) over hand-written simple-signing payloads, in an OCI image
# layout that skopeo writes from a `dir:` image: valid, expired, not yet valid, revoked (flag and
# fingerprint list), tampered payload, wrong key, unsigned, manifest mismatch, no rule.
. "$(dirname "$0")/lib.sh"
cd "$T"
V=$BIN/verifier
FX=/usr/share/gocode/src/github.com/containers/image/signature/fixtures
[ -f "$FX/cosign.pub" ] || fail "$FX/cosign.pub missing: apt-get install golang-github-containers-image-dev"
command -v skopeo >/dev/null || fail "skopeo missing: apt-get install skopeo"
command -v openssl >/dev/null && command -v jq >/dev/null || fail "openssl and jq needed"

"$V" policy default >base.json
# policy OUT KEYS_JSON RULES_JSON STORES_JSON [REVOKED_JSON]
policy() {
    jq --argjson k "$2" --argjson r "$3" --argjson s "$4" --argjson rv "${5:-[]}" \
        '. + {image_signatures: {keys: $k, rules: $r, stores: $s, revoked_keys: $rv}}' \
        base.json >"$1"
}
# key NAME PEMFILE NOT_BEFORE NOT_AFTER [REVOKED]
key() {
    jq -nc --arg n "$1" --rawfile p "$2" --arg b "$3" --arg a "$4" --argjson r "${5:-false}" \
        '{name: $n, public_key: $p, not_before: $b, not_after: $a, revoked: $r}'
}
NOW_OK_B=2020-01-01T00:00:00Z NOW_OK_A=2099-01-01T00:00:00Z
# expect NAME WANT(allow|REASON-CODE) POLICY IMAGE [DIGEST]
expect() {
    _n=$1 _w=$2; shift 2
    _out=$("$V" policy check-image --policy "$1" --image "$2" ${3:+--digest "$3"}) && _rc=0 || _rc=$?
    if [ "$_w" = allow ]; then
        check "$_n: allowed ($_out)" [ "$_rc" = 0 ]
    else
        check "$_n: denied with $_w ($_out)" sh -c '[ "$1" = 1 ] && printf %s "$2" | jq -e --arg w "$3" \
            "[.reasons[] | select(startswith(\$w))] | length == 1" >/dev/null' - "$_rc" "$_out" "$_w"
    fi
}

# --- (a) cosign-made signatures from Debian's containers/image fixtures (dir: layouts)
COSIGN_KEY=$(key cosign "$FX/cosign.pub" $NOW_OK_B $NOW_OK_A)
RULE='[{"images": "192.168.64.2:5000/*", "keys": ["cosign"]}]'
IMG=192.168.64.2:5000/cosign-signed-single-sample
D=sha256:$(sha256sum "$FX/dir-img-cosign-valid/manifest.json" | cut -c1-64)
for d in valid valid-2 mixed valid-with-tag; do
    policy p-$d.json "[$COSIGN_KEY]" "$RULE" "[{\"dir\": \"$FX/dir-img-cosign-$d\"}]"
    expect "cosign fixture $d" allow p-$d.json "$IMG" "$D"
done
# A store of several layouts, found by manifest digest.
policy p-fx.json "[$COSIGN_KEY]" "$RULE" "[{\"dir\": \"$FX\"}]"
expect "cosign fixtures as one store" allow p-fx.json "$IMG@$D"
for d in modified-manifest manifest-digest-error; do
    policy p-$d.json "[$COSIGN_KEY]" "$RULE" "[{\"dir\": \"$FX/dir-img-cosign-$d\"}]"
    expect "cosign fixture $d" image-manifest-mismatch p-$d.json "$IMG" \
        "sha256:$(sha256sum "$FX/dir-img-cosign-$d/manifest.json" | cut -c1-64)"
done
policy p-oa.json "[$COSIGN_KEY]" "$RULE" "[{\"dir\": \"$FX/dir-img-cosign-other-attachment\"}]"
expect "cosign fixture other-attachment (no signature)" image-unsigned p-oa.json "$IMG" "$D"
policy p-nm.json "[$COSIGN_KEY]" "$RULE" "[{\"dir\": \"$FX/dir-img-cosign-no-manifest\"}]"
expect "cosign fixture no-manifest" image-unsigned p-nm.json "$IMG" "$D"
# unknown-cosign-key.signature alone: a valid cosign signature by another key.
mkdir -p unknown && cp "$FX/dir-img-cosign-valid/manifest.json" unknown/ &&
    cp "$FX/unknown-cosign-key.signature" unknown/signature-1
policy p-uk.json "[$COSIGN_KEY]" "$RULE" "[{\"dir\": \"$T/unknown\"}]"
expect "cosign signature by an unknown key" image-signature-invalid p-uk.json "$IMG" "$D"
policy p-exp.json "[$(key cosign "$FX/cosign.pub" 2020-01-01T00:00:00Z 2021-01-01T00:00:00Z)]" \
    "$RULE" "[{\"dir\": \"$FX/dir-img-cosign-valid\"}]"
expect "cosign fixture, key expired" image-signing-key-expired p-exp.json "$IMG" "$D"
check "cosign fixture, key valid at --time inside its period" \
    sh -c '"$1" policy check-image --policy "$2" --image "$3" --time 2020-06-01T00:00:00Z >/dev/null' \
    - "$V" p-exp.json "$IMG@$D"
policy p-rev.json "[$(key cosign "$FX/cosign.pub" $NOW_OK_B $NOW_OK_A true)]" \
    "$RULE" "[{\"dir\": \"$FX/dir-img-cosign-valid\"}]"
expect "cosign fixture, key revoked" image-signing-key-revoked p-rev.json "$IMG" "$D"
# A rule whose pattern does not cover the signed identity (docker-reference).
policy p-id.json "[$COSIGN_KEY]" '[{"images": "*sample", "keys": ["cosign"]}]' \
    "[{\"dir\": \"$FX/dir-img-cosign-valid\"}]"
expect "identity matches the rule" allow p-id.json "$IMG" "$D"
policy p-id2.json "[$COSIGN_KEY]" '[{"images": "other.example/*", "keys": ["cosign"]}]' \
    "[{\"dir\": \"$FX/dir-img-cosign-valid\"}]"
expect "signature for another repository" image-signature-invalid p-id2.json \
    "other.example/cosign-signed-single-sample" "$D"

# --- (b) openssl-made signatures in an OCI layout written by skopeo
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out ec.key 2>/dev/null
openssl pkey -in ec.key -pubout -out ec.pub
openssl genpkey -algorithm ED25519 -out ed.key
openssl pkey -in ed.key -pubout -out ed.pub
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out other.key 2>/dev/null
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out rsa.key 2>/dev/null
openssl pkey -in rsa.key -pubout -out rsa.pub
REPO=registry.test:5000/team/app

# blob DIR FILE: stores FILE in a dir: image under its hex digest; prints sha256:<hex>.
blob() { _h=$(sha256sum "$2" | cut -c1-64); cp "$2" "$1/$_h"; echo "sha256:$_h"; }
# The image: an OCI manifest with an empty config and no layers (enough to be content-addressed).
mkdir -p img && printf 'Directory Transport Version: 1.1\n' >img/version
printf '{}' >cfg.json
CFG=$(blob img cfg.json)
printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","size":2,"digest":"%s"},"layers":[]}' \
    "$CFG" >img/manifest.json
M=sha256:$(sha256sum img/manifest.json | cut -c1-64)
# sign NAME DIGEST_IN_PAYLOAD SIGNER...: a dir: image holding one cosign signature layer per
# SIGNER (ec, ed, other: openssl keys) over a hand-written payload; prints the dir.
# IDENTITY (environment, default $REPO) is the payload's docker-reference.
sign() {
    _d=sig-$1 _dg=$2; shift 2
    mkdir -p "$_d"; printf 'Directory Transport Version: 1.1\n' >"$_d/version"
    printf '{"critical":{"identity":{"docker-reference":"%s"},"image":{"docker-manifest-digest":"%s"},"type":"cosign container image signature"},"optional":null}' \
        "${IDENTITY:-$REPO}" "$_dg" >"$_d.payload"
    _p=$(blob "$_d" "$_d.payload"); _c=$(blob "$_d" cfg.json)
    _layers=
    for _k in "$@"; do
        case $_k in
        ed) openssl pkeyutl -sign -rawin -inkey ed.key -in "$_d.payload" -out "$_d.sig" ;;
        *) openssl dgst -sha256 -sign "$_k.key" -out "$_d.sig" "$_d.payload" ;;
        esac
        _layers="$_layers${_layers:+,}$(jq -nc --arg p "$_p" --argjson n "$(wc -c <"$_d.payload")" \
            --arg s "$(base64 -w0 "$_d.sig")" \
            '{mediaType: "application/vnd.dev.cosign.simplesigning.v1+json", size: $n,
              digest: $p, annotations: {"dev.cosignproject.cosign/signature": $s}}')"
    done
    jq -nc --arg c "$_c" --argjson l "[$_layers]" \
        '{schemaVersion: 2, mediaType: "application/vnd.oci.image.manifest.v1+json",
          config: {mediaType: "application/vnd.oci.image.config.v1+json", size: 2, digest: $c},
          layers: $l}' | tr -d '\n' >"$_d/manifest.json"
    echo "$_d"
}
# layout NAME SIGDIR...: an OCI layout with the image and the signature image(s) under the
# cosign tag, written by skopeo (the signature manifests' digests preserved).
layout() {
    _l=$T/oci-$1; shift
    skopeo copy -q --preserve-digests "dir:$T/img" "oci:$_l:app" >/dev/null ||
        fail "skopeo copy of the image into $_l"
    for _s in "$@"; do
        skopeo copy -q --preserve-digests "dir:$T/$_s" "oci:$_l:sha256-${M#sha256:}.sig" \
            >/dev/null || fail "skopeo copy of $_s into $_l"
    done
    echo "$_l"
}
EC=$(key ec ec.pub $NOW_OK_B $NOW_OK_A)
ED=$(key ed ed.pub $NOW_OK_B $NOW_OK_A)
RULES='[{"images": "registry.test:5000/team/*", "keys": ["ec", "ed"]}]'
L=$(layout good "$(sign good "$M" ec)")
check "skopeo reads the signature manifest back from the OCI layout" \
    sh -c 'skopeo inspect --raw "oci:$1:sha256-$2.sig" | jq -e ".layers[0].annotations" >/dev/null' \
    - "$L" "${M#sha256:}"
policy q-good.json "[$EC, $ED]" "$RULES" "[{\"oci\": \"$L\"}]"
expect "openssl ECDSA P-256 signature" allow q-good.json "$REPO:v1" "$M"
expect "the same image under another tag and pinned" allow q-good.json "$REPO:v2@$M"
expect "an image the rules do not name" allow q-good.json "elsewhere.test/x" "$M"
expect "image digest not measured" image-not-measured q-good.json "$REPO" ""
OTHER_M=sha256:$(printf x | sha256sum | cut -c1-64)
expect "a digest the store does not have" image-unsigned q-good.json "$REPO" "$OTHER_M"
L=$(layout ed "$(sign ed "$M" ed)")
policy q-ed.json "[$EC, $ED]" "$RULES" "[{\"oci\": \"$L\"}]"
expect "openssl Ed25519 signature" allow q-ed.json "$REPO" "$M"
policy q-ed-only-ec.json "[$EC, $ED]" '[{"images": "registry.test:5000/*", "keys": ["ec"]}]' \
    "[{\"oci\": \"$L\"}]"
expect "Ed25519 signature, rule wants the EC key" image-signature-invalid q-ed-only-ec.json "$REPO" "$M"
L=$(layout wrong "$(sign wrong "$M" other)")
policy q-wrong.json "[$EC, $ED]" "$RULES" "[{\"oci\": \"$L\"}]"
expect "signature by an untrusted key" image-signature-invalid q-wrong.json "$REPO" "$M"
L=$(layout mism "$(sign mism "$OTHER_M" ec)")
policy q-mism.json "[$EC, $ED]" "$RULES" "[{\"oci\": \"$L\"}]"
expect "payload names another manifest digest" image-manifest-mismatch q-mism.json "$REPO" "$M"
L=$(layout none)
policy q-none.json "[$EC, $ED]" "$RULES" "[{\"oci\": \"$L\"}]"
expect "no signature under the cosign tag" image-unsigned q-none.json "$REPO" "$M"
# Tampered payload: the stored blob is replaced (then renamed to its new digest, and the
# signature manifest and index rewritten by skopeo from the edited dir: image).
S=$(sign tamper "$M" ec)
P=$(jq -r '.layers[0].digest' "$S/manifest.json")
sed 's/cosign container image signature/cosign container image signature /' "$S.payload" >t.payload
rm -f "$S/${P#sha256:}"
NP=$(blob "$S" t.payload)
jq -c --arg p "$NP" '.layers[0].digest = $p | .layers[0].size += 1' "$S/manifest.json" | tr -d '\n' >m.tmp
mv m.tmp "$S/manifest.json"
L=$(layout tamper "$S")
policy q-tamper.json "[$EC, $ED]" "$RULES" "[{\"oci\": \"$L\"}]"
expect "tampered payload" image-signature-invalid q-tamper.json "$REPO" "$M"
# A payload blob altered in the store without renaming: content no longer matches its name.
L=$(layout rot "$(sign rot "$M" ec)")
PB=$L/blobs/sha256/$(jq -r '.layers[0].digest' "$T/sig-rot/manifest.json" | cut -c8-)
chmod u+w "$PB"; printf ' ' >>"$PB"
policy q-rot.json "[$EC, $ED]" "$RULES" "[{\"oci\": \"$L\"}]"
expect "payload blob altered in the store" image-manifest-mismatch q-rot.json "$REPO" "$M"
# Validity and revocation of the P-256 key.
L=$(layout good2 "$(sign good2 "$M" ec)")
policy q-exp.json "[$(key ec ec.pub 2020-01-01T00:00:00Z 2020-12-31T23:59:59Z), $ED]" "$RULES" "[{\"oci\": \"$L\"}]"
expect "ECDSA key expired" image-signing-key-expired q-exp.json "$REPO" "$M"
policy q-nyv.json "[$(key ec ec.pub 2098-01-01T00:00:00Z 2099-01-01T00:00:00Z), $ED]" "$RULES" "[{\"oci\": \"$L\"}]"
expect "ECDSA key not yet valid" image-signing-key-expired q-nyv.json "$REPO" "$M"
policy q-rev.json "[$(key ec ec.pub $NOW_OK_B $NOW_OK_A true), $ED]" "$RULES" "[{\"oci\": \"$L\"}]"
expect "ECDSA key revoked (flag)" image-signing-key-revoked q-rev.json "$REPO" "$M"
FPR=sha256:$(openssl pkey -pubin -in ec.pub -outform DER | sha256sum | cut -c1-64)
policy q-revl.json "[$EC, $ED]" "$RULES" "[{\"oci\": \"$L\"}]" "[\"$FPR\"]"
expect "ECDSA key revoked (fingerprint list)" image-signing-key-revoked q-revl.json "$REPO" "$M"
# Several signature layers in one signature manifest (as cosign appends them).
L=$(layout multi "$(sign multi "$M" other ec ed)")
policy q-multi.json "[$(key ec ec.pub 2020-01-01T00:00:00Z 2020-12-31T23:59:59Z), $ED]" "$RULES" \
    "[{\"oci\": \"$L\"}]"
expect "untrusted, expired-key and valid Ed25519 layers: the valid one admits" allow q-multi.json "$REPO" "$M"
policy q-multi2.json "[$(key ec ec.pub 2020-01-01T00:00:00Z 2020-12-31T23:59:59Z), $ED]" \
    '[{"images": "registry.test:5000/*", "keys": ["ec"]}]' "[{\"oci\": \"$L\"}]"
expect "untrusted and expired-key layers: the expiry is named" image-signing-key-expired q-multi2.json "$REPO" "$M"
# The first matching rule decides: a catch-all after a narrower rule.
policy q-order.json "[$EC, $ED]" '[{"images": "registry.test:5000/team/*", "keys": ["ed"]}, {"images": "*", "keys": ["ec"]}]' \
    "[{\"oci\": \"$(layout order "$(sign order "$M" ec)")\"}]"
expect "first matching rule decides (wants ed, signed by ec)" image-signature-invalid q-order.json "$REPO" "$M"
expect "catch-all rule: the signed content under another name" allow q-order.json "elsewhere.test/app" "$M"
expect "catch-all rule: content nobody signed" image-unsigned q-order.json "elsewhere.test/app" "$OTHER_M"

# --- policy errors name what is wrong
policy bad-rsa.json "[$(key rsa rsa.pub $NOW_OK_B $NOW_OK_A)]" '[{"images": "*", "keys": ["rsa"]}]' \
    "[{\"oci\": \"$T\"}]"
check "RSA key refused at load, naming the key" sh -c \
    '! "$1" policy check-image --policy "$2" --image x@sha256:$3 2>err.txt && grep -q "key rsa: public_key: key type not accepted" err.txt' \
    - "$V" bad-rsa.json "${M#sha256:}"
policy bad-rule.json "[$EC]" '[{"images": "*", "keys": ["nosuch"]}]' "[{\"oci\": \"$T\"}]"
check "rule naming an unknown key refused" sh -c \
    '! "$1" policy check-image --policy "$2" --image x@sha256:$3 2>err.txt && grep -q "key nosuch is not in image_signatures.keys" err.txt' \
    - "$V" bad-rule.json "${M#sha256:}"

[ -z "$FAILED" ] || fail "failed:$FAILED"
echo "t_imagesig: all passed"
