/* SPDX-License-Identifier: BSD-3-Clause */
/* Tests of the host-TPM layer against a private swtpm host TPM (swtpm-ci/host-tpm-start.sh). */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/sha.h>
#include <openssl/x509v3.h>
#include <tss2/tss2_esys.h>
#include <tss2/tss2_mu.h>
#include <tss2/tss2_tctildr.h>

#include "../../vtpm-mgr/daemon/hosttpm.h"
#include "../../vtpm-mgr/daemon/issuer.h"

#define EK_ATTRS (TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT | \
                  TPMA_OBJECT_SENSITIVEDATAORIGIN | TPMA_OBJECT_ADMINWITHPOLICY | \
                  TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_DECRYPT)
#define SEAL_PCR 16 /* the debug PCR: resettable from locality 0 */

static const uint8_t test_uuid[16] = { 0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0x4d, 0xef,
                                       0x81, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef };
static const char *const host_files[] = {
    "host-ek.pem", "host-ek-ca.pem", "host-ek.pub", "host-ak.pub", "host-ak.pub.pem",
    "vtpm-ca.pub", "vtpm-ca.pem", "vtpm-ca.certify.attest", "vtpm-ca.certify.sig",
};
#define N_HOST_FILES (sizeof(host_files) / sizeof(host_files[0]))

struct env {
    char dir[64];       /* swtpm state, sockets, CA */
    char hostdir[96];   /* the daemon's host directory */
    char tcti[256];
    char ekca[128];
    struct hosttpm_config cfg;
    struct hosttpm *h;
    struct issuer *is;  /* opened by the first test that issues an EK certificate */
    int hostfd;
};

static const uint8_t test_master[HOSTTPM_STATE_KEY_LEN] = { 0x5a, 0x01, 0x02, 0x03 };

/* ---- helpers -------------------------------------------------------------------------- */

static int run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int run(const char *fmt, ...)
{
    char cmd[1024];
    va_list ap;
    int st;

    va_start(ap, fmt);
    vsnprintf(cmd, sizeof(cmd), fmt, ap);
    va_end(ap);
    st = system(cmd);
    return st == -1 ? -1 : WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

static uint8_t *slurp(const char *dir, const char *name, size_t *len)
{
    char path[256];
    FILE *f;
    uint8_t *buf;
    long n;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    rewind(f);
    buf = malloc((size_t)n + 1);
    if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    if (buf) {
        buf[n] = 0;
        *len = (size_t)n;
    }
    return buf;
}

static void spit(const char *dir, const char *name, const void *data, size_t len)
{
    char path[256];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

static X509 *load_cert(const char *dir, const char *name)
{
    size_t len = 0;
    uint8_t *pem = slurp(dir, name, &len);
    BIO *b;
    X509 *x;

    assert_non_null(pem);
    b = BIO_new_mem_buf(pem, (int)len);
    x = PEM_read_bio_X509(b, NULL, NULL, NULL);
    BIO_free(b);
    free(pem);
    assert_non_null(x);
    return x;
}

static void load_pub(const char *dir, const char *name, TPM2B_PUBLIC *pub)
{
    size_t len = 0, off = 0;
    uint8_t *buf = slurp(dir, name, &len);

    assert_non_null(buf);
    memset(pub, 0, sizeof(*pub));
    assert_int_equal(Tss2_MU_TPM2B_PUBLIC_Unmarshal(buf, len, &off, pub), TSS2_RC_SUCCESS);
    assert_int_equal(off, len);
    free(buf);
}

/* TPM object name: nameAlg (SHA-256) || SHA-256(marshalled TPMT_PUBLIC). */
static void tpm_name(const TPM2B_PUBLIC *pub, TPM2B_NAME *name)
{
    uint8_t buf[sizeof(TPMT_PUBLIC)];
    size_t off = 0;

    assert_int_equal(Tss2_MU_TPMT_PUBLIC_Marshal(&pub->publicArea, buf, sizeof(buf), &off), 0);
    name->size = 2 + SHA256_DIGEST_LENGTH;
    name->name[0] = 0x00;
    name->name[1] = 0x0b;
    SHA256(buf, off, name->name + 2);
}

/* The test's own TPM-public-to-OpenSSL conversion, independent of the code under test. */
static EVP_PKEY *p256_pkey(const TPM2B_PUBLIC *pub)
{
    uint8_t pt[65] = { 0x04 };
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    OSSL_PARAM *params;
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
    EVP_PKEY *pkey = NULL;

    assert_int_equal(pub->publicArea.type, TPM2_ALG_ECC);
    assert_int_equal(pub->publicArea.unique.ecc.x.size, 32);
    assert_int_equal(pub->publicArea.unique.ecc.y.size, 32);
    memcpy(pt + 1, pub->publicArea.unique.ecc.x.buffer, 32);
    memcpy(pt + 33, pub->publicArea.unique.ecc.y.buffer, 32);
    OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0);
    OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pt, sizeof(pt));
    params = OSSL_PARAM_BLD_to_param(bld);
    assert_int_equal(EVP_PKEY_fromdata_init(ctx), 1);
    assert_int_equal(EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params), 1);
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    EVP_PKEY_CTX_free(ctx);
    return pkey;
}

static void marshal_pub(const TPM2B_PUBLIC *pub, uint8_t *buf, size_t *len)
{
    *len = 0;
    assert_int_equal(Tss2_MU_TPM2B_PUBLIC_Marshal(pub, buf, sizeof(TPM2B_PUBLIC), len), 0);
}

static void bn_into(const EVP_PKEY *pkey, const char *param, uint8_t *buf, size_t len)
{
    BIGNUM *bn = NULL;

    assert_int_equal(EVP_PKEY_get_bn_param(pkey, param, &bn), 1);
    assert_int_equal(BN_bn2binpad(bn, buf, (int)len), (int)len);
    BN_free(bn);
}

