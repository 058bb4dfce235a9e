#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Builds the OCI bundle of the vTPM manager container (NIST IR 8176 §3.2: the vTPM manager
# in a container of its own; docs/manager-container.md): a rootfs of vtpm-mgr,
# vtpm-mgr-worker and vtpmctl with exactly the shared libraries they load (ldd, plus the
# TCTI modules tpm2-tss opens at run time), and a config.json that gives the container the
# host TPM (one device, or the swtpm socket in tests), its state and run directories as bind
# mounts and nothing else of the host: its own mount, network, IPC, UTS and cgroup
# namespaces, a read-only rootfs, the capabilities the unit file grants, no_new_privs, a
# seccomp filter, a device cgroup with the TPM alone. The host's pid namespace is shared: the
# daemon judges its socket peers and binds vTPMs to containers by pid (docs/control-protocol.md).
#
# Usage: vtpm-mgr/container/mkbundle.sh --bin DIR --out DIR --state DIR --run DIR
#            (--tpm-device /dev/tpmrmN | --swtpm-socket PATH) [--host-ek-ca FILE]
#            [--worker-uid UID] [--host-mnt-ns-of PID] [-- vtpm-mgr options...]
# --bin: where vtpm-mgr, vtpm-mgr-worker, vtpmctl are (make's build/bin); --out: the bundle
# (replaced); --state/--run: host directories for the state and run dirs (created 0700/0755);
# --swtpm-socket: a swtpm socket whose control channel is PATH.ctrl. --host-mnt-ns-of: a host
# process whose mount namespace is the host's (default 1): host clients of the control socket
# are recognised by it (vtpm-mgr --host-mnt-ns).
set -eu
die() { echo "mkbundle: $*" >&2; exit 1; }
BIN='' OUT='' STATE='' RUN='' TPMDEV='' SWTPM='' EKCA='' WUID=65533 HPID=1
while [ $# -gt 0 ]; do
    case $1 in
    --bin) BIN=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    --state) STATE=$2; shift 2 ;;
    --run) RUN=$2; shift 2 ;;
    --tpm-device) TPMDEV=$2; shift 2 ;;
    --swtpm-socket) SWTPM=$2; shift 2 ;;
    --host-ek-ca) EKCA=$2; shift 2 ;;
    --worker-uid) WUID=$2; shift 2 ;;
    --host-mnt-ns-of) HPID=$2; shift 2 ;;
    --) shift; break ;;
    *) die "unknown option $1 (see the header of $0)" ;;
    esac
done
if [ -z "$BIN" ] || [ -z "$OUT" ] || [ -z "$STATE" ] || [ -z "$RUN" ]; then
    die "--bin, --out, --state and --run are required"
fi
if [ -n "$TPMDEV" ] && [ -n "$SWTPM" ] || [ -z "$TPMDEV$SWTPM" ]; then
    die "exactly one of --tpm-device and --swtpm-socket"
