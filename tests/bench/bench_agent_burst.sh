#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Burst of container starts through the agent service (docs/attest-agent.md "Concurrency"):
# N hooks at once (tests/bench/hookburst.py: attest-agent-hook with an OCI state naming a
# bundle and a stand-in container process, no runtime) against `attest-agent serve --lanes 1`
# (one request at a time, the old service), the default lanes, and the default lanes with a
# pool as large as the burst (every vTPM made and registered before the burst), taking
# turns, on one vtpm-mgr and `verifier serve` (plain HTTP, loopback). Prints a markdown table:
# per-hook latency median and p95, the time until the last hook ended, allowed count, the
# host-TPM signatures and commands during the bursts (with SLOW_TPM set: the proxy's
# counts), and ratios.
# With SLOW_TPM=fast|p95 the host TPM is the slow one (docs/slowtpm.md); with
# BENCH_BURST_RTT_MS every verifier request waits that long in a forwarding proxy
# (tests/integration/holdproxy.py), as to a remote verifier.
#   sh tests/bench/bench_agent_burst.sh [BUILD_DIR]
# Tunables (environment): BENCH_BURST_NS (default "20 100"), BENCH_BURST_ROUNDS (2),
# BENCH_BURST_HOST (node|quote, default node), BENCH_BURST_POOL (vTPMs made ahead in the
# serial and lanes services, 2), BENCH_BURST_CONFIGS (default "serial lanes pooled"; pooled:
# the pool is N), BENCH_BURST_RTT_MS (0).
VTPM_BUILD=$(cd "${1:-build}" && pwd)
export VTPM_BUILD
. "$(dirname "$0")/../integration/lib.sh"
set -eu
NS=${BENCH_BURST_NS:-20 100}
ROUNDS=${BENCH_BURST_ROUNDS:-2}
HOSTMODE=${BENCH_BURST_HOST:-node}
POOL=${BENCH_BURST_POOL:-2}
RTT=${BENCH_BURST_RTT_MS:-0}
CONFIGS=${BENCH_BURST_CONFIGS:-serial lanes pooled}
# A service with a pool of N fills it before it listens (per vTPM: create, AK, registration).
AGENTD_START_S=600
PX_PID=
# A private copy of the binaries: a concurrent `make` must not relink them under the running
# services (the agent measures its own binary through /proc/self/exe).
mkdir -p "$T/build/bin"
for f in vtpm-mgr vtpm-mgr-worker vtpmctl verifier verifier-serve attest-agent attest-agent-hook \
    slowtpm; do
    [ -x "$BIN/$f" ] || fail "$BIN/$f missing (make all)"
    cp "$BIN/$f" "$T/build/bin/$f"
done
BUILD=$T/build
BIN=$BUILD/bin
SLOWTPM=$BIN/slowtpm
export SLOWTPM
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

# counts: the host TPM proxy's counts (JSON), or {} on plain swtpm.
counts() { if [ -f "$HOST/counts" ]; then cat "$HOST/counts"; else echo '{}'; fi; }

# cpu: "mgr workers agent verifier" CPU ticks (user + system, /proc/PID/stat) used so far by
# vtpm-mgr, its workers, the agent service with its children (front, network process) and
# the verifier: where a burst's CPU goes.
ticks() { # PID...
    for _p in "$@"; do cat "/proc/$_p/stat" 2>/dev/null; done |
        awk '{ sub(/^.*\) /, ""); t += $12 + $13 } END { print t + 0 }'
}
cpu() {
    echo "$(ticks "$MGR_PID") $(ticks $(pgrep -P "$MGR_PID")) \
$(ticks "$AD_PID" $(pgrep -P "$AD_PID")) $(ticks "$VF_PID")"
}

# run CONFIG N TAG: one burst; appends the driver's JSON, with the host-TPM commands counted
# during it, to res-<config>-<n>.
run() {
    _cfg=$1 _n=$2 _tag=$3
    _i=0
    while [ $_i -lt "$_n" ]; do
        [ -d "bb$_i" ] || cp -a base "bb$_i"
        _i=$((_i + 1))
    done
    case $_cfg in
    serial) _opt="--lanes 1 --pool $POOL" ;;
    lanes) _opt="--pool $POOL" ;;
    pooled) _opt="--pool $_n" ;;
    *) fail "unknown configuration $_cfg" ;;
    esac
    # shellcheck disable=SC2086
    start_agentd "$SOCK" "ad-$_tag.log" --reattest-interval 0 \
        --host-evidence "$HOSTMODE" --kmod-log '' --uefi-log '' $_opt
    counts >c.before
    cpu >cpu.before
    python3 "$ROOT/tests/bench/hookburst.py" "$HOOK" "$_n" "$_tag-" "$T/bb" -- \
        --verifier "$URL" --run-dir "$RUN" --timeout 120 \
        --agent-socket "$SOCK" --runtime "$RUNTIME" --host-evidence "$HOSTMODE" \
        --kmod-log '' --uefi-log '' >res.json || fail "hookburst"
    counts >c.after
    cpu >cpu.after
    python3 - res.json c.before c.after cpu.before cpu.after "$(getconf CLK_TCK)" \
        >>"res-$_cfg-$_n" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
