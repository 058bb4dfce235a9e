/* SPDX-License-Identifier: BSD-3-Clause */
/* Unit tests of the verifier's memory of passed chains: keys cover every input, only what
 * was put is a hit; the host intermediates' cache (hostcache.h) with a real vtpm-mgr chain
 * (the fuzz corpus' real-evidence.cbor): what it refuses once an entry is cached (a leaf signed
 * by another key, one changed bit in a cached file, expiry, another trust dir), several
 * threads at once. */
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include <openssl/pem.h>
#include <openssl/x509.h>

#include "../../verifier/check/chain.h"
#include "../../verifier/check/chaincache.h"
#include "../../verifier/check/hostcache.h"
#include "ctlproto.h"
#include "fileio.h"

static cbor_item_t *chain(const char *file, const char *content)
{
    cbor_item_t *m = cbor_new_definite_map(1);
    cbor_item_t *k = cbor_build_string(file), *v = cbor_build_bytestring(
        (const uint8_t *)content, strlen(content));

    assert_true(cbor_map_add(m, (struct cbor_pair){ .key = k, .value = v }));
    cbor_decref(&k);
    cbor_decref(&v);
    return m;
}

static void test_keys_cover_inputs(void **state)
{
    struct bytes ek = { (const uint8_t *)"ek-cert", 7 }, ek2 = { (const uint8_t *)"ek-cerT", 7 };
    cbor_item_t *c1 = chain("vtpm-ca.pem", "A"), *c2 = chain("vtpm-ca.pem", "B");
    uint8_t k1[32], k1b[32], k2[32], k3[32], k4[32], k5[32];

    (void)state;
    assert_int_equal(chaincache_key("x", &ek, c1, "u1", k1), 0);
    assert_int_equal(chaincache_key("x", &ek, c1, "u1", k1b), 0);
    assert_memory_equal(k1, k1b, 32);
    assert_int_equal(chaincache_key("x", &ek2, c1, "u1", k2), 0);
    assert_int_equal(chaincache_key("x", &ek, c2, "u1", k3), 0);
    assert_int_equal(chaincache_key("x", &ek, c1, "u2", k4), 0);
    assert_int_equal(chaincache_key("y", &ek, c1, "u1", k5), 0);
    assert_memory_not_equal(k1, k2, 32);
    assert_memory_not_equal(k1, k3, 32);
    assert_memory_not_equal(k1, k4, 32);
    assert_memory_not_equal(k1, k5, 32);
    assert_int_equal(chaincache_key("x", &ek, NULL, "u1", k5), -1); /* no chain: not cacheable */
    cbor_decref(&c1);
    cbor_decref(&c2);
}

static void test_only_put_hits(void **state)
{
    uint8_t a[32], b[32];

    (void)state;
    memset(a, 0x11, sizeof(a));
    memset(b, 0x22, sizeof(b));
    assert_false(chaincache_hit(a));
    chaincache_put(a);
    assert_true(chaincache_hit(a));
    assert_false(chaincache_hit(b));
    /* Filling every slot pushes the oldest out. */
    for (unsigned i = 0; i < CHAINCACHE_ENTRIES; i++) {
        b[0] = (uint8_t)i;
        b[1] = (uint8_t)(i >> 8);
        chaincache_put(b);
    }
    assert_false(chaincache_hit(a));
}

/* The host table: a hit only for the key put and inside the entry's validity, a reference per
 * get, the oldest way of a set replaced. */
