#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Slow connections must not starve the verifier service (mutual TLS): 300 slow clients
# (tests/integration/slowclients.py: silent, a trickled ClientHello, a trickled request line
# after a handshake without a client certificate, trickled headers and a trickled body with
# one) first all from one address, then from ten; meanwhile a client on another address sends
# 100 authenticated requests (GET /healthz, GET /v1/nonce, POST /v1/evidence) and each must be
# answered within 1 s at the 99th percentile (asked by issue 9). The server must also close
# each slow connection within its deadline (docs/verifier.md, "Connection limits").
. "$(dirname "$0")/lib.sh"
command -v curl >/dev/null || { echo "curl missing"; exit 77; }
command -v python3 >/dev/null || { echo "python3 missing"; exit 77; }
command -v jq >/dev/null || { echo "jq missing"; exit 77; }
VF=$BIN/verifier
VF_PID=
ATT_PID=
at_exit 'stop_pid "$ATT_PID" 50 || true; stop_pid "$VF_PID" 100 || true'
cd "$T" || exit 1

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key \
    -subj /CN=test-ca -days 1 -out ca.pem 2>/dev/null || fail "CA"
mkcert() { # NAME EXT
    openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$1.key" \
        -subj "/CN=$1" -out "$1.csr" 2>/dev/null
    printf '%s\n' "$2" >"$1.ext"
    openssl x509 -req -in "$1.csr" -CA ca.pem -CAkey ca.key -CAcreateserial -days 1 \
        -extfile "$1.ext" -out "$1.pem" 2>/dev/null || fail "cert $1"
}
mkcert server "subjectAltName=IP:127.0.0.1"
mkcert client "extendedKeyUsage=clientAuth"
mkdir trust && cp ca.pem trust/
"$VF" policy default >policy.json || fail "policy default"
printf '\241\001\002' >junk.cbor # a CBOR map that is no evidence: 400 evidence-malformed

# Limits that cannot work are usage errors.
for bad in "--reserve-connections 256" "--max-connections 0" "--handshake-timeout 0" \
    "--max-connections-per-ip x" "--body-timeout 3601"; do
    rc=0
    # shellcheck disable=SC2086
    "$VF" serve --listen 127.0.0.1:0 --db "sqlite:$T/vf.db" --policy policy.json --trust trust \
        --insecure-no-tls $bad >/dev/null 2>&1 || rc=$?
    [ $rc -eq 2 ] || fail "serve $bad exited $rc, not 2"
done

"$VF" serve --listen 127.0.0.1:0 --port-file port --db "sqlite:$T/vf.db" --policy policy.json \
    --trust trust --tls-cert server.pem --tls-key server.key --client-ca ca.pem >vf.log 2>&1 &
VF_PID=$!
i=0
while [ ! -s port ]; do
    i=$((i + 1)); [ $i -lt 100 ] || fail "verifier did not start"
    kill -0 "$VF_PID" 2>/dev/null || { cat vf.log >&2; fail "verifier exited"; }
    sleep 0.1
done
PORT=$(cat port)
URL=https://127.0.0.1:$PORT
C="curl -sS --interface 127.0.0.1 --max-time 3 --cacert ca.pem --cert client.pem --key client.key"

# probe N: N authenticated requests, one after another. A request that fails or gets another
# status than expected counts as 3 s. Sets P99, MED, MAX and FAILED.
probe() {
    : >lat.txt
    for i in $(seq 1 "$1"); do
        case $((i % 10)) in
        0|1|2|3) out=$($C -o /dev/null -w '%{time_total} %{http_code} 200' "$URL/healthz") || true ;;
        4|5|6) out=$($C -o /dev/null -w '%{time_total} %{http_code} 200' "$URL/v1/nonce") || true ;;
        *) out=$($C -o /dev/null -w '%{time_total} %{http_code} 400' \
            -H 'Content-Type: application/cbor' --data-binary @junk.cbor "$URL/v1/evidence") || true ;;
        esac
        echo "${out:-3 000 0}" | awk '{ print ($2 == $3 ? $1 : 3), $2 }' >>lat.txt
    done
    FAILED=$(awk '$1 == 3' lat.txt | wc -l)
    P99=$(sort -n lat.txt | awk -v n="$1" 'NR == int(n * 0.99 + 0.999) { print $1 }')
    MAX=$(sort -n lat.txt | tail -n 1 | cut -d' ' -f1)
    MED=$(sort -n lat.txt | awk -v n="$1" 'NR == int(n / 2) { print $1 }')
}
below() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a < b) }'; }

probe 20; [ "$FAILED" -eq 0 ] || fail "requests without an attack failed"
ok "no attack: median ${MED}s, p99 ${P99}s"

# attack SOURCES SECONDS: 300 slow clients from SOURCES (comma-separated); returns when they
# are connected, leaves ATT_PID and writes att.json when they end.
attack() {
    rm -f ready att.json
    timeout $(($2 + 20)) python3 "$ROOT/tests/integration/slowclients.py" 127.0.0.1 "$PORT" \
        ca.pem client.pem client.key "$2" 300 "$1" ready >att.json 2>att.err &
    ATT_PID=$!
    i=0
    while [ ! -s ready ]; do
        i=$((i + 1)); [ $i -lt 100 ] || { cat att.err >&2; fail "slow clients did not start"; }
        sleep 0.1
    done
}
attack_end() { # REPORT: att.json is copied there
    rc=0; wait "$ATT_PID" || rc=$?
    [ $rc -eq 0 ] || { tail -n 5 att.err >&2; fail "slow clients failed (exit $rc)"; }
    ATT_PID=
    jq -c . att.json || fail "slow clients' report: $(cat att.json att.err)"
    cp att.json "$1"
}

# --- all 300 from one address ---
attack 127.0.0.2 12
probe 100
below "$P99" 1 || fail "one attacker address: p99 ${P99}s >= 1 s ($FAILED failed)"
ok "300 slow clients from one address: 100 requests, median ${MED}s, p99 ${P99}s, max ${MAX}s, $FAILED failed"
attack_end one.json

# --- 300 from ten addresses (30 each, under the per-address limit), for 14 s ---
SRCS=$(seq -s, -f '127.0.0.%g' 2 11)
attack "$SRCS" 14
probe 100
below "$P99" 1 || fail "ten attacker addresses: p99 ${P99}s >= 1 s ($FAILED failed)"
ok "300 slow clients from ten addresses: 100 requests, median ${MED}s, p99 ${P99}s, max ${MAX}s, $FAILED failed"
attack_end ten.json

# Deadlines (defaults: 5 s to the request line, 10 s more for the headers), seen from the one
# address (its 32 connections are under every other limit, so only deadlines close them): no
# slow connection before its request line lived 6 s, none with slow headers 11.5 s; the slow
# body (30 s) outlived the 12 s attack. From ten addresses the server was full: the
# longest-waiting were evicted, so every kind was closed again and again.
jq -e '.silent.longest < 6 and .hello.longest < 6 and .["tls-nocert-line"].longest < 6 and
       .["tls-cert-headers"].longest < 11.5 and .["tls-cert-body"].longest > 10' one.json \
    >/dev/null || fail "from one address: $(cat one.json)"
jq -e '[.silent, .hello, .["tls-nocert-line"], .["tls-cert-headers"], .["tls-cert-body"]] |
       all(.connects > 60)' ten.json >/dev/null || fail "from ten addresses: $(cat ten.json)"
ok "slow connections closed at their deadlines (one address) or evicted (ten addresses)"
kill -0 "$VF_PID" || fail "verifier died"
