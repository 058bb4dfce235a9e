# SPDX-License-Identifier: BSD-3-Clause
# The kernel device at container start, with no manual step: a container simulated as runc
# makes it (new mount, pid and net namespaces; its rootfs with a tmpfs /dev, reached by path
# until it chroots into it, as runc before pivot_root; a cgroup v1 device cgroup that allows
# only the memory devices) is given to `attest-agent hook` at that point. The hook (kmod-vtpm
# detected: the control device exists) has vtpm-mgr make a /dev/vtpm<N> bound to the
# container and its node /dev/tpm0 in the container's /dev with the cgroup rule; the
# container then uses its vTPM at /dev/tpm0 (the host's /dev/tpm0 is untouched). The
# verifier is unreachable (the hook's later steps fail; the named vTPM keeps its device).
# A graceful vtpm-mgr restart closes every device: the new vtpm-mgr makes it again from its
# state dir, with a new node in the container, and the container's binding (its bindings
# file removed: the device record alone gives it back). A container that
# ended is dropped at the next restart.
. /tests/lib.sh
ensure_module
# The state and run dirs of t_90 (the guest's host TPM is provisioned for that state dir);
# a fresh one when this test runs alone.
MS=/tmp/mgr-state MR=/tmp/mgr-run CG=/tmp/kd-cg B=/tmp/kd1 R=/tmp/kd1/rootfs
i=0
while pidof vtpm-mgr >/dev/null; do # t_90's, stopping
    i=$((i + 1)); [ $i -lt 100 ] || die "an earlier vtpm-mgr still runs"
    sleep 0.1
done
start_mgr() {
    vtpm-mgr --foreground --state-dir $MS --run-dir $MR --host-tcti device:/dev/tpmrm0 \
        --seal-pcrs none </dev/null >>/tmp/kd-mgr.log 2>&1 &
    echo $! >/tmp/kd-mgr.pid
    track $!
    i=0
    until vtpmctl --run-dir $MR list >/dev/null 2>&1; do
        i=$((i + 1)); [ $i -lt 300 ] || { tail /tmp/kd-mgr.log; die "vtpm-mgr not ready"; }
        sleep 0.1
    done
}
stop_mgr() { # graceful: SIGTERM, wait for the exit
    p=$(cat /tmp/kd-mgr.pid)
    kill "$p"
    i=0
    while kill -0 "$p" 2>/dev/null; do
        i=$((i + 1)); [ $i -lt 300 ] || die "vtpm-mgr did not stop"
        sleep 0.1
    done
}
field() { sed -n "s/.*\"$1\": \"\\([^\"]*\\)\".*/\\1/p"; }
devno() { stat -c '%t:%T' "$1"; }
# in_ctr CMD...: CMD in the container: its device cgroup, namespaces and root.
in_ctr() { sh -c 'echo 0 >'"$CG"'/ctr/tasks && exec nsenter -t '"$P"' -m -p -n -r "$@"' sh "$@"; }
finish() {
    [ -f /tmp/kd-mgr.pid ] && kill "$(cat /tmp/kd-mgr.pid)" 2>/dev/null
    cleanup
    sleep 0.5
    umount "$CG" 2>/dev/null
}
trap finish EXIT

start_mgr
vtpmctl --run-dir $MR create --name kd1 >/tmp/kd1.json || die "create kd1"
# The device cgroup of the container: only the memory devices (null, zero, ...) allowed.
mkdir -p $CG && mount -t cgroup -o devices cgroup $CG || die "cgroup v1 devices"
mkdir $CG/ctr
MAJ=$(sed -n 's/^ *\([0-9]*\) vtpm_attest$/\1/p' /proc/devices)
[ -n "$MAJ" ] || die "no vtpm_attest major in /proc/devices"
echo a >$CG/ctr/devices.deny && echo "c 1:* rwm" >$CG/ctr/devices.allow || die "device cgroup"
HOSTTPM=$(devno /dev/tpm0)

# The bundle: rootfs with mount points, config.json with a tmpfs /dev; runc's order: the
# mounts are made, the createRuntime hook runs, then the process changes its root.
mkdir -p $R/dev $R/usr $R/bin $R/tmp && ln -s usr/lib $R/lib && ln -s usr/lib64 $R/lib64
cat >$B/config.json <<EOF
{"ociVersion": "1.0.2", "root": {"path": "rootfs"},
 "process": {"args": ["/bin/sleep", "100000"], "cwd": "/", "user": {"uid": 0, "gid": 0}},
 "mounts": [{"destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid"]}],
 "annotations": {"org.vtpm-attest.vtpm": "kd1"},
 "linux": {"namespaces": [{"type": "pid"}, {"type": "mount"}, {"type": "network"}]}}
EOF
mkfifo /tmp/kd1.go
unshare -m -p -n -f sh -c "echo 0 >$CG/ctr/tasks; read -r p r </proc/self/stat; mount --make-rprivate /
    mount -t tmpfs -o nosuid tmpfs $R/dev; echo \$p >/tmp/kd1.pid; read x </tmp/kd1.go
    mount --bind /usr $R/usr; mount --bind /bin $R/bin; exec chroot $R /bin/sleep 100000" \
    </dev/null >/tmp/kd1.ctr 2>&1 &
