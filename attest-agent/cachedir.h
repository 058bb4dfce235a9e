/* SPDX-License-Identifier: BSD-3-Clause */
/* The agent's cache directory (--cache-dir): trusted only when private to the agent's euid,
 * entries replaced whole by a temporary file and rename(). */
#ifndef AGENT_CACHEDIR_H
#define AGENT_CACHEDIR_H

#include <stddef.h>
#include <sys/types.h>

/* 1 when fd is of type (S_IFDIR, S_IFREG), owned by this euid, with no group/other access. */
int cachedir_private(int fd, mode_t type);

/* The directory, created 0700 when missing; -1 when absent or not private (a warning naming
 * what, e.g. "digest cache"). */
int cachedir_open(const char *dir, const char *what);

/* Writes name in dfd atomically (temporary file + rename, mode 0600): 0 or -errno. */
int cachedir_store(int dfd, const char *name, const void *buf, size_t len);

#endif
