/* SPDX-License-Identifier: BSD-3-Clause */
/* Logging to stderr with a process identity and a run-time level. */
#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

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

/* 1 when stderr is the journal's stream: systemd sets JOURNAL_STREAM to its "dev:ino"
 * (systemd.exec(5)); a redirected stderr no longer matches. Checked once. */
static int journal_stderr(void)
{
    static int g_journal = -1;
    int j = __atomic_load_n(&g_journal, __ATOMIC_RELAXED);

    if (j < 0) {
        const char *e = getenv("JOURNAL_STREAM");
        unsigned long long dev, ino;
        struct stat st;
        j = e && sscanf(e, "%llu:%llu", &dev, &ino) == 2 && fstat(STDERR_FILENO, &st) == 0 &&
            (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
        __atomic_store_n(&g_journal, j, __ATOMIC_RELAXED);
    }
    return j;
}

int log_to_journal(void)
{
    return journal_stderr();
}

/* One whole line (or block) to stderr and/or the capture; on the journal's stream stderr's
 * copy starts with the syslog priority prio ("<3>", sd-daemon(3)), the capture's never. */
static void emit_prio(int prio, const char *s, size_t n)
{
    if (t_cap.on && t_cap.buf) {
        size_t k = n < t_cap.max - t_cap.len ? n : t_cap.max - t_cap.len;
        memcpy(t_cap.buf + t_cap.len, s, k);
        t_cap.len += k;
    }
    if (t_cap.on && !t_cap.tee)
        return;
    if (prio >= 0 && journal_stderr()) {
        char line[1100];
        int m = snprintf(line, sizeof(line), "<%d>%.*s", prio, (int)n, s);
        if (m > 0) {
            (void)!fwrite(line, 1, (size_t)m < sizeof(line) ? (size_t)m : sizeof(line) - 1,
                          stderr);
            return;
        }
    }
    (void)!fwrite(s, 1, n, stderr);
}

static void emit(const char *s, size_t n)
{
    emit_prio(-1, s, n);
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

void log_msg(enum log_level lvl, const char *file, int lineno, const char *fmt, ...)
{
    static const char *const names[] = { "error", "warn", "info", "debug" };
    static const int prios[] = { 3, 4, 6, 7 }; /* LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG */
    char buf[1024], line[1100];
    va_list ap;
    int n;

    if ((int)lvl > (int)log_get_level())
        return;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    if (log_get_level() >= LOG_LVL_DEBUG)
        n = snprintf(line, sizeof(line), "%s: %s: %s (%s:%d)\n", g_ident, names[lvl], buf,
                     file, lineno);
    else
        n = snprintf(line, sizeof(line), "%s: %s: %s\n", g_ident, names[lvl], buf);
    if (n > 0)
        emit_prio(prios[lvl], line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
}