track $!
i=0
while [ ! -s /tmp/kd1.pid ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
[ -s /tmp/kd1.pid ] || die "container did not start"
P=$(cat /tmp/kd1.pid)
track "$P"

# createRuntime: the hook, with the OCI state runc would give it.
mkdir -m 0700 /tmp/kd-bind
printf '{"ociVersion": "1.0.2", "id": "kd1", "status": "creating", "pid": %s, "bundle": "%s"}' \
    "$P" "$B" | attest-agent hook --verifier http://127.0.0.1:1 --run-dir $MR --timeout 60 \
    --cache-dir '' --agent-socket '' --bind-dir /tmp/kd-bind --no-host-evidence >/tmp/kd-hook.log 2>&1 &&
    die "the hook allowed a start with no verifier"
grep -q 'cannot give vTPM' /tmp/kd-hook.log && { cat /tmp/kd-hook.log; die "hook: no device"; }
vtpmctl --run-dir $MR info kd1 >/tmp/kd1.info || die "info"
D=$(field device </tmp/kd1.info)
[ -n "$D" ] && [ "$(field node </tmp/kd1.info)" = /dev/tpm0 ] ||
    { cat /tmp/kd-hook.log /tmp/kd1.info; die "the hook gave the container no device"; }
note "the hook made $D for the container, node /dev/tpm0"
[ "$(nsenter -t "$P" -m stat -c '%t:%T' $R/dev/tpm0)" = "$(devno "$D")" ] || die "container node is not $D"
[ "$(devno /dev/tpm0)" = "$HOSTTPM" ] || die "the host's /dev/tpm0 was changed"
MIN=$(stat -c '%T' "$D")
grep -q "^c $MAJ:$((0x$MIN)) rw\$" $CG/ctr/devices.list ||
    { cat $CG/ctr/devices.list; tail -5 /tmp/kd-mgr.log; die "no device rule for $D"; }
echo go >/tmp/kd1.go
sleep 0.5
in_ctr tpm2_getrandom -T device:/dev/tpm0 --hex 16 >/dev/null || die "getrandom at /dev/tpm0 in the container"
# PCRs 8-10: the hook's measurements (it extended them before asking the verifier).
in_ctr tpm2_pcrread -T device:/dev/tpm0 sha256:8,9,10 -o /tmp/pcrs.before >/dev/null || die "pcrread"
[ -n "$(od -An -tx1 $R/tmp/pcrs.before | tr -d ' 0\n')" ] || die "PCRs 8-10 not extended by the hook"
note "the container uses its vTPM at /dev/tpm0 (cgroup rule c $MAJ:$((0x$MIN)))"

# A graceful restart: every device closed; the next vtpm-mgr makes it again.
INO=$(nsenter -t "$P" -m -r stat -c %i /dev/tpm0)
stop_mgr
[ -e "$D" ] && sleep 1
[ -e "$D" ] && die "$D left after vtpm-mgr stopped"
in_ctr tpm2_getrandom -T device:/dev/tpm0 8 >/dev/null 2>&1 && die "device still answers after the stop"
rm -f $MR/workers/bindings # the container's binding then comes from the device record alone
start_mgr
vtpmctl --run-dir $MR info kd1 >/tmp/kd1.info2 || die "info after restart"
D2=$(field device </tmp/kd1.info2)
[ -n "$D2" ] || { tail -20 /tmp/kd-mgr.log; die "no device after the restart"; }
grep -q '"bound": true' /tmp/kd1.info2 || die "container not bound again"
grep -q "binding to pid [0-9]*'s container restored" /tmp/kd-mgr.log && { cat /tmp/kd-mgr.log; die "binding restored from the removed file"; }
[ "$(nsenter -t "$P" -m -r stat -c '%t:%T' /dev/tpm0)" = "$(devno "$D2")" ] || die "node not $D2"
[ "$(nsenter -t "$P" -m -r stat -c %i /dev/tpm0)" != "$INO" ] || die "node not made again"
in_ctr tpm2_getrandom -T device:/dev/tpm0 8 >/dev/null || die "getrandom after the restart"
in_ctr tpm2_pcrread -T device:/dev/tpm0 sha256:8,9,10 -o /tmp/pcrs.after >/dev/null || die "pcrread after"
cmp -s $R/tmp/pcrs.before $R/tmp/pcrs.after || die "PCRs 8-10 changed across the restart"
tpm2_getrandom -T "device:$D2" 8 >/dev/null 2>&1 && die "the host used the container's $D2"
note "after the restart: $D2 made again at /dev/tpm0 in the container, bound, PCRs kept"

# The container ends: the next start drops its record.
kill -9 "$P"
sleep 0.3
stop_mgr
start_mgr
vtpmctl --run-dir $MR info kd1 | grep -q '"device"' && die "device made for a container that ended"
grep -q 'container is gone' /tmp/kd-mgr.log || die "no log of the dropped device"
[ -e $MS/devices ] && die "record of the ended container kept"
stop_mgr
note "a container that ended gets no device at the next start"
