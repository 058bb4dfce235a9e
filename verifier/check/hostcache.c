/* SPDX-License-Identifier: BSD-3-Clause */
/* The cache of a host's verified EK-chain intermediates (see hostcache.h). */
#include "check/hostcache.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

struct slot {
    uint8_t key[32];
    int64_t expires; /* CLOCK_MONOTONIC seconds */
    struct host_entry *e;
};

/* Set-associative: a key is looked for among the ways of the set its first bytes name and
 * replaces the oldest of them. */
#define HOSTCACHE_WAYS 8u

struct hostcache {
    pthread_mutex_t lock; /* guards every slot and next[] */
    unsigned n, ways, sets;
    uint8_t *next;        /* per set: the next way to replace */
    struct slot s[];
};

static struct slot *set_of(struct hostcache *c, const uint8_t key[32], unsigned *idx)
{
    *idx = ((unsigned)key[0] | (unsigned)key[1] << 8) % c->sets;
    return &c->s[*idx * c->ways];
}

static int64_t mono_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec;
}

struct host_entry *host_entry_new(void)
{
    struct host_entry *e = calloc(1, sizeof(*e));

    if (e)
        atomic_init(&e->refs, 1);
    return e;
}

void host_entry_put(struct host_entry *e)
{
    if (!e || atomic_fetch_sub(&e->refs, 1) != 1)
        return;
    X509_free(e->ca);
    for (size_t i = 0; i < e->niss; i++)
        X509_free(e->iss[i]);
    sk_X509_pop_free(e->issuers, X509_free);
    reasons_free(&e->reasons);
    free(e);
}

struct hostcache *hostcache_new(unsigned entries)
{
    struct hostcache *c;

    unsigned ways = entries < HOSTCACHE_WAYS ? entries : HOSTCACHE_WAYS;

    if (entries == 0)
        return NULL;
    entries -= entries % ways;
    c = calloc(1, sizeof(*c) + entries * sizeof(c->s[0]));
    if (!c)
        return NULL;
    c->ways = ways;
    c->sets = entries / ways;
    c->next = calloc(c->sets, 1);
    if (!c->next || pthread_mutex_init(&c->lock, NULL) != 0) {
        free(c->next);
        free(c);
        return NULL;
    }
    c->n = entries;
    return c;
}

void hostcache_clear(struct hostcache *c)
{
    pthread_mutex_lock(&c->lock);
    for (unsigned i = 0; i < c->n; i++) {
        host_entry_put(c->s[i].e);
        c->s[i].e = NULL;
    }
    pthread_mutex_unlock(&c->lock);
}

void hostcache_free(struct hostcache *c)
{
    if (!c)
        return;
    hostcache_clear(c);
    pthread_mutex_destroy(&c->lock);
    free(c->next);
    free(c);
}

static struct hostcache *g_default;
static pthread_once_t g_once = PTHREAD_ONCE_INIT;

static void default_init(void)
{
    g_default = hostcache_new(HOSTCACHE_ENTRIES);
}

struct hostcache *hostcache_default(void)
{
    pthread_once(&g_once, default_init);
    return g_default;
}

static int usable(const struct slot *s, time_t now, int64_t mono)
{
    return s->e && s->expires > mono && s->e->not_before <= now && now < s->e->not_after;
}

struct host_entry *hostcache_get(struct hostcache *c, const uint8_t key[32], time_t now)
{
    int64_t mono = mono_s();
    struct host_entry *e = NULL;
    struct slot *set;
    unsigned idx;

    if (!c)
        return NULL;
    set = set_of(c, key, &idx);
    pthread_mutex_lock(&c->lock);
    for (unsigned i = 0; i < c->ways && !e; i++)
        if (usable(&set[i], now, mono) && CRYPTO_memcmp(set[i].key, key, 32) == 0) {
            e = set[i].e;
            atomic_fetch_add(&e->refs, 1);
        }
    pthread_mutex_unlock(&c->lock);
    return e;
}

void hostcache_add(struct hostcache *c, const uint8_t key[32], struct host_entry *e)
{
    struct host_entry *old = NULL;
    struct slot *set;
    unsigned at, idx;

    if (!c || !e)
        return;
    set = set_of(c, key, &idx);
    atomic_fetch_add(&e->refs, 1);
    pthread_mutex_lock(&c->lock);
    /* The same key again (an entry that lapsed) takes its own way, else the oldest. */
    for (at = 0; at < c->ways; at++)
        if (set[at].e && CRYPTO_memcmp(set[at].key, key, 32) == 0)
            break;
    if (at == c->ways) {
        at = c->next[idx];
        c->next[idx] = (uint8_t)((c->next[idx] + 1) % c->ways);
    }
    old = set[at].e;
    memcpy(set[at].key, key, 32);
    set[at].expires = mono_s() + HOSTCACHE_TTL_S;
    set[at].e = e;
    pthread_mutex_unlock(&c->lock);
    host_entry_put(old);
}
