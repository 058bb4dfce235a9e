/* SPDX-License-Identifier: BSD-3-Clause */
/* Single-instance locks of the daemons: an flock(2) on a lock file next to what a daemon owns
 * (its control socket, run or state directory, port file), taken before it creates or
 * removes anything there. */
#ifndef VTPM_RUNLOCK_H
#define VTPM_RUNLOCK_H

#include <sys/types.h>

/* Opens (creating it 0600 when missing) and exclusively locks PATH without waiting; the file
 * is never removed (removing a lock file races with a process about to lock it). On success
 * the holder's pid is written into it and the descriptor (O_CLOEXEC) is returned: keep it
 * open for as long as the lock is needed. When another process holds it, logs an error naming
 * PATH, WHAT (e.g. "the control socket /run/vtpm-mgr/vtpm-mgr.sock") and the holder's pid when
 * known, and returns -EBUSY; other failures are logged with PATH and returned as -errno. */
int runlock_take(const char *path, const char *what);

/* The same on a directory itself (nothing is created): for a directory the caller may only
 * read, e.g. a vTPM's bind-mounted socket directory. */
int runlock_take_dir(const char *dir, const char *what);

/* The pid holding an flock on the file open as fd, from /proc/locks; 0 when not found
 * (e.g. a holder in another pid namespace). */
pid_t runlock_holder(int fd);

#endif
