/* SPDX-License-Identifier: BSD-3-Clause */
/* /proc/PID/stat read once, past the command name (which may hold spaces and parentheses). */
#ifndef AGENT_PROCSTAT_H
#define AGENT_PROCSTAT_H

#include <stddef.h>

/* Reads /proc/PID/stat into buf and points *fields at the text after the command name's
 * closing parenthesis (" S PPID ..."). 0, or a negative errno (-EINVAL when malformed). */
int procstat_read(long long pid, char *buf, size_t size, const char **fields);

#endif
