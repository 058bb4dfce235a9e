#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Evidence checks' store writes per second on SQLite on disk, from K threads each with its own
# handle (tests/tools/bench_store): the four writes of a check each in its own commit (the
# verifier before issue 11), one transaction per check, and one transaction per check with
# group commit across threads; with the share of the threads' time spent waiting for the
# store; then the same on PostgreSQL 15 (a server of its own, Unix socket: tests/integration/
# pg_lib.sh) when this machine has one, with one more mode there: one transaction per check
# sent statement by statement (one round trip each) beside the same transaction in one
# pipeline (one round trip). Prints markdown on stdout (tests/bench/run.sh adds it
# to docs/benchmarks.md). Alone:
#   sh tests/bench/bench_store.sh [BUILD_DIR] >section.md
# Tunables: BENCH_STORE_ROUNDS (runs per mode and K, default 3), BENCH_STORE_SECONDS (per run,
# default 2), BENCH_STORE_THREADS (default "1 4 16"), BENCH_STORE_WORK_US (CPU per check that
# stands for the rest of a check, default 300), BENCH_STORE_DIR (default /var/tmp: on disk).
VTPM_BUILD=$(cd "${1:-build}" && pwd)
export VTPM_BUILD
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/../integration/pg_lib.sh"
set -eu
B=$VTPM_BUILD
ROUNDS=${BENCH_STORE_ROUNDS:-3}
SECS=${BENCH_STORE_SECONDS:-2}
KS=${BENCH_STORE_THREADS:-1 4 16}
WORK=${BENCH_STORE_WORK_US:-300}
TOOL=$B/tests/bench_store
[ -x "$TOOL" ] || { echo "bench_store.sh: $TOOL missing (make all)" >&2; exit 1; }
D=$(mktemp -d "${BENCH_STORE_DIR:-/var/tmp}/vtpm-bench-store.XXXXXX")
at_exit "rm -rf '$D'"
PG_WHY=$(pg_missing)
[ -n "$PG_WHY" ] || pg_init

# run BACKEND MODES: every mode and K, modes taking turns within each round (noise from the
# rest of the machine hits them all), each run on a new database; lines into $D/runs.BACKEND.
run() {
    : >"$D/runs.$1"
    r=0
    while [ $r -lt "$ROUNDS" ]; do
        for k in $KS; do
            for m in $2; do
                if [ "$1" = sqlite ]; then
                    rm -f "$D/db" "$D/db-wal" "$D/db-shm"
                    db=$D/db
                else
                    "$PGBIN/dropdb" --if-exists -h "$PG/sock" -U postgres bench >/dev/null 2>&1
                    pg_createdb bench
                    db=$(pg_url bench)
                fi
                timeout $((SECS * 4 + 60)) "$TOOL" "$db" "$m" "$k" "$SECS" "$WORK" \
                    >>"$D/runs.$1" 2>"$D/err" || { cat "$D/err" >&2; exit 1; }
            done
        done
        r=$((r + 1))
    done
}

# med BACKEND MODE K COLUMN: the median of a column over the rounds.
med() {
    awk -F'\t' -v m="$2" -v k="$3" -v c="$4" '$1 == m && $2 == k { print $c }' "$D/runs.$1" |
        sort -n | awk '{ a[NR] = $1 } END { if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}
# per BACKEND MODE K: commits per check over all rounds (columns 3 and 5)
per() {
    awk -F'\t' -v m="$2" -v k="$3" '$1 == m && $2 == k { c += $3; n += $5 } END { printf "%.2f", n / c }' "$D/runs.$1"
}

# table BACKEND: the rows.
table() {
    echo "| K | writes checks/s | tx checks/s | group checks/s | group / writes | group / tx | commits per check (writes, tx, group) | waiting (writes, tx, group) |"
    echo "|---|---|---|---|---|---|---|---|"
    for k in $KS; do
        w=$(med "$1" writes "$k" 4) t=$(med "$1" tx "$k" 4) g=$(med "$1" group "$k" 4)
        awk -v k="$k" -v w="$w" -v t="$t" -v g="$g" -v pw="$(per "$1" writes "$k")" \
            -v pt="$(per "$1" tx "$k")" -v pg="$(per "$1" group "$k")" \
            -v sw="$(med "$1" writes "$k" 6)" -v st="$(med "$1" tx "$k" 6)" \
            -v sg="$(med "$1" group "$k" 6)" 'BEGIN {
            printf "| %d | %.0f | %.0f | %.0f | %.2fx | %.2fx | %s, %s, %s | %.0f%%, %.0f%%, %.0f%% |\n",
                k, w, t, g, g / w, g / t, pw, pt, pg, 100 * sw, 100 * st, 100 * sg }'
    done
}

