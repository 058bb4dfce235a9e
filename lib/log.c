/* SPDX-License-Identifier: BSD-3-Clause */
/* Logging to stderr with a process identity and a run-time level. */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *g_ident = "vtpm";
static int g_level = -1;

void log_set_ident(const char *ident)
{
    g_ident = ident;
}

void log_set_level(enum log_level lvl)
{
    g_level = (int)lvl;
}

enum log_level log_get_level(void)
{
    if (g_level < 0) {
        const char *e = getenv("VTPM_LOG_LEVEL");
        g_level = LOG_LVL_INFO;
        if (e && !strcmp(e, "error"))
            g_level = LOG_LVL_ERROR;
        else if (e && !strcmp(e, "warn"))
            g_level = LOG_LVL_WARN;
        else if (e && !strcmp(e, "debug"))
            g_level = LOG_LVL_DEBUG;
    }
    return (enum log_level)g_level;
}

void log_msg(enum log_level lvl, const char *file, int line, const char *fmt, ...)
{
    static const char *const names[] = { "error", "warn", "info", "debug" };
    char buf[1024];
    va_list ap;

    if ((int)lvl > (int)log_get_level())
        return;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    if (log_get_level() >= LOG_LVL_DEBUG)
        fprintf(stderr, "%s: %s: %s (%s:%d)\n", g_ident, names[lvl], buf, file, line);
    else
        fprintf(stderr, "%s: %s: %s\n", g_ident, names[lvl], buf);
}