/* A vTPM-like EK public made from an OpenSSL key (RSA 2048 or ECC P-256). */
static void ek_public(EVP_PKEY *pkey, TPM2B_PUBLIC *pub)
{
    TPMT_PUBLIC *p = &pub->publicArea;

    memset(pub, 0, sizeof(*pub));
    p->nameAlg = TPM2_ALG_SHA256;
    p->objectAttributes = EK_ATTRS;
    if (EVP_PKEY_get_base_id(pkey) == EVP_PKEY_RSA) {
        p->type = TPM2_ALG_RSA;
        p->parameters.rsaDetail.keyBits = 2048;
        p->parameters.rsaDetail.symmetric = (TPMT_SYM_DEF_OBJECT){
            .algorithm = TPM2_ALG_AES, .keyBits = { .aes = 128 }, .mode = { .aes = TPM2_ALG_CFB } };
        p->parameters.rsaDetail.scheme.scheme = TPM2_ALG_NULL;
        p->unique.rsa.size = 256;
        bn_into(pkey, OSSL_PKEY_PARAM_RSA_N, p->unique.rsa.buffer, 256);
    } else {
        p->type = TPM2_ALG_ECC;
        p->parameters.eccDetail.symmetric = (TPMT_SYM_DEF_OBJECT){
            .algorithm = TPM2_ALG_AES, .keyBits = { .aes = 128 }, .mode = { .aes = TPM2_ALG_CFB } };
        p->parameters.eccDetail.scheme.scheme = TPM2_ALG_NULL;
        p->parameters.eccDetail.kdf.scheme = TPM2_ALG_NULL;
        p->parameters.eccDetail.curveID = TPM2_ECC_NIST_P256;
        p->unique.ecc.x.size = p->unique.ecc.y.size = 32;
        bn_into(pkey, OSSL_PKEY_PARAM_EC_PUB_X, p->unique.ecc.x.buffer, 32);
        bn_into(pkey, OSSL_PKEY_PARAM_EC_PUB_Y, p->unique.ecc.y.buffer, 32);
    }
}

static int verify_with(X509 *leaf, X509 *ca1, X509 *ca2)
{
    X509_STORE *store = X509_STORE_new();
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    int ok;

    X509_STORE_add_cert(store, ca1);
    if (ca2)
        X509_STORE_add_cert(store, ca2);
    X509_STORE_CTX_init(ctx, store, leaf, NULL);
    ok = X509_verify_cert(ctx);
    X509_STORE_CTX_free(ctx);
    X509_STORE_free(store);
    return ok;
}

/* leaf -> issuer (untrusted intermediate) -> ca (the only trust anchor), as a verifier does. */
static int verify_chain(X509 *leaf, X509 *issuer, X509 *ca)
{
    X509_STORE *store = X509_STORE_new();
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    STACK_OF(X509) *untrusted = sk_X509_new_null();
    int ok;

    X509_STORE_add_cert(store, ca);
    sk_X509_push(untrusted, issuer);
    X509_STORE_CTX_init(ctx, store, leaf, untrusted);
    ok = X509_verify_cert(ctx);
    X509_STORE_CTX_free(ctx);
    X509_STORE_free(store);
    sk_X509_free(untrusted);
    return ok;
}

/* The issuer of the EK certificates (issuer.h), opened once the host is provisioned. */
static struct issuer *env_issuer(struct env *e)
{
    if (!e->is) {
        assert_int_equal(hosttpm_provision(e->h, e->hostfd), 0);
        assert_int_equal(issuer_open(e->h, e->hostfd, test_master, ISSUER_MIN_LIFETIME, &e->is),
                         0);
    }
    return e->is;
}

static ESYS_CONTEXT *test_esys(struct env *e, TSS2_TCTI_CONTEXT **tcti)
{
    ESYS_CONTEXT *esys = NULL;

    assert_int_equal(Tss2_TctiLdr_Initialize(e->tcti, tcti), TSS2_RC_SUCCESS);
    assert_int_equal(Esys_Initialize(&esys, *tcti, NULL), TSS2_RC_SUCCESS);
    return esys;
}

static void test_esys_done(ESYS_CONTEXT *esys, TSS2_TCTI_CONTEXT *tcti)
{
    Esys_Finalize(&esys);
    Tss2_TctiLdr_Finalize(&tcti);
}

/* ---- group setup: one swtpm host TPM for the whole program ------------------------------ */

static const char *vtpm_root(void)
{
    const char *root = getenv("VTPM_ROOT");

    return root && *root ? root : ".";
}

