/* SPDX-License-Identifier: BSD-3-Clause */
/* Benchmark tool (tests/bench/bench_rtmanifest.sh, docs/benchmarks.md 8j): what a runtime
 * check pays for the rootfs manifest of a large image, measured side by side in one run:
 * decoding it (SHA-256, the shape pass, libcbor, sorting), reading it from the manifest store
 * (SQLite) and decoding it (a cache miss), and finding it in the decoded manifests' cache
 * (a hit), each with one path lookup.
 * Usage: bench_rtmanifest [FILES (50000)] [ROUNDS (21)] [DB-DIR (/tmp)] */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cbor.h>
#include <openssl/sha.h>

#include "../../verifier/check/rtcache.h"
#include "../../verifier/check/runtime.h"
#include "../../verifier/store/store.h"
#include "../../verifier/store/store_manifest.h"

static double now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

/* Entries as the agent's tree walk writes them: [path, type, mode, uid, gid, size, data]. */
static int append(uint8_t **buf, size_t *len, const char *path, unsigned i)
{
    cbor_item_t *a = cbor_new_definite_array(7);
    uint8_t d[32] = { 0 }, *enc = NULL, *tmp;
    size_t sz = 0, n;
    int ok;

    memcpy(d, &i, sizeof(i));
    ok = a && cbor_array_push(a, cbor_move(cbor_build_string(path))) &&
         cbor_array_push(a, cbor_move(cbor_build_string("file"))) &&
         cbor_array_push(a, cbor_move(cbor_build_uint32(0644))) &&
         cbor_array_push(a, cbor_move(cbor_build_uint32(0))) &&
         cbor_array_push(a, cbor_move(cbor_build_uint32(0))) &&
         cbor_array_push(a, cbor_move(cbor_build_uint64(1000 + i))) &&
         cbor_array_push(a, cbor_move(cbor_build_bytestring(d, 32)));
    n = ok ? cbor_serialize_alloc(a, &enc, &sz) : 0;
    if (a)
        cbor_decref(&a);
    if (!n || !(tmp = realloc(*buf, *len + n))) {
        free(enc);
        return -ENOMEM;
    }
    memcpy(tmp + *len, enc, n);
    *buf = tmp;
    *len += n;
    free(enc);
    return 0;
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof(*v), cmp_d);
    return v[n / 2];
}

int main(int argc, char **argv)
{
    unsigned files = argc > 1 ? (unsigned)strtoul(argv[1], NULL, 10) : 50000;
    int rounds = argc > 2 ? atoi(argv[2]) : 21;
    const char *dir = argc > 3 ? argv[3] : "/tmp";
    const struct store_manifest_quota q = { .total = 1 << 30, .idle_s = 3600, .unused_s = 600 };
    double *dec = calloc((size_t)rounds, sizeof(double)), *miss = calloc((size_t)rounds,
                                                                          sizeof(double));
    double *hit = calloc((size_t)rounds, sizeof(double));
    uint8_t *buf = NULL, want[32];
    char path[320], hex[65], db[256], err[96];
    size_t len = 0;
    struct store *st = NULL;
    struct rt_cache *c;
    struct rt_manifest m;
    struct rt_cache_entry *e;
    const struct rt_manifest *hm;

    if (!dec || !miss || !hit || rounds < 1 || files < 1)
        return 2;
    for (unsigned i = 0; i < files; i++) {
        snprintf(path, sizeof(path), "usr/lib/python3/dist-packages/pkg%04u/module_%06u.py",
                 i / 200, i);
        if (append(&buf, &len, path, i) < 0)
            return 2;
    }
    SHA256(buf, len, want);
    for (int i = 0; i < 32; i++)
        sprintf(hex + 2 * i, "%02x", want[i]);
    snprintf(db, sizeof(db), "%s/bench_rtmanifest.%d.db", dir, (int)getpid());
    snprintf(path, sizeof(path), "sqlite:%s", db);
    if (store_open_url(path, &st) < 0 || store_manifest_put(st, hex, buf, len, 1, &q, NULL) < 0) {
        fprintf(stderr, "bench_rtmanifest: cannot use %s\n", db);
        return 2;
    }
    c = rtcache_new(256u << 20);
    for (int r = 0; r < rounds; r++) {
        double t0 = now_ms();
        uint8_t *got = NULL;
        size_t glen = 0;

        if (rt_manifest_parse(buf, len, want, &m, err, sizeof(err)) < 0 ||
            !rt_manifest_lookup(&m, "usr/lib/python3/dist-packages/pkg0000/module_000007.py"))
            return 1;
        dec[r] = now_ms() - t0;
        rt_manifest_free(&m);
        t0 = now_ms();
        if (store_manifest_get(st, hex, &got, &glen) < 0 ||
            rt_manifest_parse(got, glen, want, &m, err, sizeof(err)) < 0 ||
            !rt_manifest_lookup(&m, "usr/lib/python3/dist-packages/pkg0000/module_000007.py"))
            return 1;
        free(got);
        miss[r] = now_ms() - t0;
        if (r == 0) {
            rtcache_add(c, want, &m, &e);
            rtcache_put(c, e);
        } else {
            rt_manifest_free(&m);
        }
        t0 = now_ms();
        hm = rtcache_get(c, want, &e);
        if (!hm || !rt_manifest_lookup(hm, "usr/lib/python3/dist-packages/pkg0000/module_000007.py"))
            return 1;
        rtcache_put(c, e);
        hit[r] = now_ms() - t0;
    }
    printf("files %u, manifest %zu bytes, %d rounds (medians)\n", files, len, rounds);
    printf("decode (SHA-256, shape pass, libcbor, sort) + lookup: %.3f ms\n", median(dec, rounds));
    printf("cache miss: store read (SQLite) + decode + lookup:   %.3f ms\n", median(miss, rounds));
    printf("cache hit: lookup in the decoded manifest:            %.4f ms\n", median(hit, rounds));
    store_close(st);
    rtcache_free(c);
    unlink(db);
    snprintf(path, sizeof(path), "%s-wal", db);
    unlink(path);
    snprintf(path, sizeof(path), "%s-shm", db);
    unlink(path);
    free(buf);
    free(dec);
    free(miss);
    free(hit);
    return 0;
}
