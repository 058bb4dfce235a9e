/* SPDX-License-Identifier: BSD-3-Clause */
/* Unit tests of the verifier's runtime-integrity check: exec records against a rootfs
 * manifest that must hash to the measured tree digest, the allow list, alert mode, and every
 * malformed record and manifest. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <cbor.h>
#include <openssl/sha.h>

#include "../../verifier/check/rtcache.h"
#include "../../verifier/check/runtime.h"

static const uint8_t SH[32] = { 0x5a, 1, 2, 3 };   /* content digest of bin/busybox */
static const uint8_t LIBC[32] = { 0x11, 9, 9, 9 }; /* of lib/libc.so */
static const uint8_t OTHER[32] = { 0x77, 7 };       /* anything else */

struct fx {
    uint8_t *manifest;
    size_t len;
    char rootfs[80];      /* "sha256:<hex>" of the manifest */
    cbor_item_t *log;
    struct evidence ev;
};

static void hex(const uint8_t *b, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++)
        sprintf(out + 2 * i, "%02x", b[i]);
}

static void append_entry(struct fx *f, const char *path, const char *type, const uint8_t *data,
                         size_t dlen)
{
    cbor_item_t *a = cbor_new_definite_array(7);
    uint8_t *enc = NULL;
    size_t sz = 0, n;

    assert_true(cbor_array_push(a, cbor_move(cbor_build_string(path))));
    assert_true(cbor_array_push(a, cbor_move(cbor_build_string(type))));
    assert_true(cbor_array_push(a, cbor_move(cbor_build_uint32(0755))));
    assert_true(cbor_array_push(a, cbor_move(cbor_build_uint32(0))));
    assert_true(cbor_array_push(a, cbor_move(cbor_build_uint32(0))));
    assert_true(cbor_array_push(a, cbor_move(cbor_build_uint64(dlen == 32 ? 1000 : 0))));
    assert_true(cbor_array_push(a, cbor_move(cbor_build_bytestring(data, dlen))));
    n = cbor_serialize_alloc(a, &enc, &sz);
    assert_true(n > 0);
    f->manifest = realloc(f->manifest, f->len + n);
    assert_non_null(f->manifest);
    memcpy(f->manifest + f->len, enc, n);
    f->len += n;
    free(enc);
    cbor_decref(&a);
}

static void seal(struct fx *f)
{
    uint8_t md[32];

    SHA256(f->manifest, f->len, md);
    strcpy(f->rootfs, "sha256:");
    hex(md, 32, f->rootfs + 7);
    f->ev.rootfs_manifest.p = f->manifest;
    f->ev.rootfs_manifest.len = f->len;
}

/* An image: ., bin (dir), bin/busybox, bin/sh -> busybox, lib/libc.so. */
static void image(struct fx *f)
{
    memset(f, 0, sizeof(*f));
    append_entry(f, ".", "dir", NULL, 0);
    append_entry(f, "bin", "dir", NULL, 0);
    append_entry(f, "bin/busybox", "file", SH, 32);
    append_entry(f, "bin/sh", "symlink", (const uint8_t *)"busybox", 7);
    append_entry(f, "lib", "dir", NULL, 0);
    append_entry(f, "lib/libc.so", "file", LIBC, 32);
    seal(f);
    f->log = cbor_new_definite_array(8);
    f->ev.event_log = f->log;
    strcpy(f->ev.container_id, "ctr-1");
}

static void add_rec(struct fx *f, unsigned pcr, const char *type, const char *path,
                    const char *digest)
{
    cbor_item_t *rec = cbor_new_definite_map(4), *c = cbor_new_definite_map(3);
    uint8_t zero[32] = { 0 };

    assert_true(cbor_map_add(c, (struct cbor_pair){ cbor_move(cbor_build_string("type")),
                                                    cbor_move(cbor_build_string(type)) }));
    if (path)
        assert_true(cbor_map_add(c, (struct cbor_pair){ cbor_move(cbor_build_string("path")),
                                                        cbor_move(cbor_build_string(path)) }));
    if (digest)
        assert_true(cbor_map_add(c, (struct cbor_pair){ cbor_move(cbor_build_string("digest")),
                                                        cbor_move(cbor_build_string(digest)) }));
    assert_true(cbor_map_add(rec, (struct cbor_pair){
        cbor_move(cbor_build_string("recnum")), cbor_move(cbor_build_uint32(
            (uint32_t)cbor_array_size(f->log))) }));
    assert_true(cbor_map_add(rec, (struct cbor_pair){ cbor_move(cbor_build_string("pcr")),
                                                      cbor_move(cbor_build_uint8((uint8_t)pcr)) }));
    assert_true(cbor_map_add(rec, (struct cbor_pair){
        cbor_move(cbor_build_string("digest")), cbor_move(cbor_build_bytestring(zero, 32)) }));
    assert_true(cbor_map_add(rec, (struct cbor_pair){ cbor_move(cbor_build_string("content")),
                                                      cbor_move(c) }));
    assert_true(cbor_array_push(f->log, rec));
    cbor_decref(&rec);
}

