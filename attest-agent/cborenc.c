/* SPDX-License-Identifier: BSD-3-Clause */
/* CBOR helpers shared by the event log, the launch config and the evidence encoders. */
#include "cborenc.h"

#include <errno.h>
#include <stdlib.h>

#include "ctlproto.h"

cbor_item_t *cb_uint(uint64_t v)
{
    if (v <= UINT8_MAX)
        return cbor_build_uint8((uint8_t)v);
    if (v <= UINT16_MAX)
        return cbor_build_uint16((uint16_t)v);
    if (v <= UINT32_MAX)
        return cbor_build_uint32((uint32_t)v);
    return cbor_build_uint64(v);
}

int cb_put_uint(cbor_item_t *m, const char *k, uint64_t v)
{
    return ctl_put_item(m, k, cb_uint(v));
}

cbor_item_t *cb_text_array(const struct strset *s)
{
    cbor_item_t *a = cbor_new_definite_array(s->n);

    for (size_t i = 0; a && i < s->n; i++) {
        cbor_item_t *t = cbor_build_string(s->v[i]);
        int ok = t && cbor_array_push(a, t);
        if (t)
            cbor_decref(&t);
        if (!ok)
            cbor_decref(&a);
    }
    return a;
}

int cb_encode(const cbor_item_t *it, uint8_t **out, size_t *len)
{
    if (!it)
        return -ENOMEM;
    return ctl_serialize(it, out, len);
}
