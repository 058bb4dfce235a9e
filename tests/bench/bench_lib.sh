# SPDX-License-Identifier: BSD-3-Clause
# Shared by the verifier benchmarks (bench_scale.sh, bench_threads.sh, bench_fleet.sh), sourced
# after tests/integration/lib.sh: named verifier instances, and evidence made ahead of a run.

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

# make_evidence NAME TAG URLS LIMIT: CONC fresh vTPMs (named TAG-NAME-J), each registered at
# URLS and quoting TOTAL nonces issued there, in parallel (one bench_evidence process per vTPM,
# LIMIT seconds at most). The files of vTPM J are ev/NAME/NAME-vJ-00000.cbor ... in quote
# order. Uses CONC, TOTAL, BE, RUN, RUNTIME, the bundle directory and create_vtpm.
MAKE_PIDS=""
stop_makers() {
    for p in $MAKE_PIDS; do stop_pid "$p" 20 || true; done
    MAKE_PIDS=""
}
at_exit stop_makers
make_evidence() {
    mkdir -p "ev/$1"
    _me_j=0
    while [ $_me_j -lt "$CONC" ]; do
        _me_u=$(create_vtpm --name "$2-$1-$_me_j") || fail "vtpmctl create"
        timeout "$4" "$BE" make --verifier "$3" --run-dir "$RUN" --vtpm "$_me_u" \
            --bundle bundle --runtime "$RUNTIME" --count "$TOTAL" --out "ev/$1/$1-v$_me_j-" \
            >"make-$1-$_me_j.log" 2>&1 &
        MAKE_PIDS="$MAKE_PIDS $!"
        _me_j=$((_me_j + 1))
    done
    for p in $MAKE_PIDS; do
        wait "$p" || { cat make-"$1"-*.log >&2; fail "bench_evidence make ($1)"; }
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
