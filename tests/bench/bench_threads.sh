#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Serving threads: attestations per second and latency of one `verifier serve` over HTTPS with
# mutual TLS on SQLite with --threads 1 against --threads 2, side by side in one run, under
# many concurrent clients posting real evidence; each client either keeps one connection or
# opens a new one (a full TLS handshake) per evidence, as a hook process does. Printed as a
# markdown section on stdout (tests/bench/run.sh adds it to docs/benchmarks.md).
# Alone:  sh tests/bench/bench_threads.sh [BUILD_DIR] >section.md
# Tunables (environment): BENCH_THREADS_ROUNDS (recorded rounds, default 3; a warm-up round
# comes first), BENCH_THREADS_PER (evidence per client and round, default 25),
# BENCH_THREADS_CONC (clients = vTPMs per instance, default 16).
VTPM_BUILD=$(cd "${1:-build}" && pwd)
export VTPM_BUILD
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/bench_lib.sh"
set -eu
ROUNDS=${BENCH_THREADS_ROUNDS:-3}
PER=${BENCH_THREADS_PER:-25}
CONC=${BENCH_THREADS_CONC:-16}
INSTANCES="t1 t2"          # the instances: --threads 1 and --threads 2
MODES="keep fresh"         # one kept-alive connection per client, or one per evidence
TOTAL=$(((ROUNDS + 1) * 2 * PER)) # evidence per vTPM: both modes, warm-up included
NCPU=$(nproc)

say() { echo "bench_threads: $*" >&2; }
calc() { awk "BEGIN { printf \"%$1\", $2 }"; }
[ "$ROUNDS" -ge 1 ] || fail "BENCH_THREADS_ROUNDS must be at least 1"

# A private copy of the binaries: a concurrent `make` must not relink them under us.
mkdir -p "$T/build/bin" "$T/build/tests"
for f in bin/vtpm-mgr bin/vtpm-mgr-worker bin/vtpmctl bin/verifier bin/verifier-serve bin/attest-agent \
    tests/bench_evidence; do
    [ -x "$VTPM_BUILD/$f" ] || fail "$VTPM_BUILD/$f missing (make all)"
    cp "$VTPM_BUILD/$f" "$T/build/$f"
done
BUILD=$T/build
BIN=$BUILD/bin
VF=$BIN/verifier
. "$ROOT/tests/integration/attest_lib.sh" # base_bundle
BE=$BUILD/tests/bench_evidence

INST_PIDS=""
stop_instances() {
    for p in $INST_PIDS; do stop_pid "$p" 50 || true; done
    INST_PIDS=""
}
at_exit stop_instances

# start_instance NAME THREADS: `verifier serve` with mutual TLS on its own SQLite file, nonces
# valid for the whole run (the evidence is made first); sets NAME_URL and NAME_PID.
start_instance() {
    _n=$1 _th=$2
    start_instance_vf "$_n" https --db "sqlite:$T/$_n.db" --policy policy.json --trust trust \
        --tls-cert server.pem --tls-key server.key --client-ca ca.pem --nonce-ttl 3600 \
        --threads "$_th" --max-connections-per-ip 256
}
url_of() { eval echo "\$$1_URL"; }
pid_of() { eval echo "\$$1_PID"; }

setup() {
    make_test_pki
    export BENCH_EVIDENCE_CA=$T/ca.pem BENCH_EVIDENCE_CERT=$T/client.pem \
        BENCH_EVIDENCE_KEY=$T/client.key
    measured_policy
    start_instance t1 1
    start_instance t2 2
}

# make_instance NAME: CONC fresh vTPMs registered at the instance, each quoting TOTAL nonces
# of it (one process per vTPM); files ev/NAME/NAME-vJ-00000.cbor ... in quote order.
make_instance() { make_evidence "$1" thr "$(url_of "$1")" 300; }



# machine_ticks: "busy total" clock ticks of all CPUs so far (/proc/stat): the machine may be
# shared, and the report shows how busy it was besides this benchmark.
machine_ticks() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9 }' /proc/stat; }

# run_one NAME MODE ROUND: appends "ROUND <bench_evidence's line> vf_ticks V m_busy B m_total T"
# to res.NAME.MODE.
run_one() {
    slot=$((2 * $3 + $([ "$2" = fresh ] && echo 1 || echo 0)))
    c0=$(cpu_ticks "$(pid_of "$1")")
    m0=$(machine_ticks)
    # shellcheck disable=SC2046 # the slot's file names have no spaces
    BENCH_EVIDENCE_FRESH=$([ "$2" = fresh ] && echo 1 || echo 0) \
        timeout 300 "$BE" "$(url_of "$1")" "$CONC" $(files_of "$1" "$slot") >out.txt 2>err.txt ||
        { cat out.txt err.txt >&2; tail -n 20 "vf-$1.log" >&2; fail "$1 $2 round $3: not every evidence was allowed"; }
    c1=$(cpu_ticks "$(pid_of "$1")")
    mt=$(echo "$m0 $(machine_ticks)" | awk '{ print "m_busy", $3 - $1, "m_total", $4 - $2 }')
    echo "$3 $(cat out.txt) vf_ticks $((c1 - c0)) $mt" >>"res.$1.$2"
    say "$1 $2 round $3: $(cat out.txt)"
}

