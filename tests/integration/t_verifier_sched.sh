#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Scheduler answers and continuous attestation against a real `verifier serve` (SQLite, plain
# HTTP on loopback): node and container verdicts seeded through the store API
# (tests/tools/verifier_seed), Kubernetes AdmissionReviews allowed and denied with the operator's
# message and the echoed uid, GET /v1/nodes and /v1/containers, revocation of a node whose
# re-attestation is overdue, its notification delivered exactly once to a webhook receiver that
# first fails, then is down, then is back; no URL: revoked and not kept; SIGTERM mid-delivery.
. "$(dirname "$0")/lib.sh"
command -v curl >/dev/null || { echo "curl missing"; exit 77; }
command -v python3 >/dev/null || { echo "python3 missing"; exit 77; }
VF=$BIN/verifier
SEED=$BUILD/tests/verifier_seed
VF_PID= VF2_PID= VF3_PID= RX_PID=
D_OK=sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa
D_BAD=sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb
stop_all() {
    stop_pid "$VF_PID" 50 || true; VF_PID=
    stop_pid "$VF2_PID" 50 || true; VF2_PID=
    stop_pid "$VF3_PID" 50 || true; VF3_PID=
    stop_pid "$RX_PID" 50 || true; RX_PID=
}
at_exit stop_all
cd "$T"

# --- the webhook receiver: records every POST (status, id header, body) as one JSON line ----
cat >rx.py <<'EOF'
import http.server, json, os, sys, time
port_file, log, fail_first, hang_flag, port = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], int(sys.argv[5])
seen = 0
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        global seen
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))))
        seen += 1
        status = "hang" if os.path.exists(hang_flag) else 500 if seen <= fail_first else 200
        with open(log, "a") as f:
            f.write(json.dumps({"status": status, "id": self.headers.get("X-Vtpm-Attest-Notification"),
                                "ctype": self.headers.get("Content-Type"), "path": self.path,
                                "body": body}) + "\n")
        if status == "hang":
            time.sleep(30)
            return
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()
    def log_message(self, *a):
        pass
s = http.server.HTTPServer(("127.0.0.1", port), H)
with open(port_file + ".tmp", "w") as f:
    f.write(str(s.server_address[1]))
os.rename(port_file + ".tmp", port_file)
s.serve_forever()
EOF
start_rx() { # FAIL_FIRST PORT
    rm -f rx.port
    python3 rx.py rx.port rx.log "$1" "$T/hang" "$2" >>rx.err 2>&1 &
    RX_PID=$!
    i=0
    while [ ! -s rx.port ]; do
        i=$((i + 1)); [ $i -lt 100 ] || { cat rx.err >&2; fail "receiver did not start"; }
        sleep 0.1
    done
    RX_PORT=$(cat rx.port)
}
# rx_count ID STATUS: records of node ID's revocation answered with STATUS.
rx_count() {
    [ -f rx.log ] || { echo 0; return; }
    python3 -c 'import json,sys
n = 0
for l in open("rx.log"):
    r = json.loads(l); b = r["body"]
    n += b.get("id") == sys.argv[1] and str(r["status"]) == sys.argv[2]
print(n)' "$1" "$2"
}
wait_rx() { # ID STATUS COUNT SECONDS
    i=0
    while [ "$(rx_count "$1" "$2")" -lt "$3" ]; do
        i=$((i + 1)); [ $i -lt $(($4 * 10)) ] || { cat rx.log >&2 || true; tail -n 20 vf.log >&2; fail "no $2 for $1 after $4 s"; }
        sleep 0.1
    done
}

# --- the verifier -------------------------------------------------------------------------
mkdir trust
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout trust/k.pem \
    -subj /CN=ek-ca -days 1 -out trust/ca.pem 2>/dev/null || fail "openssl"
"$VF" policy default >policy.json || fail "policy default"
"$VF" policy allow --policy policy.json --image-digest "$D_OK" || fail "policy allow"
DB=sqlite:$T/vf.db
NOW=$(date +%s)
"$SEED" "$DB" node good-1 allow '[]' "$NOW" $((NOW + 3600)) host:abcd || fail "seed good-1"
"$SEED" "$DB" node bad-1 deny '["host-boot-digest-not-allowed:pcr 4"]' "$NOW" 0 || fail "seed bad-1"
"$SEED" "$DB" container ctr-1 0b8c2f4e-0000-4000-8000-000000000001 good-1 allow '[]' "$NOW" \
    $((NOW + 3600)) || fail "seed ctr-1"
