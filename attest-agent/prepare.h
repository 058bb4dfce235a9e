/* SPDX-License-Identifier: BSD-3-Clause */
/* `attest-agent prepare`: a vTPM made ahead of a container start gets its AK and the
 * verifier's registration ahead too, so the hook only measures, extends and quotes. */
#ifndef AGENT_PREPARE_H
#define AGENT_PREPARE_H

#include "opts.h"

/* Exit status: 0 prepared (prints {"vtpm", "registration"}), 1 failure. */
int prepare_run(const struct agent_opts *o);

#endif
