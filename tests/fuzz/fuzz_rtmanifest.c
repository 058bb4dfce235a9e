/* SPDX-License-Identifier: BSD-3-Clause */
/* libFuzzer harness: the verifier's rootfs manifest decoder (runtime integrity), behind a
 * matching tree digest (the harness hashes the input, as a measured rootfs would, and as the
 * manifest store's PUT /v1/manifests/sha256:<hex> checks an upload against its name), the
 * lookups of what it decoded, and the decoded manifests' cache holding it. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <openssl/sha.h>

#include "check/rtcache.h"
#include "check/runtime.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct rt_manifest m;
    uint8_t want[32];
    char err[96];

    SHA256(data, size, want);
    if (rt_manifest_parse(data, size, want, &m, err, sizeof(err)) == 0) {
        struct rt_cache *c = rtcache_new(1u << 20);
        struct rt_cache_entry *e = NULL;
        const struct rt_manifest *held;

        for (size_t i = 0; i < m.n; i++)
            if (rt_manifest_lookup(&m, m.v[i].path) == NULL)
                __builtin_trap(); /* every decoded file is found again */
        if (!c || !(held = rtcache_add(c, want, &m, &e))) /* m is the cache's now */
            __builtin_trap();
        rtcache_put(c, e);
        if ((held = rtcache_get(c, want, &e))) { /* kept when within the bound */
            for (size_t i = 0; i < held->n; i++)
                if (rt_manifest_lookup(held, held->v[i].path) == NULL)
                    __builtin_trap();
            rtcache_put(c, e);
        }
        rtcache_free(c);
    }
    want[0] ^= 1; /* another digest: never accepted */
    if (rt_manifest_parse(data, size, want, &m, err, sizeof(err)) == 0)
        __builtin_trap();
    return 0;
}
