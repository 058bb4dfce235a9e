/* SPDX-License-Identifier: BSD-3-Clause */
/* Unit tests of image signatures (imagesig.c, sigkeys.c): the policy section's errors, the
 * parsers of untrusted input, and the check wired into evidence (policy_check) and admission
 * (admission_decide), on cosign's own signatures from Debian's containers/image fixtures. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include "fileio.h"
#include "../../verifier/check/imagesig.h"
#include "../../verifier/check/policy.h"
#include "../../verifier/check/sigkeys.h"
#include "../../verifier/sched/admission.h"

#define FX "/usr/share/gocode/src/github.com/containers/image/signature/fixtures"
#define IMG "192.168.64.2:5000/cosign-signed-single-sample"
#define DG "sha256:634a8f35b5f16dcf4aaa0822adc0b1964bb786fca12f6831de8ddc45e5986a00"
#define NOW 1900000000 /* 2030-03-17 */

static char *cosign_pub; /* the fixture's key as PEM text */

static int setup(void **state)
{
    uint8_t *b;
    size_t n;

    (void)state;
    if (file_read_all_flags(AT_FDCWD, FX "/cosign.pub", 0, 4096, &b, &n) < 0) {
        fprintf(stderr, "%s/cosign.pub missing: apt-get install "
                "golang-github-containers-image-dev\n", FX);
        return -1;
    }
    cosign_pub = (char *)b;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    free(cosign_pub);
    return 0;
}

/* A section with the fixture key (validity and revocation as given), one rule and a store. */
static json_t *section(const char *nb, const char *na, int revoked, const char *pattern,
                       const char *store_kind, const char *store)
{
    json_t *s = json_pack("{s:[{s:s, s:s, s:s, s:s, s:b}], s:[{s:s, s:[s]}], s:[{s:s}]}",
                          "keys", "name", "cosign", "public_key", cosign_pub, "not_before", nb,
                          "not_after", na, "revoked", revoked, "rules", "images", pattern,
                          "keys", "cosign", "stores", store_kind, store);
    assert_non_null(s);
    return s;
}

static void judge(json_t *sec, const char *ref, const char *digest, const char *want)
{
    struct imagesig_policy *p = NULL;
    struct reasons r = { 0 };
    char err[256];

    assert_int_equal(imagesig_parse(sec, &p, err, sizeof(err)), 0);
    imagesig_check(p, ref, digest, NOW, &r);
    if (!want) {
        if (r.n)
            fprintf(stderr, "unexpected: %s\n", r.v[0]);
        assert_int_equal(r.n, 0);
    } else {
        assert_int_equal(r.n, 1);
        if (!reasons_has(&r, want))
            fprintf(stderr, "want %s, got %s\n", want, r.v[0]);
        assert_true(reasons_has(&r, want));
    }
    reasons_free(&r);
    imagesig_free(p);
    json_decref(sec);
}