fi
case $WUID in ''|*[!0-9]*) die "--worker-uid $WUID: not a number" ;; esac
# Paths go into JSON as they are: refuse what would need escaping.
for p in "$BIN" "$OUT" "$STATE" "$RUN" "$TPMDEV" "$SWTPM" "$EKCA" "$@"; do
    case $p in *[\"\\]*) die "'$p': quotes and backslashes are not supported" ;; esac
    [ "$(printf '%s' "$p" | tr -d '[:cntrl:]')" = "$p" ] || die "'$p': control characters"
done
for b in vtpm-mgr vtpm-mgr-worker vtpmctl; do [ -x "$BIN/$b" ] || die "$BIN/$b missing (make all)"; done
abs() { (cd "$1" && pwd -P); }
HMNT=$(stat -L -c '%d:%i' "/proc/$HPID/ns/mnt" 2>/dev/null) ||
    die "cannot read /proc/$HPID/ns/mnt: give --host-mnt-ns-of PID of a process in the host's mount namespace"
mkdir -p "$STATE" "$RUN" && chmod 0700 "$STATE" && chmod 0755 "$RUN"
STATE=$(abs "$STATE") RUN=$(abs "$RUN")
if [ -n "$SWTPM" ]; then
    if [ ! -S "$SWTPM" ] || [ ! -S "$SWTPM.ctrl" ]; then die "$SWTPM and $SWTPM.ctrl must be sockets"; fi
    SWTPM=$(abs "$(dirname "$SWTPM")")/$(basename "$SWTPM")
fi
if [ -n "$TPMDEV" ]; then
    [ -c "$TPMDEV" ] || die "$TPMDEV is not a character device"
    TMAJ=$((0x$(stat -c %t "$TPMDEV"))) TMIN=$((0x$(stat -c %T "$TPMDEV")))
fi
if [ -n "$EKCA" ]; then
    [ -f "$EKCA" ] || die "$EKCA missing"
    EKCA=$(abs "$(dirname "$EKCA")")/$(basename "$EKCA")
fi

rm -rf "$OUT"
R=$OUT/rootfs
mkdir -p "$R/usr/bin" "$R/usr/lib/x86_64-linux-gnu" "$R/usr/lib64" "$R/etc/vtpm-mgr" \
    "$R/proc" "$R/dev" "$R/tmp" "$R/var/lib/vtpm-mgr" "$R/run/vtpm-mgr" "$R/run/host-tpm"
# Debian 12 is merged-/usr: /lib and /lib64 are symlinks into /usr.
ln -s usr/lib "$R/lib" && ln -s usr/lib64 "$R/lib64"
: >"$R/run/host-tpm/tpm.sock" && : >"$R/run/host-tpm/tpm.sock.ctrl" # mount points
: >"$R/etc/vtpm-mgr/host-ek-ca.pem"
copy_libs() { # ELF files...: every library ldd resolves for them, at the same path
    ldd "$@" | awk '/=> \//{print $3} /^\t\/[^ ]* \(/{print $1}' | sort -u |
    while read -r lib; do
        [ -e "$R$lib" ] || { mkdir -p "$R$(dirname "$lib")"; cp -L "$lib" "$R$lib"; }
    done
}
for b in vtpm-mgr vtpm-mgr-worker vtpmctl; do cp -L "$BIN/$b" "$R/usr/bin/$b"; done
copy_libs "$R/usr/bin/vtpm-mgr" "$R/usr/bin/vtpm-mgr-worker" "$R/usr/bin/vtpmctl"
# tpm2-tss's TCTI loader opens the module named by --host-tcti at run time; glibc opens
# libgcc_s for thread cancellation.
M=/usr/lib/x86_64-linux-gnu
TCTI=device
[ -n "$SWTPM" ] && TCTI=swtpm
[ -e "$M/libtss2-tcti-$TCTI.so.0" ] || die "$M/libtss2-tcti-$TCTI.so.0 missing (package libtss2-tcti-${TCTI}0)"
cp -L "$M/libtss2-tcti-$TCTI.so.0" "$R$M/" && copy_libs "$M/libtss2-tcti-$TCTI.so.0"
cp -L "$M/libgcc_s.so.1" "$R$M/"
printf 'root:x:0:0:root:/:/nonexistent\nvtpm-worker:x:%s:%s:vTPM worker:/:/nonexistent\n' \
    "$WUID" "$WUID" >"$R/etc/passwd"
printf 'root:x:0:\nvtpm-worker:x:%s:\n' "$WUID" >"$R/etc/group"

# config.json
caps='"CAP_CHOWN", "CAP_FOWNER", "CAP_SETUID", "CAP_SETGID", "CAP_DAC_OVERRIDE", "CAP_SYS_PTRACE"'
if [ -n "$SWTPM" ]; then
    HOST_TCTI="swtpm:path=/run/host-tpm/tpm.sock"
    tpm_mounts=',
  {"destination": "/run/host-tpm/tpm.sock", "type": "bind", "source": "'"$SWTPM"'", "options": ["bind", "nosuid", "nodev", "noexec"]},
  {"destination": "/run/host-tpm/tpm.sock.ctrl", "type": "bind", "source": "'"$SWTPM"'.ctrl", "options": ["bind", "nosuid", "nodev", "noexec"]}'
    tpm_devices='' tpm_allow=''
else
    HOST_TCTI="device:/dev/tpmrm0"
    tpm_mounts=''
    tpm_devices='
  "devices": [{"path": "/dev/tpmrm0", "type": "c", "major": '"$TMAJ"', "minor": '"$TMIN"', "fileMode": 432, "uid": 0, "gid": 0}],'
    tpm_allow=',
   {"allow": true, "type": "c", "major": '"$TMAJ"', "minor": '"$TMIN"', "access": "rw"}'
fi
ekca_mount='' ekca_arg=''
if [ -n "$EKCA" ]; then
    ekca_mount=',
  {"destination": "/etc/vtpm-mgr/host-ek-ca.pem", "type": "bind", "source": "'"$EKCA"'", "options": ["bind", "ro", "nosuid", "nodev", "noexec"]}'
    ekca_arg=', "--host-ek-ca", "/etc/vtpm-mgr/host-ek-ca.pem"'
fi
extra=''
for a in "$@"; do extra="$extra, \"$a\""; done
# Calls the daemon never makes; each is refused with EPERM (the rest of the kernel ABI stays:
# a default-allow filter with this deny list, like the runtimes' default profiles).
denied='"acct", "add_key", "bpf", "clock_adjtime", "clock_settime", "create_module", "delete_module",
   "finit_module", "fsconfig", "fsmount", "fsopen", "fspick", "get_kernel_syms", "init_module",
   "io_uring_enter", "io_uring_register", "io_uring_setup", "ioperm", "iopl", "kcmp",
   "kexec_file_load", "kexec_load", "keyctl", "lookup_dcookie", "mount", "mount_setattr",
   "move_mount", "name_to_handle_at", "nfsservctl", "open_by_handle_at", "open_tree",
   "perf_event_open", "personality", "pidfd_getfd", "pivot_root", "process_vm_readv",
   "process_vm_writev", "ptrace", "query_module", "quotactl", "reboot", "request_key",
   "setdomainname", "sethostname", "setns", "settimeofday", "swapoff", "swapon", "syslog",
   "umount2", "unshare", "uselib", "userfaultfd", "ustat", "vhangup"'
cat >"$OUT/config.json" <<EOF
{
 "ociVersion": "1.0.2",
 "process": {
  "terminal": false,
  "user": {"uid": 0, "gid": 0},
  "args": ["/usr/bin/vtpm-mgr", "--foreground", "--state-dir", "/var/lib/vtpm-mgr",
           "--run-dir", "/run/vtpm-mgr", "--host-tcti", "$HOST_TCTI",
           "--worker-user", "vtpm-worker", "--host-mnt-ns", "$HMNT"$ekca_arg$extra],
  "env": ["PATH=/usr/bin"],
  "cwd": "/",
  "capabilities": {"bounding": [$caps], "effective": [$caps], "permitted": [$caps],
                   "inheritable": [], "ambient": []},
  "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 16384, "soft": 16384},
              {"type": "RLIMIT_CORE", "hard": 0, "soft": 0}],
  "noNewPrivileges": true
 },
 "root": {"path": "rootfs", "readonly": true},
 "hostname": "vtpm-mgr",
 "mounts": [
  {"destination": "/proc", "type": "proc", "source": "proc", "options": ["nosuid", "noexec", "nodev"]},
  {"destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "noexec", "strictatime", "mode=755", "size=1m"]},
  {"destination": "/tmp", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "nodev", "noexec", "mode=700", "size=16m"]},
  {"destination": "/var/lib/vtpm-mgr", "type": "bind", "source": "$STATE", "options": ["rbind", "rw", "nosuid", "nodev", "noexec"]},
  {"destination": "/run/vtpm-mgr", "type": "bind", "source": "$RUN", "options": ["rbind", "rw", "nosuid", "nodev", "noexec"]}$tpm_mounts$ekca_mount
 ],
 "linux": {$tpm_devices
  "namespaces": [{"type": "mount"}, {"type": "network"}, {"type": "ipc"}, {"type": "uts"},
                 {"type": "cgroup"}],
  "resources": {
   "devices": [{"allow": false, "access": "rwm"}$tpm_allow],
   "pids": {"limit": 1024}
  },
  "maskedPaths": ["/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
                  "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi"],
  "readonlyPaths": ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"],
  "seccomp": {
   "defaultAction": "SCMP_ACT_ALLOW",
   "architectures": ["SCMP_ARCH_X86_64"],
   "syscalls": [{"names": [$denied], "action": "SCMP_ACT_ERRNO", "errnoRet": 1}]
  }
 }
}
EOF
echo "$OUT"
