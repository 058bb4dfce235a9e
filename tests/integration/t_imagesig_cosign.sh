#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Image signatures made by cosign itself (Debian 13's static binary, fetched by
# swtpm-ci/cosign-fetch.sh) in a local registry (Debian 12's docker-registry on loopback), as
# cosign writes them: an image pushed by skopeo, signed with `cosign sign --key` (two keys: two
# layers in one signature manifest), mirrored into an OCI layout store with skopeo, judged by
# `verifier policy check-image`: signed, each key alone, unsigned image, a re-pushed tag,
# expired and revoked keys; and a reference bundle signed with `cosign sign-blob`.
. "$(dirname "$0")/lib.sh"
cd "$T"
V=$BIN/verifier
command -v docker-registry >/dev/null || fail "docker-registry missing: apt-get install docker-registry"
command -v skopeo >/dev/null || fail "skopeo missing: apt-get install skopeo"
COSIGN=$(sh "$ROOT/swtpm-ci/cosign-fetch.sh" "$BUILD") || fail "cannot fetch cosign (swtpm-ci/cosign-fetch.sh)"
export COSIGN_PASSWORD="" COSIGN_YES=true
# cosign would write its cache and TUF state to $HOME: keep them in the test dir.
export HOME="$T/home"
mkdir -p "$HOME"

# The registry, on a loopback port it picks; stopped by PID at exit.
mkdir -p reg
cat >reg.yml <<REG
version: 0.1
log:
  level: error
storage:
  filesystem:
    rootdirectory: $T/reg
http:
  addr: 127.0.0.1:0
REG
docker-registry serve reg.yml >reg.log 2>&1 &
REG_PID=$!
at_exit 'stop_pid "$REG_PID" 50'
PORT=
i=0
while [ -z "$PORT" ]; do
    i=$((i + 1)); [ $i -lt 100 ] || { cat reg.log >&2; fail "docker-registry did not listen"; }
    kill -0 "$REG_PID" 2>/dev/null || { cat reg.log >&2; fail "docker-registry exited"; }
    PORT=$(ss -ltnpH 2>/dev/null | grep "pid=$REG_PID," | awk '{print $4}' | sed 's/.*://' | head -n 1)
    [ -n "$PORT" ] || sleep 0.1
done
R=127.0.0.1:$PORT

# image NAME TEXT: a one-layer OCI image as a dir: layout; prints its manifest digest.
image() {
    mkdir -p "$1.lay" "$1" && printf '%s\n' "$2" >"$1.lay/hello"
    tar -C "$1.lay" -cf - hello | gzip -n >"$1.tgz"
    printf 'Directory Transport Version: 1.1\n' >"$1/version"
    _l=sha256:$(sha256sum "$1.tgz" | cut -c1-64); cp "$1.tgz" "$1/${_l#sha256:}"
    printf '{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":["sha256:%s"]},"config":{}}' \
        "$(gunzip -c "$1.tgz" | sha256sum | cut -c1-64)" >"$1.cfg"
    _c=sha256:$(sha256sum "$1.cfg" | cut -c1-64); cp "$1.cfg" "$1/${_c#sha256:}"
    printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","size":%d,"digest":"%s"},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","size":%d,"digest":"%s"}]}' \
        "$(wc -c <"$1.cfg")" "$_c" "$(wc -c <"$1.tgz")" "$_l" >"$1/manifest.json"
    echo "sha256:$(sha256sum "$1/manifest.json" | cut -c1-64)"
}
push() { skopeo copy -q --preserve-digests --dest-tls-verify=false "dir:$T/$1" "docker://$R/$2" >/dev/null || fail "push $2"; }
# mirror DIGEST: the image manifest and its cosign signatures from the registry into store/.
mirror() {
    skopeo copy -q --preserve-digests --src-tls-verify=false "docker://$R/team/app@$1" \
        "oci:$T/store:img-${1#sha256:}" >/dev/null || fail "mirror image $1"
    if skopeo inspect --raw --tls-verify=false "docker://$R/team/app:sha256-${1#sha256:}.sig" >/dev/null 2>&1; then
        skopeo copy -q --preserve-digests --src-tls-verify=false \
            "docker://$R/team/app:sha256-${1#sha256:}.sig" "oci:$T/store:sha256-${1#sha256:}.sig" \
            >/dev/null || fail "mirror signatures of $1"
    fi
}
cosign_sign() { # KEYPREFIX DIGEST
    "$COSIGN" sign --key "$1.key" --tlog-upload=false --allow-http-registry \
        --allow-insecure-registry "$R/team/app@$2" >"sign-$1.log" 2>&1 || { cat "sign-$1.log" >&2; fail "cosign sign with $1"; }
}

M1=$(image img1 "signed image")
push img1 team/app:v1
M2=$(image img2 "unsigned image")
push img2 team/app:v2
for k in k1 k2; do
    mkdir -p "keys-$k" && (cd "keys-$k" && "$COSIGN" generate-key-pair >/dev/null 2>&1) ||
        fail "cosign generate-key-pair"
    mv "keys-$k/cosign.key" "$k.key"; mv "keys-$k/cosign.pub" "$k.pub"