static void test_fixtures(void **state)
{
    (void)state;
    judge(section("2020-01-01T00:00:00Z", "2099-01-01T00:00:00Z", 0, "192.168.64.2:5000/*",
                  "dir", FX "/dir-img-cosign-valid"), IMG ":latest", DG, NULL);
    judge(section("2020-01-01T00:00:00Z", "2099-01-01T00:00:00Z", 0, "192.168.64.2:5000/*",
                  "dir", FX "/dir-img-cosign-mixed"), IMG, DG, NULL);
    judge(section("2020-01-01T00:00:00Z", "2029-01-01T00:00:00Z", 0, "192.168.64.2:5000/*",
                  "dir", FX "/dir-img-cosign-valid"), IMG, DG, "image-signing-key-expired");
    judge(section("2031-01-01T00:00:00Z", "2032-01-01T00:00:00Z", 0, "192.168.64.2:5000/*",
                  "dir", FX "/dir-img-cosign-valid"), IMG, DG, "image-signing-key-expired");
    judge(section("2020-01-01T00:00:00Z", "2099-01-01T00:00:00Z", 1, "192.168.64.2:5000/*",
                  "dir", FX "/dir-img-cosign-valid"), IMG, DG, "image-signing-key-revoked");
    judge(section("2020-01-01T00:00:00Z", "2099-01-01T00:00:00Z", 0, "192.168.64.2:5000/*",
                  "dir", FX "/dir-img-cosign-other-attachment"), IMG, DG, "image-unsigned");
    /* the payload names DG; this manifest hashes to something else */
    judge(section("2020-01-01T00:00:00Z", "2099-01-01T00:00:00Z", 0, "192.168.64.2:5000/*",
                  "dir", FX "/dir-img-cosign-modified-manifest"), IMG,
          "sha256:d9dcafdb480aa7c475e91737b96925e45844213dcb0290b4a90017459121f71f",
          "image-manifest-mismatch");
    /* no rule names the image: nothing required */
    judge(section("2020-01-01T00:00:00Z", "2099-01-01T00:00:00Z", 0, "quay.io/*", "dir",
                  FX "/dir-img-cosign-other-attachment"), IMG, DG, NULL);
    /* a rule names it and nothing was measured */
    judge(section("2020-01-01T00:00:00Z", "2099-01-01T00:00:00Z", 0, "*", "dir",
                  FX "/dir-img-cosign-valid"), "", "", "image-not-measured");
    /* an OCI layout that does not exist holds nothing */
    judge(section("2020-01-01T00:00:00Z", "2099-01-01T00:00:00Z", 0, "*", "oci",
                  "/nonexistent/layout"), IMG, DG, "image-unsigned");
}

static void test_section_errors(void **state)
{
    static const char *const bad[] = {
        "[]",
        "{\"keys\": [], \"rules\": [], \"stores\": [], \"extra\": 1}",
        "{\"rules\": [{\"images\": \"*\", \"keys\": [\"k\"]}], \"stores\": [{\"oci\": \"/x\"}]}",
        "{\"keys\": [{\"name\": \"k\", \"public_key\": \"not pem\", \"not_before\": "
        "\"2020-01-01T00:00:00Z\", \"not_after\": \"2021-01-01T00:00:00Z\"}], \"rules\": "
        "[{\"images\": \"*\", \"keys\": [\"k\"]}], \"stores\": [{\"oci\": \"/x\"}]}",
    };
    struct imagesig_policy *p = (struct imagesig_policy *)1;
    char err[256];
    json_t *j;

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        j = json_loads(bad[i], 0, NULL);
        assert_non_null(j);
        assert_int_equal(imagesig_parse(j, &p, err, sizeof(err)), -EINVAL);
        assert_null(p);
        json_decref(j);
    }
    /* each mistake is named */
    j = section("2020-01-01T00:00:00Z", "2019-01-01T00:00:00Z", 0, "*", "oci", "/x");
    assert_int_equal(imagesig_parse(j, &p, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "key cosign: not_after is before not_before"));
    json_decref(j);
    j = section("2020-01-01", "2021-01-01T00:00:00Z", 0, "*", "oci", "/x");
    assert_int_equal(imagesig_parse(j, &p, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "not_before and not_after"));
    json_decref(j);
    j = section("2020-01-01T00:00:00Z", "2021-01-01T00:00:00Z", 0, "*", "oci", "relative/x");
    assert_int_equal(imagesig_parse(j, &p, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "stores[0]"));
    json_decref(j);
    j = section("2020-01-01T00:00:00Z", "2021-01-01T00:00:00Z", 0, "*", "oci", "/x");
    json_array_append(json_object_get(j, "keys"), json_array_get(json_object_get(j, "keys"), 0));
    assert_int_equal(imagesig_parse(j, &p, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "key cosign is listed twice"));
    json_decref(j);
    j = section("2020-01-01T00:00:00Z", "2021-01-01T00:00:00Z", 0, "*", "oci", "/x");
    json_array_set_new(json_object_get(json_array_get(json_object_get(j, "rules"), 0), "keys"), 0,
                       json_string("other"));
    assert_int_equal(imagesig_parse(j, &p, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "key other is not in image_signatures.keys"));
    json_decref(j);
}

