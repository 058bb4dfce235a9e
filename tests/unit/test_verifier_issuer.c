/* SPDX-License-Identifier: BSD-3-Clause */
/* Unit tests of the EK chain through a short-lived vTPM issuer (verifier/check/chain.c): checked at
 * the EK certificate's notBefore, the issuer valid now at registration, nothing but a
 * pathlen-0 CA under vtpm-ca.pem accepted as the issuer; the host-cached check (one signature
 * per EK certificate) gives the same reasons as the old one (chain_check_full). Certificates made with OpenSSL in
 * memory; the host part of the chain is absent (its reasons are not looked at here). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "../../verifier/check/chain.h"
#include "ctlproto.h"

#define UUID "12345678-9abc-4def-8123-456789abcdef"

struct cert {
    EVP_PKEY *key;
    X509 *x;
};

static void add_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509_EXTENSION *e;

    X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
    e = X509V3_EXT_nconf_nid(NULL, &ctx, nid, value);
    assert_non_null(e);
    assert_int_equal(X509_add_ext(x, e, -1), 1);
    X509_EXTENSION_free(e);
}

/* A certificate for a new P-256 key, valid from now + nb to now + na (seconds), signed by
 * issuer (self-signed when NULL). ca: "critical,CA:TRUE,..." or NULL for an EK. */
static struct cert make(const char *cn, struct cert *issuer, long nb, long na, const char *ca)
{
    struct cert c = { EVP_EC_gen("P-256"), X509_new() };
    X509_NAME *name = X509_NAME_new();
    time_t now = time(NULL);

    assert_non_null(c.key);
    X509_set_version(c.x, X509_VERSION_3);
    ASN1_INTEGER_set(X509_get_serialNumber(c.x), (long)(now & 0xffff) + nb);
    X509_time_adj_ex(X509_getm_notBefore(c.x), 0, nb, &now);
    X509_time_adj_ex(X509_getm_notAfter(c.x), 0, na, &now);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const uint8_t *)cn, -1, -1, 0);
    X509_set_subject_name(c.x, name);
    X509_set_issuer_name(c.x, issuer ? X509_get_subject_name(issuer->x) : name);
    X509_set_pubkey(c.x, c.key);
    if (ca) {
        add_ext(c.x, issuer ? issuer->x : c.x, NID_basic_constraints, ca);
        add_ext(c.x, issuer ? issuer->x : c.x, NID_key_usage, "critical,keyCertSign");
    } else {
        add_ext(c.x, issuer->x, NID_subject_alt_name, "critical,URI:urn:uuid:" UUID);
        add_ext(c.x, issuer->x, NID_basic_constraints, "critical,CA:FALSE");
    }
    assert_true(X509_sign(c.x, issuer ? issuer->key : c.key, EVP_sha256()) > 0);
    X509_NAME_free(name);
    return c;
}

static void drop(struct cert *c)
{
    EVP_PKEY_free(c->key);
    X509_free(c->x);
}

static void put_pem(cbor_item_t *m, const char *file, X509 *a, X509 *b)
{
    BIO *bio = BIO_new(BIO_s_mem());
    char *p;
    long n;

    assert_int_equal(PEM_write_bio_X509(bio, a), 1);
    if (b)
        assert_int_equal(PEM_write_bio_X509(bio, b), 1);
    n = BIO_get_mem_data(bio, &p);
    assert_int_equal(ctl_put_bytes(m, file, (const uint8_t *)p, (size_t)n), 0);
    BIO_free(bio);
}

/* Runs chain_check on ek with vtpm-ca.pem = ca and vtpm-issuer.pem = iss (+ iss2; none when
 * iss is NULL); 1 when reason is among the reasons. */
static int has_reason(struct cert *ek, struct cert *ca, struct cert *iss, struct cert *iss2,
                      int registering, const char *reason)
{
    cbor_item_t *hc = ctl_map_new();
    unsigned char *der = NULL;
    int len = i2d_X509(ek->x, &der), found;
    struct chain_input in = { .ek_cert = { der, (size_t)len }, .host_chain = hc,
                              .vtpm_uuid = UUID, .registering = registering };
    struct reasons r = { 0 }, old = { 0 };

    put_pem(hc, "vtpm-ca.pem", ca->x, NULL);
    if (iss)
        put_pem(hc, "vtpm-issuer.pem", iss->x, iss2 ? iss2->x : NULL);
    chain_check(&in, NULL, &r, NULL);
    assert_false(reasons_has(&r, "ek-cert-malformed"));
    assert_false(reasons_has(&r, "ek-cert-uuid-mismatch"));
    found = reasons_has(&r, reason);
    /* the host-cached check and the old one (X509_verify_cert per link) agree */
    chain_check_full(&in, NULL, &old, NULL);
    assert_int_equal(r.n, old.n);
    for (size_t i = 0; i < r.n; i++)
        assert_string_equal(r.v[i], old.v[i]);
    reasons_free(&old);
    reasons_free(&r);
    OPENSSL_free(der);
    cbor_decref(&hc);
    return found;
}

