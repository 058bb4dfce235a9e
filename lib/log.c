/* SPDX-License-Identifier: BSD-3-Clause */
/* Logging to stderr with a process identity and a run-time level. */
#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *g_ident = "vtpm";
static int g_level = -1;

struct capture {
    char *buf;
    size_t len, max;
    int on, tee;
};
static _Thread_local struct capture t_cap;

int log_capture_begin(size_t max, int tee)
{
    free(t_cap.buf);
    t_cap = (struct capture){ .max = max, .tee = tee, .on = 1 };
    if (!(t_cap.buf = malloc(max + 1))) {
        t_cap.on = 0;
        return -ENOMEM;
    }
    return 0;
}

char *log_capture_end(size_t *len)
{
    char *b = t_cap.buf;

    *len = t_cap.len;
    if (b && t_cap.len == 0) {
        free(b);
        b = NULL;
    }
    if (b)
        b[t_cap.len] = '\0';
    t_cap = (struct capture){ 0 };
    return b;
}

/* One whole line (or block) to stderr and/or the capture. */
static void emit(const char *s, size_t n)
{
    if (t_cap.on && t_cap.buf) {
        size_t k = n < t_cap.max - t_cap.len ? n : t_cap.max - t_cap.len;
        memcpy(t_cap.buf + t_cap.len, s, k);
        t_cap.len += k;
    }
    if (!t_cap.on || t_cap.tee)
        (void)!fwrite(s, 1, n, stderr);
}

void log_diag_raw(const char *buf, size_t len)
{
    emit(buf, len);
}

void log_diag(const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    if (n > 0)
        emit(buf, (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1);
}

void log_set_ident(const char *ident)
{
    g_ident = ident;
}

void log_set_level(enum log_level lvl)
{
    __atomic_store_n(&g_level, (int)lvl, __ATOMIC_RELAXED);
}

/* Read once from the environment on first use; any thread may be first (same value). */
enum log_level log_get_level(void)
{
    int lvl = __atomic_load_n(&g_level, __ATOMIC_RELAXED);

    if (lvl < 0) {
        const char *e = getenv("VTPM_LOG_LEVEL");
        lvl = LOG_LVL_INFO;
        if (e && !strcmp(e, "error"))
            lvl = LOG_LVL_ERROR;
        else if (e && !strcmp(e, "warn"))
            lvl = LOG_LVL_WARN;
        else if (e && !strcmp(e, "debug"))
            lvl = LOG_LVL_DEBUG;
        __atomic_store_n(&g_level, lvl, __ATOMIC_RELAXED);
    }
    return (enum log_level)lvl;
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
        log_diag("%s: %s: %s (%s:%d)\n", g_ident, names[lvl], buf, file, line);
    else
        log_diag("%s: %s: %s\n", g_ident, names[lvl], buf);
}
