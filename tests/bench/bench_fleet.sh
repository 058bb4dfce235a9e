#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Verifier at fleet scale: tests/tools/fleetsim (simulated nodes and containers, software vTPMs
# registered by credential activation, every attestation GET /v1/nonce + quote + POST
# /v1/evidence over HTTPS with mutual TLS and kept-alive connections) against `verifier serve`
# in three configurations side by side: 1x SQLite, 1x PostgreSQL, 2x PostgreSQL on one
# database (the pair without sticky sessions: fleetsim sends an attestation's nonce request
# and its evidence to different instances). Prints a markdown section on stdout
# (tests/bench/run.sh adds it to docs/benchmarks.md).
#   (a) saturation: a closed loop of BENCH_FLEET_SAT_AGENTS (200) concurrent agents for
#       BENCH_FLEET_SAT_SECONDS (10) per configuration and round, BENCH_FLEET_ROUNDS (3)
#       rounds, the order rotated every round;
#   (b) the issue's fleet, 10,000 nodes x 20 containers re-attesting every 5 minutes (667/s),
#       time-scaled: BENCH_FLEET_NODES (100) x BENCH_FLEET_CONTAINERS (20) simulated containers
#       re-attesting at the same total rate (their interval shortened to match), open loop for
#       BENCH_FLEET_SECONDS (60) with BENCH_FLEET_AGENTS (64) client threads, on each
#       configuration of BENCH_FLEET_CONFIGS ("sqlite pg2"); BENCH_FLEET_RATE (666.7) changes
#       the offered rate; BENCH_FLEET_VF_ARGS adds `verifier serve` options to every instance.
# Alone:  sh tests/bench/bench_fleet.sh [BUILD_DIR] >section.md
VTPM_BUILD=$(cd "${1:-build}" && pwd)
export VTPM_BUILD
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/bench_lib.sh"
set -eu
ROUNDS=${BENCH_FLEET_ROUNDS:-3}
SAT_AGENTS=${BENCH_FLEET_SAT_AGENTS:-200}
SAT_S=${BENCH_FLEET_SAT_SECONDS:-10}
F_NODES=${BENCH_FLEET_NODES:-100}
F_CONT=${BENCH_FLEET_CONTAINERS:-20}
F_S=${BENCH_FLEET_SECONDS:-60}
F_AGENTS=${BENCH_FLEET_AGENTS:-64}
F_RATE=${BENCH_FLEET_RATE:-666.7}
F_CONFIGS=${BENCH_FLEET_CONFIGS:-sqlite pg2}
VF_ARGS=${BENCH_FLEET_VF_ARGS:-}   # more `verifier serve` options (e.g. --threads 8), word-split
WARM=2 # seconds of each load not measured: the clients' TLS handshakes
CONFIGS="sqlite pg1 pg2"
NCONF=3
NCPU=$(nproc)

say() { echo "bench_fleet: $*" >&2; }
calc() { awk "BEGIN { printf \"%$1\", $2 }"; }
[ "$ROUNDS" -ge 1 ] || fail "BENCH_FLEET_ROUNDS must be at least 1"
# 200 closed-loop agents: 10 nodes x 20 containers (one container per agent).
SAT_NODES=$(((SAT_AGENTS + 19) / 20))
INTERVAL=$(calc .3f "$F_NODES * $F_CONT / $F_RATE")

# A private copy of the binaries: a concurrent `make` must not relink them under us.
mkdir -p "$T/build/bin" "$T/build/tests"
for f in bin/verifier bin/verifier-serve tests/fleetsim tests/bench_verify; do
    [ -x "$VTPM_BUILD/$f" ] || fail "$VTPM_BUILD/$f missing (make all)"
    cp "$VTPM_BUILD/$f" "$T/build/$f"
done
VF=$T/build/bin/verifier
FS=$T/build/tests/fleetsim
BV=$T/build/tests/bench_verify
. "$ROOT/tests/integration/pg_lib.sh"

INST_PIDS=""
stop_instances() {
    for p in $INST_PIDS; do stop_pid "$p" 50 || true; done
    INST_PIDS=""
}
at_exit stop_instances # registered before pg_init: the instances stop before the database