static void test_hostcache_table(void **state)
{
    struct hostcache *c = hostcache_new(16);
    struct host_entry *e = host_entry_new(), *got;
    uint8_t k[32], other[32];

    (void)state;
    assert_non_null(c);
    assert_non_null(e);
    memset(k, 0x33, sizeof(k));
    memset(other, 0x44, sizeof(other));
    e->not_before = 1000;
    e->not_after = 2000;
    hostcache_add(c, k, e);
    assert_null(hostcache_get(c, other, 1500));
    assert_null(hostcache_get(c, k, 999));  /* before notBefore */
    assert_null(hostcache_get(c, k, 2000)); /* at notAfter */
    got = hostcache_get(c, k, 1500);
    assert_ptr_equal(got, e);
    assert_int_equal(atomic_load(&e->refs), 3); /* ours, the cache's, got */
    host_entry_put(got);
    /* eight more keys of the same set (same first two bytes) push it out */
    for (int i = 0; i < 8; i++) {
        struct host_entry *n = host_entry_new();
        other[0] = k[0];
        other[1] = k[1];
        other[2] = (uint8_t)i;
        n->not_after = 2000;
        hostcache_add(c, other, n);
        host_entry_put(n);
    }
    assert_null(hostcache_get(c, k, 1500));
    assert_int_equal(atomic_load(&e->refs), 1);
    host_entry_put(e);
    hostcache_free(c);
}

/* --- the host intermediates' cache with a real chain -------------------------------------- */

struct real {
    const char *file;
    time_t at; /* the clock of the checks: shortly after the EK certificate was made */
    uint8_t *buf;
    size_t len;
    struct evidence ev;
    X509_STORE *trust;
    char dir[64];
};

static struct real g_real;

/* The first certificate of a host-chain PEM file (X509_free), or NULL. */
static X509 *chain_pem(const cbor_item_t *chain, const char *file)
{
    struct bytes b;
    BIO *bio;
    X509 *c = NULL;

    if (vf_evidence_bytes(chain, file, &b) < 0)
        return NULL;
    bio = BIO_new_mem_buf(b.p, (int)b.len);
    if (bio)
        c = PEM_read_bio_X509(bio, NULL, NULL, NULL);
    BIO_free(bio);
    return c;
}

/* A trust dir holding one PEM file with cert. */
static X509_STORE *trust_of(X509 *cert, char *dir, size_t dsz)
{
    char path[128];
    FILE *f;
    X509_STORE *st;

    snprintf(dir, dsz, "/tmp/vf-cache-test.XXXXXX");
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/ca.pem", dir);
    f = fopen(path, "we");
    assert_non_null(f);
    assert_int_equal(PEM_write_X509(f, cert), 1);
    fclose(f);
    st = chain_trust_load(dir);
    unlink(path);
    rmdir(dir);
    return st;
}

static int real_setup_file(const char *file)
{
    const char *root = getenv("VTPM_ROOT");
    char path[512], err[128];
    const unsigned char *p;
    X509 *anchor, *ek;
    struct tm tm;

    snprintf(path, sizeof(path), "%s/tests/fuzz/corpus/evidence/%s", root && *root ? root : ".",
             file);
    if (file_read_all_flags(AT_FDCWD, path, 0, 1u << 20, &g_real.buf, &g_real.len) < 0 ||
        vf_evidence_parse(g_real.buf, g_real.len, &g_real.ev, err, sizeof(err)) < 0) {
        fprintf(stderr, "cannot read %s (set VTPM_ROOT)\n", path);
        return -1;
    }
    /* the host EK's issuer when the chain has it, else the host EK certificate itself */
    anchor = chain_pem(g_real.ev.host_chain, "host-ek-ca.pem");
    if (!anchor)
        anchor = chain_pem(g_real.ev.host_chain, "host-ek.pem");
    if (!anchor)
        return -1;
    g_real.trust = trust_of(anchor, g_real.dir, sizeof(g_real.dir));
    X509_free(anchor);
    /* The chains' certificates are short-lived test ones: check at the time they were made. */
    p = g_real.ev.ek_cert.p;
    ek = d2i_X509(NULL, &p, (long)g_real.ev.ek_cert.len);
    if (!ek || ASN1_TIME_to_tm(X509_get0_notBefore(ek), &tm) != 1)
        return -1;
    g_real.at = timegm(&tm) + 60;
    X509_free(ek);
    return g_real.trust ? 0 : -1;
}