# table_pg: as table, with the statement-by-statement transaction (steps) beside the pipelined
# one (tx) and the round trips per check of each.
table_pg() {
    echo "| K | writes checks/s | steps checks/s | tx checks/s | group checks/s | tx / steps | tx / writes | round trips per check (writes, steps, tx) | waiting (writes, steps, tx, group) |"
    echo "|---|---|---|---|---|---|---|---|---|"
    for k in $KS; do
        w=$(med pg writes "$k" 4) s=$(med pg steps "$k" 4) t=$(med pg tx "$k" 4)
        g=$(med pg group "$k" 4)
        awk -v k="$k" -v w="$w" -v s="$s" -v t="$t" -v g="$g" \
            -v rw="$(med pg writes "$k" 7)" -v rs="$(med pg steps "$k" 7)" \
            -v rt="$(med pg tx "$k" 7)" \
            -v sw="$(med pg writes "$k" 6)" -v ss="$(med pg steps "$k" 6)" \
            -v st="$(med pg tx "$k" 6)" -v sg="$(med pg group "$k" 6)" 'BEGIN {
            printf "| %d | %.0f | %.0f | %.0f | %.0f | %.2fx | %.2fx | %.2f, %.2f, %.2f | %.0f%%, %.0f%%, %.0f%%, %.0f%% |\n",
                k, w, s, t, g, t / s, t / w, rw, rs, rt, 100 * sw, 100 * ss, 100 * st, 100 * sg }'
    done
}

run sqlite "writes tx group"
[ -n "$PG_WHY" ] || run pg "writes steps tx group"

cat <<EOF
\`sh tests/bench/bench_store.sh $(basename "$B")\` (tests/tools/bench_store): K threads, each with
its own store handle, write evidence checks (nonce consumed, TPM clock, container verdict,
audit row) to one database for ${SECS} s per run, with ${WORK} us of CPU per check standing for
the rest of a check; modes take turns, $ROUNDS rounds, medians. *writes*: the four writes each
in its own commit (the verifier before issue 11); *tx*: one transaction per check
(\`store_check_apply\`; on PostgreSQL one pipeline, BEGIN to COMMIT in one round trip);
*steps* (PostgreSQL only): the same transaction statement by statement, one round trip each
(\`store_check_apply_steps\`, the PostgreSQL path before the pipeline); *group*: one transaction
per check, group-committed across threads (\`store_check_group\`). \`verifier serve\`
(\`store_check_commit\`) uses *group* on SQLite and *tx* on PostgreSQL. Waiting: the threads'
time inside the store's writes over their whole time; round trips: to the server, per check,
by the threads' own handles (*group* commits on the committer's).

SQLite on disk (WAL, synchronous=FULL), a new file per run:

EOF
table sqlite
if [ -z "$PG_WHY" ]; then
    cat <<EOF

PostgreSQL 15 (a server of its own on this machine, Unix socket, default settings:
\`synchronous_commit\` on), a new database per run; statements prepared once per connection:

EOF
    table_pg
else
    echo
    echo "PostgreSQL: not measured ($PG_WHY)."
fi
echo
echo "Machine: $(nproc) cores, $(grep -m1 '^model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'); $(date -u '+%Y-%m-%d %H:%M UTC')."
