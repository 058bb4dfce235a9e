#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# `make tsan`: the verifier's concurrent code under ThreadSanitizer, from a build made with
# -fsanitize=thread (build-tsan/): the verifier's unit tests (the connection guard shared by
# threads among them), the store conformance scenario and its race of 8 processes on SQLite,
# and the service's integration tests with several serving threads (t_verifier,
# t_verifier_threads, t_agent_concurrent when runc is there, t_ops_reload: SIGHUP reloads
# under serving threads, t_verifier_policies: per-workload policies polled by every thread);
# and the runtime monitor's three threads (main, worker, registration: t_runtime_integrity,
# t_runtime_restart).
# Every process writes its reports to one directory (TSAN_OPTIONS log_path): any report fails
# the run, also one from a verifier that a test only stops (its exit status is not seen). Ends
# with "N passed, N failed".
# Usage: tests/tsan.sh BUILD_DIR
set -u
B=$(cd "${1:?build dir}" && pwd)
ROOT=$(cd "$(dirname "$0")/.." && pwd)
LOGDIR=$(mktemp -d /tmp/vtpm-tsan.XXXXXX)
REPORTS=$LOGDIR/reports
mkdir -p "$REPORTS"
export VTPM_BUILD="$B" VTPM_ROOT="$ROOT"
# halt_on_error: the first race stops the process (the test then fails too); the report is
# the file's. Suppressions: none.
export TSAN_OPTIONS="halt_on_error=1 exitcode=66 second_deadlock_stack=1 log_path=$REPORTS/tsan"
pass=0 fail=0 failed=""

run_one() { # name limit cmd...
    name=$1 limit=$2; shift 2
    log="$LOGDIR/$(echo "$name" | tr '/' '_').log"
    before=$(find "$REPORTS" -type f | wc -l)
    timeout -k 5 "$limit" "$@" >"$log" 2>&1
    rc=$?
    after=$(find "$REPORTS" -type f | wc -l)
    if [ $rc -eq 77 ]; then
        echo "SKIP $name"
        return
    fi
    if [ $rc -eq 0 ] && [ "$after" -eq "$before" ]; then
        pass=$((pass + 1)); echo "PASS $name"
    else
        fail=$((fail + 1)); failed="$failed $name"
        echo "FAIL $name (exit $rc, $((after - before)) ThreadSanitizer report(s))"
        tail -n 20 "$log" | sed 's/^/    | /'
    fi
}

for t in "$B"/tests/test_verifier_*; do
    [ -x "$t" ] || continue
    run_one "unit/$(basename "$t")" 300 "$t"
done
SCDIR=$(mktemp -d /tmp/vtpm-tsan-sc.XXXXXX)
run_one "store_conformance/sqlite" 300 "$B/tests/store_conformance" "sqlite:$SCDIR/conf.db"
run_one "store_conformance/race-sqlite-8" 300 \
    "$B/tests/store_conformance" --race "sqlite:$SCDIR/race.db" 8
rm -rf "$SCDIR"
for t in t_verifier t_verifier_threads t_agent_concurrent t_ops_reload t_verifier_policies \
    t_runtime_integrity t_runtime_restart; do
    run_one "integration/$t" 600 sh "$ROOT/tests/integration/$t.sh"
done
if [ -n "$(find "$REPORTS" -type f)" ]; then
    echo "ThreadSanitizer reports:"
    for f in "$REPORTS"/*; do
        echo "--- $f"; head -n 60 "$f"
    done
fi
echo "logs: $LOGDIR"
[ -n "$failed" ] && echo "failed:$failed"
echo "$pass passed, $fail failed"
[ $fail -eq 0 ] && [ $pass -gt 0 ]
