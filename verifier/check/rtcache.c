/* SPDX-License-Identifier: BSD-3-Clause */
/* The cache of decoded rootfs manifests (rtcache.h): a list in recently-used order under one
 * lock; an entry held by a check is never freed under it. */
#include "check/rtcache.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

struct rt_cache_entry {
    TAILQ_ENTRY(rt_cache_entry) link;
    uint8_t digest[32];
    struct rt_manifest m;
    size_t size;
    unsigned refs;
    int64_t touched; /* rtcache_touch_due's mark, 0: never */
};

struct rt_cache {
    pthread_mutex_t lock;
    TAILQ_HEAD(rt_cache_list, rt_cache_entry) lru; /* most recently used first */
    size_t max, bytes, n;
    uint64_t hits, misses;
};

size_t rtcache_size_of(const struct rt_manifest *m)
{
    size_t s = sizeof(struct rt_cache_entry) + m->n * sizeof(*m->v);

    for (size_t i = 0; i < m->n; i++)
        s += strlen(m->v[i].path) + 1;
    return s;
}

struct rt_cache *rtcache_new(size_t max_bytes)
{
    struct rt_cache *c = calloc(1, sizeof(*c));

    if (!c)
        return NULL;
    pthread_mutex_init(&c->lock, NULL);
    TAILQ_INIT(&c->lru);
    c->max = max_bytes;
    return c;
}

static void drop(struct rt_cache *c, struct rt_cache_entry *e)
{
    TAILQ_REMOVE(&c->lru, e, link);
    c->bytes -= e->size;
    c->n--;
    rt_manifest_free(&e->m);
    free(e);
}

/* Least recently used entries that no check holds, until the cache is within its bound. */
static void shrink(struct rt_cache *c)
{
    struct rt_cache_entry *e = TAILQ_LAST(&c->lru, rt_cache_list), *prev;

    while (e && c->bytes > c->max) {
        prev = TAILQ_PREV(e, rt_cache_list, link);
        if (!e->refs)
            drop(c, e);
        e = prev;
    }
}

void rtcache_free(struct rt_cache *c)
{
    if (!c)
        return;
    while (!TAILQ_EMPTY(&c->lru))
        drop(c, TAILQ_FIRST(&c->lru));
    pthread_mutex_destroy(&c->lock);
    free(c);
}

static struct rt_cache_entry *find(struct rt_cache *c, const uint8_t digest[32])
{
    struct rt_cache_entry *e;

    TAILQ_FOREACH(e, &c->lru, link)
        if (!memcmp(e->digest, digest, 32))
            return e;
    return NULL;
}

const struct rt_manifest *rtcache_get(struct rt_cache *c, const uint8_t digest[32],
                                      struct rt_cache_entry **out)
{
    struct rt_cache_entry *e;

    pthread_mutex_lock(&c->lock);
    if ((e = find(c, digest))) {
        TAILQ_REMOVE(&c->lru, e, link);
        TAILQ_INSERT_HEAD(&c->lru, e, link);
        e->refs++;
        c->hits++;
    } else {
        c->misses++;
    }
    pthread_mutex_unlock(&c->lock);
    *out = e;
    return e ? &e->m : NULL;
}

const struct rt_manifest *rtcache_add(struct rt_cache *c, const uint8_t digest[32],
                                      struct rt_manifest *m, struct rt_cache_entry **out)
{
    struct rt_cache_entry *e = calloc(1, sizeof(*e)), *had;

    *out = NULL;
    if (!e) {
        rt_manifest_free(m);
        return NULL;
    }
    memcpy(e->digest, digest, 32);
    e->m = *m;
    memset(m, 0, sizeof(*m));
    e->size = rtcache_size_of(&e->m);
    e->refs = 1;
    pthread_mutex_lock(&c->lock);
    if ((had = find(c, digest))) { /* another thread decoded it meanwhile */
        had->refs++;
        pthread_mutex_unlock(&c->lock);
        rt_manifest_free(&e->m);
        free(e);
        *out = had;
        return &had->m;
    }
    TAILQ_INSERT_HEAD(&c->lru, e, link);
    c->bytes += e->size;
    c->n++;
    shrink(c);
    pthread_mutex_unlock(&c->lock);
    *out = e;
    return &e->m;
}

void rtcache_put(struct rt_cache *c, struct rt_cache_entry *e)
{
    if (!e)
        return;
    pthread_mutex_lock(&c->lock);
    e->refs--;
    shrink(c);
    pthread_mutex_unlock(&c->lock);
}

int rtcache_touch_due(struct rt_cache *c, struct rt_cache_entry *e, int64_t now,
                      int64_t min_gap)
{
    int due;

    pthread_mutex_lock(&c->lock);
    if ((due = !e->touched || now - e->touched >= min_gap))
        e->touched = now;
    pthread_mutex_unlock(&c->lock);
    return due;
}

void rtcache_stats(struct rt_cache *c, struct rt_cache_stats *s)
{
    pthread_mutex_lock(&c->lock);
    s->hits = c->hits;
    s->misses = c->misses;
    s->entries = c->n;
    s->bytes = c->bytes;
    pthread_mutex_unlock(&c->lock);
}
