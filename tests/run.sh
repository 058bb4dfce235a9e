#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Runs the test suites (unit binaries, then integration scripts), each under a time limit,
# and ends with the line "N passed, N failed". Exit status is non-zero on any failure. Each
# fuzz harness runs VTPM_FUZZ_SECONDS (default 5) on its seeds: a smoke run (`make fuzz` runs
# them longer), short enough that `make check` stays within its 20 minutes.
# Integration tests and fuzz harnesses run VTPM_TEST_JOBS at a time (default 2): each test
# has its own directories, sockets, ports and container names. A script with the line
# "# vtpm-test: serial" (timing bounds, or load-sensitive) runs alone, after the others.
# Usage: tests/run.sh BUILD_DIR [unit|integration|kernel|fuzz]
set -u
B=$(cd "${1:?build dir}" && pwd)
WHICH=${2:-all}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
export VTPM_BUILD="$B" VTPM_ROOT="$ROOT"
pass=0 fail=0 failed=""
LOGDIR=$(mktemp -d /tmp/vtpm-tests.XXXXXX)

run_one() { # name limit cmd...
    name=$1 limit=$2; shift 2
    log="$LOGDIR/$(echo "$name" | tr '/' '_').log"
    start=$(date +%s)
    timeout -k 5 "$limit" "$@" </dev/null >"$log" 2>&1
    rc=$?
    dur=$(( $(date +%s) - start ))
    if [ $rc -eq 0 ]; then
        pass=$((pass + 1)); echo "PASS $name (${dur}s)"
    else
        fail=$((fail + 1)); failed="$failed $name"
        [ $rc -eq 124 ] && echo "FAIL $name (timeout after ${limit}s)" || echo "FAIL $name (exit $rc, ${dur}s)"
        tail -n 40 "$log" | tr -cd '\11\12\40-\176' | sed 's/^/    | /'
    fi
}

# run_pool LIMIT KIND: runs the "name<TAB>path" lines of $LOGDIR/queue.KIND as run_one
# "KIND/name" LIMIT ...: VTPM_TEST_JOBS lanes take the next unclaimed line (mkdir is the
# atomic claim); each lane counts in its own files, summed here.
run_pool() {
    limit=$1 kind=$2 jobs=${VTPM_TEST_JOBS:-2} lane=0
    while [ "$lane" -lt "$jobs" ]; do
        (
            pass=0 fail=0 failed=""
            while IFS="$(printf '\t')" read -r name path; do
                mkdir "$LOGDIR/claim.$kind.$name" 2>/dev/null || continue
                case $kind in
                integration) run_one "integration/$name" "$limit" sh "$path" ;;
                fuzz) run_one "fuzz/$name" "$limit" sh "$ROOT/tests/fuzz/run.sh" "$B" \
                          "${VTPM_FUZZ_SECONDS:-5}" "$name" ;;
                esac
            done <"$LOGDIR/queue.$kind"
            echo "$pass $fail$failed" >"$LOGDIR/lane.$kind.$lane"
        ) &
        lane=$((lane + 1))
    done
    wait
    for f in "$LOGDIR"/lane."$kind".*; do
        read -r p f2 rest <"$f"
        pass=$((pass + p)) fail=$((fail + f2))
        [ -n "$rest" ] && failed="$failed $rest"
    done
    rm -f "$LOGDIR"/lane."$kind".*
}

if [ "$WHICH" = all ] || [ "$WHICH" = unit ]; then
    for t in "$B"/tests/test_*; do
        [ -x "$t" ] || continue
        run_one "unit/$(basename "$t")" 120 "$t"
    done
fi
if [ "$WHICH" = all ] || [ "$WHICH" = integration ]; then
    : >"$LOGDIR/queue.integration"
    for t in "$ROOT"/tests/integration/t_*.sh; do
        [ -f "$t" ] || continue
        if grep -q '^# vtpm-test: serial' "$t"; then
            serial="${serial:-} $t"
        else
            printf '%s\t%s\n' "$(basename "$t" .sh)" "$t" >>"$LOGDIR/queue.integration"
        fi
    done
    run_pool 300 integration
    for t in ${serial:-}; do
        run_one "integration/$(basename "$t" .sh)" 300 sh "$t"
    done
fi
if { [ "$WHICH" = all ] && [ -z "${VTPM_NO_KERNEL:-}" ]; } || [ "$WHICH" = kernel ]; then
    # kmod-vtpm in a booted Debian kernel under QEMU (swtpm-ci/check-kernel.sh);
    # VTPM_NO_KERNEL=1 leaves it out of "all" (the ASan run: same module, same guest).
    run_one "kernel/qemu" 900 sh "$ROOT/swtpm-ci/check-kernel.sh" "$B"
fi
if [ "$WHICH" = all ] || [ "$WHICH" = fuzz ]; then
    : >"$LOGDIR/queue.fuzz"
    for f in "$B"/fuzz/fuzz_*; do
        [ -x "$f" ] && printf '%s\t%s\n' "$(basename "$f")" "$f" >>"$LOGDIR/queue.fuzz"
    done
    run_pool 60 fuzz
fi
echo "logs: $LOGDIR"
[ -n "$failed" ] && echo "failed:$failed"
echo "$pass passed, $fail failed"
[ $fail -eq 0 ] && [ $pass -gt 0 ]