# Rounds alternate the instances and the modes, the order turned every round.
run_rounds() {
    r=0
    while [ $r -le "$ROUNDS" ]; do
        for m in $MODES; do
            if [ $((r % 2)) -eq 0 ]; then order="t1 t2"; else order="t2 t1"; fi
            for i in $order; do run_one "$i" "$m" "$r"; done
        done
        r=$((r + 1))
    done
}

col() { awk -v k="$2" '$1 > 0 { for (i = 2; i < NF; i++) if ($i == k) print $(i + 1) }' "res.$1"; }
median() { sort -n | awk '{ a[NR] = $1 } END { if (NR == 0) { print 0; exit }
    print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
sum() { awk '{ s += $1 } END { print s + 0 }'; }

# per_check NAME.MODE: verifier CPU ms per attestation over the recorded rounds.
per_check() {
    calc .2f "1000 * $(col "$1" vf_ticks | sum) / $(getconf CLK_TCK) / $(col "$1" n | sum)"
}
row() { # NAME MODE LABEL
    rate=$(col "$1.$2" checks_per_s | median)
    base=$(col "t1.$2" checks_per_s | median)
    lo=$(col "$1.$2" checks_per_s | sort -n | head -n 1)
    hi=$(col "$1.$2" checks_per_s | sort -n | tail -n 1)
    busy=$(calc .0f "100 * $(col "$1.$2" m_busy | sum) / $(col "$1.$2" m_total | sum)")
    echo "| $3 | $(calc .0f "$rate") | $(calc .0f "$lo") - $(calc .0f "$hi") | $(calc .2f "$(col "$1.$2" p50_ms | median)") | $(calc .2f "$(col "$1.$2" p99_ms | median)") | $(calc .2f "$rate / $base")x | $(per_check "$1.$2") | $busy% |"
}

report() {
    allowed=$(for i in $INSTANCES; do for m in $MODES; do col "$i.$m" allow; done; done | sum)
    cat <<EOF

### Serving threads: --threads 1 vs 2, HTTPS with mutual TLS, SQLite

\`sh tests/bench/bench_threads.sh build\` (tests/bench/bench_threads.sh; BENCH_THREADS_ROUNDS=$ROUNDS,
BENCH_THREADS_PER=$PER, BENCH_THREADS_CONC=$CONC), on this machine's $NCPU cores. Two \`verifier
serve\` instances, each on its own SQLite file (WAL, \`synchronous=FULL\`), HTTPS with mutual TLS
(EC P-256 server and client certificates, TLS 1.3 by GnuTLS), measured side by side: one with
\`--threads 1\` (one serving thread: the service before issue 11), one with \`--threads 2\`.
Evidence: $CONC vTPMs of this run's vtpm-mgr per instance, registered there by credential
activation, quoting nonces of that instance over the busybox bundle's PCRs 8-10 (as in "Scale-out"
above), all made before the rounds by \`bench_evidence make\`. Load: \`bench_evidence URL $CONC
FILES\` over HTTPS: $CONC client threads, each posting one vTPM's quotes in quote order, either on
one kept-alive connection per client ("keep") or on a new connection, with a full TLS handshake
and no session resumption, for every evidence ("new": \`BENCH_EVIDENCE_FRESH=1\`, as each hook
process of a container start connects anew). attestations/s = evidence / wall time of a run;
p50 and p99 of one POST (connect and handshake included). One warm-up round, then $ROUNDS rounds of
$((PER * CONC)) attestations per instance and mode, instances alternating, their order turned every
round; medians over the rounds. Every answer was \`allow\` ($allowed recorded). Verifier CPU:
user + system time of the instance (/proc/PID/stat) per attestation. The client runs on the
same $NCPU cores. "machine busy": the busy share of all CPUs during that configuration's runs
(/proc/stat), whatever ran; the load average when the rounds began was $LOAD.

| configuration | attestations/s | range of rounds | p50 ms | p99 ms | vs --threads 1 | verifier CPU ms per attestation | machine busy |
|---|---|---|---|---|---|---|---|
$(row t1 keep "--threads 1, keep-alive")
$(row t2 keep "--threads 2, keep-alive")
$(row t1 fresh "--threads 1, new connection each")
$(row t2 fresh "--threads 2, new connection each")
EOF
}

main() {
    for tool in runc busybox curl python3 setpriv openssl; do
        command -v "$tool" >/dev/null 2>&1 || fail "$tool not found (run swtpm-ci/install-deps.sh)"
    done
    start_host_tpm
    start_mgr
    cd "$T"
    setup
    t0=$(date +%s)
    for i in $INSTANCES; do make_instance "$i"; done
    say "evidence made in $(($(date +%s) - t0)) s"
    LOAD=$(cut -d' ' -f1-3 /proc/loadavg)
    run_rounds
    report >"$T/threads.md"
    stop_instances
    cat "$T/threads.md"
}
main
