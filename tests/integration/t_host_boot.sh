# SPDX-License-Identifier: BSD-3-Clause
# A real measured boot (swtpm-ci/check-boot.sh: OVMF + a provisioned swtpm + Debian's kernel
# under QEMU) whose host agent is our own stack (vtpm-mgr, kmod-vtpm, attest-agent), checked
# from the host: the TCG event log replays to the guest's PCRs (tpm2_eventlog), the host
# quote verifies with the host's nonce (tpm2_checkquote) and covers the replayed log, PCR 4
# and 9 hold the kernel, command line and initrd that were booted, the kmod-vtpm list replays
# to PCR 13; then `verifier verify` allows the host evidence and the container evidence
# against a boot policy derived from the log, and denies a tampered boot, a replaced log, an
# untrusted EK CA and a vTPM that kmod-vtpm never created, each with its reason code.
# Leaves the results in BUILD/boot-test/ for later tests and benchmarks, and prints what the
# firmware measured, per PCR.
. "$(dirname "$0")/lib.sh"
D=$BUILD/boot-test
TB=$ROOT/tests/boot
EV=$T/eventlog.yaml
REPLAYED="0 1 2 3 4 5 6 7 9"   # PCRs with firmware or EFI-stub events in the log
VF=$BIN/verifier
EDIT=$BUILD/tests/evidence_edit
command -v jq >/dev/null 2>&1 || { echo "jq missing (make deps)"; exit 77; }

yaml() { python3 "$TB/evlog_yaml.py" "$@"; }
kv() { sed -n "s/^$1=//p" "$D/boot-info.txt"; }
pcr_of() { awk -v i="$1" '$1 == i { print $2 }' "$2"; }
uuid_of() { jq -r .uuid "$D/vtpm-$1.json"; }

# same_pcrs A B: the PCRs of REPLAYED have one value, the same in both "index hex" files.
same_pcrs() {
    for i in $REPLAYED; do
        a=$(pcr_of "$i" "$1") b=$(pcr_of "$i" "$2")
        [ -n "$a" ] && [ "$a" = "$b" ] || { echo "PCR $i: $a vs $b"; return 1; }
    done
}

boot() {
    rc=0
    sh "$ROOT/swtpm-ci/check-boot.sh" "$BUILD" "$D" || rc=$?
    [ $rc -eq 0 ] || { echo "FAIL: check-boot.sh exit $rc" >&2; exit $rc; }
    for f in binary_bios_measurements kvtpm_measurements pcrs.yaml nonce.hex host.cbor ev.cbor \
             ev-nodev.cbor measure.json vtpm-dev.json vtpm-nodev.json host-chain/host-ak.pub.pem \
             trust/ek-ca.pem bundle/config.json dmesg.txt boot-info.txt; do
        [ -s "$D/$f" ] || fail "no $f from the guest"
    done
    ok "booted in $(kv boot_seconds) s, results in $D"
}

replay() {
    tpm2_eventlog "$D/binary_bios_measurements" >"$EV" || fail "tpm2_eventlog does not parse the log"
    yaml pcrs sha256 "$EV" >"$T/replayed" && yaml pcrs sha256 "$D/pcrs.yaml" >"$T/guest"
    same_pcrs "$T/replayed" "$T/guest" || fail "replayed log != PCRs read in the guest"
    ok "log replays to the guest's sha256 PCRs $REPLAYED"
    # A log with one digest changed must no longer match.
    python3 -c 'import sys
d = open(sys.argv[1], "rb").read(); x = bytes.fromhex(sys.argv[2]); i = d.find(x)
assert i > 0; open(sys.argv[3], "wb").write(d[:i] + bytes([d[i] ^ 1]) + d[i + 1:])' \
        "$D/binary_bios_measurements" "$(yaml digests EV_EFI_BOOT_SERVICES_APPLICATION "$EV" | cut -d' ' -f2)" \
        "$T/bad.log" || fail "could not make a tampered log"
    tpm2_eventlog "$T/bad.log" >"$T/bad.yaml" && yaml pcrs sha256 "$T/bad.yaml" >"$T/bad.replayed"
    ! same_pcrs "$T/bad.replayed" "$T/guest" >/dev/null || fail "tampered log still matches"
    ok "a log with one changed digest does not"
}

# pcrDigest (the last 32 bytes of the TPMS_ATTEST) = SHA-256 of the quoted PCRs in index
# order, computed here from the replayed UEFI log (0-7, 9) and the replayed kmod list (13).
quoted_digest_is_replay() {
    python3 -c 'import hashlib,sys
v = b"".join(bytes.fromhex(x) for x in sys.argv[2:])
sys.exit(open(sys.argv[1], "rb").read()[-32:] != hashlib.sha256(v).digest())' "$1" \
        $(for i in $REPLAYED; do pcr_of "$i" "$T/replayed"; done) "$2"
}

