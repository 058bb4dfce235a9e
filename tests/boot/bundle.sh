#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Writes the OCI bundle the measured-boot guest attests as a container (config.json that
# passes the default verifier policy, a busybox rootfs). The host builds it once and sends the
# same bytes in, so that its `attest-agent measure` digests are the guest's.
# Usage: tests/boot/bundle.sh DIR   (DIR must not exist)
set -eu
D=${1:?bundle dir}
[ ! -e "$D" ] || { echo "bundle.sh: $D exists" >&2; exit 1; }
mkdir -p "$D/rootfs/bin" "$D/rootfs/etc" "$D/rootfs/proc" "$D/rootfs/dev" "$D/rootfs/tmp"
cp "$(command -v busybox)" "$D/rootfs/bin/busybox"
ln -s busybox "$D/rootfs/bin/sh"
echo boot-ctr >"$D/rootfs/etc/hostname"
# Modes set explicitly: the rootfs digest covers them, and umasks differ.
chmod 755 "$D" "$D/rootfs" "$D/rootfs/bin" "$D/rootfs/etc" "$D/rootfs/proc" "$D/rootfs/dev" \
    "$D/rootfs/bin/busybox"
chmod 1777 "$D/rootfs/tmp"
chmod 644 "$D/rootfs/etc/hostname"
# Least privilege as the default launch policy (docs/policy.md) asks: not root, only
# CAP_NET_BIND_SERVICE, every namespace of its own, memory, CPU and pids limits,
# no_new_privileges, read-only root, runc's masked and read-only paths, allow-list seccomp.
cat >"$D/config.json" <<'EOF'
{
  "ociVersion": "1.0.2",
  "process": {
    "terminal": false,
    "user": { "uid": 1000, "gid": 1000 },
    "args": [ "/bin/sh", "-c", "cat /etc/hostname" ],
    "env": [ "PATH=/bin" ],
    "cwd": "/",
    "capabilities": {
      "bounding": [ "CAP_NET_BIND_SERVICE" ],
      "effective": [ "CAP_NET_BIND_SERVICE" ],
      "permitted": [ "CAP_NET_BIND_SERVICE" ]
    },
    "noNewPrivileges": true
  },
  "root": { "path": "rootfs", "readonly": true },
  "hostname": "boot-ctr",
  "mounts": [
    { "destination": "/proc", "type": "proc", "source": "proc" },
    { "destination": "/dev", "type": "tmpfs", "source": "tmpfs",
      "options": [ "nosuid", "noexec", "mode=755", "size=65536k" ] },
    { "destination": "/tmp", "type": "tmpfs", "source": "tmpfs",
      "options": [ "nosuid", "nodev", "size=16m" ] }
  ],
  "linux": {
    "namespaces": [ { "type": "pid" }, { "type": "network" }, { "type": "ipc" },
                    { "type": "uts" }, { "type": "mount" }, { "type": "cgroup" } ],
    "resources": { "memory": { "limit": 67108864 }, "cpu": { "shares": 512 },
                   "pids": { "limit": 64 } },
    "maskedPaths": [ "/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys",
                     "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats",
                     "/proc/sched_debug", "/sys/firmware", "/proc/scsi" ],
    "readonlyPaths": [ "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys",
                       "/proc/sysrq-trigger" ],
    "seccomp": {
      "defaultAction": "SCMP_ACT_ERRNO",
      "architectures": [ "SCMP_ARCH_X86_64" ],
      "syscalls": [ { "names": [ "read", "write", "openat", "close", "fstat", "newfstatat",
                                 "mmap", "munmap", "brk", "rt_sigaction", "rt_sigprocmask",
                                 "execve", "arch_prctl", "set_tid_address", "getpid",
                                 "exit", "exit_group" ],
                      "action": "SCMP_ACT_ALLOW" } ]
    }
  }
}
EOF