"$SEED" "$DB" bogus 2>/dev/null && fail "seed accepted a bad command"

start_rx 2 0
start_vf() { # PORTFILE LOG DB [options]: sets the PID in VFP
    _pf=$1 _log=$2 _db=$3; shift 3
    rm -f "$_pf"
    "$VF" serve --listen 127.0.0.1:0 --port-file "$_pf" --db "$_db" --policy policy.json \
        --trust trust --insecure-no-tls "$@" >>"$_log" 2>&1 &
    VFP=$!
    i=0
    while [ ! -s "$_pf" ]; do
        i=$((i + 1)); [ $i -lt 100 ] || { cat "$_log" >&2; fail "verifier did not start"; }
        kill -0 "$VFP" 2>/dev/null || { cat "$_log" >&2; fail "verifier exited"; }
        sleep 0.1
    done
}
# usage_error OPTIONS: serve must refuse them (exit 2) rather than start.
usage_error() {
    _ue=0
    timeout 5 "$VF" serve --listen 127.0.0.1:0 --db "$DB" --policy policy.json --trust trust \
        --insecure-no-tls "$@" 2>/dev/null || _ue=$?
    [ "$_ue" = 2 ] || fail "serve $* gave $_ue, not a usage error"
}
usage_error --notify-ca /nonexistent
usage_error --reattest-interval 2x
usage_error --notify-max-attempts 0
usage_error --admission-cache-ms -1
start_vf port vf.log "$DB" --reattest-interval 2 --reattest-grace 1 --admission-cache-ms 300 \
    --notify-url "http://127.0.0.1:$RX_PORT/hook" --notify-max-attempts 12
VF_PID=$VFP
URL=http://127.0.0.1:$(cat port)

# --- admission reviews --------------------------------------------------------------------
review() { # UID OP KIND SUBRESOURCE OBJECT
    printf '{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"%s",' "$1"
    printf '"kind":{"group":"","version":"v1","kind":"%s"},"resource":{"group":"","version":"v1","resource":"pods"},' "$3"
    [ -n "$4" ] && printf '"subResource":"%s",' "$4"
    printf '"operation":"%s","namespace":"default","name":"web","object":%s,"userInfo":{"username":"u"}}}' "$2" "$5"
}
# What the default launch rules ask of a container spec (docs/policy.md, "Admission").
SC_OK='"securityContext":{"runAsNonRoot":true,"allowPrivilegeEscalation":false,"capabilities":{"drop":["ALL"]},"seccompProfile":{"type":"RuntimeDefault"}}'
pod() { # NODE IMAGE [POD-FIELDS, ending in ","] [SECURITY-CONTEXT]
    printf '{"apiVersion":"v1","kind":"Pod","metadata":{"name":"web"},"spec":{%s"nodeName":"%s","containers":[{"name":"app","image":"%s",%s}]}}' \
        "${3:-}" "$1" "$2" "${4:-$SC_OK}"
}
binding() { printf '{"apiVersion":"v1","kind":"Binding","target":{"apiVersion":"v1","kind":"Node","name":"%s"}}' "$1"; }
# admit FILE: POSTs it; prints the HTTP status and leaves the body in out.json.
admit() {
    curl -s -m 10 -o out.json -w '%{http_code}' -H 'Content-Type: application/json' \
        --data-binary "@$1" "$URL/v1/admission"
}
# expect UID ALLOWED [MESSAGE-SUBSTRING]: checks out.json.
expect() {
    python3 -c 'import json,sys
j = json.load(open("out.json")); r = j["response"]
assert j["apiVersion"] == "admission.k8s.io/v1" and j["kind"] == "AdmissionReview", j
assert r["uid"] == sys.argv[1], ("uid", r)
assert r["allowed"] == (sys.argv[2] == "true"), ("allowed", r)
if sys.argv[2] == "true":
    assert "status" not in r, r
else:
    assert r["status"]["code"] == 403 and sys.argv[3] in r["status"]["message"], r
' "$@" || fail "review $1: $(cat out.json)"
}
IMG_OK=registry.example/web:1.0@$D_OK
check() { # UID ALLOWED MESSAGE OP KIND SUB OBJECT
    review "$1" "$4" "$5" "$6" "$7" >r.json
    [ "$(admit r.json)" = 200 ] || fail "review $1: HTTP $(cat out.json)"
    expect "$1" "$2" "$3"
}
check 7f9c-a1 true "" CREATE Pod "" "$(pod good-1 "$IMG_OK")"
check 7f9c-a2 false "node bad-1 has no passing host attestation: host-boot-digest-not-allowed:pcr 4; last attested 20" \
    CREATE Pod "" "$(pod bad-1 "$IMG_OK")"
