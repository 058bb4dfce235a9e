# SPDX-License-Identifier: BSD-3-Clause
# Shared helpers of the integration tests: a per-test temp dir, a swtpm host TPM, a vtpm-mgr
# daemon started and stopped by PID, and bounded waits. Sourced, not run.
set -eu
ROOT=${VTPM_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
BUILD=${VTPM_BUILD:-$ROOT/build}
BIN=$BUILD/bin
T=$(mktemp -d /tmp/vtpm-it.XXXXXX)
chmod 755 "$T"
HOST=$T/host
STATE=$T/state
RUN=$T/run
MGR_PID=
export VTPM_MGR_RUN_DIR=$RUN
export TPM2TOOLS_TCTI=

fail() { echo "FAIL: $*" >&2; exit 1; }
ok() { echo "ok: $*"; }
# stop_vf: stops the verifier started as VF_PID (SIGTERM, then SIGKILL after 10 s).
stop_vf() { stop_pid "$VF_PID" 100 || true; VF_PID=; }
# check WHAT COMMAND...: runs COMMAND; "ok: WHAT", or WHAT recorded in FAILED and the test goes
# on (it reports FAILED at its end).
FAILED=""
check() {
    _what=$1; shift
    if "$@"; then ok "$_what"; else echo "FAILED: $_what" >&2; FAILED="$FAILED
  $_what"; fi
}
# wait_verifier: waits (10 s at most) until the verifier started as VF_PID, logging to
# ./vf.log, wrote its port to ./port; sets PORT. Fails with the log if it exits or never does.
wait_verifier() {
    _wv=0
    while [ ! -s port ]; do
        _wv=$((_wv + 1)); [ $_wv -lt 100 ] || { cat vf.log >&2; fail "verifier did not start"; }
        kill -0 "$VF_PID" 2>/dev/null || { cat vf.log >&2; fail "verifier exited"; }
        sleep 0.1
    done
    PORT=$(cat port)
}
# wait_socket SOCK PID LOG WHAT [TENTHS]: waits up to TENTHS x 0.1 s (default 100) for the
# daemon PID to make the Unix socket SOCK; fails naming WHAT, with LOG, when it does not or exits.
wait_socket() {
    _ws_i=0
    while [ ! -S "$1" ]; do
        _ws_i=$((_ws_i + 1)); [ $_ws_i -lt "${5:-100}" ] || { cat "$3" >&2; fail "$4 did not start"; }
        kill -0 "$2" 2>/dev/null || { cat "$3" >&2; fail "$4 exited"; }
        sleep 0.1
    done
}
# flip_byte FILE OFFSET: inverts the lowest bit of one byte in place (writing a fixed value
# would change nothing when the byte already held it).
flip_byte() {
    _fb=$(od -An -tu1 -j "$2" -N1 "$1" | tr -d ' ')
    [ -n "$_fb" ] || fail "flip_byte: $1 has no byte at $2"
    # shellcheck disable=SC2059
    printf "\\$(printf '%03o' $((_fb ^ 1)))" | dd of="$1" bs=1 seek="$2" conv=notrunc 2>/dev/null
}

# at_exit CMD: run CMD at exit before the common cleanup, without losing the exit status
# (a trap of its own would report the status of its last command instead of the test's).
AT_EXIT=:
at_exit() { AT_EXIT="$AT_EXIT; $*"; }

cleanup() {
    rc=$?
    eval "$AT_EXIT" || true
    if [ -n "$MGR_PID" ]; then stop_pid "$MGR_PID" 100 || true; MGR_PID=; fi
    kill_workers || true
    sh "$ROOT/swtpm-ci/host-tpm-stop.sh" "$HOST" >/dev/null 2>&1 || true
    if [ $rc -ne 0 ] && [ -f "$T/mgr.log" ]; then
        echo "--- vtpm-mgr log (tail) ---" >&2; tail -n 30 "$T/mgr.log" >&2
    fi
    # Anything a test or its engine left mounted under $T (lazily: a busy overlay too), then
    # the directory; a mount point still held a moment by an ending container's namespace
    # gets one more try (set -e must not turn a slow teardown into the test's status).
    for _m in $(findmnt -rn -o TARGET 2>/dev/null | grep "^$T/" | sort -r); do
        umount -l "$_m" 2>/dev/null || true
    done
    rm -rf "$T" 2>/dev/null || { sleep 1; rm -rf "$T" || echo "cleanup: $T left behind" >&2; }
    exit $rc
}
trap cleanup EXIT INT TERM

start_host_tpm() {
    mkdir -p "$HOST"
    sh "$ROOT/swtpm-ci/host-tpm-start.sh" "$HOST" >"$T/host-tpm.log" 2>&1 ||
        { cat "$T/host-tpm.log" >&2; fail "host TPM did not start"; }
    HOST_TCTI=$(cat "$HOST/tcti")
}

# start_mgr [extra vtpm-mgr options]: runs in the foreground mode as a background job.
start_mgr() {
    "$BIN/vtpm-mgr" --foreground --state-dir "$STATE" --run-dir "$RUN" \
        --host-tcti "$HOST_TCTI" --host-ek-ca "$HOST/ek-ca.pem" --seal-pcrs sha256:16 "$@" \
        >>"$T/mgr.log" 2>&1 &
    MGR_PID=$!
    i=0
    while ! "$BIN/vtpmctl" list >/dev/null 2>&1; do
        i=$((i + 1))
        kill -0 "$MGR_PID" 2>/dev/null || { tail -n 20 "$T/mgr.log" >&2; fail "vtpm-mgr exited"; }
        [ $i -lt 300 ] || fail "vtpm-mgr not ready after 30 s"
        sleep 0.1
    done
}

# stop_pid PID [TENTHS]: SIGTERM, up to TENTHS x 0.1 s (default 100) for it to end, then
# SIGKILL; reaps it. Returns 1 when it had to be killed.
stop_pid() {
    [ -n "$1" ] || return 0
    kill -TERM "$1" 2>/dev/null || true
    _sp_n=0 _sp_rc=0 # private names: cleanup() keeps the test's status in rc
    while kill -0 "$1" 2>/dev/null; do
        _sp_n=$((_sp_n + 1)); [ $_sp_n -lt "${2:-100}" ] || { kill -KILL "$1"; _sp_rc=1; break; }
        sleep 0.1
    done
    wait "$1" 2>/dev/null || true
    return $_sp_rc
}

# Graceful stop (SIGTERM), bounded.
stop_mgr() {
    [ -n "$MGR_PID" ] || return 0
    stop_pid "$MGR_PID" 300 || { MGR_PID=; fail "vtpm-mgr did not stop"; }
    MGR_PID=
}

# Crash: SIGKILL of the parent. Its workers keep serving and wait for the next parent to
# adopt them (docs/architecture.md, "Durability and restarts").
stop_mgr_kill() {
    [ -n "$MGR_PID" ] || return 0
    kill -KILL "$MGR_PID" 2>/dev/null || true
    wait "$MGR_PID" 2>/dev/null || true
    MGR_PID=
}

# worker_pids: the workers the parent recorded in $RUN/workers/*.rec (pid: bytes 8-11, host
# order), those still alive and still vtpm-mgr-worker processes.
worker_pids() {
    for _wr in "$RUN"/workers/*.rec; do
        [ -f "$_wr" ] || continue
        _wp=$(od -An -tu4 -j8 -N4 "$_wr" | tr -d ' ')
        [ "$(cat "/proc/$_wp/comm" 2>/dev/null)" = vtpm-mgr-worker ] && echo "$_wp"
    done
    return 0
}

# kill_workers: SIGKILL of workers a killed parent left behind (by their recorded PIDs).
kill_workers() {
    for _wp in $(worker_pids); do kill -KILL "$_wp" 2>/dev/null || true; done
}

# json FIELD: reads a JSON object on stdin and prints one top-level field.
json() { python3 -c 'import json,sys; v=json.load(sys.stdin)[sys.argv[1]]; print(v if not isinstance(v,(dict,list)) else json.dumps(v))' "$1"; }

# need_runc [TOOL...]: skips the test (exit 77) unless runc, busybox and each TOOL are
# installed and we are root (runc with real containers).
need_runc() {
    for _c in runc busybox "$@"; do
        command -v "$_c" >/dev/null 2>&1 || { echo "$_c missing"; exit 77; }
    done
    [ "$(id -u)" -eq 0 ] || { echo "runc needs root here"; exit 77; }
}

# Test PKI in the current directory: ca.pem/ca.key, server.pem/.key (IP 127.0.0.1) and
# client.pem/.key (clientAuth), all EC P-256, valid one day.
make_test_pki() {
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key \
        -subj /CN=test-ca -days 1 -out ca.pem 2>/dev/null || fail "test CA"
    mkcert server "subjectAltName=IP:127.0.0.1"
    mkcert client "extendedKeyUsage=clientAuth"
}
mkcert() { # NAME EXT: NAME.pem/.key signed by the test CA, with the extension EXT
    openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$1.key" \
        -subj "/CN=$1" -out "$1.csr" 2>/dev/null
    printf '%s\n' "$2" >"$1.ext"
    openssl x509 -req -in "$1.csr" -CA ca.pem -CAkey ca.key -CAcreateserial -days 1 \
        -extfile "$1.ext" -out "$1.pem" 2>/dev/null || fail "cert $1"
}

# vt SOCKET tool args...: a tpm2-tools command against one vTPM, time-bounded.
vt() { s=$1; shift; TPM2TOOLS_TCTI="swtpm:path=$s" timeout 30 "$@"; }

create_vtpm() { "$BIN/vtpmctl" create "$@" >"$T/create.json" && json uuid <"$T/create.json"; }
sock_of() { "$BIN/vtpmctl" info "$1" | json socket; }
