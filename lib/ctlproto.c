/* SPDX-License-Identifier: BSD-3-Clause */
/* The vtpm-mgr control protocol: strict CBOR map framing and typed accessors (libcbor). */
#include "ctlproto.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* key is the text k of length kl. */
static int key_is(const cbor_item_t *key, const char *k, size_t kl)
{
    /* length before definiteness: most keys differ in it (an indefinite string's is 0) */
    return cbor_isa_string(key) && cbor_string_length(key) == kl &&
           cbor_string_is_definite(key) && memcmp(cbor_string_handle(key), k, kl) == 0;
}

static int keys_valid(const cbor_item_t *map)
{
    struct cbor_pair *pairs = cbor_map_handle(map);
    size_t n = cbor_map_size(map);

    for (size_t i = 0; i < n; i++) {
        const cbor_item_t *k = pairs[i].key;
        if (!cbor_isa_string(k) || !cbor_string_is_definite(k) ||
            cbor_string_length(k) == 0 || cbor_string_length(k) > CTL_MAX_KEY)
            return 0;
        for (size_t j = 0; j < i; j++) {
            const cbor_item_t *o = pairs[j].key;
            if (cbor_string_length(o) == cbor_string_length(k) &&
                !memcmp(cbor_string_handle(o), cbor_string_handle(k), cbor_string_length(k)))
                return 0;
        }
    }
    return 1;
}

/*
 * cbor_load allocates a container for its declared element count before reading any
 * element, so ten bytes could ask for gigabytes. A first pass with libcbor's streaming
 * decoder rejects counts that the remaining bytes cannot possibly hold (every element takes
 * at least one byte), which bounds the allocation by the frame size.
 */
struct size_check {
    size_t left;
    int bad;
};

static void check_array(void *ctx, size_t n)
{
    struct size_check *c = ctx;

    if (n > c->left)
        c->bad = 1;
}

static void check_map(void *ctx, size_t n)
{
    struct size_check *c = ctx;

    if (n > c->left / 2)
        c->bad = 1;
}

/* This protocol has definite lengths only, and no tags, floats, null or undefined
 * (libcbor 0.8 also fails to re-read some tagged items it wrote). */
static void check_indef(void *ctx)
{
    ((struct size_check *)ctx)->bad = 1;
}

static void check_tag(void *ctx, uint64_t v)
{
    (void)v;
    check_indef(ctx);
}

static void check_float(void *ctx, float v)
{
    (void)v;
    check_indef(ctx);
}

static void check_double(void *ctx, double v)
{
    (void)v;
    check_indef(ctx);
}

static int sizes_plausible(const uint8_t *buf, size_t len)
{
    struct cbor_callbacks cb = cbor_empty_callbacks;
    struct size_check c = { 0 };
    size_t off = 0;

    cb.array_start = check_array;
    cb.map_start = check_map;
    cb.indef_array_start = check_indef;
    cb.indef_map_start = check_indef;
    cb.byte_string_start = check_indef;
    cb.string_start = check_indef;
    cb.tag = check_tag;
    cb.float2 = check_float;
    cb.float4 = check_float;
    cb.float8 = check_double;
    cb.undefined = check_indef;
    cb.null = check_indef;
    while (off < len && !c.bad) {
        struct cbor_decoder_result r;
        c.left = len - off;
        r = cbor_stream_decode(buf + off, len - off, &cb, &c);
        if (r.status != CBOR_DECODER_FINISHED || r.read == 0)
            return 0;
        off += r.read;
    }
    return !c.bad;
}

int ctl_decode(const uint8_t *buf, size_t len, cbor_item_t **out)
{
    struct cbor_load_result res;
    cbor_item_t *item;

    if (len == 0 || !sizes_plausible(buf, len))
        return -EBADMSG;
    item = cbor_load(buf, len, &res);
    if (!item)
        return -EBADMSG;
    if (res.error.code != CBOR_ERR_NONE || res.read != len || !cbor_isa_map(item) ||
        !cbor_map_is_definite(item) || !keys_valid(item)) {
        cbor_decref(&item);
        return -EBADMSG;
    }
    *out = item;
    return 0;
}

