/* SPDX-License-Identifier: BSD-3-Clause */
/* The OCI createRuntime hook: measure, register, quote, ask the verifier, allow or block. */
#ifndef AGENT_HOOK_H
#define AGENT_HOOK_H

#include "opts.h"

/* Annotation naming an existing vTPM (UUID or vtpm-mgr name) for the container. */
#define ANN_VTPM "org.vtpm-attest.vtpm"

/* Runs the hook with the OCI state on stdin. Returns the process exit status: 0 only when
 * the verifier answered allow. */
int hook_run(const struct agent_opts *o);

#endif
