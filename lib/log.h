/* SPDX-License-Identifier: BSD-3-Clause */
/* Logging for all vtpm-attest userspace components: one line per event on stderr. */
#ifndef VTPM_LOG_H
#define VTPM_LOG_H

#include <stddef.h>

enum log_level { LOG_LVL_ERROR = 0, LOG_LVL_WARN, LOG_LVL_INFO, LOG_LVL_DEBUG };

/* Component name printed before every line, e.g. "vtpm-mgr" or "worker[3]". Not copied. */
void log_set_ident(const char *ident);
/* Threshold; the environment variable VTPM_LOG_LEVEL (error|warn|info|debug) sets the start value. */
void log_set_level(enum log_level lvl);
enum log_level log_get_level(void);
void log_msg(enum log_level lvl, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* 1 when stderr is the systemd journal's stream (JOURNAL_STREAM matches it): log_msg's
 * lines then start with their sd-daemon priority, "<3>" error to "<7>" debug. */
int log_to_journal(void);

/* A diagnostic line for whoever asked (e.g. "attest-agent: container X must not start: ..."),
 * printed as is, without ident or level: on stderr and into this thread's capture. */
void log_diag(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Bytes of diagnostics already formatted elsewhere (the network process's), as log_diag. */
void log_diag_raw(const char *buf, size_t len);

/* Per-thread capture of what this thread logs (log_msg, log_diag), for the reply to one
 * request while other threads serve others: at most max bytes are kept (the rest dropped),
 * tee 1: still printed on stderr too, 0: only kept. -ENOMEM, else 0. */
int log_capture_begin(size_t max, int tee);
/* Ends the capture: the bytes kept (malloc'd, *len of them, NUL-terminated) or NULL when
 * none. */
char *log_capture_end(size_t *len);

#define LOG_ERROR(...) log_msg(LOG_LVL_ERROR, __FILE__, __LINE__, __VA_ARGS__)
#define LOG_WARN(...)  log_msg(LOG_LVL_WARN, __FILE__, __LINE__, __VA_ARGS__)
#define LOG_INFO(...)  log_msg(LOG_LVL_INFO, __FILE__, __LINE__, __VA_ARGS__)
#define LOG_DEBUG(...) do { if (log_get_level() >= LOG_LVL_DEBUG) \
        log_msg(LOG_LVL_DEBUG, __FILE__, __LINE__, __VA_ARGS__); } while (0)

#endif
