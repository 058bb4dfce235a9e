#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Issue 10, "container start needs no host-TPM command on its path": runc starts through the
# agent service (node mode, vTPMs from its pool) with the host TPM behind the counting proxy
# (docs/slowtpm.md). The pool refill is held off (--refill-after 600000) so that nothing but
# the start itself can reach the host TPM between `runc create` and the end of `runc start`.
# Node-mode starts, the service's first one included (the service makes the node verdict
# before it listens), must cost 0 host-TPM commands: no quote, and no NV_Increment (a start
# changes no vTPM's permanent state, whose stores would wait for the rollback counter). Before
# the verdict was made ahead, the first start sent the host quote itself. The control: a start
# whose hook asks for --host-evidence quote shows its host quote in the same window, and a
# refill let run afterwards shows its commands (create, AK, registration) outside it.
SLOW_TPM=none
export SLOW_TPM
. "$(dirname "$0")/lib.sh"
need_runc python3
. "$(dirname "$0")/attest_lib.sh"
HOOK=$BIN/attest-agent-hook

attest_setup sp-$$
start_verifier policy.json trust
SOCK=$T/agentd/agent.sock

# cnt FIELD: from the proxy's counts ("total", "commands.Quote", ...).
cnt() {
    python3 -c 'import json,sys
d = json.load(open(sys.argv[1]))
for k in sys.argv[2].split(".", 1):
    d = d.get(k, 0) if isinstance(d, dict) else 0
print(d)' "$HOST/counts" "$1"
}
# zero: the proxy's counts set to zero (SIGUSR1), waited for.
zero() {
    _r=$(cnt resets)
    kill -USR1 "$(cat "$HOST/slowtpm.pid")"
    _i=0
    until [ "$(cnt resets)" -gt "$_r" ]; do
        _i=$((_i + 1)); [ $_i -lt 50 ] || fail "slowtpm counts not zeroed"; sleep 0.1
    done
}
# start NAME [hook args]: one runc create + start through the service, which must allow it.
start() {
    _n=$1; shift
    cp -a base "$_n"
    _args="['attest-agent-hook', '--agent-socket', '$SOCK', '--verifier', '$URL',
        '--run-dir', '$RUN', '--bind-dir', '$T/bind', '--timeout', '20', '--kmod-log', '',
        '--uefi-log', ''"
    for _a in "$@"; do _args="$_args, '$_a'"; done
    edit "$_n/config.json" "c['hooks'] = {'createRuntime': [{'path': '$HOOK', 'args': $_args]}]}"
    CTRS="$CTRS $ID-$_n"
    timeout 60 runc create --bundle "$_n" "$ID-$_n" </dev/null >"$_n.out" 2>"$_n.err" ||
        { cat "$_n.err" >&2; tail -n 20 ad.log >&2; fail "$_n: not allowed"; }
    timeout 10 runc start "$ID-$_n" || fail "runc start $_n"
    grep -q "container $ID-$_n: vTPM .* from the pool" ad.log ||
        fail "$_n: the service did not take a pooled vTPM"
}

start_agentd "$SOCK" ad.log --pool 3 --refill-after 600000 --reattest-interval 0 \
    --bind-dir "$T/bind" --kmod-log '' --uefi-log ''
for c in n1 n2; do
    zero
    start $c
    tot=$(cnt total)
    [ "$tot" -eq 0 ] ||
        { cat "$HOST/counts" >&2; fail "node-mode start $c sent $tot host-TPM commands"; }
done
ok "node mode: 0 host-TPM commands between runc create and the end of runc start (first and second start)"

zero
start q1 --host-evidence quote
[ "$(cnt commands.Quote)" -eq 1 ] ||
    { cat "$HOST/counts" >&2; fail "quote mode: no host quote counted in the start's window"; }
[ "$(cnt commands.NV_Increment)" -eq 0 ] ||
    { cat "$HOST/counts" >&2; fail "quote mode: NV_Increment in the start's window"; }
ok "control: a quote-mode start's host quote is counted in its window (and no NV_Increment)"

# The refill was held off: three pooled vTPMs made before serving, none since.
[ "$(grep -c "ready (" ad.log)" -eq 3 ] || fail "the pool was refilled during the starts"
# Let it run now (a new service, refill right after its one start): its commands are the
# create's counter increment and the registration's (outside any start's window).
stop_ad
zero
start_agentd "$SOCK" ad.log --pool 1 --refill-after 0 --reattest-interval 0 \
    --bind-dir "$T/bind" --kmod-log '' --uefi-log ''
made=$(cnt commands.NV_Increment)
[ "$made" -ge 1 ] || fail "a pooled vTPM's create counted no NV_Increment ($made)"
ok "control: filling the pool of 1 cost $made NV_Increment (create and registration)"
echo "t_agent_startpath: all passed"