/* Keys of another type or curve are refused by sigkey_pem_public. */
static void test_key_types(void **state)
{
    static const char *const algs[][2] = { { "RSA", NULL }, { "EC", "P-384" } };
    char err[128];
    int ed;

    (void)state;
    for (size_t i = 0; i < 2; i++) {
        EVP_PKEY *k = algs[i][1] ? EVP_PKEY_Q_keygen(NULL, NULL, algs[i][0], algs[i][1])
                                 : EVP_PKEY_Q_keygen(NULL, NULL, algs[i][0], (size_t)2048);
        BIO *b = BIO_new(BIO_s_mem());
        char *pem;
        long n;

        assert_non_null(k);
        assert_int_equal(PEM_write_bio_PUBKEY(b, k), 1);
        n = BIO_get_mem_data(b, &pem);
        assert_null(sigkey_pem_public(pem, (size_t)n, &ed, err, sizeof(err)));
        assert_non_null(strstr(err, "only ECDSA P-256 and Ed25519"));
        BIO_free(b);
        EVP_PKEY_free(k);
    }
    {
        EVP_PKEY *k = sigkey_pem_public(cosign_pub, strlen(cosign_pub), &ed, err, sizeof(err));
        assert_non_null(k);
        assert_int_equal(ed, 0);
        EVP_PKEY_free(k);
    }
}

static void test_repository(void **state)
{
    static const char *const cases[][2] = {
        { "a.example:5000/x/y:tag", "a.example:5000/x/y" },
        { "a.example:5000/x/y", "a.example:5000/x/y" },
        { "a.example:5000/x/y@sha256:00", "a.example:5000/x/y" },
        { "a.example:5000/x/y:t@sha256:00", "a.example:5000/x/y" },
        { "busybox:1.36", "busybox" },
        { "", "" },
    };
    char out[128];

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        assert_int_equal(imagesig_repository(cases[i][0], out, sizeof(out)), 0);
        assert_string_equal(out, cases[i][1]);
    }
    assert_int_equal(imagesig_repository("abcdefgh", out, 4), -1);
}

static void test_payload(void **state)
{
    static const char good[] = "{\"critical\":{\"identity\":{\"docker-reference\":\"r/x\"},"
        "\"image\":{\"docker-manifest-digest\":\"" DG "\"},\"type\":\"cosign container image "
        "signature\"},\"optional\":null}";
    static const char *const bad[] = {
        "{\"critical\":{\"identity\":{\"docker-reference\":\"r/x\"},\"image\":{"
        "\"docker-manifest-digest\":\"" DG "\"},\"type\":\"atomic container signature\"}}",
        "{\"critical\":{\"identity\":{\"docker-reference\":\"r/x\"},\"image\":{},"
        "\"type\":\"cosign container image signature\"}}",
        "{\"critical\":{\"identity\":{\"docker-reference\":\"r/x\"},\"image\":{"
        "\"docker-manifest-digest\":\"sha512:00\"},\"type\":\"cosign container image signature\"}}",
        "{\"critical\":{\"image\":{\"docker-manifest-digest\":\"" DG "\"},"
        "\"type\":\"cosign container image signature\"}}",
        "{\"critical\":{\"type\":\"x\"},\"critical\":{\"identity\":{\"docker-reference\":\"r/x\"},"
        "\"image\":{\"docker-manifest-digest\":\"" DG "\"},\"type\":\"cosign container image "
        "signature\"}}",
        "[1]", "",
    };
    char dg[72], ref[64];

    (void)state;
    assert_int_equal(imagesig_parse_payload((const uint8_t *)good, strlen(good), dg, ref,
                                            sizeof(ref)), 0);
    assert_string_equal(dg, DG);
    assert_string_equal(ref, "r/x");
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(imagesig_parse_payload((const uint8_t *)bad[i], strlen(bad[i]), dg, ref,
                                                sizeof(ref)), -EINVAL);
}

