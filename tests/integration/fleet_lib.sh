# SPDX-License-Identifier: BSD-3-Clause
# Shared pieces of the tests that attest tests/tools/fleetsim's simulated fleet at `verifier
# serve` (sourced after lib.sh, and after pg_lib.sh when used: its stop comes after the
# instances'): the tools, a host EK CA the verifier trusts, the default policy with
# bench_verify's digests allowed, and instances started and stopped by PID.
command -v curl >/dev/null || { echo "curl missing"; exit 77; }
VF=$BIN/verifier
FS=$BUILD/tests/fleetsim
BV=$BUILD/tests/bench_verify
[ -x "$FS" ] && [ -x "$BV" ] || fail "fleetsim or bench_verify missing (make all)"
INST_PIDS=""

stop_instances() {
    for p in $INST_PIDS; do stop_pid "$p" 50 || true; done
    INST_PIDS=""
}
at_exit stop_instances # before pg_init's stop_pg: the fast shutdown then has no clients left

# host_ca_trust: hostca.pem and hostca.key, the host EK CA fleetsim signs with, and trust/
# holding it (in the current directory).
host_ca_trust() {
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout hostca.key \
        -subj /CN=fleet-host-ek-ca -days 1 -out hostca.pem 2>/dev/null || fail "host EK CA"
    mkdir trust && cp hostca.pem trust/ || fail "trust/"
}

# allowed_policy FILE: the default policy with bench_verify's digests allowed.
allowed_policy() {
    "$VF" policy default >"$1" || fail "policy default"
    # shellcheck disable=SC2046 # the digests' options, one word each
    "$VF" policy allow --policy "$1" $("$BV" allow-args) || fail "policy allow"
}

# start_inst NAME DBURL [ARG...]: an instance with mutual TLS (make_test_pki's files, trust/,
# policy.json) on a free port and DBURL, ARGs added; sets NAME_URL.
start_inst() {
    _si_name=$1 _si_db=$2; shift 2
    rm -f "port-$_si_name"
    "$VF" serve --listen 127.0.0.1:0 --port-file "port-$_si_name" --db "$_si_db" \
        --policy policy.json --trust trust --tls-cert server.pem --tls-key server.key \
        --client-ca ca.pem "$@" >>"vf-$_si_name.log" 2>&1 &
    _pid=$!
    INST_PIDS="$INST_PIDS $_pid"
    _i=0
    while [ ! -s "port-$_si_name" ]; do
        _i=$((_i + 1))
        [ $_i -lt 100 ] || { cat "vf-$_si_name.log" >&2; fail "verifier $_si_name did not start"; }
        kill -0 "$_pid" 2>/dev/null || { cat "vf-$_si_name.log" >&2; fail "verifier $_si_name exited"; }
        sleep 0.1
    done
    eval "${_si_name}_URL=https://127.0.0.1:$(cat "port-$_si_name")"
}
