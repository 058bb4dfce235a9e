/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The runtime monitor's state directory (docs/runtime-integrity.md "Restarts"): one file per
 * watched container, written atomically (a temporary file renamed over it), mode 0600, in a
 * 0700 directory held by one monitor at a time (an flock on DIR/lock).
 */
#ifndef AGENT_RTMONSTATE_H
#define AGENT_RTMONSTATE_H

#include <stddef.h>
#include <stdint.h>

#define RTMON_DEFAULT_STATE "/run/attest-agent-monitor/state"

/* Makes dir (one level, 0700) when missing, refuses one that others can write or read, and
 * takes its lock: the lock's descriptor, or a negative errno (-EWOULDBLOCK: another monitor
 * holds it). */
int rtstate_lock(const char *dir);

/* name: a file name of [0-9a-z.] (no '/'). 0 or a negative errno. */
int rtstate_write(const char *dir, const char *name, const uint8_t *buf, size_t len);
/* At most max bytes into a malloc'd *buf: 0 or a negative errno (-EFBIG when larger). */
int rtstate_read(const char *dir, const char *name, size_t max, uint8_t **buf, size_t *len);
void rtstate_remove(const char *dir, const char *name);

/* Calls fn for each file of dir whose name ends in suffix. */
void rtstate_each(const char *dir, const char *suffix, void (*fn)(const char *name, void *arg),
                  void *arg);

#endif
