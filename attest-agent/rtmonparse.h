/* SPDX-License-Identifier: BSD-3-Clause */
/* What the runtime monitor reads from /proc (rtmon.c): mountinfo lines and cgroup lists. */
#ifndef AGENT_RTMONPARSE_H
#define AGENT_RTMONPARSE_H

#include <limits.h>
#include <stddef.h>

struct rtmon_minfo {
    unsigned maj, min;                 /* the superblock's device */
    char root[PATH_MAX];               /* the mount's root within its file system */
    char point[PATH_MAX];              /* the mount point, octal escapes undone */
    char fstype[64], opts[256];        /* file system type, per-mount options */
};

/* One /proc/PID/mountinfo line (modified in place): 0 or -EINVAL. */
int rtmon_parse_mountinfo(char *line, struct rtmon_minfo *mi);
/* 1 when path is root or below it ("/a/b" is under "/a", "/ab" is not). */
int rtmon_under(const char *path, const char *root);
/* 1 for a mount nothing is executed from: proc, sysfs, cgroup, devpts, ... or `noexec`. */
int rtmon_no_exec_fs(const struct rtmon_minfo *mi);
/* From the text of /proc/PID/cgroup, the line that places the process: the unified one
 * ("0::/path") unless it is the root, else the first controller line that is not the root.
 * 0, -ENOENT when every line is the root, -ENAMETOOLONG when it does not fit out. */
int rtmon_cgroup_pick(const char *cgroups, char *out, size_t outsz);
/* 1 when a line of cgroups (text of /proc/PID/cgroup) is key or a cgroup below it. */
int rtmon_in_cgroup(const char *cgroups, const char *key);

#endif
