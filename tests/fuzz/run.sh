#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Runs every libFuzzer harness for SECONDS each on a copy of its seed corpus; fails on a crash.
# Usage: tests/fuzz/run.sh BUILD_DIR SECONDS [HARNESS]
set -eu
B=$1 S=$2 ONLY=${3:-}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
rc=0
for f in "$B"/fuzz/fuzz_*; do
    name=$(basename "$f"); short=${name#fuzz_}
    [ -z "$ONLY" ] || [ "$ONLY" = "$name" ] || continue
    work=$(mktemp -d /tmp/vtpm-fuzz.XXXXXX)
    [ -d "$ROOT/tests/fuzz/corpus/$short" ] && cp -r "$ROOT/tests/fuzz/corpus/$short/." "$work/"
    if "$f" -max_total_time="$S" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
            -artifact_prefix="$work/" "$work" >"$work.log" 2>&1; then
        echo "fuzz $name: $(grep -o 'stat::number_of_executed_units: *[0-9]*' "$work.log" | grep -o '[0-9]*$') runs, no crash"
    else
        echo "fuzz $name: FAILED"; tail -n 30 "$work.log"; rc=1
    fi
    rm -rf "$work" "$work.log"
done
exit $rc
