#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Image signature checks per second on one core (tests/tools/bench_imagesig, the same code as
# verifier/check/imagesig.c), side by side with the signature verification alone: the whole
# check (store reads, manifest and blob hashing, JSON parsing, verification) for cosign's own
# P-256 signature in a `dir:` layout (Debian's containers/image fixture; one layout, and the
# fixture directory of 17 entries scanned by digest) and for openssl-made P-256 and Ed25519
# signatures in an OCI layout written by skopeo. Prints a markdown table.
# Usage: bench_imagesig.sh [BUILD_DIR]    BENCH_IMAGESIG_SECONDS (default 3) per line.
set -eu
B=$(cd "${1:-build}" && pwd)
S=${BENCH_IMAGESIG_SECONDS:-3}
FX=/usr/share/gocode/src/github.com/containers/image/signature/fixtures
T=$(mktemp -d /tmp/vtpm-bench-imagesig.XXXXXX)
trap 'rm -rf "$T"' EXIT
cd "$T"
X=$B/tests/bench_imagesig
V=$B/bin/verifier
[ -x "$X" ] || { echo "bench_imagesig: $X missing (make B=$B all)" >&2; exit 1; }
[ -f "$FX/cosign.pub" ] || { echo "bench_imagesig: $FX missing (golang-github-containers-image-dev)" >&2; exit 1; }
command -v skopeo >/dev/null || { echo "bench_imagesig: skopeo missing" >&2; exit 1; }

"$V" policy default >base.json
policy() { # OUT PEM PATTERN STORE_JSON
    jq --rawfile k "$2" --arg p "$3" --argjson s "$4" \
        '. + {image_signatures: {keys: [{name: "k", public_key: $k, not_before: "2020-01-01T00:00:00Z",
          not_after: "2099-01-01T00:00:00Z"}], rules: [{images: $p, keys: ["k"]}], stores: $s}}' \
        base.json >"$1"
}
IMG=192.168.64.2:5000/cosign-signed-single-sample
D=sha256:$(sha256sum "$FX/dir-img-cosign-valid/manifest.json" | cut -c1-64)
policy fx1.json "$FX/cosign.pub" "192.168.64.2:5000/*" "[{\"dir\": \"$FX/dir-img-cosign-valid\"}]"
policy fxall.json "$FX/cosign.pub" "192.168.64.2:5000/*" "[{\"dir\": \"$FX\"}]"
tail -c +16 "$FX/dir-img-cosign-valid/signature-1" | jq -r .payload | base64 -d >fx.payload
tail -c +16 "$FX/dir-img-cosign-valid/signature-1" |
    jq -r '.annotations["dev.cosignproject.cosign/signature"]' | base64 -d >fx.sig

# OCI layouts with openssl signatures (as tests/integration/t_imagesig.sh builds them).
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out ec.key 2>/dev/null
openssl pkey -in ec.key -pubout -out ec.pub
openssl genpkey -algorithm ED25519 -out ed.key
openssl pkey -in ed.key -pubout -out ed.pub
blob() { _h=$(sha256sum "$2" | cut -c1-64); cp "$2" "$1/$_h"; echo "sha256:$_h"; }
mkdir img && printf 'Directory Transport Version: 1.1\n' >img/version && printf '{}' >cfg.json
CFG=$(blob img cfg.json)
printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","size":2,"digest":"%s"},"layers":[]}' \
    "$CFG" >img/manifest.json
M=sha256:$(sha256sum img/manifest.json | cut -c1-64)
REPO=registry.test:5000/team/app
printf '{"critical":{"identity":{"docker-reference":"%s"},"image":{"docker-manifest-digest":"%s"},"type":"cosign container image signature"},"optional":null}' \
    "$REPO" "$M" >oci.payload
for k in ec ed; do
    if [ $k = ed ]; then openssl pkeyutl -sign -rawin -inkey ed.key -in oci.payload -out $k.sig
    else openssl dgst -sha256 -sign ec.key -out $k.sig oci.payload; fi
    mkdir sig-$k && printf 'Directory Transport Version: 1.1\n' >sig-$k/version
    P=$(blob sig-$k oci.payload); C=$(blob sig-$k cfg.json)
    jq -nc --arg c "$C" --arg p "$P" --argjson n "$(wc -c <oci.payload)" --arg s "$(base64 -w0 $k.sig)" \
        '{schemaVersion: 2, mediaType: "application/vnd.oci.image.manifest.v1+json",
          config: {mediaType: "application/vnd.oci.image.config.v1+json", size: 2, digest: $c},
          layers: [{mediaType: "application/vnd.dev.cosign.simplesigning.v1+json", size: $n,
                    digest: $p, annotations: {"dev.cosignproject.cosign/signature": $s}}]}' |
        tr -d '\n' >sig-$k/manifest.json
    skopeo copy -q --preserve-digests dir:img "oci:$T/oci-$k:app" >/dev/null
    skopeo copy -q --preserve-digests "dir:sig-$k" "oci:$T/oci-$k:sha256-${M#sha256:}.sig" >/dev/null
    policy oci-$k.json $k.pub "registry.test:5000/*" "[{\"oci\": \"$T/oci-$k\"}]"
done

field() { echo "$1" | sed -n "s|.*$2 \([0-9.]*\).*|\1|p"; }
row() { # LABEL KEY CHECK_OUTPUT VERIFY_OUTPUT
    _c=$(field "$3" checks/s) _v=$(field "$4" checks/s)
    _cm=$(field "$3" median_us) _vm=$(field "$4" median_us)
    echo "| $1 | $2 | $_c | $_cm | $_v | $_vm | $(echo "$_cm $_vm" | awk '{printf "%.2f", $1 / $2}') |"
}
VFX=$("$X" verify "$FX/cosign.pub" fx.payload fx.sig "$S")
VEC=$("$X" verify ec.pub oci.payload ec.sig "$S")
VED=$("$X" verify ed.pub oci.payload ed.sig "$S")
echo "| signature source | key | whole check /s | median us | verify alone /s | median us | whole / verify (medians) |"
echo "|---|---|---:|---:|---:|---:|---:|"
row "cosign fixture, one \`dir:\` layout" "ECDSA P-256" "$("$X" check fx1.json "$IMG" "$D" "$S")" "$VFX"
row "cosign fixture, \`dir:\` store of 17 entries" "ECDSA P-256" "$("$X" check fxall.json "$IMG" "$D" "$S")" "$VFX"
row "openssl, OCI layout (skopeo)" "ECDSA P-256" "$("$X" check oci-ec.json "$REPO" "$M" "$S")" "$VEC"
row "openssl, OCI layout (skopeo)" "Ed25519" "$("$X" check oci-ed.json "$REPO" "$M" "$S")" "$VED"
