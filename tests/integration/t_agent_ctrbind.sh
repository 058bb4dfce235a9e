#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# The agent gives the vTPM it attests a container with to that container (vtpm-mgr `bind`),
# with real runc: a container started through the hook (one-shot and service) with its own
# vTPM directory bind-mounted read-only uses the vTPM socket from inside; a container that was
# not attested with it is refused on it. The launch policy allows exactly that bind (not a
# writable one, not another vTPM's directory, not the vtpm/ directory). A bind that fails
# fails the start before anything is extended; a verifier "refused" answer is a deny with its
# reasons; after a vtpm-mgr crash the service binds its containers' vTPMs again.
. "$(dirname "$0")/lib.sh"
need_runc tpm2_pcrread
. "$(dirname "$0")/attest_lib.sh"
SP=$BUILD/tests/sockpeer-static
[ -x "$SP" ] || fail "$SP not built (make all)"
HOOK=$BIN/attest-agent-hook

start_host_tpm
start_mgr
cd "$T"
ID=cbind-$$
BIND=$T/bind
SOCK=$T/agentd/agent.sock
ROOT2=$T/runc2
CTRS2=""
remove_root2() {
    for c in $CTRS2; do timeout 10 runc --root "$ROOT2" delete -f "$c" >/dev/null 2>&1 || true; done
}
at_exit remove_root2

# The base bundle (uid 1000, hardened) with sockpeer and its vTPM directory at /run/vtpm,
# read-only; the policy allows its digests (the rootfs digest skips the mount point).
base_bundle base
cp "$SP" base/rootfs/bin/sockpeer
mkdir -p base/rootfs/run/vtpm
edit base/config.json "c['mounts'].append({'destination': '/run/vtpm', 'type': 'bind',
    'source': '$RUN/vtpm/none', 'options': ['bind', 'ro']})"
mkdir trust && cp "$HOST/ek-ca.pem" trust/
allow_bundle base policy.json
start_verifier policy.json trust
start_agentd "$SOCK" ad.log --pool 0 --bind-dir "$BIND" --reattest-interval 1

# bundle NAME VTPM [PYTHON] [service|none]: base naming VTPM with its directory bound, through
# the one-shot hook, the service, or no hook at all.
bundle() {
    cp -a base "$1"
    case "${4:-}" in
    service) edit "$1/config.json" "c['hooks'] = {'createRuntime': [{'path': '$HOOK', 'args': [
            'attest-agent-hook', '--verifier', '$URL', '--run-dir', '$RUN', '--timeout', '5',
            '--agent-socket', '$SOCK', '--bind-dir', '$BIND']}]}" ;;
    none) ;;
    *) edit "$1/config.json" "c['hooks'] = {'createRuntime': [{'path': '$AGENT', 'args': [
            'attest-agent', 'hook', '--verifier', '$URL', '--run-dir', '$RUN', '--timeout', '5',
            '--agent-socket', '', '--bind-dir', '$BIND']}]}" ;;
    esac
    edit "$1/config.json" "c['annotations'] = {'org.vtpm-attest.vtpm': '$2'}
[m.update(source='$RUN/vtpm/$2') for m in c['mounts'] if m['destination'] == '/run/vtpm']"
    [ -z "${3:-}" ] || edit "$1/config.json" "$3"
}
run_d() {
    CTRS="$CTRS $ID-$1"
    timeout 30 runc run -d --bundle "$1" "$ID-$1" </dev/null >"$1.out" 2>"$1.err"
}
started() { run_d "$1" || { cat "$1.err" >&2; fail "$1: not started"; }; }
denied() {
    if run_d "$1"; then fail "$1: container started"; fi
    grep -q "$2" "$1.err" || { cat "$1.err" >&2; fail "$1: reason '$2' not printed"; }
}
# in_ctr NAME CHANNEL: sockpeer inside the container on its vTPM (tpm: data, ctrl: control).
in_ctr() {
    if [ "$2" = tpm ]; then p=/run/vtpm/tpm.sock; else p=/run/vtpm/tpm.sock.ctrl; fi
    timeout 30 runc exec "$ID-$1" /bin/sockpeer "$2" "$p" >/dev/null 2>"$1.exec"
}
untouched() {
    vt "$(sock_of "$1")" tpm2_pcrread sha256:8,9,10 >pcrs.txt || fail "pcrread $1"
    [ "$(grep -c 0x0000000000000000000000000000000000000000000000000000000000000000 pcrs.txt)" -eq 3 ] ||
        { cat pcrs.txt >&2; fail "$2: PCRs 8-10 of vTPM $1 changed"; }
}
own() { create_vtpm --owner 1000:1000 || fail "create vTPM"; }

