#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# The agent's host evidence, offline: `attest-agent host-evidence` and the `host` part of
# `attest-agent evidence` (host quote with the evidence's nonce, the kmod-vtpm list and UEFI
# log as given), judged by `verifier verify`; --no-host-evidence leaves the part out; bad
# options, short nonces, oversize and unreadable logs fail with a clear error.
. "$(dirname "$0")/lib.sh"
command -v python3 >/dev/null 2>&1 || { echo "python3 missing"; exit 77; }
command -v runc >/dev/null 2>&1 || { echo "runc missing (the runtime measured)"; exit 77; }
AGENT=$BIN/attest-agent
VF=$BIN/verifier
NODE=hostev-node.example
start_host_tpm
cd "$T"

# A kmod-vtpm list as the module writes it, its events extended into the host's PCR 13.
line() { printf '13 %s %s\n' "$(printf '%s' "$1" | sha256sum | cut -d' ' -f1)" "$1"; }
Z=0000000000000000000000000000000000000000000000000000000000000000
E1="vtpm-attest/1 op=load pcr=13 base=sha256:$Z"
E2="vtpm-attest/1 op=create index=0 uuid=0e5ad1c8-3f55-4f1e-9d2b-0a7c1d2e3f40 ek=sha256:$Z label=t pidns=1 netns=2 userns=3"
{ line "$E1"; line "$E2"; } >kmod.list
for e in "$E1" "$E2"; do
    TPM2TOOLS_TCTI="$HOST_TCTI" tpm2_pcrextend "13:sha256=$(printf '%s' "$e" | sha256sum | cut -d' ' -f1)" ||
        fail "pcrextend 13"