static void test_dirsig(void **state)
{
    struct imagesig_blob b;
    uint8_t *buf;
    size_t n;
    static const char other[] = "\0sigstore-json\n{\"mimeType\":\"text/plain\",\"payload\":\"\"}";
    static const char badb64[] = "\0sigstore-json\n{\"mimeType\":\"application/vnd.dev.cosign."
        "simplesigning.v1+json\",\"payload\":\"e30=\",\"annotations\":{\"dev.cosignproject."
        "cosign/signature\":\"MEY CIQ==\"}}";
    static const char trunc[] = "\0sigstore-json\n{\"mimeType\":\"application/vnd.dev.cosign.";

    (void)state;
    assert_int_equal(file_read_all_flags(AT_FDCWD, FX "/dir-img-cosign-valid/signature-1", 0,
                                         65536, &buf, &n), 0);
    assert_int_equal(imagesig_parse_dirsig(buf, n, &b), 1);
    assert_true(b.payload_len > 100 && b.sig_len >= 70 && b.sig_len <= 72); /* DER ECDSA */
    imagesig_blob_free(&b);
    assert_int_equal(imagesig_parse_dirsig(buf + 1, n - 1, &b), 0); /* no prefix: not ours */
    free(buf);
    assert_int_equal(imagesig_parse_dirsig((const uint8_t *)other, sizeof(other) - 1, &b), 0);
    assert_int_equal(imagesig_parse_dirsig((const uint8_t *)badb64, sizeof(badb64) - 1, &b),
                     -EINVAL);
    assert_int_equal(imagesig_parse_dirsig((const uint8_t *)trunc, sizeof(trunc) - 1, &b),
                     -EINVAL);
}

static void test_b64_and_time(void **state)
{
    uint8_t *o;
    size_t n;
    int64_t t;
    char s[32];

    (void)state;
    assert_int_equal(sig_b64_decode("aGk=", 16, &o, &n), 0);
    assert_int_equal(n, 2);
    assert_memory_equal(o, "hi", 2);
    free(o);
    assert_int_equal(sig_b64_decode("aGk", 16, &o, &n), -EINVAL);
    assert_int_equal(sig_b64_decode("a=k=", 16, &o, &n), -EINVAL);
    assert_int_equal(sig_b64_decode("aGVsbG8gd29ybGQ=", 4, &o, &n), -EINVAL);
    assert_int_equal(sig_time_parse("2030-03-17T17:46:40Z", &t), 0);
    assert_int_equal(t, NOW);
    sig_time_format(t, s, sizeof(s));
    assert_string_equal(s, "2030-03-17T17:46:40Z");
    assert_int_equal(sig_time_parse("2030-03-17T17:46:40+01:00", &t), -EINVAL);
    assert_int_equal(sig_time_parse("2030-03-17 17:46:40Z", &t), -EINVAL);
}

/* A policy (JSON text) with the fixture key valid for ever and the valid fixture as store. */
static void load_policy(struct policy *pol, const char *pattern)
{
    json_t *root = json_pack("{s:i, s:{s:n, s:n, s:n, s:n}, s:{}, s:o}", "version", 2,
                             "digests", "image", "rootfs", "runtime", "agent", "launch",
                             "image_signatures",
                             section("2020-01-01T00:00:00Z", "2999-01-01T00:00:00Z", 0, pattern,
                                     "dir", FX "/dir-img-cosign-valid"));
    char *text = json_dumps(root, 0), err[256];

    assert_non_null(text);
    if (policy_parse(text, strlen(text), pol, err, sizeof(err)) < 0)
        fail_msg("policy: %s", err);
    assert_non_null(pol->sig);
    free(text);
    json_decref(root);
}

