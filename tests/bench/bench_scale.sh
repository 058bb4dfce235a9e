#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Verifier scale-out benchmark: evidence checks per second of `verifier serve` with one and
# two instances on one PostgreSQL database against one instance on SQLite, measured side by
# side in one run, printed as a markdown section on stdout (tests/bench/run.sh adds it to
# docs/benchmarks.md). Alone:  sh tests/bench/bench_scale.sh [BUILD_DIR] >section.md
# Tunables (environment): BENCH_SCALE_ROUNDS (recorded rounds, default 5; one more warm-up
# round comes first), BENCH_SCALE_N (evidence per configuration and round, default 600, a
# multiple of BENCH_SCALE_CONC), BENCH_SCALE_CONC (client threads = vTPMs per configuration,
# default 4).
VTPM_BUILD=$(cd "${1:-build}" && pwd)
export VTPM_BUILD
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/bench_lib.sh"
set -eu
ROUNDS=${BENCH_SCALE_ROUNDS:-5}
N=${BENCH_SCALE_N:-600}
CONC=${BENCH_SCALE_CONC:-4}
# pg2async: the pair again, on a database with synchronous_commit off (not durable): how
# much of the durable numbers is waiting for WAL flushes. A reference, not a deployment.
CONFIGS="sqlite pg1 pg2 pg2async"
NCONF=4
NCPU=$(nproc)

say() { echo "bench_scale: $*" >&2; }
calc() { awk "BEGIN { printf \"%$1\", $2 }"; }
[ $((N % CONC)) -eq 0 ] || fail "BENCH_SCALE_N ($N) is not a multiple of BENCH_SCALE_CONC ($CONC)"
[ "$ROUNDS" -ge 1 ] || fail "BENCH_SCALE_ROUNDS must be at least 1"
PER=$((N / CONC))                # evidence per vTPM and round
TOTAL=$(((ROUNDS + 1) * PER))    # evidence per vTPM, warm-up round included

# A private copy of the binaries: a concurrent `make` must not relink them under us.
mkdir -p "$T/build/bin" "$T/build/tests"
for f in bin/vtpm-mgr bin/vtpm-mgr-worker bin/vtpmctl bin/verifier bin/verifier-serve bin/attest-agent \
    tests/bench_evidence; do
    [ -x "$VTPM_BUILD/$f" ] || fail "$VTPM_BUILD/$f missing (make all)"
    cp "$VTPM_BUILD/$f" "$T/build/$f"
done
BUILD=$T/build
BIN=$BUILD/bin
. "$ROOT/tests/integration/attest_lib.sh" # base_bundle, edit
. "$ROOT/tests/integration/pg_lib.sh"
BE=$BUILD/tests/bench_evidence

# --- verifier instances ----------------------------------------------------------------------

INST_PIDS=""
stop_instances() {
    for p in $INST_PIDS; do stop_pid "$p" 50 || true; done
    INST_PIDS=""
}
at_exit stop_instances # registered before pg_init: the instances stop before the database

# start_instance NAME DB: `verifier serve` without TLS on a free loopback port, nonces valid
# for the whole run (the evidence is made before the rounds); sets NAME_URL and NAME_PID.
start_instance() {
    _n=$1 _db=$2
    start_instance_vf "$_n" http --db "$_db" --policy policy.json --trust trust --insecure-no-tls \
        --nonce-ttl 3600
}

# The URLs (comma-separated) and PIDs of a configuration.
urls_of() {
    case $1 in
        sqlite) echo "$S_URL" ;; pg1) echo "$P_URL" ;; pg2) echo "$A_URL,$B_URL" ;;
        pg2async) echo "$X_URL,$Y_URL" ;; *) fail "no configuration $1" ;;
    esac
}
pids_of() {
    case $1 in
        sqlite) echo "$S_PID" ;; pg1) echo "$P_PID" ;; pg2) echo "$A_PID $B_PID" ;;
        pg2async) echo "$X_PID $Y_PID" ;; *) fail "no configuration $1" ;;
    esac
}

