#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# SIGHUP reloads `verifier serve`'s policy and TLS files instead of ending it: a changed
# policy changes an admission verdict, a new server certificate is presented to new
# connections; a broken policy or certificate is refused with its file named, and the
# service goes on with the previous ones. (No TPM: an admission review of an unscheduled pod
# is judged by the policy's image digests alone.)
. "$(dirname "$0")/lib.sh"
VF=$BIN/verifier
VF_PID=
at_exit stop_vf
cd "$T"
make_test_pki
mkcert server2 "subjectAltName=IP:127.0.0.1"
cp server.pem tls.pem && cp server.key tls.key
mkdir trust && cp ca.pem trust/
A=sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa
B=sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb
# policy_with DIGEST: the default policy allowing only that image digest.
policy_with() {
    "$VF" policy default | python3 -c 'import json,sys
p = json.load(sys.stdin); p["digests"]["image"] = [sys.argv[1]]; json.dump(p, sys.stdout)' "$1"
}
policy_with "$A" >policy.json || fail "policy"
"$VF" serve --listen 127.0.0.1:0 --port-file port --db "sqlite:$T/vf.db" --policy policy.json \
    --trust trust --tls-cert tls.pem --tls-key tls.key --client-ca ca.pem \
    --admission-cache-ms 0 >>vf.log 2>&1 &
VF_PID=$!
wait_verifier
URL=https://127.0.0.1:$PORT
# verdict: "true"/"false" for a pod of image registry/app@$A.
verdict() {
    printf '{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u1","kind":{"group":"","version":"v1","kind":"Pod"},"resource":{"group":"","version":"v1","resource":"pods"},"operation":"CREATE","namespace":"default","name":"web","object":{"apiVersion":"v1","kind":"Pod","metadata":{"name":"web"},"spec":{"containers":[{"name":"app","image":"registry/app@%s","securityContext":{"runAsNonRoot":true,"allowPrivilegeEscalation":false,"capabilities":{"drop":["ALL"]},"seccompProfile":{"type":"RuntimeDefault"}}}]}},"userInfo":{"username":"u"}}}' "$A" >review.json
    curl -sf -m 10 --cacert ca.pem --cert client.pem --key client.key \
        -H 'Content-Type: application/json' --data-binary @review.json "$URL/v1/admission" |
        python3 -c 'import json,sys; print(str(json.load(sys.stdin)["response"]["allowed"]).lower())'
}
# subject: the CN of the certificate a new connection is shown.
subject() {
    timeout 10 openssl s_client -connect "127.0.0.1:$PORT" -cert client.pem -key client.key \
        -CAfile ca.pem </dev/null 2>/dev/null | openssl x509 -noout -subject 2>/dev/null |
        sed 's/.*CN *= *//'
}
# hup_and_wait PATTERN: SIGHUP, then up to 5 s for PATTERN in vf.log (after the log's end).
hup_and_wait() {
    _lines=$(wc -l <vf.log)
    kill -HUP "$VF_PID"
    _i=0
    until tail -n +$((_lines + 1)) vf.log | grep -q "$1"; do
        _i=$((_i + 1)); [ $_i -lt 50 ] || { cat vf.log >&2; fail "no '$1' after SIGHUP"; }
        sleep 0.1
    done
    sleep 1.2 # every serving thread takes it within its next round (1 s at most)
}
[ "$(verdict)" = true ] || fail "image $A not allowed by the first policy"
[ "$(subject)" = server ] || fail "first certificate: '$(subject)'"

policy_with "$B" >policy.json
hup_and_wait "reloaded"
kill -0 "$VF_PID" 2>/dev/null || fail "SIGHUP ended the verifier"
[ "$(verdict)" = false ] || fail "the verdict did not change after the policy's reload"
ok "SIGHUP: a changed policy changes the verdict (allowed -> denied)"

echo '{ not json' >policy.json
hup_and_wait "reload failed"
grep -q "error: --policy policy.json" vf.log || { cat vf.log >&2; fail "the broken policy's file is not named"; }
kill -0 "$VF_PID" 2>/dev/null || fail "a broken policy ended the verifier"
[ "$(verdict)" = false ] || fail "a broken policy changed the verdict"
ok "SIGHUP with a broken policy: the file named, the previous policy kept"

policy_with "$B" >policy.json
cp server2.pem tls.pem && cp server2.key tls.key
hup_and_wait "reloaded"
[ "$(subject)" = server2 ] || fail "the new certificate is not presented: '$(subject)'"
[ "$(verdict)" = false ] || fail "verdict after the certificate's reload"
ok "SIGHUP: a new server certificate presented to new connections"

cp server.key tls.key # the pair no longer matches
hup_and_wait "reload failed"
grep -q "error: --tls-cert tls.pem with --tls-key tls.key" vf.log || { cat vf.log >&2; fail "the TLS files are not named"; }
[ "$(subject)" = server2 ] || fail "a broken key pair replaced the certificate"
[ "$(verdict)" = false ] || fail "verdict after a refused TLS reload"
ok "SIGHUP with a mismatched key: the files named, the previous certificate kept"
