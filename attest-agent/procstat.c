/* SPDX-License-Identifier: BSD-3-Clause */
/* /proc/PID/stat read once, past the command name. */
#include "procstat.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

int procstat_read(long long pid, char *buf, size_t size, const char **fields)
{
    char path[64];
    FILE *f;
    size_t n;

    if (pid <= 0 || size < 2)
        return -EINVAL;
    snprintf(path, sizeof(path), "/proc/%lld/stat", pid);
    if (!(f = fopen(path, "re")))
        return -errno;
    n = fread(buf, 1, size - 1, f);
    fclose(f);
    buf[n] = '\0';
    /* The command name may contain spaces and parentheses: the last ')' ends it. */
    *fields = strrchr(buf, ')');
    if (!*fields)
        return -EINVAL;
    (*fields)++;
    return 0;
}

unsigned long long procstat_start_time(long long pid)
{
    char buf[1024];
    const char *f;
    unsigned long long t = 0;

    if (procstat_read(pid, buf, sizeof(buf), &f) < 0 ||
        sscanf(f, " %*c" " %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s"
                  " %*s %*s %*s %*s %*s %*s %*s %*s %llu", &t) != 1)
        return 0;
    return t;
}