# setup: policy for the measured bundle, a PostgreSQL cluster with one database for the single
# instance, one shared by the pair and one for the pair without durable commits, and all six
# instances (idle ones cost no CPU).
setup() {
    measured_policy
    pg_init
    pg_createdb one
    pg_createdb two
    pg_createdb async
    psql -q -h "$PG/sock" -U postgres -d postgres \
        -c "ALTER DATABASE async SET synchronous_commit = off" || fail "psql ALTER DATABASE"
    [ "$(psql -At -h "$PG/sock" -U postgres -d async -c "SHOW synchronous_commit")" = off ] ||
        fail "synchronous_commit is not off in database async"
    start_instance S "sqlite:$T/vf.db"
    start_instance P "$(pg_url one)"
    start_instance A "$(pg_url two)"
    start_instance B "$(pg_url two)"
    start_instance X "$(pg_url async)"
    start_instance Y "$(pg_url async)"
}

# --- the evidence ----------------------------------------------------------------------------

# make_config CONFIG: CONC fresh vTPMs, each registered at the configuration's database and
# quoting TOTAL nonces issued by its instances, in parallel (one process per vTPM). The files
# of vTPM j are ev/CONFIG/CONFIG-vJ-00000.cbor ... in quote order.
make_config() { make_evidence "$1" scale "$(urls_of "$1")" 120; }

make_all() {
    t0=$(date +%s%N)
    for c in $CONFIGS; do make_config "$c"; done
    GEN_S=$(awk "BEGIN { printf \"%.1f\", ($(date +%s%N) - $t0) / 1e9 }")
    GEN_N=$(find ev -name '*.cbor' | wc -l)
    [ "$GEN_N" -eq $((NCONF * CONC * TOTAL)) ] ||
        fail "$GEN_N evidence files, want $((NCONF * CONC * TOTAL))"
    GEN_KB=$(calc .1f "$(wc -c <ev/sqlite/sqlite-v0-00000.cbor) / 1024")
    say "$GEN_N evidence files in $GEN_S s"
}

# --- the rounds ------------------------------------------------------------------------------

pg_pids() { echo "$PG_PID $(pgrep -P "$PG_PID" | tr '\n' ' ')"; }
# machine_ticks: "busy total iowait" clock ticks of all CPUs so far (/proc/stat): the machine
# is shared, so the report shows how busy it was besides our processes.
machine_ticks() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9, $6 }' /proc/stat; }

# sample CONFIG: "instance-ticks postgres-ticks machine-busy machine-total machine-iowait".
sample() {
    # shellcheck disable=SC2046 # word lists of PIDs
    echo "$(cpu_ticks $(pids_of "$1")) $(cpu_ticks $(pg_pids)) $(machine_ticks)"
}

# run_one CONFIG ROUND: one load run; appends "ROUND <bench_evidence's line> vf_ticks V
# db_ticks D m_busy B m_total T m_iowait W" to res.CONFIG (warm-up round 0 included, dropped
# by the report).
run_one() {
    s0=$(sample "$1")
    # shellcheck disable=SC2046 # the round's file names have no spaces
    timeout 120 "$BE" "$(urls_of "$1")" "$CONC" $(files_of "$1" "$2") >out.txt 2>err.txt ||
        { cat out.txt err.txt >&2; fail "$1 round $2: not every evidence was allowed"; }
    s1=$(sample "$1")
    d=$(echo "$s0 $s1" | awk '{ print "vf_ticks", $6 - $1, "db_ticks", $7 - $2, "m_busy", $8 - $3,
        "m_total", $9 - $4, "m_iowait", $10 - $5 }')
    echo "$2 $(cat out.txt) $d" >>"res.$1"
    say "$1 round $2: $(cat out.txt)"
}