static int start_host_tpm(struct env *e)
{
    size_t len = 0;
    uint8_t *tcti;

    if (run("sh %s/swtpm-ci/host-tpm-start.sh %s >/dev/null", vtpm_root(), e->dir))
        return -1;
    tcti = slurp(e->dir, "tcti", &len);
    if (!tcti || len >= sizeof(e->tcti)) {
        free(tcti);
        return -1;
    }
    memcpy(e->tcti, tcti, len);
    e->tcti[strcspn(e->tcti, "\n")] = 0;
    free(tcti);
    snprintf(e->hostdir, sizeof(e->hostdir), "%s/host", e->dir);
    snprintf(e->ekca, sizeof(e->ekca), "%s/ek-ca.pem", e->dir);
    if (mkdir(e->hostdir, 0700) < 0)
        return -1;
    e->hostfd = open(e->hostdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    hosttpm_config_defaults(&e->cfg);
    e->cfg.tcti = e->tcti;
    e->cfg.host_ek_ca_file = e->ekca;
    if (e->hostfd < 0 || hosttpm_parse_pcrs("sha256:16", &e->cfg.seal_pcrs) < 0)
        return -1;
    return hosttpm_open(&e->cfg, &e->h);
}

static int group_teardown(void **state)
{
    struct env *e = *state;

    if (!e)
        return 0;
    issuer_close(e->is);
    hosttpm_close(e->h);
    if (e->hostfd >= 0)
        close(e->hostfd);
    if (e->dir[0]) {
        run("sh %s/swtpm-ci/host-tpm-stop.sh %s", vtpm_root(), e->dir);
        run("rm -rf %s", e->dir);
    }
    free(e);
    *state = NULL;
    return 0;
}

static int group_setup(void **state)
{
    struct env *e = calloc(1, sizeof(*e));

    if (!e)
        return -1;
    *state = e;
    e->hostfd = -1;
    strcpy(e->dir, "/tmp/vtpm-hosttpm.XXXXXX");
    if (!mkdtemp(e->dir))
        e->dir[0] = 0;
    if (!e->dir[0] || start_host_tpm(e) < 0) {
        /* cmocka then fails every test: a missing swtpm is a failure, never a skip */
        fprintf(stderr, "FATAL: cannot start the swtpm host TPM in %s (VTPM_ROOT=%s)\n",
                e->dir, vtpm_root());
        group_teardown(state);
        return -1;
    }
    return 0;
}

/* ---- tests ------------------------------------------------------------------------------ */

static void test_parse_pcrs(void **state)
{
    TPML_PCR_SELECTION s;

    (void)state;
    assert_int_equal(hosttpm_parse_pcrs("sha256:0,1,7", &s), 0);
    assert_int_equal(s.count, 1);
    assert_int_equal(s.pcrSelections[0].hash, TPM2_ALG_SHA256);
    assert_int_equal(s.pcrSelections[0].sizeofSelect, 3);
    assert_int_equal(s.pcrSelections[0].pcrSelect[0], 0x83);
    assert_int_equal(hosttpm_parse_pcrs("sha1:23+sha256:16", &s), 0);
    assert_int_equal(s.count, 2);
    assert_int_equal(s.pcrSelections[0].pcrSelect[2], 0x80);
    assert_int_equal(s.pcrSelections[1].pcrSelect[2], 0x01);
    assert_int_equal(hosttpm_parse_pcrs("", &s), 0);
    assert_int_equal(s.count, 0);
    assert_int_equal(hosttpm_parse_pcrs("none", &s), 0);
    assert_int_equal(s.count, 0);
    static const char *const bad[] = { "sha256", "sha256:", "sha256:24", "sha256:1,", "md5:1",
                                       "sha256:1,,2", "sha256:-1", "sha256:1+", "sha256:007",
                                       "sha256:1+sha256:2", "sha256:1 ", ":1", NULL };
    for (int i = 0; bad[i]; i++) {
        assert_int_equal(hosttpm_parse_pcrs(bad[i], &s), -EINVAL);
        assert_int_equal(s.count, 0);
    }
    assert_int_equal(hosttpm_parse_pcrs(NULL, &s), -EINVAL);
}

static void snapshot(const char *dir, uint8_t **data, size_t *len)
{
    for (size_t i = 0; i < N_HOST_FILES; i++) {
        data[i] = slurp(dir, host_files[i], &len[i]);
        if (!data[i])
            fail_msg("missing %s after provisioning", host_files[i]);
    }
}

static void test_provision_idempotent(void **state)
{
    struct env *e = *state;
    uint8_t *a[N_HOST_FILES], *b[N_HOST_FILES];
    size_t al[N_HOST_FILES], bl[N_HOST_FILES];

    assert_int_equal(hosttpm_provision(e->h, e->hostfd), 0);
    snapshot(e->hostdir, a, al);
    assert_int_equal(hosttpm_provision(e->h, e->hostfd), 0);
    /* and from a fresh context, as after a daemon restart */
    hosttpm_close(e->h);
    assert_int_equal(hosttpm_open(&e->cfg, &e->h), 0);
    assert_int_equal(hosttpm_provision(e->h, e->hostfd), 0);
    snapshot(e->hostdir, b, bl);
    for (size_t i = 0; i < N_HOST_FILES; i++) {
        assert_int_equal(al[i], bl[i]);
        assert_memory_equal(a[i], b[i], al[i]);
        free(a[i]);
        free(b[i]);
    }
}

static void check_handle(ESYS_CONTEXT *esys, uint32_t handle, const TPM2B_PUBLIC *want)
{
    TPM2B_PUBLIC *got = NULL;
    ESYS_TR tr = ESYS_TR_NONE;
    uint8_t a[sizeof(TPM2B_PUBLIC)], b[sizeof(TPM2B_PUBLIC)];
    size_t al, bl;

    assert_int_equal(Esys_TR_FromTPMPublic(esys, handle, ESYS_TR_NONE, ESYS_TR_NONE,
                                           ESYS_TR_NONE, &tr), TSS2_RC_SUCCESS);
    assert_int_equal(Esys_ReadPublic(esys, tr, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &got,
                                     NULL, NULL), TSS2_RC_SUCCESS);
    marshal_pub(got, a, &al);
    marshal_pub(want, b, &bl);
    assert_int_equal(al, bl);
    assert_memory_equal(a, b, al);
    Esys_Free(got);
    Esys_TR_Close(esys, &tr);
}

static void test_keys_at_handles(void **state)
{
    const TPMA_OBJECT base = TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT |
                             TPMA_OBJECT_SENSITIVEDATAORIGIN | TPMA_OBJECT_USERWITHAUTH |
                             TPMA_OBJECT_SIGN_ENCRYPT;
    struct env *e = *state;
    TSS2_TCTI_CONTEXT *tcti = NULL;
    ESYS_CONTEXT *esys = test_esys(e, &tcti);
    TPM2B_PUBLIC ak, ca;

    load_pub(e->hostdir, "host-ak.pub", &ak);
    load_pub(e->hostdir, "vtpm-ca.pub", &ca);
    assert_int_equal(ak.publicArea.objectAttributes, base | TPMA_OBJECT_RESTRICTED);
    assert_int_equal(ca.publicArea.objectAttributes, base);
    assert_int_equal(ca.publicArea.parameters.eccDetail.curveID, TPM2_ECC_NIST_P256);
    check_handle(esys, HOSTTPM_DEFAULT_AK_HANDLE, &ak);
    check_handle(esys, HOSTTPM_DEFAULT_CA_HANDLE, &ca);
    test_esys_done(esys, tcti);
}

static void test_ca_cert(void **state)
{
    struct env *e = *state;
    X509 *x = load_cert(e->hostdir, "vtpm-ca.pem");
    TPM2B_PUBLIC ca;
    EVP_PKEY *pkey;
    BASIC_CONSTRAINTS *bc;
    int crit = -1;

    load_pub(e->hostdir, "vtpm-ca.pub", &ca);
    pkey = p256_pkey(&ca);
    assert_int_equal(EVP_PKEY_eq(X509_get0_pubkey(x), pkey), 1);
    assert_int_equal(X509_verify(x, pkey), 1);
    assert_int_equal(X509_get_signature_nid(x), NID_ecdsa_with_SHA256);
    bc = X509_get_ext_d2i(x, NID_basic_constraints, &crit, NULL);
    assert_non_null(bc);
    assert_true(bc->ca);
    assert_int_equal(crit, 1);
    assert_true(X509_get_key_usage(x) & KU_KEY_CERT_SIGN);
    assert_int_equal(verify_with(x, x, NULL), 1);
    BASIC_CONSTRAINTS_free(bc);
    EVP_PKEY_free(pkey);
    X509_free(x);
}

static int verify_attest(EVP_PKEY *ak, const uint8_t *att, size_t att_len,
                         const TPMT_SIGNATURE *sig)
{
    ECDSA_SIG *es = ECDSA_SIG_new();
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    uint8_t *der = NULL;
    int der_len, ok;

    ECDSA_SIG_set0(es, BN_bin2bn(sig->signature.ecdsa.signatureR.buffer,
                                 sig->signature.ecdsa.signatureR.size, NULL),
                   BN_bin2bn(sig->signature.ecdsa.signatureS.buffer,
                             sig->signature.ecdsa.signatureS.size, NULL));
    der_len = i2d_ECDSA_SIG(es, &der);
    ok = EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, ak) == 1 &&
         EVP_DigestVerify(md, der, (size_t)der_len, att, att_len) == 1;
    OPENSSL_free(der);
    EVP_MD_CTX_free(md);
    ECDSA_SIG_free(es);
    return ok;
}

static EVP_PKEY *load_ak_pem(struct env *e)
{
    size_t len = 0;
    uint8_t *pem = slurp(e->hostdir, "host-ak.pub.pem", &len);
    BIO *b = BIO_new_mem_buf(pem, (int)len);
    EVP_PKEY *pkey = PEM_read_bio_PUBKEY(b, NULL, NULL, NULL);

    BIO_free(b);
    free(pem);
    assert_non_null(pkey);
    return pkey;
}

