#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Starts a swtpm "physical" host TPM in DIR (private local CA, EK cert, EK at 0x81010001) for tests.
#
# Usage: [SLOW_TPM=fast|p95|none] host-tpm-start.sh DIR
# Writes into DIR: host-tpm.sock (+ .ctrl), swtpm.pid, swtpm.log, tcti (TCTI config string),
# ek-ca.pem (issuer of the EK certificate), ek-ca-chain.pem (issuer + root), ek-rsa2048.crt,
# ek.pem (the RSA EK certificate as PEM), state/ (TPM state), ca/ (local CA state).
# Nothing outside DIR is touched (no /etc, no /var/lib/swtpm-localca, no TCP port).
#
# SLOW_TPM set: a host TPM as slow as hardware (docs/slowtpm.md). swtpm listens on
# DIR/swtpm.sock (+ .ctrl) and slowtpm (build/bin/slowtpm, or $SLOWTPM) serves
# DIR/host-tpm.sock in front of it, one command at a time, each held for its delay in the
# profile's column of swtpm-ci/slowtpm-profiles.tsv (or $SLOW_TPM_TABLE); none = no delay,
# counting only. Also writes DIR/counts (the JSON counts of host-TPM commands; SIGUSR1 to
# the PID in DIR/slowtpm.pid zeroes them), DIR/slowtpm.pid and DIR/slowtpm.log. The
# commands this script sends itself (readiness, EK) go to swtpm directly and are not counted.
set -eu

die() { echo "host-tpm-start: $*" >&2; exit 1; }

[ $# -eq 1 ] || die "usage: [SLOW_TPM=fast|p95|none] host-tpm-start.sh DIR"
mkdir -p "$1" || die "cannot create $1"
D=$(cd "$1" && pwd)
ROOT=$(cd "$(dirname "$0")/.." && pwd)
SLOW=${SLOW_TPM:-}
case "$SLOW" in
    '' | none | fast | p95) ;;
    *) die "SLOW_TPM='$SLOW': must be fast, p95 or none (or unset for plain swtpm)" ;;
esac
SOCK="$D/host-tpm.sock"
# With the slow TPM, swtpm itself listens here and slowtpm on $SOCK.
SWSOCK=$SOCK
[ -z "$SLOW" ] || SWSOCK="$D/swtpm.sock"
SLOWBIN=${SLOWTPM:-${VTPM_BUILD:-$ROOT/build}/bin/slowtpm}
TABLE=${SLOW_TPM_TABLE:-$ROOT/swtpm-ci/slowtpm-profiles.tsv}
if [ -n "$SLOW" ]; then
    [ -x "$SLOWBIN" ] || die "$SLOWBIN not found (make all, or set SLOWTPM)"
    [ "$SLOW" = none ] || [ -r "$TABLE" ] || die "profile table $TABLE not readable"
