#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Horizontal scaling without sticky sessions: two `verifier serve` instances (mutual TLS) on one
# database, first a shared SQLite file, then (when PostgreSQL 15 is installed) one PostgreSQL
# database. tests/tools/fleetsim attests a small simulated fleet (software vTPMs, registered by
# credential activation) with the two requests of every attestation on different instances:
# nonce from A, evidence to B, and the other way round, as a load balancer without sticky
# sessions may route them. Every verdict must be allow, each instance's issued nonces must
# equal the other's checked evidence, and an evidence posted again is refused on both
# instances (nonce-reused). Two instances on different databases must fail the same fleet.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pg_lib.sh"
. "$(dirname "$0")/fleet_lib.sh"
C="curl -sS --max-time 10 --cacert ca.pem --cert client.pem --key client.key"

# metric URL NAME: one sample of the instance's /metrics.
metric() {
    $C "$1/metrics" | awk -v k="$2" '$1 == k { print $2 }'
}

# fleet URLS OUT [fleetsim options]: 2 nodes x 4 containers, 4 agents, closed loop for 2 s.
# fleetsim registers node i and container k at URL i mod 2 and k mod 2: with an even number
# of nodes a container and its host register at the same instance.
fleet() {
    _u=$1 _o=$2; shift 2
    timeout 60 "$FS" --url "$_u" --ca ca.pem --cert client.pem --key client.key --host-ca-cert hostca.pem \
        --host-ca-key hostca.key --log log.cbor --nodes 2 --containers 4 --agents 4 \
        --interval 0 --duration 2 "$@" >"$_o" 2>"$_o.err"
}

field() { awk -v k="$1" '{ for (i = 1; i < NF; i++) if ($i == k) print $(i + 1) }' "$2" | tail -n 1; }

# scenario NAME DBURL: two instances on DBURL, the fleet across them, a replay on both.
scenario() {
    start_inst A "$2"
    start_inst B "$2"
    # shellcheck disable=SC2153 # A_URL and B_URL are set by start_inst
    fleet "$A_URL,$B_URL" "fleet-$1.txt" --save-evidence "ev-$1.cbor" ||
        { cat "fleet-$1.txt" "fleet-$1.txt.err" >&2; fail "$1: fleetsim across A and B"; }
    n=$(field n "fleet-$1.txt")
    allow=$(field allow "fleet-$1.txt")
    if [ "$allow" -lt 20 ] || [ "$allow" != "$n" ]; then
        cat "fleet-$1.txt" >&2; fail "$1: $allow of $n attestations allowed (want all, at least 20)"
    fi
    na=$(metric "$A_URL" verifier_nonces_issued_total)
    nb=$(metric "$B_URL" verifier_nonces_issued_total)
    va=$(metric "$A_URL" 'verifier_verdicts_total{verdict="allow"}')
    vb=$(metric "$B_URL" 'verifier_verdicts_total{verdict="allow"}')
    check "$1: every attestation crossed the instances (nonces A $na = allows B $vb, nonces B $nb = allows A $va, $allow in all)" \
        test "$na" = "$vb" -a "$nb" = "$va" -a $((va + vb)) = "$allow" -a "$va" -gt 0 -a "$vb" -gt 0
    for u in "$A_URL" "$B_URL"; do
        $C -H 'Content-Type: application/cbor' --data-binary "@ev-$1.cbor" "$u/v1/evidence" \
            >replay.json || fail "$1: replay POST to $u"
        check "$1: the evidence posted again to $u is refused (nonce-reused)" \
            sh -c 'grep -q nonce-reused replay.json && ! grep -q "\"verdict\":\"allow\"" replay.json'
    done
    stop_instances
}

cd "$T" || exit 1
make_test_pki
host_ca_trust
"$BV" log log.cbor >/dev/null || fail "bench_verify log"
allowed_policy policy.json

scenario sqlite "sqlite:$T/shared.db"

# The same fleet on two instances that do not share a database must fail: a nonce of one is
# unknown to the other (and so are the registrations).
start_inst A "sqlite:$T/one.db"
start_inst B "sqlite:$T/two.db"
if fleet "$A_URL,$B_URL" fleet-apart.txt; then fail "the fleet passed on two databases"; fi
check "two instances on separate databases: attestations across them are refused (nonce-unknown)" \
    grep -Eq '^error (deny|refused):nonce-unknown ' fleet-apart.txt
stop_instances

PG_WHY=$(pg_missing)
if [ -z "$PG_WHY" ]; then
    pg_init
    pg_createdb fleet
    scenario postgresql "$(pg_url fleet)"
else
    echo "skipped: PostgreSQL part ($PG_WHY)"
fi

[ -z "$FAILED" ] || fail "failed:$FAILED"
ok "t_verifier_scaleout"
