/* SPDX-License-Identifier: BSD-3-Clause */
/* The manifest store's REST side (docs/verifier.md "Manifest store"): PUT, HEAD and GET of
 * /v1/manifests/sha256:<hex>, and the manifest source of runtime checks (the decoded
 * manifests' cache in front of the store). */
#include "http/api.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hexutil.h"
#include "log.h"
#include "check/rtcache.h"
#include "check/runtime.h"
#include "check/tpmobj.h"

/* "sha256:<64 lower-case hex>" into hex and bin; -1 otherwise. */
static int parse_name(const char *name, char hex[65], uint8_t bin[32])
{
    if (strncmp(name, "sha256:", 7) || strlen(name) != 71)
        return -1;
    for (int i = 0; i < 64; i++) {
        char ch = name[7 + i];
        if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f')))
            return -1;
    }
    memcpy(hex, name + 7, 64);
    hex[64] = 0;
    return hex_decode_exact(hex, bin, 32) < 0 ? -1 : 0;
}

__attribute__((format(printf, 5, 6)))
static void refuse(struct api_ctx *c, struct api_reply *rep, unsigned status, const char *hex,
                   const char *fmt, ...)
{
    char msg[256];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    c->m.manifest_refused++;
    LOG_WARN("manifest upload sha256:%.64s refused (%u): %s", hex, status, msg);
    api_error(rep, status, msg);
}

static void put_manifest(struct api_ctx *c, const char *hex, const uint8_t want[32],
                         const uint8_t *body, size_t len, struct api_reply *rep)
{
    struct rt_manifest m;
    struct rt_cache_entry *e = NULL;
    uint8_t md[32];
    char err[96], lim[32];
    size_t files;
    int rc, evicted = 0;

    if (len > RUNTIME_MANIFEST_MAX) {
        snprintf(lim, sizeof(lim), "%u", RUNTIME_MANIFEST_MAX);
        refuse(c, rep, 413, hex, "manifest over %s bytes", lim);
        return;
    }
    if (len == 0 || tpm_sha256(body, len, md) < 0 || memcmp(md, want, 32)) {
        refuse(c, rep, 400, hex, "%s", len ? "the body's SHA-256 is not the name"
                                           : "empty body");
        return;
    }
    rc = rt_manifest_parse(body, len, want, &m, err, sizeof(err));
    if (rc < 0) {
        refuse(c, rep, rc == -E2BIG ? 413 : 400, hex, "not tree-digest entries: %s", err);
        return;
    }
    files = m.n;
    rc = store_manifest_put(c->st, hex, body, len, time(NULL), &c->mquota, &evicted);
    if (rc == -ENOSPC) {
        rt_manifest_free(&m);
        snprintf(lim, sizeof(lim), "%lld", (long long)c->mquota.total);
        refuse(c, rep, 507, hex, "manifest store over its quota (%s bytes): nothing unused "
               "long enough to evict", lim);
        return;
    }
    if (rc < 0) {
        rt_manifest_free(&m);
        LOG_ERROR("manifest sha256:%s: the store failed: %s", hex, strerror(-rc));
        api_error(rep, 500, "database");
        return;
    }
    if (c->mcache && rtcache_add(c->mcache, want, &m, &e))
        rtcache_put(c->mcache, e); /* the container's evidence follows */
    else
        rt_manifest_free(&m);
    if (rc == 0) {
        c->m.manifest_uploads++;
        LOG_INFO("manifest sha256:%s stored (%zu bytes, %zu files, %d evicted)", hex, len,
                 files, evicted);
    }
    api_json(rep, rc == 0 ? 201 : 200,
             json_pack("{s:s+, s:I, s:I, s:b}", "digest", "sha256:", hex, "size",
                       (json_int_t)len, "files", (json_int_t)files, "stored", rc == 0));
}

void api_manifest(struct api_ctx *c, const char *method, const char *name, const uint8_t *body,
                  size_t len, struct api_reply *rep)
{
    char hex[65];
    uint8_t bin[32];
    int64_t size = 0;
    int rc;

    if (parse_name(name, hex, bin) < 0) {
        api_error(rep, 404, "not found: a manifest's name is sha256:<64 lower-case hex>");
        return;
    }
    if (!strcmp(method, "PUT")) {
        put_manifest(c, hex, bin, body, len, rep);
        return;
    }
    rc = store_manifest_stat(c->st, hex, &size);
    if (rc == -ENOENT)
        api_error(rep, 404, "no such manifest");
    else if (rc < 0)
        api_error(rep, 500, "database");
    else
        api_json(rep, 200, json_pack("{s:s+, s:I}", "digest", "sha256:", hex, "size",
                                     (json_int_t)size));
}

