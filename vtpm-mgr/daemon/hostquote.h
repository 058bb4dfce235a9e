/* SPDX-License-Identifier: BSD-3-Clause */
/* The `host-quote` control operation's request and reply (docs/control-protocol.md). */
#ifndef VTPM_HOSTQUOTE_H
#define VTPM_HOSTQUOTE_H

#include <cbor.h>
#include <stddef.h>
#include <stdint.h>

#include "hosttpm.h"

#define HOSTQUOTE_NONCE_MIN 16
#define HOSTQUOTE_NONCE_MAX 64

struct hostquote_req {
    const uint8_t *nonce;   /* borrowed from the request */
    size_t nonce_len;
    uint32_t mask;          /* bit i: PCR i */
};

/*
 * Checks a request's `nonce` (bytes, 16-64) and `pcrs` (definite array of 1-24 distinct
 * unsigned integers 0-23). Returns 0, or -EINVAL with *why naming what is wrong.
 */
int hostquote_parse(const cbor_item_t *req, struct hostquote_req *q, const char **why);

/* The success reply {v, ok, quote_attest, quote_sig, pcrs: {uint: bytes(32)}}, or NULL. */
cbor_item_t *hostquote_reply(const struct hosttpm_quote *q);

#endif