#define ISSUER_CA "critical,CA:TRUE,pathlen:0"

/* A vTPM made while its issuer was valid still chains after the issuer expired; registering
 * it then is refused (vtpm-issuer-expired); a fresh issuer registers. */
static void test_checked_at_not_before(void **state)
{
    struct cert ca = make("vtpm-ca", NULL, -100000, 100000, "critical,CA:TRUE");
    struct cert old = make("issuer-old", &ca, -5000, -1000, ISSUER_CA);
    struct cert ek = make("", &old, -3000, 1000000, NULL);
    struct cert cur = make("issuer-cur", &ca, -300, 86400, ISSUER_CA);
    struct cert ek2 = make("", &cur, -10, 1000000, NULL);

    (void)state;
    assert_false(has_reason(&ek, &ca, &old, NULL, 0, "ek-cert-not-from-vtpm-ca"));
    assert_false(has_reason(&ek, &ca, &old, NULL, 0, "vtpm-issuer-expired"));
    assert_true(has_reason(&ek, &ca, &old, NULL, 1, "vtpm-issuer-expired"));
    assert_false(has_reason(&ek2, &ca, &cur, NULL, 1, "ek-cert-not-from-vtpm-ca"));
    assert_false(has_reason(&ek2, &ca, &cur, NULL, 1, "vtpm-issuer-expired"));
    /* several issuers offered: each EK certificate finds its own */
    assert_false(has_reason(&ek, &ca, &cur, &old, 0, "ek-cert-not-from-vtpm-ca"));
    assert_false(has_reason(&ek2, &ca, &old, &cur, 0, "ek-cert-not-from-vtpm-ca"));
    assert_true(has_reason(&ek, &ca, &cur, NULL, 0, "ek-cert-not-from-vtpm-ca"));
    drop(&ek2);
    drop(&cur);
    drop(&ek);
    drop(&old);
    drop(&ca);
}

/* A stolen expired issuer key: an EK certificate dated after the issuer's notAfter does not
 * chain, and one backdated into its validity does not register. */
static void test_stolen_expired_issuer(void **state)
{
    struct cert ca = make("vtpm-ca", NULL, -100000, 100000, "critical,CA:TRUE");
    struct cert old = make("issuer-old", &ca, -5000, -1000, ISSUER_CA);
    struct cert late = make("", &old, -10, 1000000, NULL);
    struct cert backdated = make("", &old, -2000, 1000000, NULL);

    (void)state;
    assert_true(has_reason(&late, &ca, &old, NULL, 0, "ek-cert-not-from-vtpm-ca"));
    assert_true(has_reason(&backdated, &ca, &old, NULL, 1, "vtpm-issuer-expired"));
    drop(&backdated);
    drop(&late);
    drop(&old);
    drop(&ca);
}

/* Only a CA of path length 0 under vtpm-ca.pem is an issuer; no issuer at all fails unless
 * vtpm-ca.pem signed the EK certificate itself (vTPMs made before issuers existed). */
static void test_issuer_shape(void **state)
{
    struct cert ca = make("vtpm-ca", NULL, -100000, 100000, "critical,CA:TRUE");
    struct cert foreign = make("issuer", NULL, -300, 86400, ISSUER_CA);
    struct cert fek = make("", &foreign, -10, 1000000, NULL);
    struct cert mid = make("mid", &ca, -300, 86400, ISSUER_CA);
    struct cert deep = make("deep", &mid, -200, 86400, "critical,CA:TRUE,pathlen:0");
    struct cert dek = make("", &deep, -10, 1000000, NULL);
    struct cert good = make("issuer-ok", &ca, -300, 86400, ISSUER_CA);
    struct cert ek = make("", &good, -10, 1000000, NULL);
    struct cert legacy = make("", &ca, -10, 1000000, NULL);

    (void)state;
    assert_true(has_reason(&fek, &ca, &foreign, NULL, 0, "ek-cert-not-from-vtpm-ca"));
    assert_true(has_reason(&fek, &ca, &foreign, &good, 0, "ek-cert-not-from-vtpm-ca"));
    assert_true(has_reason(&dek, &ca, &deep, &mid, 0, "ek-cert-not-from-vtpm-ca"));
    assert_true(has_reason(&ek, &ca, NULL, NULL, 0, "ek-cert-not-from-vtpm-ca"));
    assert_false(has_reason(&ek, &ca, &good, NULL, 0, "ek-cert-not-from-vtpm-ca"));
    assert_false(has_reason(&legacy, &ca, NULL, NULL, 1, "ek-cert-not-from-vtpm-ca"));
    assert_false(has_reason(&legacy, &ca, NULL, NULL, 1, "vtpm-issuer-expired"));
    drop(&legacy);
    drop(&ek);
    drop(&good);
    drop(&dek);
    drop(&deep);
    drop(&mid);
    drop(&fek);
    drop(&foreign);
    drop(&ca);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_checked_at_not_before),
        cmocka_unit_test(test_stolen_expired_issuer),
        cmocka_unit_test(test_issuer_shape),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