/* real-evidence.cbor: a vTPM from before issuers (vtpm-ca.pem signed its EK certificate). */
static int legacy_setup(void **state)
{
    (void)state;
    return real_setup_file("real-evidence.cbor");
}

/* real-evidence-issuer.cbor: EK certificate -> vtpm-issuer.pem -> vtpm-ca.pem. */
static int issuer_setup(void **state)
{
    (void)state;
    return real_setup_file("real-evidence-issuer.cbor");
}

static int real_teardown(void **state)
{
    (void)state;
    chaincache_set_now(0);
    X509_STORE_free(g_real.trust);
    vf_evidence_free(&g_real.ev);
    free(g_real.buf);
    return 0;
}

static struct chain_input real_input(const cbor_item_t *chain, const uint8_t *ek, size_t eklen)
{
    return (struct chain_input){ .ek_cert = { ek ? ek : g_real.ev.ek_cert.p,
                                              ek ? eklen : g_real.ev.ek_cert.len },
                                 .host_chain = chain ? chain : g_real.ev.host_chain,
                                 .vtpm_uuid = g_real.ev.vtpm_uuid };
}

/* The reasons of chain_check (cached 1: chain_check_cached, 2: chain_check_full) as one
 * string, "" for a pass. */
static const char *check(const struct chain_input *in, X509_STORE *trust, int cached,
                         int registering)
{
    static char out[512];
    struct chain_input ri = *in;
    struct reasons r = { 0 };

    ri.registering = registering;
    if (cached == 2)
        chain_check_full(&ri, trust, &r, NULL);
    else if (cached)
        chain_check_cached(&ri, trust, &r);
    else
        chain_check(&ri, trust, &r, NULL);
    out[0] = '\0';
    for (size_t i = 0; i < r.n; i++) {
        strncat(out, r.v[i], sizeof(out) - strlen(out) - 2);
        strcat(out, " ");
    }
    reasons_free(&r);
    return out;
}

/* A copy of the host chain with file's bytes replaced. */
static cbor_item_t *chain_with(const char *file, const uint8_t *v, size_t len)
{
    const cbor_item_t *c = g_real.ev.host_chain;
    struct cbor_pair *p = cbor_map_handle(c);
    cbor_item_t *m = ctl_map_new();

    for (size_t i = 0; i < cbor_map_size(c); i++) {
        char k[64];
        size_t kl = cbor_string_length(p[i].key);
        assert_true(kl < sizeof(k));
        memcpy(k, cbor_string_handle(p[i].key), kl);
        k[kl] = '\0';
        if (!strcmp(k, file))
            assert_int_equal(ctl_put_bytes(m, k, v, len), 0);
        else
            assert_int_equal(ctl_put_bytes(m, k, cbor_bytestring_handle(p[i].value),
                                           cbor_bytestring_length(p[i].value)), 0);
    }
    return m;
}

/* The chain with one bit of file's first certificate changed (in its signature, so that it
 * still parses), PEM again. */
static cbor_item_t *chain_flipped(const char *file)
{
    X509 *c = chain_pem(g_real.ev.host_chain, file);
    unsigned char *der = NULL;
    int len = c ? i2d_X509(c, &der) : -1;
    BIO *bio = BIO_new(BIO_s_mem());
    char *pem;
    long n;
    cbor_item_t *m;

    assert_true(len > 16);
    der[len - 2] ^= 0x10;
    assert_true(PEM_write_bio(bio, "CERTIFICATE", "", der, len) > 0);
    n = BIO_get_mem_data(bio, &pem);
    m = chain_with(file, (const uint8_t *)pem, (size_t)n);
    BIO_free(bio);
    OPENSSL_free(der);
    X509_free(c);
    return m;
}

static time_t not_after(X509 *c)
{
    struct tm tm;

    assert_int_equal(ASN1_TIME_to_tm(X509_get0_notAfter(c), &tm), 1);
    return timegm(&tm);
}