# Connection limits raised for all client threads on one address (fleetsim keeps one
# connection per thread and instance).
CONNS=$((SAT_AGENTS > F_AGENTS ? SAT_AGENTS : F_AGENTS))

# start_instance NAME DB: `verifier serve` with mutual TLS on a free loopback port, connection
# limits raised for CONNS clients on one address; sets NAME_URL and NAME_PID.
start_instance() {
    _n=$1 _db=$2
    start_instance_vf "$_n" https --db "$_db" --policy policy.json --trust trust \
        --tls-cert server.pem --tls-key server.key --client-ca ca.pem \
        --max-connections $((CONNS + 96)) --max-connections-per-ip $((CONNS + 32)) $VF_ARGS
}

urls_of() {
    case $1 in
        sqlite) echo "$S_URL" ;; pg1) echo "$P_URL" ;; pg2) echo "$A_URL,$B_URL" ;;
        *) fail "no configuration $1" ;;
    esac
}
vf_pids_of() {
    case $1 in
        sqlite) echo "$S_PID" ;; pg1) echo "$P_PID" ;; pg2) echo "$A_PID,$B_PID" ;;
        *) fail "no configuration $1" ;;
    esac
}
# The database's processes: fleetsim counts the postmaster's children (the backends) with it.
db_pids_of() { [ "$1" = sqlite ] && echo "" || echo "$PG_PID"; }
label() {
    case $1 in
        sqlite) echo "1x SQLite" ;; pg1) echo "1x PostgreSQL" ;; pg2) echo "2x PostgreSQL, one database" ;;
    esac
}

setup() {
    make_test_pki
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout hostca.key \
        -subj /CN=fleet-host-ek-ca -days 1 -out hostca.pem 2>/dev/null || fail "host EK CA"
    mkdir -p trust && cp hostca.pem trust/
    "$BV" log log.cbor >/dev/null || fail "bench_verify log"
    "$VF" policy default >policy.json || fail "policy default"
    # shellcheck disable=SC2046 # the digests' options, one word each
    "$VF" policy allow --policy policy.json $("$BV" allow-args) || fail "policy allow"
    pg_init
    pg_createdb one
    pg_createdb two
    start_instance S "sqlite:$T/vf.db"
    start_instance P "$(pg_url one)"
    start_instance A "$(pg_url two)"
    start_instance B "$(pg_url two)"
}

# machine_ticks: "busy total" clock ticks of all CPUs so far (/proc/stat): the machine is
# shared, so the report shows how busy it was besides our processes.
machine_ticks() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9 }' /proc/stat; }

# fleet CONFIG OUT fleetsim-options...: one fleetsim run; OUT gets its output and "m_busy B
# m_total T" of the machine during the run. Denials and errors are reported, not fatal; a run
# that did not get to its load (registration failed) is.
fleet() {
    _c=$1 _o=$2; shift 2
    _m0=$(machine_ticks)
    set +e
    timeout 900 "$FS" --url "$(urls_of "$_c")" --ca ca.pem --cert client.pem --key client.key \
        --host-ca-cert hostca.pem --host-ca-key hostca.key --log log.cbor \
        --vf-pids "$(vf_pids_of "$_c")" --db-pids "$(db_pids_of "$_c")" "$@" >"$_o" 2>"$_o.err"
    _rc=$?
    set -e
    _m1=$(machine_ticks)
    if [ $_rc -gt 1 ] || ! grep -q '^offered_per_s' "$_o"; then
        cat "$_o" "$_o.err" >&2; fail "fleetsim ($_c) exited $_rc"
    fi
    echo "$_m0 $_m1" | awk '{ print "m_busy", $3 - $1, "m_total", $4 - $2 }' >>"$_o"
}

# --- (a) saturation ------------------------------------------------------------------------

run_sat() {
    r=1
    while [ $r -le "$ROUNDS" ]; do
        # shellcheck disable=SC2086 # the list of configurations
        set -- $CONFIGS
        i=0
        while [ $i -lt $(((r - 1) % NCONF)) ]; do c=$1; shift; set -- "$@" "$c"; i=$((i + 1)); done
        for c in "$@"; do
            fleet "$c" "sat-$c-$r.txt" --nodes "$SAT_NODES" --containers 20 \
                --agents "$SAT_AGENTS" --interval 0 --warmup "$WARM" --duration $((SAT_S + WARM))
            say "saturation $c round $r: $(grep '^offered' "sat-$c-$r.txt")"
        done
        r=$((r + 1))
    done
}