static void add_exec(struct fx *f, const char *path, const uint8_t d[32])
{
    char digest[80] = "sha256:";

    hex(d, 32, digest + 7);
    add_rec(f, RUNTIME_PCR, "exec", path, digest);
}

static void done(struct fx *f, struct reasons *r)
{
    reasons_free(r);
    cbor_decref(&f->log);
    free(f->manifest);
}

static char alerts_out[2048]; /* the last run's alerts, comma-joined */

static void join(const struct reasons *r, char *out, size_t outsz)
{
    out[0] = 0;
    for (size_t i = 0; i < r->n; i++)
        snprintf(out + strlen(out), outsz - strlen(out), "%s%s", i ? "," : "", r->v[i]);
}

/* Runs the check; returns the reasons as one comma-joined string (alerts in alerts_out). */
static const char *run(struct fx *f, const char *policy_json, struct reasons *r)
{
    static char out[2048];
    json_t *pol = policy_json ? json_loads(policy_json, 0, NULL) : NULL;
    struct reasons alerts = { 0 };

    memset(r, 0, sizeof(*r));
    runtime_check(pol, &f->ev, f->rootfs, r, &alerts);
    join(r, out, sizeof(out));
    join(&alerts, alerts_out, sizeof(alerts_out));
    reasons_free(&alerts);
    json_decref(pol);
    return out;
}

static void test_measured_files_pass(void **s)
{
    struct fx f;
    struct reasons r;

    (void)s;
    image(&f);
    add_rec(&f, 8, "rootfs", NULL, f.rootfs); /* start records are not runtime records */
    add_exec(&f, "/bin/busybox", SH);
    add_exec(&f, "/lib/libc.so", LIBC);
    assert_string_equal(run(&f, NULL, &r), "");
    done(&f, &r);
}

static void test_drift(void **s)
{
    struct fx f;
    struct reasons r;

    (void)s;
    image(&f);
    add_exec(&f, "/bin/busybox", SH);
    add_exec(&f, "/tmp/sh", SH);          /* a copy on a writable mount: not in the image */
    add_exec(&f, "/lib/libc.so", OTHER);  /* modified in place */
    add_exec(&f, "/bin/sh", SH);          /* a symlink is never what runs */
    add_exec(&f, "/bin", SH);             /* a directory */
    assert_string_equal(run(&f, NULL, &r), "runtime-drift:/tmp/sh,runtime-drift:/lib/libc.so,"
                                           "runtime-drift:/bin/sh,runtime-drift:/bin");
    assert_true(reasons_deny(&r));
    reasons_free(&r);
    assert_string_equal(run(&f, "{\"drift\": \"deny\"}", &r),
                        "runtime-drift:/tmp/sh,runtime-drift:/lib/libc.so,"
                        "runtime-drift:/bin/sh,runtime-drift:/bin");
    done(&f, &r);
}

static void test_alert_and_allow(void **s)
{
    struct fx f;
    struct reasons r;
    char pol[200] = "{\"allow\": [\"sha256:";

    (void)s;
    image(&f);
    add_exec(&f, "/tmp/tool", OTHER);
    assert_string_equal(run(&f, "{\"drift\": \"alert\"}", &r), "");
    assert_string_equal(alerts_out, "runtime-drift:/tmp/tool"); /* for the alert webhook */
    reasons_free(&r);
    assert_string_equal(run(&f, NULL, &r), "runtime-drift:/tmp/tool");
    assert_string_equal(alerts_out, ""); /* deny mode: a reason, no alert */
    reasons_free(&r);
    hex(OTHER, 32, pol + strlen(pol));
    strcat(pol, "\"]}");
    assert_string_equal(run(&f, pol, &r), "");
    assert_string_equal(alerts_out, ""); /* allowed by digest: nothing to alert */
    reasons_free(&r);
    add_exec(&f, "/tmp/sh", SH); /* not on the list */
    assert_string_equal(run(&f, pol, &r), "runtime-drift:/tmp/sh");
    done(&f, &r);
}

