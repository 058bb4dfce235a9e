#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# A runc container re-attested every 2 s by the agent service against `verifier serve`
# (revocation after 3 + 4 s without evidence) while vtpm-mgr's parent is killed (kill -9) and
# restarted 8 times: its vTPM keeps running in the adopted worker, so no re-attestation is
# denied and the verifier revokes nothing.
. "$(dirname "$0")/lib.sh"
need_runc curl
. "$(dirname "$0")/attest_lib.sh"
HOOK=$BIN/attest-agent-hook
NODE=survive-node-$$
KILLS=8

attest_setup survive-$$
start_verifier policy.json trust --reattest-interval 3 --reattest-grace 4
SOCK=$T/agentd/agent.sock
start_agentd "$SOCK" ad.log --pool 1 --reattest-interval 2 --node-name "$NODE" --kmod-log '' \
    --uefi-log ''
edit base/config.json "c['hooks'] = {'createRuntime': [{'path': '$HOOK', 'args': ['attest-agent-hook',
    '--verifier', '$URL', '--run-dir', '$RUN', '--timeout', '5', '--agent-socket', '$SOCK',
    '--node-name', '$NODE', '--kmod-log', '', '--uefi-log', '']}]}"
cp -a base c1
CTRS="$ID-c1"
timeout 30 runc create --bundle c1 "$ID-c1" </dev/null >c1.out 2>c1.err || { cat c1.err >&2; fail "c1: not created"; }
timeout 10 runc start "$ID-c1" || fail "c1: runc start"
field() { curl -sS --max-time 5 "$URL$1" 2>/dev/null | json "$2" 2>/dev/null || true; }
count() { grep -c "$1" ad.log || true; }
[ "$(field "/v1/containers/$ID-c1" verdict)" = allow ] || fail "c1: no allow verdict"
n0=$(count "container $ID-c1: re-attested")

# The test's host TPM has no resource manager: flush what a killed parent left loaded.
flush_host() {
    for f in -t -l -s; do TPM2TOOLS_TCTI=$HOST_TCTI timeout 10 tpm2_flushcontext $f >/dev/null 2>&1 || true; done
}
k=0
while [ $k -lt $KILLS ]; do
    ms=$(shuf -i 1500-2999 -n 1)
    sleep "$((ms / 1000)).$(printf '%03d' $((ms % 1000)))"
    kill -KILL "$MGR_PID"; wait "$MGR_PID" 2>/dev/null || true; MGR_PID=
    flush_host
    start_mgr
    k=$((k + 1))
done
n1=$(count "container $ID-c1: re-attested")
i=0
while [ "$(count "container $ID-c1: re-attested")" -lt $((n1 + 2)) ]; do
    i=$((i + 1)); [ $i -lt 75 ] || { tail -n 20 ad.log >&2; fail "c1 not re-attested after the crashes"; }
    sleep 0.2
done
grep "container $ID-c1: re-attestation failed (denied)" ad.log >&2 && fail "a re-attestation of c1 was denied"
grep "container $ID-c1: no longer re-attested" ad.log >&2 && fail "c1 dropped by the service"
grep "revoked" vf.log >&2 && fail "the verifier revoked something"
[ "$(field "/v1/containers/$ID-c1" verdict)" = allow ] || fail "c1 not allowed at the end"
ok "$KILLS kill -9 of vtpm-mgr's parent: c1 re-attested $(( $(count "container $ID-c1: re-attested") - n0 )) times, 0 denied, 0 revocations"
echo "t_agent_survive: all passed"
