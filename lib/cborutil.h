/* SPDX-License-Identifier: BSD-3-Clause */
/* Generic helpers over decoded libcbor items that ctlproto's map codec does not cover. */
#ifndef VTPM_CBORUTIL_H
#define VTPM_CBORUTIL_H

#include <cbor.h>
#include <stddef.h>
#include <stdint.h>

/* 1 when m is a definite map whose keys are all definite, non-empty text strings of at most
 * maxkey bytes, without duplicates (what ctl_decode checks at the top level only). */
int cbu_map_strict(const cbor_item_t *m, size_t maxkey);

/* A non-empty definite byte string at key k of map m (borrowed): 0, -ENOENT, -EINVAL. */
int cbu_get_bytes(const cbor_item_t *m, const char *k, const uint8_t **p, size_t *len);

/* A definite array of definite text strings at key k: 0, -ENOENT, -EINVAL. */
int cbu_get_text_array(const cbor_item_t *m, const char *k, const cbor_item_t **arr);

/* 1 when the definite text item t equals the C string s. */
int cbu_text_eq(const cbor_item_t *t, const char *s);

/* Copies text item t into out (NUL-terminated): 0, or -EINVAL when it does not fit or holds a NUL. */
int cbu_text_copy(const cbor_item_t *t, char *out, size_t outsz);

/* The exact CBOR encoding of item (callee-allocated, free()). Returns 0 or -ENOMEM. */
int cbu_encode(const cbor_item_t *item, uint8_t **out, size_t *len);

#endif
