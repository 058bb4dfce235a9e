#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# The verifier on PostgreSQL: a real PostgreSQL 15 server (Debian's binaries, run as the
# postgres user in a temp dir, Unix socket only) under store_conformance and its --race mode,
# then two `verifier serve` instances on one database fed with real vTPM evidence: nonces,
# registrations and TPM clocks shared, an instance killed -9 mid-run, a database restart.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pg_lib.sh"
PG_WHY=$(pg_missing)
[ -z "$PG_WHY" ] || { echo "$PG_WHY"; exit 77; }
command -v curl >/dev/null || { echo "curl missing"; exit 77; }
VF=$BIN/verifier
EB=$BUILD/tests/evidence_build
SC=$BUILD/tests/store_conformance
ROOTFS=sha256:1111111111111111111111111111111111111111111111111111111111111111
RUNTIME=sha256:2222222222222222222222222222222222222222222222222222222222222222
A_PID= B_PID=
C="curl -sS --max-time 10"

stop_instances() {
    stop_pid "$A_PID" 50 || true; A_PID=
    stop_pid "$B_PID" 50 || true; B_PID=
}
at_exit stop_instances # before pg_init's stop_pg: the fast shutdown then has no clients left

pg_init
for db in conf race vf up; do pg_createdb "$db"; done
ok "PostgreSQL 15 running as postgres (pid $PG_PID), socket $PG/sock"

# --- the store itself, on this server ---
"$SC" "$(pg_url conf)" >"$T/conf.log" 2>&1 || { cat "$T/conf.log" >&2; fail "store_conformance"; }
grep -q "postgresql: 0 failure" "$T/conf.log" || fail "conformance summary missing"
"$SC" --race "$(pg_url race)" 8 >"$T/race.log" 2>&1 || { cat "$T/race.log" >&2; fail "--race"; }
grep -q "(8 processes): 0 failure" "$T/race.log" || fail "race summary missing"
# node mode: 8 racers write gated allows on one node while one of them denies the node
grep -q "node gate: 320 rows, .* 0 allowed" "$T/race.log" || fail "node gate race summary missing"
GATE=$(sed -n 's/.*node gate: //p' "$T/race.log")
# A second run of the scenario on the same (now non-empty) database must refuse, not pass.
"$SC" "$(pg_url conf)" >/dev/null 2>&1 && fail "conformance passed on a used database"
"$SC" "sqlite:$T/conf.db" >"$T/conf-sqlite.log" 2>&1 ||
    { cat "$T/conf-sqlite.log" >&2; fail "store_conformance on SQLite"; }
ok "store_conformance (PostgreSQL, SQLite) and 8 racing processes: every item taken once; node gate race: $GATE"

# A version 2 database (the release before container bindings) upgrades in place: made here by
# taking version 3's columns off a database that holds a verdict.
SEED=$BUILD/tests/verifier_seed
pq() { psql -qtA -h "$PG/sock" -U postgres -d up -c "$1"; }
"$SEED" "$(pg_url up)" container old-1 u-old "" allow '[]' 100 0 >/dev/null 2>&1 || fail "seed"
pq "ALTER TABLE verdicts DROP COLUMN vtpm_ek, DROP COLUMN reset_count, DROP COLUMN bound_until;
    DROP INDEX verdicts_node; DROP TABLE policies; DROP TABLE admitted_pods; DROP TABLE manifests;
    DELETE FROM schema_migrations WHERE version >= 3" || fail "psql"
"$SEED" "$(pg_url up)" container new-1 u-new "" deny '[]' 200 0 >"$T/up.log" 2>&1 ||
    { cat "$T/up.log" >&2; fail "a version 2 database did not open"; }
grep -q "upgraded to version 3" "$T/up.log" || fail "no upgrade to version 3 logged"
grep -q "upgraded to version 4" "$T/up.log" || fail "no upgrade to version 4 logged"
grep -q "upgraded to version 6" "$T/up.log" || fail "no upgrade to version 6 logged"
grep -q "upgraded to version 7" "$T/up.log" || fail "no upgrade to version 7 logged"
[ "$(pq "SELECT count(*) FROM manifests")" = 0 ] || fail "no manifest store after the upgrade"
[ "$(pq "SELECT count(*) FROM pg_indexes WHERE indexname = 'verdicts_node'")" = 1 ] ||
    fail "no index on verdicts(node) after the upgrade"
[ "$(pq "SELECT verdict || '/' || vtpm_ek || '/' || reset_count || '/' || bound_until
         FROM verdicts WHERE container_id = 'old-1'")" = "allow//0/0" ] ||
    fail "the upgraded verdict: $(pq "SELECT * FROM verdicts WHERE container_id = 'old-1'")"
