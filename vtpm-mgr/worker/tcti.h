/* SPDX-License-Identifier: BSD-3-Clause */
/* An in-process TCTI that hands SAPI commands straight to libtpms for one chosen instance. */
#ifndef VTPM_WORKER_TCTI_H
#define VTPM_WORKER_TCTI_H

#include <tss2/tss2_tcti.h>

#include "inst.h"

/* Size of the context wtcti_init() fills. */
size_t wtcti_size(void);
/* Initialises a context of wtcti_size() bytes; commands go to the instance set below. */
void wtcti_init(TSS2_TCTI_CONTEXT *ctx);
/* Chooses the instance that the following commands run on. */
void wtcti_set_target(TSS2_TCTI_CONTEXT *ctx, struct inst *inst);

#endif