check 7f9c-a3 false "node worker-9 is unknown to the verifier" CREATE Pod "" "$(pod worker-9 "$IMG_OK")"
check 7f9c-a4 false "image nginx:1.25 is not pinned by digest" CREATE Pod "" "$(pod good-1 nginx:1.25)"
check 7f9c-a5 false "digest $D_BAD is not allowed by the verifier policy" CREATE Pod "" \
    "$(pod good-1 "registry.example/web@$D_BAD")"
check 7f9c-a6 true "" CREATE Binding binding "$(binding good-1)"
check 7f9c-a7 false "node bad-1 has no passing host attestation" CREATE Binding binding "$(binding bad-1)"
check 7f9c-a8 true "" DELETE Pod "" null
check 7f9c-a9 false "pod object without spec.containers" CREATE Pod "" '{"spec":{"nodeName":"good-1"}}'
ok "admission: allowed and denied with the node's and the image's reasons, uid echoed"

# The launch rules on the pod spec: the start-time check's reasons, one cause each.
causes() { # REASON...: each is a cause of out.json's deny
    python3 -c 'import json,sys
c = [x["reason"] for x in json.load(open("out.json"))["response"]["status"]["details"]["causes"]]
missing = [r for r in sys.argv[1:] if r not in c]
assert not missing, (missing, c)' "$@" || fail "causes: $(cat out.json)"
}
check 7f9c-b1 false "pod spec violates the launch rules: capability-not-allowed:ALL" CREATE Pod "" \
    "$(pod good-1 "$IMG_OK" "" '"securityContext":{"privileged":true,"runAsNonRoot":true,"seccompProfile":{"type":"RuntimeDefault"},"capabilities":{"drop":["ALL"]}}')"
causes capability-not-allowed:ALL "device-rule-forbidden:a *:* rwm" sysfs-writable:/sys \
    masked-path-missing:/proc/kcore no-new-privileges-missing
check 7f9c-b2 false "host-namespace-forbidden:network" CREATE Pod "" \
    "$(pod good-1 "$IMG_OK" '"hostNetwork":true,"hostPID":true,"volumes":[{"name":"d","hostPath":{"path":"/var/run"}}],')"
causes host-namespace-forbidden:network host-namespace-forbidden:pid
check 7f9c-b3 false "host-mount-sensitive:/var/run (rw)" CREATE Pod "" \
    "$(pod good-1 "$IMG_OK" '"volumes":[{"name":"d","hostPath":{"path":"/var/run"}}],' "$SC_OK"',"volumeMounts":[{"name":"d","mountPath":"/d"}],"ports":[{"containerPort":80,"hostPort":80}]')"
causes "host-mount-sensitive:/var/run (rw)" host-port-forbidden:80
ok "admission: pod security settings denied with the launch rules' reasons (privileged, host namespaces, hostPath, hostPort)"

printf '{"apiVersion":"admission.k8s.io/v1beta1","kind":"AdmissionReview","request":{"uid":"x"}}' >r.json
[ "$(admit r.json)" = 400 ] || fail "v1beta1 review: $(cat out.json)"
grep -q '"error"' out.json || fail "400 without a JSON error"
printf '{"apiVersion":' >r.json
[ "$(admit r.json)" = 400 ] || fail "truncated review: $(cat out.json)"
review u CREATE Pod "" "$(pod good-1 "$IMG_OK")" >r.json
[ "$(curl -s -m 10 -o out.json -w '%{http_code}' -H 'Content-Type: application/cbor' \
    --data-binary @r.json "$URL/v1/admission")" = 415 ] || fail "CBOR admission not refused"
head -c $((1024 * 1024 + 10)) /dev/zero | tr '\0' ' ' >big.json
[ "$(admit big.json)" = 413 ] || fail "2 MiB review not refused"
ok "admission: malformed reviews 400, wrong type 415, too large 413"

# A burst for the same node is one database query per cache TTL.
review u CREATE Pod "" "$(pod good-1 "$IMG_OK")" >r.json
for i in 1 2 3 4 5 6 7 8 9 10; do admit r.json >/dev/null; done
curl -s -m 10 "$URL/metrics" >metrics.txt
hits=$(sed -n 's/^verifier_admission_cache_total{result="hit"} //p' metrics.txt)
[ "${hits:-0}" -ge 8 ] || fail "cache hits $hits after a burst"
grep -q '^verifier_admission_reviews_total{allowed="false"} 9$' metrics.txt ||
    fail "denied count: $(grep admission_reviews metrics.txt)"