# ---- one-shot hook: attested, bound, used from inside ----
V1=$(own)
bundle one "$V1"
started one
in_ctr one tpm || fail "the attested container cannot use its vTPM (exit $?): $(cat one.exec)"
in_ctr one ctrl || fail "the attested container: its vTPM's control channel refused"
[ "$("$BIN/vtpmctl" info "$V1" | json bound)" = True ] || fail "vTPM $V1 not reported bound"
ok "one-shot hook: the container's own vTPM (read-only bind) is bound to it and used from inside"

# A container not attested with V1, same uid, same bind: vtpm-mgr refuses it.
bundle other "$V1" "" none
CTRS="$CTRS $ID-other"
edit other/config.json "c['process']['args'] = ['/bin/sockpeer', 'tpm', '/run/vtpm/tpm.sock']"
r=0; timeout 30 runc run --bundle other "$ID-other" </dev/null >other.out 2>&1 || r=$?
[ $r -eq 3 ] || { cat other.out >&2; fail "unbound container on vTPM $V1: exit $r (3 = refused)"; }
grep -q "vtpm $V1: refused data peer" mgr.log || fail "the refusal is not in vtpm-mgr's log"
in_ctr one tpm || fail "the bound container lost its vTPM"
ok "a container not attested with the vTPM is refused on it (exit 3), the bound one is not"

# ---- the launch policy: exactly the container's own directory, read-only ----
V2=$(own)
bundle rw "$V2" "[m.update(options=['bind']) for m in c['mounts'] if m['destination'] == '/run/vtpm']"
denied rw "host-mount-own-vtpm-writable:$RUN/vtpm/$V2"
V3=$(own)
bundle another "$V3" "[m.update(source='$RUN/vtpm/$V1') for m in c['mounts']
    if m['destination'] == '/run/vtpm']"
denied another "host-mount-vtpm-mgr:$RUN/vtpm/$V1"
V4=$(own)
bundle vtpmdir "$V4" "[m.update(source='$RUN/vtpm') for m in c['mounts']
    if m['destination'] == '/run/vtpm']"
denied vtpmdir "host-mount-vtpm-mgr:$RUN/vtpm"
V5=$(own)
bundle mgrdir "$V5" "c['mounts'].append({'destination': '/mgr', 'source': '$RUN',
    'options': ['bind', 'ro']})"
denied mgrdir "host-mount-vtpm-mgr:$RUN"
ok "denied: a writable bind of the own vTPM directory, another vTPM's, vtpm/, the run dir"

# ---- a bind that fails fails the start, nothing extended: the state's pid is a zombie (its
# /proc entry is there, its mount namespace is not: vtpm-mgr cannot open it).
V6=$(own)
bundle dead "$V6"
rm -f zpid
# (python: a shell may reap its finished background child before its exec, which once left no
# zombie here)
python3 -c 'import os
pid = os.fork()
if pid == 0:
    os._exit(0)
with open("zpid", "w") as f:
    f.write(str(pid))
