# SPDX-License-Identifier: BSD-3-Clause
# Runtime integrity on this kernel (docs/runtime-integrity.md): the real `attest-agent monitor`
# watches two containers simulated as runc makes them (a tmpfs rootfs of its own, new mount,
# pid, net, ipc and uts namespaces, a cgroup v2 of its own, a tmpfs /tmp; the hook runs at
# createRuntime, then the rootfs is moved onto / and chrooted into, as `runc --no-pivot`
# does, since an initramfs cannot pivot_root). `attest-agent hook --monitor-socket` measures
# each one into a vTPM of vtpm-mgr, is allowed by a verifier in the guest (the guest TPM's EK
# issuer as its trust anchor) and registers it with the monitor (manifest from its tree walk,
# its start log). Shown: an image binary run is recorded and extended into PCR 11 of the
# container's vTPM, which the monitor's saved log replays; a copy of busybox run from /tmp is
# recorded as not in the manifest and the verifier revokes the container
# (runtime-drift:/tmp/sh); under enforcement that exec fails with EPERM while busybox runs;
# after a kill -9 the restarted monitor watches the enforced container again (exec-gap, its
# log still replays to PCR 11) and refuses /tmp/sh again.
. /tests/lib.sh
MS=/tmp/mgr-state MR=/tmp/mgr-run W=/tmp/mon CG=/sys/fs/cgroup
MSOCK=$W/monitor.sock STATE=$W/mstate NODE=kguest
MOUNTED_CG=
i=0
while pidof vtpm-mgr >/dev/null; do # an earlier test's, stopping
    i=$((i + 1)); [ $i -lt 100 ] || die "an earlier vtpm-mgr still runs"
    sleep 0.1
done
rm -rf $W && mkdir -p $W && cd $W || die "mkdir $W"
up0=$(cut -d' ' -f1 /proc/uptime)
finish() {
    for f in mgr vf mon; do [ -f $W/$f.pid ] && kill "$(cat $W/$f.pid)" 2>/dev/null; done
    cleanup
    sleep 0.5
    for c in c1 c2 c3 c4; do
        umount $W/$c/rootfs 2>/dev/null; umount $W/$c/layers 2>/dev/null; rmdir $CG/kt-$c 2>/dev/null
    done
    [ -n "$MOUNTED_CG" ] && umount $CG 2>/dev/null
}
trap finish EXIT
# bounded wait: until_ok TENTHS WHAT COMMAND...
until_ok() {
    n=$1 what=$2; shift 2
    while ! "$@"; do
        n=$((n - 1))
        [ $n -gt 0 ] || { tail -n 25 mon.log; tail -n 5 vf.log; die "$what"; }
        sleep 0.1
    done
}
count() { grep -c "$1" mon.log; }
jfield() { sed -n "s/.*\"$1\": *\"\\([^\"]*\\)\".*/\\1/p"; }

ip link set lo up || die "lo up"
if ! grep -q '^[^ ]* /sys/fs/cgroup cgroup2 ' /proc/mounts; then
    mount -t cgroup2 cgroup2 $CG || die "cgroup2 at $CG"
    MOUNTED_CG=1
fi

vtpm-mgr --foreground --state-dir $MS --run-dir $MR --host-tcti device:/dev/tpmrm0 \
    --host-ek-ca /etc/kvtpm-ek-ca.pem --seal-pcrs none </dev/null >mgr.log 2>&1 &
echo $! >mgr.pid
track $!
mgr_up() { vtpmctl --run-dir $MR list >/dev/null 2>&1; }
until_ok 300 "vtpm-mgr not ready" mgr_up

