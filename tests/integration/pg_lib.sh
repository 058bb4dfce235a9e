# SPDX-License-Identifier: BSD-3-Clause
# A real PostgreSQL 15 server for tests and benchmarks (sourced after lib.sh): Debian's
# binaries run as the postgres user in $T/pg, Unix socket only, trust authentication, stopped
# by PID at exit. pg_init starts it; pg_url DB is a `verifier --db` URL.
PGBIN=/usr/lib/postgresql/15/bin
PG=$T/pg
PG_PID=

# pg_missing: why this machine cannot run the server (callers exit 77), or nothing.
pg_missing() {
    [ -x "$PGBIN/postgres" ] || { echo "PostgreSQL 15 server missing"; return 0; }
    id postgres >/dev/null 2>&1 || { echo "no postgres user"; return 0; }
}

as_pg() { setpriv --reuid=postgres --regid=postgres --init-groups -- "$@"; }

# start_pg [postgres -c options...]: setpriv execs, so $! is the postmaster itself (not
# through as_pg: a backgrounded function is a subshell of its own). The options of the
# first start are kept for restarts.
PG_OPTS=
start_pg() {
    [ $# -eq 0 ] || PG_OPTS="$*"
    # shellcheck disable=SC2086 # PG_OPTS is a list of "-c name=value" words
    setpriv --reuid=postgres --regid=postgres --init-groups -- "$PGBIN/postgres" -D "$PG/data" \
        -k "$PG/sock" -c listen_addresses= -c max_connections=60 $PG_OPTS >>"$PG/log" 2>&1 &
    PG_PID=$!
    _pg_i=0
    until "$PGBIN/pg_isready" -q -h "$PG/sock" -t 1; do
        _pg_i=$((_pg_i + 1)); [ $_pg_i -lt 150 ] || fail "PostgreSQL not ready after 15 s"
        kill -0 "$PG_PID" 2>/dev/null || { tail -n 20 "$PG/log" >&2; fail "postgres exited"; }
        sleep 0.1
    done
    [ "$(head -n 1 "$PG/data/postmaster.pid")" = "$PG_PID" ] || fail "postmaster is not $PG_PID"
}

# stop_pg: SIGINT is PostgreSQL's fast shutdown (clients are disconnected); bounded, then KILL.
stop_pg() {
    [ -n "$PG_PID" ] || return 0
    kill -INT "$PG_PID" 2>/dev/null || true
    _pg_i=0
    while kill -0 "$PG_PID" 2>/dev/null; do
        _pg_i=$((_pg_i + 1)); [ $_pg_i -lt 200 ] || { kill -KILL "$PG_PID"; break; }
        sleep 0.1
    done
    wait "$PG_PID" 2>/dev/null || true
    PG_PID=
}

# pg_init [postgres -c options...]: a new cluster in $PG, started; stopped at exit. Register
# the server's clients' stop with at_exit before this, so that they stop first.
pg_init() {
    mkdir -p "$PG/data" "$PG/sock"
    chown -R postgres:postgres "$PG"
    as_pg "$PGBIN/initdb" -D "$PG/data" -A trust -U postgres --no-sync >"$PG/initdb.log" 2>&1 ||
        { cat "$PG/initdb.log" >&2; fail initdb; }
    at_exit stop_pg
    start_pg "$@"
}

pg_url() { echo "postgresql:///$1?host=$PG/sock&user=postgres"; }
pg_createdb() { "$PGBIN/createdb" -h "$PG/sock" -U postgres "$1" || fail "createdb $1"; }
