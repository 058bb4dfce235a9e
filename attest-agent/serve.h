/* SPDX-License-Identifier: BSD-3-Clause */
/* `attest-agent serve`: the long-running hook service behind attest-agent-hook. */
#ifndef AGENT_SERVE_H
#define AGENT_SERVE_H

#include "opts.h"

/* Serves hook requests on o->listen_socket until SIGTERM or SIGINT. Exit status. */
int serve_run(const struct agent_opts *o);

#endif