# bundle NAME MODE [overlay|hostdir]: rootfs with busybox, the container's own superblock (a
# tmpfs, or an overlay as engines make, its layers on a tmpfs of their own) or, with hostdir,
# a plain directory of the guest's /tmp; a config.json that
# passes the default launch policy (as tests/boot/bundle.sh).
bundle() {
    R=$W/$1/rootfs L=$W/$1/rootfs
    mkdir -p "$R" || die "mkdir $R"
    if [ "${3:-}" = overlay ]; then
        L=$W/$1/layers/lower
        mkdir -p $W/$1/layers && mount -t tmpfs -o mode=755 "kt-$1-layers" $W/$1/layers &&
            mkdir -p $L $W/$1/layers/upper $W/$1/layers/work || die "layers of $1"
    elif [ "${3:-}" = hostdir ]; then
        chmod 755 "$R" # a directory of the guest's /tmp: a superblock shared with the host
    else
        mount -t tmpfs -o mode=755 "kt-$1" "$R" || die "tmpfs $R"
    fi
    mkdir -p "$L/bin" "$L/dev" "$L/tmp" "$L/proc" "$L/etc" && cp /bin/busybox "$L/bin/busybox" &&
        ln -s busybox "$L/bin/sh" || die "rootfs $1"
    if [ "${3:-}" = overlay ]; then
        mount -t overlay -o "lowerdir=$L,upperdir=$W/$1/layers/upper,workdir=$W/$1/layers/work" \
            "kt-$1" "$R" || die "overlay $R"
    fi
    cat >"$W/$1/config.json" <<EOF
{"ociVersion": "1.0.2",
 "process": {"terminal": false, "user": {"uid": 1000, "gid": 1000},
  "args": ["/bin/busybox", "sleep", "100000"], "env": ["PATH=/bin"], "cwd": "/",
  "capabilities": {"bounding": [], "effective": [], "permitted": []},
  "noNewPrivileges": true},
 "root": {"path": "rootfs", "readonly": true},
 "mounts": [{"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
             "options": ["nosuid", "noexec", "mode=755"]},
            {"destination": "/tmp", "type": "tmpfs", "source": "tmpfs",
             "options": ["nosuid", "nodev", "mode=1777"]}],
 "annotations": {"org.vtpm-attest.runtime": "$2"},
 "linux": {"namespaces": [{"type": "pid"}, {"type": "network"}, {"type": "ipc"},
                          {"type": "uts"}, {"type": "mount"}],
  "resources": {"memory": {"limit": 67108864}, "cpu": {"shares": 512}, "pids": {"limit": 64}},
  "maskedPaths": ["/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys",
                  "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats",
                  "/proc/sched_debug", "/sys/firmware", "/proc/scsi"],
  "readonlyPaths": ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"],
  "seccomp": {"defaultAction": "SCMP_ACT_ERRNO", "architectures": ["SCMP_ARCH_X86_64"],
   "syscalls": [{"names": ["read", "write", "openat", "close", "execve", "exit_group"],
                 "action": "SCMP_ACT_ALLOW"}]}}}
EOF
}
grep -qw overlay /proc/filesystems || insmod /lib/modules/overlay.ko || die "insmod overlay.ko"
bundle c1 monitor
bundle c2 enforce
bundle c3 enforce overlay
bundle c4 monitor hostdir

# The verifier: the default policy with the rootfs (both the same), runtime and agent digests.
attest-agent measure --bundle $W/c1 --runtime /bin/busybox >m.json || die "measure"
verifier policy default >policy.json || die "policy default"
verifier policy allow --policy policy.json --rootfs-digest "$(jfield rootfs_digest <m.json)" \
    --runtime-digest "$(jfield runtime_digest <m.json)" \
    --agent-digest "$(jfield agent_digest <m.json)" || die "policy allow"
mkdir trust && cp /etc/kvtpm-ek-ca.pem trust/ || die "trust"
verifier serve --listen 127.0.0.1:0 --port-file port --db sqlite:$W/vf.db --policy policy.json \
    --trust trust --insecure-no-tls </dev/null >vf.log 2>&1 &
echo $! >vf.pid
track $!
until_ok 300 "verifier did not start" test -s port
URL=http://127.0.0.1:$(cat port)
verdict() { wget -q -O - "$URL/v1/containers/kt-$1" 2>/dev/null; }