static void reset_caches(void)
{
    chaincache_set_now(g_real.at);
    chaincache_clear();
    hostcache_clear(hostcache_default());
}

/* The real chain passes, is cached, passes from the cache; the old path agrees. */
static void test_real_chain_cached(void **state)
{
    struct chain_input in = real_input(NULL, NULL, 0);
    struct reasons r = { 0 };

    (void)state;
    reset_caches();
    assert_false(chain_host_cached(&in, g_real.trust));
    assert_false(chain_vtpm_cached(&in, g_real.trust));
    assert_string_equal(check(&in, g_real.trust, 0, 1), ""); /* a registration */
    assert_true(chain_host_cached(&in, g_real.trust));
    assert_true(chain_vtpm_cached(&in, g_real.trust)); /* its evidence needs no EK verify */
    assert_string_equal(check(&in, g_real.trust, 0, 0), "");
    assert_string_equal(check(&in, g_real.trust, 1, 0), "");
    assert_string_equal(check(&in, g_real.trust, 1, 0), "");
    chain_check_full(&in, g_real.trust, &r, NULL);
    assert_int_equal(r.n, 0);
    reasons_free(&r);
    /* the EK key a registration gets is the certificate's key */
    {
        const unsigned char *p = g_real.ev.ek_cert.p;
        X509 *ek = d2i_X509(NULL, &p, (long)g_real.ev.ek_cert.len);
        EVP_PKEY *k = NULL;
        struct chain_input reg = in;
        reg.registering = 1;
        chain_check(&reg, g_real.trust, &r, &k);
        assert_int_equal(r.n, 0);
        assert_non_null(k);
        assert_int_equal(EVP_PKEY_eq(k, X509_get0_pubkey(ek)), 1);
        EVP_PKEY_free(k);
        X509_free(ek);
        reasons_free(&r);
    }
}

/* An EK certificate like the real one (issuer name, key identifiers, UUID) but signed by
 * another key: refused while the host's entry stays cached, by both paths. */
static void test_leaf_other_key(void **state)
{
    const unsigned char *p = g_real.ev.ek_cert.p;
    X509 *ek = d2i_X509(NULL, &p, (long)g_real.ev.ek_cert.len);
    EVP_PKEY *k = EVP_EC_gen("P-256");
    unsigned char *der = NULL;
    int len;
    struct chain_input in;
    struct reasons r = { 0 };

    (void)state;
    reset_caches();
    assert_non_null(ek);
    assert_true(X509_sign(ek, k, EVP_sha256()) > 0);
    len = i2d_X509(ek, &der);
    in = real_input(NULL, der, (size_t)len);
    assert_string_equal(check(&in, g_real.trust, 0, 0), "ek-cert-not-from-vtpm-ca ");
    assert_true(chain_host_cached(&in, g_real.trust)); /* the leaf alone was refused */
    assert_string_equal(check(&in, g_real.trust, 1, 0), "ek-cert-not-from-vtpm-ca ");
    assert_string_equal(check(&in, g_real.trust, 1, 0), "ek-cert-not-from-vtpm-ca ");
    chain_check_full(&in, g_real.trust, &r, NULL);
    assert_true(reasons_has(&r, "ek-cert-not-from-vtpm-ca"));
    reasons_free(&r);
    OPENSSL_free(der);
    EVP_PKEY_free(k);
    X509_free(ek);
}

