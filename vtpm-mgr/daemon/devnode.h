/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A kmod-vtpm device given to a container without a manual step: its character device node
 * made inside the container's root (reached through /proc/<pid>/root, so in the container's
 * mount namespace), and the cgroup v1 device rule that lets the container open it. On
 * cgroup v2 the device rule is the runtime's BPF program; docs/attest-agent.md.
 */
#ifndef VTPM_MGR_DEVNODE_H
#define VTPM_MGR_DEVNODE_H

#include <sys/types.h>

#define DEVNODE_MAX 64 /* "/dev/<name>" */

/* 1 if node is "/dev/<name>", name 1-31 of [A-Za-z0-9._-], not "." or "..". */
int devnode_valid(const char *node);

/*
 * Makes the character device rdev at node (devnode_valid) below root (an absolute path as
 * pid sees it, e.g. the bundle's rootfs before the runtime's pivot_root; NULL or "" for
 * pid's root itself), owned by uid:gid, mode 0600. root is resolved inside pid's root, "dev"
 * inside root (RESOLVE_IN_ROOT: an image's symlinks stay in the image). An existing node is replaced only when it is a character device
 * of major vtpm_major (a device of an earlier vtpm-mgr run); anything else is -EEXIST.
 * Returns 0 or a negative errno.
 */
int devnode_make(pid_t pid, const char *root, const char *node, dev_t rdev,
                 unsigned vtpm_major, uid_t uid, gid_t gid);

/*
 * Lets pid's cgroup v1 device controller allow rdev ("c M:m rw" into devices.allow).
 * Returns 0, 1 when there is nothing to do (no v1 device controller: cgroup v2, where the
 * runtime's BPF program decides; or pid in the root cgroup, which allows everything), or a
 * negative errno.
 */
int devcg_allow(pid_t pid, dev_t rdev);

#endif
