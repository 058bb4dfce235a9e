/* SPDX-License-Identifier: BSD-3-Clause */
/* The pids limit a container's process is under: its cgroup's pids.max and its ancestors'
 * (cgroup v1's pids hierarchy, or v2), as the kernel applies them. */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/vfs.h>
#include <linux/magic.h>

#include "launchcfg_int.h"

#define CGROUP_V1_PIDS "/sys/fs/cgroup/pids"
#define CGROUP_V2      "/sys/fs/cgroup"

/* The process's cgroup path in the pids hierarchy (v1 "N:...pids...:/path") or, without
 * one, in v2 ("0::/path"); *v2 says which. */
static int pids_cgroup(long long pid, char *path, size_t pathsz, int *v2)
{
    char p[64], line[PATH_MAX + 64], v2path[PATH_MAX] = "";
    FILE *f;
    int found = 0;

    snprintf(p, sizeof(p), "/proc/%lld/cgroup", pid);
    if (!(f = fopen(p, "re")))
        return -errno;
    while (!found && fgets(line, sizeof(line), f)) {
        char *ctrl = strchr(line, ':'), *cg, *tok, *save = NULL;
        if (!ctrl || !(cg = strchr(++ctrl, ':')))
            continue;
        *cg++ = '\0';
        cg[strcspn(cg, "\n")] = '\0';
        if (!*ctrl && !strncmp(line, "0:", 2)) {
            snprintf(v2path, sizeof(v2path), "%s", cg);
            continue;
        }
        for (tok = strtok_r(ctrl, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
            if (!strcmp(tok, "pids")) {
                snprintf(path, pathsz, "%s", cg);
                found = 1;
            }
    }
    fclose(f);
    *v2 = !found;
    if (!found && v2path[0])
        snprintf(path, pathsz, "%s", v2path);
    return found || v2path[0] ? 0 : -ENOENT;
}

/* pids.max of dir: a number (> 0), 0 for "max" or none. */
static uint64_t pids_max(const char *dir)
{
    char p[2 * PATH_MAX + 16], buf[32];
    unsigned long long v;
    char *end;
    FILE *f;

    snprintf(p, sizeof(p), "%s/pids.max", dir);
    if (!(f = fopen(p, "re")))
        return 0;
    if (!fgets(buf, sizeof(buf), f))
        buf[0] = '\0';
    fclose(f);
    v = strtoull(buf, &end, 10);
    return end != buf && (*end == '\n' || !*end) ? (uint64_t)v : 0;
}

int lc_effective_pids(long long pid, uint64_t *limit, char *where, size_t wheresz)
{
    char cg[PATH_MAX], dir[2 * PATH_MAX];
    const char *mnt;
    struct statfs sf;
    size_t base;
    int v2 = 0, r;

    *limit = 0;
    where[0] = '\0';
    if (pid <= 0)
        return 0;
    if ((r = pids_cgroup(pid, cg, sizeof(cg), &v2)) < 0)
        return 0; /* not measurable: no limit shown */
    mnt = v2 ? CGROUP_V2 : CGROUP_V1_PIDS;
    if (statfs(mnt, &sf) < 0 ||
        (unsigned long)sf.f_type != (v2 ? CGROUP2_SUPER_MAGIC : CGROUP_SUPER_MAGIC))
        return 0;
    if (lc_normalize(cg, dir, sizeof(dir) - strlen(mnt) - 1) < 0)
        return 0;
    base = strlen(mnt);
    memmove(dir + base, dir, strlen(dir) + 1);
    memcpy(dir, mnt, base);
    /* the cgroup, then each parent up to (not including) the root, which has no pids.max */
    while (strlen(dir) > base + 1) {
        uint64_t v = pids_max(dir);
        char *slash;
        if (v && (!*limit || v < *limit)) {
            *limit = v;
            snprintf(where, wheresz, "%s", dir + base);
        }
        if (!(slash = strrchr(dir, '/')) || slash < dir + base)
            break;
        *slash = '\0';
    }
    return 0;
}