static void test_events_lost(void **s)
{
    struct fx f;
    struct reasons r;

    (void)s;
    image(&f);
    add_exec(&f, "/bin/busybox", SH);
    add_rec(&f, RUNTIME_PCR, "exec-lost", NULL, NULL);
    assert_string_equal(run(&f, NULL, &r), "runtime-events-lost");
    reasons_free(&r);
    assert_string_equal(run(&f, "{\"drift\": \"alert\"}", &r), "");
    reasons_free(&r);
    add_rec(&f, 8, "exec-lost", NULL, NULL);
    assert_string_equal(run(&f, NULL, &r), "runtime-events-lost,eventlog-wrong-pcr:record 2");
    done(&f, &r);
}

/* A restarted monitor's exec-gap record: deny unless runtime.gap (or, without it,
 * runtime.drift) is alert; exec records after it are judged as before. */
static void test_monitor_gap(void **s)
{
    struct fx f;
    struct reasons r;

    (void)s;
    image(&f);
    add_exec(&f, "/bin/busybox", SH);
    add_rec(&f, RUNTIME_PCR, "exec-gap", NULL, NULL);
    assert_string_equal(run(&f, NULL, &r), "runtime-monitor-gap");
    reasons_free(&r);
    assert_string_equal(run(&f, "{\"drift\": \"alert\"}", &r), "");
    reasons_free(&r);
    assert_string_equal(run(&f, "{\"gap\": \"alert\"}", &r), "");
    assert_string_equal(alerts_out, "runtime-monitor-gap");
    reasons_free(&r);
    assert_string_equal(run(&f, "{\"drift\": \"alert\", \"gap\": \"deny\"}", &r),
                        "runtime-monitor-gap");
    assert_string_equal(alerts_out, "");
    reasons_free(&r);
    add_exec(&f, "/tmp/sh", OTHER);
    assert_string_equal(run(&f, "{\"gap\": \"alert\"}", &r), "runtime-drift:/tmp/sh");
    reasons_free(&r);
    add_rec(&f, 8, "exec-gap", NULL, NULL);
    assert_string_equal(run(&f, "{\"gap\": \"alert\"}", &r),
                        "runtime-drift:/tmp/sh,eventlog-wrong-pcr:record 3");
    done(&f, &r);
}

static void test_manifest_problems(void **s)
{
    struct fx f;
    struct reasons r;

    (void)s;
    image(&f);
    add_exec(&f, "/bin/busybox", SH);
    f.ev.rootfs_manifest.len = 0;
    assert_string_equal(run(&f, NULL, &r), "runtime-manifest-missing,runtime-drift:/bin/busybox");
    reasons_free(&r);
    f.ev.rootfs_manifest.len = f.len;
    f.rootfs[10] ^= 1; /* another rootfs was measured */
    assert_string_equal(run(&f, NULL, &r),
                        "runtime-manifest-mismatch:does not hash to the measured rootfs digest,"
                        "runtime-drift:/bin/busybox");
    reasons_free(&r);
    f.rootfs[0] = 0; /* the log has no rootfs record */
    assert_string_equal(run(&f, NULL, &r), "runtime-manifest-mismatch:no rootfs record,"
                                           "runtime-drift:/bin/busybox");
    reasons_free(&r);
    /* bytes that hash right but are no tree-digest entries */
    f.manifest[0] = 0x01; /* a uint, not an array */
    seal(&f);
    assert_string_equal(run(&f, NULL, &r),
                        "runtime-manifest-malformed:an entry is not a tree-digest entry,"
                        "runtime-drift:/bin/busybox");
    done(&f, &r);
}

static void test_bad_records(void **s)
{
    struct fx f;
    struct reasons r;
    char upper[80] = "sha256:";

    (void)s;
    image(&f);
    hex(SH, 32, upper + 7);
    upper[7] = 'A';
    add_rec(&f, 8, "exec", "/bin/busybox", NULL);      /* wrong PCR */
    add_rec(&f, RUNTIME_PCR, "exec", "bin/busybox", upper + 0); /* relative path */
    add_rec(&f, RUNTIME_PCR, "exec", "/bin/busybox", upper);    /* digest not lowercase */
    add_rec(&f, RUNTIME_PCR, "exec", "/bin/busybox", NULL);     /* no digest */
    add_rec(&f, RUNTIME_PCR, "exec", NULL, "sha256:00");        /* no path */
    assert_string_equal(run(&f, NULL, &r), "eventlog-wrong-pcr:record 0,"
                        "runtime-record-malformed:record 1,runtime-record-malformed:record 2,"
                        "runtime-record-malformed:record 3,runtime-record-malformed:record 4");
    done(&f, &r);
}

