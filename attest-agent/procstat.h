/* SPDX-License-Identifier: BSD-3-Clause */
/* /proc/PID/stat read once, past the command name (which may hold spaces and parentheses). */
#ifndef AGENT_PROCSTAT_H
#define AGENT_PROCSTAT_H

#include <stddef.h>

/* Reads /proc/PID/stat into buf and points *fields at the text after the command name's
 * closing parenthesis (" S PPID ..."). 0, or a negative errno (-EINVAL when malformed). */
int procstat_read(long long pid, char *buf, size_t size, const char **fields);

/* Field 22 of /proc/PID/stat (start time in clock ticks): with the pid it names one process,
 * even after pid reuse. 0 when the process does not exist or the file is malformed. */
unsigned long long procstat_start_time(long long pid);

#endif
