#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Image signatures end to end with real runc: the agent measures the image reference and
# manifest digest from the bundle's OCI annotations, the verifier service (policy with an
# image_signatures rule and cosign's own signatures from Debian's containers/image fixtures as
# its store) judges them. The container whose annotations name the signed manifest starts;
# one naming an unsigned manifest, one without a digest, one signed by a key the policy does
# not list, one signed by a listed key past its not_after, one naming the fixture's tampered
# manifest (signature over another digest), and one whose key was revoked are denied with
# their image-* reason and never exist.
. "$(dirname "$0")/lib.sh"
need_runc
. "$(dirname "$0")/attest_lib.sh"
. "$(dirname "$0")/hook_lib.sh"
FX=/usr/share/gocode/src/github.com/containers/image/signature/fixtures
[ -f "$FX/cosign.pub" ] || fail "$FX/cosign.pub missing: apt-get install golang-github-containers-image-dev"

attest_setup e2esig-$$
IMG=192.168.64.2:5000/cosign-signed-single-sample
D=sha256:$(sha256sum "$FX/dir-img-cosign-valid/manifest.json" | cut -c1-64)
UNSIGNED=sha256:$(printf 'unsigned manifest' | sha256sum | cut -c1-64)
# The store: a directory of dir: layouts. valid and tampered are cosign's fixtures (tampered:
# manifest bytes edited after signing, its signature names D); wrong and expired hold a
# manifest of their own and a cosign-format signature made with openssl (ECDSA P-256 over
# SHA-256 of the payload): wrong by a key the policy does not list, expired by key "exp",
# listed with a validity period that ended in 2021.
mkdir store || fail "mkdir store"
cp -rL "$FX/dir-img-cosign-valid" store/valid &&
    cp -rL "$FX/dir-img-cosign-modified-manifest" store/tampered ||
    fail "copy of the cosign fixtures"
TAMPERED=sha256:$(sha256sum store/tampered/manifest.json | cut -c1-64)
[ "$TAMPERED" != "$D" ] || fail "the modified-manifest fixture hashes to the signed digest"
for k in other exp; do
    openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out $k.key 2>/dev/null &&
        openssl pkey -in $k.key -pubout -out $k.pub || fail "openssl key $k"
done
# signed_layout NAME KEY: store/NAME with its own manifest signed by KEY; prints its digest.
signed_layout() {
    mkdir "store/$1" || fail "mkdir store/$1"
    printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","size":2,"digest":"sha256:%s"},"layers":[],"annotations":{"t":"%s"}}' \
        "$(printf '{}' | sha256sum | cut -c1-64)" "$1" >"store/$1/manifest.json"
    _d=sha256:$(sha256sum "store/$1/manifest.json" | cut -c1-64)
    printf '{"critical":{"identity":{"docker-reference":"%s"},"image":{"docker-manifest-digest":"%s"},"type":"cosign container image signature"},"optional":null}' \
        "$IMG" "$_d" >"$1.payload"
    openssl dgst -sha256 -sign "$2.key" -out "$1.sig" "$1.payload" || fail "openssl sign $1"
    { printf '\000sigstore-json\n'
      jq -jnc --arg p "$(base64 -w0 "$1.payload")" --arg s "$(base64 -w0 "$1.sig")" \
        '{mimeType: "application/vnd.dev.cosign.simplesigning.v1+json", payload: $p,
          annotations: {"dev.cosignproject.cosign/signature": $s}}'; } >"store/$1/signature-1"
    echo "$_d"
}
WRONG=$(signed_layout wrong other)
EXPIRED=$(signed_layout expired exp)
# sigpolicy OUT REVOKED: policy.json plus the image_signatures section.
sigpolicy() {
    jq --rawfile k "$FX/cosign.pub" --rawfile e exp.pub --arg s "$T/store" --argjson r "$2" \
        '. + {image_signatures: {keys: [{name: "cosign-fixture", public_key: $k,
              not_before: "2020-01-01T00:00:00Z", not_after: "2099-01-01T00:00:00Z", revoked: $r},
              {name: "exp", public_key: $e,
              not_before: "2020-01-01T00:00:00Z", not_after: "2021-01-01T00:00:00Z"}],
              rules: [{images: "192.168.64.2:5000/*", keys: ["cosign-fixture", "exp"]}],
              stores: [{dir: $s}]}}' policy.json >"$1"
}
sigpolicy sig.json false
sigpolicy revoked.json true
start_verifier sig.json trust

# bundle NAME ANNOTATIONS_PYTHON_DICT: base with the agent hook and these annotations.
bundle() { hooked_bundle "$1" "c['annotations'] = $2"; }

bundle signed "{'org.opencontainers.image.ref.name': '$IMG:latest',
                'org.opencontainers.image.manifest.digest': '$D'}"
create signed || { cat signed.err >&2; fail "the signed image's container was not created"; }
timeout 10 runc start "$ID-signed" || fail "runc start"
[ "$(status_of signed)" = running ] || fail "the signed image's container is not running"
timeout 10 runc delete -f "$ID-signed" || fail "runc delete"
ok "allowed: signed image (cosign fixture) attested and running"

bundle unsigned "{'org.opencontainers.image.ref.name': '$IMG:latest',
                  'org.opencontainers.image.manifest.digest': '$UNSIGNED'}"
denied unsigned "image-unsigned:$IMG"
bundle nodigest "{'io.kubernetes.cri.image-name': '$IMG:latest'}"
denied nodigest "image-not-measured"
bundle wrong "{'org.opencontainers.image.ref.name': '$IMG:latest',
               'org.opencontainers.image.manifest.digest': '$WRONG'}"
denied wrong "image-signature-invalid:$IMG"
bundle expired "{'org.opencontainers.image.ref.name': '$IMG:latest',
                 'org.opencontainers.image.manifest.digest': '$EXPIRED'}"
denied expired "image-signing-key-expired:exp"
bundle tampered "{'org.opencontainers.image.ref.name': '$IMG:latest',
                  'org.opencontainers.image.manifest.digest': '$TAMPERED'}"
denied tampered "image-manifest-mismatch:$TAMPERED signed for another digest"

# The same signed image once the key is revoked (SIGHUP reloads the policy).
cp revoked.json sig.json
kill -HUP "$VF_PID"
_i=0
until grep -q "reloaded:" vf.log; do
    _i=$((_i + 1)); [ $_i -lt 100 ] || { cat vf.log >&2; fail "the verifier did not reload"; }
    sleep 0.1
done
bundle signed2 "{'org.opencontainers.image.ref.name': '$IMG:latest',
                 'org.opencontainers.image.manifest.digest': '$D'}"
denied signed2 "image-signing-key-revoked:cosign-fixture"
echo "t_e2e_imagesig: all passed"
