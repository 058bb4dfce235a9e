#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Admission webhook latency: a `verifier serve` (SQLite, plain HTTP on loopback) with seeded
# node verdicts answers AdmissionReviews (pod creations and bindings spread over the nodes) from
# 200 concurrent kept-alive connections (tests/tools/bench_admission, one event loop; one row
# also with its former thread-per-connection client), with the node cache on and off,
# per-workload policies, pods recorded, and pod reviews of the size an API server sends; prints
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

# row LABEL [serve options]: one verifier, a warm-up, then the measured run. CLIENT_LOOPS: the
# load client's event loops (1; 0: its former thread per connection). CLIENT_UNIQUE=-u: each
# request's @UID@ becomes its own number (every pod review a new pod).
CLIENT_LOOPS=1 CLIENT_UNIQUE=
row() {
    label=$1; shift
    start_vf "$@"
    url=http://127.0.0.1:$(cat port)/v1/admission
    "$B/tests/bench_admission" "$url" 10 500 reviews.jsonl >/dev/null || fail "warm-up"
    out=$("$B/tests/bench_admission" -l "$CLIENT_LOOPS" $CLIENT_UNIQUE "$url" "$CONC" "$REQ" \
        reviews.jsonl) ||
        fail "$label: $out"
    stop_vf
    client="event loop"
    [ "$CLIENT_LOOPS" -eq 0 ] && client="thread per connection"
    echo "$out" | awk -v l="$label" -v c="$client" '{ for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
        printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", l, c, v["concurrency"], v["requests"],
            v["errors"], v["p50_ms"], v["p90_ms"], v["p99_ms"], v["max_ms"], v["rps"] }'
}

echo "Admission reviews, $NODES nodes ($((NODES * 2)) distinct reviews), loopback HTTP, SQLite, $(nproc) cores:"
echo
echo "| reviews, node cache | client | clients | requests | errors | p50 ms | p90 ms | p99 ms | max ms | reviews/s |"
echo "|---|---|---|---|---|---|---|---|---|---|"
row "small, 1000 ms (default)"
row "small, off (--admission-cache-ms 0)" --admission-cache-ms 0

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
row "small, 1000 ms, $NODES per-workload policies"
CLIENT_LOOPS=0
row "small, 1000 ms, $NODES per-workload policies"
CLIENT_LOOPS=1
cp reviews-uid.jsonl reviews.jsonl
row "small, 1000 ms, $NODES policies, pods recorded"

