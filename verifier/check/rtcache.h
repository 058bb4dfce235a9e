/* SPDX-License-Identifier: BSD-3-Clause */
/* The verifier service's cache of decoded rootfs manifests (runtime integrity), keyed by the
 * rootfs tree digest: a container's re-attestation finds its manifest decoded and sorted
 * instead of reading and decoding megabytes again. Shared by the serving threads (one lock);
 * bounded by the memory its entries take, least recently used first out. */
#ifndef VERIFIER_RTCACHE_H
#define VERIFIER_RTCACHE_H

#include <stddef.h>
#include <stdint.h>

#include "check/runtime.h"

struct rt_cache;
struct rt_cache_entry;

struct rt_cache_stats {
    uint64_t hits, misses, entries, bytes;
};

/* A cache of at most max_bytes (the manifests' decoded size; entries in use by a check stay
 * until it is done, so it can exceed that by what checks hold). NULL on ENOMEM. */
struct rt_cache *rtcache_new(size_t max_bytes);
void rtcache_free(struct rt_cache *c);
/* The manifest of digest, held (rtcache_put when done), or NULL (counted as a miss). */
const struct rt_manifest *rtcache_get(struct rt_cache *c, const uint8_t digest[32],
                                      struct rt_cache_entry **e);
/* Adds m (taken: freed here on every path) under digest and holds it; when another thread
 * added the same digest meanwhile, that one is held and m freed. NULL on ENOMEM. */
const struct rt_manifest *rtcache_add(struct rt_cache *c, const uint8_t digest[32],
                                      struct rt_manifest *m, struct rt_cache_entry **e);
void rtcache_put(struct rt_cache *c, struct rt_cache_entry *e);
/* 1 (and the entry's mark moved to now) when its last mark is min_gap seconds old or more:
 * the caller then tells the store the manifest is in use. */
int rtcache_touch_due(struct rt_cache *c, struct rt_cache_entry *e, int64_t now,
                      int64_t min_gap);
void rtcache_stats(struct rt_cache *c, struct rt_cache_stats *s);
/* The memory one decoded manifest takes (what the bound counts). */
size_t rtcache_size_of(const struct rt_manifest *m);

#endif
