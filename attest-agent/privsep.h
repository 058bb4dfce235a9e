/* SPDX-License-Identifier: BSD-3-Clause */
/* The agent service's unprivileged children: spawning them into a sandbox, and the framed
 * messages (fixed headers, sizes checked before any copy) between them and the parent. */
#ifndef AGENT_PRIVSEP_H
#define AGENT_PRIVSEP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "scfilter.h"

#define PRIVSEP_NOBODY 65534u

/* Fork a child that runs as PRIVSEP_NOBODY (or $VTPM_AGENT_SANDBOX_UID/GID), without
 * capabilities, non-dumpable, with PR_SET_PDEATHSIG, no core, at most nofile descriptors,
 * under policy, and only stdin/out/err, its end of a socketpair (fd 3) and keep (fd 4, when
 * >= 0) open. In the child main(arg, 3, keep ? 4 : -1) runs and its return is the exit
 * status. The parent gets its end of the pair (close-on-exec) and the child's pid. */
int privsep_spawn(const char *ident, const struct scf_policy *policy, unsigned nofile, int keep,
                  int (*main)(void *arg, int chan, int keep), void *arg, pid_t *pid);

/* Whole reads and writes on a blocking descriptor; a timeout (SO_RCVTIMEO/SO_SNDTIMEO) or
 * EOF ends them: 0 or -errno (-EPIPE at EOF). */
int privsep_write_all(int fd, const void *buf, size_t len);
int privsep_read_all(int fd, void *buf, size_t len);
/* SO_RCVTIMEO and SO_SNDTIMEO of ms milliseconds (at least 1). */
void privsep_timeouts(int fd, int ms);

/* A header and, in the same sendmsg, a descriptor (SCM_RIGHTS) */
int privsep_send_fd(int chan, const void *hdr, size_t len, int fd);
/* The header (exactly len bytes) and exactly one descriptor, or -EBADMSG (any received
 * descriptor is closed then). */
int privsep_recv_fd(int chan, void *hdr, size_t len, int *fd);

#endif