# col FILES KEY: the value of KEY in each file's lines.
col() {
    _k=$1; shift
    cat "$@" | awk -v k="$_k" '{ for (i = 1; i < NF; i++) if ($i == k) print $(i + 1) }'
}
median() { sort -n | awk '{ a[NR] = $1 } END { if (NR == 0) { print 0; exit }
    print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
sum() { awk '{ s += $1 } END { print s + 0 }'; }

# per_att FILES KEY: CPU ms of KEY (seconds) per allowed attestation, the files together.
per_att() {
    _k=$1; shift
    calc .2f "1000 * $(col "$_k" "$@" | sum) / ($(col allow "$@" | sum) + 0.000001)"
}
# ours FILES: the share of all cores the instances, PostgreSQL and fleetsim used together.
ours() {
    calc .0f "100 * ($(col vf_cpu_s "$@" | sum) + $(col db_cpu_s "$@" | sum) + $(col client_cpu_s "$@" | sum)) / (($(col wall_s "$@" | sum) + 0.000001) * $NCPU)"
}
busy() { calc .0f "100 * $(col m_busy "$@" | sum) / ($(col m_total "$@" | sum) + 0.000001)"; }
errors() {
    _e=$(cat "$@" | awk '$1 == "error" { n[$2] += $3 } END { for (k in n) printf "%s%s %d", s, k, n[k]; s = ", " }')
    echo "${_e:-none}"
}

sat_row() {
    set -- sat-"$1"-*.txt
    rate=$(col achieved_per_s "$@" | median)
    base=$(col achieved_per_s sat-sqlite-*.txt | median)
    lo=$(col achieved_per_s "$@" | sort -n | head -n 1)
    hi=$(col achieved_per_s "$@" | sort -n | tail -n 1)
    db=$(case $1 in sat-sqlite-*) echo "(in the verifier)" ;; *) per_att db_cpu_s "$@" ;; esac)
    echo "| $(label "$(echo "$1" | cut -d- -f2)") | $(calc .0f "$rate") | $(calc .0f "$lo") - $(calc .0f "$hi") | $(calc .2f "$rate / $base")x | $(calc .1f "$(col p50_ms "$@" | median)") | $(calc .1f "$(col p99_ms "$@" | median)") | $(per_att vf_cpu_s "$@") / $db / $(per_att client_cpu_s "$@") | $(ours "$@")% / $(busy "$@")% | $(errors "$@") |"
}

# --- (b) the fleet -------------------------------------------------------------------------

run_fleet() {
    for c in $F_CONFIGS; do
        fleet "$c" "fleet-$c.txt" --nodes "$F_NODES" --containers "$F_CONT" \
            --agents "$F_AGENTS" --interval "$INTERVAL" --warmup "$WARM" --duration $((F_S + WARM))
        say "fleet $c: $(grep '^offered' "fleet-$c.txt")"
    done
}

fleet_row() {
    f=fleet-$1.txt
    wall=$(col wall_s "$f")
    late=$(($(col unstarted "$f") + $(col skipped "$f")))
    db=$([ "$1" = sqlite ] && echo "(in the verifier)" || echo "$(col db_cpu_s "$f") s ($(calc .0f "100 * $(col db_cpu_s "$f") / $wall")%)")
    echo "| $(label "$1") | $(calc .0f "$(col offered_per_s "$f")") | $(calc .0f "$(col achieved_per_s "$f")") | $(col n "$f") / $(col allow "$f") | $(calc .1f "$(col p50_ms "$f")") | $(calc .1f "$(col p99_ms "$f")") | $(calc .1f "$(col lag_p99_ms "$f")") | $late | $(col vf_cpu_s "$f") s ($(calc .0f "100 * $(col vf_cpu_s "$f") / $wall")%) | $db | $(col client_cpu_s "$f") s | $(ours "$f")% / $(busy "$f")% | $(errors "$f") |"
}

