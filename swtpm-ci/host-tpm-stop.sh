#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Stops the host TPM that host-tpm-start.sh started in DIR, by its PID files only: the
# slowtpm proxy first (when SLOW_TPM started one), then swtpm.
#
# Usage: host-tpm-stop.sh DIR     (exit 0 also when nothing is running)
set -eu

die() { echo "host-tpm-stop: $*" >&2; exit 1; }

[ $# -eq 1 ] || die "usage: host-tpm-stop.sh DIR"
[ -d "$1" ] || exit 0
D=$(cd "$1" && pwd)

# is_ours PID PATTERN: the process still runs a command line matching PATTERN (PIDs get reused).
is_ours() {
    cmd=$(tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null) || return 1
    case "$cmd" in
        $2) return 0 ;;
        *) return 1 ;;
    esac
}

# stop NAME PATTERN: TERM, up to 5 s, then KILL, of the PID in DIR/NAME.pid if it is ours.
stop() {
    pidfile="$D/$1.pid"
    [ -f "$pidfile" ] || return 0
    pid=$(cat "$pidfile")
    case "$pid" in
        '' | *[!0-9]*) die "bad PID file $pidfile" ;;
    esac
    if kill -0 "$pid" 2>/dev/null && is_ours "$pid" "$2"; then
        kill -TERM "$pid" 2>/dev/null || true
        i=0
        while kill -0 "$pid" 2>/dev/null && [ $i -lt 50 ]; do
            sleep 0.1
            i=$((i + 1))
        done
        if kill -0 "$pid" 2>/dev/null; then
            echo "host-tpm-stop: $1 pid $pid ignored TERM for 5 s, sending KILL" >&2
            kill -KILL "$pid" 2>/dev/null || true
        fi
    fi
    rm -f "$pidfile"
}

stop slowtpm "*slowtpm*--listen $D/host-tpm.sock *"
stop swtpm "swtpm*$D/*.sock*"
rm -f "$D/host-tpm.sock" "$D/host-tpm.sock.ctrl" "$D/swtpm.sock" "$D/swtpm.sock.ctrl"
