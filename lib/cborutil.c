/* SPDX-License-Identifier: BSD-3-Clause */
/* Generic helpers over decoded libcbor items that ctlproto's map codec does not cover. */
#include "cborutil.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ctlproto.h"

static int key_ok(const cbor_item_t *k, size_t maxkey)
{
    return cbor_isa_string(k) && cbor_string_is_definite(k) && cbor_string_length(k) > 0 &&
           cbor_string_length(k) <= maxkey;
}

static int same_text(const cbor_item_t *a, const cbor_item_t *b)
{
    return cbor_string_length(a) == cbor_string_length(b) &&
           !memcmp(cbor_string_handle(a), cbor_string_handle(b), cbor_string_length(a));
}

/* Keys' texts read once into these (each libcbor accessor is a call): the duplicate check
 * compares every pair of keys. */
#define STRICT_FAST_KEYS 128u

int cbu_map_strict(const cbor_item_t *m, size_t maxkey)
{
    const unsigned char *kp[STRICT_FAST_KEYS];
    size_t kl[STRICT_FAST_KEYS];
    struct cbor_pair *p;
    size_t n;

    if (!m || !cbor_isa_map(m) || !cbor_map_is_definite(m))
        return 0;
    p = cbor_map_handle(m);
    n = cbor_map_size(m);
    for (size_t i = 0; i < n; i++) {
        if (!key_ok(p[i].key, maxkey))
            return 0;
        if (n > STRICT_FAST_KEYS) {
            for (size_t j = 0; j < i; j++)
                if (same_text(p[i].key, p[j].key))
                    return 0;
            continue;
        }
        kp[i] = cbor_string_handle(p[i].key);
        kl[i] = cbor_string_length(p[i].key);
        for (size_t j = 0; j < i; j++)
            if (kl[j] == kl[i] && !memcmp(kp[j], kp[i], kl[i]))
                return 0;
    }
    return 1;
}

int cbu_get_bytes(const cbor_item_t *m, const char *k, const uint8_t **p, size_t *len)
{
    const cbor_item_t *v = ctl_get(m, k);

    if (!v)
        return -ENOENT;
    if (!cbor_isa_bytestring(v) || !cbor_bytestring_is_definite(v) ||
        cbor_bytestring_length(v) == 0)
        return -EINVAL;
    *p = cbor_bytestring_handle(v);
    *len = cbor_bytestring_length(v);
    return 0;
}

int cbu_get_text_array(const cbor_item_t *m, const char *k, const cbor_item_t **arr)
{
    const cbor_item_t *v = ctl_get(m, k);

    if (!v)
        return -ENOENT;
    if (!cbor_isa_array(v) || !cbor_array_is_definite(v))
        return -EINVAL;
    for (size_t i = 0; i < cbor_array_size(v); i++) {
        const cbor_item_t *e = cbor_array_handle(v)[i];
        if (!cbor_isa_string(e) || !cbor_string_is_definite(e))
            return -EINVAL;
    }
    *arr = v;
    return 0;
}

int cbu_text_eq(const cbor_item_t *t, const char *s)
{
    size_t sl = strlen(s);

    return cbor_isa_string(t) && cbor_string_is_definite(t) && cbor_string_length(t) == sl &&
           !memcmp(cbor_string_handle(t), s, sl);
}

int cbu_text_copy(const cbor_item_t *t, char *out, size_t outsz)
{
    size_t len;

    if (!cbor_isa_string(t) || !cbor_string_is_definite(t))
        return -EINVAL;
    len = cbor_string_length(t);
    if (len >= outsz || memchr(cbor_string_handle(t), 0, len))
        return -EINVAL;
    memcpy(out, cbor_string_handle(t), len);
    out[len] = '\0';
    return 0;
}

int cbu_encode(const cbor_item_t *item, uint8_t **out, size_t *len)
{
    unsigned char *buf = NULL;
    size_t cap = 0, n = cbor_serialize_alloc(item, &buf, &cap);

    if (n == 0) {
        free(buf);
        return -ENOMEM;
    }
    *out = buf;
    *len = n;
    return 0;
}
