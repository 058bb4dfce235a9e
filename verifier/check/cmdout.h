/* SPDX-License-Identifier: BSD-3-Clause */
/* What the verifier's commands print on stdout. */
#ifndef VERIFIER_CMDOUT_H
#define VERIFIER_CMDOUT_H

#include <stddef.h>

#include <jansson.h>

/* Prints j (json_dumps flags) and a newline on stdout. 0, or -1 when j is NULL or does not
 * dump. */
int cmd_print_json(json_t *j, size_t flags);

#endif