c0, c1 = (list(map(int, open(f).read().split())) for f in sys.argv[4:6])
r["cpu_ms"] = dict(zip(("vtpm-mgr", "workers", "agent", "verifier"),
                       ((y - x) * 1000 // int(sys.argv[6]) for x, y in zip(c0, c1))))
b, a = json.load(open(sys.argv[2])), json.load(open(sys.argv[3]))
bc = b.get("commands", {})
r["host_signatures"] = a["signatures"] - b.get("signatures", 0) if a else None
r["host_commands"] = ({k: v - bc.get(k, 0) for k, v in a["commands"].items()
                       if v != bc.get(k, 0)} if a else None)
print(json.dumps(r))
PY
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
        for cfg in $CONFIGS; do
            say "round $r: $n hooks at once, $cfg"
            run "$cfg" "$n" "r$r-$cfg-n$n"
        done
    done
done

python3 - "$T" "$NS" "$HOSTMODE" "${SLOW_TPM:-swtpm}" "$POOL" "$RTT" "$CONFIGS" <<'EOF'
import json, statistics, sys
t, ns, mode, tpm, pool, rtt = sys.argv[1], sys.argv[2].split(), *sys.argv[3:7]
cfgs = sys.argv[7].split()
names = {"serial": "--lanes 1 (serial), pool %s" % pool,
         "lanes": "default lanes, pool %s" % pool, "pooled": "default lanes, pool N"}
def load(cfg, n):
    return [json.loads(l) for l in open("%s/res-%s-%s" % (t, cfg, n))]
def pct(v, p):
    v = sorted(v); return v[min(len(v) - 1, int(round(p / 100 * (len(v) - 1))))]
print("| hooks at once | service | per-hook median ms | per-hook p95 ms | last hook done ms "
      "(median of rounds) | allowed | host-TPM signatures per burst | host-TPM commands per burst "
      "| CPU s per burst: vtpm-mgr, workers, agent, verifier, hooks |")
print("|---|---|---|---|---|---|---|---|---|")
rows = {}
for n in ns:
    for cfg in cfgs:
        rs = load(cfg, n)
        lat = [x for r in rs for x in r["latency_ms"]]
        tot = statistics.median(r["total_ms"] for r in rs)
        ok = sum(r["allowed"] for r in rs); all_ = sum(r["n"] for r in rs)
        rows[(n, cfg)] = (statistics.median(lat), tot)
        if rs[0].get("host_signatures") is None:
            sig = cmds = "-"
        else:
            sig = "%g" % statistics.median(r["host_signatures"] for r in rs)
            tc = {}
            for r in rs:
                for k, v in r["host_commands"].items():
                    tc[k] = tc.get(k, 0) + v
            cmds = ", ".join("%s %g" % (k, round(v / len(rs), 1)) for k, v in
                             sorted(tc.items(), key=lambda kv: (-kv[1], kv[0]))) or "none"
        cpu = ", ".join("%.1f" % (statistics.median(r["cpu_ms"][k] for r in rs) / 1000)
                        for k in ("vtpm-mgr", "workers", "agent", "verifier"))
        cpu += ", %.1f" % (statistics.median(r["hooks_cpu_ms"] for r in rs) / 1000)
        print("| %s | %s | %.0f | %.0f | %.0f | %d/%d | %s | %s | %s |" % (n, names[cfg],
              statistics.median(lat), pct(lat, 95), tot, ok, all_, sig, cmds, cpu))
        for r in rs:
            for e in r["errors"]:
                print("<!-- error: %s -->" % e.replace("--", "- -").replace("\n", " "),
                      file=sys.stderr)
print()
for n in ns:
    for cfg in cfgs:
        if cfg != "serial" and (n, "serial") in rows:
            (m1, t1), (m0, t0) = rows[(n, "serial")], rows[(n, cfg)]
            print("- %s at once, serial / %s: per-hook median %.2fx, last hook done %.2fx"
                  % (n, names[cfg], m1 / m0, t1 / t0))
print("- host TPM: %s; host evidence mode: %s; verifier delay %s ms per request; rounds take "
      "turns between the services" % (tpm, mode, rtt))
EOF
