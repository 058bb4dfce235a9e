#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Re-attestation benchmark (issue 10): per re-attestation interval of N live containers, the
# host-TPM signatures and the verifier's CPU per container re-attestation, node mode against
# quote mode, measured side by side in one run; prints a markdown section on stdout
# (tests/bench/run.sh adds it to docs/benchmarks.md).
# Alone:  sh tests/bench/bench_reattest.sh [BUILD_DIR] >section.md
# Tunables (environment): BENCH_REATTEST_N (containers re-attested per interval, default 1000,
# a multiple of BENCH_REATTEST_VTPMS), BENCH_REATTEST_VTPMS (real vTPMs standing in for them,
# default 4: each quotes N / VTPMS times per interval), BENCH_REATTEST_ROUNDS (intervals per
# mode, default 5).
VTPM_BUILD=$(cd "${1:-build}" && pwd)
export VTPM_BUILD
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/bench_lib.sh"
set -eu
N=${BENCH_REATTEST_N:-1000}
V=${BENCH_REATTEST_VTPMS:-4}
ROUNDS=${BENCH_REATTEST_ROUNDS:-5}
NODE=reattest-node
MODES="node quote"

say() { echo "bench_reattest: $*" >&2; }
calc() { awk "BEGIN { printf \"%$1\", $2 }"; }
[ $((N % V)) -eq 0 ] || fail "BENCH_REATTEST_N ($N) is not a multiple of BENCH_REATTEST_VTPMS ($V)"
[ "$ROUNDS" -ge 1 ] || fail "BENCH_REATTEST_ROUNDS must be at least 1"
PER=$((N / V)) # evidence per vTPM and interval
CONC=$V TOTAL=$((ROUNDS * PER)) # make_evidence, files_of (bench_lib.sh)

# A private copy of the binaries: a concurrent `make` must not relink them under us.
mkdir -p "$T/build/bin" "$T/build/tests"
for f in bin/vtpm-mgr bin/vtpm-mgr-worker bin/vtpmctl bin/verifier bin/verifier-serve bin/attest-agent bin/slowtpm \
    tests/bench_evidence; do
    [ -x "$VTPM_BUILD/$f" ] || fail "$VTPM_BUILD/$f missing (make all)"
    cp "$VTPM_BUILD/$f" "$T/build/$f"
done
BUILD=$T/build
BIN=$BUILD/bin
BE=$BUILD/tests/bench_evidence
. "$ROOT/tests/integration/attest_lib.sh" # base_bundle

# The host TPM behind the counting proxy, without delays (docs/slowtpm.md).
export SLOW_TPM=none SLOWTPM="$BIN/slowtpm"

VF_PID=
stop_vf() { [ -z "$VF_PID" ] || stop_pid "$VF_PID" 50 || true; }
at_exit stop_vf

# counts KEY: signatures, or a command's count, from the proxy's counts.
counts() {
    python3 -c 'import json,sys; c=json.load(open(sys.argv[1]))
k=sys.argv[2]; print(c["signatures"] if k == "signatures" else c["commands"].get(k, 0))' \
        "$HOST/counts" "$1"
}

setup() {
    measured_policy
    rm -f port
    "$VF" serve --listen 127.0.0.1:0 --port-file port --db "sqlite:$T/vf.db" --policy policy.json \
        --trust trust --insecure-no-tls --nonce-ttl 3600 --reattest-interval 3600 >>vf.log 2>&1 &
    VF_PID=$!
    wait_verifier
    URL=http://127.0.0.1:$PORT
}

# make_mode MODE: V fresh vTPMs, each quoting ROUNDS x PER nonces of the verifier, in parallel;
# node: evidence naming the node; quote: with a host quote over each nonce. Host-TPM
# signatures while making them go to sig.MODE.
make_mode() {
    case $1 in node) opt="--node $NODE" ;; quote) opt="--host-quote $NODE" ;; esac
    s0=$(counts signatures)
    # shellcheck disable=SC2086 # opt is two words
    make_evidence "$1" re "$URL" 600 $opt
    echo $(($(counts signatures) - s0)) >"sig.$1"
}

# host_evidence ROUND: the node step of one interval, as the agent service does it: a nonce,
# `attest-agent host-evidence` (one host quote), kept for POST /v1/hosts/evidence.
host_evidence() {
    nonce=$(curl -sf "$URL/v1/nonce" | json nonce) || fail "GET /v1/nonce"
    s0=$(counts signatures)
    "$BIN/attest-agent" host-evidence --nonce "$nonce" --out "host-$1.cbor" --run-dir "$RUN" \
        --node-name "$NODE" --uefi-log '' --kmod-log '' 2>>host-ev.log || fail "attest-agent host-evidence"
    echo $(($(counts signatures) - s0)) >>sig.host
}


# run_one MODE ROUND: one interval's re-attestations; appends "ticks N checks_per_s" to res.MODE.
run_one() {
    t0=$(cpu_ticks "$VF_PID")
    if [ "$1" = node ]; then
        curl -sf -X POST -H 'Content-Type: application/cbor' --data-binary "@host-$2.cbor" \
            "$URL/v1/hosts/evidence" >"host-$2.json" || fail "POST /v1/hosts/evidence (round $2)"
        [ "$(json verdict <"host-$2.json")" = allow ] || { cat "host-$2.json" >&2; fail "node verdict not allow"; }
    fi
    # shellcheck disable=SC2046 # file names without spaces
    timeout 300 "$BE" "$URL" "$V" $(files_of "$1" "$2") >out.txt 2>err.txt ||
        { cat out.txt >&2; head -n 5 err.txt >&2; fail "$1 round $2: not every evidence was allowed"; }
    t1=$(cpu_ticks "$VF_PID")
    echo "$((t1 - t0)) $(awk '{ for (i = 1; i < NF; i++) if ($i == "checks_per_s") print $(i + 1) }' out.txt)" >>"res.$1"
    say "$1 round $2: $(cat out.txt)"
}

