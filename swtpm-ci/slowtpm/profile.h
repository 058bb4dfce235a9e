/* SPDX-License-Identifier: BSD-3-Clause */
/* The latency table of the slow host TPM (swtpm-ci/slowtpm-profiles.tsv). */
#ifndef SLOWTPM_PROFILE_H
#define SLOWTPM_PROFILE_H

#include <stddef.h>
#include <stdint.h>

#include "inspect.h"

#define PROFILE_MAX_US 600000000ull /* 600 s: no row may ask for more */

struct profile;

/*
 * Loads the column `name` of the table in `path`. Format (tab-separated, '#' comments):
 * a header "command alg PROFILE... source", then one row per (command, alg): command is a
 * TPM2_CC name without prefix (e.g. Quote, NV_Write) or '*' (every other command); alg is
 * ecc, rsa or '*'; each profile column a delay in milliseconds (decimals allowed); source
 * non-empty. On error returns NULL with a message naming the file and line in err.
 */
struct profile *profile_load(const char *path, const char *name, char *err, size_t errlen);
void profile_free(struct profile *p);

/* Delay of one command in microseconds: (cc, alg), then (cc, '*'), then ('*', '*'), else 0. */
uint64_t profile_delay_us(const struct profile *p, TPM2_CC cc, enum key_alg alg);

#endif