ok "a version 2 database upgrades in place to 7: its verdict kept, unbound, verdicts(node) indexed, the manifest store made"

# A database from a newer verifier is refused.
psql -q -h "$PG/sock" -U postgres -d conf -c "INSERT INTO schema_migrations VALUES (99, 0)" ||
    fail "psql"
"$SC" "$(pg_url conf)" >"$T/newer.log" 2>&1 && fail "newer schema accepted"
grep -q "newer than this verifier" "$T/newer.log" || { cat "$T/newer.log" >&2; fail "newer schema"; }
ok "a schema newer than the binary is refused"

# --- evidence from a real vTPM ---
start_host_tpm
start_mgr
cd "$T"
U=$(create_vtpm --name pg-1)
S=$(sock_of "$U")
"$BIN/vtpmctl" ek-cert "$U" | openssl x509 -outform DER -out ek.der || fail "ek-cert"
"$BIN/vtpmctl" host-chain --out chain >/dev/null || fail host-chain
mkdir trust
cp "$HOST/ek-ca.pem" trust/
vt "$S" tpm2_createek -G ecc -c ek.ctx >/dev/null || fail createek
vt "$S" tpm2_flushcontext -t
vt "$S" tpm2_createak -C ek.ctx -c ak.ctx -G ecc -g sha256 -s ecdsa -u ak.pub >/dev/null ||
    fail createak
vt "$S" tpm2_flushcontext -t
"$EB" log --out log.cbor --rootfs "$ROOTFS" --runtime "$RUNTIME" --cap CAP_NET_BIND_SERVICE >digests.txt ||
    fail "evidence_build log"
while read -r pcr dg; do vt "$S" tpm2_pcrextend "$pcr:sha256=$dg" || fail pcrextend; done <digests.txt
"$VF" policy default >policy.json || fail "policy default"
"$VF" policy allow --policy policy.json --rootfs-digest "$ROOTFS" --runtime-digest "$RUNTIME" ||
    fail "policy allow"

# start_instance NAME: `verifier serve` on the shared database; sets NAME_PID and NAME_URL.
start_instance() {
    rm -f "port-$1"
    "$VF" serve --listen 127.0.0.1:0 --port-file "port-$1" --db "$(pg_url vf)" --policy policy.json \
        --trust trust --insecure-no-tls >>"vf-$1.log" 2>&1 &
    eval "$1_PID=$!"
    i=0
    while [ ! -s "port-$1" ]; do
        i=$((i + 1)); [ $i -lt 100 ] || fail "verifier $1 did not start"
        kill -0 "$(eval echo \$$1_PID)" 2>/dev/null || { cat "vf-$1.log" >&2; fail "verifier $1 exited"; }
        sleep 0.1
    done
    eval "$1_URL=http://127.0.0.1:$(cat "port-$1")"
}
start_instance A
start_instance B
$C "$A_URL/healthz" | grep -q '"ok"' || fail "healthz A"
$C "$B_URL/healthz" | grep -q '"ok"' || fail "healthz B"
# A URL with a password that cannot be used: the error is logged, the password never.
"$VF" serve --listen 127.0.0.1:0 --db "postgresql://postgres:s3cr3t-pw@/nodb?host=$PG/sock" \
    --policy policy.json --trust trust --insecure-no-tls >vf-pw.log 2>&1 &&
    fail "serve started on a database that does not exist"
grep -q 'nodb' vf-pw.log || { cat vf-pw.log >&2; fail "the connection error was not logged"; }
grep -q 's3cr3t-pw' vf-pw.log && fail "the password was logged"
ok "two verifier instances on one PostgreSQL database"

cbor_post() { # URL PATH FILE OUT -> prints the HTTP status
    $C -H 'Content-Type: application/cbor' --data-binary @"$3" "$1$2" -o "$4" -w '%{http_code}'
}
# activate_at URL REG-ANSWER: the vTPM recovers the credential; the activation goes to URL.
activate_at() {
    id=$("$EB" cred --in "$2" --out c.blob) || fail "registration answer"
    vt "$S" tpm2_startauthsession --policy-session -S s.ctx
    vt "$S" tpm2_policysecret -S s.ctx -c e >/dev/null
    vt "$S" tpm2_activatecredential -c ak.ctx -C ek.ctx -i c.blob -o c.out -P session:s.ctx \
        >/dev/null || fail activatecredential
    vt "$S" tpm2_flushcontext s.ctx; vt "$S" tpm2_flushcontext -t
    "$EB" activate-req --out act.cbor --registration "$id" --credential c.out
    [ "$(cbor_post "$1" /v1/register/activate act.cbor act-resp.cbor)" = 200 ] ||
        fail "activate at $1"
    echo "$id"
}
# The vTPM registers at A and activates at B; the host registers at B and activates at A.
"$EB" register-req --out reg.cbor --ek-cert ek.der --ak-pub ak.pub --chain chain --vtpm "$U"
[ "$(cbor_post "$A_URL" /v1/register reg.cbor reg-resp.cbor)" = 200 ] || fail "register at A"
REG=$(activate_at "$B_URL" reg-resp.cbor)
[ "$(cbor_post "$A_URL" /v1/register/activate act.cbor /dev/null)" = 404 ] ||
    fail "a registration finished at B was activated again at A"