static void test_certify(void **state)
{
    struct env *e = *state;
    size_t att_len = 0, sig_len = 0, off = 0, der_len;
    uint8_t *att = slurp(e->hostdir, "vtpm-ca.certify.attest", &att_len);
    uint8_t *sigb = slurp(e->hostdir, "vtpm-ca.certify.sig", &sig_len);
    uint8_t *der = NULL, dgst[SHA256_DIGEST_LENGTH];
    X509 *x = load_cert(e->hostdir, "vtpm-ca.pem");
    TPMS_ATTEST a = { 0 };
    TPMT_SIGNATURE sig = { 0 };
    TPM2B_PUBLIC ca;
    TPM2B_NAME name;
    EVP_PKEY *ak = load_ak_pem(e);

    assert_non_null(att);
    assert_non_null(sigb);
    assert_int_equal(Tss2_MU_TPMS_ATTEST_Unmarshal(att, att_len, &off, &a), 0);
    assert_int_equal(off, att_len);
    assert_int_equal(a.magic, TPM2_GENERATED_VALUE);
    assert_int_equal(a.type, TPM2_ST_ATTEST_CERTIFY);
    load_pub(e->hostdir, "vtpm-ca.pub", &ca);
    tpm_name(&ca, &name);
    assert_int_equal(a.attested.certify.name.size, name.size);
    assert_memory_equal(a.attested.certify.name.name, name.name, name.size);
    der_len = (size_t)i2d_X509(x, &der);
    SHA256(der, der_len, dgst);
    assert_int_equal(a.extraData.size, sizeof(dgst));
    assert_memory_equal(a.extraData.buffer, dgst, sizeof(dgst));
    off = 0;
    assert_int_equal(Tss2_MU_TPMT_SIGNATURE_Unmarshal(sigb, sig_len, &off, &sig), 0);
    assert_int_equal(sig.sigAlg, TPM2_ALG_ECDSA);
    assert_true(verify_attest(ak, att, att_len, &sig));
    att[att_len - 1] ^= 1;
    assert_false(verify_attest(ak, att, att_len, &sig));
    EVP_PKEY_free(ak);
    OPENSSL_free(der);
    X509_free(x);
    free(att);
    free(sigb);
}

static X509 *issue(struct env *e, EVP_PKEY *key, uint8_t **der, size_t *der_len)
{
    TPM2B_PUBLIC pub;
    uint8_t buf[sizeof(TPM2B_PUBLIC)];
    const uint8_t *p;
    size_t len;
    X509 *x;

    ek_public(key, &pub);
    marshal_pub(&pub, buf, &len);
    assert_int_equal(issuer_issue_ek_cert(env_issuer(e), buf, len, test_uuid, der, der_len), 0);
    p = *der;
    x = d2i_X509(NULL, &p, (long)*der_len);
    assert_non_null(x);
    assert_ptr_equal(p, *der + *der_len);
    return x;
}

static void check_san(X509 *x)
{
    int crit = -1, uri = 0, dir = 0;
    GENERAL_NAMES *gens = X509_get_ext_d2i(x, NID_subject_alt_name, &crit, NULL);
    char buf[64];

    assert_non_null(gens);
    assert_int_equal(crit, 1);
    for (int i = 0; i < sk_GENERAL_NAME_num(gens); i++) {
        GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
        if (g->type == GEN_URI) {
            assert_string_equal((const char *)ASN1_STRING_get0_data(g->d.uniformResourceIdentifier),
                                "urn:uuid:12345678-9abc-4def-8123-456789abcdef");
            uri++;
        } else if (g->type == GEN_DIRNAME) {
            ASN1_OBJECT *o = OBJ_txt2obj("2.23.133.2.2", 1);
            assert_true(X509_NAME_get_text_by_OBJ(g->d.directoryName, o, buf, sizeof(buf)) > 0);
            assert_string_equal(buf, "vtpm-attest");
            ASN1_OBJECT_free(o);
            dir++;
        }
    }
    assert_int_equal(uri, 1);
    assert_int_equal(dir, 1);
    GENERAL_NAMES_free(gens);
}

static void check_ek_cert(struct env *e, X509 *x, EVP_PKEY *key, uint32_t ku)
{
    X509 *ca = load_cert(e->hostdir, "vtpm-ca.pem");
    X509 *is = load_cert(e->hostdir, ISSUER_CERT_FILE);
    EXTENDED_KEY_USAGE *eku = X509_get_ext_d2i(x, NID_ext_key_usage, NULL, NULL);
    char oid[32];

    assert_int_equal(verify_chain(x, is, ca), 1);
    assert_int_not_equal(verify_with(x, ca, NULL), 1); /* the issuer is part of the chain */
    assert_int_equal(EVP_PKEY_eq(X509_get0_pubkey(x), key), 1);
    assert_int_equal(X509_NAME_entry_count(X509_get_subject_name(x)), 0);
    assert_int_equal(X509_NAME_cmp(X509_get_issuer_name(x), X509_get_subject_name(is)), 0);
    assert_int_equal(X509_get_key_usage(x), ku);
    assert_non_null(eku);
    assert_int_equal(sk_ASN1_OBJECT_num(eku), 1);
    OBJ_obj2txt(oid, sizeof(oid), sk_ASN1_OBJECT_value(eku, 0), 1);
    assert_string_equal(oid, "2.23.133.8.1");
    assert_int_equal(X509_check_ca(x), 0);
    check_san(x);
    EXTENDED_KEY_USAGE_free(eku);
    X509_free(is);
    X509_free(ca);
}

static void test_issue_ecc_ek(void **state)
{
    struct env *e = *state;
    EVP_PKEY *key = EVP_EC_gen("P-256");
    uint8_t *der = NULL;
    size_t len = 0;
    X509 *x = issue(e, key, &der, &len);
    char path[160];
    FILE *f;

    check_ek_cert(e, x, key, KU_KEY_AGREEMENT);
    snprintf(path, sizeof(path), "%s/ek-ecc.pem", e->dir);
    f = fopen(path, "w");
    assert_non_null(f);
    PEM_write_X509(f, x);
    fclose(f);
    assert_int_equal(run("openssl verify -CAfile %s/vtpm-ca.pem -untrusted %s/vtpm-issuer.pem "
                         "%s >/dev/null", e->hostdir, e->hostdir, path), 0);
    X509_free(x);
    free(der);
    EVP_PKEY_free(key);
}

static void test_issue_rsa_ek_and_tamper(void **state)
{
    struct env *e = *state;
    EVP_PKEY *key = EVP_RSA_gen(2048);
    X509 *ca = load_cert(e->hostdir, "vtpm-ca.pem"), *is;
    uint8_t *der = NULL;
    const uint8_t *p;
    size_t len = 0;
    X509 *x = issue(e, key, &der, &len), *bad;

    check_ek_cert(e, x, key, KU_KEY_ENCIPHERMENT);
    /* the DER ends inside the signature value: flip one bit of it */
    der[len - 1] ^= 0x01;
    p = der;
    bad = d2i_X509(NULL, &p, (long)len);
    assert_non_null(bad);
    is = load_cert(e->hostdir, ISSUER_CERT_FILE);
    assert_int_not_equal(verify_chain(bad, is, ca), 1);
    X509_free(is);
    X509_free(bad);
    X509_free(x);
    X509_free(ca);
    free(der);
    EVP_PKEY_free(key);
}

