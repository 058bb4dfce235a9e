#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# `make demo`: a swtpm host TPM that "booted" (a UEFI log's events extended into it), vtpm-mgr
# with its defaults, two container vTPMs used with stock tpm2-tools, the EK chain checked with
# OpenSSL, a restart that keeps state; then the main job: the verifier judges the host's boot
# and each container, runc starts an approved container and refuses a tampered one, and a
# scheduler's admission review is answered. Cleans up after.
set -eu
B=$(cd "${1:-build}" && pwd)
ROOT=$(cd "$(dirname "$0")/.." && pwd)
D=$(mktemp -d /tmp/vtpm-demo.XXXXXX)
chmod 755 "$D"
MGR= VF= CTRS=
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
cleanup() {
    for c in $CTRS; do timeout 10 runc delete -f "$c" >/dev/null 2>&1 || true; done
    [ -n "$VF" ] && kill -TERM "$VF" 2>/dev/null
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

say "host boot: a UEFI event log's events extended into PCRs 0-7 (firmware stands in: uefilog_build)"
"$B/tests/uefilog_build" --out "$D/boot.bin" --preset basic >/dev/null
"$B/bin/verifier" boot-policy show --log "$D/boot.bin" |
    python3 -c 'import json,sys
for l in sys.stdin:
    e = json.loads(l)
    if e.get("index") is not None and e["type"] != "EV_NO_ACTION": print("%d:sha256=%s" % (e["pcr"], e["sha256"]))' |
    while read -r e; do TPM2TOOLS_TCTI="$TCTI" tpm2_pcrextend "$e"; done
"$B/bin/verifier" boot-policy derive --log "$D/boot.bin" --pcrs 0-7 --no-kmod >"$D/boot.json"
echo "reference values of this boot: $D/boot.json ($(grep -c '"[0-9a-f]\{64\}"' "$D/boot.json") digests)"

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
"$B/bin/vtpmctl" host-chain --out "$D/chain" web-1
openssl x509 -in "$D/ek-cert.pem" -noout -subject -issuer -ext subjectAltName,extendedKeyUsage
openssl verify -CAfile "$D/chain/vtpm-ca.pem" -untrusted "$D/chain/vtpm-issuer.pem" "$D/ek-cert.pem"
CHAIN="$D/host/ek-ca.pem"; [ -f "$D/host/ek-ca-chain.pem" ] && CHAIN="$D/host/ek-ca-chain.pem"
openssl verify -CAfile "$CHAIN" "$D/chain/host-ek.pem"

say "graceful restart: PCR 16 is resumed, not reset"
kill -TERM "$MGR"; wait "$MGR" 2>/dev/null || true; MGR=
start
tpm2_pcrread sha256:16

say "the verifier: launch policy + boot reference values (plain HTTP on loopback for the demo)"
mkdir -p "$D/bundle/rootfs/bin" "$D/trust" && cp "$D/host/ek-ca.pem" "$D/trust/"
cp "$(command -v busybox)" "$D/bundle/rootfs/bin/busybox"
(cd "$D/bundle" && runc spec)
# the system calls the default policy wants blocked: the agent's own list
DANGEROUS=$("$B/bin/attest-agent" dangerous-syscalls)
export DANGEROUS
python3 - "$D/bundle/config.json" <<'PY'
import json, os, sys
f = sys.argv[1]; c = json.load(open(f))
# hardened as the default policy wants: not root, no capabilities, limits, seccomp blocking
# the system calls Docker's default profile blocks (runc spec has the masked/readonly paths)
c["process"].update(terminal=False, args=["/bin/busybox", "sleep", "30"],
                    user={"uid": 1000, "gid": 1000}, noNewPrivileges=True,
                    capabilities={k: [] for k in ("bounding", "effective", "permitted", "ambient")})
r = c["linux"].setdefault("resources", {})
r["memory"] = {"limit": 64 << 20}; r["cpu"] = {"shares": 512}; r["pids"] = {"limit": 64}
blocked = json.loads(os.environ["DANGEROUS"])  # attest-agent dangerous-syscalls
c["linux"]["seccomp"] = {"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86_64"],
    "syscalls": [{"names": blocked, "action": "SCMP_ACT_ERRNO"}]}
json.dump(c, open(f, "w"))
PY
"$B/bin/attest-agent" measure --bundle "$D/bundle" >"$D/m.json"
dig() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$D/m.json" "$1"; }
"$B/bin/verifier" policy default >"$D/policy.json"
"$B/bin/verifier" policy allow --policy "$D/policy.json" --rootfs-digest "$(dig rootfs_digest)" \
    --runtime-digest "$(dig runtime_digest)" --agent-digest "$(dig agent_digest)"
"$B/bin/verifier" serve --listen 127.0.0.1:0 --port-file "$D/port" --db "sqlite:$D/vf.db" \
    --policy "$D/policy.json" --boot-policy "$D/boot.json" --trust "$D/trust" --insecure-no-tls \
    2>>"$D/vf.log" &
VF=$!
i=0; until [ -s "$D/port" ]; do i=$((i + 1)); [ $i -lt 100 ] || exit 1; sleep 0.1; done
URL=http://127.0.0.1:$(cat "$D/port")
echo "verifier at $URL (pid $VF)"