grep -q '^verifier_admission_malformed_total 2$' metrics.txt || fail "malformed count"
ok "admission: cache hits $hits of a 10-review burst; metrics"

# --- node and container lookups -----------------------------------------------------------
get() { curl -s -m 10 -o out.json -w '%{http_code}' "$URL$1"; }
[ "$(get /v1/nodes/good-1)" = 200 ] || fail "GET node good-1: $(cat out.json)"
python3 -c 'import json,sys; j = json.load(open("out.json"))
assert j["node"] == "good-1" and j["verdict"] == "allow" and j["host"] == "host:abcd", j
assert j["due"] == int(sys.argv[1]) + 3600 and j["reasons"] == [], j' "$NOW" || fail "node good-1: $(cat out.json)"
[ "$(get /v1/nodes/bad-1)" = 200 ] && grep -q 'host-boot-digest-not-allowed' out.json || fail "node bad-1"
[ "$(get /v1/nodes/worker-9)" = 404 ] || fail "unknown node not 404"
[ "$(get /v1/nodes/Bad_Name)" = 400 ] || fail "invalid node name not 400"
[ "$(get /v1/nodes/a%2Fb)" = 400 ] || fail "node name with a slash not 400"
[ "$(get /v1/containers/ctr-1)" = 200 ] || fail "GET container"
python3 -c 'import json,sys; j = json.load(open("out.json"))
assert j["container_id"] == "ctr-1" and j["node"] == "good-1" and j["verdict"] == "allow", j
assert j["due"] == int(sys.argv[1]) + 3600, j' "$NOW" || fail "container: $(cat out.json)"
[ "$(get /v1/containers/nope)" = 404 ] || fail "unknown container not 404"
ok "GET /v1/nodes and /v1/containers: verdict, reasons, time, due, host, node"

# --- revocation of a missed re-attestation and its notification ---------------------------
NOW=$(date +%s)
DUE=$((NOW + 3)) # what api_due gives with --reattest-interval 2 --reattest-grace 1
"$SEED" "$DB" node flaky-1 allow '[]' "$NOW" "$DUE" || fail "seed flaky-1"
sleep 0.4 # past the cache TTL of an earlier miss
check 7f9c-b1 true "" CREATE Binding binding "$(binding flaky-1)"
i=0
while [ "$(get /v1/nodes/flaky-1)" != 200 ] || ! grep -q '"reattest-missed"' out.json; do
    i=$((i + 1)); [ $i -lt 100 ] || fail "flaky-1 not revoked 10 s after it was due"
    sleep 0.1
done
[ "$(date +%s)" -ge "$DUE" ] || fail "flaky-1 revoked before it was due"
grep -q '"verdict":"deny"' out.json || fail "revoked node not deny: $(cat out.json)"
grep -q "revoked node flaky-1: re-attestation missed" vf.log || fail "revocation not logged"
sleep 0.4
check 7f9c-b2 false "node flaky-1's host attestation is stale (re-attestation missed; revoked at" \
    CREATE Binding binding "$(binding flaky-1)"
ok "flaky-1 revoked after its due time; bindings to it denied"

wait_rx flaky-1 200 1 20
[ "$(rx_count flaky-1 500)" = 2 ] || fail "expected two failed attempts before delivery"
python3 -c 'import json
rs = [json.loads(l) for l in open("rx.log")]
assert len({r["id"] for r in rs}) == 1, rs  # the retries are the same notification
for r in rs:
    assert r["ctype"] == "application/json" and r["path"] == "/hook", r
    b = r["body"]
    assert b["kind"] == "node" and b["id"] == "flaky-1" and b["verdict"] == "deny", b
    assert b["event"] == "revoked" and b["reasons"] == ["reattest-missed"], b' ||
    fail "notification: $(cat rx.log)"
grep -q "attempt 2 failed: HTTP status 500; next in 2 s" vf.log || fail "backoff not logged"
sleep 3
[ "$(rx_count flaky-1 200)" = 1 ] || fail "flaky-1 delivered more than once"
[ "$(rx_count bad-1 200)$(rx_count good-1 200)" = 00 ] || fail "a notification for a node never revoked"
ok "notification for flaky-1: 500, 500, then delivered once (same id, application/json)"