static void expect_ekpub_rejected(struct env *e, const uint8_t *buf, size_t len)
{
    uint8_t *der = NULL;
    size_t der_len = 0;

    assert_int_equal(issuer_issue_ek_cert(env_issuer(e), buf, len, test_uuid, &der, &der_len),
                     -EINVAL);
    assert_null(der);
}

static void test_bad_ekpub(void **state)
{
    struct env *e = *state;
    static const uint8_t garbage[] = { 0x00, 0x05, 0xde, 0xad, 0xbe, 0xef, 0x00 };
    EVP_PKEY *key = EVP_EC_gen("P-256");
    uint8_t buf[sizeof(TPM2B_PUBLIC) + 1];
    TPM2B_PUBLIC pub;
    size_t len;

    expect_ekpub_rejected(e, garbage, sizeof(garbage));
    expect_ekpub_rejected(e, NULL, 0);
    ek_public(key, &pub);
    marshal_pub(&pub, buf, &len);
    expect_ekpub_rejected(e, buf, len - 1);              /* truncated */
    buf[len] = 0;
    expect_ekpub_rejected(e, buf, len + 1);              /* trailing byte */
    pub.publicArea.unique.ecc.y.buffer[31] ^= 1;         /* point off the curve */
    marshal_pub(&pub, buf, &len);
    expect_ekpub_rejected(e, buf, len);
    ek_public(key, &pub);
    pub.publicArea.objectAttributes &= ~TPMA_OBJECT_FIXEDTPM; /* not a TPM-bound key */
    marshal_pub(&pub, buf, &len);
    expect_ekpub_rejected(e, buf, len);
    ek_public(key, &pub);
    pub.publicArea.type = TPM2_ALG_KEYEDHASH;
    memset(&pub.publicArea.parameters, 0, sizeof(pub.publicArea.parameters));
    pub.publicArea.parameters.keyedHashDetail.scheme.scheme = TPM2_ALG_NULL;
    pub.publicArea.unique.keyedHash.size = 0;
    marshal_pub(&pub, buf, &len);
    expect_ekpub_rejected(e, buf, len);
    EVP_PKEY_free(key);
}

static void test_host_ek_cert(void **state)
{
    struct env *e = *state;
    X509 *ek = load_cert(e->hostdir, "host-ek.pem");
    X509 *issuer = load_cert(e->dir, "ek-ca.pem");
    X509 *copy = load_cert(e->hostdir, "host-ek-ca.pem");
    X509 *root = load_cert(e->dir, "ca/swtpm-localca-rootca-cert.pem");
    TPM2B_PUBLIC ekpub;
    uint8_t n[256];

    assert_int_equal(X509_cmp(issuer, copy), 0);
    assert_int_equal(verify_with(ek, issuer, root), 1);
    assert_int_equal(run("openssl verify -CAfile %s/ek-ca-chain.pem %s/host-ek.pem >/dev/null",
                         e->dir, e->hostdir), 0);
    /* the certificate is for the EK recorded in host-ek.pub */
    load_pub(e->hostdir, "host-ek.pub", &ekpub);
    assert_int_equal(ekpub.publicArea.type, TPM2_ALG_RSA);
    bn_into(X509_get0_pubkey(ek), OSSL_PKEY_PARAM_RSA_N, n, sizeof(n));
    assert_memory_equal(n, ekpub.publicArea.unique.rsa.buffer, sizeof(n));
    X509_free(ek);
    X509_free(issuer);
    X509_free(copy);
    X509_free(root);
}

static void make_credential(struct env *e, const char *hostdir, uint32_t ek_handle,
                            const TPM2B_DIGEST *cred, uint8_t *blob, size_t *blob_len,
                            uint8_t *sec, size_t *sec_len)
{
    TSS2_TCTI_CONTEXT *tcti = NULL;
    ESYS_CONTEXT *esys = test_esys(e, &tcti);
    ESYS_TR ek = ESYS_TR_NONE;
    TPM2B_ID_OBJECT *idobj = NULL;
    TPM2B_ENCRYPTED_SECRET *secret = NULL;
    TPM2B_PUBLIC ak;
    TPM2B_NAME name;

    load_pub(hostdir, "host-ak.pub", &ak);
    tpm_name(&ak, &name);
    assert_int_equal(Esys_TR_FromTPMPublic(esys, ek_handle, ESYS_TR_NONE,
                                           ESYS_TR_NONE, ESYS_TR_NONE, &ek), 0);
    assert_int_equal(Esys_MakeCredential(esys, ek, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
                                         cred, &name, &idobj, &secret), 0);
    *blob_len = *sec_len = 0;
    assert_int_equal(Tss2_MU_TPM2B_ID_OBJECT_Marshal(idobj, blob, sizeof(*idobj), blob_len), 0);
    assert_int_equal(Tss2_MU_TPM2B_ENCRYPTED_SECRET_Marshal(secret, sec, sizeof(*secret),
                                                            sec_len), 0);
    Esys_Free(idobj);
    Esys_Free(secret);
    Esys_TR_Close(esys, &ek);
    test_esys_done(esys, tcti);
}

static void test_activate_credential(void **state)
{
    struct env *e = *state;
    TPM2B_DIGEST cred = { .size = 20 };
    uint8_t blob[sizeof(TPM2B_ID_OBJECT)], sec[sizeof(TPM2B_ENCRYPTED_SECRET)], *out = NULL;
    size_t blob_len, sec_len, out_len = 0;

    memcpy(cred.buffer, "verifier-challenge-1", 20);
    make_credential(e, e->hostdir, HOSTTPM_DEFAULT_EK_HANDLE, &cred, blob, &blob_len, sec,
                    &sec_len);
    assert_int_equal(hosttpm_activate_credential(e->h, blob, blob_len, sec, sec_len, &out,
                                                 &out_len), 0);
    assert_int_equal(out_len, 20);
    assert_memory_equal(out, cred.buffer, 20);
    free(out);
    out = NULL;
    /* malformed and tampered inputs */
    assert_int_equal(hosttpm_activate_credential(e->h, blob, blob_len - 1, sec, sec_len, &out,
                                                 &out_len), -EINVAL);
    blob[blob_len - 1] ^= 1;
    assert_true(hosttpm_activate_credential(e->h, blob, blob_len, sec, sec_len, &out,
                                            &out_len) < 0);
    assert_null(out);
}

