#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Times the verifier's UEFI event log parse + sha256 replay against tpm2-tools' tpm2_eventlog on
# the same logs and prints a markdown table: in process (bench_uefilog), and per process start
# (bench_uefilog LOG 1 beside tpm2_eventlog LOG under hyperfine).
# Usage: bench_uefilog.sh [BUILD_DIR] [LOG...]   Without LOGs it builds two with uefilog_build
# (the basic preset once, and 40 times: 25 and 961 records) and adds the real OVMF log kept in
# tests/fuzz/corpus/uefilog/. BENCH_UEFILOG_RUNS (default 2000).
set -eu
B=$(cd "${1:-build}" && pwd)
[ $# -gt 0 ] && shift
RUNS=${BENCH_UEFILOG_RUNS:-2000}
T=$(mktemp -d /tmp/vtpm-bench-uefilog.XXXXXX)
trap 'rm -rf "$T"' EXIT

for tool in "$B/tests/bench_uefilog" "$B/tests/uefilog_build"; do
    [ -x "$tool" ] || { echo "bench_uefilog: $tool missing (make B=$B all)" >&2; exit 1; }
done
if [ $# -eq 0 ]; then
    # No StartupLocality event: tpm2_eventlog 5.4 would replay PCR 0 differently, not slower.
    "$B/tests/uefilog_build" --out "$T/basic.bin" --preset basic >/dev/null
    presets=""
    i=0
    while [ $i -lt 40 ]; do presets="$presets --preset basic"; i=$((i + 1)); done
    # shellcheck disable=SC2086
    "$B/tests/uefilog_build" --out "$T/basic-x40.bin" $presets >/dev/null
    set -- "$T/basic.bin" "$T/basic-x40.bin"
    # A real log: the OVMF boot of tests/integration/t_host_boot.sh, kept as a fuzz seed.
    real=$(cd "$(dirname "$0")/../.." && pwd)/tests/fuzz/corpus/uefilog/ovmf-qemu.bin
    [ -f "$real" ] && set -- "$real" "$@"
fi

# hyperfine_median CMD: median wall time in ms of one command run.
hyperfine_median() {
    hyperfine -N -w 5 -m 30 --export-json "$T/h.json" "$1" >/dev/null 2>&1 || return 1
    jq -r '.results[0].median * 1000 | . * 100 | round / 100' "$T/h.json"
}

echo "| log | bytes | records | verifier in process (us) | verifier process (ms) | tpm2_eventlog process (ms) |"
echo "|---|---:|---:|---:|---:|---:|"
for log in "$@"; do
    line=$("$B/tests/bench_uefilog" "$log" "$RUNS")
    bytes=$(echo "$line" | sed -n 's/^bench_uefilog: \([0-9]*\) bytes.*/\1/p')
    recs=$(echo "$line" | sed -n 's/.* \([0-9]*\) records.*/\1/p')
    us=$(echo "$line" | sed -n 's/.*median \([0-9.]*\) us.*/\1/p')
    ours=$(hyperfine_median "$B/tests/bench_uefilog $log 1" || echo "n/a")
    if command -v tpm2_eventlog >/dev/null 2>&1 && tpm2_eventlog "$log" >/dev/null 2>&1; then
        theirs=$(hyperfine_median "tpm2_eventlog $log" || echo "n/a")
    else
        theirs="n/a (does not parse or missing)"
    fi
    echo "| $(basename "$log") | $bytes | $recs | $us | $ours | $theirs |"
done
