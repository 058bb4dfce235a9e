# SPDX-License-Identifier: BSD-3-Clause
# Helpers for the guest-side kmod-vtpm tests: containers made with unshare,
# echo servers forwarding to /dev/tpmrm0, and cleanup of what a test started.
set -u
KO=/lib/modules/vtpm_attest.ko
LIST=/sys/kernel/security/vtpm_attest/measurements
PCR=13
PIDFILE=/tmp/kernel-test.pids

die() { echo "FAIL: $*"; exit 1; }
note() { echo "-- $*"; }

# Helpers run in $(...) subshells, so started pids are kept in a file.
track() { echo "$1" >>"$PIDFILE"; }

cleanup() {
    [ -f "$PIDFILE" ] || return 0
    for p in $(cat "$PIDFILE"); do kill -9 "$p" 2>/dev/null; done
    rm -f "$PIDFILE"
}
trap cleanup EXIT

ensure_module() {
    [ -c /dev/vtpmx-attest ] && return 0
    insmod "$KO" || die "insmod $KO"
    [ -c /dev/vtpmx-attest ] || die "no /dev/vtpmx-attest"
}

# start_container NAME: new mnt+pid+net namespaces; prints the host pid of its pid 1.
start_container() {
    rm -f "/tmp/$1.pid"
    unshare -m -p -n -f sh -c "read -r p r </proc/self/stat; echo \$p >/tmp/$1.pid; exec sleep 100000" </dev/null >/dev/null 2>&1 &
    track $!
    i=0
    while [ ! -s "/tmp/$1.pid" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
    [ -s "/tmp/$1.pid" ] || die "container $1 did not start"
    p=$(cat "/tmp/$1.pid")
    track "$p"
    echo "$p"
}

# start_server NAME PID UUID [args]: prints the device index; server pid in /tmp/NAME.srvpid.
start_server() {
    n=$1 p=$2 u=$3; shift 3
    kvtpm_echo_server --pid "$p" --uuid "$u" --label "$n" "$@" </dev/null >"/tmp/$n.srv" 2>&1 &
    echo $! >"/tmp/$n.srvpid"
    track $!
    i=0
    while ! grep -q '^index=' "/tmp/$n.srv" && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
    grep -q '^index=' "/tmp/$n.srv" || { cat "/tmp/$n.srv"; die "server $n did not start"; }
    sed -n 's/^index=//p' "/tmp/$n.srv"
}

# in_ns PID CMD...: run CMD in the mnt, pid and net namespaces of PID.
in_ns() { p=$1; shift; nsenter -t "$p" -m -p -n -- "$@"; }

tpm_hex() { tr -d '\n' | sed -n 's/.*0x\([0-9A-Fa-f]*\).*/\1/p' | tr 'A-F' 'a-f'; }

host_pcr() { tpm2_pcrread -T device:/dev/tpmrm0 "sha256:$PCR" | tpm_hex; }

replayed_pcr() { kvtpm_replay | awk '{print $3}'; }