os.execvp("sleep", ["sleep", "30"])' &
ZPARENT=$!
stop_zombie() { stop_pid "$ZPARENT" 10 || true; }
at_exit stop_zombie
i=0
until [ -s zpid ] && grep -q '^State:.*Z' "/proc/$(cat zpid)/status" 2>/dev/null; do
    i=$((i + 1)); [ $i -lt 100 ] || fail "no zombie process"; sleep 0.1
done
DEAD=$(cat zpid)
printf '{"ociVersion": "1.0.2", "id": "%s-dead", "status": "creating", "pid": %s, "bundle": "%s"}' \
    "$ID" "$DEAD" "$T/dead" >dead.state
if "$AGENT" hook --verifier "$URL" --run-dir "$RUN" --timeout 5 --agent-socket '' \
    --bind-dir "$BIND" --runtime "$(command -v runc)" <dead.state >dead.out 2>dead.err; then
    fail "the hook allowed a container whose vTPM could not be bound"
fi
grep -q "vtpm-mgr cannot bind vTPM $V6 to the container (pid $DEAD)" dead.err ||
    { cat dead.err >&2; fail "bind failure: no clear error"; }
untouched "$V6" "failed bind"
V7=$(own)
bundle dead2 "$V7" "" service
sed "s|$T/dead|$T/dead2|" dead.state >dead2.state
if "$HOOK" --verifier "$URL" --run-dir "$RUN" --timeout 5 --agent-socket "$SOCK" \
    --bind-dir "$BIND" <dead2.state >dead2.out 2>dead2.err; then
    fail "the service allowed a container whose vTPM could not be bound"
fi
grep -q "vtpm-mgr cannot bind vTPM $V7 to the container" dead2.err ||
    { cat dead2.err >&2; fail "service, bind failure: no clear error"; }
untouched "$V7" "failed bind through the service"
stop_zombie
ok "a failed bind fails the start with the reason (hook and service); nothing extended"

# ---- the service path: bound and used; kept across a vtpm-mgr crash (vtpm-mgr restores
# its bindings), and bound again by the service when vtpm-mgr lost them ----
V8=$(own)
bundle svc "$V8" "" service
started svc
in_ctr svc tpm || fail "service path: the container cannot use its vTPM: $(cat svc.exec)"
ok "service: the container's own vTPM is bound to it and used from inside"
stop_mgr_kill
start_mgr
in_ctr svc tpm || fail "after a vtpm-mgr crash the binding was not restored: $(cat svc.exec)"
ok "after a vtpm-mgr crash vtpm-mgr restores the binding (the container keeps its vTPM)"
stop_mgr_kill
rm -f "$RUN/workers/bindings" # vtpm-mgr's record of bindings lost
start_mgr
r=0; in_ctr svc tpm || r=$?
[ $r -eq 3 ] || [ $r -eq 0 ] || fail "after the restart: exit $r"
i=0
until in_ctr svc tpm; do
    i=$((i + 1)); [ $i -lt 100 ] || { cat ad.log >&2; fail "not bound again within 10 s"; }
    sleep 0.1
done
grep -q "container $ID-svc: vTPM $V8 was bound to no container" ad.log ||
    fail "the service did not log the new binding"
ok "when vtpm-mgr lost its bindings the service binds the container's vTPM again"

# ---- a verifier "refused" answer (evidence from another vTPM for a running container's id)
V9=$(own)
bundle refused "$V9" "c['hooks']['createRuntime'][0]['args'][-1] = '$T/bind2'
# its own cgroup: the running container of the same id keeps its cgroup
c['linux']['cgroupsPath'] = '/cbind-refused-$$'"
CTRS2="$ID-one"
if timeout 30 runc --root "$ROOT2" run -d --bundle refused "$ID-one" </dev/null >refused.out \
    2>refused.err; then fail "refused: the container started"; fi
grep -q "refused by the verifier.*container-vtpm-mismatch" refused.err 2>/dev/null ||
    { cat refused.err >&2; fail "refused: the verifier's reasons not printed as a refusal"; }
ok "a verifier refusal is a deny with its reasons"
echo "t_agent_ctrbind: all passed"