fleet_rows() { for c in $F_CONFIGS; do fleet_row "$c"; done; }

# disk_sync: milliseconds per 4 kB write + fdatasync on the databases' disk (dd).
disk_sync() {
    dd if=/dev/zero of=sync.test bs=4k count=200 oflag=dsync 2>&1 |
        awk '/copied/ { for (i = 1; i < NF; i++) if ($(i + 1) == "s,") printf "%.2f", 1000 * $i / 200 }'
    rm -f sync.test
}

# goal: the fleet's rate sustained (95% of it allowed in time, no errors) by some configuration.
goal() {
    best=0 bestc=""
    for c in $F_CONFIGS; do
        a=$(col achieved_per_s "fleet-$c.txt")
        if awk "BEGIN { exit !($a > $best) }"; then best=$a bestc=$c; fi
    done
    f=fleet-$bestc.txt
    ok=$(awk -v a="$best" -v o="$(col offered_per_s "$f")" -v e="$(col error "$f")" \
        -v d="$(col deny "$f")" 'BEGIN { print (a >= 0.95 * o && e + d == 0) ? "met" : "**not met**" }')
    echo "Offered rate of (b), $(calc .0f "$(col offered_per_s "$f")") attestations/s (the issue's target: 667/s), sustained: $ok on this machine (best: $(calc .0f "$best")/s, $(label "$bestc"), p99 $(calc .0f "$(col p99_ms "$f")") ms)."
}