# The host quote inside attest-agent's host evidence, checked with tpm2-tools as a second
# opinion: signature by the host AK of the exported chain, the host's nonce, replayed PCRs.
quote() {
    n=$(cat "$D/nonce.hex")
    "$EDIT" get "$D/host.cbor" host.quote_attest "$T/q.msg" && "$EDIT" get "$D/host.cbor" host.quote_sig "$T/q.sig" &&
        "$EDIT" get "$D/host.cbor" host_chain.host-ak.pub.pem "$T/hak.pem" || fail "evidence_edit get"
    cmp -s "$T/hak.pem" "$D/host-chain/host-ak.pub.pem" || fail "host evidence carries another host AK than host-chain"
    tpm2_checkquote -u "$T/hak.pem" -m "$T/q.msg" -s "$T/q.sig" -g sha256 -q "$n" >/dev/null ||
        fail "tpm2_checkquote of the host quote"
    kmod=$("$BUILD/tests/kvtpm_replay" "$D/kvtpm_measurements" | awk '{print $3}')
    quoted_digest_is_replay "$T/q.msg" "$kmod" || fail "host quote's pcrDigest != replayed log + kmod list"
    ok "host quote (vtpm-mgr host AK) verifies with the nonce and covers the replayed PCRs 0-7, 9, 13"
    ! tpm2_checkquote -u "$T/hak.pem" -m "$T/q.msg" -s "$T/q.sig" -g sha256 -q "00$n" >/dev/null 2>&1 ||
        fail "quote passes with another nonce"
    cp "$T/q.msg" "$T/bad.msg" && flip_byte "$T/bad.msg" 40
    ! tpm2_checkquote -u "$T/hak.pem" -m "$T/bad.msg" -s "$T/q.sig" -g sha256 -q "$n" >/dev/null 2>&1 ||
        fail "altered quote passes"
    ! quoted_digest_is_replay "$T/q.msg" "00$kmod" || fail "pcrDigest check cannot fail"
    ok "another nonce, an altered quote or another PCR 13 fails"
}

# OVMF logs the kernel as QEMU handed it over (setup header filled in: pe_authenticode.py).
booted_images() {
    k=$(kv kernel_image)
    want=$(python3 "$TB/pe_authenticode.py" "$k" --qemu-initrd-size "$(kv initrd_size)" \
           --qemu-mem-mib "$(kv mem_mib)") || fail "pe_authenticode"
    got=$(yaml digests EV_EFI_BOOT_SERVICES_APPLICATION "$EV")
    [ "$got" = "4 $want file kernel" ] || fail "PCR 4 application '$got', kernel $want"
    ok "PCR 4: the booted kernel (Authenticode $want; as a file: $(python3 "$TB/pe_authenticode.py" "$k"))"
    # The EFI stub (Linux >= 6.1) measures its load options, which OVMF ends with
    # " initrd=initrd", as UTF-16 with the terminating NUL, and the initrd.
    opts=$(python3 -c 'import hashlib,sys; print(hashlib.sha256((sys.argv[1] + " initrd=initrd\0").encode("utf-16-le")).hexdigest())' "$(kv cmdline)")
    yaml digests EV_EVENT_TAG "$EV" >"$T/pcr9"
    grep -qx "9 $opts LOADED_IMAGE::LoadOptions" "$T/pcr9" || fail "PCR 9 load options: $(cat "$T/pcr9")"
    grep -qx "9 $(kv initrd_sha256) Linux initrd" "$T/pcr9" || fail "PCR 9 initrd: $(cat "$T/pcr9")"
    ok "PCR 9: the command line and the initrd that were booted"
}

# load, then the create of the vTPM with a device; the one without a device is not listed.
kmod_list() {
    grep -q ' vtpm-attest/1 op=load pcr=13 ' "$D/kvtpm_measurements" || fail "no op=load entry"
    grep -q " op=create .*uuid=$(uuid_of dev) .*label=boot-dev " "$D/kvtpm_measurements" ||
        fail "no op=create entry of the device vTPM"
    ! grep -q "uuid=$(uuid_of nodev)" "$D/kvtpm_measurements" || fail "the vTPM without a device is listed"
    r=$("$BUILD/tests/kvtpm_replay" "$D/kvtpm_measurements") || fail "kvtpm_replay"
    [ "$r" = "13 sha256 $(pcr_of 13 "$T/guest")" ] || fail "kmod list replays to '$r', PCR 13 $(pcr_of 13 "$T/guest")"
    ok "kmod-vtpm list (load, create of $(uuid_of dev)) replays to PCR 13"
    sed 's/op=load/op=lead/' "$D/kvtpm_measurements" >"$T/bad.list"
    ! "$BUILD/tests/kvtpm_replay" "$T/bad.list" >/dev/null 2>&1 || fail "altered kmod list replays"
}

