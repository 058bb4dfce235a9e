/* SPDX-License-Identifier: BSD-3-Clause */
/* CBOR building blocks of the agent's wire formats (libcbor): minimal-width integers, text
 * arrays, definite-length encoding. */
#ifndef AGENT_CBORENC_H
#define AGENT_CBORENC_H

#include <cbor.h>
#include <stddef.h>
#include <stdint.h>

#include "launchcfg.h"

/* An unsigned integer in the shortest encoding. */
cbor_item_t *cb_uint(uint64_t v);
/* m[k] = v (minimal width); 0 or -ENOMEM. m is a ctl_map_new() map. */
int cb_put_uint(cbor_item_t *m, const char *k, uint64_t v);
/* A definite array of the set's texts. */
cbor_item_t *cb_text_array(const struct strset *s);
/* Definite-length encoding of it into a callee-allocated buffer (free()). 0 or -ENOMEM. */
int cb_encode(const cbor_item_t *it, uint8_t **out, size_t *len);

#endif