hook() { # BUNDLE: the attest-agent createRuntime hook in its config.json
    python3 - "$1/config.json" "$B/bin/attest-agent" "$URL" "$D/run" "$D/boot.bin" <<'PY'
import json, sys
f, agent, url, run, log = sys.argv[1:]
c = json.load(open(f))
c["hooks"] = {"createRuntime": [{"path": agent, "args": ["attest-agent", "hook", "--verifier", url,
    "--run-dir", run, "--agent-socket", "", "--uefi-log", log, "--kmod-log", "", "--node-name", "demo-node",
    "--cache-dir", run + "/../agent-cache"]}]}
json.dump(c, open(f, "w"))
PY
}
say "runc create with the attest-agent hook: measured, vTPM quoted, node attested once (host quote), allowed, started"
hook "$D/bundle"
CTRS="demo-ok"
runc create --bundle "$D/bundle" demo-ok </dev/null && runc start demo-ok
runc state demo-ok | python3 -c 'import json,sys; print("container demo-ok:", json.load(sys.stdin)["status"])'
curl -sS "$URL/v1/containers/demo-ok"; echo
curl -sS "$URL/v1/nodes/demo-node"; echo

say "a tampered image: the verifier denies it and runc never starts it"
cp -a "$D/bundle" "$D/bad" && echo tampered >"$D/bad/rootfs/bin/extra"
CTRS="$CTRS demo-bad"
if runc create --bundle "$D/bad" demo-bad </dev/null 2>"$D/bad.err"; then echo "unexpected: created"; exit 1; fi
grep -o 'rootfs-digest-not-allowed:sha256:[0-9a-f]*' "$D/bad.err" | head -1

say "an escape in config.json: the host root bound through a relative source, \"ro\" then \"rw\""
cp -a "$D/bundle" "$D/esc"
python3 - "$D/esc/config.json" <<'PY'
import json, sys
f = sys.argv[1]; c = json.load(open(f))
c["mounts"].append({"destination": "/host", "source": "../../../../../../..", "options": ["rbind", "ro", "rw"]})
json.dump(c, open(f, "w"))
PY
CTRS="$CTRS demo-esc"
if runc create --bundle "$D/esc" demo-esc </dev/null 2>"$D/esc.err"; then echo "unexpected: created"; exit 1; fi
grep -o 'host-mount-sensitive:[^\]*' "$D/esc.err" | head -1

say "a scheduler asks: may this pod (its security settings checked by the same launch rules) run on demo-node? (Kubernetes AdmissionReview)"
printf '%s' '{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"demo-1",
 "kind":{"group":"","version":"v1","kind":"Pod"},"resource":{"group":"","version":"v1","resource":"pods"},
 "operation":"CREATE","namespace":"default","name":"web","object":{"apiVersion":"v1","kind":"Pod",
 "metadata":{"name":"web"},"spec":{"nodeName":"demo-node","containers":[{"name":"web","image":"busybox",
 "securityContext":{"runAsNonRoot":true,"runAsUser":1000,"allowPrivilegeEscalation":false,
  "capabilities":{"drop":["ALL"]},"seccompProfile":{"type":"RuntimeDefault"}}}]}}}}' |
    curl -sS -H 'Content-Type: application/json' --data-binary @- "$URL/v1/admission"; echo

say "the host runs something it did not boot with (PCR 4 extended): at its next host attestation the node and its containers are denied"
TPM2TOOLS_TCTI="$TCTI" tpm2_pcrextend "4:sha256=$(printf 'unapproved kernel' | sha256sum | cut -d' ' -f1)"
# What the agent service sends every interval (and a hook whose node record ran out):
# host-only evidence, one host quote over a verifier nonce.
NONCE=$(curl -sS "$URL/v1/nonce" | python3 -c 'import json,sys; print(json.load(sys.stdin)["nonce"])')
"$B/bin/attest-agent" host-evidence --nonce "$NONCE" --out "$D/host-ev.cbor" --run-dir "$D/run" \
    --uefi-log "$D/boot.bin" --kmod-log '' --node-name demo-node
curl -sS -H 'Content-Type: application/cbor' --data-binary @"$D/host-ev.cbor" "$URL/v1/hosts/evidence" |
    grep -o '"verdict":"[a-z]*"\|host-eventlog-replay-mismatch:pcr [0-9]*' | head -2
curl -sS "$URL/v1/containers/demo-ok" | grep -o '"verdict":"[a-z]*"\|node-denied:[a-z0-9.-]*' | head -2
cp -a "$D/bundle" "$D/again"
CTRS="$CTRS demo-again"
if runc create --bundle "$D/again" demo-again </dev/null 2>"$D/again.err"; then echo "unexpected: created"; exit 1; fi
grep -o 'node-verdict-deny:node demo-node' "$D/again.err" | head -1
printf '%s' '{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"demo-2",
 "kind":{"group":"","version":"v1","kind":"Pod"},"resource":{"group":"","version":"v1","resource":"pods"},
 "operation":"CREATE","namespace":"default","name":"web","object":{"apiVersion":"v1","kind":"Pod",
 "metadata":{"name":"web"},"spec":{"nodeName":"demo-node","containers":[{"name":"web","image":"busybox",
 "securityContext":{"runAsNonRoot":true,"runAsUser":1000,"allowPrivilegeEscalation":false,
  "capabilities":{"drop":["ALL"]},"seccompProfile":{"type":"RuntimeDefault"}}}]}}}}' |
    curl -sS -H 'Content-Type: application/json' --data-binary @- "$URL/v1/admission"; echo

curl -sS "$URL/v1/nodes/demo-node"; echo

say "done: the demo's files are removed on exit"