/* One bit of a cached file changed: a new key, checked again, refused. */
static void test_cached_file_one_bit(void **state)
{
    static const char *const pems[][2] = {
        { "vtpm-issuer.pem", "ek-cert-not-from-vtpm-ca " },
        /* an anchor's own signature is not checked (OpenSSL's rule); its digest is certified */
        { "vtpm-ca.pem", "vtpm-ca-certify-extradata " },
        { "host-ek.pem", "host-ek-untrusted " },
    };
    struct chain_input in = real_input(NULL, NULL, 0);
    struct bytes sig;

    (void)state;
    reset_caches();
    assert_string_equal(check(&in, g_real.trust, 1, 0), "");
    for (size_t i = 0; i < sizeof(pems) / sizeof(pems[0]); i++) {
        cbor_item_t *m = chain_flipped(pems[i][0]);
        struct chain_input bad = real_input(m, NULL, 0);
        assert_string_equal(check(&bad, g_real.trust, 0, 0), pems[i][1]);
        assert_string_equal(check(&bad, g_real.trust, 1, 0), pems[i][1]);
        assert_string_equal(check(&bad, g_real.trust, 1, 0), pems[i][1]);
        assert_string_equal(check(&bad, g_real.trust, 2, 0), pems[i][1]); /* the old path */
        cbor_decref(&m);
    }
    assert_int_equal(vf_evidence_bytes(g_real.ev.host_chain, "vtpm-ca.certify.sig", &sig), 0);
    {
        uint8_t *b = malloc(sig.len);
        cbor_item_t *m;
        struct chain_input bad;
        memcpy(b, sig.p, sig.len);
        b[sig.len - 1] ^= 0x01;
        m = chain_with("vtpm-ca.certify.sig", b, sig.len);
        bad = real_input(m, NULL, 0);
        assert_string_equal(check(&bad, g_real.trust, 1, 0), "vtpm-ca-certify-signature ");
        assert_string_equal(check(&bad, g_real.trust, 2, 0), "vtpm-ca-certify-signature ");
        cbor_decref(&m);
        free(b);
    }
    assert_string_equal(check(&in, g_real.trust, 1, 0), ""); /* the real one still passes */
}

/* Cached, then the clock passes the host EK chain's earliest notAfter (or goes before its
 * notBefore): refused, from the per-vTPM memory too. The issuer expires long before: evidence
 * still passes, a registration is refused with vtpm-issuer-expired. */
static void test_expired_after_cached(void **state)
{
    struct chain_input in = real_input(NULL, NULL, 0);
    X509 *hek = chain_pem(g_real.ev.host_chain, "host-ek.pem");
    X509 *iss = chain_pem(g_real.ev.host_chain, "vtpm-issuer.pem");
    X509 *hca = chain_pem(g_real.ev.host_chain, "host-ek-ca.pem");
    time_t end = not_after(hek);

    (void)state;
    reset_caches();
    assert_non_null(iss);
    if (hca && not_after(hca) < end)
        end = not_after(hca);
    assert_string_equal(check(&in, g_real.trust, 1, 0), "");
    assert_string_equal(check(&in, g_real.trust, 0, 1), "");
    chaincache_set_now(not_after(iss) + 10);
    assert_string_equal(check(&in, g_real.trust, 1, 0), "");
    assert_string_equal(check(&in, g_real.trust, 0, 1), "vtpm-issuer-expired ");
    assert_string_equal(check(&in, g_real.trust, 2, 1), "vtpm-issuer-expired ");
    chaincache_set_now(end + 1);
    assert_string_equal(check(&in, g_real.trust, 1, 0), "host-ek-untrusted ");
    assert_string_equal(check(&in, g_real.trust, 0, 0), "host-ek-untrusted ");
    assert_string_equal(check(&in, g_real.trust, 2, 0), "host-ek-untrusted ");
    chaincache_set_now(g_real.at);
    assert_string_equal(check(&in, g_real.trust, 1, 0), "");
    chaincache_set_now(g_real.at - 86400 * 366); /* before the chain's notBefore */
    assert_string_equal(check(&in, g_real.trust, 1, 0), "host-ek-untrusted ");
    reset_caches();
    X509_free(hca);
    X509_free(iss);
    X509_free(hek);
}

/* Cached under one trust dir: another trust dir (another CA) refuses; the same anchor from
 * another dir is the same identity. */
