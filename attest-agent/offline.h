/* SPDX-License-Identifier: BSD-3-Clause */
/* The operator commands: `measure` (no TPM) and `evidence` (no verifier). */
#ifndef AGENT_OFFLINE_H
#define AGENT_OFFLINE_H

#include "opts.h"

/* Each returns the process exit status. */
int offline_measure(const struct agent_opts *o);
int offline_evidence(const struct agent_opts *o);

#endif
