#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Node mode of the agent (docs/attest-agent.md "Node mode") against a real `verifier serve` and
# runc: concurrent starts through one-shot hooks share one piece of host evidence (the flock'd
# record in --cache-dir) and later starts none; a node-verdict-* deny drops the record and the
# next start refreshes it; through the agent service concurrent starts also cost one, its
# re-attestation rounds send none while the node's verdict stays fresh and one per round when
# it would not last to the next; --host-evidence quote still quotes the host per start.
# Host evidence is counted in the verifier's log ("host evidence of node ..."), and with the
# slow host TPM's counts as TPM2_Quote commands too: the host TPM is the counting proxy
# (SLOW_TPM=none, no delay) unless SLOW_TPM says otherwise (fast, p95; empty: plain swtpm).
: "${SLOW_TPM=none}"
export SLOW_TPM
. "$(dirname "$0")/lib.sh"
need_runc curl
. "$(dirname "$0")/attest_lib.sh"
HOOK=$BIN/attest-agent-hook
NODE=node-mode-$$
N=6

attest_setup nm-$$

# start_vf DB INTERVAL GRACE [PORT]: the verifier with its re-attestation window (a node's
# verdict is fresh until INTERVAL + GRACE - 1 s after its host evidence; policy max age 360 s).
start_vf() {
    rm -f port
    "$VF" serve --listen "127.0.0.1:${4:-0}" --port-file port --db "sqlite:$T/$1" \
        --policy policy.json --trust trust --insecure-no-tls --reattest-interval "$2" \
        --reattest-grace "$3" >>vf.log 2>&1 &
    VF_PID=$!
    wait_verifier
    URL=http://127.0.0.1:$PORT
}
start_vf vf1.db 30 5
P=$PORT

hostevs() { grep -c "host evidence of node $NODE" vf.log || true; }
# Host-TPM quotes, when the host TPM is the counting proxy; "" otherwise.
quotes() {
    [ -f "$HOST/counts" ] || return 0
    python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["commands"].get("Quote", 0))' \
        "$HOST/counts"
}
# expect_quotes BEFORE DELTA WHAT: with the counting proxy, exactly DELTA host quotes since.
expect_quotes() {
    [ -n "$1" ] || return 0
    [ "$(quotes)" -eq $(($1 + $2)) ] || fail "$3: $(( $(quotes) - $1 )) host quotes, want $2"
}
AD_LOG=ad.log
ad_count() { grep -c "$1" "$AD_LOG" || true; }
until_ok() { # SECONDS DESCRIPTION COMMAND...: polls COMMAND every 0.2 s
    _u_n=$(( $1 * 5 )) _u_what=$2; shift 2
    while ! "$@"; do
        _u_n=$((_u_n - 1))
        [ $_u_n -gt 0 ] || { [ -f "$AD_LOG" ] && tail -n 30 "$AD_LOG" >&2; fail "$_u_what"; }
        sleep 0.2
    done
}

