/* SPDX-License-Identifier: BSD-3-Clause */
/* Syscall allow-lists of the agent service's processes (lib/scfilter). */
#ifndef AGENT_SANDBOX_H
#define AGENT_SANDBOX_H

/* Loads what the filter would otherwise have to let in later (tpm2-tss's swtpm TCTI, which
 * tctildr dlopen()s at every vTPM open), then the service's allow-list: what measuring,
 * vtpm-mgr and vTPM sockets, the bindings and the verifier connection need; everything
 * else fails with EPERM, executable memory and new processes included. 0 or -errno. */
int sandbox_service(void);

#endif
