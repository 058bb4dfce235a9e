/* SPDX-License-Identifier: BSD-3-Clause */
/* A kmod-vtpm device node inside a container's root, and its cgroup v1 device rule. */
#include "devnode.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <mntent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "log.h"

#define NODE_NAME_MAX 31

int devnode_valid(const char *node)
{
    const char *n;
    size_t len;

    if (strncmp(node, "/dev/", 5))
        return 0;
    n = node + 5;
    len = strlen(n);
    if (len == 0 || len > NODE_NAME_MAX || !strcmp(n, ".") || !strcmp(n, ".."))
        return 0;
    return strspn(n, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") == len;
}

/* dir opened O_PATH below dirfd, every component (symlinks included) resolved inside it. */
static int open_beneath(int dirfd, const char *dir)
{
    struct open_how how = {
        .flags = O_PATH | O_DIRECTORY | O_CLOEXEC,
        .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
    };
    int fd = (int)syscall(SYS_openat2, dirfd, dir, &how, sizeof(how));

    return fd < 0 ? -errno : fd;
}

/* The container's /dev: root (the rootfs as pid sees it, or pid's root itself) resolved in
 * pid's root, then "dev" inside that rootfs, as the runtime resolves its mounts: a symlink
 * in the image stays inside the image. */
static int open_dev(pid_t pid, const char *root)
{
    char path[64];
    int procroot, rootfd, fd;

    snprintf(path, sizeof(path), "/proc/%d/root", (int)pid);
    procroot = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (procroot < 0)
        return errno == ENOENT ? -ESRCH : -errno;
    rootfd = root && root[0] ? open_beneath(procroot, root) : procroot;
    fd = rootfd < 0 ? rootfd : open_beneath(rootfd, "dev");
    if (rootfd >= 0 && rootfd != procroot)
        close(rootfd);
    close(procroot);
    return fd;
}

int devnode_make(pid_t pid, const char *root, const char *node, dev_t rdev,
                 unsigned vtpm_major, uid_t uid, gid_t gid)
{
    const char *base = node + 5;
    struct stat st;
    int dfd, r;

    if (!devnode_valid(node) || (root && root[0] && root[0] != '/'))
        return -EINVAL;
    dfd = open_dev(pid, root);
    if (dfd < 0) {
        LOG_ERROR("pid %d: %s/dev not opened in its root: %s", (int)pid, root ? root : "",
                  strerror(-dfd));
        return dfd;
    }
    if (fstatat(dfd, base, &st, AT_SYMLINK_NOFOLLOW) == 0) {
        if (!S_ISCHR(st.st_mode) || major(st.st_rdev) != vtpm_major) {
            LOG_ERROR("pid %d: %s%s exists and is not a kmod-vtpm device: left alone",
                      (int)pid, root ? root : "", node);
            close(dfd);
            return -EEXIST;
        }
        if (unlinkat(dfd, base, 0) != 0 && errno != ENOENT) { /* an earlier run's device */
            r = -errno;
            close(dfd);
            return r;
        }
    }
    r = mknodat(dfd, base, S_IFCHR | 0600, rdev) == 0 ? 0 : -errno;
    if (r == 0 && fchownat(dfd, base, uid, gid, AT_SYMLINK_NOFOLLOW) != 0) {
        r = -errno;
        unlinkat(dfd, base, 0);
    }
    if (r)
        LOG_ERROR("pid %d: device node %s%s not made: %s", (int)pid, root ? root : "", node,
                  strerror(-r));
    close(dfd);
    return r;
}

/* The mount point of the cgroup v1 hierarchy with the device controller, or -ENOENT. */
static int devices_mount(char *out, size_t n)
{
    FILE *f = setmntent("/proc/self/mounts", "re");
    struct mntent *e;
    int r = -ENOENT;

    if (!f)
        return -errno;
    while (r == -ENOENT && (e = getmntent(f)) != NULL) {
        if (strcmp(e->mnt_type, "cgroup") || !hasmntopt(e, "devices"))
            continue;
        r = snprintf(out, n, "%s", e->mnt_dir) < (int)n ? 0 : -ENAMETOOLONG;
    }
    endmntent(f);
    return r;
}

/* pid's cgroup in the v1 hierarchy whose controller list names "devices" (/proc/PID/cgroup
 * lines are "ID:controller,...:path"), or -ENOENT. */
static int devices_cgroup(pid_t pid, char *out, size_t n)
{
    char path[64], *line = NULL;
    size_t cap = 0;
    FILE *f;
    int r = -ENOENT;

    snprintf(path, sizeof(path), "/proc/%d/cgroup", (int)pid);
    f = fopen(path, "re");
    if (!f)
        return errno == ENOENT ? -ESRCH : -errno;
    while (r == -ENOENT && getline(&line, &cap, f) > 0) {
        char *ctl = strchr(line, ':'), *cg = ctl ? strchr(ctl + 1, ':') : NULL, *tok, *save;
        if (!cg)
            continue;
        *cg++ = '\0';
        cg[strcspn(cg, "\n")] = '\0';
        for (tok = strtok_r(ctl + 1, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
            if (!strcmp(tok, "devices"))
                r = snprintf(out, n, "%s", cg) < (int)n ? 0 : -ENAMETOOLONG;
    }
    free(line);
    fclose(f);
    return r;
}

int devcg_allow(pid_t pid, dev_t rdev)
{
    char mnt[PATH_MAX], cg[PATH_MAX], path[2 * PATH_MAX + 32], rule[64];
    int fd, r = devices_mount(mnt, sizeof(mnt));
    ssize_t len;

    if (r == -ENOENT || (r == 0 && (r = devices_cgroup(pid, cg, sizeof(cg))) == -ENOENT)) {
        LOG_INFO("pid %d: no cgroup v1 device controller: the device rule is the runtime's",
                 (int)pid);
        return 1;
    }
    if (r)
        return r;
    if (!strcmp(cg, "/") || strstr(cg, "/../") || !strncmp(cg, "../", 3))
        return !strcmp(cg, "/") ? 1 : -EINVAL;
    snprintf(path, sizeof(path), "%s%s/devices.allow", mnt, cg);
    len = snprintf(rule, sizeof(rule), "c %u:%u rw", major(rdev), minor(rdev));
    fd = open(path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0 || write(fd, rule, (size_t)len) != len)
        r = -errno;
    if (fd >= 0)
        close(fd);
    if (r)
        LOG_ERROR("pid %d: '%s' not written to %s: %s", (int)pid, rule, path, strerror(-r));
    else
        LOG_INFO("pid %d: %s allows '%s'", (int)pid, path, rule);
    return r;
}
