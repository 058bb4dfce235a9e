/* SPDX-License-Identifier: BSD-3-Clause */
/* Runtime integrity: the rootfs manifest (decoded with libcbor after its digest matched the
 * measured tree digest) and the check of the `exec` records of PCR 11. */
#include "check/runtime.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cbor.h>

#include "ctlproto.h"
#include "hexutil.h"
#include "log.h"
#include "check/policy.h"
#include "check/tpmobj.h"

static int why(char *err, size_t errsz, const char *msg, int rc)
{
    if (err && errsz)
        snprintf(err, errsz, "%s", msg);
    return rc;
}

static int cmp_file(const void *a, const void *b)
{
    return strcmp(((const struct rt_file *)a)->path, ((const struct rt_file *)b)->path);
}

/* A text item as a NUL-terminated copy, NULL when not definite text, too long or with a NUL. */
static char *text_dup(const cbor_item_t *it)
{
    size_t n;
    char *s;

    if (!cbor_isa_string(it) || !cbor_string_is_definite(it))
        return NULL;
    n = cbor_string_length(it);
    if (n == 0 || n >= RUNTIME_PATH_MAX || memchr(cbor_string_handle(it), 0, n))
        return NULL;
    if (!(s = malloc(n + 1)))
        return NULL;
    memcpy(s, cbor_string_handle(it), n);
    s[n] = 0;
    return s;
}

static int text_is(const cbor_item_t *it, const char *want)
{
    size_t n = strlen(want);

    return cbor_isa_string(it) && cbor_string_is_definite(it) &&
           cbor_string_length(it) == n && !memcmp(cbor_string_handle(it), want, n);
}

/* One entry [path, type, mode, uid, gid, size, data]; a regular file goes to m. 0, -EBADMSG,
 * -ENOMEM, -E2BIG. */
static int take_entry(const cbor_item_t *e, struct rt_manifest *m, size_t *cap)
{
    cbor_item_t **f;
    struct rt_file *tmp;

    if (!cbor_isa_array(e) || !cbor_array_is_definite(e) || cbor_array_size(e) != 7)
        return -EBADMSG;
    f = cbor_array_handle(e);
    if (!cbor_isa_string(f[0]) || !cbor_isa_string(f[1]) || !cbor_isa_uint(f[2]) ||
        !cbor_isa_uint(f[3]) || !cbor_isa_uint(f[4]) || !cbor_isa_uint(f[5]) ||
        !cbor_isa_bytestring(f[6]) || !cbor_bytestring_is_definite(f[6]))
        return -EBADMSG;
    if (!text_is(f[1], "file"))
        return 0;
    if (cbor_bytestring_length(f[6]) != 32)
        return -EBADMSG;
    if (m->n == RUNTIME_MANIFEST_FILES)
        return -E2BIG;
    if (m->n == *cap) {
        *cap = *cap ? 2 * *cap : 256;
        if (!(tmp = realloc(m->v, *cap * sizeof(*m->v))))
            return -ENOMEM;
        m->v = tmp;
    }
    /* the walk writes relative paths ("bin/sh"): an absolute one is no entry of it */
    if (!(m->v[m->n].path = text_dup(f[0])))
        return -EBADMSG;
    if (m->v[m->n].path[0] == '/') {
        free(m->v[m->n].path);
        return -EBADMSG;
    }
    memcpy(m->v[m->n].digest, cbor_bytestring_handle(f[6]), 32);
    m->n++;
    return 0;
}

/*
 * cbor_load allocates an array or map for its declared count before reading the elements.
 * A first pass with libcbor's streaming decoder admits only what entries hold: arrays of
 * exactly 7, definite strings and unsigned integers; no maps, tags, floats or indefinite items.
 */
static void bad_item(void *ctx)
{
    *(int *)ctx = 1;
}

static void bad_count(void *ctx, size_t n)
{
    (void)n;
    bad_item(ctx);
}

static void array7(void *ctx, size_t n)
{
    if (n != 7)
        bad_item(ctx);
}

static void bad_u64(void *ctx, uint64_t v)
{
    (void)v;
    bad_item(ctx);
}

static void bad_float(void *ctx, float v)
{
    (void)v;
    bad_item(ctx);
}

static void bad_double(void *ctx, double v)
{
    (void)v;
    bad_item(ctx);
}

static void bad_bool(void *ctx, bool v)
{
    (void)v;
    bad_item(ctx);
}

static int shapes_ok(const uint8_t *buf, size_t len)
{
    struct cbor_callbacks cb = cbor_empty_callbacks;
    size_t off = 0;
    int bad = 0;

    cb.array_start = array7;
    cb.map_start = bad_count;
    cb.indef_array_start = bad_item;
    cb.indef_map_start = bad_item;
    cb.byte_string_start = bad_item;
    cb.string_start = bad_item;
    cb.tag = bad_u64;
    cb.float2 = bad_float;
    cb.float4 = bad_float;
    cb.float8 = bad_double;
    cb.undefined = bad_item;
    cb.null = bad_item;
    cb.boolean = bad_bool;
    cb.indef_break = bad_item;
    while (off < len && !bad) {
        struct cbor_decoder_result r = cbor_stream_decode(buf + off, len - off, &cb, &bad);

        if (r.status != CBOR_DECODER_FINISHED || r.read == 0)
            return 0;
        off += r.read;
    }
    return !bad;
}