static void test_manifest_parse(void **s)
{
    struct fx f;
    struct rt_manifest m;
    uint8_t want[32];
    char err[96];

    (void)s;
    image(&f);
    SHA256(f.manifest, f.len, want);
    assert_int_equal(rt_manifest_parse(f.manifest, f.len, want, &m, err, sizeof(err)), 0);
    assert_int_equal(m.n, 2); /* regular files only */
    assert_memory_equal(rt_manifest_lookup(&m, "/bin/busybox"), SH, 32);
    assert_memory_equal(rt_manifest_lookup(&m, "lib/libc.so"), LIBC, 32);
    assert_null(rt_manifest_lookup(&m, "/bin/sh"));
    assert_null(rt_manifest_lookup(&m, "/"));
    rt_manifest_free(&m);
    /* truncated: the hash no longer matches; re-hashed: the entry does not decode */
    assert_int_equal(rt_manifest_parse(f.manifest, f.len - 1, want, &m, err, sizeof(err)), -EPERM);
    SHA256(f.manifest, f.len - 1, want);
    assert_int_equal(rt_manifest_parse(f.manifest, f.len - 1, want, &m, err, sizeof(err)),
                     -EBADMSG);
    assert_int_equal(rt_manifest_parse(f.manifest, 0, want, &m, err, sizeof(err)), -EBADMSG);
    free(f.manifest);
    cbor_decref(&f.log);
    /* a file entry whose data is not 32 bytes */
    memset(&f, 0, sizeof(f));
    append_entry(&f, "x", "file", SH, 31);
    SHA256(f.manifest, f.len, want);
    assert_int_equal(rt_manifest_parse(f.manifest, f.len, want, &m, err, sizeof(err)), -EBADMSG);
    free(f.manifest);
}

/* A manifest source over one stored byte string (the service's store, in small): counts the
 * lookups and checks each hold is given back. */
struct store_fx {
    const uint8_t *bytes;
    size_t len;
    int gets, puts, fail;
};

static int fx_get(void *arg, const uint8_t digest[32], const struct rt_manifest **m, void **ref,
                  char *err, size_t errsz)
{
    struct store_fx *sf = arg;
    struct rt_manifest *own;
    int rc;

    sf->gets++;
    if (sf->fail)
        return sf->fail;
    if (!sf->bytes)
        return -ENOENT;
    own = calloc(1, sizeof(*own));
    rc = rt_manifest_parse(sf->bytes, sf->len, digest, own, err, errsz);
    if (rc < 0) {
        free(own);
        return rc;
    }
    *m = own;
    *ref = own;
    return 0;
}

static void fx_put(void *arg, void *ref)
{
    ((struct store_fx *)arg)->puts++;
    rt_manifest_free(ref);
    free(ref);
}

static const char *run_src(struct fx *f, struct store_fx *sf, struct reasons *r)
{
    static char out[2048];
    const struct rt_source src = { fx_get, fx_put, sf };

    memset(r, 0, sizeof(*r));
    runtime_check_src(NULL, &f->ev, f->rootfs, &src, r, NULL);
    join(r, out, sizeof(out));
    return out;
}

/* Evidence without rootfs_manifest: the manifest comes from the source by the quoted rootfs
 * digest; missing, another rootfs's or malformed stored bytes, and a store fault, each named. */
static void test_manifest_from_store(void **s)
{
    struct store_fx sf = { 0 };
    struct fx f;
    struct reasons r;
    uint8_t *copy;

    (void)s;
    image(&f);
    add_exec(&f, "/bin/busybox", SH);
    add_exec(&f, "/tmp/sh", SH);
    f.ev.rootfs_manifest.len = 0;
    sf.bytes = f.manifest;
    sf.len = f.len;
    assert_string_equal(run_src(&f, &sf, &r), "runtime-drift:/tmp/sh");
    assert_int_equal(sf.gets, 1); /* once per evidence, not per record */
    assert_int_equal(sf.puts, 1);
    reasons_free(&r);
    sf.bytes = NULL;
    assert_string_equal(run_src(&f, &sf, &r), "runtime-manifest-missing:not in the manifest "
                        "store,runtime-drift:/bin/busybox,runtime-drift:/tmp/sh");
    reasons_free(&r);
    copy = malloc(f.len);
    memcpy(copy, f.manifest, f.len);
    copy[f.len - 1] ^= 1; /* stored bytes of another rootfs */
    sf.bytes = copy;
    assert_string_equal(run_src(&f, &sf, &r), "runtime-manifest-mismatch:stored: does not hash "
                        "to the measured rootfs digest,runtime-drift:/bin/busybox,"
                        "runtime-drift:/tmp/sh");
    reasons_free(&r);
    free(copy);
    sf.fail = -EIO;
    assert_string_equal(run_src(&f, &sf, &r), "internal-error:manifest store,"
                        "runtime-drift:/bin/busybox,runtime-drift:/tmp/sh");
    reasons_free(&r);
    /* an inline manifest (an older agent) is used as before, the store not asked */
    sf.fail = 0;
    sf.gets = 0;
    f.ev.rootfs_manifest.len = f.len;
    assert_string_equal(run_src(&f, &sf, &r), "runtime-drift:/tmp/sh");
    assert_int_equal(sf.gets, 0);
    done(&f, &r);
}

