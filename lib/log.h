/* SPDX-License-Identifier: BSD-3-Clause */
/* Logging for all vtpm-attest userspace components: one line per event on stderr. */
#ifndef VTPM_LOG_H
#define VTPM_LOG_H

enum log_level { LOG_LVL_ERROR = 0, LOG_LVL_WARN, LOG_LVL_INFO, LOG_LVL_DEBUG };

/* Component name printed before every line, e.g. "vtpm-mgr" or "worker[3]". Not copied. */
void log_set_ident(const char *ident);
/* Threshold; the environment variable VTPM_LOG_LEVEL (error|warn|info|debug) sets the start value. */
void log_set_level(enum log_level lvl);
enum log_level log_get_level(void);
void log_msg(enum log_level lvl, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#define LOG_ERROR(...) log_msg(LOG_LVL_ERROR, __FILE__, __LINE__, __VA_ARGS__)
#define LOG_WARN(...)  log_msg(LOG_LVL_WARN, __FILE__, __LINE__, __VA_ARGS__)
#define LOG_INFO(...)  log_msg(LOG_LVL_INFO, __FILE__, __LINE__, __VA_ARGS__)
#define LOG_DEBUG(...) do { if (log_get_level() >= LOG_LVL_DEBUG) \
        log_msg(LOG_LVL_DEBUG, __FILE__, __LINE__, __VA_ARGS__); } while (0)

#endif
