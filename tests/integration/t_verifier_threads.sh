#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# `verifier serve --threads N` (docs/verifier.md, "Serving threads"), plain HTTP on loopback,
# SQLite: while one serving thread is held inside a request (a nonce whose INSERT waits for the
# database lock, held by another process), the other thread keeps answering; with --threads 1
# the same probe finds the service stuck (the control: the probe can fail). Then 40 concurrent
# clients each get a distinct nonce, /metrics sums every thread's counters and shows each
# thread's requests, the per-address connection limit holds for the whole service, not per
# thread, and 40 new connections are spread over 4 threads evenly (the accepting thread).
. "$(dirname "$0")/lib.sh"
command -v curl >/dev/null || { echo "curl missing"; exit 77; }
command -v python3 >/dev/null || { echo "python3 missing"; exit 77; }
VF=$BIN/verifier
VF_PID= LK_PID= NC_PID=
stop_all() {
    touch "$T/release"
    stop_pid "$NC_PID" 50 || true; NC_PID=
    stop_pid "$LK_PID" 50 || true; LK_PID=
    stop_vf
}
at_exit stop_all
cd "$T"
mkdir trust
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout trust/k.pem \
    -subj /CN=ek-ca -days 1 -out trust/ca.pem 2>/dev/null || fail "openssl"
"$VF" policy default >policy.json || fail "policy default"

start() { # THREADS [more serve options]
    _n=$1; shift
    rm -f port
    "$VF" serve --listen 127.0.0.1:0 --port-file port --db "sqlite:$T/vf.db" --policy policy.json \
        --trust trust --insecure-no-tls --threads "$_n" "$@" >>vf.log 2>&1 &
    VF_PID=$!
    wait_verifier
    URL=http://127.0.0.1:$PORT
}

# The database lock, held by another process until ./release exists (20 s at most).
cat >lock.py <<'EOF'
import os, sqlite3, sys, time
db = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=5)
db.execute("BEGIN IMMEDIATE")
open("locked", "w").close()
for _ in range(200):
    if os.path.exists("release"):
        break
    time.sleep(0.1)
db.execute("ROLLBACK")
EOF
hold_lock() {
    rm -f locked release
    python3 lock.py "$T/vf.db" 2>>lock.err &
    LK_PID=$!
    _i=0
    while [ ! -f locked ]; do
        _i=$((_i + 1)); [ $_i -lt 50 ] || { cat lock.err >&2; fail "lock holder did not start"; }
        sleep 0.1
    done
}
release_lock() {
    touch release
    wait "$LK_PID" || true; LK_PID=
}
metric() { # NAME (with labels): its value in the answer of GET /metrics, one try of 2 s
    curl -s -m 2 "$URL/metrics" | awk -v n="$1" '$1 == n { print $2; f = 1 } END { if (!f) exit 1 }'
}

# probe: a nonce request (a write) is started while the lock is held, so that the serving thread
# that took it waits in SQLite's busy handler (up to 5 s). 0 when, meanwhile, /metrics shows it
# in flight (verifier_requests_in_flight 2: it and the /metrics request) and 8 concurrent /healthz requests (reads: WAL readers do not wait for the writer)
# are all answered; the nonce must still be waiting then. The client timeouts (2 s, 3 s) only
# bound the waits: a single serving thread answers nothing before the nonce's 5 s are over.
probe() {
    hold_lock
    rm -f nonce.out
    curl -s -m 15 -o nonce.out "$URL/v1/nonce" &
    NC_PID=$!
    _ok=1 _i=0 _seen=0
    # The nonce request is being answered: the /metrics request is not alone in flight.
    while [ $_i -lt 5 ]; do
        _i=$((_i + 1))
        if [ "$(metric verifier_requests_in_flight || echo 0)" -ge 2 ]; then
            _seen=1; break
        fi
        sleep 0.2
    done
    [ $_seen -eq 1 ] || { echo "probe: the request in flight was not seen in /metrics" >&2; _ok=0; }
    # held, for the accepting thread, once in one request for SHARD_HELD_MS (20 ms): before
    # that a new connection may still go to its thread (server.c least_loaded), and waits
    sleep 0.1
    if [ $_ok -eq 1 ]; then
        _pids=
        for _j in 1 2 3 4 5 6 7 8; do
            curl -s -f -m 3 -o "h$_j.out" "$URL/healthz" & _pids="$_pids $!"
        done
        for _p in $_pids; do wait "$_p" || { echo "probe: a /healthz was not answered" >&2; _ok=0; }; done
        kill -0 "$NC_PID" 2>/dev/null || { echo "the nonce request was not held" >&2; _ok=0; }
    fi
    release_lock
    wait "$NC_PID" || true; NC_PID=
    [ $_ok -eq 1 ]
}

