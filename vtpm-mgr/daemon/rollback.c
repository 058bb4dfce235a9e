/* SPDX-License-Identifier: BSD-3-Clause */
/* Rollback detection: the state manifest, its decisions and its group commit (rollback.h). */
#include "rollback.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uuid/uuid.h>

#include "fileio.h"
#include "log.h"
#include "secmem.h"
#include "vtpm_ipc.h"

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

/* --- the guard ---------------------------------------------------------------------------- */

static int read_manifest(struct rb_guard *g, int *have)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    int r = file_read_all(g->state_fd, RB_MANIFEST_FILE, MF_HDR + RB_MAX_ENTRIES * MF_ENTRY +
                          MF_MAC, &buf, &len);

    *have = 0;
    if (r == -ENOENT)
        return 0;
    if (r == 0)
        r = rb_manifest_decode(buf, len, g->key, &g->mf);
    free(buf);
    if (r == 0)
        *have = 1;
    return r;
}

static void freeze(struct rb_guard *g, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void freeze(struct rb_guard *g, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(g->why, sizeof(g->why), fmt, ap);
    va_end(ap);
    g->frozen = 1;
    LOG_ERROR("rollback check: %s; no vTPM is served (docs/operations.md, 'Rolled-back state')",
              g->why);
}

static int start_fresh(struct rb_guard *g, uint32_t index)
{
    int r = hosttpm_counter_create(g->host, index, &g->counter);

    if (r)
        return r;
    rb_manifest_free(&g->mf);
    g->mf.nv_index = index;
    g->mf.counter = g->counter;
    g->adopt = 1;
    g->dirty = 1;
    LOG_INFO("rollback counter 0x%08x at %llu: starting a new state manifest", index,
             (unsigned long long)g->counter);
    return 0;
}

static int decide(struct rb_guard *g, uint32_t index, int have_mf, int crc, int have_vtpms)
{
    switch (rb_check_dir(have_mf, g->mf.counter, crc, g->counter, have_vtpms)) {
    case RB_DIR_OK:
        return 0;
    case RB_DIR_UNFINISHED:
        g->unsynced = 1;
        LOG_INFO("finishing the state commit that a crash interrupted (counter %llu)",
                 (unsigned long long)g->mf.counter);
        return 0;
    case RB_DIR_FRESH:
        return start_fresh(g, index);
    case RB_DIR_ROLLED_BACK:
        freeze(g, "%s is of counter %llu but the host TPM's counter 0x%08x is at %llu: "
               "the state directory was rolled back", RB_MANIFEST_FILE,
               (unsigned long long)g->mf.counter, index, (unsigned long long)g->counter);
        return 0;
    case RB_DIR_NO_MANIFEST:
        freeze(g, "%s is missing while the host TPM's counter 0x%08x exists: the manifest was "
               "removed or the state directory is older than the counter", RB_MANIFEST_FILE,
               index);
        return 0;
    case RB_DIR_NO_COUNTER:
        freeze(g, "the host TPM's rollback counter 0x%08x is gone (host TPM cleared or NV "
               "index deleted): the state cannot be proven the latest", index);
        return 0;
    case RB_DIR_COUNTER_BEHIND:
    default:
        freeze(g, "the host TPM's counter 0x%08x (%llu) is behind %s (%llu): another counter "
               "or another host TPM", index, (unsigned long long)g->counter, RB_MANIFEST_FILE,
               (unsigned long long)g->mf.counter);
        return 0;
    }
}

int rb_guard_open(struct rb_guard *g, struct hosttpm *h, int state_fd, uint32_t index,
                  const uint8_t master[STATE_KEY_LEN], int have_vtpms)
{
    int have_mf = 0, crc, r;

    memset(g, 0, sizeof(*g));
    g->host = h;
    g->state_fd = state_fd;
    if (state_derive_manifest_key(master, g->key) != 0)
        return -EIO;
    r = read_manifest(g, &have_mf);
    if (r == -EBADMSG) {
        freeze(g, "%s fails its authentication check", RB_MANIFEST_FILE);
        return 0;
    }
    if (r)
        return r;
    if (have_mf && g->mf.nv_index != index) {
        freeze(g, "%s belongs to the counter at NV index 0x%08x, not 0x%08x",
               RB_MANIFEST_FILE, g->mf.nv_index, index);
        return 0;
    }
    crc = hosttpm_counter_read(h, index, &g->counter);
    if (crc && crc != -ENOENT && crc != -ENODATA)
        return crc;
    return decide(g, index, have_mf, crc, have_vtpms);
}

void rb_guard_close(struct rb_guard *g)
{
    rb_manifest_free(&g->mf);
    explicit_bzero(g->key, sizeof(g->key));
}

static int count_once(struct rb_guard *g)
{
    int r = hosttpm_counter_increment(g->host, g->mf.nv_index, NULL);

    if (r) {
        LOG_ERROR("rollback counter 0x%08x: increment failed: %s", g->mf.nv_index,
                  strerror(-r));
        return r;
    }
    g->counter++;
    g->unsynced = 0;
    return 0;
}

static int write_manifest(struct rb_guard *g)
{
    uint8_t *buf;
    size_t len;
    int r = rb_manifest_encode(&g->mf, g->key, &buf, &len);

    if (r == 0) {
        r = file_write_atomic(g->state_fd, RB_MANIFEST_FILE, buf, len, 0600);
        free(buf);
    }
    if (r)
        LOG_ERROR("writing %s failed: %s", RB_MANIFEST_FILE, strerror(-r));
    return r;
}

int rb_guard_commit(struct rb_guard *g)
{
    int r;

    if (g->frozen)
        return -EROFS;
    /* Never two manifests of one counter value: an earlier one would be a valid rollback. */
    if (g->unsynced && (r = count_once(g)) != 0)
        return r;
    if (!g->dirty)
        return 0;
    g->mf.counter = g->counter + 1;
    r = write_manifest(g);
    if (r)
        return r;
    g->unsynced = 1;
    g->dirty = 0;
    return count_once(g);
}

/* --- --accept-state ------------------------------------------------------------------------ */

/* Adds one vTPM directory's file generations to m. */
static int accept_one(struct rb_manifest *m, int vtpm_fd, const char *name,
                      const uint8_t master[STATE_KEY_LEN])
{
    uint8_t key[STATE_KEY_LEN], *pt = NULL;
    size_t ptlen = 0;
    uint64_t gen = 0;
    struct rb_entry *e;
    uuid_t u;
    int dfd, r;

    if (uuid_parse(name, u) != 0)
        return 0;
    e = rb_add(m, u);
    if (!e)
        return -ENOMEM;
    dfd = openat(vtpm_fd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
    if (dfd < 0)
        return -errno;
    r = state_derive_key(master, u, key);
    if (r == 0 && state_read(dfd, key, u, VTPM_STATE_PERM, &gen, &pt, &ptlen) == 0)
        e->perm_gen = gen;
    secure_free(pt, ptlen);
    pt = NULL;
    if (r == 0 && state_read(dfd, key, u, VTPM_STATE_VOL, &gen, &pt, &ptlen) == 0) {
        e->vol_gen = gen;
        e->flags |= RB_VOL_LIVE;
    }
    secure_free(pt, ptlen);
    explicit_bzero(key, sizeof(key));
    close(dfd);
    LOG_INFO("accepted vtpm %s as it is (permanent state generation %llu)", name,
             (unsigned long long)e->perm_gen);
    return r;
}

int rb_accept_state(struct hosttpm *h, int state_fd, int vtpm_fd, uint32_t index,
                    const uint8_t master[STATE_KEY_LEN])
{
    struct rb_guard g;
    int fd = dup(vtpm_fd), r = 0;
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    struct dirent *de;

    if (!d)
        return -errno;
    memset(&g, 0, sizeof(g));
    g.host = h;
    g.state_fd = state_fd;
    r = state_derive_manifest_key(master, g.key);
    if (r == 0)
        r = hosttpm_counter_create(h, index, &g.counter);
    g.mf.nv_index = index;
    while (r == 0 && (de = readdir(d)) != NULL)
        if (de->d_name[0] != '.')
            r = accept_one(&g.mf, vtpm_fd, de->d_name, master);
    closedir(d);
    g.dirty = 1;
    if (r == 0)
        r = rb_guard_commit(&g);
    rb_guard_close(&g);
    return r;
}