static void extend_pcr(struct env *e)
{
    assert_int_equal(run("TPM2TOOLS_TCTI='%s' tpm2_pcrextend %d:sha256=%064d >/dev/null",
                         e->tcti, SEAL_PCR, 1), 0);
}

static void test_state_key(void **state)
{
    struct env *e = *state;
    uint8_t k1[HOSTTPM_STATE_KEY_LEN], k2[HOSTTPM_STATE_KEY_LEN];
    static const uint8_t zero[HOSTTPM_STATE_KEY_LEN];

    assert_int_equal(hosttpm_state_key(e->h, e->hostfd, 0, k1), -ENOENT);
    assert_int_equal(hosttpm_state_key(e->h, e->hostfd, 1, k1), 0);
    assert_memory_not_equal(k1, zero, sizeof(zero));
    memset(k2, 0, sizeof(k2));
    assert_int_equal(hosttpm_state_key(e->h, e->hostfd, 0, k2), 0);
    assert_memory_equal(k1, k2, sizeof(k1));
    /* create != 0 with an existing blob unseals, never replaces */
    assert_int_equal(hosttpm_state_key(e->h, e->hostfd, 1, k2), 0);
    assert_memory_equal(k1, k2, sizeof(k1));
    extend_pcr(e);
    assert_int_equal(hosttpm_state_key(e->h, e->hostfd, 0, k2), -EACCES);
    assert_int_equal(run("TPM2TOOLS_TCTI='%s' tpm2_pcrreset %d", e->tcti, SEAL_PCR), 0);
    assert_int_equal(hosttpm_state_key(e->h, e->hostfd, 0, k2), 0);
    assert_memory_equal(k1, k2, sizeof(k1));
    explicit_bzero(k1, sizeof(k1));
    explicit_bzero(k2, sizeof(k2));
}

static void test_state_key_corrupt(void **state)
{
    struct env *e = *state;
    uint8_t k[HOSTTPM_STATE_KEY_LEN], *blob;
    size_t len = 0;

    blob = slurp(e->hostdir, "state-key.seal", &len);
    assert_non_null(blob);
    spit(e->hostdir, "state-key.seal", blob, len - 1);
    assert_int_equal(hosttpm_state_key(e->h, e->hostfd, 0, k), -EINVAL);
    blob[len - 1] ^= 1; /* inside TPM2B_PRIVATE: the TPM's integrity check catches it */
    spit(e->hostdir, "state-key.seal", blob, len);
    assert_true(hosttpm_state_key(e->h, e->hostfd, 0, k) < 0);
    blob[len - 1] ^= 1;
    spit(e->hostdir, "state-key.seal", blob, len);
    assert_int_equal(hosttpm_state_key(e->h, e->hostfd, 0, k), 0);
    free(blob);
}

