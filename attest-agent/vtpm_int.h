/* SPDX-License-Identifier: BSD-3-Clause */
/* Internals shared by the vTPM session files (vtpm.c, vtpmkeys.c, vtpmnv.c). */
#ifndef AGENT_VTPM_INT_H
#define AGENT_VTPM_INT_H

#include <tss2/tss2_esys.h>

#include "vtpm.h"

struct vtpm {
    TSS2_TCTI_CONTEXT *tcti;
    ESYS_CONTEXT *esys;
    ESYS_TR ek;          /* transient, flushed at close */
    ESYS_TR ak;          /* persistent, closed (not evicted) at close */
    TPM2B_PUBLIC ak_pub;
};

/* Logs "what: <decoded rc>", returns a negative errno. */
int vtpm_err(TSS2_RC rc, const char *what);
/* Flushes a transient object or session, then forgets it. */
void vtpm_flush(struct vtpm *v, ESYS_TR *tr);
/* 1 when handle (persistent object or NV index) exists, 0 when not, or a negative errno. */
int vtpm_handle_present(struct vtpm *v, uint32_t handle);

#endif