for bad in 0 1025 x ""; do
    rc=0
    "$VF" serve --listen 127.0.0.1:0 --db "sqlite:$T/bad.db" --policy policy.json --trust trust \
        --insecure-no-tls --threads "$bad" >/dev/null 2>&1 || rc=$?
    [ $rc -eq 2 ] || fail "--threads '$bad' was not refused as a usage error (exit $rc)"
done
ok "--threads outside 1-1024 refused"

# --- the control: one serving thread is stuck behind the waiting request ------------------
start 1
no_probe() { ! probe; }
check "threads 1: the probe finds the service stuck while a request waits (control)" no_probe
stop_vf

# --- two threads: the other one answers (the 40 clients below come from one address) -------
start 2 --max-connections-per-ip 64
check "threads 2: /metrics and 8 /healthz answered while one thread waits on the database lock" probe
check "the waiting nonce request was answered once the lock was released" \
    python3 -c 'import json,sys; assert len(json.load(open(sys.argv[1]))["nonce"]) == 64' nonce.out
t0=$(metric 'verifier_thread_requests_total{thread="0"}')
t1=$(metric 'verifier_thread_requests_total{thread="1"}')
check "both serving threads answered requests ($t0 and $t1)" test "$t0" -gt 0 -a "$t1" -gt 0
check "verifier_serving_threads is 2" test "$(metric verifier_serving_threads)" -eq 2

# --- many clients at once -------------------------------------------------------------------
n0=$(metric verifier_nonces_issued_total)
pids=
for i in $(seq 1 40); do
    curl -s -f -m 10 -o "c$i.json" "$URL/v1/nonce" & pids="$pids $!"
done
failed=0
for p in $pids; do wait "$p" || failed=$((failed + 1)); done
check "40 concurrent nonce requests answered" test $failed -eq 0
distinct=$(cat c*.json | python3 -c 'import json,sys
print(len({json.loads(l)["nonce"] for l in sys.stdin.read().replace("}{", "}\n{").splitlines()}))')
check "40 distinct nonces ($distinct)" test "$distinct" -eq 40
n1=$(metric verifier_nonces_issued_total)
check "verifier_nonces_issued_total sums the threads ($n0 + 40 = $n1)" test "$n1" -eq $((n0 + 40))

# --- the per-address limit is the service's: 10 idle connections from 127.0.0.1, 6 kept -----
cat >conns.py <<'EOF'
import socket, sys, time
port, n = int(sys.argv[1]), int(sys.argv[2])
socks = []
for _ in range(n):
    s = socket.create_connection(("127.0.0.1", port), timeout=2)
    socks.append(s)
    time.sleep(0.02)
time.sleep(0.5)
closed = 0
for s in socks:
    s.settimeout(0.2)
    try:
        closed += s.recv(1) == b""
    except socket.timeout:
        pass
    except OSError:
        closed += 1
print(closed)
EOF
stop_vf
start 2 --max-connections-per-ip 6
closed=$(timeout 20 python3 conns.py "$PORT" 10) || fail "conns.py"
check "--max-connections-per-ip 6 across both threads: 4 of 10 refused ($closed)" test "$closed" -eq 4
stop_vf

# --- new connections are spread evenly: 40 idle ones over 4 threads, 10 each ----------------
# (with a shared listening socket the first thread to wake took them, up to 10 at a time)
cat >spread.py <<'EOF'
import re, socket, sys, time, urllib.request
port, n = int(sys.argv[1]), int(sys.argv[2])
socks = [socket.create_connection(("127.0.0.1", port), timeout=2) for _ in range(n)]
time.sleep(0.5)
body = urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port, timeout=5).read().decode()
counts = [int(v) for v in re.findall(r'^verifier_thread_connections\{thread="\d+"\} (\d+)$',
                                      body, re.M)]
print(" ".join(map(str, counts)))
for s in socks:
    s.close()
EOF
start 4 --max-connections-per-ip 64
spread=$(timeout 20 python3 spread.py "$PORT" 40) || fail "spread.py"
check_spread() { # the 40 plus the /metrics connection, at most one apart
    python3 -c 'import sys; c = [int(x) for x in sys.argv[1:]]
sys.exit(not (len(c) == 4 and sum(c) == 41 and max(c) - min(c) <= 1))' $spread
}
check "40 new connections over 4 threads: evenly spread ($spread)" check_spread
stop_vf

[ -z "$FAILED" ] || { tail -n 20 vf.log >&2; fail "failed:$FAILED"; }
echo "t_verifier_threads: all passed"
