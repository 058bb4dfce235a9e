#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# How long vtpm-mgr's one event loop is blocked by host-TPM work (issue 10, "the host TPM is
# driven by one queue"): the latency of `vtpmctl list` (a control request that needs no TPM)
# alone, and while the loop runs host-TPM commands for another client: an issuer rotation
# (one TPM2_Sign), a host quote, creates (each one rollback-counter TPM2_NV_Increment) on the
# slow host TPM (SLOW_TPM, default p95; docs/slowtpm.md). Prints a markdown table.
#   sh tests/bench/bench_mgrloop.sh [BUILD_DIR]
# Tunables: SLOW_TPM (p95), BENCH_MGRLOOP_N (probes per row, 10).
VTPM_BUILD=$(cd "${1:-build}" && pwd)
export VTPM_BUILD
SLOW_TPM=${SLOW_TPM:-p95}
export SLOW_TPM
. "$(dirname "$0")/../integration/lib.sh"
set -eu
N=${BENCH_MGRLOOP_N:-10}
say() { echo "bench_mgrloop: $*" >&2; }
ms() { echo $(($(date +%s%N) / 1000000)); }
# probe FILE: one `vtpmctl list`, its ms appended to FILE.
probe() {
    _t0=$(ms)
    timeout 60 "$BIN/vtpmctl" list >/dev/null || fail "vtpmctl list"
    echo $(($(ms) - _t0)) >>"$1"
}
med() { sort -n "$1" | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
max() { sort -n "$1" | tail -n 1; }

start_host_tpm
start_mgr
cd "$T"
timeout 120 "$BIN/vtpmctl" create >/dev/null || fail "create"

# row NAME COMMAND...: N times: COMMAND in the background, 100 ms later a probe while it runs;
# the command's own time (from its launch to its end) and when the probe started.
: >alone
i=0
while [ $i -lt "$N" ]; do probe alone; i=$((i + 1)); done
row() {
    _f=$1; shift
    : >"$_f"
    : >"$_f.cmd"
    : >"$_f.at"
    _i=0
    while [ $_i -lt "$N" ]; do
        _t0=$(ms)
        ( "$@" >/dev/null 2>&1 || exit 1; echo $(($(ms) - _t0)) >>"$_f.cmd" ) &
        _p=$!
        sleep 0.1
        echo $(($(ms) - _t0)) >>"$_f.at"
        probe "$_f"
        wait "$_p" || fail "$*"
        _i=$((_i + 1))
    done
}
creates4() {
    for _k in 1 2 3 4; do timeout 120 "$BIN/vtpmctl" create >/dev/null & done
    wait
}
say "probes alone, during issuer-rotate, host-quote, 4 creates (profile $SLOW_TPM)"
row rotate timeout 120 "$BIN/vtpmctl" issuer-rotate
row quote timeout 120 "$BIN/vtpmctl" host-quote --nonce 00112233445566778899aabbccddeeff --out "$T/hq"
row creates creates4

cat <<EOF
| vtpm-mgr busy with (host TPM $SLOW_TPM) | that command, ms (median) | \`vtpmctl list\` started at ms (median) | \`vtpmctl list\` took ms (median / max) |
|---|---|---|---|
| nothing | - | - | $(med alone) / $(max alone) |
| \`vtpmctl issuer-rotate\` (1 TPM2_Sign) | $(med rotate.cmd) | $(med rotate.at) | $(med rotate) / $(max rotate) |
| \`vtpmctl host-quote\` (1 TPM2_Quote) | $(med quote.cmd) | $(med quote.at) | $(med quote) / $(max quote) |
| 4 \`vtpmctl create\` at once (NV_Increment) | $(med creates.cmd) | $(med creates.at) | $(med creates) / $(max creates) |

$N probes per row, $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores.
EOF
