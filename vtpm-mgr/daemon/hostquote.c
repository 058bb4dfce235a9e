/* SPDX-License-Identifier: BSD-3-Clause */
/* Request checks and reply encoding of `host-quote`; the quote itself is hosttpm_quote(). */
#include "hostquote.h"

#include <errno.h>

#include "ctlproto.h"

/* 1-24 distinct PCR numbers 0-23 into a mask. */
static int parse_pcrs(const cbor_item_t *a, uint32_t *mask)
{
    size_t n;

    *mask = 0;
    if (!a || !cbor_isa_array(a) || !cbor_array_is_definite(a))
        return -EINVAL;
    n = cbor_array_size(a);
    if (n == 0 || n > HOSTTPM_QUOTE_PCRS)
        return -EINVAL;
    for (size_t i = 0; i < n; i++) {
        cbor_item_t *v = cbor_array_handle(a)[i];
        uint64_t pcr;

        if (!cbor_isa_uint(v) || (pcr = cbor_get_int(v)) >= HOSTTPM_QUOTE_PCRS ||
            (*mask & (1u << pcr)))
            return -EINVAL;
        *mask |= 1u << pcr;
    }
    return 0;
}

int hostquote_parse(const cbor_item_t *req, struct hostquote_req *q, const char **why)
{
    q->nonce = NULL;
    q->nonce_len = 0;
    q->mask = 0;
    if (ctl_get_bytes(req, "nonce", &q->nonce, &q->nonce_len) ||
        q->nonce_len < HOSTQUOTE_NONCE_MIN || q->nonce_len > HOSTQUOTE_NONCE_MAX) {
        *why = "nonce: a byte string of 16-64 bytes is required";
        return -EINVAL;
    }
    if (parse_pcrs(ctl_get(req, "pcrs"), &q->mask) < 0) {
        q->mask = 0; /* nothing half-parsed reaches the TPM */
        *why = "pcrs: an array of 1-24 distinct PCR numbers 0-23 is required";
        return -EINVAL;
    }
    return 0;
}


cbor_item_t *hostquote_reply(const struct hosttpm_quote *q)
{
    cbor_item_t *r = ctl_ok();

    if (r && (ctl_put_bytes(r, "quote_attest", q->attest, q->attest_len) ||
              ctl_put_bytes(r, "quote_sig", q->sig, q->sig_len) ||
              ctl_put_item(r, "pcrs", ctl_pcr_map(q->mask, q->values))))
        cbor_decref(&r);
    return r;
}
