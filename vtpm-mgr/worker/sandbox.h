/* SPDX-License-Identifier: BSD-3-Clause */
/* Confinement of the worker process: identity, capabilities, rlimits and a seccomp allow-list. */
#ifndef VTPM_WORKER_SANDBOX_H
#define VTPM_WORKER_SANDBOX_H

/*
 * Enters the sandbox (unless VTPM_WORKER_NO_SANDBOX=1, for debugging only): drops to
 * VTPM_WORKER_UID/GID (default 65534) if root, clears capabilities, sets no_new_privs,
 * non-dumpable, rlimits, and installs the seccomp filter. 0 or -errno; on error the
 * caller must exit.
 */
int wk_sandbox_enter(void);

#endif
