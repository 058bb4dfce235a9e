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

struct hostcache {
    pthread_mutex_t lock; /* guards every slot and next */
    unsigned n, next;
    struct slot s[];
};

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

    if (entries == 0)
        return NULL;
    c = calloc(1, sizeof(*c) + entries * sizeof(c->s[0]));
    if (!c)
        return NULL;
    if (pthread_mutex_init(&c->lock, NULL) != 0) {
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

    if (!c)
        return NULL;
    pthread_mutex_lock(&c->lock);
    for (unsigned i = 0; i < c->n && !e; i++)
        if (usable(&c->s[i], now, mono) && CRYPTO_memcmp(c->s[i].key, key, 32) == 0) {
            e = c->s[i].e;
            atomic_fetch_add(&e->refs, 1);
        }
    pthread_mutex_unlock(&c->lock);
    return e;
}

void hostcache_add(struct hostcache *c, const uint8_t key[32], struct host_entry *e)
{
    struct host_entry *old = NULL;
    unsigned at;

    if (!c || !e)
        return;
    atomic_fetch_add(&e->refs, 1);
    pthread_mutex_lock(&c->lock);
    /* The same key again (an entry that lapsed) takes its own slot, else the oldest. */
    for (at = 0; at < c->n; at++)
        if (c->s[at].e && CRYPTO_memcmp(c->s[at].key, key, 32) == 0)
            break;
    if (at == c->n) {
        at = c->next;
        c->next = (c->next + 1) % c->n;
    }
    old = c->s[at].e;
    memcpy(c->s[at].key, key, 32);
    c->s[at].expires = mono_s() + HOSTCACHE_TTL_S;
    c->s[at].e = e;
    pthread_mutex_unlock(&c->lock);
    host_entry_put(old);
}