# The helpers must be able to say no, or the checks above prove nothing.
negative_tools() {
    ! python3 "$TB/ovmf_tcg2.py" /usr/share/OVMF/OVMF_VARS_4M.fd >/dev/null || fail "ovmf_tcg2 accepts a non-firmware file"
    head -c 4096 "$(kv kernel_image)" >"$T/short.efi"
    ! python3 "$TB/pe_authenticode.py" "$T/short.efi" 2>/dev/null || fail "pe_authenticode accepts a truncated image"
    ! tpm2_eventlog "$T/short.efi" >/dev/null 2>&1 || fail "tpm2_eventlog accepts a non-log"
    ! "$EDIT" get "$D/host.cbor" host.no_such_key "$T/x" 2>/dev/null || fail "evidence_edit gets a missing key"
    ! "$EDIT" set "$D/host.cbor" host.pcrs "$T/q.sig" "$T/x" 2>/dev/null || fail "evidence_edit sets a non-bytes key"
    ! "$EDIT" get "$T/short.efi" nonce "$T/x" 2>/dev/null || fail "evidence_edit reads a non-CBOR file"
    # Setting the same bytes gives the same file: edits change only what they name.
    "$EDIT" set "$D/host.cbor" host.uefi_log "$D/binary_bios_measurements" "$T/same.cbor" &&
        cmp -s "$T/same.cbor" "$D/host.cbor" || fail "evidence_edit changes what it does not name"
}

# vf_verify OUT ARGS...: verifier verify's JSON line in OUT; prints its exit status.
vf_verify() {
    _o=$1; shift
    _rc=0
    "$VF" verify "$@" >"$_o" 2>"$_o.err" || _rc=$?
    echo "$_rc"
}

# expect_allow WHAT ARGS...
expect_allow() {
    _w=$1; shift
    _rc=$(vf_verify "$T/v.json" "$@")
    [ "$_rc" -eq 0 ] && jq -e '.verdict == "allow" and .reasons == []' "$T/v.json" >/dev/null ||
        fail "$_w: exit $_rc, $(cat "$T/v.json" "$T/v.json.err")"
}

# expect_deny WHAT CODE ARGS...: exit 1, deny, and CODE (or CODE:detail) among the reasons.
expect_deny() {
    _w=$1 _c=$2; shift 2
    _rc=$(vf_verify "$T/v.json" "$@")
    [ "$_rc" -eq 1 ] && jq -e --arg c "$_c" '.verdict == "deny" and
        (.reasons | any(. == $c or startswith($c + ":")))' "$T/v.json" >/dev/null ||
        fail "$_w: want deny with $_c; exit $_rc, $(cat "$T/v.json" "$T/v.json.err")"
}

# The reference policy derived from this very boot, all the PCRs the agent quoted; and a
# container policy allowing the bundle as the host measures it (same busybox, same agent).
policies() {
    "$VF" boot-policy derive --log "$D/binary_bios_measurements" --pcrs 0-7,9,13 >"$T/boot.json" ||
        fail "verifier boot-policy derive"
    jq -e '.require_vtpm_in_kmod_list == true and .kmod_pcr == 13 and .pcrs == [0,1,2,3,4,5,6,7,9,13]' \
        "$T/boot.json" >/dev/null || fail "derived boot policy: $(head -c 300 "$T/boot.json")"
    "$VF" policy default >"$T/default.json" || fail "policy default"
    "$BIN/attest-agent" measure --bundle "$D/bundle" --runtime /bin/busybox >"$T/measure.json" ||
        fail "attest-agent measure"
    for k in rootfs_digest config_digest runtime_digest agent_digest; do
        [ "$(jq -r .$k "$T/measure.json")" = "$(jq -r .$k "$D/measure.json")" ] ||
            fail "$k measured on the host differs from the guest's"
    done
    cp "$T/default.json" "$T/allow.json"
    "$VF" policy allow --policy "$T/allow.json" --rootfs-digest "$(jq -r .rootfs_digest "$T/measure.json")" \
        --runtime-digest "$(jq -r .runtime_digest "$T/measure.json")" \
        --agent-digest "$(jq -r .agent_digest "$T/measure.json")" || fail "policy allow"
    ok "boot policy derived (PCRs 0-7, 9, 13; vTPM required in the kmod list); bundle digests equal the guest's"
}

