/* SPDX-License-Identifier: BSD-3-Clause */
/* SHA-256 of a large, rarely changing binary (the OCI runtime), remembered across hook runs
 * in a cache directory that only the agent's user can write. */
#ifndef AGENT_DIGESTCACHE_H
#define AGENT_DIGESTCACHE_H

#include <stdint.h>

#include "digest.h"

#define AGENT_DEFAULT_CACHE_DIR "/run/attest-agent"

/*
 * The digest of the file at path (symlinks followed, e.g. /proc/PID/exe). With cache_dir
 * (NULL: no cache), an entry keyed by the opened file's device and inode holds its size,
 * mtime, ctime and digest; it is used only when all of them equal the file's fstat() now,
 * and only from a directory and an entry owned by this euid with no group/other access.
 * Otherwise the file is hashed and the entry rewritten (atomically), except when its ctime is
 * less than 2 s old (a write in the same timestamp tick could go unnoticed). 0 or -errno.
 */
int digest_cached_path(const char *cache_dir, const char *path, uint8_t out[DIGEST_LEN]);

#endif