int rt_manifest_parse(const uint8_t *buf, size_t len, const uint8_t want[32],
                      struct rt_manifest *m, char *err, size_t errsz)
{
    uint8_t md[32];
    size_t off = 0, cap = 0;
    int rc = 0;

    memset(m, 0, sizeof(*m));
    if (len == 0 || len > RUNTIME_MANIFEST_MAX)
        return why(err, errsz, "empty or too large", len ? -E2BIG : -EBADMSG);
    if (tpm_sha256(buf, len, md) < 0)
        return why(err, errsz, "cannot hash", -ENOMEM);
    if (memcmp(md, want, 32))
        return why(err, errsz, "does not hash to the measured rootfs digest", -EPERM);
    if (!shapes_ok(buf, len))
        return why(err, errsz, "an entry is not a tree-digest entry", -EBADMSG);
    while (rc == 0 && off < len) {
        struct cbor_load_result res;
        cbor_item_t *e = cbor_load(buf + off, len - off, &res);

        if (!e || res.error.code != CBOR_ERR_NONE || res.read == 0) {
            if (e)
                cbor_decref(&e);
            rc = -EBADMSG;
            break;
        }
        off += res.read;
        rc = take_entry(e, m, &cap);
        cbor_decref(&e);
    }
    if (rc < 0) {
        rt_manifest_free(m);
        return why(err, errsz, rc == -E2BIG ? "too many files" : rc == -ENOMEM
                   ? "out of memory" : "an entry is not a tree-digest entry", rc);
    }
    if (m->n)
        qsort(m->v, m->n, sizeof(*m->v), cmp_file);
    return 0;
}

const uint8_t *rt_manifest_lookup(const struct rt_manifest *m, const char *path)
{
    struct rt_file key, *hit;

    while (*path == '/')
        path++;
    if (!m->n || !*path)
        return NULL;
    key.path = (char *)path;
    hit = bsearch(&key, m->v, m->n, sizeof(*m->v), cmp_file);
    return hit ? hit->digest : NULL;
}

void rt_manifest_free(struct rt_manifest *m)
{
    for (size_t i = 0; i < m->n; i++)
        free(m->v[i].path);
    free(m->v);
    memset(m, 0, sizeof(*m));
}

int runtime_policy_validate(const json_t *rt, char *err, size_t errsz)
{
    const char *k, *d;
    json_t *v, *e;
    char norm[72];
    size_t i;

    if (!rt)
        return 0;
    if (!json_is_object(rt))
        return why(err, errsz, "runtime must be an object", -EINVAL);
    json_object_foreach((json_t *)rt, k, v) {
        if (!strcmp(k, "drift") || !strcmp(k, "gap")) {
            d = json_string_value(v);
            if (!d || (strcmp(d, "deny") && strcmp(d, "alert")))
                return why(err, errsz, !strcmp(k, "gap") ? "runtime.gap must be \"deny\" or "
                           "\"alert\"" : "runtime.drift must be \"deny\" or \"alert\"",
                           -EINVAL);
        } else if (!strcmp(k, "allow")) {
            if (!json_is_array(v))
                return why(err, errsz, "runtime.allow must be an array of digests", -EINVAL);
            json_array_foreach(v, i, e)
                if (!json_is_string(e) ||
                    policy_normalize_digest(json_string_value(e), norm) < 0)
                    return why(err, errsz, "runtime.allow: a digest is not sha256:<64 hex>",
                               -EINVAL);
        } else {
            return why(err, errsz, "unknown key in runtime", -EINVAL);
        }
    }
    return 0;
}

static int allowed_digest(const json_t *rt, const char *digest)
{
    const json_t *allow = rt ? json_object_get(rt, "allow") : NULL;
    char norm[72];
    json_t *e;
    size_t i;

    json_array_foreach(allow, i, e)
        if (policy_normalize_digest(json_string_value(e), norm) == 0 && !strcmp(norm, digest))
            return 1;
    return 0;
}

/* An exec record's content {type: "exec", path: "/...", digest: "sha256:<hex>"}. */
static int exec_fields(const cbor_item_t *c, char *path, size_t pathsz, char digest[72],
                       uint8_t bin[32])
{
    char raw[80];

    if (ctl_get_str(c, "path", path, pathsz) < 0 || path[0] != '/' ||
        ctl_get_str(c, "digest", raw, sizeof(raw)) < 0 ||
        policy_normalize_digest(raw, digest) < 0 || strcmp(raw, digest))
        return -EBADMSG;
    return hex_decode_exact(digest + 7, bin, 32);
}

/* The manifest for this evidence: 1 usable (*use: m, or one the source holds in *ref), 0
 * none (reason added when it is wrong). */