static int copy_dir_fd(struct env *e, const char *name)
{
    char path[160];

    snprintf(path, sizeof(path), "%s/%s", e->dir, name);
    assert_int_equal(run("rm -rf %s && cp -a %s %s", path, e->hostdir, path), 0);
    return open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

static void test_provision_eexist(void **state)
{
    struct env *e = *state;
    char path[160];
    size_t len = 0;
    uint8_t *ca;
    int fd;

    /* a host directory that does not know the keys at the handles */
    snprintf(path, sizeof(path), "%s/host-empty", e->dir);
    mkdir(path, 0700);
    fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    assert_true(fd >= 0);
    assert_int_equal(hosttpm_provision(e->h, fd), -EEXIST);
    close(fd);
    /* a host directory whose record of the AK is a different key */
    fd = copy_dir_fd(e, "host-other");
    snprintf(path, sizeof(path), "%s/host-other", e->dir);
    ca = slurp(path, "vtpm-ca.pub", &len);
    assert_non_null(ca);
    spit(path, "host-ak.pub", ca, len);
    assert_int_equal(hosttpm_provision(e->h, fd), -EEXIST);
    free(ca);
    close(fd);
    /* the real host directory still provisions (and the context still issues) */
    assert_int_equal(hosttpm_provision(e->h, e->hostfd), 0);
}

static void evict(struct env *e, uint32_t handle)
{
    assert_int_equal(run("TPM2TOOLS_TCTI='%s' tpm2_evictcontrol -C o -c 0x%08x >/dev/null",
                         e->tcti, handle), 0);
}

static int open_dir(struct env *e, const char *name, char *path, size_t size)
{
    snprintf(path, size, "%s/%s", e->dir, name);
    assert_int_equal(mkdir(path, 0700), 0);
    return open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

/* An EK missing at its handle is created from the TCG template: the same key swtpm_setup made. */
static void test_ek_from_template(void **state)
{
    struct env *e = *state;
    struct hosttpm_config cfg = e->cfg;
    struct hosttpm *h = NULL;
    char path[160];
    TPM2B_PUBLIC made, orig;
    int fd;

    cfg.ek_handle = 0x81010003u;
    cfg.ak_handle = 0x81000b01u;
    cfg.ca_handle = 0x81000b02u;
    fd = open_dir(e, "host-ek2", path, sizeof(path));
    assert_true(fd >= 0);
    assert_int_equal(hosttpm_open(&cfg, &h), 0);
    assert_int_equal(hosttpm_provision(h, fd), 0);
    hosttpm_close(h);
    close(fd);
    load_pub(path, "host-ek.pub", &made);
    load_pub(e->hostdir, "host-ek.pub", &orig);
    assert_int_equal(made.publicArea.unique.rsa.size, 256);
    assert_memory_equal(made.publicArea.unique.rsa.buffer, orig.publicArea.unique.rsa.buffer, 256);
    assert_int_equal(run("cmp -s %s/host-ek.pem %s/host-ek.pem", path, e->hostdir), 0);
    evict(e, cfg.ek_handle); /* leave the TPM as the other tests expect it */
    evict(e, cfg.ak_handle);
    evict(e, cfg.ca_handle);
}

/* swtpm_setup also made an ECC NIST P-384 EK (0x81010016, cert in NV 0x01c00016): the same
 * layer works with it as parent, salt key and credential-activation key. */
static void test_ecc_ek_parent(void **state)
{
    struct env *e = *state;
    struct hosttpm_config cfg = e->cfg;
    struct hosttpm *h = NULL;
    TPM2B_DIGEST cred = { .size = 16 };
    uint8_t blob[sizeof(TPM2B_ID_OBJECT)], sec[sizeof(TPM2B_ENCRYPTED_SECRET)], *out = NULL;
    uint8_t k1[HOSTTPM_STATE_KEY_LEN], k2[HOSTTPM_STATE_KEY_LEN];
    size_t blob_len, sec_len, out_len = 0;
    char path[160];
    int fd = open_dir(e, "host-ecc", path, sizeof(path));

    cfg.ek_handle = 0x81010016u;
    cfg.ak_handle = 0x81000c01u;
    cfg.ca_handle = 0x81000c02u;
    assert_true(fd >= 0);
    assert_int_equal(hosttpm_open(&cfg, &h), 0);
    assert_int_equal(hosttpm_provision(h, fd), 0);
    assert_int_equal(run("openssl verify -CAfile %s/ek-ca-chain.pem %s/host-ek.pem >/dev/null",
                         e->dir, path), 0);
    assert_int_equal(hosttpm_state_key(h, fd, 1, k1), 0);
    assert_int_equal(hosttpm_state_key(h, fd, 0, k2), 0);
    assert_memory_equal(k1, k2, sizeof(k1));
    memcpy(cred.buffer, "ecc-ek-challenge", 16);
    make_credential(e, path, cfg.ek_handle, &cred, blob, &blob_len, sec, &sec_len);
    assert_int_equal(hosttpm_activate_credential(h, blob, blob_len, sec, sec_len, &out,
                                                 &out_len), 0);
    assert_int_equal(out_len, 16);
    assert_memory_equal(out, cred.buffer, 16);
    free(out);
    hosttpm_close(h);
    close(fd);
    evict(e, cfg.ak_handle);
    evict(e, cfg.ca_handle);
}

static uint32_t count_handles(ESYS_CONTEXT *esys, TPM2_HANDLE first)
{
    TPMS_CAPABILITY_DATA *cap = NULL;
    TPMI_YES_NO more = TPM2_NO;
    uint32_t n;

    assert_int_equal(Esys_GetCapability(esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
                                        TPM2_CAP_HANDLES, first, 64, &more, &cap), 0);
    n = cap->data.handles.count;
    Esys_Free(cap);
    return n;
}

/* Runs last: every transient object and session made above (also on error paths) is gone. */
static void test_nothing_left_loaded(void **state)
{
    struct env *e = *state;
    TSS2_TCTI_CONTEXT *tcti = NULL;
    ESYS_CONTEXT *esys = test_esys(e, &tcti);

    /* tss2's *_FIRST macros shift a signed int into the sign bit (UBSan): spell them out */
    assert_int_equal(count_handles(esys, (uint32_t)TPM2_HT_TRANSIENT << TPM2_HR_SHIFT), 0);
    assert_int_equal(count_handles(esys, (uint32_t)TPM2_HT_LOADED_SESSION << TPM2_HR_SHIFT), 0);
    assert_int_equal(count_handles(esys, (uint32_t)TPM2_HT_SAVED_SESSION << TPM2_HR_SHIFT), 0);
    test_esys_done(esys, tcti);
}

static time_t asn1_time(const ASN1_TIME *t)
{
    struct tm tm;

    assert_int_equal(ASN1_TIME_to_tm(t, &tm), 1);
    return timegm(&tm);
}

/* The issuer's certificate: a CA of path length 0 under vtpm-ca.pem, for lifetime seconds. */
static void test_issuer_cert(void **state)
{
    struct env *e = *state;
    X509 *ca, *is;
    time_t nb, na;

    env_issuer(e);
    ca = load_cert(e->hostdir, "vtpm-ca.pem");
    is = load_cert(e->hostdir, ISSUER_CERT_FILE);
    assert_int_equal(X509_check_issued(ca, is), X509_V_OK);
    assert_int_equal(X509_verify(is, X509_get0_pubkey(ca)), 1);
    assert_int_equal(X509_check_ca(is), 1);
    assert_int_equal(X509_get_pathlen(is), 0);
    assert_true(X509_get_key_usage(is) & KU_KEY_CERT_SIGN);
    assert_int_equal(EVP_PKEY_get_base_id(X509_get0_pubkey(is)), EVP_PKEY_EC);
    nb = asn1_time(X509_get0_notBefore(is));
    na = asn1_time(X509_get0_notAfter(is));
    assert_true(na - nb == ISSUER_MIN_LIFETIME + ISSUER_BACKDATE);
    assert_true(issuer_rotate_at(e->is) == nb + ISSUER_BACKDATE + ISSUER_MIN_LIFETIME / 2);
    X509_free(is);
    X509_free(ca);
}

static size_t count_issuer_files(struct env *e)
{
    return (size_t)run("exit $(ls %s/" ISSUER_DIR " | grep -c '\\.pem$')", e->hostdir);
}

/* Rotation at half life: not before, once at; an EK certificate of the old issuer still finds
 * its issuer (issuers/), the new one is signed by the new issuer. */
static void test_issuer_rotation(void **state)
{
    struct env *e = *state;
    EVP_PKEY *key = EVP_EC_gen("P-256");
    uint8_t *der1 = NULL, *der2 = NULL, *pem1 = NULL, *pem2 = NULL, *cur = NULL;
    size_t l1 = 0, l2 = 0, p1 = 0, p2 = 0, cl = 0, files;
    X509 *x1 = issue(e, key, &der1, &l1), *x2;
    time_t at = issuer_rotate_at(e->is);

    time_t before;

    files = count_issuer_files(e);
    assert_int_equal(issuer_tick(e->is, at - 1), 0);
    before = time(NULL);
    assert_int_equal(issuer_tick(e->is, at), 1);
    /* the new issuer was made now: its half life lies ahead */
    assert_true(issuer_rotate_at(e->is) >= before + ISSUER_MIN_LIFETIME / 2);
    assert_int_equal(count_issuer_files(e), files + 1);
    x2 = issue(e, key, &der2, &l2);
    assert_int_equal(issuer_cert_pem(e->is, der1, l1, &pem1, &p1), 0);
    assert_int_equal(issuer_cert_pem(e->is, der2, l2, &pem2, &p2), 0);
    assert_int_equal(issuer_cert_pem(e->is, NULL, 0, &cur, &cl), 0);
    assert_true(p1 != p2 || memcmp(pem1, pem2, p1));
    assert_true(p2 == cl && !memcmp(pem2, cur, cl));
    assert_int_not_equal(X509_NAME_cmp(X509_get_issuer_name(x1), X509_get_issuer_name(x2)), 0);
    /* a certificate no issuer of this host signed has none */
    der1[l1 - 1] ^= 1;
    assert_int_equal(issuer_cert_pem(e->is, der1, l1, &pem1, &p1), -ENOENT);
    free(pem1);
    free(pem2);
    free(cur);
    free(der1);
    free(der2);
    X509_free(x1);
    X509_free(x2);
    EVP_PKEY_free(key);
}

static int reopen(struct env *e, const uint8_t *master)
{
    issuer_close(e->is);
    e->is = NULL;
    return issuer_open(e->h, e->hostfd, master, ISSUER_MIN_LIFETIME, &e->is);
}

static void flip_file_byte(struct env *e, const char *name, size_t off)
{
    size_t len = 0;
    uint8_t *buf = slurp(e->hostdir, name, &len);

    assert_non_null(buf);
    assert_true(len > off);
    buf[off] ^= 1;
    spit(e->hostdir, name, buf, len);
    free(buf);
}

/* Tampered key or certificate, a key of another state key, a lone key: issuer_open refuses and
 * replaces nothing; an interrupted rotation (key new, certificate old) is recovered. */
static void test_issuer_tamper(void **state)
{
    struct env *e = *state;
    static const uint8_t other_master[HOSTTPM_STATE_KEY_LEN] = { 0x77 };
    size_t klen = 0, clen = 0, olen = 0;
    uint8_t *key, *cert, *old;

    env_issuer(e);
    key = slurp(e->hostdir, ISSUER_KEY_FILE, &klen);
    cert = slurp(e->hostdir, ISSUER_CERT_FILE, &clen);
    assert_non_null(key);
    assert_non_null(cert);
    assert_int_equal(reopen(e, test_master), 0);
    flip_file_byte(e, ISSUER_KEY_FILE, 40);              /* the ciphertext (header: 32) */
    assert_int_equal(reopen(e, test_master), -EBADMSG);
    spit(e->hostdir, ISSUER_KEY_FILE, key, klen);
    assert_int_equal(reopen(e, other_master), -EBADMSG);
    flip_file_byte(e, ISSUER_CERT_FILE, 100);            /* base64 of the TBSCertificate */
    assert_int_equal(reopen(e, test_master), -EBADMSG);
    spit(e->hostdir, ISSUER_CERT_FILE, cert, clen);
    assert_int_equal(run("mv %s/" ISSUER_CERT_FILE " %s/cert.save", e->hostdir, e->dir), 0);
    assert_int_equal(reopen(e, test_master), -EBADMSG);  /* key without certificate */
    assert_int_equal(run("mv %s/cert.save %s/" ISSUER_CERT_FILE, e->dir, e->hostdir), 0);
    /* the files are as they were: the same issuer opens */
    assert_int_equal(reopen(e, test_master), 0);
    old = slurp(e->hostdir, ISSUER_CERT_FILE, &olen);
    assert_true(olen == clen && !memcmp(old, cert, clen));
    free(old);
    /* a rotation that stopped before vtpm-issuer.pem was written */
    assert_int_equal(issuer_rotate(e->is), 0);
    spit(e->hostdir, ISSUER_CERT_FILE, cert, clen);
    assert_int_equal(reopen(e, test_master), 0);
    old = slurp(e->hostdir, ISSUER_CERT_FILE, &olen);
    assert_true(olen != clen || memcmp(old, cert, clen));
    free(old);
    free(key);
    free(cert);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void test_issue_timing(void **state)
{
    struct env *e = *state;
    EVP_PKEY *key = EVP_EC_gen("P-256");
    TPM2B_PUBLIC pub;
    uint8_t buf[sizeof(TPM2B_PUBLIC)], *der;
    size_t len, der_len;
    double ms[50];

    ek_public(key, &pub);
    marshal_pub(&pub, buf, &len);
    for (int i = 0; i < 50; i++) {
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        assert_int_equal(issuer_issue_ek_cert(env_issuer(e), buf, len, test_uuid, &der, &der_len),
                         0);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        ms[i] = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
        free(der);
    }
    qsort(ms, 50, sizeof(ms[0]), cmp_double);
    print_message("issuer_issue_ek_cert: median %.2f ms, min %.2f ms, max %.2f ms (50 calls)\n",
                  ms[25], ms[0], ms[49]);
    assert_true(ms[25] < 250.0); /* only catches something pathological, e.g. a session per call */
    EVP_PKEY_free(key);
}

/* The rollback counter: absent, created (idempotent), counts by one, refuses a foreign index,
 * and is gone after an undefine (what a TPM2_Clear does to owner NV). */
static void test_rollback_counter(void **state)
{
    struct env *e = *state;
    const uint32_t idx = 0x01000a11;
    uint64_t v0 = 0, v1 = 0, v2 = 0;

    assert_int_equal(hosttpm_counter_read(e->h, idx, &v0), -ENOENT);
    assert_int_equal(hosttpm_counter_create(e->h, idx, &v0), 0);
    assert_int_equal(hosttpm_counter_read(e->h, idx, &v1), 0);
    assert_true(v1 == v0);
    assert_int_equal(hosttpm_counter_increment(e->h, idx, &v1), 0);
    assert_true(v1 == v0 + 1);
    assert_int_equal(hosttpm_counter_create(e->h, idx, &v2), 0); /* exists: one more count */
    assert_true(v2 == v1 + 1);
    /* an ordinary NV index at another handle is not taken for a counter */
    assert_int_equal(run("TPM2TOOLS_TCTI='%s' tpm2_nvdefine 0x01000a12 -C o -s 8 "
                         "-a 'ownerread|ownerwrite|authread' >/dev/null", e->tcti), 0);
    assert_int_equal(hosttpm_counter_read(e->h, 0x01000a12, &v2), -EINVAL);
    assert_int_equal(run("TPM2TOOLS_TCTI='%s' tpm2_nvundefine -C o 0x01000a12", e->tcti), 0);
    assert_int_equal(run("TPM2TOOLS_TCTI='%s' tpm2_nvundefine -C o 0x%08x", e->tcti, idx), 0);
    assert_int_equal(hosttpm_counter_increment(e->h, idx, NULL), -ENOENT);
    assert_int_equal(hosttpm_counter_read(e->h, idx, &v2), -ENOENT);
    /* re-defined, a counter never starts below what counters of this TPM reached */
    assert_int_equal(hosttpm_counter_create(e->h, idx, &v2), 0);
    assert_true(v2 > v1);
    assert_int_equal(run("TPM2TOOLS_TCTI='%s' tpm2_nvundefine -C o 0x%08x", e->tcti, idx), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_pcrs),
        cmocka_unit_test(test_provision_idempotent),
        cmocka_unit_test(test_keys_at_handles),
        cmocka_unit_test(test_ca_cert),
        cmocka_unit_test(test_certify),
        cmocka_unit_test(test_issue_ecc_ek),
        cmocka_unit_test(test_issue_rsa_ek_and_tamper),
        cmocka_unit_test(test_bad_ekpub),
        cmocka_unit_test(test_issuer_cert),
        cmocka_unit_test(test_issuer_rotation),
        cmocka_unit_test(test_issuer_tamper),
        cmocka_unit_test(test_host_ek_cert),
        cmocka_unit_test(test_activate_credential),
        cmocka_unit_test(test_state_key),
        cmocka_unit_test(test_state_key_corrupt),
        cmocka_unit_test(test_provision_eexist),
        cmocka_unit_test(test_ek_from_template),
        cmocka_unit_test(test_ecc_ek_parent),
        cmocka_unit_test(test_issue_timing),
        cmocka_unit_test(test_rollback_counter),
        cmocka_unit_test(test_nothing_left_loaded),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
