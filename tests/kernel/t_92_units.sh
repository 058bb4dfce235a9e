# SPDX-License-Identifier: BSD-3-Clause
# The shipped systemd units' capability sets are enough, and the kmod-vtpm drop-in is needed:
# vtpm-mgr run with exactly systemd/vtpm-mgr.service's CapabilityBoundingSet serves socket
# vTPMs but is refused kmod-vtpm devices (EPERM); with vtpm-mgr.service.d/kmod-vtpm.conf's
# added it creates one that a container uses; vtpm-cuse with vtpm-cuse@.service's set makes
# its device and serves it. (setpriv stands in for systemd's bounding set.)
. /tests/lib.sh
ensure_module
grep -q '^fuse ' /proc/modules || insmod /lib/modules/fuse.ko 2>/dev/null
grep -q '^cuse ' /proc/modules || insmod /lib/modules/cuse.ko || die "insmod cuse.ko"
U=/tests/systemd
MS=/tmp/mgr-state MR=/tmp/mgr-run
# caps FILE...: the CapabilityBoundingSet= of unit files (and drop-ins) as setpriv's list.
caps() {
    sed -n 's/^CapabilityBoundingSet=//p' "$@" | tr ' ' '\n' | grep . |
        sed 's/^CAP_//' | tr 'A-Z' 'a-z' | sed 's/^/+/' | paste -s -d, -
}
field() { sed -n "s/.*\"$1\": \"\\([^\"]*\\)\".*/\\1/p"; }
# mgr_with CAPLIST: vtpm-mgr under that bounding set; its pid in /tmp/u-mgr.pid.
mgr_with() {
    /usr/bin/setpriv --bounding-set "-all,$1" vtpm-mgr --foreground --state-dir $MS --run-dir $MR \
        --host-tcti device:/dev/tpmrm0 --seal-pcrs none </dev/null >>/tmp/u-mgr.log 2>&1 &
    echo $! >/tmp/u-mgr.pid
    track $!
    i=0
    until vtpmctl --run-dir $MR list >/dev/null 2>&1; do
        i=$((i + 1)); [ $i -lt 300 ] || { tail /tmp/u-mgr.log; die "vtpm-mgr ($1) not ready"; }
        sleep 0.1
    done
}
stop_umgr() {
    m=$(cat /tmp/u-mgr.pid)
    kill "$m"
    i=0
    while kill -0 "$m" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
    kill -0 "$m" 2>/dev/null && die "vtpm-mgr did not stop"
    return 0
}
BASE=$(caps $U/vtpm-mgr.service)
KMOD=$(caps $U/vtpm-mgr.service $U/vtpm-mgr.service.d/kmod-vtpm.conf)
CUSE=$(caps $U/vtpm-cuse@.service)
[ -n "$BASE" ] && [ -n "$CUSE" ] || die "no CapabilityBoundingSet in the units"
note "vtpm-mgr.service: $BASE; with kmod-vtpm.conf: $KMOD; vtpm-cuse@.service: $CUSE"

mgr_with "$BASE"
vtpmctl --run-dir $MR create --name u-sock >/tmp/u-sock.json || die "socket vTPM with the unit's caps"
S=$(field socket </tmp/u-sock.json)
tpm2_getrandom -T "swtpm:path=$S" 8 >/dev/null || die "socket vTPM does not answer"
P1=$(start_container u1)
vtpmctl --run-dir $MR create --name u-dev --device --bind-pid "$P1" >/tmp/u-dev.json 2>&1 &&
    die "a kmod-vtpm device without CAP_SYS_ADMIN: the test cannot tell the drop-in is needed"
note "vtpm-mgr.service alone: socket vTPM served, device refused ($(head -c 120 /tmp/u-dev.json))"
stop_umgr

mgr_with "$KMOD"
vtpmctl --run-dir $MR create --name u-dev --device --bind-pid "$P1" >/tmp/u-dev.json ||
    { cat /tmp/u-dev.json; tail /tmp/u-mgr.log; die "device with the kmod-vtpm drop-in's caps"; }
D=$(field device </tmp/u-dev.json)
in_ns "$P1" tpm2_getrandom -T "device:$D" 8 >/dev/null || die "$D does not answer in its container"
note "with kmod-vtpm.conf: $D created and used in its container"

rm -f /dev/vtpm-unit0
/usr/bin/setpriv --bounding-set "-all,$CUSE" vtpm-cuse --socket "$S" --name vtpm-unit0 --foreground \
    --timeout 5 </dev/null >/tmp/u-cuse.log 2>&1 &
C=$!
track $C
i=0
while [ ! -c /dev/vtpm-unit0 ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
[ -c /dev/vtpm-unit0 ] || { cat /tmp/u-cuse.log; die "vtpm-cuse with vtpm-cuse@.service's caps made no device"; }
tpm2_getrandom -T device:/dev/vtpm-unit0 8 >/dev/null || die "vtpm-cuse device does not answer"
note "vtpm-cuse with $CUSE: /dev/vtpm-unit0 serves"
kill $C
vtpmctl --run-dir $MR delete u-dev >/dev/null || die "delete u-dev"
vtpmctl --run-dir $MR delete u-sock >/dev/null || die "delete u-sock"
stop_umgr