done
start_mgr
mkdir trust && cp "$HOST/ek-ca.pem" trust/
"$VF" policy default >policy.json || fail "policy default"
N=$(openssl rand -hex 32)
HE() { "$AGENT" host-evidence --run-dir "$RUN" --node-name "$NODE" --uefi-log '' "$@"; }
verify_host() { # FILE: the verifier's JSON on stdout, its exit status
    "$VF" verify --policy policy.json --trust trust --host --allow-unregistered-ak "$1"
}
# has FILE KEY...: the CBOR file holds these text strings (map keys and the node name).
has() { python3 -c 'import sys
d = open(sys.argv[1], "rb").read()
for k in sys.argv[2:]:
    b = k.encode()
    if bytes([0x60 + len(b)] if len(b) < 24 else [0x78, len(b)]) + b not in d: sys.exit(1)' "$@"; }

HE --nonce "$N" --kmod-log kmod.list --out h1.cbor || fail "host-evidence"
has h1.cbor v nonce host_chain host node "$NODE" quote_attest quote_sig pcrs kmod_log ||
    fail "host evidence lacks a key"
has h1.cbor uefi_log && fail "--uefi-log '' still sent a UEFI log"
verify_host h1.cbor >v1.json || { cat v1.json >&2; fail "verifier denies the host evidence"; }
grep -q '"allow"' v1.json || fail "no allow in $(cat v1.json)"
ok "host-evidence: quote and kmod-vtpm list verify (verifier verify --host)"

# Lines the quote does not cover yet (a vTPM created after it) are fine; a list that does not
# replay to the quoted PCR 13 and a malformed one are not.
{ cat kmod.list; line "vtpm-attest/1 op=destroy index=0 uuid=0e5ad1c8-3f55-4f1e-9d2b-0a7c1d2e3f40 ek=sha256:$Z label=t pidns=1 netns=2 userns=3"; } >kmod.later
HE --nonce "$N" --kmod-log kmod.later --out h2.cbor || fail "host-evidence (later line)"
verify_host h2.cbor >v2.json || { cat v2.json >&2; fail "a list with a line after the quote is denied"; }
line "$E1" >kmod.short
HE --nonce "$N" --kmod-log kmod.short --out h3.cbor || fail "host-evidence (short list)"
verify_host h3.cbor >v3.json && fail "a list that misses a quoted line is allowed"
grep -q "host-kmod-replay-mismatch" v3.json || fail "short list: $(cat v3.json)"
sed 's/^13 ./13 0/' kmod.list >kmod.bad
HE --nonce "$N" --kmod-log kmod.bad --out h4.cbor || fail "host-evidence (bad list)"
verify_host h4.cbor >v4.json && fail "a list with a wrong digest is allowed"
grep -q "host-kmod-list-malformed" v4.json || fail "bad list: $(cat v4.json)"
ok "kmod-vtpm list: later lines ignored, a missing line or a wrong digest denied"

# A UEFI log goes into the evidence as it is: one that the host's PCRs do not replay to is
# denied (the swtpm host TPM booted nothing).
"$BUILD/tests/uefilog_build" --out boot.bin --preset basic >/dev/null || fail "uefilog_build"
HE --nonce "$N" --kmod-log '' --uefi-log boot.bin --out h5.cbor || fail "host-evidence with a UEFI log"
has h5.cbor uefi_log || fail "UEFI log not sent"
has h5.cbor kmod_log && fail "--kmod-log '' still sent a list"
verify_host h5.cbor >v5.json && fail "a UEFI log that does not replay is allowed"
grep -q "host-eventlog-replay-mismatch" v5.json || fail "UEFI log: $(cat v5.json)"
ok "UEFI log sent as given; one that does not replay to the quote is denied"

# The host part of container evidence: the same nonce binds both quotes; the tool's
# defaults (PCRs 0-7, 13) verify; --no-host-evidence leaves the part out.
mkdir -p b/rootfs/bin && cp "$(command -v busybox 2>/dev/null || command -v sh)" b/rootfs/bin/ &&
    (cd b && runc spec) || fail "bundle"
U=$(create_vtpm)
"$AGENT" evidence --run-dir "$RUN" --vtpm "$U" --nonce "$N" --bundle b --out ev.cbor \
    --node-name "$NODE" --kmod-log kmod.list --uefi-log '' || fail "evidence"
has ev.cbor container_id event_log host node "$NODE" kmod_log || fail "evidence without host part"
"$VF" verify --policy policy.json --trust trust --allow-unregistered-ak ev.cbor >ve.json || true
grep -q verdict ve.json || fail "container evidence not judged: $(cat ve.json)"
grep -q '"host-' ve.json && fail "host reasons for container evidence: $(cat ve.json)"
U3=$(create_vtpm)
"$AGENT" evidence --run-dir "$RUN" --vtpm "$U3" --nonce "$N" --bundle b --out ev3.cbor \
    --node-name "$NODE" --kmod-log kmod.short --uefi-log '' || fail "evidence (short list)"
"$VF" verify --policy policy.json --trust trust --allow-unregistered-ak ev3.cbor >ve3.json || true
grep -q "host-kmod-replay-mismatch" ve3.json || fail "host part of container evidence unchecked: $(cat ve3.json)"
U2=$(create_vtpm)
"$AGENT" evidence --run-dir "$RUN" --vtpm "$U2" --nonce "$N" --bundle b --out ev2.cbor \
    --no-host-evidence || fail "evidence --no-host-evidence"
has ev2.cbor host && fail "--no-host-evidence sent a host part"
has ev2.cbor container_id event_log || fail "evidence --no-host-evidence is not evidence"
ok "container evidence carries the host part (none with --no-host-evidence)"

# Bad input: clear errors, nothing written.
bad() { # DESCRIPTION WORD ARGS...: host-evidence fails and says WORD
    _b_what=$1 _b_word=$2; shift 2
    if "$AGENT" host-evidence --run-dir "$RUN" --out bad.cbor "$@" 2>bad.err; then
        fail "$_b_what: accepted"
    fi
    grep -qi -- "$_b_word" bad.err || { cat bad.err >&2; fail "$_b_what: no '$_b_word' in the error"; }
    [ ! -e bad.cbor ] || fail "$_b_what: file written"
}
bad "8-byte nonce" "nonce" --nonce "$(openssl rand -hex 8)" --node-name "$NODE"
bad "no nonce" "usage" --node-name "$NODE"
bad "--no-host-evidence" "usage" --nonce "$N" --no-host-evidence
bad "PCR 24" "usage" --nonce "$N" --host-pcrs 0-7,24
bad "duplicate PCR" "usage" --nonce "$N" --host-pcrs 0-7,7
bad "empty PCR list" "usage" --nonce "$N" --host-pcrs ''
bad "upper-case node" "node-name" --nonce "$N" --node-name Node-A
bad "node ending in -" "node-name" --nonce "$N" --node-name node-
bad "254-char node" "node-name" --nonce "$N" --node-name "$(printf 'a%.0s' $(seq 254))"
head -c $((4 * 1024 * 1024 + 1)) /dev/zero >big.log
bad "UEFI log over 4 MiB" "4 MiB" --nonce "$N" --node-name "$NODE" --uefi-log big.log
head -c $((1024 * 1024)) /dev/urandom >mid.log
bad "evidence over 1 MiB" "limit" --nonce "$N" --node-name "$NODE" --kmod-log mid.log
bad "log is a directory" "kmod-vtpm" --nonce "$N" --node-name "$NODE" --kmod-log "$T"
HE --nonce "$N" --kmod-log "$T/does-not-exist" --out h6.cbor || fail "a missing list is an error"
has h6.cbor kmod_log && fail "a missing list was sent"
ok "bad nonce, options, node names, oversize and unreadable logs refused; a missing log is left out"
stop_mgr
echo "t_agent_hostev: all passed"
