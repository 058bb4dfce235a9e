/* SPDX-License-Identifier: BSD-3-Clause */
/* Phase timing of the hook on stderr when VTPM_AGENT_TIMING=1 (latency profiling). */
#include "timing.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

static int enabled;
static double t_start;
static _Thread_local double t_last; /* per thread: the service's lanes time their own requests */

static double now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* Milliseconds between this process's start (field 22 of /proc/self/stat, in clock ticks
 * since boot) and now; -1 when unknown. Coarse: one tick is usually 10 ms. */
static double since_exec_ms(void)
{
    char buf[1024], *p;
    unsigned long long start = 0;
    struct timespec boot;
    FILE *f = fopen("/proc/self/stat", "re");
    size_t n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;

    if (f)
        fclose(f);
    buf[n] = '\0';
    p = strrchr(buf, ')'); /* the command name may contain spaces */
    if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d "
                            "%*d %*d %llu", &start) != 1 ||
        clock_gettime(CLOCK_BOOTTIME, &boot) < 0)
        return -1;
    return ((double)boot.tv_sec * 1e3 + (double)boot.tv_nsec / 1e6) -
           (double)start * 1e3 / (double)sysconf(_SC_CLK_TCK);
}

void timing_init(void)
{
    const char *e = getenv("VTPM_AGENT_TIMING");

    enabled = e && !strcmp(e, "1");
    t_start = t_last = now_ms();
    if (enabled)
        log_diag("attest-agent: timing: exec to main ~%.0f ms (clock ticks)\n",
                since_exec_ms());
}

void timing_mark(const char *phase)
{
    double t;

    if (!enabled)
        return;
    t = now_ms();
    log_diag("attest-agent: timing: %-14s +%6.1f ms (at %6.1f ms)\n", phase, t - t_last,
            t - t_start);
    t_last = t;
}
