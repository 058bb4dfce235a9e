/* SPDX-License-Identifier: BSD-3-Clause */
/* The PCR list syntax of vtpmctl and attest-agent ("0-7,13"), parsed into a bit mask. */
#ifndef VTPM_PCRLIST_H
#define VTPM_PCRLIST_H

#include <stddef.h>
#include <stdint.h>

#define PCRLIST_PCRS 24 /* PCR 0..23 */

/*
 * Parses comma-separated decimal PCR numbers 0-23 and ranges "A-B" (A <= B) into *mask
 * (bit i: PCR i). Empty items, other characters, leading zeros in two-digit numbers and a
 * PCR named twice (also through overlapping ranges) are errors. 0 or -EINVAL (*mask 0).
 */
int pcrlist_parse(const char *s, uint32_t *mask);

/* Writes mask as a list ("0-7,13") into out; "" for 0. Returns 0 or -ENOSPC. */
int pcrlist_format(uint32_t mask, char *out, size_t outsz);

#endif
