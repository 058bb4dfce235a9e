/* SPDX-License-Identifier: BSD-3-Clause */
/* The transient objects and sessions one client connection holds (handles the vTPM returned
 * to it and it has not flushed), so that they can be flushed when the connection ends, as the
 * kernel's /dev/tpmrm does for an open file (docs/architecture.md, "Transient objects"). */
#ifndef VTPM_WORKER_RMTRACK_H
#define VTPM_WORKER_RMTRACK_H

#include <stddef.h>
#include <stdint.h>

#define RM_MAX 32u        /* handles tracked per connection; more are left to the client */
#define RM_FLUSH_LEN 14u  /* a TPM2_FlushContext command */

struct rm_handles {
    uint32_t h[RM_MAX];
    unsigned n;
    unsigned commands; /* commands this connection carried */
};

/* After one command and its response on the connection: a handle a successful
 * CreatePrimary, Load, LoadExternal, CreateLoaded, ContextLoad, StartAuthSession,
 * HashSequenceStart or HMAC_Start returned is added, and returned (0: none); one a successful
 * FlushContext, SequenceComplete or EventSequenceComplete ended is dropped. */
uint32_t rm_note(struct rm_handles *t, const uint8_t *cmd, size_t cmd_len, const uint8_t *rsp,
                 size_t rsp_len);
/* Drops h (the vTPM gave its number to another connection: this one's is gone). */
void rm_forget(struct rm_handles *t, uint32_t h);
/* The TPM2_FlushContext command of h into out; returns RM_FLUSH_LEN. */
size_t rm_flush_cmd(uint8_t out[RM_FLUSH_LEN], uint32_t h);

#endif
