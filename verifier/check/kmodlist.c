/* SPDX-License-Identifier: BSD-3-Clause */
/* The kmod-vtpm measurement list: strict parse, SHA-256 replay, vTPM lookup. The format is
 * our own kernel module's text list (kmod-vtpm/measure.c), so no library parses it. */
#include "check/kmodlist.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include "hexutil.h"

struct kline {
    uint32_t pcr;
    uint8_t digest[32];
    const char *event; /* not NUL-terminated: event_len bytes */
    size_t event_len;
};

/* The kernel writes lower-case hex (%phN): anything else is not its list. */
static int unhex(const char *s, size_t n, uint8_t *out)
{
    for (size_t i = 0; i < 2 * n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return -1;
    return hex_decode_exact(s, out, n);
}

/* "<pcr> <64 hex> <event>" in [s, s+n): printable ASCII only. */
static int parse_line(const char *s, size_t n, struct kline *l)
{
    size_t i = 0;

    l->pcr = 0;
    while (i < n && i < 2 && s[i] >= '0' && s[i] <= '9')
        l->pcr = l->pcr * 10 + (uint32_t)(s[i++] - '0');
    if (i == 0 || l->pcr > 23 || i + 1 + 64 + 1 >= n || s[i] != ' ' || s[i + 65] != ' ')
        return -1;
    if (unhex(s + i + 1, 32, l->digest) < 0)
        return -1;
    l->event = s + i + 66;
    l->event_len = n - i - 66;
    for (size_t k = 0; k < l->event_len; k++)
        if (l->event[k] < 0x20 || l->event[k] > 0x7e)
            return -1;
    return 0;
}

/* The value of `key=` in the event (up to the next space), or NULL. */
static const char *field(const struct kline *l, const char *key, size_t *vlen)
{
    size_t kl = strlen(key);

    for (size_t i = 0; i + kl <= l->event_len; i++) {
        if ((i == 0 || l->event[i - 1] == ' ') && !memcmp(l->event + i, key, kl)) {
            const char *v = l->event + i + kl, *end = memchr(v, ' ', l->event_len - i - kl);
            *vlen = end ? (size_t)(end - v) : l->event_len - i - kl;
            return v;
        }
    }
    return NULL;
}

static int is_op(const struct kline *l, const char *op)
{
    size_t n;
    const char *v = field(l, "op=", &n);

    return v && n == strlen(op) && !memcmp(v, op, n);
}

/* The SHA-256 base of the load line: "base=...sha256:<hex>..." or "base=none" (zero). */
static int load_base(const struct kline *l, uint8_t base[32])
{
    size_t n;
    const char *v = field(l, "base=", &n), *s;

    if (!v)
        return -1;
    memset(base, 0, 32);
    if (n == 4 && !memcmp(v, "none", 4))
        return 0;
    for (s = v; s + 7 + 64 <= v + n; s++)
        if (!memcmp(s, "sha256:", 7) && (s == v || s[-1] == ','))
            return unhex(s + 7, 32, base);
    return -1;
}

static int fail(char *err, size_t errsz, size_t line, const char *what)
{
    snprintf(err, errsz, "line %zu: %s", line, what);
    return -EBADMSG;
}

/* Calls fn for every line after checking its syntax; stops on the first fault. */
typedef int (*line_fn)(const struct kline *l, size_t idx, void *ctx, char *err, size_t errsz);

static int each_line(const uint8_t *buf, size_t len, line_fn fn, void *ctx, char *err,
                     size_t errsz)
{
    const char *p = (const char *)buf, *end = p + len;
    size_t idx = 0;

    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        struct kline l;
        int r;

        if (!nl)
            return fail(err, errsz, idx, "no newline at the end");
        if ((size_t)(nl - p) > KMODLIST_MAX_LINE || parse_line(p, (size_t)(nl - p), &l) < 0)
            return fail(err, errsz, idx, "malformed line");
        if ((r = fn(&l, idx, ctx, err, errsz)) != 0)
            return r;
        p = nl + 1;
        idx++;
    }
    return idx ? 0 : fail(err, errsz, 0, "empty list");
}

struct replay_ctx {
    struct kmod_replay *out;
    const uint8_t *quoted;
};

static int replay_one(const struct kline *l, size_t idx, void *ctx, char *err, size_t errsz)
{
    struct replay_ctx *rc = ctx;
    struct kmod_replay *out = rc->out;
    uint8_t md[32], buf[64];

    SHA256((const uint8_t *)l->event, l->event_len, md);
    if (CRYPTO_memcmp(md, l->digest, 32))
        return fail(err, errsz, idx, "digest does not match the event");
    if (idx == 0) {
        if (!is_op(l, "load") || load_base(l, out->value) < 0)
            return fail(err, errsz, idx, "the list must start with op=load and its base");
        out->pcr = l->pcr;
    } else if (l->pcr != out->pcr || is_op(l, "load")) {
        return fail(err, errsz, idx, "another PCR or a second load");
    }
    memcpy(buf, out->value, 32);
    memcpy(buf + 32, md, 32);
    SHA256(buf, sizeof(buf), out->value);
    out->lines = idx + 1;
    if (rc->quoted && !CRYPTO_memcmp(out->value, rc->quoted, 32))
        out->matched = idx + 1;
    return 0;
}

int kmodlist_replay(const uint8_t *buf, size_t len, const uint8_t *quoted,
                    struct kmod_replay *out, char *err, size_t errsz)
{
    struct replay_ctx rc = { .out = out, .quoted = quoted };

    memset(out, 0, sizeof(*out));
    return each_line(buf, len, replay_one, &rc, err, errsz);
}

struct lookup {
    const char *uuid;
    const uint8_t *ek;
    size_t lines;
    int live;
};

static int lookup_one(const struct kline *l, size_t idx, void *ctx, char *err, size_t errsz)
{
    struct lookup *lk = ctx;
    size_t un, en;
    const char *u = field(l, "uuid=", &un), *e = field(l, "ek=sha256:", &en);
    uint8_t ek[32];

    if (idx >= lk->lines)
        return 1; /* past the quoted prefix: stop */
    if (!u || un != strlen(lk->uuid) || memcmp(u, lk->uuid, un))
        return 0;
    if (is_op(l, "destroy"))
        lk->live = 0;
    else if (is_op(l, "create") && e && en == 64 && unhex(e, 32, ek) == 0)
        lk->live = CRYPTO_memcmp(ek, lk->ek, 32) == 0;
    return 0;
}

int kmodlist_has_vtpm(const uint8_t *buf, size_t len, size_t lines, const char *uuid,
                      const uint8_t ek_digest[32])
{
    struct lookup lk = { .uuid = uuid, .ek = ek_digest, .lines = lines, .live = 0 };
    char err[8];

    if (each_line(buf, len, lookup_one, &lk, err, sizeof(err)) < 0)
        return 0;
    return lk.live;
}
