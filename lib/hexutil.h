/* SPDX-License-Identifier: BSD-3-Clause */
/* Hex text of byte strings, both ways: one encoder and one decoder for every component. */
#ifndef VTPM_HEXUTIL_H
#define VTPM_HEXUTIL_H

#include <stddef.h>
#include <stdint.h>

/* Lowercase hex of len bytes into out (2 * len + 1 bytes, NUL-terminated). */
void hex_encode(const uint8_t *b, size_t len, char *out);

/* Exactly 2 * len hex digits of either case at s (no terminator needed) into out.
 * 0, or -EINVAL at the first character that is not a hex digit. */
int hex_decode_exact(const char *s, uint8_t *out, size_t len);

#endif
