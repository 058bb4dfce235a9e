#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Burst of container starts through the agent service (docs/attest-agent.md "Concurrency"):
# N hooks at once (tests/bench/hookburst.py: attest-agent-hook with an OCI state naming a
# bundle and a stand-in container process, no runtime) against `attest-agent serve --lanes 1`
# (one request at a time, the old service) and the default lanes, alternating, on one
# vtpm-mgr and `verifier serve` (plain HTTP, loopback). Prints a markdown table: per-hook
# latency median and p95, the time until the last hook ended, allowed count, and ratios.
# With SLOW_TPM=fast|p95 the host TPM is the slow one (docs/slowtpm.md); with
# BENCH_BURST_RTT_MS every verifier request waits that long in a forwarding proxy
# (tests/integration/holdproxy.py), as to a remote verifier.
#   sh tests/bench/bench_agent_burst.sh [BUILD_DIR]
# Tunables (environment): BENCH_BURST_NS (default "20 100"), BENCH_BURST_ROUNDS (2),
# BENCH_BURST_HOST (node|quote, default node), BENCH_BURST_POOL (vTPMs made ahead, 2),
# BENCH_BURST_RTT_MS (0).
VTPM_BUILD=$(cd "${1:-build}" && pwd)
export VTPM_BUILD
. "$(dirname "$0")/../integration/lib.sh"
set -eu
NS=${BENCH_BURST_NS:-20 100}
ROUNDS=${BENCH_BURST_ROUNDS:-2}
HOSTMODE=${BENCH_BURST_HOST:-node}
POOL=${BENCH_BURST_POOL:-2}
RTT=${BENCH_BURST_RTT_MS:-0}
PX_PID=
. "$ROOT/tests/integration/attest_lib.sh"
HOOK=$BIN/attest-agent-hook
RUNTIME=/bin/true # measured as the runtime (no runtime runs the hook here)
say() { echo "bench_agent_burst: $*" >&2; }

start_host_tpm
start_mgr
cd "$T"
mkdir -p base/rootfs/bin
cp "$(command -v busybox)" base/rootfs/bin/busybox
# the hardened spec of the integration tests, without runc: take it from attest_lib's recipe
if command -v runc >/dev/null 2>&1; then
    base_bundle base
else
    fail "runc (for its default spec) missing"
fi
mkdir trust && cp "$HOST/ek-ca.pem" trust/
allow_bundle base policy.json --runtime "$RUNTIME"
start_verifier policy.json trust
if [ "$RTT" != 0 ]; then
    stop_px() { stop_pid "$PX_PID" 50 || true; PX_PID=; }
    at_exit stop_px
    python3 "$ROOT/tests/integration/holdproxy.py" "$URL" pport px.hold /none 0 0 "$RTT" \
        >>px.log 2>&1 &
    PX_PID=$!
    _i=0
    while [ ! -s pport ]; do
        _i=$((_i + 1)); [ $_i -lt 100 ] || fail "delay proxy did not start"
        sleep 0.1
    done
    URL=http://127.0.0.1:$(cat pport)
fi
SOCK=$T/agentd/agent.sock

# run LANES N TAG: one burst; appends the driver's JSON to res-<lanes>-<n>.
run() {
    _lanes=$1 _n=$2 _tag=$3
    _i=0
    while [ $_i -lt "$_n" ]; do
        [ -d "bb$_i" ] || cp -a base "bb$_i"
        _i=$((_i + 1))
    done
    if [ "$_lanes" = 1 ]; then _opt="--lanes 1"; else _opt=""; fi
    # shellcheck disable=SC2086
    start_agentd "$SOCK" "ad-$_tag.log" --pool "$POOL" --reattest-interval 0 \
        --host-evidence "$HOSTMODE" --kmod-log '' --uefi-log '' $_opt
    python3 "$ROOT/tests/bench/hookburst.py" "$HOOK" "$_n" "$_tag-" "$T/bb" -- \
        --verifier "$URL" --run-dir "$RUN" --timeout 120 \
        --agent-socket "$SOCK" --runtime "$RUNTIME" --host-evidence "$HOSTMODE" \
        --kmod-log '' --uefi-log '' >>"res-$_lanes-$_n" || fail "hookburst"
    stop_ad
    # the vTPMs of this round are not needed any more
    "$BIN/vtpmctl" list 2>/dev/null | awk '/^[0-9a-f-]{36}/ {print $1}' | while read -r u; do
        "$BIN/vtpmctl" delete "$u" >/dev/null 2>&1 || true
    done
}

r=0
while [ $r -lt "$ROUNDS" ]; do
    r=$((r + 1))
    for n in $NS; do
        for lanes in 1 0; do
            say "round $r: $n hooks at once, lanes $lanes"
            run "$lanes" "$n" "r$r-l$lanes-n$n"
        done
    done
done

python3 - "$T" "$NS" "$HOSTMODE" "${SLOW_TPM:-swtpm}" "$POOL" "$RTT" <<'EOF'
import json, statistics, sys
t, ns, mode, tpm, pool, rtt = sys.argv[1], sys.argv[2].split(), *sys.argv[3:7]
def load(lanes, n):
    return [json.loads(l) for l in open("%s/res-%s-%s" % (t, lanes, n))]
def pct(v, p):
    v = sorted(v); return v[min(len(v) - 1, int(round(p / 100 * (len(v) - 1))))]
print("| hooks at once | service | per-hook median ms | per-hook p95 ms | last hook done ms (median of rounds) | allowed |")
print("|---|---|---|---|---|---|")
rows = {}
for n in ns:
    for lanes, name in (("1", "--lanes 1 (serial)"), ("0", "default lanes")):
        rs = load(lanes, n)
        lat = [x for r in rs for x in r["latency_ms"]]
        tot = statistics.median(r["total_ms"] for r in rs)
        ok = sum(r["allowed"] for r in rs); all_ = sum(r["n"] for r in rs)
        rows[(n, lanes)] = (statistics.median(lat), tot)
        print("| %s | %s | %.0f | %.0f | %.0f | %d/%d |" % (n, name, statistics.median(lat),
              pct(lat, 95), tot, ok, all_))
        for r in rs:
            for e in r["errors"]:
                print("<!-- error: %s -->" % e.replace("--", "- -").replace("\n", " "), file=sys.stderr)
print()
for n in ns:
    (m1, t1), (m0, t0) = rows[(n, "1")], rows[(n, "0")]
    print("- %s at once: per-hook median %.2fx, last hook done %.2fx (serial / concurrent)"
          % (n, m1 / m0, t1 / t0))
print("- host TPM: %s; host evidence mode: %s; pool %s; verifier delay %s ms per request; "
      "rounds alternate serial and concurrent" % (tpm, mode, pool, rtt))
EOF