# bounds: what limited the runs, from the measured CPU.
bounds() {
    f=fleet-$(echo "$F_CONFIGS" | awk '{ print $1 }').txt
    ms=$(per_att vf_cpu_s sat-sqlite-*.txt)
    wall=$(col wall_s "$f")
    use=$(calc .0f "100 * $(col vf_cpu_s "$f") / $wall")
    if awk "BEGIN { exit !($(col achieved_per_s "$f") < 0.95 * $(col offered_per_s "$f")) }"; then
        how="yet in (b), where it fell behind the offered rate, the instance used $use% of a core"
    else
        how="and in (b), where it kept up, the instance used $use% of a core"
    fi
    cms=$(per_att client_cpu_s sat-sqlite-*.txt)
    cat <<EOF2
What bounds these numbers: a verified attestation cost one SQLite instance $ms ms of CPU at
saturation (TLS, the checks, the store) and the simulator $cms ms, so this machine's two cores,
shared by both, could serve about $(calc .0f "2000 / ($ms + $cms)") a second with nothing else running; $how. The
instance serves on \`--threads\` threads (default 4 per CPU) and each attestation writes two
transactions (the nonce issued; the check's one write set: nonce consumed, TPM clock, verdict,
audit row), group-committed across concurrent checks on SQLite (a 4 kB write + fdatasync took
$SYNC_MS ms on this disk after the runs); the machine's CPUs were $(busy "$f")% busy during (b),
of which our processes used $(ours "$f")%: the rest was other work on the shared machine, and a
runnable verifier waited for a core as well.
EOF2
}
reg_note() {
    f=fleet-$(echo "$F_CONFIGS" | awk '{ print $1 }').txt
    awk '$1 == "registered" { printf "%d hosts and %d containers registered in %.1f s", $3, $5, $7 }' "$f"
}

report() {
    cat <<EOF

\`sh tests/bench/bench_fleet.sh build\` (BENCH_FLEET_ROUNDS=$ROUNDS, BENCH_FLEET_SAT_AGENTS=$SAT_AGENTS,
BENCH_FLEET_SAT_SECONDS=$SAT_S, BENCH_FLEET_NODES=$F_NODES, BENCH_FLEET_CONTAINERS=$F_CONT,
BENCH_FLEET_SECONDS=$F_S, BENCH_FLEET_AGENTS=$F_AGENTS, BENCH_FLEET_RATE=$F_RATE${VF_ARGS:+, BENCH_FLEET_VF_ARGS='$VF_ARGS'}), $(date -u '+%Y-%m-%d %H:%M UTC'), on
this machine ($NCPU cores, $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo), shared with
other work: "ours" is the CPU time of the instances, PostgreSQL and fleetsim over the wall time
of the runs, "machine" the busy share of all CPUs in that time (/proc/stat), whatever ran). Client: \`tests/tools/fleetsim\`, a simulated fleet in one process: per node a
host EK (certificate from a CA in the verifier's \`--trust\`), host AK and vTPM-CA certified by it;
per container a vTPM EK (certificate from its node's vTPM-CA) and AK, all NIST P-256 keys in
software, every host and AK registered by credential activation before the load (the
activation done in software with the EK's private key). One attestation = \`GET /v1/nonce\`, a
TPM2_Quote of PCRs 8-10 over it signed by the container's AK (a 10-record event log, the one of
section 4), \`POST /v1/evidence\`; its latency runs from the nonce request to the verdict. Every
verdict must be \`allow\`; anything else is listed under errors. The first $WARM s of each load
(the clients' TLS handshakes) are not measured; attestations/s counts those allowed that
started after them and ended within the load's time, latencies those started after them. HTTPS with mutual TLS (EC P-256
certificates), each client thread keeping one connection per instance alive. The pair of
instances has no sticky sessions at all: fleetsim sends each attestation's nonce request to
one instance and its evidence to the other (what a TCP load balancer without affinity may do
at worst; no load balancer runs in between: haproxy is not among the project's packages).
One PostgreSQL 15 server (tests/integration/pg_lib.sh, Unix socket, durable commits) holds both
PostgreSQL databases; the SQLite file (WAL, \`synchronous=FULL\`) is on the same disk. CPU:
user + system time from /proc of the verifier instances and of PostgreSQL's postmaster with
its backends, and of fleetsim itself (getrusage), per allowed attestation.

### (a) Saturation: $SAT_AGENTS concurrent agents, closed loop

$SAT_AGENTS agents ($SAT_NODES nodes x 20 containers, one container per agent), each attesting again as
soon as its verdict arrives, for $SAT_S s per configuration and round; $ROUNDS rounds, configurations
taking turns, the order rotated every round; medians over the rounds.

| configuration | attestations/s | range of rounds | vs 1x SQLite | p50 ms | p99 ms | CPU ms per attestation: verifier / PostgreSQL / client | CPU used, of $NCPU cores: ours / machine | errors |
|---|---|---|---|---|---|---|---|---|
$(sat_row sqlite)
$(sat_row pg1)
$(sat_row pg2)

### (b) The fleet of issue 11, time-scaled

Target: 10,000 nodes x 20 containers, each container re-attesting every 5 minutes: 200,000
attestations per 300 s = 667/s. Scaled to this machine: $F_NODES nodes x $F_CONT containers
re-attesting every $INTERVAL s, the same rate (the verifier's work per attestation does not depend
on how many distinct containers there are beyond its caches; registrations are made before and
not timed: $(reg_note)). Open loop for $F_S s: container k is due at k x $INTERVAL / $((F_NODES * F_CONT)) s and every
$INTERVAL s after, spread evenly; $F_AGENTS client threads take the due attestations (lag = how late an
attestation started against its schedule, when all threads were busy; "due, not run": due
within the load's time but not started by its end, the backlog left when the verifier cannot
keep up, or due while the container's previous attestation was still running).

| configuration | offered/s | achieved/s | attestations / allowed | p50 ms | p99 ms | lag p99 ms | due, not run | verifier CPU (of one core) | PostgreSQL CPU | client CPU | CPU used, of $NCPU cores: ours / machine | errors |
|---|---|---|---|---|---|---|---|---|---|---|---|---|
$(fleet_rows)

$(goal)
$(bounds)
EOF
}

main() {
    for tool in openssl curl setpriv; do
        command -v "$tool" >/dev/null 2>&1 || fail "$tool not found (run swtpm-ci/install-deps.sh)"
    done
    why=$(pg_missing)
    [ -z "$why" ] || fail "$why (run swtpm-ci/install-deps.sh)"
    cd "$T"
    setup
    run_sat
    run_fleet
    SYNC_MS=$(disk_sync)
    report >"$T/fleet.md"
    stop_instances
    cat "$T/fleet.md"
}

main
