/* SPDX-License-Identifier: BSD-3-Clause */
/* Handlers for the parent's requests (IPC_INST_*, IPC_SUSPEND_ALL, IPC_STATS). */
#ifndef VTPM_WORKER_HANDLERS_H
#define VTPM_WORKER_HANDLERS_H

#include "ipc.h"

struct worker;

/* Executes one validated parent request and sends its IPC_REPLY; owns m's descriptors. */
void wk_handle_request(struct worker *w, struct ipc_msg *m);

/* Manufactures, starts and provisions a throw-away TPM so libraries load what they need
 * before the sandbox forbids it. 0 or -EIO. */
int wk_warmup(void);

#endif
