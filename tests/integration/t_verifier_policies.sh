#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Per-workload policies (docs/verifier.md, "Per-workload policies") on two `verifier serve`
# instances (mutual TLS) sharing one database, SQLite then PostgreSQL: /v1/policies refuses
# clients that are not --policy-admin; /v1/admission refuses clients that are not
# --admission-client; a put on A makes version 1, seen by B within its
# --policy-poll-ms; the admission answer names the deciding policy and version (a pod of the
# selected namespace is judged by it, others by the file); a second put is version 2 on both
# instances; get, get of a version, the versions, delete (back to the file); an evidence
# verdict names its policy and version.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pg_lib.sh"
. "$(dirname "$0")/fleet_lib.sh"
command -v jq >/dev/null || fail "jq missing (swtpm-ci/install-deps.sh)"
ADMIN="curl -sS --max-time 10 --cacert ca.pem --cert admin.pem --key admin.key"
USER="curl -sS --max-time 10 --cacert ca.pem --cert client.pem --key client.key"

start_pinst() { # NAME DBURL: an instance of start_inst with policy admins; sets NAME_URL
    start_inst "$1" "$2" --policy-admin admin --policy-poll-ms 300 --threads 2 \
        --admission-client client
}

# review URL NS HOSTNET: the admission answer for a pod in NS (hostNetwork true/false) in r.json
review() {
    printf '{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u-%s","kind":{"group":"","version":"v1","kind":"Pod"},"resource":{"group":"","version":"v1","resource":"pods"},"operation":"CREATE","namespace":"%s","name":"p","object":{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","namespace":"%s","labels":{"app":"web"}},"spec":{"hostNetwork":%s,"containers":[{"name":"c","image":"r/app@sha256:%s","securityContext":{"runAsNonRoot":true,"allowPrivilegeEscalation":false,"capabilities":{"drop":["ALL"]},"seccompProfile":{"type":"RuntimeDefault"}}}]}}}}' \
        "$2" "$2" "$2" "$3" "$(printf '1%.0s' $(seq 64))" |
        ${REVIEWER:-$USER} -H 'Content-Type: application/json' --data-binary @- \
            "$1/v1/admission" >r.json || fail "review at $1"
}
# decided URL NS HOSTNET ALLOWED POLICY VERSION: the review's answer is exactly that
decided() {
    review "$1" "$2" "$3"
    [ "$(jq -r '.response.allowed' r.json)" = "$4" ] &&
        [ "$(jq -r '.response.auditAnnotations.policy' r.json)" = "$5" ] &&
        [ "$(jq -r '.response.auditAnnotations."policy-version"' r.json)" = "$6" ]
}
# eventually SECONDS CMD...: CMD succeeds within SECONDS (polled every 0.1 s)
eventually() {
    _n=$(($1 * 10)); shift
    while ! "$@"; do
        _n=$((_n - 1)); [ $_n -gt 0 ] || return 1
        sleep 0.1
    done
}
# put URL NAME FORBIDDEN-HOST-NAMESPACES: a policy for namespace "lab" (from the file's)
put() {
    jq -c --argjson f "$3" '{selector: {namespaces: ["lab"]},
        policy: (. | .launch.forbidden_host_namespaces = $f)}' policy.json >put.json
    $ADMIN -X PUT -H 'Content-Type: application/json' --data-binary @put.json \
        -o put.out -w '%{http_code}' "$1/v1/policies/$2"
}

