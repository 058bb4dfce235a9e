#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Runtime integrity benchmark (issue 14): exec latency inside a runc container without the
# monitor, watched by `attest-agent monitor` (monitor mode) and enforced, measured in
# alternation in one run; then the monitor's CPU while a watched container execs at a paced
# 1,000 per second. Prints a markdown section on stdout (tests/bench/run.sh adds it to
# docs/benchmarks.md).
# Alone:  sh tests/bench/bench_runtime.sh [BUILD_DIR] >section.md
# Tunables (environment): BENCH_RUNTIME_N (execs per round, default 2000), BENCH_RUNTIME_ROUNDS
# (rounds per mode, default 5), BENCH_RUNTIME_RATE (paced execs/s, default 1000),
# BENCH_RUNTIME_SECONDS (paced run, default 10).
VTPM_BUILD=$(cd "${1:-build}" && pwd)
export VTPM_BUILD
. "$(dirname "$0")/../integration/lib.sh"
need_runc
. "$(dirname "$0")/../integration/attest_lib.sh"
. "$(dirname "$0")/../integration/runtime_lib.sh"
set -eu
N=${BENCH_RUNTIME_N:-2000}
ROUNDS=${BENCH_RUNTIME_ROUNDS:-5}
RATE=${BENCH_RUNTIME_RATE:-1000}
SECS=${BENCH_RUNTIME_SECONDS:-10}
MODES="off monitor enforce"
say() { echo "bench_runtime: $*" >&2; }

start_host_tpm
start_mgr
cd "$T" || fail "cd $T"
ID=rtb-$$
cc -static -O2 -Wall -Werror -o execbench "$ROOT/tests/bench/execbench.c" ||
    fail "cannot link tests/bench/execbench.c statically (libc6-dev)"
mkdir trust && cp "$HOST/ek-ca.pem" trust/ || fail "trust/"
"$VF" policy default >policy.json || fail "policy default"
for m in $MODES; do
    tmpfs_bundle "$m"
    cp execbench "$m/rootfs/bin/execbench"
    edit "$m/config.json" "c['linux']['resources']['pids'] = {'limit': 256}"
    "$AGENT" measure --bundle "$m" >m.json || fail "measure"
    "$VF" policy allow --policy policy.json --rootfs-digest "$(json rootfs_digest <m.json)" \
        --runtime-digest "$(json runtime_digest <m.json)" \
        --agent-digest "$(json agent_digest <m.json)" || fail "policy allow"
done
start_verifier policy.json trust --reattest-interval 600
start_mon --reattest-interval 600
for m in $MODES; do
    hook_monitor "$m"
    edit "$m/config.json" "c.setdefault('annotations', {})['org.vtpm-attest.runtime'] = '$m'"
    run_ctr "$m"
done
grep -q "container $ID-off: watched" mon.log && fail "the container with runtime=off is watched"

say "$ROUNDS rounds x $N execs per mode, modes alternating"
for r in $(seq "$ROUNDS"); do
    for m in $MODES; do
        timeout 300 runc exec "$ID-$m" /bin/execbench run "$N" >>"lat-$m.txt" ||
            fail "execbench in $m"
    done
done
# median of the rounds' values of column COL for MODE
med() { sort -n -k"$2","$2" "lat-$1.txt" | awk -v c="$2" '{ v[NR] = $c } END { print v[int((NR + 1) / 2)] }'; }
grep -q "container $ID-enforce: exec of" mon.log && fail "enforcement denied an exec of the image"

say "paced $RATE execs/s for $SECS s in the watched container: monitor CPU"
cpu() { awk '{ print $14 + $15 }' "/proc/$MON_PID/stat"; }
c0=$(cpu)
out=$(timeout $((SECS + 60)) runc exec "$ID-monitor" /bin/execbench rate "$RATE" "$SECS") ||
    fail "paced execs"
c1=$(cpu)
TICK=$(getconf CLK_TCK)
n_paced=${out% *} s_paced=${out#* }
cpu_pct=$(awk "BEGIN { printf \"%.1f\", 100 * ($c1 - $c0) / $TICK / $s_paced }")
achieved=$(awk "BEGIN { printf \"%.0f\", $n_paced / $s_paced }")
hits=$(grep -c "exec /bin/execbench" mon.log || true)

ratio() { awk "BEGIN { printf \"%.2f\", $1 / $2 }"; }
cat <<EOF

\`sh tests/bench/bench_runtime.sh build\` (BENCH_RUNTIME_N=$N, BENCH_RUNTIME_ROUNDS=$ROUNDS,
BENCH_RUNTIME_RATE=$RATE, BENCH_RUNTIME_SECONDS=$SECS). Three runc containers from the same
busybox bundle, each rootfs its own tmpfs, with a static \`execbench\` in the image
(tests/bench/execbench.c): \`off\` (annotation \`org.vtpm-attest.runtime: off\`, not watched),
\`monitor\` and \`enforce\`, all registered by the hook with one \`attest-agent monitor\`
(docs/runtime-integrity.md). Inside each, \`execbench run $N\` times fork + execve of itself +
waitpid, $N times per round, the modes taking turns round by round; the table has the median
over the $ROUNDS rounds of each round's median, p99 and execs/s. The first exec of the file is
hashed and recorded (one PCR 11 extend and one evidence, off the exec path); every later one
is a cgroup lookup, a hash-cache hit (same dev, inode, mtime, ctime, size) and, in both
watched modes, a permission event answered by the monitor. Machine: $(nproc) cores
($(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1), shared with other
work), kernel $(uname -r), $(date -u '+%Y-%m-%d %H:%M UTC').

| per exec | off | monitor | enforce | monitor / off | enforce / off |
|---|---|---|---|---|---|
| median latency us | $(med off 2) | $(med monitor 2) | $(med enforce 2) | $(ratio "$(med monitor 2)" "$(med off 2)") | $(ratio "$(med enforce 2)" "$(med off 2)") |
| p99 latency us | $(med off 3) | $(med monitor 3) | $(med enforce 3) | $(ratio "$(med monitor 3)" "$(med off 3)") | $(ratio "$(med enforce 3)" "$(med off 3)") |
| execs/s (one process) | $(med off 4) | $(med monitor 4) | $(med enforce 4) | $(ratio "$(med monitor 4)" "$(med off 4)") | $(ratio "$(med enforce 4)" "$(med off 4)") |

Monitor CPU with the watched container exec'ing at a paced $RATE/s for $SECS s: $n_paced execs
in $s_paced s ($achieved/s achieved), monitor user + system time $cpu_pct% of one core
(/proc/PID/stat). Records for the file in the monitor's log: $hits (one per container).
EOF
