#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Stops the swtpm host TPM that host-tpm-start.sh started in DIR, by its PID file only.
#
# Usage: host-tpm-stop.sh DIR     (exit 0 also when nothing is running)
set -eu

die() { echo "host-tpm-stop: $*" >&2; exit 1; }

[ $# -eq 1 ] || die "usage: host-tpm-stop.sh DIR"
[ -d "$1" ] || exit 0
D=$(cd "$1" && pwd)
PIDFILE="$D/swtpm.pid"
[ -f "$PIDFILE" ] || exit 0
PID=$(cat "$PIDFILE")
case "$PID" in
    '' | *[!0-9]*) die "bad PID file $PIDFILE" ;;
esac

# Only signal the process if it is still the swtpm we started (PIDs get reused).
is_ours() {
    cmd=$(tr '\0' ' ' <"/proc/$PID/cmdline" 2>/dev/null) || return 1
    case "$cmd" in
        swtpm*"$D/host-tpm.sock"*) return 0 ;;
        *) return 1 ;;
    esac
}

if kill -0 "$PID" 2>/dev/null && is_ours; then
    kill -TERM "$PID" 2>/dev/null || true
    i=0
    while kill -0 "$PID" 2>/dev/null && [ $i -lt 50 ]; do
        sleep 0.1
        i=$((i + 1))
    done
    if kill -0 "$PID" 2>/dev/null; then
        echo "host-tpm-stop: pid $PID ignored TERM for 5 s, sending KILL" >&2
        kill -KILL "$PID" 2>/dev/null || true
    fi
fi
rm -f "$PIDFILE" "$D/host-tpm.sock" "$D/host-tpm.sock.ctrl"
