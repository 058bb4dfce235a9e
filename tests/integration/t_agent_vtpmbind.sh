#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Named vTPMs with real runc (org.vtpm-attest.vtpm): a container may use only a vTPM of its
# own owner uid and tenant, fresh (PCRs 8-10 zero), not bound to another container or to the
# agent service's pool; a container id names one vTPM. Refusals happen before anything is
# made or extended in the vTPM; the legitimate case runs. One-shot hook and service path.
. "$(dirname "$0")/lib.sh"
need_runc tpm2_pcrread
. "$(dirname "$0")/attest_lib.sh"
HOOK=$BIN/attest-agent-hook

start_host_tpm
start_mgr
cd "$T"
ID=vbind-$$
BIND=$T/bind
SOCK=$T/agentd/agent.sock
ROOT2=$T/runc2
remove_root2() {
    for c in $CTRS2; do timeout 10 runc --root "$ROOT2" delete -f "$c" >/dev/null 2>&1 || true; done
}
CTRS2=""
at_exit remove_root2

base_bundle base
mkdir trust && cp "$HOST/ek-ca.pem" trust/
allow_bundle base policy.json
start_verifier policy.json trust
start_agentd "$SOCK" ad.log --pool 1 --bind-dir "$BIND" --reattest-interval 0

# bundle NAME VTPM [PYTHON] [service]: base naming VTPM, the one-shot hook or the service's.
bundle() {
    cp -a base "$1"
    if [ "${4:-}" = service ]; then
        edit "$1/config.json" "c['hooks'] = {'createRuntime': [{'path': '$HOOK', 'args': [
            'attest-agent-hook', '--verifier', '$URL', '--run-dir', '$RUN', '--timeout', '5',
            '--agent-socket', '$SOCK', '--bind-dir', '$BIND']}]}"
    else
        edit "$1/config.json" "c['hooks'] = {'createRuntime': [{'path': '$AGENT', 'args': [
            'attest-agent', 'hook', '--verifier', '$URL', '--run-dir', '$RUN', '--timeout', '5',
            '--agent-socket', '', '--bind-dir', '$BIND']}]}"
    fi
    edit "$1/config.json" "c['annotations'] = {'org.vtpm-attest.vtpm': '$2'}"
    [ -z "${3:-}" ] || edit "$1/config.json" "$3"
}
create() {
    CTRS="$CTRS $ID-$1"
    timeout 30 runc create --bundle "$1" "$ID-$1" </dev/null >"$1.out" 2>"$1.err"
}
status_of() { runc state "$ID-$1" 2>/dev/null | json status 2>/dev/null || true; }
socket_of() { "$BIN/vtpmctl" info "$1" | json socket; }
# untouched UUID: PCRs 8-10 zero and no AK made (nothing extended, nothing created).
untouched() {
    vt "$(socket_of "$1")" tpm2_pcrread sha256:8,9,10 >pcrs.txt || fail "pcrread $1"
    [ "$(grep -c 0x0000000000000000000000000000000000000000000000000000000000000000 pcrs.txt)" -eq 3 ] ||
        { cat pcrs.txt >&2; fail "$2: PCRs 8-10 of vTPM $1 changed"; }
    vt "$(socket_of "$1")" tpm2_getcap handles-persistent >persist.txt || fail "getcap $1"
    ! grep -qi 0x81010002 persist.txt || fail "$2: an AK was made in vTPM $1"
}
denied() {
    if create "$1"; then fail "$1: container created"; fi
    grep -q "$2" "$1.err" || { cat "$1.err" >&2; fail "$1: reason '$2' not printed"; }
    [ -z "$(status_of "$1")" ] || fail "$1: container exists after a refusal"
}
allowed() {
    create "$1" || { cat "$1.err" >&2; fail "$1: the allowed container was not created"; }
    [ "$(status_of "$1")" = created ] || fail "$1: not created"
}

