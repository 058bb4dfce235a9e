# SPDX-License-Identifier: BSD-3-Clause
# Runtime integrity on this kernel (docs/runtime-integrity.md): the real `attest-agent monitor`
# watches containers that real runc runs (`runc create --no-pivot`: an initramfs cannot
# pivot_root; runc then moves the rootfs onto / and chroots), each in a cgroup v2 of its own
# with new pid, net, ipc, uts and mount namespaces and a tmpfs /tmp. Their createRuntime hook
# is `attest-agent hook --monitor-socket`: it measures the container into a vTPM of vtpm-mgr,
# is allowed by a verifier in the guest (the guest TPM's EK issuer as its trust anchor) and
# registers it with the monitor (manifest from its tree walk, its start log). Shown: an image
# binary run is recorded and extended into PCR 11 of the container's vTPM, which the
# monitor's saved log replays; a copy of busybox run from /tmp is recorded as not in the
# manifest and the verifier revokes the container (runtime-drift:/tmp/sh); under enforcement
# that exec fails with EPERM while busybox runs, on a tmpfs rootfs and on an overlay rootfs
# (the path recorded is the container's); a rootfs that is a directory of the host's file
# system is watched by notifications; after a kill -9 the restarted monitor watches the
# containers again (exec-gap; the log still replays to PCR 11) and refuses again.
. /tests/lib.sh
MS=/tmp/mgr-state MR=/tmp/mgr-run W=/tmp/mon CG=/sys/fs/cgroup
MSOCK=$W/monitor.sock STATE=$W/mstate NODE=kguest CTRS="c1 c2 c3 c4"
MOUNTED_CG=
i=0
while pidof vtpm-mgr >/dev/null; do # an earlier test's, stopping
    i=$((i + 1)); [ $i -lt 100 ] || die "an earlier vtpm-mgr still runs"
    sleep 0.1
