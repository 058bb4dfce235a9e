/* SPDX-License-Identifier: BSD-3-Clause */
/* libFuzzer harness: the control-protocol frame decoder and its typed accessors. */
#include <stddef.h>
#include <stdint.h>

#include "ctlproto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cbor_item_t *m = NULL;
    char s[64];
    uint64_t u;
    int b;
    const uint8_t *bytes;
    size_t blen;
    uint8_t *re;
    size_t relen;

    if (ctl_decode(data, size, &m) != 0)
        return 0;
    (void)ctl_get_str(m, "op", s, sizeof(s));
    (void)ctl_get_str(m, "name", s, sizeof(s));
    (void)ctl_get_uint(m, "v", &u);
    (void)ctl_get_bool(m, "ok", &b);
    (void)ctl_get_bytes(m, "uuid", &bytes, &blen);
    /* Whatever decodes must re-encode and decode again. */
    if (ctl_serialize(m, &re, &relen) == 0) {
        cbor_item_t *again = NULL;
        if (ctl_decode(re, relen, &again) != 0)
            __builtin_trap();
        cbor_decref(&again);
        free(re);
    }
    cbor_decref(&m);
    return 0;
}