# --- the receiver down, then back ---------------------------------------------------------
stop_pid "$RX_PID" 50 || true; RX_PID=
NOW=$(date +%s)
"$SEED" "$DB" node down-1 allow '[]' "$NOW" $((NOW + 1)) || fail "seed down-1"
i=0
while ! grep -q "attempt 2 failed: Couldn't connect" vf.log; do
    i=$((i + 1)); [ $i -lt 100 ] || { tail -n 20 vf.log >&2; fail "no failed attempt while the receiver is down"; }
    sleep 0.1
done
start_rx 0 "$RX_PORT"
wait_rx down-1 200 1 20
sleep 2
[ "$(rx_count down-1 200)" = 1 ] || fail "down-1 delivered more than once"
curl -s -m 10 "$URL/metrics" >metrics.txt
grep -q '^verifier_revoked_total 2$' metrics.txt || fail "revoked count: $(grep revoked metrics.txt)"
grep -q '^verifier_notifications_total{outcome="delivered"} 2$' metrics.txt || fail "delivered count"
ok "receiver down then up: down-1 delivered once it was back"

# --- without --notify-url: revoked, notification not kept ---------------------------------
DB2=sqlite:$T/vf2.db
NOW=$(date +%s)
"$SEED" "$DB2" node solo-1 allow '[]' "$NOW" $((NOW + 1)) || fail "seed solo-1"
start_vf port2 vf2.log "$DB2" --reattest-interval 1 --reattest-grace 0
VF2_PID=$VFP
URL2=http://127.0.0.1:$(cat port2)
i=0
while ! curl -s -m 5 "$URL2/metrics" | grep -q '^verifier_notifications_total{outcome="discarded"} 1$'; do
    i=$((i + 1)); [ $i -lt 100 ] || fail "solo-1's notification not discarded"
    sleep 0.1
done
curl -s -m 5 "$URL2/v1/nodes/solo-1" | grep -q reattest-missed || fail "solo-1 not revoked"
stop_pid "$VF2_PID" 30 || fail "second verifier did not stop"
VF2_PID=
ok "without --notify-url: revoked, the notification discarded"

# --- audit retention: the sweeper's first purge takes rows older than --audit-keep-days ------
DB3=$T/vf3.db
start_vf port3 vf3.log "sqlite:$DB3" --audit-keep-days 1
VF3_PID=$VFP
stop_pid "$VF3_PID" 30 || fail "third verifier did not stop"
VF3_PID=
NOW=$(date +%s)
python3 - "$DB3" "$NOW" <<'EOF2' || fail "cannot seed audit rows"
import sqlite3, sys
db = sqlite3.connect(sys.argv[1]); now = int(sys.argv[2])
for t, who in ((now - 3 * 86400, "old-1"), (now - 2 * 86400, "old-2"), (now - 3600, "new-1"), (now, "new-2")):
    db.execute("INSERT INTO audit (time, kind, subject, outcome, detail) VALUES (?, 'evidence', ?, 'allow', '')", (t, who))
db.commit()
EOF2
start_vf port3 vf3.log "sqlite:$DB3" --audit-keep-days 1
VF3_PID=$VFP
audit_subjects() { python3 -c "import sqlite3,sys; print(' '.join(r[0] for r in sqlite3.connect(sys.argv[1]).execute('select subject from audit order by id')))" "$DB3"; }
i=0
while [ "$(audit_subjects)" != "new-1 new-2" ]; do
    i=$((i + 1)); [ $i -lt 100 ] || fail "audit after the purge: $(audit_subjects)"
    sleep 0.1
done
stop_pid "$VF3_PID" 30 || fail "third verifier did not stop"
VF3_PID=
ok "--audit-keep-days 1: rows of 2 and 3 days ago purged, those of the last day kept"

# --- SIGTERM while a delivery hangs -------------------------------------------------------
touch hang
NOW=$(date +%s)
"$SEED" "$DB" node hang-1 allow '[]' "$NOW" $((NOW + 1)) || fail "seed hang-1"
wait_rx hang-1 hang 1 10
t0=$(date +%s%N)
stop_pid "$VF_PID" 30 || fail "verifier not stopped 3 s after SIGTERM"
VF_PID=
ms=$((($(date +%s%N) - t0) / 1000000))
[ "$ms" -lt 2000 ] || fail "stop took $ms ms with a delivery in flight"
grep -q "stopping (signal 15)" vf.log || fail "no clean stop"
ok "SIGTERM with a hanging receiver: stopped in $ms ms"