[ "$(cbor_post "$B_URL" /v1/hosts/register reg.cbor host-resp.cbor)" = 200 ] || fail "host register"
HREG=$("$EB" cred --in host-resp.cbor --out host-cred.blob) || fail "host registration answer"
"$BIN/vtpmctl" host-activate --credential host-cred.blob --out host-cred.out || fail "host-activate"
"$EB" activate-req --out hact.cbor --registration "$HREG" --credential host-cred.out
[ "$(cbor_post "$A_URL" /v1/register/activate hact.cbor /dev/null)" = 200 ] || fail "host activate"
ok "registration: made at one instance, activated at the other, finished once"

# evidence NONCE CONTAINER OUT [build options]: a fresh quote over NONCE.
evidence() {
    vt "$S" tpm2_quote -c ak.ctx -l sha256:8,9,10 -q "$1" -m q.msg -s q.sig -g sha256 >/dev/null ||
        fail quote
    vt "$S" tpm2_flushcontext -t
    vt "$S" tpm2_pcrread sha256:8,9,10 -o pcrs.bin >/dev/null || fail pcrread
    _en=$1 _ec=$2 _eo=$3; shift 3
    "$EB" build --out "$_eo" --log log.cbor --nonce "$_en" --ak-pub ak.pub --attest q.msg \
        --sig q.sig --pcrs pcrs.bin --ek-cert ek.der --chain chain --container "$_ec" --vtpm "$U" \
        --registration "$REG" "$@" || fail "evidence_build build"
}
nonce_at() { $C "$1/v1/nonce" | json nonce; }
post_ev() { # URL FILE -> resp.json
    $C -H 'Content-Type: application/cbor' --data-binary @"$2" "$1/v1/evidence" >resp.json
}
expect_reason() { grep -q "\"$1" resp.json || { cat resp.json >&2; fail "expected $1"; }; }

evidence "$(nonce_at "$A_URL")" web-0 ev0.cbor
post_ev "$B_URL" ev0.cbor
grep -q '"verdict":"allow"' resp.json || fail "nonce of A, registration of A, evidence at B: $(cat resp.json)"
post_ev "$A_URL" ev0.cbor
expect_reason nonce-reused
grep -q '"verdict":"refused"' resp.json || fail "a replay must be refused: $(cat resp.json)"
ok "a nonce issued by A is accepted at B once; replayed at A: refused, nonce-reused"

# The TPM clock is one per vTPM across instances: an older quote loses to a newer one.
evidence "$(nonce_at "$A_URL")" web-old ev-old.cbor
sleep 0.1
evidence "$(nonce_at "$B_URL")" web-new ev-new.cbor
post_ev "$B_URL" ev-new.cbor
grep -q '"verdict":"allow"' resp.json || fail "newer quote: $(cat resp.json)"
post_ev "$A_URL" ev-old.cbor
expect_reason clock-rollback
ok "an older quote at A after a newer one at B: clock-rollback"

# A run alternating A and B; A is killed -9 with a request in flight; B keeps answering.
ALLOWED=""
for i in 1 2 3 4 5 6 7 8; do
    target=$B_URL
    [ $((i % 2)) = 1 ] && [ -n "$A_PID" ] && target=$A_URL
    evidence "$(nonce_at "$target")" "run-$i" "ev-run-$i.cbor"
    if [ $i = 5 ] && [ -n "$A_PID" ]; then
        # In flight when A dies: answered (then it must be kept) or not, never half-stored.
        $C -H 'Content-Type: application/cbor' --data-binary @"ev-run-$i.cbor" \
            "$target/v1/evidence" >resp-5.json 2>/dev/null &
        CURL=$!
        kill -KILL "$A_PID"; wait "$A_PID" 2>/dev/null || true; A_PID=
        wait "$CURL" 2>/dev/null && grep -q '"verdict":"allow"' resp-5.json && ALLOWED="$ALLOWED run-$i"
        continue
    fi
    post_ev "$target" "ev-run-$i.cbor"
    grep -q '"verdict":"allow"' resp.json || fail "run-$i at $target: $(cat resp.json)"
    ALLOWED="$ALLOWED run-$i"