# Another tenant's prepared vTPM (tenant a, uid 1001): refused, untouched.
VA=$(create_vtpm --tenant a --owner 1001:1001) || fail "create tenant a vTPM"
bundle steal "$VA"
denied steal "belongs to uid 1001 tenant a"
untouched "$VA" "one-shot hook, another tenant's vTPM"
ok "one-shot hook: another tenant's vTPM refused before anything is made or extended"
bundle steal2 "$VA" "" service
denied steal2 "belongs to uid 1001 tenant a"
untouched "$VA" "service, another tenant's vTPM"
ok "service: another tenant's vTPM refused before anything is made or extended"
# The right uid alone is not enough: the tenant differs.
bundle steal3 "$VA" "c['process']['user'] = {'uid': 1001, 'gid': 1001}"
denied steal3 "belongs to uid 1001 tenant a"
untouched "$VA" "same uid, another tenant"
ok "a vTPM of the container's uid but another tenant refused"

# A used vTPM (PCR 8 extended since its startup): refused.
VU=$(create_vtpm --owner 1000:1000) || fail "create vTPM" # the base bundle runs as uid 1000
vt "$(socket_of "$VU")" tpm2_pcrextend 8:sha256=$(printf '%064d' 1) || fail "pcrextend"
bundle used "$VU"
denied used "already extended"
vt "$(socket_of "$VU")" tpm2_getcap handles-persistent >persist.txt || fail getcap
! grep -qi 0x81010002 persist.txt || fail "an AK was made in the used vTPM"
bundle used2 "$VU" "" service
denied used2 "already extended"
ok "a used vTPM is refused (one-shot hook and service), nothing made in it"

# The service's pooled vTPM (fresh, root's, default tenant) named by a container: refused.
VP=$(sed -n 's/.*pool: vTPM \([0-9a-f-]*\) ready.*/\1/p' ad.log | tail -n 1)
[ -n "$VP" ] || fail "no pooled vTPM in the service's log"
# as root: the pooled vTPM is the service's (uid 0), so the owner check passes and the pool's
# reservation is what refuses it
bundle pooled "$VP" "c['process']['user'] = {'uid': 0, 'gid': 0}"
denied pooled "reserved by the agent service's pool"
ok "a vTPM in the service's pool cannot be named by a container"

# The legitimate case: the container's own prepared vTPM, then nobody else's.
VO=$(create_vtpm --tenant t1 --owner 1000:1000) || fail "create vTPM"
"$AGENT" prepare --verifier "$URL" --run-dir "$RUN" --vtpm "$VO" >/dev/null || fail prepare
bundle own "$VO" "c['annotations']['org.vtpm-attest.tenant'] = 't1'"
allowed own
curl -sS --max-time 5 "$URL/v1/containers/$ID-own" | grep -q '"allow"' ||
    fail "own: no allow verdict"
ok "the container's own prepared vTPM (uid and tenant match): attested and created"
bundle second "$VO" "c['annotations']['org.vtpm-attest.tenant'] = 't1'" service
denied second "bound to container $ID-own"
ok "a vTPM bound to a container is refused to a second container (service path)"

# One container id, one vTPM: the same id under another runc root naming another vTPM.
VO2=$(create_vtpm --tenant t1 --owner 1000:1000) || fail "create vTPM"
bundle sameid "$VO2" "c['annotations']['org.vtpm-attest.tenant'] = 't1'"
CTRS2="$ID-own"
if timeout 30 runc --root "$ROOT2" create --bundle sameid "$ID-own" </dev/null >sameid.out \
    2>sameid.err; then fail "sameid: a second container under the same id was created"; fi
grep -q "container id $ID-own is bound to vTPM $VO" sameid.err ||
    { cat sameid.err >&2; fail "sameid: reason not printed"; }
untouched "$VO2" "the same container id"
ok "a running container's id cannot be bound to a second vTPM"