# Pod reviews as an API server sends them (3.7 KB: the defaulted spec with the service-account
# volume and tolerations, metadata with owner references and managedFields, userInfo,
# options), each with its binding; per-workload policies; every pod review a new pod (its own
# metadata.uid), so each one allowed is a new admitted_pods row.
i=0
while [ $i -lt "$NODES" ]; do
    sed -e "s/@I@/$i/g" -e "s/@D@/$D/" <<'EOF'
{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"p@I@","kind":{"group":"","version":"v1","kind":"Pod"},"resource":{"group":"","version":"v1","resource":"pods"},"requestKind":{"group":"","version":"v1","kind":"Pod"},"requestResource":{"group":"","version":"v1","resource":"pods"},"name":"web-@I@","namespace":"ns-@I@","operation":"CREATE","userInfo":{"username":"system:serviceaccount:kube-system:replicaset-controller","uid":"3e8c1f8e-6b5e-4a47-9f6a-2b6e1c9a9d1e","groups":["system:serviceaccounts","system:serviceaccounts:kube-system","system:authenticated"]},"object":{"apiVersion":"v1","kind":"Pod","metadata":{"name":"web-@I@","generateName":"web-7d4b9c8f6d-","namespace":"ns-@I@","uid":"uid-@UID@","creationTimestamp":null,"labels":{"app":"web","pod-template-hash":"7d4b9c8f6d"},"annotations":{"kubectl.kubernetes.io/restartedAt":"2026-12-01T10:00:00Z"},"ownerReferences":[{"apiVersion":"apps/v1","kind":"ReplicaSet","name":"web-7d4b9c8f6d","uid":"a1b2c3d4-0000-1111-2222-333344445555","controller":true,"blockOwnerDeletion":true}],"managedFields":[{"manager":"kube-controller-manager","operation":"Update","apiVersion":"v1","time":"2026-12-01T10:00:00Z","fieldsType":"FieldsV1","fieldsV1":{"f:metadata":{"f:generateName":{},"f:labels":{".":{},"f:app":{},"f:pod-template-hash":{}},"f:ownerReferences":{".":{},"k:{\"uid\":\"a1b2c3d4-0000-1111-2222-333344445555\"}":{}}},"f:spec":{"f:containers":{"k:{\"name\":\"app\"}":{".":{},"f:image":{},"f:imagePullPolicy":{},"f:name":{},"f:ports":{".":{},"k:{\"containerPort\":8080,\"protocol\":\"TCP\"}":{".":{},"f:containerPort":{},"f:protocol":{}}},"f:resources":{".":{},"f:limits":{".":{},"f:cpu":{},"f:memory":{}}},"f:securityContext":{".":{},"f:allowPrivilegeEscalation":{},"f:capabilities":{".":{},"f:drop":{}},"f:runAsNonRoot":{},"f:seccompProfile":{".":{},"f:type":{}}},"f:terminationMessagePath":{},"f:terminationMessagePolicy":{}}},"f:dnsPolicy":{},"f:enableServiceLinks":{},"f:restartPolicy":{},"f:schedulerName":{},"f:securityContext":{},"f:terminationGracePeriodSeconds":{}}}}]},"spec":{"volumes":[{"name":"kube-api-access-abcde","projected":{"sources":[{"serviceAccountToken":{"expirationSeconds":3607,"path":"token"}},{"configMap":{"name":"kube-root-ca.crt","items":[{"key":"ca.crt","path":"ca.crt"}]}},{"downwardAPI":{"items":[{"path":"namespace","fieldRef":{"apiVersion":"v1","fieldPath":"metadata.namespace"}}]}}],"defaultMode":420}}],"containers":[{"name":"app","image":"registry.example/web:1.0@@D@","ports":[{"containerPort":8080,"protocol":"TCP"}],"resources":{"limits":{"cpu":"500m","memory":"256Mi"},"requests":{"cpu":"500m","memory":"256Mi"}},"volumeMounts":[{"name":"kube-api-access-abcde","readOnly":true,"mountPath":"/var/run/secrets/kubernetes.io/serviceaccount"}],"terminationMessagePath":"/dev/termination-log","terminationMessagePolicy":"File","imagePullPolicy":"IfNotPresent","securityContext":{"capabilities":{"drop":["ALL"]},"runAsNonRoot":true,"allowPrivilegeEscalation":false,"seccompProfile":{"type":"RuntimeDefault"}}}],"restartPolicy":"Always","terminationGracePeriodSeconds":30,"dnsPolicy":"ClusterFirst","serviceAccountName":"default","serviceAccount":"default","nodeName":"node-@I@","securityContext":{},"schedulerName":"default-scheduler","tolerations":[{"key":"node.kubernetes.io/not-ready","operator":"Exists","effect":"NoExecute","tolerationSeconds":300},{"key":"node.kubernetes.io/unreachable","operator":"Exists","effect":"NoExecute","tolerationSeconds":300}],"priority":0,"enableServiceLinks":true,"preemptionPolicy":"PreemptLowerPriority"},"status":{"phase":"Pending","qosClass":"Guaranteed"}},"oldObject":null,"dryRun":false,"options":{"kind":"CreateOptions","apiVersion":"meta.k8s.io/v1"}}}
EOF
    printf '{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"b%d","kind":{"group":"","version":"v1","kind":"Binding"},"resource":{"group":"","version":"v1","resource":"pods"},"subResource":"binding","operation":"CREATE","namespace":"ns-%d","name":"web-%d","object":{"apiVersion":"v1","kind":"Binding","target":{"apiVersion":"v1","kind":"Node","name":"node-%d"}}}}\n' $i $i $i $i
    i=$((i + 1))
done >reviews-full.jsonl
cp reviews-full.jsonl reviews.jsonl
CLIENT_UNIQUE=-u
row "API-server-sized pods (3.7 KB), $NODES policies, each a new pod recorded"
CLIENT_UNIQUE=
cp reviews-default.jsonl reviews.jsonl