# Rounds alternate the configurations, the order rotated every round, so that a slow phase
# of the machine hits each of them.
run_rounds() {
    r=0
    while [ $r -le "$ROUNDS" ]; do
        # shellcheck disable=SC2086 # the list of configurations
        set -- $CONFIGS
        i=0
        while [ $i -lt $((r % NCONF)) ]; do c=$1; shift; set -- "$@" "$c"; i=$((i + 1)); done
        for c in "$@"; do run_one "$c" "$r"; done
        r=$((r + 1))
    done
}

# self_test: the client must see a deny: a file of the last round posted again is answered
# nonce-reused, so bench_evidence has to exit 1 and count it (the allows above are not
# an artefact of how answers are counted).
self_test() {
    f=$(files_of sqlite "$ROUNDS" | tail -n 1)
    set +e
    "$BE" "$S_URL" 1 "$f" >self.txt 2>self.err
    rc=$?
    set -e
    [ $rc -eq 1 ] && grep -q ' allow 0 deny 1 error 0 ' self.txt && grep -q nonce-reused self.err ||
        { cat self.txt self.err >&2; fail "bench_evidence did not report a replayed evidence as a deny"; }
}

# log_notes: warning and error lines of the instances, for the report.
log_notes() {
    # The start-up warning about a missing --boot-policy is expected here: no host part is sent.
    cat vf-*.log | grep -iE 'error|warn' | grep -v -- '--boot-policy' >notes.txt || true
    [ ! -s notes.txt ] ||
        echo "Note: $(wc -l <notes.txt) warning/error lines in the verifier logs, first: \`$(head -n 1 notes.txt)\`."
}

# --- the report ------------------------------------------------------------------------------

# col CONFIG KEY: the values of KEY in the recorded rounds (round 0, the warm-up, left out).
col() {
    awk -v k="$2" '$1 > 0 { for (i = 2; i < NF; i++) if ($i == k) print $(i + 1) }' "res.$1"
}
median() { sort -n | awk '{ a[NR] = $1 } END { if (NR == 0) { print 0; exit }
    print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
sum() { awk '{ s += $1 } END { print s + 0 }'; }

# per_check CONFIG KEY: CPU milliseconds per check, all recorded rounds together.
per_check() {
    n=$(col "$1" n | sum)
    case $2 in
        cpu_s) t=$(col "$1" cpu_s | sum) ;;
        *) t=$(calc .6f "$(col "$1" "$2" | sum) / $(getconf CLK_TCK)") ;;
    esac
    calc .2f "1000 * $t / $n"
}

# util CONFIG: the share of all cores the client, the instances and PostgreSQL used together.
util() {
    w=$(col "$1" wall_s | sum)
    cs=$(col "$1" cpu_s | sum)
    tk=$(($(col "$1" vf_ticks | sum) + $(col "$1" db_ticks | sum)))
    calc .0f "100 * ($cs + $tk / $(getconf CLK_TCK)) / ($w * $NCPU)"
}
# machine CONFIG busy|iowait: that share of all CPU time of the machine during the runs.
machine() { calc .0f "100 * $(col "$1" "m_$2" | sum) / $(col "$1" m_total | sum)"; }

row() {
    rate=$(col "$1" checks_per_s | median)
    base=$(col sqlite checks_per_s | median)
    lo=$(col "$1" checks_per_s | sort -n | head -n 1)
    hi=$(col "$1" checks_per_s | sort -n | tail -n 1)
    db=$([ "$1" = sqlite ] && echo "(in the verifier)" || per_check "$1" db_ticks)
    echo "| $2 | $(calc .0f "$rate") | $(calc .0f "$lo") - $(calc .0f "$hi") | $(calc .2f "$(col "$1" p50_ms | median)") | $(calc .2f "$(col "$1" p99_ms | median)") | $(calc .2f "$rate / $base")x | $(per_check "$1" vf_ticks) / $db / $(per_check "$1" cpu_s) | $(util "$1")% / $(machine "$1" busy)% |"
}