start_mon() {
    rm -f $MSOCK
    attest-agent monitor --verifier "$URL" --run-dir $MR --monitor-socket $MSOCK \
        --cache-dir $W/mcache --state-dir $STATE --node-name $NODE </dev/null >>mon.log 2>&1 &
    echo $! >mon.pid
    track $!
    until_ok 300 "the monitor did not start" test -S $MSOCK
}
mkdir -m 0700 mcache hcache bind || die "cache dirs"
taint0=$(cat /proc/sys/kernel/tainted)
start_mon

# start_ctr NAME: the container's process in its cgroup and namespaces, waiting (before its
# chroot) for NAME.go; its rootfs bound onto itself (as runc does: a plain directory becomes
# a mount), its /tmp a tmpfs of its own. Sets P.
start_ctr() {
    R=$W/$1/rootfs
    mkdir $CG/kt-$1 || die "cgroup kt-$1"
    mkfifo $W/$1.go
    sh -c "echo \$\$ >$CG/kt-$1/cgroup.procs && exec unshare -m -p -n -i -u -f sh -c '
        read -r p r </proc/self/stat; mount --make-rprivate /
        mountpoint -q $R || mount --bind $R $R
        mount -t tmpfs -o nosuid,nodev,mode=1777 tmpfs $R/tmp
        mount -t tmpfs -o nosuid,noexec,mode=755 tmpfs $R/dev
        echo \$p >$W/$1.pid; read x <$W/$1.go
        cd $R && mount --move . / && exec chroot . /bin/busybox sleep 100000'" \
        </dev/null >$W/$1.out 2>&1 &
    track $!
    until_ok 50 "container $1 did not start" test -s $W/$1.pid
    P=$(cat $W/$1.pid)
    track "$P"
}
# hook NAME: createRuntime: the hook with the OCI state runc would give it; it must allow.
hook() {
    printf '{"ociVersion": "1.0.2", "id": "kt-%s", "status": "creating", "pid": %s, "bundle": "%s"}' \
        "$1" "$P" "$W/$1" | attest-agent hook --verifier "$URL" --run-dir $MR --timeout 60 \
        --runtime /bin/busybox --cache-dir $W/hcache --agent-socket '' --bind-dir $W/bind \
        --kernel-device off --node-name $NODE --monitor-socket $MSOCK >$1.hook 2>&1 ||
        { cat $1.hook; tail -n 20 mon.log vf.log; die "$1: the hook did not allow the start"; }
}
# x NAME CMD...: CMD in container NAME (its cgroup, namespaces and root), as `runc exec`.
x() {
    c=$1; shift
    sh -c 'echo $$ >'"$CG/kt-$c"'/cgroup.procs && exec nsenter -t '"$(cat $W/$c.pid)"' -m -p -n -i -u -r "$@"' sh "$@"
}
# the vTPM of container NAME (the verifier's row) and PCR 11 there
vtpm_of() { verdict "$1" | jfield vtpm_uuid; }
pcr11() { tpm2_pcrread -T "swtpm:path=$MR/vtpm/$(vtpm_of "$1")/tpm.sock" sha256:11 | tpm_hex; }
# the monitor's saved state of container NAME, replayed
state_of() { grep -l "kt-$1" $STATE/*.ctr | head -n 1; }
replay11() { evidence_show --state "$(state_of "$1")" | sed -n 's/^replay_11: //p'; }
types() { evidence_show --state "$(state_of "$1")" | sed -n 's/^types: //p'; }
allowed() { [ "$(count "container kt-$1: runtime evidence allowed")" -ge "$2" ]; }
denied() { grep -q "container kt-$1: runtime evidence denied" mon.log; }

# --- monitor mode: an image binary recorded in PCR 11 ---------------------------------------
start_ctr c1
P1=$P
t0=$(cut -d' ' -f1 /proc/uptime)
hook c1
note "c1 allowed and registered in $(awk "BEGIN{print $(cut -d' ' -f1 /proc/uptime) - $t0}") s"
grep -q "container kt-c1: watched (monitor" mon.log || { cat mon.log; die "c1 not watched"; }
grep -q "container kt-c1: $W/c1/rootfs (tmpfs.*permission events" mon.log ||
    { cat mon.log; die "c1's rootfs superblock not marked with permission events"; }
grep -q "container kt-c1: $W/c1/rootfs/tmp (tmpfs.*permission events" mon.log ||
    die "c1's /tmp not marked"
[ "$(pcr11 c1)" = "$(printf '%064d' 0)" ] || die "PCR 11 of c1's vTPM not zero at the start"
echo go >$W/c1.go
until_ok 300 "c1: its first exec not recorded" grep -q "container kt-c1: exec /bin/busybox sha256:" mon.log
until_ok 300 "c1: no runtime evidence allowed" allowed c1 1
A=$(pcr11 c1)
[ -n "$A" ] && [ "$A" != "$(printf '%064d' 0)" ] || die "PCR 11 of c1's vTPM not extended ('$A')"
[ "$(replay11 c1)" = "$A" ] || die "c1: the monitor's saved log ($(replay11 c1)) does not replay to PCR 11 ($A)"
types c1 | grep -q ' exec$' || die "c1: no exec record in the saved log: $(types c1)"
verdict c1 | grep -q '"verdict": *"allow"' || { verdict c1; die "c1: verifier verdict not allow"; }
x c1 /bin/busybox true || die "c1: exec busybox"
grep -q "not a file of the measured rootfs" mon.log && die "an image binary was taken for drift"
note "monitor mode: /bin/busybox recorded, PCR 11 $A replayed from the saved log, verdict allow"

# --- a binary that is not the image's -------------------------------------------------------
x c1 /bin/busybox cp /bin/busybox /tmp/sh || die "c1: cp to /tmp"
out=$(x c1 /tmp/sh -c 'echo ran-from-tmp') || die "c1: /tmp/sh did not run in monitor mode"
[ "$out" = ran-from-tmp ] || die "c1: /tmp/sh printed '$out'"
grep -q "container kt-c1: exec /tmp/sh sha256:[0-9a-f]* (not a file of the measured rootfs)" mon.log ||
    { cat mon.log; die "c1: /tmp/sh not recorded as outside the manifest"; }
until_ok 300 "c1: the verifier did not revoke it after /tmp/sh" denied c1
B1=$(pcr11 c1)
[ "$B1" != "$A" ] && [ "$(replay11 c1)" = "$B1" ] || die "c1: PCR 11 ($B1) not extended by /tmp/sh or not the saved log's"
verdict c1 | grep -q 'runtime-drift:/tmp/sh' || { verdict c1; die "c1: reason not runtime-drift:/tmp/sh"; }
note "/tmp/sh recorded (not in the manifest), PCR 11 $B1, verifier: deny runtime-drift:/tmp/sh"

# --- enforcement --------------------------------------------------------------------------
start_ctr c2
hook c2
grep -q "container kt-c2: watched (enforce" mon.log || { cat mon.log; die "c2 not enforced"; }
echo go >$W/c2.go
until_ok 300 "c2: no runtime evidence allowed" allowed c2 1
x c2 /bin/busybox true || die "c2: the image's busybox was refused"
x c2 /bin/busybox cp /bin/busybox /tmp/sh || die "c2: cp to /tmp"
refused() { # the exec of /tmp/sh fails with EPERM and prints nothing
    if x c2 /tmp/sh -c 'echo ran' >c2.exec 2>&1; then cat c2.exec; die "c2: /tmp/sh ran under enforcement"; fi
    grep -q 'Operation not permitted' c2.exec || { cat c2.exec; die "c2: /tmp/sh not refused with EPERM"; }
    grep -q '^ran' c2.exec && die "c2: /tmp/sh printed its output"
    x c2 /bin/busybox true || die "c2: the image's busybox refused after a denial"
}
refused
grep -q "container kt-c2: exec of /tmp/sh (sha256:[0-9a-f]*) denied" mon.log || die "c2: no denial logged"
verdict c2 | grep -q '"verdict": *"allow"' || { verdict c2; die "c2: verdict not allow"; }
note "enforcement: /tmp/sh refused with EPERM, busybox runs, verdict allow"

# --- an overlay rootfs (an engine's): paths as the container sees them, enforced ------------
start_ctr c3
hook c3
grep -q "container kt-c3: $W/c3/rootfs (overlay.*permission events, enforced" mon.log ||
    { cat mon.log; die "c3's overlay not marked with permission events"; }
echo go >$W/c3.go
until_ok 300 "c3: its first exec not recorded as /bin/busybox" \
    grep -q "container kt-c3: exec /bin/busybox sha256:" mon.log
x c3 /bin/busybox cp /bin/busybox /sh2 || die "c3: cp into the overlay"
refused3() {
    if x c3 /sh2 -c 'echo ran' >c3.exec 2>&1; then cat c3.exec; die "c3: /sh2 ran under enforcement"; fi
    grep -q 'Operation not permitted' c3.exec || { cat c3.exec; die "c3: /sh2 not refused with EPERM"; }
    x c3 /bin/busybox true || die "c3: busybox refused"
}
refused3
grep -q "container kt-c3: exec of /sh2 (sha256:[0-9a-f]*) denied" mon.log || die "c3: no denial of /sh2"
until_ok 300 "c3: no runtime evidence allowed" allowed c3 1
note "overlay rootfs: /bin/busybox recorded at its path in the container, /sh2 written into the overlay refused"

# --- a rootfs that is a directory of the host's file system: notifications ---------------
start_ctr c4
hook c4
grep -q "container kt-c4: $W/c4/rootfs (tmpfs.*shared with the host: notifications" mon.log ||
    { cat mon.log; die "c4's rootfs not watched with notifications"; }
grep -q "container kt-c4: $W/c4/rootfs/tmp (tmpfs.*permission events, always allowed" mon.log ||
    die "c4's own /tmp not watched with permission events"
echo go >$W/c4.go
until_ok 300 "c4: the exec of its process not recorded (FAN_OPEN_EXEC)" \
    grep -q "container kt-c4: exec /bin/busybox sha256:" mon.log
until_ok 300 "c4: no runtime evidence allowed" allowed c4 1
note "rootfs shared with the host: its long-running process's exec recorded from a notification"

# --- a restart: kill -9, the state directory gives the containers back -----------------------
C2=$(pcr11 c2)
kill -9 "$(cat mon.pid)"
i=0
while kill -0 "$(cat mon.pid)" 2>/dev/null; do i=$((i + 1)); [ $i -lt 50 ] || die "monitor not dead"; sleep 0.1; done
start_mon
grep -q "container kt-c2: watched again (enforce" mon.log || { cat mon.log; die "c2 not watched again"; }
grep -q "container kt-c3: watched again (enforce" mon.log || { cat mon.log; die "c3 not watched again"; }
refused
refused3
[ "$(grep -c "container kt-c2: exec of /tmp/sh (sha256:[0-9a-f]*) denied" mon.log)" -ge 2 ] ||
    die "c2: no denial after the restart"
until_ok 300 "c2: no evidence after the restart" denied c2
types c2 | grep -q 'exec-gap' || die "c2: no exec-gap record: $(types c2)"
G=$(pcr11 c2)
[ "$G" != "$C2" ] && [ "$(replay11 c2)" = "$G" ] || die "c2: PCR 11 ($G) not the saved log's after the restart"
verdict c2 | grep -q 'runtime-monitor-gap' || { verdict c2; die "c2: reason not runtime-monitor-gap"; }
note "restart: c2 watched again, /tmp/sh refused again, exec-gap in PCR 11 ($G), verifier: runtime-monitor-gap"
note "kernel taint before the monitor $taint0, after $(cat /proc/sys/kernel/tainted)"
note "$(awk "BEGIN{print $(cut -d' ' -f1 /proc/uptime) - $up0}") s in all"
for c in c1 c2 c3 c4; do vtpmctl --run-dir $MR delete "$(vtpm_of $c)" >/dev/null 2>&1; done
exit 0
