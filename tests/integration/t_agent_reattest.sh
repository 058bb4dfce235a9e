#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Re-attestation by the agent service against a real `verifier serve` that revokes missed
# re-attestations: a running runc container and its host are re-attested every 2 s (the
# verifier's verdict times advance and stay allow, the host quote goes with each piece of
# evidence), a verifier outage is survived, a container whose vTPM is deleted or whose process
# ended is dropped and then revoked by the verifier, and so is the node once the service stops.
. "$(dirname "$0")/lib.sh"
need_runc curl
. "$(dirname "$0")/attest_lib.sh"
HOOK=$BIN/attest-agent-hook
NODE=reattest-node-$$

attest_setup reattest-$$

# The verifier wants evidence again within 3 + 2 s of the last one, else it revokes.
start_vf() { # [port]
    rm -f port
    "$VF" serve --listen "127.0.0.1:${1:-0}" --port-file port --db "sqlite:$T/vf.db" \
        --policy policy.json --trust trust --insecure-no-tls --reattest-interval 3 \
        --reattest-grace 2 >>vf.log 2>&1 &
    VF_PID=$!
    wait_verifier
    URL=http://127.0.0.1:$PORT
}
start_vf
SOCK=$T/agentd/agent.sock
start_agentd "$SOCK" ad.log --pool 1 --reattest-interval 2 --node-name "$NODE" --kmod-log '' \
    --uefi-log ''
edit base/config.json "c['hooks'] = {'createRuntime': [{'path': '$HOOK', 'args': ['attest-agent-hook',
    '--verifier', '$URL', '--run-dir', '$RUN', '--timeout', '5', '--agent-socket', '$SOCK',
    '--node-name', '$NODE', '--kmod-log', '', '--uefi-log', '']}]}"

run_ctr() { # NAME
    cp -a base "$1"
    CTRS="$CTRS $ID-$1"
    timeout 30 runc create --bundle "$1" "$ID-$1" </dev/null >"$1.out" 2>"$1.err" ||
        { cat "$1.err" >&2; fail "$1: not created"; }
    timeout 10 runc start "$ID-$1" || fail "$1: runc start"
}
field() { # URL-PATH FIELD: one field of the verifier's JSON answer, "" when none
    curl -sS --max-time 5 "$URL$1" 2>/dev/null | json "$2" 2>/dev/null || true
}
count() { grep -c "$1" ad.log || true; }
# until SECONDS DESCRIPTION COMMAND...: polls COMMAND every 0.2 s.
until_ok() {
    _u_n=$(( $1 * 5 )) _u_what=$2; shift 2
    while ! "$@"; do
        _u_n=$((_u_n - 1))
        [ $_u_n -gt 0 ] || { tail -n 30 ad.log >&2; fail "$_u_what"; }
        sleep 0.2
    done
}

run_ctr c1
[ "$(field "/v1/containers/$ID-c1" verdict)" = allow ] || fail "c1: no allow verdict"
t0=$(field "/v1/containers/$ID-c1" time)
n0=$(count "container $ID-c1: re-attested")
reattested_twice() { [ "$(count "container $ID-c1: re-attested")" -ge $((n0 + 2)) ]; }
until_ok 12 "c1 not re-attested twice" reattested_twice
t1=$(field "/v1/containers/$ID-c1" time)
[ "$t1" -ge $((t0 + 2)) ] || fail "verdict time did not advance ($t0 -> $t1)"
[ "$(field "/v1/containers/$ID-c1" verdict)" = allow ] || fail "c1: re-attestation not allowed"
ok "container re-attested twice in a few seconds: verdict time $t0 -> $t1, still allow"

[ "$(field "/v1/nodes/$NODE" verdict)" = allow ] || fail "no allow verdict for node $NODE"
h0=$(field "/v1/nodes/$NODE" time)
nh=$(count "host: re-attested")
host_twice() { [ "$(count "host: re-attested")" -ge $((nh + 2)) ]; }
until_ok 12 "host not re-attested twice" host_twice
[ "$(field "/v1/nodes/$NODE" time)" -gt "$h0" ] || fail "node verdict time did not advance"
grep -q "host evidence of node $NODE: allow" vf.log || fail "the verifier saw no host-only evidence"
grep -q "host-" vf.log && { grep "host-" vf.log >&2; fail "host reasons in the verifier's log"; }
ok "host re-attested (POST /v1/hosts/evidence): node $NODE allow, time advances"

# The verifier away for a while: failures logged, retried, and re-attested once it is back.
P=$(cat port)
stop_vf
nf=$(count "re-attestation failed")
failed_once() { [ "$(count "re-attestation failed")" -gt "$nf" ]; }
until_ok 8 "no failure logged while the verifier was down" failed_once
start_vf "$P"
nr=$(count "container $ID-c1: re-attested")
back() { [ "$(count "container $ID-c1: re-attested")" -gt "$nr" ]; }
until_ok 10 "not re-attested after the verifier came back" back
ok "verifier outage: failures logged, re-attested once it is back"

# A start while re-attestation runs is served (at most one step waits before it).
run_ctr c2
grep -q "container $ID-c2: allowed" ad.log || fail "c2 not checked by the service"
U2=$(sed -n "s/.*container $ID-c2: vTPM \([0-9a-f-]*\) from the pool.*/\1/p" ad.log | head -n 1)
[ -z "$U2" ] && U2=$(sed -n "s/.*container $ID-c2: created vTPM \([0-9a-f-]*\).*/\1/p" ad.log | head -n 1)
[ -n "$U2" ] || fail "c2's vTPM not found in the service log"
c2_twice() { [ "$(count "container $ID-c2: re-attested")" -ge 1 ]; }
until_ok 10 "c2 never re-attested" c2_twice
ok "second container started during re-attestation and re-attested"

# c2's vTPM deleted (what a poststop hook does): dropped, then revoked by the verifier.
"$BIN/vtpmctl" delete "$U2" >/dev/null || fail "vtpmctl delete"
gone() { grep -q "container $ID-c2: no longer re-attested (its vTPM is gone)" ad.log; }
until_ok 8 "c2 not dropped after its vTPM was deleted" gone
revoked() { [ "$(field "/v1/containers/$ID-$1" verdict)" = deny ]; }
until_ok 12 "c2 not revoked by the verifier" revoked c2
curl -sS --max-time 5 "$URL/v1/containers/$ID-c2" | grep -q reattest-missed || fail "c2: not reattest-missed"
ok "deleted vTPM: container dropped by the service, revoked by the verifier"

# c1 ends: dropped because its process is gone.
timeout 10 runc delete -f "$ID-c1" || fail "runc delete c1"
ended() { grep -q "container $ID-c1: no longer re-attested (its process ended)" ad.log; }
until_ok 8 "c1 not dropped after it ended" ended
n=$(count "container $ID-c1: re-attested")
sleep 3
[ "$(count "container $ID-c1: re-attested")" -eq "$n" ] || fail "an ended container is still re-attested"
ok "ended container dropped"

# The service stops: the node's verdict is revoked once its due time passes.
stop_ad
[ "$(field "/v1/nodes/$NODE" verdict)" = allow ] || fail "node not allowed before the due time"
node_revoked() { [ "$(field "/v1/nodes/$NODE" verdict)" = deny ]; }
until_ok 12 "node not revoked after the service stopped" node_revoked
ok "service stopped: the node's verdict revoked by the verifier"
echo "t_agent_reattest: all passed"