done
rm -rf $W && mkdir -p $W && cd $W || die "mkdir $W"
up0=$(cut -d' ' -f1 /proc/uptime)
finish() {
    for c in $CTRS; do timeout 10 runc delete -f kt-$c >/dev/null 2>&1; done
    for f in mgr vf mon; do [ -f $W/$f.pid ] && kill "$(cat $W/$f.pid)" 2>/dev/null; done
    cleanup
    sleep 0.5
    for c in $CTRS; do umount $W/$c/rootfs 2>/dev/null; umount $W/$c/layers 2>/dev/null; done
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
now() { cut -d' ' -f1 /proc/uptime; }
since() { awk "BEGIN{print $(now) - $1}"; }

ip link set lo up || die "lo up"
if ! grep -q '^[^ ]* /sys/fs/cgroup cgroup2 ' /proc/mounts; then
    mount -t cgroup2 cgroup2 $CG || die "cgroup2 at $CG"
    MOUNTED_CG=1
fi
grep -qw overlay /proc/filesystems || insmod /lib/modules/overlay.ko || die "insmod overlay.ko"

vtpm-mgr --foreground --state-dir $MS --run-dir $MR --host-tcti device:/dev/tpmrm0 \
    --host-ek-ca /etc/kvtpm-ek-ca.pem --seal-pcrs none </dev/null >mgr.log 2>&1 &
echo $! >mgr.pid
track $!
mgr_up() { vtpmctl --run-dir $MR list >/dev/null 2>&1; }
until_ok 300 "vtpm-mgr not ready" mgr_up
verifier policy default >policy.json || die "policy default"
mkdir trust && cp /etc/kvtpm-ek-ca.pem trust/ || die "trust"
verifier serve --listen 127.0.0.1:0 --port-file port --db sqlite:$W/vf.db --policy policy.json \
    --trust trust --insecure-no-tls </dev/null >vf.log 2>&1 &
echo $! >vf.pid
track $!
until_ok 300 "verifier did not start" test -s port
URL=http://127.0.0.1:$(cat port)
verdict() { wget -q -O - "$URL/v1/containers/kt-$1" 2>/dev/null; }

# The system calls the default launch policy wants blocked (the agent's own list): a
# default-allow profile refusing them passes it.
DANGEROUS=$(attest-agent dangerous-syscalls) && [ -n "$DANGEROUS" ] || die "attest-agent dangerous-syscalls"
# bundle NAME MODE tmpfs|overlay|hostdir [dynamic]: an OCI bundle whose rootfs (busybox; with
# dynamic also setpriv, a dynamically linked binary, with its loader and libraries) is a tmpfs
# or an overlay (as engines make; its layers on a tmpfs of their own), the container's own
# superblock, or a plain directory of the guest's /tmp (a superblock shared with the host);
# its config.json passes the default launch policy and has the hook registering it with the
# monitor in MODE. Its digests are allowed in the verifier's policy.
bundle() {
    R=$W/$1/rootfs L=$W/$1/rootfs ro=true
    mkdir -p "$R" || die "mkdir $R"
    case $3 in
    tmpfs) mount -t tmpfs -o mode=755 "kt-$1" "$R" || die "tmpfs $R" ;;
    overlay)
        L=$W/$1/layers/lower ro=false # /srv/sh2 is written into it
        mkdir -p $W/$1/layers && mount -t tmpfs -o mode=755 "kt-$1-layers" $W/$1/layers &&
            mkdir -p $L $W/$1/layers/upper $W/$1/layers/work || die "layers of $1" ;;
    hostdir) chmod 755 "$R" ;;
    esac
    mkdir -p "$L/bin" "$L/dev" "$L/tmp" "$L/proc" "$L/etc" && cp /bin/busybox "$L/bin/busybox" &&
        ln -s busybox "$L/bin/sh" && chmod 1777 "$L/tmp" || die "rootfs $1"
    if [ "${4:-}" = dynamic ]; then
        mkdir -p "$L/lib/x86_64-linux-gnu" "$L/lib64" && cp /usr/bin/setpriv "$L/bin/" &&
            cp -L /lib64/ld-linux-x86-64.so.2 "$L/lib64/" &&
            cp -L /lib/x86_64-linux-gnu/libc.so.6 /lib/x86_64-linux-gnu/libcap-ng.so.0 \
                "$L/lib/x86_64-linux-gnu/" || die "setpriv and its libraries in $1"
    fi
    if [ "$3" = overlay ]; then
        mkdir -m 1777 "$L/srv" || die "$L/srv" # where the container's uid writes into the overlay
        mount -t overlay -o "lowerdir=$L,upperdir=$W/$1/layers/upper,workdir=$W/$1/layers/work" \
            "kt-$1" "$R" || die "overlay $R"
    fi
    cat >"$W/$1/config.json" <<EOF
{"ociVersion": "1.0.2",
 "process": {"terminal": false, "user": {"uid": 1000, "gid": 1000},
  "args": ["/bin/busybox", "sleep", "100000"], "env": ["PATH=/bin"], "cwd": "/",
  "capabilities": {"bounding": [], "effective": [], "permitted": [], "ambient": []},
  "noNewPrivileges": true},
 "root": {"path": "rootfs", "readonly": $ro},
 "hostname": "kt-$1",
 "mounts": [{"destination": "/proc", "type": "proc", "source": "proc"},
            {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
             "options": ["nosuid", "noexec", "mode=755", "size=65536k"]},
            {"destination": "/tmp", "type": "tmpfs", "source": "tmpfs",
             "options": ["nosuid", "nodev", "mode=1777", "size=8m"]}],
 "hooks": {"createRuntime": [{"path": "/usr/bin/attest-agent", "timeout": 60,
   "args": ["attest-agent", "hook", "--verifier", "$URL", "--run-dir", "$MR", "--timeout", "60",
            "--cache-dir", "$W/hcache", "--agent-socket", "", "--bind-dir", "$W/bind",
            "--kernel-device", "off", "--node-name", "$NODE", "--monitor-socket", "$MSOCK"]}]},
 "annotations": {"org.vtpm-attest.runtime": "$2"},
 "linux": {"namespaces": [{"type": "pid"}, {"type": "network"}, {"type": "ipc"},
                          {"type": "uts"}, {"type": "mount"}],
  "cgroupsPath": "/kt-$1",
  "resources": {"memory": {"limit": 67108864}, "cpu": {"shares": 512}, "pids": {"limit": 64}},
  "maskedPaths": ["/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys",
                  "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats",
                  "/proc/sched_debug", "/sys/firmware", "/proc/scsi"],
  "readonlyPaths": ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"],
  "seccomp": {"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86_64"],
   "syscalls": [{"names": $DANGEROUS, "action": "SCMP_ACT_ERRNO"}]}}}
