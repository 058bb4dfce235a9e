# SPDX-License-Identifier: BSD-3-Clause
# Shared pieces of the attestation tests and benchmark (sourced after lib.sh): a busybox
# bundle that passes the default policy, a policy allowing it, the verifier service, the agent
# service, and the runc containers a script started, all stopped at exit.
VF=$BIN/verifier
AGENT=$BIN/attest-agent
VF_PID=
AD_PID=
CTRS=""

stop_ad() { stop_pid "$AD_PID" 100 || true; AD_PID=; }
remove_ctrs() {
    for c in $CTRS; do timeout 10 runc delete -f "$c" >/dev/null 2>&1 || true; done
    CTRS=""
}
at_exit remove_ctrs
at_exit stop_ad
at_exit stop_vf

# edit FILE PYTHON: applies a Python statement to the JSON document `c` in FILE.
edit() {
    python3 -c 'import json,sys
f=sys.argv[1]; c=json.load(open(f))
exec(sys.argv[2])
json.dump(c, open(f, "w"), indent=1)' "$1" "$2"
}

# The system calls the default policy's seccomp rule wants blocked (the agent's own list,
# `attest-agent dangerous-syscalls`), as a JSON list: a default-allow profile with these as
# ERRNO passes it.
DANGEROUS_SYSCALLS=$("$AGENT" dangerous-syscalls) && [ -n "$DANGEROUS_SYSCALLS" ] ||
    fail "$AGENT dangerous-syscalls"

# base_bundle DIR: busybox rootfs, runc's spec hardened to pass the default policy: uid/gid
# 1000, every capability dropped, no_new_privs, runc's masked/readonly paths, read-only
# rootfs, memory limit, CPU shares, pids limit, seccomp blocking the dangerous set.
base_bundle() {
    mkdir -p "$1/rootfs/bin"
    cp "$(command -v busybox)" "$1/rootfs/bin/busybox"
    (cd "$1" && runc spec) || fail "runc spec"
    edit "$1/config.json" "
p = c['process']; p['terminal'] = False; p['args'] = ['/bin/busybox', 'sleep', '60']
p['user'] = {'uid': 1000, 'gid': 1000}; p['noNewPrivileges'] = True
p['capabilities'] = {k: [] for k in ('bounding', 'effective', 'permitted', 'ambient')}
r = c['linux'].setdefault('resources', {})
r['memory'] = {'limit': 64 * 1024 * 1024}; r['cpu'] = {'shares': 512}; r['pids'] = {'limit': 64}
c['linux']['seccomp'] = {'defaultAction': 'SCMP_ACT_ALLOW', 'architectures': ['SCMP_ARCH_X86_64'],
    'syscalls': [{'names': $DANGEROUS_SYSCALLS, 'action': 'SCMP_ACT_ERRNO'}]}"
}

# allow_bundle DIR POLICY [measure options]: the default policy plus the bundle's rootfs,
# runtime and agent digests as `attest-agent measure` reports them.
allow_bundle() {
    _ab_bundle=$1 _ab_pol=$2; shift 2
    "$AGENT" measure --bundle "$_ab_bundle" "$@" >m.json || fail "measure"
    "$VF" policy default >"$_ab_pol" || fail "policy default"
    "$VF" policy allow --policy "$_ab_pol" --rootfs-digest "$(json rootfs_digest <m.json)" \
        --runtime-digest "$(json runtime_digest <m.json)" \
        --agent-digest "$(json agent_digest <m.json)" || fail "policy allow"
}

# start_verifier POLICY TRUSTDIR [serve options]: `verifier serve` without TLS on a free
# loopback port; sets VF_PID and URL.
# attest_setup ID: the host TPM and vtpm-mgr started, then in $T a busybox bundle "base",
# trust/ holding the host TPM's EK CA and policy.json allowing base; ID is set for the test's
# container names.
attest_setup() {
    start_host_tpm
    start_mgr
    cd "$T" || fail "cd $T"
    ID=$1
    base_bundle base
    mkdir trust && cp "$HOST/ek-ca.pem" trust/ || fail "trust/"
    allow_bundle base policy.json
}

start_verifier() {
    rm -f port
    _sv_pol=$1 _sv_trust=$2; shift 2
    "$VF" serve --listen 127.0.0.1:0 --port-file port --db "sqlite:$T/vf.db" --policy "$_sv_pol" \
        --trust "$_sv_trust" --insecure-no-tls "$@" >>vf.log 2>&1 &
    VF_PID=$!
    wait_verifier
    URL=http://127.0.0.1:$PORT
}

# start_agentd SOCKET LOG [serve options]: the agent service; sets AD_PID once it listens
# (within AGENTD_START_S seconds, 15 unless set: the service fills its pool first).
start_agentd() {
    _sa_sock=$1 _sa_log=$2; shift 2
    "$AGENT" serve --listen-socket "$_sa_sock" --verifier "$URL" --run-dir "$RUN" "$@" \
        >>"$_sa_log" 2>&1 &
    AD_PID=$!
    wait_socket "$_sa_sock" "$AD_PID" "$_sa_log" "agent service" $((${AGENTD_START_S:-15} * 10))
}
