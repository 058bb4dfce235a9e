#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Runtime monitor memory with containers of one large image (docs/runtime-integrity.md,
# "Limits"): BENCH_RTMEM_N runc containers (default 4) of an image of BENCH_RTMEM_FILES files
# (default 60,000: a 7 MB manifest), each registered by the hook with one `attest-agent
# monitor`; after each start, the monitor's resident memory (VmRSS) and the size of its
# --state-dir. Prints a markdown table on stdout.
# Alone:  sh tests/bench/bench_rtmemory.sh [BUILD_DIR]
VTPM_BUILD=$(cd "${1:-build}" && pwd)
export VTPM_BUILD
. "$(dirname "$0")/../integration/lib.sh"
need_runc curl
. "$(dirname "$0")/../integration/attest_lib.sh"
. "$(dirname "$0")/../integration/runtime_lib.sh"
set -eu
N=${BENCH_RTMEM_N:-4}
NFILES=${BENCH_RTMEM_FILES:-60000}
say() { echo "bench_rtmemory: $*" >&2; }

start_host_tpm
start_mgr
cd "$T" || fail "cd $T"
ID=rtm-$$

i=1
while [ $i -le "$N" ]; do
    big_bundle "c$i" "$NFILES" # the same files in each: one image
    i=$((i + 1))
done
allow_bundle c1 policy.json
"$AGENT" measure --bundle c1 --out mf.bin >/dev/null || fail "measure c1"
MFSIZE=$(stat -c %s mf.bin)
mkdir trust && cp "$HOST/ek-ca.pem" trust/ || fail "trust/"
start_verifier policy.json trust --reattest-interval 600
start_mon --reattest-interval 600

mb() { awk '{ printf "%.1f", $1 / 1024 }'; } # KiB on stdin
row() { # CONTAINERS: a table row, the monitor's VmRSS and the state directory's size
    echo "| $1 | $(awk '/^VmRSS:/ { print $2 }' "/proc/$MON_PID/status" | mb) |" \
        "$(du -sk "$STATE" | awk '{ print $1 }' | mb) |"
}
watched() { [ "$(grep -c "container $ID-.*: watched (" mon.log)" -ge "$1" ]; }
echo "| containers of the image | monitor RSS MB | state dir MB |"
echo "|---|---|---|"
row 0
i=1
while [ $i -le "$N" ]; do
    hook_monitor "c$i"
    run_ctr "c$i"
    until_ok 30 "c$i not watched" watched $i
    sleep 1 # the worker's first evidence (and, for c1, the manifest's upload) done
    row "$i"
    i=$((i + 1))
done
say "image of $NFILES files, manifest $MFSIZE bytes"
