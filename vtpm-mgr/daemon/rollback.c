/* SPDX-License-Identifier: BSD-3-Clause */
/* Rollback detection: the state manifest's format and the decisions on it (rollback.h). */
#include "rollback.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>


static const char k_mf_magic[8] = { 'V', 'T', 'P', 'M', 'M', 'F', '0', '1' };
#define MF_HDR   24u
#define MF_ENTRY 40u
#define MF_MAC   32u

static void put_be(uint8_t *p, uint64_t v, int n)
{
    for (int i = 0; i < n; i++)
        p[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
}

static uint64_t get_be(const uint8_t *p, int n)
{
    uint64_t v = 0;

    for (int i = 0; i < n; i++)
        v = v << 8 | p[i];
    return v;
}

static int mac(const uint8_t key[STATE_KEY_LEN], const uint8_t *data, size_t len,
               uint8_t out[MF_MAC])
{
    size_t outlen = 0;

    if (!EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, key, STATE_KEY_LEN, data, len, out,
                   MF_MAC, &outlen) || outlen != MF_MAC)
        return -EIO;
    return 0;
}

int rb_manifest_encode(const struct rb_manifest *m, const uint8_t key[STATE_KEY_LEN],
                       uint8_t **buf, size_t *len)
{
    size_t body = MF_HDR + m->n * MF_ENTRY;
    uint8_t *b;

    if (m->n > RB_MAX_ENTRIES)
        return -E2BIG;
    b = calloc(1, body + MF_MAC);
    if (!b)
        return -ENOMEM;
    memcpy(b, k_mf_magic, sizeof(k_mf_magic));
    put_be(b + 8, m->counter, 8);
    put_be(b + 16, m->nv_index, 4);
    put_be(b + 20, m->n, 4);
    for (size_t i = 0; i < m->n; i++) {
        uint8_t *p = b + MF_HDR + i * MF_ENTRY;
        memcpy(p, m->e[i].uuid, 16);
        put_be(p + 16, m->e[i].perm_gen, 8);
        put_be(p + 24, m->e[i].vol_gen, 8);
        put_be(p + 32, m->e[i].flags, 4);
    }
    if (mac(key, b, body, b + body) != 0) {
        free(b);
        return -EIO;
    }
    *buf = b;
    *len = body + MF_MAC;
    return 0;
}

static int decode_entries(const uint8_t *b, size_t n, struct rb_manifest *m)
{
    m->e = calloc(n ? n : 1, sizeof(*m->e));
    if (!m->e)
        return -ENOMEM;
    m->cap = n ? n : 1;
    for (size_t i = 0; i < n; i++) {
        const uint8_t *p = b + MF_HDR + i * MF_ENTRY;
        struct rb_entry *e = &m->e[i];
        memcpy(e->uuid, p, 16);
        e->perm_gen = get_be(p + 16, 8);
        e->vol_gen = get_be(p + 24, 8);
        e->flags = (uint32_t)get_be(p + 32, 4);
        if ((e->flags & ~RB_VOL_LIVE) || get_be(p + 36, 4) || rb_find(m, e->uuid))
            return -EBADMSG; /* unknown flag, padding, or a UUID listed twice */
        m->n = i + 1;
    }
    return 0;
}

int rb_manifest_decode(const uint8_t *buf, size_t len, const uint8_t key[STATE_KEY_LEN],
                       struct rb_manifest *m)
{
    uint8_t want[MF_MAC];
    uint64_t n;
    int r;

    memset(m, 0, sizeof(*m));
    if (len < MF_HDR + MF_MAC || memcmp(buf, k_mf_magic, sizeof(k_mf_magic)))
        return -EBADMSG;
    n = get_be(buf + 20, 4);
    if (n > RB_MAX_ENTRIES || len != MF_HDR + n * MF_ENTRY + MF_MAC)
        return -EBADMSG;
    if (mac(key, buf, len - MF_MAC, want) != 0)
        return -EIO;
    if (CRYPTO_memcmp(want, buf + len - MF_MAC, MF_MAC))
        return -EBADMSG;
    m->counter = get_be(buf + 8, 8);
    m->nv_index = (uint32_t)get_be(buf + 16, 4);
    r = decode_entries(buf, (size_t)n, m);
    if (r)
        rb_manifest_free(m);
    return r;
}

void rb_manifest_free(struct rb_manifest *m)
{
    free(m->e);
    m->e = NULL;
    m->n = m->cap = 0;
}

struct rb_entry *rb_find(const struct rb_manifest *m, const uint8_t uuid[16])
{
    for (size_t i = 0; i < m->n; i++)
        if (!memcmp(m->e[i].uuid, uuid, 16))
            return &m->e[i];
    return NULL;
}

struct rb_entry *rb_add(struct rb_manifest *m, const uint8_t uuid[16])
{
    struct rb_entry *e = rb_find(m, uuid);

    if (e)
        return e;
    if (m->n >= RB_MAX_ENTRIES)
        return NULL;
    if (m->n == m->cap) {
        size_t cap = m->cap ? m->cap * 2 : 16;
        struct rb_entry *ne = realloc(m->e, cap * sizeof(*ne));
        if (!ne)
            return NULL;
        m->e = ne;
        m->cap = cap;
    }
    e = &m->e[m->n++];
    memset(e, 0, sizeof(*e));
    memcpy(e->uuid, uuid, 16);
    return e;
}

void rb_remove(struct rb_manifest *m, const uint8_t uuid[16])
{
    struct rb_entry *e = rb_find(m, uuid);

    if (e)
        *e = m->e[--m->n];
}

enum rb_dir_verdict rb_check_dir(int have_manifest, uint64_t mcounter, int counter_rc,
                                 uint64_t counter, int have_vtpms)
{
    int have_counter = counter_rc == 0;

    if (!have_manifest)
        return have_vtpms && have_counter ? RB_DIR_NO_MANIFEST : RB_DIR_FRESH;
    if (!have_counter)
        return RB_DIR_NO_COUNTER;
    if (mcounter == counter)
        return RB_DIR_OK;
    if (counter < UINT64_MAX && mcounter == counter + 1)
        return RB_DIR_UNFINISHED;
    return mcounter < counter ? RB_DIR_ROLLED_BACK : RB_DIR_COUNTER_BEHIND;
}

enum rb_file_verdict rb_check_perm(const struct rb_entry *e, uint64_t gen)
{
    if (!e || gen < e->perm_gen)
        return RB_FILE_ROLLED_BACK;
    return gen == e->perm_gen ? RB_FILE_OK : RB_FILE_NEWER;
}

enum rb_file_verdict rb_check_vol(const struct rb_entry *e, uint64_t gen)
{
    if (!e || gen < e->vol_gen)
        return RB_FILE_ROLLED_BACK;
    if (gen > e->vol_gen)
        return RB_FILE_NEWER;
    return (e->flags & RB_VOL_LIVE) ? RB_FILE_OK : RB_FILE_CONSUMED;
}
