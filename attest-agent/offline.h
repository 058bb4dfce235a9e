/* SPDX-License-Identifier: BSD-3-Clause */
/* The operator commands: `measure` (no TPM) and `evidence` (no verifier). */
#ifndef AGENT_OFFLINE_H
#define AGENT_OFFLINE_H

#include <stddef.h>
#include <stdint.h>

#include "opts.h"

/* Each returns the process exit status. */
int offline_measure(const struct agent_opts *o);
int offline_evidence(const struct agent_opts *o);
/* Atomic write of data to path (temporary file + rename in path's directory); logged. */
int offline_write(const char *path, const uint8_t *data, size_t len);

#endif