# hook_bundle DIR MODE [ARGS...]: base with the one-shot hook (no service) or the service's.
hook_bundle() {
    _hb=$1 _mode=$2; shift 2
    cp -a base "$_hb"
    if [ "$_mode" = oneshot ]; then
        _hargs="['attest-agent', 'hook', '--agent-socket', '', '--cache-dir', '$T/cache'"
        _hpath=$AGENT
    else
        _hargs="['attest-agent-hook', '--agent-socket', '$SOCK'"
        _hpath=$HOOK
    fi
    for _a in "$@"; do _hargs="$_hargs, '$_a'"; done
    edit "$_hb/config.json" "c['hooks'] = {'createRuntime': [{'path': '$_hpath', 'args': $_hargs,
        '--verifier', '$URL', '--run-dir', '$RUN', '--bind-dir', '$T/bind', '--timeout', '20',
        '--node-name', '$NODE', '--kmod-log', '', '--uefi-log', '']}]}"
}
# start_ctrs MODE NAME... : creates the containers at once; each must be allowed.
start_ctrs() {
    _mode=$1; shift
    _pids=""
    for _c in "$@"; do
        hook_bundle "$_c" "$_mode"
        CTRS="$CTRS $ID-$_c"
        timeout 60 runc create --bundle "$_c" "$ID-$_c" </dev/null >"$_c.out" 2>"$_c.err" &
        _pids="$_pids $!"
    done
    _bad=""
    for _p in $_pids; do wait "$_p" || _bad=1; done
    [ -z "$_bad" ] || { cat ./*.err >&2; fail "not all of $* were allowed"; }
}
# start_denied MODE NAME WORD: one start that must fail, its error naming WORD.
start_denied() {
    hook_bundle "$2" "$1"
    CTRS="$CTRS $ID-$2"
    if timeout 60 runc create --bundle "$2" "$ID-$2" </dev/null >"$2.out" 2>"$2.err"; then
        fail "$2: allowed"
    fi
    grep -q "$3" "$2.err" || { cat "$2.err" >&2; fail "$2: the error does not say $3"; }
}

# ---- one-shot hooks ------------------------------------------------------------------------
h0=$(hostevs) q0=$(quotes)
start_ctrs oneshot a1 a2 a3 a4 a5 a6
[ "$(hostevs)" -eq $((h0 + 1)) ] ||
    fail "$N concurrent one-shot starts sent $(( $(hostevs) - h0 )) host evidence, want 1"
expect_quotes "$q0" 1 "$N concurrent one-shot starts"
[ "$(grep -c "evidence $ID-a[0-9] .*: allow" vf.log)" -eq $N ] || fail "not $N container allows"
rec=$(ls cache | grep -v '\.lock$' | grep '^node-' || true)
[ "$(echo "$rec" | wc -w)" -eq 1 ] || fail "node record files in the cache: '$rec'"
[ "$(stat -c %a "cache/$rec")" = 600 ] || fail "node record not 0600"
grep -q "\"node\":\"$NODE\"" "cache/$rec" || fail "node record does not name $NODE"
ok "one-shot hooks: $N concurrent starts, one host evidence, record cache/$rec"

h0=$(hostevs) q0=$(quotes)
start_ctrs oneshot b1 b2
[ "$(hostevs)" -eq "$h0" ] || fail "starts with a fresh record sent host evidence"
expect_quotes "$q0" 0 "starts with a fresh record"
ok "starts while the record is fresh: no host evidence, no host quote"

# The verifier forgets the node (a new database behind the same URL): the record still says
# fresh, so the next start is denied (node-verdict-missing) and the record dropped; the start
# after that sends host evidence again and is allowed.
stop_vf
start_vf vf2.db 30 5 "$P"
h0=$(hostevs)
start_denied oneshot c1 node-verdict-missing
[ ! -e "cache/$rec" ] || fail "the record was not dropped after a node-verdict deny"
[ "$(hostevs)" -eq "$h0" ] || fail "host evidence before the deny"
start_ctrs oneshot c2
[ "$(hostevs)" -eq $((h0 + 1)) ] || fail "no host evidence after the record was dropped"
[ -e "cache/$rec" ] || fail "no new record"
ok "node-verdict-missing: start denied, record dropped, next start refreshed and allowed"

# ---- the agent service ---------------------------------------------------------------------
SOCK=$T/agentd/agent.sock
# The counts start before the service: its one host quote may come while it starts (a
# re-attestation round or the pool's first fill) or with the first start, never both.
h0=$(hostevs) q0=$(quotes)
start_agentd "$SOCK" ad.log --pool 2 --reattest-interval 2 --bind-dir "$T/bind" \
    --node-name "$NODE" --kmod-log '' --uefi-log ''
start_ctrs service s1 s2 s3 s4 s5 s6
for c in s1 s2 s3 s4 s5 s6; do
    grep -q "container $ID-$c: allowed" ad.log || fail "$c not checked by the service"
done
[ "$(hostevs)" -eq $((h0 + 1)) ] ||
    fail "$N starts through the service sent $(( $(hostevs) - h0 )) host evidence, want 1"
expect_quotes "$q0" 1 "$N starts through the service"
ok "service: $N concurrent starts, one host evidence"

# Re-attestation while the node's verdict stays fresh (~33 s): rounds without host evidence.
h0=$(hostevs) q0=$(quotes) r0=$(ad_count "re-attested") m0=$(ad_count "host: re-attested")
n0=$(ad_count "no host evidence this round")
rounds3() { [ "$(ad_count "no host evidence this round")" -ge $((n0 + 3)) ]; }
until_ok 20 "no three rounds" rounds3
[ "$(ad_count "container $ID-s.: re-attested")" -ge $((3 * N - N)) ] ||
    fail "containers not re-attested in the rounds"
[ "$(hostevs)" -eq "$h0" ] || fail "rounds sent host evidence while the node verdict was fresh"
expect_quotes "$q0" 0 "re-attestation rounds with a fresh node verdict"
[ "$(ad_count "host: re-attested")" -eq "$m0" ] || fail "a host step ran while the record was fresh"
ok "service: $(( $(ad_count "re-attested") - r0 )) container re-attestations in 3+ rounds, no host evidence"

# A short window at the verifier (a node verdict fresh for 4 s) and a new service (its records
# start empty): the host step runs once per round, the containers' steps never quote the host.
stop_ad
stop_vf
start_vf vf2.db 3 2 "$P"
AD_LOG=ad2.log
start_agentd "$SOCK" ad2.log --pool 2 --reattest-interval 2 --bind-dir "$T/bind" \
    --node-name "$NODE" --kmod-log '' --uefi-log ''
start_ctrs service t1 t2 t3
h0=$(hostevs) q0=$(quotes) m0=$(ad_count "host: re-attested")
rounds4() { [ "$(ad_count "host: re-attested")" -ge $((m0 + 4)) ]; }
until_ok 20 "no four host steps" rounds4
m1=$(ad_count "host: re-attested") h1=$(hostevs)
[ $((h1 - h0)) -le $((m1 - m0 + 1)) ] ||
    fail "$((h1 - h0)) host evidence in $((m1 - m0)) rounds (more than one per round)"
[ $((h1 - h0)) -ge $((m1 - m0)) ] || fail "host steps logged without host evidence"
[ -z "$q0" ] || [ $(( $(quotes) - q0 )) -le $((m1 - m0 + 1)) ] ||
    fail "$(( $(quotes) - q0 )) host quotes in $((m1 - m0)) rounds"
for c in t1 t2 t3; do
    [ "$(ad_count "container $ID-$c: re-attested")" -ge 3 ] || fail "$c not re-attested"
done
grep -q "re-attestation failed" ad2.log && { grep "re-attestation failed" ad2.log >&2;
    fail "a re-attestation failed"; }
ok "service, short window: $((h1 - h0)) host evidence in $((m1 - m0)) rounds of 3 containers"

# ---- quote mode ----------------------------------------------------------------------------
stop_ad
h0=$(hostevs) q0=$(quotes)
t0=$(curl -sS --max-time 5 "$URL/v1/nodes/$NODE" | json time)
sleep 1
hook_bundle q1 oneshot --host-evidence quote
CTRS="$CTRS $ID-q1"
timeout 60 runc create --bundle q1 "$ID-q1" </dev/null >q1.out 2>q1.err ||
    { cat q1.err >&2; fail "quote mode: not allowed"; }
[ "$(hostevs)" -eq "$h0" ] || fail "quote mode sent host-only evidence"
expect_quotes "$q0" 1 "one start in quote mode"
t1=$(curl -sS --max-time 5 "$URL/v1/nodes/$NODE" | json time)
[ "$t1" -gt "$t0" ] || fail "quote mode: the node's verdict was not renewed by the host part"
ok "--host-evidence quote: the container's evidence carries the host quote (node row renewed)"
echo "t_agent_node: all passed"