/* ---- the manifest source of runtime checks ---- */

static int src_get(void *arg, const uint8_t digest[32], const struct rt_manifest **out,
                   void **ref, char *err, size_t errsz)
{
    struct api_ctx *c = arg;
    struct rt_cache_entry *e = NULL;
    struct rt_manifest m;
    char hex[65];
    uint8_t *buf = NULL;
    size_t len = 0;
    int64_t now = time(NULL);
    int rc;

    hex_encode(digest, 32, hex);
    if (c->mcache && (*out = rtcache_get(c->mcache, digest, &e))) {
        if (rtcache_touch_due(c->mcache, e, now, API_MANIFEST_TOUCH_S) &&
            store_manifest_used(c->st, hex, now, API_MANIFEST_TOUCH_S) < 0)
            LOG_WARN("manifest sha256:%s: its use could not be recorded", hex);
        *ref = e;
        return 0;
    }
    if ((rc = store_manifest_get(c->st, hex, &buf, &len)) < 0)
        return rc;
    /* stored bytes are checked again: the database is not trusted with the digest */
    rc = rt_manifest_parse(buf, len, digest, &m, err, errsz);
    free(buf);
    if (rc < 0)
        return rc;
    if (store_manifest_used(c->st, hex, now, API_MANIFEST_TOUCH_S) < 0)
        LOG_WARN("manifest sha256:%s: its use could not be recorded", hex);
    if (!c->mcache) { /* no cache: this check owns the decoded manifest */
        struct rt_manifest *own = malloc(sizeof(*own));

        if (!own) {
            rt_manifest_free(&m);
            return -ENOMEM;
        }
        *own = m;
        *out = own;
        *ref = own;
        return 0;
    }
    if (!(*out = rtcache_add(c->mcache, digest, &m, &e)))
        return -ENOMEM;
    rtcache_touch_due(c->mcache, e, now, API_MANIFEST_TOUCH_S);
    *ref = e;
    return 0;
}

static void src_put(void *arg, void *ref)
{
    struct api_ctx *c = arg;

    if (c->mcache) {
        rtcache_put(c->mcache, ref);
    } else {
        rt_manifest_free(ref);
        free(ref);
    }
}

void api_manifest_source(struct api_ctx *c, struct rt_source *src)
{
    *src = (struct rt_source){ .get = src_get, .put = src_put, .arg = c };
}

void api_manifest_metrics(struct api_ctx *c, const struct api_counts *m, FILE *f)
{
    struct rt_cache_stats s = { 0 };
    int64_t n = -1, bytes = -1;

    if (c->mcache)
        rtcache_stats(c->mcache, &s);
    if (store_manifest_totals(c->st, &n, &bytes) < 0)
        n = bytes = -1;
    fprintf(f, "# HELP verifier_manifest_uploads_total Rootfs manifests stored by PUT\n"
               "# TYPE verifier_manifest_uploads_total counter\n"
               "verifier_manifest_uploads_total %llu\n"
               "# HELP verifier_manifest_refused_total Manifest uploads refused\n"
               "# TYPE verifier_manifest_refused_total counter\n"
               "verifier_manifest_refused_total %llu\n"
               "# HELP verifier_manifest_rows Manifests in the store\n"
               "# TYPE verifier_manifest_rows gauge\nverifier_manifest_rows %lld\n"
               "# HELP verifier_manifest_bytes Bytes of the manifests in the store\n"
               "# TYPE verifier_manifest_bytes gauge\nverifier_manifest_bytes %lld\n"
               "# HELP verifier_manifest_cache_hits_total Checks that found the manifest decoded\n"
               "# TYPE verifier_manifest_cache_hits_total counter\n"
               "verifier_manifest_cache_hits_total %llu\n"
               "# HELP verifier_manifest_cache_misses_total Checks that read and decoded it\n"
               "# TYPE verifier_manifest_cache_misses_total counter\n"
               "verifier_manifest_cache_misses_total %llu\n"
               "# HELP verifier_manifest_cache_bytes Memory of the decoded manifests cached\n"
               "# TYPE verifier_manifest_cache_bytes gauge\nverifier_manifest_cache_bytes %llu\n",
            (unsigned long long)m->manifest_uploads, (unsigned long long)m->manifest_refused,
            (long long)n, (long long)bytes, (unsigned long long)s.hits,
            (unsigned long long)s.misses, (unsigned long long)s.bytes);
}
