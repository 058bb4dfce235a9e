# SPDX-License-Identifier: BSD-3-Clause
# Shared by the verifier benchmarks (bench_scale.sh, bench_threads.sh, bench_fleet.sh,
# bench_reattest.sh), sourced after tests/integration/lib.sh: named verifier instances, a
# measured bundle and its policy, and evidence made ahead of a run.

# start_instance_vf NAME SCHEME ARGS...: `$VF serve --listen 127.0.0.1:0 --port-file port-NAME ARGS`
# logging to vf-NAME.log, its PID added to INST_PIDS; once it listens, NAME_PID and
# NAME_URL (SCHEME://127.0.0.1:PORT) are set.
start_instance_vf() {
    _sv_n=$1 _sv_s=$2
    shift 2
    rm -f "port-$_sv_n"
    "$VF" serve --listen 127.0.0.1:0 --port-file "port-$_sv_n" "$@" >>"vf-$_sv_n.log" 2>&1 &
    eval "${_sv_n}_PID=$!"
    INST_PIDS="$INST_PIDS $!"
    _sv_i=0
    while [ ! -s "port-$_sv_n" ]; do
        _sv_i=$((_sv_i + 1)); [ $_sv_i -lt 100 ] || fail "verifier $_sv_n did not start"
        kill -0 "$(eval echo "\$${_sv_n}_PID")" 2>/dev/null ||
            { cat "vf-$_sv_n.log" >&2; fail "verifier $_sv_n exited"; }
        sleep 0.1
    done
    eval "${_sv_n}_URL=$_sv_s://127.0.0.1:$(cat "port-$_sv_n")"
}

# make_evidence NAME TAG URLS LIMIT [OPTION...]: CONC fresh vTPMs (named TAG-NAME-J), each
# registered at URLS and quoting TOTAL nonces issued there, in parallel (one `bench_evidence
# make` with the OPTIONs per vTPM, LIMIT seconds at most). The files of vTPM J are
# ev/NAME/NAME-vJ-00000.cbor ... in quote order. Uses CONC, TOTAL, BE, RUN, RUNTIME, the
# bundle directory and create_vtpm.
MAKE_PIDS=""
stop_makers() {
    for p in $MAKE_PIDS; do stop_pid "$p" 20 || true; done
    MAKE_PIDS=""
}
at_exit stop_makers
make_evidence() {
    _me_n=$1 _me_t=$2 _me_url=$3 _me_lim=$4
    shift 4
    mkdir -p "ev/$_me_n"
    _me_j=0
    while [ $_me_j -lt "$CONC" ]; do
        _me_u=$(create_vtpm --name "$_me_t-$_me_n-$_me_j") || fail "vtpmctl create"
        timeout "$_me_lim" "$BE" make --verifier "$_me_url" --run-dir "$RUN" --vtpm "$_me_u" \
            --bundle bundle --runtime "$RUNTIME" --count "$TOTAL" \
            --out "ev/$_me_n/$_me_n-v$_me_j-" "$@" >"make-$_me_n-$_me_j.log" 2>&1 &
        MAKE_PIDS="$MAKE_PIDS $!"
        _me_j=$((_me_j + 1))
    done
    for p in $MAKE_PIDS; do
        wait "$p" || { cat make-"$_me_n"-*.log >&2; fail "bench_evidence make ($_me_n)"; }
    done
    MAKE_PIDS=""
}

# files_of NAME SLOT: the slot's PER x CONC files of make_evidence, vTPM index varying
# fastest, so that file k goes to client k mod CONC and each client posts one vTPM's quotes in
# quote order (the verifier's TPM clock check, clock-rollback, wants exactly that).
files_of() {
    _fo_k=$(($2 * PER))
    while [ $_fo_k -lt $((($2 + 1) * PER)) ]; do
        _fo_j=0
        while [ $_fo_j -lt "$CONC" ]; do
            printf 'ev/%s/%s-v%d-%05d.cbor\n' "$1" "$1" "$_fo_j" "$_fo_k"
            _fo_j=$((_fo_j + 1))
        done
        _fo_k=$((_fo_k + 1))
    done
}

# cpu_ticks PID...: user + system clock ticks of the processes so far (fields 14 and 15 of
# /proc/PID/stat, counted after the command name, which may hold spaces); 0 for one gone.
cpu_ticks() {
    for _ct_p in "$@"; do cat "/proc/$_ct_p/stat" 2>/dev/null || true; done |
        awk '{ sub(/^.*\) /, ""); s += $12 + $13 } END { print s + 0 }'
}

# measured_policy: attest_lib.sh's busybox bundle at ./bundle measured as the hook would
# (RUNTIME set to runc), policy.json allowing exactly its digests, and trust/ holding the host
# TPM's EK CA ($HOST/ek-ca.pem). Uses BE and VF.
measured_policy() {
    base_bundle bundle
    RUNTIME=$(command -v runc)
    "$BE" measure --bundle bundle --runtime "$RUNTIME" >m.json || fail "bench_evidence measure"
    "$VF" policy default >policy.json || fail "policy default"
    "$VF" policy allow --policy policy.json --rootfs-digest "$(json rootfs_digest <m.json)" \
        --runtime-digest "$(json runtime_digest <m.json)" \
        --agent-digest "$(json agent_digest <m.json)" || fail "policy allow"
    mkdir -p trust && cp "$HOST/ek-ca.pem" trust/
}