static void test_other_trust_dir(void **state)
{
    struct chain_input in = real_input(NULL, NULL, 0);
    X509 *anchor = chain_pem(g_real.ev.host_chain, "host-ek-ca.pem");
    EVP_PKEY *k = EVP_EC_gen("P-256");
    X509 *other = X509_new();
    X509_STORE *st;
    char dir[64];

    (void)state;
    reset_caches();
    if (!anchor)
        anchor = chain_pem(g_real.ev.host_chain, "host-ek.pem");
    X509_set_version(other, X509_VERSION_3);
    X509_NAME_add_entry_by_txt(X509_get_subject_name(other), "CN", MBSTRING_UTF8,
                               (const uint8_t *)"other", -1, -1, 0);
    X509_set_issuer_name(other, X509_get_subject_name(other));
    X509_gmtime_adj(X509_getm_notBefore(other), -3600);
    X509_gmtime_adj(X509_getm_notAfter(other), 3600);
    X509_set_pubkey(other, k);
    assert_true(X509_sign(other, k, EVP_sha256()) > 0);
    assert_string_equal(check(&in, g_real.trust, 1, 0), "");
    st = trust_of(other, dir, sizeof(dir));
    assert_non_null(st);
    assert_string_equal(check(&in, st, 1, 0), "host-ek-untrusted ");
    assert_string_equal(check(&in, st, 0, 0), "host-ek-untrusted ");
    assert_string_equal(check(&in, NULL, 1, 0), "host-ek-untrusted ");
    X509_STORE_free(st);
    st = trust_of(anchor, dir, sizeof(dir));
    assert_false(chain_host_cached(&in, NULL));
    assert_true(chain_host_cached(&in, st)); /* same anchors, same identity */
    assert_string_equal(check(&in, st, 1, 0), "");
    X509_STORE_free(st);
    X509_free(other);
    X509_free(anchor);
    EVP_PKEY_free(k);
}

/* Several threads check at once while another clears the caches: every check passes. */
static void *checker(void *arg)
{
    struct chain_input in = real_input(NULL, NULL, 0);
    long bad = 0;

    for (int i = 0; i < 200; i++) {
        struct reasons r = { 0 };
        if (i % 2)
            chain_check_cached(&in, g_real.trust, &r);
        else
            chain_check(&in, g_real.trust, &r, NULL);
        bad += r.n != 0;
        reasons_free(&r);
        if (arg && i % 10 == 0) {
            hostcache_clear(hostcache_default());
            chaincache_clear();
        }
    }
    return (void *)bad;
}

static void test_threads(void **state)
{
    pthread_t t[4];
    void *bad;

    (void)state;
    reset_caches();
    for (int i = 0; i < 4; i++)
        assert_int_equal(pthread_create(&t[i], NULL, checker, i == 0 ? (void *)1 : NULL), 0);
    for (int i = 0; i < 4; i++) {
        assert_int_equal(pthread_join(t[i], &bad), 0);
        assert_null(bad);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_keys_cover_inputs),
        cmocka_unit_test(test_only_put_hits),
        cmocka_unit_test(test_hostcache_table),
        cmocka_unit_test_setup_teardown(test_real_chain_cached, legacy_setup, real_teardown),
        cmocka_unit_test_setup_teardown(test_leaf_other_key, legacy_setup, real_teardown),
        cmocka_unit_test_setup_teardown(test_other_trust_dir, legacy_setup, real_teardown),
        cmocka_unit_test_setup_teardown(test_real_chain_cached, issuer_setup, real_teardown),
        cmocka_unit_test_setup_teardown(test_leaf_other_key, issuer_setup, real_teardown),
        cmocka_unit_test_setup_teardown(test_cached_file_one_bit, issuer_setup, real_teardown),
        cmocka_unit_test_setup_teardown(test_expired_after_cached, issuer_setup, real_teardown),
        cmocka_unit_test_setup_teardown(test_other_trust_dir, issuer_setup, real_teardown),
        cmocka_unit_test_setup_teardown(test_threads, issuer_setup, real_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