verify_host() {
    expect_allow "host evidence" --host --policy "$T/default.json" --boot-policy "$T/boot.json" \
        --trust "$D/trust" --allow-unregistered-ak "$D/host.cbor"
    jq -e '.node == "boot-guest"' "$T/v.json" >/dev/null || fail "node: $(cat "$T/v.json")"
    ok "verifier: host evidence of this boot allowed (node boot-guest)"
}

verify_container() {
    expect_allow "container evidence" --policy "$T/allow.json" --boot-policy "$T/boot.json" \
        --trust "$D/trust" --allow-unregistered-ak "$D/ev.cbor"
    jq -e --arg u "$(uuid_of dev)" '.vtpm_uuid == $u and .container_id == "boot-dev"' "$T/v.json" \
        >/dev/null || fail "container verdict: $(cat "$T/v.json")"
    # Under the default policy only the container part may fail: no host- reason at all.
    expect_deny "default policy" rootfs-digest-not-allowed --policy "$T/default.json" \
        --boot-policy "$T/boot.json" --trust "$D/trust" --allow-unregistered-ak "$D/ev.cbor"
    ! jq -e '.reasons | any(startswith("host-"))' "$T/v.json" >/dev/null ||
        fail "host reasons under the default policy: $(cat "$T/v.json")"
    ok "verifier: container evidence of $(uuid_of dev) allowed; default policy denies only its digests"
}

# Each tampering denied with its own reason code.
verify_negatives() {
    "$VF" boot-policy derive --log "$T/bad.log" --pcrs 0-7,9,13 >"$T/bad-boot.json" || fail "derive (tampered)"
    expect_deny "policy from a tampered log" host-boot-digest-not-allowed --host --policy "$T/default.json" \
        --boot-policy "$T/bad-boot.json" --trust "$D/trust" --allow-unregistered-ak "$D/host.cbor"
    "$EDIT" set "$D/host.cbor" host.uefi_log "$T/bad.log" "$T/badlog.cbor" || fail "evidence_edit set"
    expect_deny "tampered uefi_log" host-eventlog-replay-mismatch --host --policy "$T/default.json" \
        --boot-policy "$T/boot.json" --trust "$D/trust" --allow-unregistered-ak "$T/badlog.cbor"
    "$EDIT" delete "$D/host.cbor" host.uefi_log "$T/nolog.cbor" || fail "evidence_edit delete"
    expect_deny "no uefi_log" host-eventlog-missing --host --policy "$T/default.json" \
        --boot-policy "$T/boot.json" --trust "$D/trust" --allow-unregistered-ak "$T/nolog.cbor"
    # Another CA than the one that issued the EK certificate.
    mkdir -p "$T/other-ca"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/other.key" \
        -subj /CN=other-tpm-ca -days 1 -out "$T/other-ca/ca.pem" 2>/dev/null || fail "openssl req"
    expect_deny "EK CA not trusted" host-ek-untrusted --host --policy "$T/default.json" \
        --boot-policy "$T/boot.json" --trust "$T/other-ca" --allow-unregistered-ak "$D/host.cbor"
    ok "denied: boot policy from a tampered log, tampered or missing uefi_log, untrusted EK CA"
    expect_deny "vTPM without a device" host-kmod-vtpm-not-listed --policy "$T/allow.json" \
        --boot-policy "$T/boot.json" --trust "$D/trust" --allow-unregistered-ak "$D/ev-nodev.cbor"
    jq -e '.reasons | length == 1' "$T/v.json" >/dev/null || fail "other reasons: $(cat "$T/v.json")"
    # The same evidence passes once the boot policy does not require the listing.
    "$VF" boot-policy derive --log "$D/binary_bios_measurements" --pcrs 0-7,9,13 --no-kmod \
        >"$T/nokmod.json" || fail "derive --no-kmod"
    expect_allow "vTPM without a device, --no-kmod policy" --policy "$T/allow.json" \
        --boot-policy "$T/nokmod.json" --trust "$D/trust" --allow-unregistered-ak "$D/ev-nodev.cbor"
    ok "denied: container on a vTPM kmod-vtpm never created (host-kmod-vtpm-not-listed only)"
}

show_measured() {
    yaml summary "$EV" | tee "$D/events-per-pcr.txt"
}

boot
replay
quote
booted_images
kmod_list
negative_tools
policies
verify_host
verify_container
verify_negatives
echo "--- what OVMF (and the EFI stub, PCR 9) measured, per PCR (also $D/events-per-pcr.txt) ---"
show_measured