fi
# sun_path holds 108 bytes including the NUL; ".ctrl" is the longer of the two names.
[ ${#SOCK} -le 100 ] || die "directory path too long for a Unix socket: $D"
for tool in swtpm swtpm_setup swtpm_localca openssl tpm2_readpublic; do
    command -v "$tool" >/dev/null 2>&1 || die "$tool not found (run swtpm-ci/install-deps.sh)"
done
for p in swtpm slowtpm; do
    if [ -f "$D/$p.pid" ] && kill -0 "$(cat "$D/$p.pid")" 2>/dev/null; then
        die "a host TPM is already running from $D ($p pid $(cat "$D/$p.pid"))"
    fi
done

write_ca_config() {
    mkdir -p "$D/ca" "$D/state"
    cat >"$D/swtpm-localca.conf" <<EOF
statedir = $D/ca
signingkey = $D/ca/signkey.pem
issuercert = $D/ca/issuercert.pem
certserial = $D/ca/certserial
EOF
    cat >"$D/swtpm-localca.options" <<EOF
--platform-manufacturer vtpm-attest-ci
--platform-version 1.0
--platform-model swtpm-host
EOF
    cat >"$D/swtpm_setup.conf" <<EOF
create_certs_tool = $(command -v swtpm_localca)
create_certs_tool_config = $D/swtpm-localca.conf
create_certs_tool_options = $D/swtpm-localca.options
active_pcr_banks = sha256
EOF
    [ -f "$D/ca/certserial" ] || echo 1 >"$D/ca/certserial"
}

# Manufactures the TPM once: EK (RSA 2048 at 0x81010001), EK + platform certs in NV.
manufacture() {
    [ -f "$D/state/tpm2-00.permall" ] && return 0
    swtpm_setup --tpm2 --tpmstate "$D/state" --config "$D/swtpm_setup.conf" \
        --create-ek-cert --create-platform-cert --write-ek-cert-files "$D" \
        --logfile "$D/swtpm_setup.log" --not-overwrite \
        || die "swtpm_setup failed, see $D/swtpm_setup.log"
}

write_ca_files() {
    [ -f "$D/ek-rsa2048.crt" ] || die "swtpm_setup wrote no RSA EK certificate"
    openssl x509 -inform der -in "$D/ek-rsa2048.crt" -out "$D/ek.pem" \
        || die "cannot convert the EK certificate"
    cp "$D/ca/issuercert.pem" "$D/ek-ca.pem"
    # swtpm_localca makes a root CA that signs its intermediate; the intermediate signs EKs.
    if [ -f "$D/ca/swtpm-localca-rootca-cert.pem" ]; then
        cat "$D/ca/issuercert.pem" "$D/ca/swtpm-localca-rootca-cert.pem" >"$D/ek-ca-chain.pem"
    else
        cp "$D/ca/issuercert.pem" "$D/ek-ca-chain.pem"
    fi
    openssl verify -CAfile "$D/ek-ca-chain.pem" "$D/ek.pem" >/dev/null \
        || die "EK certificate does not verify against $D/ek-ca-chain.pem"
}

start_swtpm() {
    rm -f "$SOCK" "$SOCK.ctrl" "$SWSOCK" "$SWSOCK.ctrl" "$D/swtpm.pid"
    swtpm socket --tpm2 --daemon \
        --tpmstate "dir=$D/state" \
        --server "type=unixio,path=$SWSOCK,mode=0600" \
        --ctrl "type=unixio,path=$SWSOCK.ctrl,mode=0600" \
        --flags not-need-init,startup-clear \
        --pid "file=$D/swtpm.pid" \
        --log "file=$D/swtpm.log" </dev/null >/dev/null 2>&1 \
        || die "swtpm failed to start, see $D/swtpm.log"
}

# Polls (at most ~10 s) until swtpm answers a command on its own socket.
wait_ready() {
    i=0
    while [ $i -lt 100 ]; do
        if [ -S "$SWSOCK" ] && [ -s "$D/swtpm.pid" ] &&
            TPM2TOOLS_TCTI="swtpm:path=$SWSOCK" tpm2_getrandom 1 >/dev/null 2>&1; then
            return 0
        fi
        sleep 0.1
        i=$((i + 1))
    done
    die "swtpm did not answer on $SWSOCK within 10 s, see $D/swtpm.log"
}

ensure_ek() {
    TPM2TOOLS_TCTI="swtpm:path=$SWSOCK"
    export TPM2TOOLS_TCTI
    tpm2_readpublic -c 0x81010001 >/dev/null 2>&1 && return 0
    tpm2_createek -c 0x81010001 -G rsa -u "$D/ek.pub" >/dev/null \
        || die "cannot create the persistent EK at 0x81010001"
}

# slowtpm failed: stop what was started (swtpm) before saying why.
die_slow() {
    sh "$ROOT/swtpm-ci/host-tpm-stop.sh" "$D" >/dev/null 2>&1 || true
    die "$@"
}

# The slow TPM in front of swtpm; ready once it wrote its counts (after both sockets listen).
start_slowtpm() {
    rm -f "$D/counts" "$D/slowtpm.pid"
    if [ "$SLOW" = none ]; then
        set -- --profile none
    else
        set -- --profile "$SLOW" --table "$TABLE"
    fi
    "$SLOWBIN" --listen "$SOCK" --upstream "$SWSOCK" --counts "$D/counts" "$@" \
        </dev/null >>"$D/slowtpm.log" 2>&1 &
    echo $! >"$D/slowtpm.pid"
    i=0
    until [ -s "$D/counts" ]; do
        kill -0 "$(cat "$D/slowtpm.pid")" 2>/dev/null ||
            die_slow "slowtpm exited at start, see $D/slowtpm.log: $(tail -n 3 "$D/slowtpm.log")"
        i=$((i + 1))
        [ $i -lt 100 ] || die_slow "slowtpm not listening on $SOCK within 10 s, see $D/slowtpm.log"
        sleep 0.1
    done
}

write_ca_config
manufacture
write_ca_files
start_swtpm
wait_ready
ensure_ek
echo "swtpm:path=$SOCK" >"$D/tcti"
if [ -n "$SLOW" ]; then
    start_slowtpm
    echo "host TPM ready: $(cat "$D/tcti") (slowtpm $SLOW, pid $(cat "$D/slowtpm.pid"), in front of swtpm pid $(cat "$D/swtpm.pid"); counts in $D/counts)"
else
    echo "host TPM ready: $(cat "$D/tcti") (pid $(cat "$D/swtpm.pid"))"
fi