scenario() { # NAME DBURL
    start_pinst A "$2"
    start_pinst B "$2"
    # shellcheck disable=SC2153 # A_URL and B_URL are set by start_inst
    [ "$($ADMIN -o l.json -w '%{http_code}' "$A_URL/v1/policies")" = 200 ] &&
        [ "$(jq -c .policies l.json)" = "[]" ] && [ "$(jq -r .file.name l.json)" = default ] ||
        fail "$1: empty list: $(cat l.json)"
    # not an admin: refused, nothing written
    [ "$($USER -o x.json -w '%{http_code}' "$A_URL/v1/policies")" = 403 ] ||
        fail "$1: a non-admin client listed the policies: $(cat x.json)"
    [ "$($USER -X PUT -H 'Content-Type: application/json' --data-binary '{}' -o x.json \
        -w '%{http_code}' "$A_URL/v1/policies/lab")" = 403 ] || fail "$1: non-admin put"
    [ "$(curl -sS --max-time 10 --cacert ca.pem -o x.json -w '%{http_code}' \
        "$A_URL/v1/policies" 2>/dev/null)" != 200 ] || fail "$1: a client without a certificate listed"
    ok "$1: /v1/policies refused to a client without a certificate and to a non-admin one"

    # a client of the CA that is not the --admission-client (an agent's certificate would be
    # the same): its review is refused, counted, and records nothing
    REVIEWER="$ADMIN -o x.json -w %{http_code}" review "$A_URL" lab false
    [ "$(cat r.json)" = 403 ] || fail "$1: a review from a client not named by --admission-client"
    [ "$($USER "$A_URL/metrics" | awk '$1 == "verifier_admission_refused_total" { print $2 }')" = 1 ] ||
        fail "$1: verifier_admission_refused_total is not 1"
    ok "$1: an admission review from a client other than --admission-client refused (403)"

    decided "$B_URL" lab true false default 0 || fail "$1: before any put: $(cat r.json)"
    [ "$(put "$A_URL" lab '["pid"]')" = 200 ] && [ "$(jq -r .version put.out)" = 1 ] ||
        fail "$1: put 1: $(cat put.out)"
    decided "$A_URL" lab true true lab 1 || fail "$1: A after put 1: $(cat r.json)"
    eventually 3 decided "$B_URL" lab true true lab 1 || fail "$1: B after put 1: $(cat r.json)"
    decided "$B_URL" other true false default 0 || fail "$1: another namespace: $(cat r.json)"
    ok "$1: version 1 put on A decides pods of its namespace on A and B (B within its poll)"

    [ "$(put "$A_URL" lab '["network","pid"]')" = 200 ] && [ "$(jq -r .version put.out)" = 2 ] ||
        fail "$1: put 2: $(cat put.out)"
    eventually 3 decided "$B_URL" lab true false lab 2 || fail "$1: B after put 2: $(cat r.json)"
    jq -r .response.status.message r.json | grep -q "host-namespace-forbidden:network.*(policy lab version 2)" ||
        fail "$1: deny message without the reason and the policy: $(cat r.json)"
    decided "$A_URL" lab false true lab 2 || fail "$1: compliant pod under version 2: $(cat r.json)"
    ok "$1: version 2 denies on both instances, the answer naming reason, policy and version"

    $ADMIN "$B_URL/v1/policies/lab" >g.json &&
        [ "$(jq -r '.version, .author, .selector.namespaces[0], (.policy.launch.forbidden_host_namespaces | join(","))' g.json | tr '\n' ' ')" = "2 admin lab network,pid " ] ||
        fail "$1: get: $(cat g.json)"
    $ADMIN "$B_URL/v1/policies/lab?version=1" >g.json &&
        [ "$(jq -r '.policy.launch.forbidden_host_namespaces | join(",")' g.json)" = pid ] ||
        fail "$1: get version 1: $(cat g.json)"
    [ "$($ADMIN -o g.json -w '%{http_code}' "$B_URL/v1/policies/lab?version=x")" = 400 ] || fail "$1: bad version"
    [ "$($ADMIN -o g.json -w '%{http_code}' "$B_URL/v1/policies/Bad_Name")" = 400 ] || fail "$1: bad name"
    $ADMIN "$A_URL/v1/policies/lab/versions" >g.json &&
        [ "$(jq -c '[.versions[].version]' g.json)" = "[1,2]" ] || fail "$1: versions: $(cat g.json)"
    [ "$($ADMIN -X DELETE -o d.json -w '%{http_code}' "$B_URL/v1/policies/lab")" = 200 ] &&
        [ "$(jq -r .version d.json)" = 3 ] || fail "$1: delete: $(cat d.json)"
    [ "$($ADMIN -o g.json -w '%{http_code}' "$A_URL/v1/policies/lab")" = 404 ] || fail "$1: get after delete"
    [ "$($ADMIN -X DELETE -o d.json -w '%{http_code}' "$A_URL/v1/policies/lab")" = 404 ] || fail "$1: delete twice"
    eventually 3 decided "$A_URL" lab true false default 0 || fail "$1: A after delete: $(cat r.json)"
    ok "$1: get (latest, version 1), versions [1,2], delete is version 3, the file decides again"

    # An evidence verdict names its policy: every container is selected by {} (no image
    # record in the fleet's log); its evidence posted again is denied (nonce-reused) naming it.
    jq -c '{selector: {}, policy: .}' policy.json >all.json
    [ "$($ADMIN -X PUT -H 'Content-Type: application/json' --data-binary @all.json -o put.out \
        -w '%{http_code}' "$A_URL/v1/policies/all")" = 200 ] || fail "$1: put all: $(cat put.out)"
    timeout 60 "$FS" --url "$A_URL" --ca ca.pem --cert client.pem --key client.key \
        --host-ca-cert hostca.pem --host-ca-key hostca.key --log log.cbor --nodes 1 \
        --containers 1 --agents 1 --interval 0 --duration 1 --save-evidence "ev-$1.cbor" \
        >"fleet-$1.txt" 2>&1 || { cat "fleet-$1.txt" >&2; fail "$1: fleetsim"; }
    grep -q '"policy":{"name":"all","version":1}' "vf-A.log" 2>/dev/null ||
        grep -q 'policy all version 1' vf-A.log || fail "$1: no evidence judged by policy all 1"
    eventually 3 sh -c "$USER -H 'Content-Type: application/cbor' --data-binary @ev-$1.cbor \
        $B_URL/v1/evidence >ev.json && jq -e '.policy == {\"name\":\"all\",\"version\":1}' ev.json >/dev/null" ||
        fail "$1: evidence answer: $(cat ev.json)"
    ok "$1: evidence verdicts name the policy and version (all 1) on both instances"
    stop_instances
}

cd "$T" || exit 1
make_test_pki
mkcert admin "extendedKeyUsage=clientAuth"
host_ca_trust
"$BV" log log.cbor >/dev/null || fail "bench_verify log"
allowed_policy policy.json

scenario sqlite "sqlite:$T/shared.db"
PG_WHY=$(pg_missing)
[ -z "$PG_WHY" ] || fail "PostgreSQL part cannot run: $PG_WHY"
pg_init
pg_createdb pol
scenario postgresql "$(pg_url pol)"
ok "t_verifier_policies"
