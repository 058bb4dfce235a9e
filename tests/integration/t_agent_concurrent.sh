#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# vtpm-test: serial (deadlines and delays measured in wall time)
# The agent service serves concurrent container starts concurrently (docs/attest-agent.md
# "Concurrency"), with real runc and `verifier serve` behind a stand-in (holdproxy.py) that
# holds the first container evidence until a second one arrives, for at most HOLD seconds:
# - control: the service with --lanes 1 (one request at a time, as before) never sends the
#   second evidence while the first waits for its answer: the proxy reports "alone";
# - the default service sends both (the proxy reports "overlap"), one allowed and one denied
#   container, each hook getting its own diagnostics and no other's;
# - a burst of starts through the service: all allowed, one vTPM each.
# Nothing is timed: the bound only ends the wait that a serial service would never end.
. "$(dirname "$0")/lib.sh"
need_runc
. "$(dirname "$0")/attest_lib.sh"
HOOK=$BIN/attest-agent-hook
HOLD=8
BURST=${BURST:-8}
PX_PID=

attest_setup conc-$$
start_verifier policy.json trust
VURL=$URL
SOCK=$T/agentd/agent.sock

stop_px() { stop_pid "$PX_PID" 50 || true; PX_PID=; }
at_exit stop_px
# start_px LOG: the hold proxy in front of the verifier; URL names it.
start_px() {
    rm -f pport
    python3 "$ROOT/tests/integration/holdproxy.py" "$VURL" pport "$1" /v1/evidence 2 "$HOLD" \
        >>px.log 2>&1 &
    PX_PID=$!
    _i=0
    while [ ! -s pport ]; do
        _i=$((_i + 1)); [ $_i -lt 100 ] || fail "hold proxy did not start"
        kill -0 "$PX_PID" 2>/dev/null || { cat px.log >&2; fail "hold proxy exited"; }
        sleep 0.1
    done
    URL=http://127.0.0.1:$(cat pport)
}

# bundle NAME [PYTHON]: base with the service's hook (naming the proxy), edited by PYTHON.
bundle() {
    rm -rf "$1"
    cp -a base "$1"
    edit "$1/config.json" "c['hooks'] = {'createRuntime': [{'path': '$HOOK', 'args':
        ['attest-agent-hook', '--verifier', '$URL', '--run-dir', '$RUN', '--timeout', '20',
         '--agent-socket', '$SOCK']}]}"
    [ -z "${2:-}" ] || edit "$1/config.json" "$2"
}
# create_all NAME...: runc create of each at once; the names whose create failed in BAD.
create_all() {
    _pids=""
    for _c in "$@"; do
        CTRS="$CTRS $ID-$_c"
        timeout 60 runc create --bundle "$_c" "$ID-$_c" </dev/null >"$_c.out" 2>"$_c.err" &
        _pids="$_pids $_c:$!"
    done
    BAD=""
    for _cp in $_pids; do
        wait "${_cp#*:}" || BAD="$BAD ${_cp%%:*}"
    done
}
verdict_allow() { curl -sS --max-time 5 "$VURL/v1/containers/$ID-$1" | grep -q '"allow"'; }

# ---- control: one request at a time --------------------------------------------------------
start_px hold1.log
start_agentd "$SOCK" ad1.log --pool 2 --lanes 1 --reattest-interval 0
bundle s1
bundle s2
create_all s1 s2
[ -z "$BAD" ] || { cat s1.err s2.err >&2; fail "serial service: not allowed:$BAD"; }
[ "$(cat hold1.log)" = "alone 1" ] ||
    fail "the proxy saw '$(cat hold1.log)' from a service serving one request at a time"
stop_ad
stop_px
remove_ctrs
ok "control: --lanes 1 never has two container evidence in flight (the proxy's hold ran out)"

# ---- concurrent: an allowed and a denied start at once ---------------------------------------
start_px hold2.log
start_agentd "$SOCK" ad2.log --pool 2 --reattest-interval 0
_i=0 # the line comes a little after the socket (sandbox, threads)
until grep -q "requests at once" ad2.log; do
    _i=$((_i + 1)); [ $_i -lt 100 ] || fail "the service does not say how many requests it serves"
    sleep 0.1
done
bundle good
bundle bad "
for k in ('bounding', 'effective', 'permitted'): c['process']['capabilities'][k].append('CAP_SYS_ADMIN')"
create_all good bad
[ "$(cat hold2.log)" = "overlap 2" ] ||
    { cat ad2.log >&2; fail "the proxy saw '$(cat hold2.log)': requests were not served at once"; }
[ "$BAD" = " bad" ] || { cat good.err bad.err >&2; fail "want only bad refused, got:$BAD"; }
verdict_allow good || fail "no allow verdict for the allowed container"
grep -q "CAP_SYS_ADMIN" bad.err || { cat bad.err >&2; fail "the deny's reason not relayed"; }
grep -q "$ID-bad" good.err && fail "the allowed start's hook printed the other request's lines"
grep -q "CAP_SYS_ADMIN" good.err && fail "the allowed start's hook printed the deny's reason"
grep -q "$ID-good" bad.err && fail "the denied start's hook printed the other request's lines"
ok "two starts served at once (overlap at the verifier), each hook with only its own diagnostics"

# ---- a burst ----------------------------------------------------------------------------------
names=""
i=0
while [ $i -lt "$BURST" ]; do
    i=$((i + 1)); bundle "b$i"; names="$names b$i"
done
# shellcheck disable=SC2086
create_all $names
[ -z "$BAD" ] || { tail -n 40 ad2.log >&2; fail "burst: not allowed:$BAD"; }
for c in $names; do verdict_allow "$c" || fail "burst: no allow verdict for $c"; done
vtpms=$(grep -o "container $ID-b[0-9]*: \(created \)\?vTPM [0-9a-f-]*" ad2.log |
        awk '{print $NF}' | sort -u | wc -l)
[ "$vtpms" -eq "$BURST" ] || fail "burst: $vtpms distinct vTPMs for $BURST containers"
kill -0 "$AD_PID" || fail "the service died"
ok "burst of $BURST concurrent starts through the service: all allowed, one vTPM each"
echo "t_agent_concurrent: all passed"
