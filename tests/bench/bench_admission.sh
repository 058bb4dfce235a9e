#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Admission webhook latency: a `verifier serve` (SQLite, plain HTTP on loopback) with seeded
# node verdicts answers AdmissionReviews (pod creations and bindings spread over the nodes) from
# 200 concurrent clients (tests/tools/bench_admission), with the node cache on and off; prints
# a markdown table.
#
# Usage: bench_admission.sh [BUILD_DIR]   Tunables: BENCH_ADM_REQUESTS (50000),
# BENCH_ADM_CONCURRENCY (200), BENCH_ADM_NODES (100).
set -eu
B=$(cd "${1:-build}" && pwd)
REQ=${BENCH_ADM_REQUESTS:-50000}
CONC=${BENCH_ADM_CONCURRENCY:-200}
NODES=${BENCH_ADM_NODES:-100}
T=$(mktemp -d /tmp/vtpm-bench-adm.XXXXXX)
VF_PID=
D=sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa

fail() { echo "bench_admission: FAILED: $*" >&2; [ -f "$T/vf.log" ] && tail -n 20 "$T/vf.log" >&2; exit 1; }
stop_vf() {
    [ -n "$VF_PID" ] || return 0
    kill -TERM "$VF_PID" 2>/dev/null || true
    i=0
    while kill -0 "$VF_PID" 2>/dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
    kill -KILL "$VF_PID" 2>/dev/null || true
    wait "$VF_PID" 2>/dev/null || true
    VF_PID=
}
cleanup() { rc=$?; stop_vf; rm -rf "$T"; exit $rc; }
trap cleanup EXIT INT TERM
cd "$T"

mkdir trust
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout trust/k.pem \
    -subj /CN=ek-ca -days 1 -out trust/ca.pem 2>/dev/null || fail openssl
"$B/bin/verifier" policy default >policy.json && "$B/bin/verifier" policy allow \
    --policy policy.json --image-digest "$D" || fail policy
NOW=$(date +%s)
"$B/tests/verifier_seed" "sqlite:$T/vf.db" nodes node "$NODES" "$NOW" $((NOW + 86400)) \
    2>/dev/null || fail seed

# One review per line: a pod creation and a binding per node, all of them allowed.
i=0
while [ $i -lt "$NODES" ]; do
    printf '{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"p%d","kind":{"group":"","version":"v1","kind":"Pod"},"resource":{"group":"","version":"v1","resource":"pods"},"operation":"CREATE","namespace":"default","name":"web-%d","object":{"apiVersion":"v1","kind":"Pod","spec":{"nodeName":"node-%d","containers":[{"name":"app","image":"registry.example/web:1.0@%s","securityContext":{"runAsNonRoot":true,"allowPrivilegeEscalation":false,"capabilities":{"drop":["ALL"]},"seccompProfile":{"type":"RuntimeDefault"}}}]}}}}\n' $i $i $i "$D"
    printf '{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"b%d","kind":{"group":"","version":"v1","kind":"Binding"},"resource":{"group":"","version":"v1","resource":"pods"},"subResource":"binding","operation":"CREATE","namespace":"default","name":"web-%d","object":{"apiVersion":"v1","kind":"Binding","target":{"apiVersion":"v1","kind":"Node","name":"node-%d"}}}}\n' $i $i $i
    i=$((i + 1))
done >reviews.jsonl

# All CONC clients come from 127.0.0.1: the per-address limit (32 by default) is raised.
start_vf() { # [serve options]
    rm -f port
    "$B/bin/verifier" serve --listen 127.0.0.1:0 --port-file port --db "sqlite:$T/vf.db" \
        --policy policy.json --trust trust --insecure-no-tls \
        --max-connections $((CONC + 64)) --max-connections-per-ip $((CONC + 16)) "$@" \
        >>vf.log 2>&1 &
    VF_PID=$!
    i=0
    while [ ! -s port ]; do
        i=$((i + 1)); [ $i -lt 100 ] || fail "verifier did not start"
        kill -0 "$VF_PID" 2>/dev/null || fail "verifier exited"
        sleep 0.1
    done
}

# row LABEL [serve options]: one verifier, a warm-up, then the measured run.
row() {
    label=$1; shift
    start_vf "$@"
    url=http://127.0.0.1:$(cat port)/v1/admission
    "$B/tests/bench_admission" "$url" 10 500 reviews.jsonl >/dev/null || fail "warm-up"
    out=$("$B/tests/bench_admission" "$url" "$CONC" "$REQ" reviews.jsonl) || fail "$label: $out"
    stop_vf
    echo "$out" | awk -v l="$label" '{ for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
        printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", l, v["concurrency"], v["requests"],
            v["errors"], v["p50_ms"], v["p90_ms"], v["p99_ms"], v["max_ms"], v["rps"] }'
}

echo "Admission reviews, $NODES nodes ($((NODES * 2)) distinct reviews), loopback HTTP, SQLite, $(nproc) cores:"
echo
echo "| node cache | clients | requests | errors | p50 ms | p90 ms | p99 ms | max ms | reviews/s |"
echo "|---|---|---|---|---|---|---|---|---|"
row "1000 ms (default)"
row "off (--admission-cache-ms 0)" --admission-cache-ms 0

# Per-workload policies: NODES policies selecting namespaces ns-0.. (one each), the reviews'
# pods in those namespaces (every pod review then selects one of them, scanning all); then the
# same pods with a metadata.uid, so that each allowed one is also recorded (admission-to-runtime
# binding: a database write per pod review).
"$B/tests/verifier_seed" "sqlite:$T/vf.db" policies wl "$NODES" '{"namespaces":["ns-%d"]}' \
    policy.json 2>/dev/null || fail "seed policies"
sed 's/"namespace":"default"/"namespace":"ns-NS"/' reviews.jsonl |
    awk '{ n = NR; i = int((n - 1) / 2); sub(/ns-NS/, "ns-" i); print }' >reviews-ns.jsonl
sed 's/"kind":"Pod","spec"/"kind":"Pod","metadata":{"uid":"uid-UID"},"spec"/' reviews-ns.jsonl |
    awk '{ sub(/uid-UID/, "uid-" NR); print }' >reviews-uid.jsonl
cp reviews.jsonl reviews-default.jsonl
cp reviews-ns.jsonl reviews.jsonl
row "1000 ms, $NODES per-workload policies"
cp reviews-uid.jsonl reviews.jsonl
row "1000 ms, $NODES policies, pods recorded"
cp reviews-default.jsonl reviews.jsonl