done
[ -z "$A_PID" ] || fail "A was not killed"
$C "$B_URL/healthz" | grep -q '"ok"' || fail "B unhealthy after A died"
for c in $ALLOWED; do
    $C "$B_URL/v1/containers/$c" | grep -q '"verdict":"allow"' || fail "B lost $c"
done
ok "A killed -9 mid-run: B kept answering and has every committed verdict ($ALLOWED)"

start_instance A
for c in web-new $ALLOWED; do
    $C "$A_URL/v1/containers/$c" | grep -q '"verdict":"allow"' || fail "restarted A lacks $c"
done
# The replay proved nothing: web-0 keeps the allow of its real evidence.
$C "$A_URL/v1/containers/web-0" >web0.json
grep -q '"verdict":"allow"' web0.json && ! grep -q nonce-reused web0.json ||
    fail "restarted A: web-0's replay overwrote its verdict: $(cat web0.json)"
evidence "$(nonce_at "$B_URL")" web-after ev-after.cbor
post_ev "$A_URL" ev-after.cbor
grep -q '"verdict":"allow"' resp.json || fail "restarted A: $(cat resp.json)"
ok "restarted A sees every verdict and registration made meanwhile"

# Node mode across instances: the node attested at A, a node-mode container allowed at B;
# host evidence at A that denies the node (its UEFI log does not replay into the host TPM's
# PCRs) takes the container's allow with it, as B sees.
host_ev() { # URL UEFI-LOG OUT
    "$BIN/attest-agent" host-evidence --nonce "$(nonce_at "$1")" --out he.cbor --run-dir "$RUN" \
        --uefi-log "$2" --kmod-log '' --node-name pg-node.example || fail "host-evidence"
    [ "$(cbor_post "$1" /v1/hosts/evidence he.cbor "$3")" = 200 ] || fail "host evidence at $1"
}
host_ev "$A_URL" '' hn-allow.json
grep -q '"verdict":"allow"' hn-allow.json || fail "the node at A: $(cat hn-allow.json)"
evidence "$(nonce_at "$B_URL")" web-node ev-node.cbor --node pg-node.example
post_ev "$B_URL" ev-node.cbor
grep -q '"verdict":"allow"' resp.json || fail "node-mode container at B: $(cat resp.json)"
"$BUILD/tests/uefilog_build" --out bogus.bin --preset basic >/dev/null || fail uefilog_build
host_ev "$A_URL" "$T/bogus.bin" hn-deny.json
grep -q '"verdict":"deny"' hn-deny.json || fail "the node's deny at A: $(cat hn-deny.json)"
$C "$B_URL/v1/containers/web-node" >web-node.json
grep -q '"verdict":"deny"' web-node.json && grep -q '"node-denied:pg-node.example"' web-node.json ||
    fail "the node's deny did not reach its container: $(cat web-node.json)"
evidence "$(nonce_at "$A_URL")" web-node-2 ev-node2.cbor --node pg-node.example
post_ev "$B_URL" ev-node2.cbor
expect_reason node-verdict-deny
ok "node mode on two instances: allow at B on A's node verdict; A's deny cascades (node-denied), B denies the next start"

# The database goes away and comes back: /healthz follows it, no verifier restart needed.
stop_pg
code=$($C -o /dev/null -w '%{http_code}' "$A_URL/healthz" || true)
[ "$code" = 503 ] || fail "healthz with the database down: $code"
code=$($C -o /dev/null -w '%{http_code}' "$B_URL/healthz" || true)
[ "$code" = 503 ] || fail "healthz of B with the database down: $code"
start_pg
for inst in A B; do
    u=$(eval echo \$${inst}_URL) i=0
    until [ "$($C -o /dev/null -w '%{http_code}' "$u/healthz" || true)" = 200 ]; do
        i=$((i + 1)); [ $i -lt 50 ] || fail "$inst did not reconnect"
        sleep 0.2
    done
done
evidence "$(nonce_at "$A_URL")" web-reconnect ev-rc.cbor
post_ev "$B_URL" ev-rc.cbor
grep -q '"verdict":"allow"' resp.json || fail "after reconnect: $(cat resp.json)"
grep -q "reconnecting" vf-A.log || fail "A did not report the lost connection"
ok "database restarted: /healthz 503 then 200 again, evidence allowed after the reconnect"

stop_instances
stop_mgr
echo "t_verifier_pg: all passed"