/* Evidence time: the image record's ref and digest reach the check (policy_check). */
static void test_policy_check(void **state)
{
    struct policy pol = { 0 };
    struct measurements m;
    struct reasons r = { 0 };

    (void)state;
    load_policy(&pol, "192.168.64.2:5000/*");
    memset(&m, 0, sizeof(m));
    m.has_image = 1;
    snprintf(m.image_ref, sizeof(m.image_ref), "%s", IMG ":latest");
    snprintf(m.image_digest, sizeof(m.image_digest), "%s", DG);
    policy_check(&pol, &m, &r);
    assert_false(reasons_has(&r, "image-unsigned") || reasons_has(&r, "image-signature-invalid") ||
                 reasons_has(&r, "image-manifest-mismatch"));
    assert_true(reasons_has(&r, "launch-config-missing")); /* the rest still runs */
    reasons_free(&r);
    m.image_digest[7] = m.image_digest[7] == '6' ? '7' : '6'; /* another image */
    policy_check(&pol, &m, &r);
    assert_true(reasons_has(&r, "image-unsigned"));
    reasons_free(&r);
    m.has_image = 0; /* no image record */
    policy_check(&pol, &m, &r);
    assert_true(reasons_has(&r, "image-not-measured"));
    reasons_free(&r);
    policy_free(&pol);
}

static int no_lookup(void *arg, const char *node, json_t **out)
{
    (void)arg;
    (void)node;
    (void)out;
    return -ENOENT;
}

static void admit(const struct policy *pol, const char *image, int allowed, const char *msg)
{
    struct admission_cfg cfg = { .pol = pol, .lookup = no_lookup };
    struct admission_req rq;
    struct admission_result res;
    char *b = NULL, err[160];

    assert_true(asprintf(&b,
        "{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\",\"request\":{"
        "\"uid\":\"u\",\"kind\":{\"group\":\"\",\"version\":\"v1\",\"kind\":\"Pod\"},"
        "\"resource\":{\"group\":\"\",\"version\":\"v1\",\"resource\":\"pods\"},"
        "\"operation\":\"CREATE\",\"namespace\":\"default\",\"name\":\"web\",\"object\":"
        "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"web\"},\"spec\":"
        "{\"containers\":[{\"name\":\"app\",\"image\":\"%s\",\"securityContext\":"
        "{\"runAsNonRoot\":true,\"allowPrivilegeEscalation\":false,"
        "\"seccompProfile\":{\"type\":\"RuntimeDefault\"},"
        "\"capabilities\":{\"drop\":[\"ALL\"]}}}]}},"
        "\"userInfo\":{\"username\":\"u\"},\"dryRun\":false}}", image) > 0);
    assert_int_equal(admission_parse((const uint8_t *)b, strlen(b), &rq, err, sizeof(err)), 0);
    admission_decide(&cfg, &rq, NOW, &res);
    if (res.allowed != allowed || (msg && !strstr(res.msg, msg)))
        fprintf(stderr, "%s: allowed %d, %s\n", image, res.allowed, res.msg);
    assert_int_equal(res.allowed, allowed);
    if (msg)
        assert_non_null(strstr(res.msg, msg));
    admission_req_free(&rq);
    free(b);
}

/* Admission: the pod's pinned digest is judged before anything runs. */
static void test_admission(void **state)
{
    struct policy pol = { 0 };

    (void)state;
    load_policy(&pol, "192.168.64.2:5000/*");
    admit(&pol, IMG "@" DG, 1, NULL);
    admit(&pol, IMG ":v1@" DG, 1, NULL);
    admit(&pol, IMG ":latest", 0, "image-not-measured");
    admit(&pol, IMG "@sha256:0000000000000000000000000000000000000000000000000000000000000000",
          0, "image-unsigned");
    admit(&pol, "quay.io/other:1", 1, NULL); /* no rule names it; the allow-list is null */
    policy_free(&pol);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fixtures),
        cmocka_unit_test(test_section_errors),
        cmocka_unit_test(test_key_types),
        cmocka_unit_test(test_repository),
        cmocka_unit_test(test_payload),
        cmocka_unit_test(test_dirsig),
        cmocka_unit_test(test_b64_and_time),
        cmocka_unit_test(test_policy_check),
        cmocka_unit_test(test_admission),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