static int io_full(int fd, void *buf, size_t len, int writing)
{
    uint8_t *p = buf;

    while (len > 0) {
        ssize_t n = writing ? write(fd, p, len) : read(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        if (n == 0)
            return -ECONNRESET;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Maps are built indefinite (size unknown while adding); the wire carries definite ones. */
static cbor_item_t *definite_copy(cbor_item_t *it)
{
    size_t n;
    cbor_item_t *out;

    if (cbor_isa_map(it)) {
        struct cbor_pair *p = cbor_map_handle(it);
        n = cbor_map_size(it);
        out = cbor_new_definite_map(n);
        for (size_t i = 0; out && i < n; i++) {
            cbor_item_t *v = definite_copy(p[i].value);
            int ok = v && cbor_map_add(out, (struct cbor_pair){ .key = p[i].key, .value = v });
            if (v)
                cbor_decref(&v);
            if (!ok)
                cbor_decref(&out);
        }
        return out;
    }
    if (cbor_isa_array(it)) {
        n = cbor_array_size(it);
        out = cbor_new_definite_array(n);
        for (size_t i = 0; out && i < n; i++) {
            cbor_item_t *v = definite_copy(cbor_array_handle(it)[i]);
            int ok = v && cbor_array_push(out, v);
            if (v)
                cbor_decref(&v);
            if (!ok)
                cbor_decref(&out);
        }
        return out;
    }
    return cbor_incref(it);
}

int ctl_serialize(const cbor_item_t *map, uint8_t **out, size_t *outlen)
{
    unsigned char *buf = NULL;
    size_t cap = 0, len;
    cbor_item_t *wire = definite_copy((cbor_item_t *)map);

    if (!wire)
        return -ENOMEM;
    len = cbor_serialize_alloc(wire, &buf, &cap);
    cbor_decref(&wire);
    if (len == 0) {
        free(buf);
        return -ENOMEM;
    }
    *out = buf;
    *outlen = len;
    return 0;
}

int ctl_send(int fd, const cbor_item_t *map)
{
    return ctl_send_max(fd, map, CTL_MAX_RESPONSE);
}

int ctl_send_max(int fd, const cbor_item_t *map, size_t maxlen)
{
    uint8_t *buf;
    size_t len;
    uint32_t be;
    int r = ctl_serialize(map, &buf, &len);

    if (r)
        return r;
    if (len > maxlen || len > UINT32_MAX) {
        free(buf);
        return -EMSGSIZE;
    }
    be = htonl((uint32_t)len);
    r = io_full(fd, &be, sizeof(be), 1);
    if (r == 0)
        r = io_full(fd, buf, len, 1);
    free(buf);
    return r;
}

int ctl_recv(int fd, size_t maxlen, cbor_item_t **out)
{
    uint32_t be;
    uint8_t *buf;
    size_t len;
    int r;

    r = io_full(fd, &be, sizeof(be), 0);
    if (r)
        return r;
    len = ntohl(be);
    if (len > maxlen)
        return -EMSGSIZE;
    if (len == 0)
        return -EBADMSG;
    buf = malloc(len);
    if (!buf)
        return -ENOMEM;
    r = io_full(fd, buf, len, 0);
    if (r == 0)
        r = ctl_decode(buf, len, out);
    free(buf);
    return r;
}

cbor_item_t *ctl_map_new(void)
{
    return cbor_new_indefinite_map();
}

int ctl_put_item(cbor_item_t *m, const char *k, cbor_item_t *v)
{
    cbor_item_t *key;
    int ok;

    if (!v)
        return -ENOMEM;
    key = cbor_build_string(k);
    if (!key) {
        cbor_decref(&v);
        return -ENOMEM;
    }
    ok = cbor_map_add(m, (struct cbor_pair){ .key = key, .value = v });
    cbor_decref(&key);
    cbor_decref(&v);
    return ok ? 0 : -ENOMEM;
}

int ctl_put_str(cbor_item_t *m, const char *k, const char *v)
{
    return ctl_put_item(m, k, cbor_build_string(v));
}

int ctl_put_uint(cbor_item_t *m, const char *k, uint64_t v)
{
    return ctl_put_item(m, k, cbor_build_uint64(v));
}

int ctl_put_bool(cbor_item_t *m, const char *k, int v)
{
    return ctl_put_item(m, k, cbor_build_bool(v != 0));
}

int ctl_put_bytes(cbor_item_t *m, const char *k, const uint8_t *v, size_t len)
{
    return ctl_put_item(m, k, cbor_build_bytestring(v, len));
}

static int put_pcr(cbor_item_t *m, unsigned pcr, const uint8_t value[32])
{
    struct cbor_pair p = { .key = cbor_build_uint8((uint8_t)pcr),
                           .value = cbor_build_bytestring(value, 32) };
    int ok = p.key && p.value && cbor_map_add(m, p);

    if (p.key)
        cbor_decref(&p.key);
    if (p.value)
        cbor_decref(&p.value);
    return ok ? 0 : -ENOMEM;
}

cbor_item_t *ctl_pcr_map(uint32_t mask, const uint8_t values[24][32])
{
    cbor_item_t *m;

    mask &= 0xffffffu;
    m = cbor_new_definite_map((size_t)__builtin_popcount(mask));
    for (unsigned i = 0; m && i < 24; i++)
        if ((mask & (1u << i)) && put_pcr(m, i, values[i]) < 0)
            cbor_decref(&m);
    return m;
}

cbor_item_t *ctl_get(const cbor_item_t *m, const char *k)
{
    struct cbor_pair *pairs;
    size_t n, kl;

    if (!m || !cbor_isa_map(m))
        return NULL;
    pairs = cbor_map_handle(m);
    n = cbor_map_size(m);
    kl = strlen(k); /* once, not per key: the calls into libcbor keep it from being hoisted */
    for (size_t i = 0; i < n; i++)
        if (key_is(pairs[i].key, k, kl))
            return pairs[i].value;
    return NULL;
}

int ctl_get_str(const cbor_item_t *m, const char *k, char *out, size_t outsz)
{
    const cbor_item_t *v = ctl_get(m, k);
    size_t len;

    if (!v)
        return -ENOENT;
    if (!cbor_isa_string(v) || !cbor_string_is_definite(v))
        return -EINVAL;
    len = cbor_string_length(v);
    if (len >= outsz || memchr(cbor_string_handle(v), 0, len))
        return -EINVAL;
    memcpy(out, cbor_string_handle(v), len);
    out[len] = '\0';
    return 0;
}

int ctl_get_uint(const cbor_item_t *m, const char *k, uint64_t *out)
{
    const cbor_item_t *v = ctl_get(m, k);

    if (!v)
        return -ENOENT;
    if (!cbor_isa_uint(v))
        return -EINVAL;
    *out = cbor_get_int(v);
    return 0;
}

/* libcbor's cbor_is_bool asserts on floats: only a simple value (width 0) may be asked. */
int ctl_is_bool(const cbor_item_t *v)
{
    return cbor_isa_float_ctrl(v) && cbor_float_get_width(v) == CBOR_FLOAT_0 && cbor_is_bool(v);
}

int ctl_get_bool(const cbor_item_t *m, const char *k, int *out)
{
    const cbor_item_t *v = ctl_get(m, k);

    if (!v)
        return -ENOENT;
    if (!ctl_is_bool(v))
        return -EINVAL;
    *out = cbor_get_bool(v);
    return 0;
}

int ctl_get_bytes(const cbor_item_t *m, const char *k, const uint8_t **out, size_t *len)
{
    const cbor_item_t *v = ctl_get(m, k);

    if (!v)
        return -ENOENT;
    if (!cbor_isa_bytestring(v) || !cbor_bytestring_is_definite(v))
        return -EINVAL;
    *out = cbor_bytestring_handle(v);
    *len = cbor_bytestring_length(v);
    return 0;
}

cbor_item_t *ctl_ok(void)
{
    cbor_item_t *m = ctl_map_new();

    if (m && (ctl_put_uint(m, "v", CTL_PROTO_VERSION) || ctl_put_bool(m, "ok", 1))) {
        cbor_decref(&m);
        return NULL;
    }
    return m;
}

cbor_item_t *ctl_error(int err, const char *msg)
{
    cbor_item_t *m = ctl_map_new();

    if (!m)
        return NULL;
    if (ctl_put_uint(m, "v", CTL_PROTO_VERSION) || ctl_put_bool(m, "ok", 0) ||
        ctl_put_str(m, "error", msg) || ctl_put_uint(m, "errno", (uint64_t)(err < 0 ? -err : err)))
        cbor_decref(&m);
    return m;
}