report() {
    allowed=$(for c in $CONFIGS; do col "$c" allow; done | sum)
    conns=$(for c in $CONFIGS; do col "$c" connects; done | sort -n | tail -n 1)
    cat <<EOF

### Evidence checks/s: SQLite vs PostgreSQL, one and two instances

\`sh tests/bench/bench_scale.sh build\` (tests/bench/bench_scale.sh; BENCH_SCALE_ROUNDS=$ROUNDS,
BENCH_SCALE_N=$N, BENCH_SCALE_CONC=$CONC). \`verifier serve\` over plain HTTP on 127.0.0.1
(\`--insecure-no-tls\`, \`--nonce-ttl 3600\`) in three configurations measured side by side:
**1x SQLite** (one instance, \`sqlite:\` file: WAL, \`synchronous=FULL\`); **1x PostgreSQL** (one
instance on its own database); **2x PostgreSQL** (two instances on one shared database). One
PostgreSQL 15 server (Debian's, started by tests/integration/pg_lib.sh, Unix socket, default
durability: \`fsync\` and \`synchronous_commit\` on) holds every PostgreSQL database; the SQLite
file is on the same disk. For reference only, a fourth row: the pair again on a database with
\`synchronous_commit = off\` (not durable: a commit does not wait for its WAL flush).

Evidence: $CONC vTPMs of this run's vtpm-mgr per configuration, each with its AK registered by
credential activation at that configuration's database (and the host registered there); the
busybox bundle of t_e2e_runc.sh measured and extended into PCRs 8-10 (5 event-log records);
then per evidence one nonce issued by the configuration's instance (\`GET /v1/nonce\`; the
pair's in turn), a TPM2_Quote over it, no host part; $GEN_KB kB each. All $GEN_N files were made
before the rounds, in $GEN_S s, by \`bench_evidence make\` (tests/tools/bench_evidence.c: one
process per vTPM, ESAPI quotes, attest-agent's measurement and evidence encoder; the measured
agent is that tool, and the policy allows its digest). Load: \`bench_evidence URLS $CONC FILES\`:
$CONC threads, one kept-alive libcurl connection each (at most $conns new connections per run),
threads alternating between the instances of a pair; each thread posts the quotes of one vTPM in
quote order, as the verifier's per-vTPM TPM clock check (clock-rollback) requires. checks/s =
files / wall time of a run; latency = one POST (p50 and p99 of each run). One warm-up round,
then $ROUNDS rounds of $N checks per configuration, configurations taking turns, the order
rotated every round; medians over the rounds. Every answer was \`allow\` ($allowed recorded
checks; any deny or error fails the benchmark, and a file posted again afterwards must come
back as a deny, nonce-reused). CPU: user + system time of the instances and of all PostgreSQL
processes (/proc/PID/stat), and of the client (getrusage), per check; "ours" is their sum over
the wall time of the runs, "machine" the busy share of all CPUs in that time (/proc/stat), which
includes whatever else the machine was running.

| configuration | checks/s | range of rounds | p50 ms | p99 ms | vs 1x SQLite | CPU ms per check: verifier / PostgreSQL / client | CPU used, of $NCPU cores: ours / machine |
|---|---|---|---|---|---|---|---|
$(row sqlite "1x SQLite")
$(row pg1 "1x PostgreSQL")
$(row pg2 "2x PostgreSQL, one database")
$(row pg2async "(reference) 2x PostgreSQL, synchronous_commit off")

$(bounds)
$(log_notes)
EOF
}

# disk_sync: milliseconds per 4 kB write + fdatasync on the disk of both databases (dd).
disk_sync() {
    dd if=/dev/zero of=sync.test bs=4k count=200 oflag=dsync 2>&1 |
        awk '/copied/ { for (i = 1; i < NF; i++) if ($(i + 1) == "s,") printf "%.2f", 1000 * $i / 200 }'
    rm -f sync.test
}

# chain CONFIG INSTANCES: "wall ms per check and instance / CPU ms of instance + database".
chain() {
    rate=$(col "$1" checks_per_s | median)
    v=$(per_check "$1" vf_ticks)
    d=$([ "$1" = sqlite ] && echo 0 || per_check "$1" db_ticks)
    echo "$(calc .2f "1000 * $2 / $rate") ms ($(calc .2f "$v + $d") ms CPU)"
}

# durable_use: whether the durable configurations ran out of cores.
durable_use() {
    ours="$(util sqlite)% (1x SQLite), $(util pg1)% (1x PostgreSQL) and $(util pg2)% (2x PostgreSQL)"
    all="$(machine sqlite busy)%, $(machine pg1 busy)% and $(machine pg2 busy)%"
    if [ "$(machine pg2 busy)" -lt 85 ]; then
        echo "With durable commits, though, the cores are not what runs out: our processes used $ours of them, the whole machine $all."
    else
        echo "Our processes used $ours of the cores, the whole machine $all: in this run the machine (also busy with other work) was close to saturated, which bounds the pair too."
    fi
}

# async_bound: whether the reference row ran into the cores.
async_bound() {
    if [ "$(machine pg2async busy)" -ge 90 ]; then
        echo "there the cores are the bound, and the client's $(per_check pg2async cpu_s) ms per check are taken from the servers."
    else
        echo "closer to the cores' limit, but not at it."
    fi
    echo "The CPUs' iowait share was $(machine sqlite iowait)% (1x SQLite), $(machine pg1 iowait)% (1x PostgreSQL), $(machine pg2 iowait)% (2x PostgreSQL) and $(machine pg2async iowait)% (reference row)."
}

# bounds: what limits the numbers in this run, from the measured CPU use.
bounds() {
    r0=$(col sqlite checks_per_s | median)
    r1=$(col pg1 checks_per_s | median)
    r2=$(col pg2 checks_per_s | median)
    ra=$(col pg2async checks_per_s | median)
    cat <<EOF
Two instances on one PostgreSQL database check $(calc .2f "$r2 / $r1")x as many pieces of evidence
per second as one ($(calc .0f "$r2 / 2")/s per instance against $(calc .0f "$r1")/s alone), and
$(calc .2f "$r2 / $r0")x as many as one instance on SQLite.
What bounds these numbers on $NCPU cores: nothing is pinned, and the client (\`bench_evidence\`,
$(per_check pg2 cpu_s) ms of CPU per check), the verifier instances and the PostgreSQL server share
the same $NCPU cores, so whatever the client uses is taken from the servers and the database.
$(durable_use)
An instance serves with its default $NCPU threads (\`--threads\`, one per CPU), and each check waits
for 4 durable commits (nonce consumed, TPM clock, verdict, audit row), each a WAL flush (a 4 kB
write + fdatasync takes $SYNC_MS ms on this disk), and on PostgreSQL for 8 statements, each a
round trip to a backend process. Per instance a check took $(chain sqlite 1) on SQLite,
$(chain pg1 1) on PostgreSQL alone and $(chain pg2 2) in the pair:
the rest is waiting, for flushes and for the other processes. Without waiting for the flushes
(the reference row, not durable) the pair reaches $(calc .0f "$ra")/s with $(util pg2async)% of the $NCPU
cores used by our processes ($(machine pg2async busy)% by the whole machine): $(async_bound)
EOF
}

main() {
    for tool in runc busybox curl python3 setpriv psql; do
        command -v "$tool" >/dev/null 2>&1 || fail "$tool not found (run swtpm-ci/install-deps.sh)"
    done
    why=$(pg_missing)
    [ -z "$why" ] || fail "$why (run swtpm-ci/install-deps.sh)"
    start_host_tpm
    start_mgr
    cd "$T"
    setup
    make_all
    run_rounds
    self_test
    SYNC_MS=$(disk_sync)
    report >"$T/scale.md"
    stop_instances
    stop_mgr
    cat "$T/scale.md"
}

main