EOF
    attest-agent measure --bundle "$W/$1" >"m-$1.json" || die "measure $1"
    verifier policy allow --policy policy.json --rootfs-digest "$(jfield rootfs_digest <"m-$1.json")" \
        --runtime-digest "$(jfield runtime_digest <"m-$1.json")" \
        --agent-digest "$(jfield agent_digest <"m-$1.json")" >/dev/null || die "policy allow $1"
}
mkdir -m 0700 mcache hcache bind || die "cache dirs"
bundle c1 monitor tmpfs
bundle c2 enforce tmpfs dynamic
bundle c3 enforce overlay
bundle c4 monitor hostdir
kill -HUP "$(cat vf.pid)" || die "SIGHUP to the verifier"
until_ok 100 "the verifier did not reload its policy" grep -q 'reloaded' vf.log

start_mon() {
    rm -f $MSOCK
    attest-agent monitor --verifier "$URL" --run-dir $MR --monitor-socket $MSOCK \
        --cache-dir $W/mcache --state-dir $STATE --node-name $NODE </dev/null >>mon.log 2>&1 &
    echo $! >mon.pid
    track $!
    until_ok 300 "the monitor did not start" test -S $MSOCK
}
taint0=$(cat /proc/sys/kernel/tainted)
start_mon

# run_ctr NAME: runc creates (its hook registers the container) and starts it.
run_ctr() {
    timeout 90 runc create --no-pivot --bundle "$W/$1" "kt-$1" </dev/null >$1.out 2>$1.err ||
        { cat $1.err; tail -n 20 mon.log; tail -n 5 vf.log; die "$1: runc create"; }
    timeout 10 runc start "kt-$1" || die "$1: runc start"
}
# x NAME CMD...: runc exec, bounded
x() { c=$1; shift; timeout 20 runc exec "kt-$c" "$@"; }
# the vTPM of container NAME (the verifier's row) and PCR 11 there
vtpm_of() { verdict "$1" | jfield vtpm_uuid; }
pcr11() { tpm2_pcrread -T "swtpm:path=$MR/vtpm/$(vtpm_of "$1")/tpm.sock" sha256:11 | tpm_hex; }
# the monitor's saved state of container NAME, replayed
state_of() { grep -l "kt-$1" $STATE/*.ctr | head -n 1; }
replay11() { evidence_show --state "$(state_of "$1")" | sed -n 's/^replay_11: //p'; }
types() { evidence_show --state "$(state_of "$1")" | sed -n 's/^types: //p'; }
allowed() { [ "$(count "container kt-$1: runtime evidence allowed")" -ge "$2" ]; }
denied() { grep -q "container kt-$1: runtime evidence denied" mon.log; }
ZERO=$(printf '%064d' 0)

# --- monitor mode: an image binary recorded in PCR 11 ---------------------------------------
t0=$(now)
run_ctr c1
note "c1 created through the hook (allowed, registered) and started in $(since "$t0") s"
grep -q "container kt-c1: watched (monitor" mon.log || { cat mon.log; die "c1 not watched"; }
grep -q "container kt-c1: $W/c1/rootfs (tmpfs.*permission events" mon.log ||
    { cat mon.log; die "c1's rootfs superblock not marked with permission events"; }
grep -q "container kt-c1: $W/c1/rootfs/tmp (tmpfs.*permission events" mon.log ||
    die "c1's /tmp not marked"
until_ok 300 "c1: the exec of its process not recorded" \
    grep -q "container kt-c1: exec /bin/busybox sha256:" mon.log
until_ok 300 "c1: no runtime evidence allowed" allowed c1 1
A=$(pcr11 c1)
[ -n "$A" ] && [ "$A" != "$ZERO" ] || die "PCR 11 of c1's vTPM not extended ('$A')"
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
[ "$B1" != "$A" ] && [ "$(replay11 c1)" = "$B1" ] ||
    die "c1: PCR 11 ($B1) not extended by /tmp/sh or not the saved log's"
verdict c1 | grep -q 'runtime-drift:/tmp/sh' || { verdict c1; die "c1: reason not runtime-drift:/tmp/sh"; }
note "/tmp/sh recorded (not in the manifest), PCR 11 $B1, verifier: deny runtime-drift:/tmp/sh"

# --- enforcement ----------------------------------------------------------------------------
# refused NAME FILE: the exec of FILE in NAME fails with EPERM and prints nothing; busybox runs
refused() {
    if x "$1" "$2" -c 'echo ran' >$1.exec 2>&1; then cat $1.exec; die "$1: $2 ran under enforcement"; fi
    grep -qi 'operation not permitted' $1.exec || { cat $1.exec; die "$1: $2 not refused with EPERM"; }
    grep -q '^ran' $1.exec && die "$1: $2 printed its output"
    x "$1" /bin/busybox true || die "$1: the image's busybox refused after a denial"
}
run_ctr c2
grep -q "container kt-c2: watched (enforce" mon.log || { cat mon.log; die "c2 not enforced"; }
until_ok 300 "c2: no runtime evidence allowed" allowed c2 1
x c2 /bin/busybox true || die "c2: the image's busybox was refused"
# A dynamically linked binary: the kernel opens its ELF interpreter for exec too (an event of
# its own); both are the image's, so both run and are recorded (the libraries are mapped, not
# executed: no record).
x c2 /bin/setpriv --version >/dev/null || die "c2: the image's setpriv (dynamic) was refused"
for f in /bin/setpriv /lib64/ld-linux-x86-64.so.2; do
    grep -q "container kt-c2: exec $f sha256:[0-9a-f]*\$" mon.log || { cat mon.log; die "c2: exec of $f not recorded"; }
done
grep -q "container kt-c2: exec /lib/x86_64-linux-gnu/" mon.log && die "c2: a mapped library recorded as an exec"
x c2 /bin/busybox cp /bin/busybox /tmp/sh || die "c2: cp to /tmp"
refused c2 /tmp/sh
grep -q "container kt-c2: exec of /tmp/sh (sha256:[0-9a-f]*) denied" mon.log || die "c2: no denial logged"
verdict c2 | grep -q '"verdict": *"allow"' || { verdict c2; die "c2: verdict not allow"; }
note "enforcement: /tmp/sh refused with EPERM; busybox, setpriv and its loader run and are recorded; verdict allow"

# --- an overlay rootfs (an engine's): paths as the container sees them, enforced ------------
run_ctr c3
grep -q "container kt-c3: $W/c3/rootfs (overlay.*permission events, enforced" mon.log ||
    { cat mon.log; die "c3's overlay not marked with permission events"; }
until_ok 300 "c3: its first exec not recorded as /bin/busybox" \
    grep -q "container kt-c3: exec /bin/busybox sha256:" mon.log
x c3 /bin/busybox cp /bin/busybox /srv/sh2 || die "c3: cp into the overlay"
refused c3 /srv/sh2
grep -q "container kt-c3: exec of /srv/sh2 (sha256:[0-9a-f]*) denied" mon.log || die "c3: no denial of /srv/sh2"
until_ok 300 "c3: no runtime evidence allowed" allowed c3 1
note "overlay rootfs: /bin/busybox recorded at its path in the container, /srv/sh2 written into the overlay refused"

# --- a rootfs that is a directory of the host's file system: notifications ---------------
run_ctr c4
grep -q "container kt-c4: $W/c4/rootfs (tmpfs.*shared with the host: notifications" mon.log ||
    { cat mon.log; die "c4's rootfs not watched with notifications"; }
grep -q "container kt-c4: $W/c4/rootfs/tmp (tmpfs.*permission events, always allowed" mon.log ||
    die "c4's own /tmp not watched with permission events"
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
for c in c1 c2 c3 c4; do
    grep -q "container kt-$c: watched again" mon.log || { cat mon.log; die "$c not watched again"; }
done
refused c2 /tmp/sh
refused c3 /srv/sh2
[ "$(grep -c "container kt-c2: exec of /tmp/sh (sha256:[0-9a-f]*) denied" mon.log)" -ge 2 ] ||
    die "c2: no denial after the restart"
until_ok 300 "c2: no evidence after the restart" denied c2
types c2 | grep -q 'exec-gap' || die "c2: no exec-gap record: $(types c2)"
G=$(pcr11 c2)
[ "$G" != "$C2" ] && [ "$(replay11 c2)" = "$G" ] || die "c2: PCR 11 ($G) not the saved log's after the restart"
verdict c2 | grep -q 'runtime-monitor-gap' || { verdict c2; die "c2: reason not runtime-monitor-gap"; }
note "restart: all watched again, /tmp/sh and /srv/sh2 refused again, exec-gap in PCR 11 ($G), verifier: runtime-monitor-gap"
note "kernel taint before the monitor $taint0, after $(cat /proc/sys/kernel/tainted)"
for c in $CTRS; do
    u=$(vtpm_of $c)
    timeout 10 runc delete -f kt-$c >/dev/null 2>&1
    vtpmctl --run-dir $MR delete "$u" >/dev/null 2>&1
done
note "$(since "$up0") s in all"
exit 0