/* The decoded manifests' cache: hits, the bound by memory, entries in use never freed. */
static void test_cache(void **s)
{
    struct fx f;
    struct rt_manifest m;
    struct rt_cache *c;
    struct rt_cache_entry *e1, *e2, *e3;
    struct rt_cache_stats st;
    uint8_t d1[32] = { 1 }, d2[32] = { 2 }, d3[32] = { 3 }, want[32];
    char err[96];
    size_t one;

    (void)s;
    image(&f);
    SHA256(f.manifest, f.len, want);
    assert_int_equal(rt_manifest_parse(f.manifest, f.len, want, &m, err, sizeof(err)), 0);
    one = rtcache_size_of(&m);
    c = rtcache_new(2 * one); /* room for two */
    assert_null(rtcache_get(c, d1, &e1));
    assert_non_null(rtcache_add(c, d1, &m, &e1));
    assert_int_equal(rt_manifest_parse(f.manifest, f.len, want, &m, err, sizeof(err)), 0);
    assert_non_null(rtcache_add(c, d2, &m, &e2));
    assert_int_equal(rt_manifest_parse(f.manifest, f.len, want, &m, err, sizeof(err)), 0);
    assert_non_null(rtcache_add(c, d3, &m, &e3)); /* over: all three held, none freed */
    rtcache_stats(c, &st);
    assert_int_equal(st.entries, 3);
    rtcache_put(c, e1); /* d1, least recently used and free now: out */
    rtcache_stats(c, &st);
    assert_int_equal(st.entries, 2);
    assert_null(rtcache_get(c, d1, &e1));
    {
        const struct rt_manifest *hit = rtcache_get(c, d2, &e2);

        assert_non_null(hit);
        assert_memory_equal(rt_manifest_lookup(hit, "bin/busybox"), SH, 32);
    }
    rtcache_put(c, e2);
    rtcache_put(c, e2);
    rtcache_put(c, e3);
    rtcache_stats(c, &st);
    assert_int_equal(st.hits, 1);
    assert_int_equal(st.misses, 2);
    assert_true(rtcache_touch_due(c, e3, 1000, 600));
    assert_false(rtcache_touch_due(c, e3, 1500, 600));
    assert_true(rtcache_touch_due(c, e3, 1600, 600));
    rtcache_free(c);
    cbor_decref(&f.log);
    free(f.manifest);
}

static void test_policy_validate(void **s)
{
    const char *good[] = {
        "{}", "{\"drift\": \"alert\"}", "{\"gap\": \"alert\", \"drift\": \"deny\"}",
        "{\"drift\": \"deny\", \"allow\": [\"sha256:"
        "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\"]}" };
    const char *bad[] = { "[]", "{\"drift\": \"warn\"}", "{\"drift\": 1}", "{\"allow\": \"x\"}",
                          "{\"allow\": [\"/tmp/sh\"]}", "{\"enforce\": true}",
                          "{\"gap\": \"warn\"}", "{\"gap\": false}" };
    char err[96];

    (void)s;
    assert_int_equal(runtime_policy_validate(NULL, err, sizeof(err)), 0);
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        json_t *j = json_loads(good[i], 0, NULL);
        assert_int_equal(runtime_policy_validate(j, err, sizeof(err)), 0);
        json_decref(j);
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        json_t *j = json_loads(bad[i], 0, NULL);
        assert_int_equal(runtime_policy_validate(j, err, sizeof(err)), -EINVAL);
        json_decref(j);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_measured_files_pass),
        cmocka_unit_test(test_drift),
        cmocka_unit_test(test_alert_and_allow),
        cmocka_unit_test(test_manifest_problems),
        cmocka_unit_test(test_events_lost),
        cmocka_unit_test(test_monitor_gap),
        cmocka_unit_test(test_bad_records),
        cmocka_unit_test(test_manifest_parse),
        cmocka_unit_test(test_manifest_from_store),
        cmocka_unit_test(test_cache),
        cmocka_unit_test(test_policy_validate),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