done
cosign_sign k1 "$M1"
cosign_sign k2 "$M1"
check "cosign verify accepts its own signature (sanity)" sh -c '"$1" verify --key k1.pub \
    --insecure-ignore-tlog --allow-http-registry --allow-insecure-registry "$2" >/dev/null 2>&1' \
    - "$COSIGN" "$R/team/app@$M1"
check "the signature manifest has one simple-signing layer per key" sh -c \
    'skopeo inspect --raw --tls-verify=false "docker://$1/team/app:sha256-$2.sig" |
     jq -e "[.layers[] | select(.mediaType == \"application/vnd.dev.cosign.simplesigning.v1+json\")] | length == 2" >/dev/null' \
    - "$R" "${M1#sha256:}"
mirror "$M1"
mirror "$M2"

"$V" policy default >base.json
policy() { # OUT KEYS_JSON RULE_KEYS_JSON
    jq --argjson k "$2" --argjson rk "$3" --arg s "$T/store" \
        '. + {image_signatures: {keys: $k, rules: [{images: "127.0.0.1:*/team/*", keys: $rk}],
              stores: [{oci: $s}]}}' base.json >"$1"
}
key() { # NAME PEM NOT_BEFORE NOT_AFTER [REVOKED]
    jq -nc --arg n "$1" --rawfile p "$2" --arg b "$3" --arg a "$4" --argjson r "${5:-false}" \
        '{name: $n, public_key: $p, not_before: $b, not_after: $a, revoked: $r}'
}
K1=$(key k1 k1.pub 2020-01-01T00:00:00Z 2099-01-01T00:00:00Z)
K2=$(key k2 k2.pub 2020-01-01T00:00:00Z 2099-01-01T00:00:00Z)
expect() { # NAME WANT POLICY IMAGE
    _out=$("$V" policy check-image --policy "$3" --image "$4") && _rc=0 || _rc=$?
    if [ "$2" = allow ]; then check "$1: allowed ($_out)" [ "$_rc" = 0 ]
    else check "$1: denied with $2 ($_out)" sh -c '[ "$1" = 1 ] && printf %s "$2" | grep -q "\"$3"' - "$_rc" "$_out" "$2"
    fi
}
policy both.json "[$K1, $K2]" '["k1", "k2"]'
expect "cosign-signed image (registry -> OCI store)" allow both.json "$R/team/app:v1@$M1"
policy k1.json "[$K1, $K2]" '["k1"]'
expect "first cosign key alone" allow k1.json "$R/team/app@$M1"
policy k2.json "[$K1, $K2]" '["k2"]'
expect "second cosign key alone (second layer)" allow k2.json "$R/team/app@$M1"
expect "pushed, never signed" image-unsigned both.json "$R/team/app:v2@$M2"
# v1 re-pushed with other content: the tag moves, the digest changes, the signature does not follow.
M3=$(image img3 "replaced image")
push img3 team/app:v1
mirror "$M3"
expect "tag v1 re-pushed with other content" image-unsigned both.json "$R/team/app:v1@$M3"
policy exp.json "[$(key k1 k1.pub 2020-01-01T00:00:00Z 2021-01-01T00:00:00Z), $K2]" '["k1"]'
expect "cosign key expired" image-signing-key-expired exp.json "$R/team/app@$M1"
policy rev.json "[$(key k1 k1.pub 2020-01-01T00:00:00Z 2099-01-01T00:00:00Z true), $K2]" '["k1"]'
expect "cosign key revoked" image-signing-key-revoked rev.json "$R/team/app@$M1"

# A reference bundle signed by `cosign sign-blob` (base64 over the file's bytes).
"$V" policy bundle create --publisher k1 --not-before 2020-01-01T00:00:00Z \
    --not-after 2099-01-01T00:00:00Z \
    --rootfs-digest sha256:2222222222222222222222222222222222222222222222222222222222222222 >refs.json
"$COSIGN" sign-blob --key k1.key --tlog-upload=false refs.json 2>sign-blob.log >refs.json.sig ||
    { cat sign-blob.log >&2; fail "cosign sign-blob"; }
jq --argjson p "[$K1]" '. + {reference_bundles: {publishers: $p, files: ["refs.json"]}}' base.json >rb.json
check "bundle signed by cosign sign-blob verifies" sh -c \
    '"$1" policy bundle verify --policy rb.json refs.json | jq -e ".verdict == \"valid\"" >/dev/null' - "$V"
check "and its digest is merged" sh -c '! "$1" verify --policy "$PWD/rb.json" --allow-unregistered-ak \
    "$2" 2>/dev/null | grep -q rootfs-digest-not-allowed' - "$V" "$ROOT/tests/fuzz/corpus/evidence/real-evidence-issuer.cbor"

[ -z "$FAILED" ] || fail "failed:$FAILED"
echo "t_imagesig_cosign: all passed"
