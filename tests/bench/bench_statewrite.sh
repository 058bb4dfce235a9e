#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Cost per durable vTPM state write without and with the rollback counter (a swtpm host TPM's
# NV counter, one increment per batch of writes), printed as a markdown table on stdout
# (tests/bench/run.sh adds it to docs/benchmarks.md). Alone:
#   sh tests/bench/bench_statewrite.sh [BUILD_DIR] >section.md
# Tunable: BENCH_STATEWRITE_ROUNDS (batches per configuration, default 30).
VTPM_BUILD=$(cd "${1:-build}" && pwd)
export VTPM_BUILD
. "$(dirname "$0")/../integration/lib.sh"
set -eu
ROUNDS=${BENCH_STATEWRITE_ROUNDS:-30}
[ -x "$VTPM_BUILD/tests/bench_statewrite" ] || fail "$VTPM_BUILD/tests/bench_statewrite missing (make all)"
start_host_tpm
mkdir "$T/scratch"
"$VTPM_BUILD/tests/bench_statewrite" "$HOST_TCTI" "$T/scratch" "$ROUNDS" ||
    fail "bench_statewrite failed"
