/* SPDX-License-Identifier: BSD-3-Clause */
/* The runtime monitor's readers of /proc text: mountinfo lines (mount points come from a
 * container's config.json, so this is fuzzed: tests/fuzz/fuzz_rtmonparse.c) and cgroup lists. */
#include "rtmonparse.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* A mountinfo field with the kernel's octal escapes (\040) undone, in place. */
static void unescape(char *s)
{
    char *w = s;

    for (; *s; s++) {
        if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
            s[3] >= '0' && s[3] <= '7') {
            *w++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0'));
            s += 3;
        } else {
            *w++ = *s;
        }
    }
    *w = 0;
}

/* One /proc/PID/mountinfo line: 0 or -EINVAL. */
int rtmon_parse_mountinfo(char *line, struct rtmon_minfo *mi)
{
    char *sep = strstr(line, " - "), *save = NULL, *tok;
    int i = 0;

    if (!sep)
        return -EINVAL;
    *sep = 0;
    for (tok = strtok_r(line, " ", &save); tok; tok = strtok_r(NULL, " ", &save), i++) {
        if (i == 2 && sscanf(tok, "%u:%u", &mi->maj, &mi->min) != 2)
            return -EINVAL;
        if (i == 3)
            snprintf(mi->root, sizeof(mi->root), "%s", tok);
        if (i == 4)
            snprintf(mi->point, sizeof(mi->point), "%s", tok);
        if (i == 5)
            snprintf(mi->opts, sizeof(mi->opts), "%s", tok);
    }
    if (i < 6 || sscanf(sep + 3, "%63s", mi->fstype) != 1)
        return -EINVAL;
    unescape(mi->root);
    unescape(mi->point);
    return 0;
}

int rtmon_under(const char *path, const char *root)
{
    size_t n = strlen(root);

    return !strncmp(path, root, n) && (path[n] == 0 || path[n] == '/');
}

/* File systems on which nothing can be executed from (or that are the kernel's views). */
int rtmon_no_exec_fs(const struct rtmon_minfo *mi)
{
    static const char *const skip[] = { "proc", "sysfs", "cgroup", "cgroup2", "devpts",
                                        "mqueue", "securityfs", "debugfs", "tracefs", "bpf",
                                        "fusectl", "configfs", "pstore" };

    for (size_t i = 0; i < sizeof(skip) / sizeof(skip[0]); i++)
        if (!strcmp(mi->fstype, skip[i]))
            return 1;
    for (const char *o = mi->opts; (o = strstr(o, "noexec")); o += 6)
        if ((o == mi->opts || o[-1] == ',') && (o[6] == 0 || o[6] == ','))
            return 1;
    return 0;
}

/* Whether one line of cgroups (as read_cgroups gave them) is key or below it. */
int rtmon_in_cgroup(const char *cgroups, const char *key)
{
    size_t n = strlen(key);

    for (const char *l = cgroups; *l; ) {
        const char *end = strchr(l, '\n');
        size_t len = end ? (size_t)(end - l) : strlen(l);

        if (len >= n && !strncmp(l, key, n) && (len == n || l[n] == '/'))
            return 1;
        l += len + (end != NULL);
    }
    return 0;
}

int rtmon_cgroup_pick(const char *cgroups, char *out, size_t outsz)
{
    const char *found = NULL;
    size_t flen = 0;

    for (const char *l = cgroups; *l; ) {
        const char *end = strchr(l, '\n');
        size_t len = end ? (size_t)(end - l) : strlen(l);
        const char *c1 = memchr(l, ':', len), *c2 = NULL;

        if (c1)
            c2 = memchr(c1 + 1, ':', len - (size_t)(c1 + 1 - l));
        /* "N:controllers:/path"; a path of "/" alone is the root, which places nothing */
        if (c2 && !(len - (size_t)(c2 + 1 - l) == 1 && c2[1] == '/') &&
            (!found || (len >= 3 && !strncmp(l, "0::", 3)))) {
            found = l;
            flen = len;
        }
        l += len + (end != NULL);
    }
    if (!found)
        return -ENOENT;
    if (flen >= outsz)
        return -ENAMETOOLONG;
    memcpy(out, found, flen);
    out[flen] = 0;
    return 0;
}