static int manifest_for(const struct evidence *ev, const char *rootfs_digest,
                        const struct rt_source *src, struct rt_manifest *m,
                        const struct rt_manifest **use, void **ref, struct reasons *r)
{
    uint8_t want[32];
    char err[96] = "";
    int rc;

    if (!ev->rootfs_manifest.len && !src) {
        reasons_add(r, "runtime-manifest-missing", NULL);
        return 0;
    }
    if (strncmp(rootfs_digest, "sha256:", 7) || strlen(rootfs_digest) != 71 ||
        hex_decode_exact(rootfs_digest + 7, want, 32) < 0) {
        reasons_add(r, "runtime-manifest-mismatch", "no rootfs record");
        return 0;
    }
    if (!ev->rootfs_manifest.len) { /* by the quoted rootfs digest, from the store */
        rc = src->get(src->arg, want, use, ref, err, sizeof(err));
        if (rc == -ENOENT)
            reasons_add(r, "runtime-manifest-missing", "not in the manifest store");
        else if (rc == -EPERM || rc == -EBADMSG)
            reasons_add(r, rc == -EPERM ? "runtime-manifest-mismatch"
                                        : "runtime-manifest-malformed", "stored: %s", err);
        else if (rc < 0)
            reasons_add(r, "internal-error", "manifest store");
        return rc == 0;
    }
    rc = rt_manifest_parse(ev->rootfs_manifest.p, ev->rootfs_manifest.len, want, m, err,
                           sizeof(err));
    *use = m;
    if (rc < 0) {
        reasons_add(r, rc == -EPERM ? "runtime-manifest-mismatch" : "runtime-manifest-malformed",
                    "%s", err);
        return 0;
    }
    return 1;
}

void runtime_check(const json_t *policy_runtime, const struct evidence *ev,
                   const char *rootfs_digest, struct reasons *r, struct reasons *alerts)
{
    runtime_check_src(policy_runtime, ev, rootfs_digest, NULL, r, alerts);
}

void runtime_check_src(const json_t *policy_runtime, const struct evidence *ev,
                       const char *rootfs_digest, const struct rt_source *src,
                       struct reasons *r, struct reasons *alerts)
{
    const char *mode = policy_runtime ? json_string_value(json_object_get(policy_runtime,
                                                                          "drift")) : NULL;
    const char *gmode = policy_runtime ? json_string_value(json_object_get(policy_runtime,
                                                                           "gap")) : NULL;
    int alert = mode && !strcmp(mode, "alert"), have = -1;
    int gap_alert = gmode ? !strcmp(gmode, "alert") : alert; /* default: as drift */
    struct rt_manifest m = { 0 };
    const struct rt_manifest *use = NULL;
    void *ref = NULL;
    size_t n = ev->event_log ? cbor_array_size(ev->event_log) : 0;

    for (size_t i = 0; i < n; i++) {
        const cbor_item_t *rec = cbor_array_handle(ev->event_log)[i];
        const cbor_item_t *c = ctl_get(rec, "content");
        char type[16], path[RUNTIME_PATH_MAX], digest[72];
        uint8_t bin[32];
        const uint8_t *want;
        uint64_t pcr;

        if (!c || ctl_get_str(c, "type", type, sizeof(type)) < 0 ||
            (strcmp(type, "exec") && strcmp(type, "exec-lost") && strcmp(type, "exec-gap")))
            continue;
        if (ctl_get_uint(rec, "pcr", &pcr) < 0 || pcr != RUNTIME_PCR) {
            reasons_add(r, "eventlog-wrong-pcr", "record %zu", i);
            continue;
        }
        if (!strcmp(type, "exec-gap")) { /* the monitor was restarted: execs meanwhile unseen */
            if (gap_alert) {
                LOG_WARN("container %s: runtime monitor gap (alert only): its monitor was "
                         "restarted, execs while none ran were not seen", ev->container_id);
                if (alerts)
                    reasons_add(alerts, "runtime-monitor-gap", NULL);
            } else
                reasons_add(r, "runtime-monitor-gap", NULL);
            continue;
        }
        if (!strcmp(type, "exec-lost")) { /* the monitor missed execs: nothing vouches */
            if (alert) {
                LOG_WARN("container %s: runtime events lost (alert only)", ev->container_id);
                if (alerts)
                    reasons_add(alerts, "runtime-events-lost", NULL);
            } else
                reasons_add(r, "runtime-events-lost", NULL);
            continue;
        }
        if (exec_fields(c, path, sizeof(path), digest, bin) < 0) {
            reasons_add(r, "runtime-record-malformed", "record %zu", i);
            continue;
        }
        if (have < 0)
            have = manifest_for(ev, rootfs_digest, src, &m, &use, &ref, r);
        want = have ? rt_manifest_lookup(use, path) : NULL;
        if ((want && !memcmp(want, bin, 32)) || allowed_digest(policy_runtime, digest))
            continue;
        if (alert) {
            LOG_WARN("container %s: runtime drift (alert only): %s %s%s", ev->container_id,
                     path, digest, want ? " (modified)" : "");
            if (alerts)
                reasons_add(alerts, "runtime-drift", "%s", path);
        } else
            reasons_add(r, "runtime-drift", "%s", path);
    }
    if (ref)
        src->put(src->arg, ref);
    rt_manifest_free(&m);
}