# check_records: the verifier judged the containers in the mode we meant: node-mode records
# name the node, and the host evidence of every interval reached it.
check_records() {
    curl -sf "$URL/v1/containers/node-v0-00000" >rec-node.json || fail "GET /v1/containers (node)"
    [ "$(json node <rec-node.json)" = "$NODE" ] || { cat rec-node.json >&2; fail "node-mode record without its node"; }
    [ "$(grep -c "host evidence of node $NODE" vf.log)" -ge "$ROUNDS" ] ||
        fail "the verifier logged fewer than $ROUNDS host evidence of $NODE"
}

median() { sort -n | awk '{ a[NR] = $1 } END { if (NR == 0) { print 0; exit }
    print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
# cpu_ms MODE: median over the rounds of verifier CPU ms per container re-attestation.
cpu_ms() { awk -v n="$N" -v hz="$(getconf CLK_TCK)" '{ print 1000 * $1 / hz / n }' "res.$1" | median; }
sum() { awk '{ s += $1 } END { print s + 0 }'; }
rate() { cut -d' ' -f2 "res.$1" | median; }

report() {
    hs=$(median <sig.host)
    qs=$(calc .0f "$(cat sig.quote) / $ROUNDS")
    ns=$(calc .0f "$(cat sig.node) / $ROUNDS") # container evidence of node mode: no host quote
    nt=$((ns + hs))
    cn=$(cpu_ms node)
    cq=$(cpu_ms quote)
    cat <<EOT

\`sh tests/bench/bench_reattest.sh build\` (BENCH_REATTEST_N=$N, BENCH_REATTEST_VTPMS=$V,
BENCH_REATTEST_ROUNDS=$ROUNDS). One interval = the re-attestation of $N live containers. The
containers' agents are simulated: $V real vTPMs of this run's vtpm-mgr per mode (fresh, AK
registered by credential activation, the busybox bundle measured into PCRs 8-10) each quote
$PER verifier nonces per interval (\`bench_evidence make\`, tests/tools/bench_evidence.c: one
TPM2_Quote per container evidence, a new container id each); so the verifier checks $N
distinct pieces of evidence per interval, but from $V vTPMs, not $N. Node mode: the
evidence names node \`$NODE\` (\`--node\`); per interval the host step is
\`attest-agent host-evidence\` (one host quote) posted to \`POST /v1/hosts/evidence\` before
the containers. Quote mode: every container evidence carries a host part quoted by the host
TPM over its own nonce (\`--host-quote\`, the agent's \`--host-evidence quote\`). No UEFI or
kmod-vtpm log in either host part (no \`--boot-policy\`). Host TPM: swtpm behind the counting
proxy (\`SLOW_TPM=none\`, docs/slowtpm.md), signatures counted by it while the evidence was
made ($(cat sig.quote) signatures for the quote mode's $ROUNDS intervals, $(cat sig.node) for the
node mode's container evidence, $(sum <sig.host) for its $ROUNDS host steps). Verifier: one \`verifier serve\` on SQLite, plain HTTP on 127.0.0.1; load:
\`bench_evidence URL $V FILES\` ($V threads, kept-alive connections). Verifier CPU =
user + system time of the verifier process (/proc/PID/stat) over an interval's posts (in node
mode the host evidence included) / $N; median of $ROUNDS intervals per mode, modes
alternating interval by interval. Every answer was \`allow\`. Machine: $(nproc) cores
($(grep -m1 '^model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), shared with other
work), $(date -u '+%Y-%m-%d %H:%M UTC'); evidence made in $GEN_S s.

| per interval of $N containers | node mode | quote mode | quote / node |
|---|---|---|---|
| host-TPM signatures per interval | $nt ($hs host step + $ns in container evidence) | $qs | $(calc .0f "$qs / ($nt > 0 ? $nt : 1)")x |
| verifier CPU ms per container re-attestation (median) | $(calc .3f "$cn") | $(calc .3f "$cq") | $(calc .2f "$cq / $cn")x |
| checks/s (median) | $(calc .0f "$(rate node)") | $(calc .0f "$(rate quote)") | |

Host-TPM signatures per interval do not depend on N in node mode (one host quote per node)
and grow as N in quote mode; with the agents simulated, the vTPM quotes ($N per interval in
both modes, on the vTPMs, not the host TPM) are not in these counts.
EOT
}

main() {
    for tool in runc busybox curl python3; do
        command -v "$tool" >/dev/null 2>&1 || fail "$tool not found (run swtpm-ci/install-deps.sh)"
    done
    start_host_tpm
    [ -f "$HOST/counts" ] || fail "no $HOST/counts: the counting proxy did not start"
    start_mgr
    cd "$T"
    setup
    t0=$(date +%s)
    for m in $MODES; do make_mode "$m"; done
    GEN_S=$(($(date +%s) - t0))
    say "evidence made in $GEN_S s; signatures: node $(cat sig.node), quote $(cat sig.quote)"
    : >sig.host
    r=0
    while [ $r -lt "$ROUNDS" ]; do host_evidence "$r"; r=$((r + 1)); done
    : >res.node; : >res.quote
    r=0
    while [ $r -lt "$ROUNDS" ]; do
        if [ $((r % 2)) -eq 0 ]; then run_one node "$r"; run_one quote "$r"
        else run_one quote "$r"; run_one node "$r"; fi
        r=$((r + 1))
    done
    check_records
    report >"$T/reattest.md"
    stop_vf
    VF_PID=
    stop_mgr
    cat "$T/reattest.md"
}

main
