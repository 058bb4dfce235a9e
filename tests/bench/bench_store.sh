#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Evidence checks' store writes per second on SQLite on disk, from K threads each with its own
# handle (tests/tools/bench_store): the four writes of a check each in its own commit (the
# verifier before issue 11), one transaction per check, and one transaction per check with
# group commit across threads; with the share of the threads' time spent waiting for the
# store. Prints a markdown table on stdout (tests/bench/run.sh adds it to docs/benchmarks.md).
# Alone:
#   sh tests/bench/bench_store.sh [BUILD_DIR] >section.md
# Tunables: BENCH_STORE_ROUNDS (runs per mode and K, default 3), BENCH_STORE_SECONDS (per run,
# default 2), BENCH_STORE_THREADS (default "1 4 16"), BENCH_STORE_WORK_US (CPU per check that
# stands for the rest of a check, default 300), BENCH_STORE_DIR (default /var/tmp: on disk).
set -eu
B=$(cd "${1:-build}" && pwd)
ROUNDS=${BENCH_STORE_ROUNDS:-3}
SECS=${BENCH_STORE_SECONDS:-2}
KS=${BENCH_STORE_THREADS:-1 4 16}
WORK=${BENCH_STORE_WORK_US:-300}
TOOL=$B/tests/bench_store
[ -x "$TOOL" ] || { echo "bench_store.sh: $TOOL missing (make all)" >&2; exit 1; }
D=$(mktemp -d "${BENCH_STORE_DIR:-/var/tmp}/vtpm-bench-store.XXXXXX")
trap 'rm -rf "$D"' EXIT INT TERM
: >"$D/runs"

# Modes take turns within each round, so noise from the rest of the machine hits all three.
r=0
while [ $r -lt "$ROUNDS" ]; do
    for k in $KS; do
        for m in writes tx group; do
            rm -f "$D/db" "$D/db-wal" "$D/db-shm"
            timeout $((SECS * 4 + 60)) "$TOOL" "$D/db" "$m" "$k" "$SECS" "$WORK" \
                >>"$D/runs" 2>"$D/err" || { cat "$D/err" >&2; exit 1; }
        done
    done
    r=$((r + 1))
done

# med MODE K COLUMN: the median of a column over the rounds.
med() {
    awk -F'\t' -v m="$1" -v k="$2" -v c="$3" '$1 == m && $2 == k { print $c }' "$D/runs" |
        sort -n | awk '{ a[NR] = $1 } END { if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}
# per MODE K: commits per check, from the median run's totals (columns 3 and 5)
per() {
    awk -F'\t' -v m="$1" -v k="$2" '$1 == m && $2 == k { c += $3; n += $5 } END { printf "%.2f", n / c }' "$D/runs"
}

cat <<EOF
\`sh tests/bench/bench_store.sh $(basename "$B")\` (tests/tools/bench_store): K threads, each with
its own store handle, write evidence checks (nonce consumed, TPM clock, container verdict,
audit row) to one SQLite database on disk (WAL, synchronous=FULL) for ${SECS} s per run, with
${WORK} us of CPU per check standing for the rest of a check; modes take turns, $ROUNDS rounds,
medians. *writes*: the four writes each in its own commit (the verifier before issue 11);
*tx*: one transaction per check (\`store_check_apply\`); *group*: one transaction per check,
group-committed across threads (\`store_check_commit\`, what \`verifier serve\` uses). Waiting:
the threads' time inside the store's writes over their whole time.

| K | writes checks/s | tx checks/s | group checks/s | group / writes | group / tx | commits per check (writes, tx, group) | waiting (writes, tx, group) |
|---|---|---|---|---|---|---|---|
EOF
for k in $KS; do
    w=$(med writes "$k" 4) t=$(med tx "$k" 4) g=$(med group "$k" 4)
    awk -v k="$k" -v w="$w" -v t="$t" -v g="$g" -v pw="$(per writes "$k")" -v pt="$(per tx "$k")" \
        -v pg="$(per group "$k")" -v sw="$(med writes "$k" 6)" -v st="$(med tx "$k" 6)" \
        -v sg="$(med group "$k" 6)" 'BEGIN {
        printf "| %d | %.0f | %.0f | %.0f | %.2fx | %.2fx | %s, %s, %s | %.0f%%, %.0f%%, %.0f%% |\n",
            k, w, t, g, g / w, g / t, pw, pt, pg, 100 * sw, 100 * st, 100 * sg }'
done
echo
echo "Machine: $(nproc) cores, $(grep -m1 '^model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'); $(date -u '+%Y-%m-%d %H:%M UTC')."
