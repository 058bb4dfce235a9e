/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The X.509 certificates of the vTPM chain: the self-signed vTPM-CA certificate and the vTPM
 * issuer's CA certificate, both signed inside the host TPM, and the vTPM EK certificates (TCG EK
 * Credential Profile), signed in software by the issuer key (issuer.c). OpenSSL builds and
 * encodes everything; for the first two the TPM only signs SHA-256(DER TBSCertificate) with the
 * vTPM-CA key (TPM2_Sign, one command), and OpenSSL encodes the resulting ECDSA-Sig-Value.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <openssl/x509v3.h>

#include "hosttpm_int.h"
#include "log.h"

/*
 * TCG attributes of the vTPM EK certificates. The manufacturer is our own vendor id, the four
 * ASCII bytes "VTPA" (0x56545041), because the vTPMs are not any silicon vendor's TPM; the
 * version is libtpms 0.9's TPM_PT_FIRMWARE_VERSION_1 (0x20191023), as the vTPM reports it.
 */
#define VTPM_TCG_MANUFACTURER "id:56545041"
#define VTPM_TCG_MODEL        "vtpm-attest"
#define VTPM_TCG_VERSION      "id:20191023"
#define OID_TCG_MANUFACTURER  "2.23.133.2.1"
#define OID_TCG_MODEL         "2.23.133.2.2"
#define OID_TCG_VERSION       "2.23.133.2.3"
#define OID_TCG_KP_EKCERT     "2.23.133.8.1"
#define NOT_AFTER_FOREVER     "99991231235959Z" /* RFC 5280 4.1.2.5: no well-defined expiry */
#define SERIAL_BYTES 16

static int bn_param(OSSL_PARAM_BLD *bld, const char *key, const uint8_t *buf, size_t len,
                    BIGNUM **bn)
{
    *bn = BN_bin2bn(buf, (int)len, NULL);
    return *bn && OSSL_PARAM_BLD_push_BN(bld, key, *bn) ? 0 : -ENOMEM;
}

static int rsa_params(const TPMT_PUBLIC *p, OSSL_PARAM_BLD *bld, BIGNUM **n, BIGNUM **e)
{
    const TPMS_RSA_PARMS *rp = &p->parameters.rsaDetail;
    uint32_t exp = rp->exponent ? rp->exponent : 65537u;
    uint8_t ebuf[4] = { exp >> 24, exp >> 16, exp >> 8, exp };

    if (rp->keyBits != 2048 && rp->keyBits != 3072 && rp->keyBits != 4096)
        return -EINVAL;
    if (p->unique.rsa.size != rp->keyBits / 8 || !(p->unique.rsa.buffer[0] & 0x80))
        return -EINVAL;
    if (bn_param(bld, OSSL_PKEY_PARAM_RSA_N, p->unique.rsa.buffer, p->unique.rsa.size, n) < 0 ||
        bn_param(bld, OSSL_PKEY_PARAM_RSA_E, ebuf, sizeof(ebuf), e) < 0)
        return -ENOMEM;
    return 0;
}

static const char *ecc_group(TPMI_ECC_CURVE curve, size_t *coord)
{
    switch (curve) {
    case TPM2_ECC_NIST_P256: *coord = 32; return SN_X9_62_prime256v1;
    case TPM2_ECC_NIST_P384: *coord = 48; return SN_secp384r1;
    case TPM2_ECC_NIST_P521: *coord = 66; return SN_secp521r1;
    default: return NULL;
    }
}

/* Uncompressed point 04||X||Y; the TPM may drop leading zero bytes of a coordinate. */
static int ecc_params(const TPMT_PUBLIC *p, OSSL_PARAM_BLD *bld, uint8_t pt[1 + 2 * 66])
{
    const TPMS_ECC_POINT *q = &p->unique.ecc;
    size_t c = 0;
    const char *grp = ecc_group(p->parameters.eccDetail.curveID, &c);

    if (!grp || q->x.size == 0 || q->y.size == 0 || q->x.size > c || q->y.size > c)
        return -EINVAL;
    memset(pt, 0, 1 + 2 * c);
    pt[0] = POINT_CONVERSION_UNCOMPRESSED;
    memcpy(pt + 1 + c - q->x.size, q->x.buffer, q->x.size);
    memcpy(pt + 1 + 2 * c - q->y.size, q->y.buffer, q->y.size);
    if (!OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, grp, 0) ||
        !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pt, 1 + 2 * c))
        return -ENOMEM;
    return 0;
}

static int pkey_fromdata(const char *type, OSSL_PARAM_BLD *bld, EVP_PKEY **pkey)
{
    OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(bld);
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL);
    int r = -EINVAL;

    *pkey = NULL;
    if (!params || !ctx || EVP_PKEY_fromdata_init(ctx) <= 0 ||
        EVP_PKEY_fromdata(ctx, pkey, EVP_PKEY_PUBLIC_KEY, params) <= 0)
        goto out;
    EVP_PKEY_CTX_free(ctx);
    /* fromdata does not check that an EC point lies on the curve; garbage must not pass. */
    ctx = EVP_PKEY_CTX_new_from_pkey(NULL, *pkey, NULL);
    if (!ctx || EVP_PKEY_public_check_quick(ctx) <= 0) {
        EVP_PKEY_free(*pkey);
        *pkey = NULL;
        goto out;
    }
    r = 0;
out:
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params);
    return r;
}

int x509_pkey_from_tpm(const TPM2B_PUBLIC *pub, EVP_PKEY **pkey)
{
    const TPMT_PUBLIC *p = &pub->publicArea;
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    BIGNUM *n = NULL, *e = NULL;
    uint8_t pt[1 + 2 * 66];
    int r = -ENOMEM;

    *pkey = NULL;
    if (!bld)
        goto out;
    if (p->type == TPM2_ALG_RSA)
        r = rsa_params(p, bld, &n, &e);
    else if (p->type == TPM2_ALG_ECC)
        r = ecc_params(p, bld, pt);
    else
        r = -EINVAL;
    if (r == 0)
        r = pkey_fromdata(p->type == TPM2_ALG_RSA ? "RSA" : "EC", bld, pkey);
out:
    BN_free(n);
    BN_free(e);
    OSSL_PARAM_BLD_free(bld);
    return r;
}

/* TPM2_Sign of a SHA-256 digest with the vTPM-CA key, as a DER ECDSA-Sig-Value. */
static int tpm_sign(struct hosttpm *h, const uint8_t dgst[SHA256_DIGEST_LENGTH], uint8_t **der,
                    int *der_len)
{
    const TPMT_SIG_SCHEME scheme = { .scheme = TPM2_ALG_ECDSA,
                                     .details = { .ecdsa = { .hashAlg = TPM2_ALG_SHA256 } } };
    const TPMT_TK_HASHCHECK none = { .tag = TPM2_ST_HASHCHECK, .hierarchy = TPM2_RH_NULL };
    TPM2B_DIGEST digest = { .size = SHA256_DIGEST_LENGTH };
    TPMT_SIGNATURE *sig = NULL;
    ECDSA_SIG *es = NULL;
    BIGNUM *r_bn = NULL, *s_bn = NULL;
    TSS2_RC rc;
    int r = -ENOMEM;

    memcpy(digest.buffer, dgst, SHA256_DIGEST_LENGTH);
    rc = Esys_Sign(h->esys, h->ca, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, &digest, &scheme,
                   &none, &sig);
    if (rc != TSS2_RC_SUCCESS)
        return hosttpm_tss_err(rc, "Esys_Sign(vTPM-CA)");
    r_bn = BN_bin2bn(sig->signature.ecdsa.signatureR.buffer, sig->signature.ecdsa.signatureR.size,
                     NULL);
    s_bn = BN_bin2bn(sig->signature.ecdsa.signatureS.buffer, sig->signature.ecdsa.signatureS.size,
                     NULL);
    es = ECDSA_SIG_new();
    if (!r_bn || !s_bn || !es || !ECDSA_SIG_set0(es, r_bn, s_bn))
        goto out;
    r_bn = s_bn = NULL; /* owned by es now */
    *der = NULL;
    *der_len = i2d_ECDSA_SIG(es, der);
    r = *der_len > 0 ? 0 : -ENOMEM;
out:
    BN_free(r_bn);
    BN_free(s_bn);
    ECDSA_SIG_free(es);
    Esys_Free(sig);
    return r;
}

/*
 * Sets both AlgorithmIdentifiers to ecdsa-with-SHA256, has the TPM sign the DER TBSCertificate
 * and stores the signature. OpenSSL 3.0 has no setter for a certificate's signature fields (only
 * X509_sign with an EVP_PKEY it can use), hence the const casts on its own getters.
 */
static int x509_sign_tpm(struct hosttpm *h, X509 *x)
{
    X509_ALGOR *tbs_alg = (X509_ALGOR *)X509_get0_tbs_sigalg(x);
    const X509_ALGOR *calg;
    const ASN1_BIT_STRING *csig;
    uint8_t dgst[SHA256_DIGEST_LENGTH], *tbs = NULL, *der = NULL;
    int tbs_len, der_len = 0, r = -ENOMEM;

    X509_get0_signature(&csig, &calg, x);
    if (!X509_ALGOR_set0(tbs_alg, OBJ_nid2obj(NID_ecdsa_with_SHA256), V_ASN1_UNDEF, NULL) ||
        !X509_ALGOR_set0((X509_ALGOR *)calg, OBJ_nid2obj(NID_ecdsa_with_SHA256), V_ASN1_UNDEF,
                         NULL))
        return -ENOMEM;
    tbs_len = i2d_re_X509_tbs(x, &tbs);
    if (tbs_len <= 0)
        goto out;
    SHA256(tbs, (size_t)tbs_len, dgst);
    r = tpm_sign(h, dgst, &der, &der_len);
    if (r < 0)
        goto out;
    r = -ENOMEM;
    if (!ASN1_BIT_STRING_set((ASN1_BIT_STRING *)csig, der, der_len))
        goto out;
    /* A signature is whole bytes: encode "0 unused bits" rather than trimming trailing zeros. */
    ((ASN1_BIT_STRING *)csig)->flags &= ~(ASN1_STRING_FLAG_BITS_LEFT | 0x07);
    ((ASN1_BIT_STRING *)csig)->flags |= ASN1_STRING_FLAG_BITS_LEFT;
    r = 0;
out:
    OPENSSL_free(tbs);
    OPENSSL_free(der);
    return r;
}

static int set_serial(X509 *x)
{
    uint8_t buf[SERIAL_BYTES];
    BIGNUM *bn;
    int ok;

    if (RAND_bytes(buf, sizeof(buf)) != 1)
        return -EIO;
    buf[0] = (buf[0] & 0x7f) | 0x40; /* positive, non-zero, always 16 bytes long */
    bn = BN_bin2bn(buf, sizeof(buf), NULL);
    ok = bn && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x));
    BN_free(bn);
    return ok ? 0 : -ENOMEM;
}

/* Version 3, random serial, valid from now on without expiry, subject key pkey. */
static int cert_skeleton(X509 *x, const X509_NAME *issuer, const X509_NAME *subject,
                         EVP_PKEY *pkey)
{
    if (!X509_set_version(x, X509_VERSION_3) || set_serial(x) < 0 ||
        !X509_gmtime_adj(X509_getm_notBefore(x), 0) ||
        !ASN1_TIME_set_string_X509(X509_getm_notAfter(x), NOT_AFTER_FOREVER) ||
        !X509_set_issuer_name(x, issuer) || !X509_set_subject_name(x, subject) ||
        !X509_set_pubkey(x, pkey))
        return -ENOMEM;
    return 0;
}

static int add_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509_EXTENSION *ext;
    int ok;

    X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
    ext = X509V3_EXT_nconf_nid(NULL, &ctx, nid, value);
    ok = ext && X509_add_ext(x, ext, -1);
    X509_EXTENSION_free(ext);
    if (!ok)
        LOG_ERROR("cannot add X.509 extension %s = %s", OBJ_nid2sn(nid), value);
    return ok ? 0 : -ENOMEM;
}

/* O=vtpm-attest, CN=<what> <first 8 bytes of SHA-256(SPKI) in hex>. */
static int key_subject(EVP_PKEY *pkey, const char *what, X509_NAME **out)
{
    uint8_t *spki = NULL, dgst[SHA256_DIGEST_LENGTH];
    char cn[64];
    int len = i2d_PUBKEY(pkey, &spki), ok;

    if (len <= 0)
        return -ENOMEM;
    SHA256(spki, (size_t)len, dgst);
    OPENSSL_free(spki);
    /* Every host has its own vTPM CA and issuers; a key fingerprint keeps their names apart. */
    snprintf(cn, sizeof(cn), "%s %02x%02x%02x%02x%02x%02x%02x%02x", what, dgst[0], dgst[1],
             dgst[2], dgst[3], dgst[4], dgst[5], dgst[6], dgst[7]);
    *out = X509_NAME_new();
    ok = *out &&
         X509_NAME_add_entry_by_txt(*out, "O", MBSTRING_UTF8, (const uint8_t *)"vtpm-attest",
                                    -1, -1, 0) &&
         X509_NAME_add_entry_by_txt(*out, "CN", MBSTRING_UTF8, (const uint8_t *)cn, -1, -1, 0);
    if (!ok) {
        X509_NAME_free(*out);
        *out = NULL;
    }
    return ok ? 0 : -ENOMEM;
}

int x509_make_ca_cert(struct hosttpm *h, const TPM2B_PUBLIC *ca_pub, X509 **out)
{
    EVP_PKEY *pkey = NULL;
    X509_NAME *name = NULL;
    X509 *x = X509_new();
    int r = -ENOMEM;

    if (!x)
        return -ENOMEM;
    r = x509_pkey_from_tpm(ca_pub, &pkey);
    if (r < 0)
        goto out;
    r = key_subject(pkey, "vtpm-attest vTPM CA", &name);
    if (r < 0)
        goto out;
    if ((r = cert_skeleton(x, name, name, pkey)) < 0 ||
        (r = add_ext(x, x, NID_basic_constraints, "critical,CA:TRUE")) < 0 ||
        (r = add_ext(x, x, NID_key_usage, "critical,keyCertSign,cRLSign")) < 0 ||
        (r = add_ext(x, x, NID_subject_key_identifier, "hash")) < 0 ||
        (r = add_ext(x, x, NID_authority_key_identifier, "keyid:always")) < 0 ||
        (r = x509_sign_tpm(h, x)) < 0)
        goto out;
    *out = x;
    x = NULL;
out:
    X509_free(x);
    X509_NAME_free(name);
    EVP_PKEY_free(pkey);
    return r;
}

int x509_make_issuer_cert(struct hosttpm *h, EVP_PKEY *pub, time_t not_before,
                          time_t not_after, X509 **out)
{
    X509_NAME *name = NULL;
    X509 *x = X509_new();
    int r = -ENOMEM;

    if (!x)
        return -ENOMEM;
    if ((r = key_subject(pub, "vtpm-attest vTPM issuer", &name)) < 0)
        goto out;
    r = -ENOMEM;
    if (cert_skeleton(x, X509_get_subject_name(h->ca_cert), name, pub) < 0 ||
        !X509_time_adj_ex(X509_getm_notBefore(x), 0, 0, &not_before) ||
        !X509_time_adj_ex(X509_getm_notAfter(x), 0, 0, &not_after))
        goto out;
    /* pathlen 0: the issuer signs EK certificates, never another CA. */
    if ((r = add_ext(x, h->ca_cert, NID_basic_constraints, "critical,CA:TRUE,pathlen:0")) < 0 ||
        (r = add_ext(x, h->ca_cert, NID_key_usage, "critical,keyCertSign")) < 0 ||
        (r = add_ext(x, h->ca_cert, NID_subject_key_identifier, "hash")) < 0 ||
        (r = add_ext(x, h->ca_cert, NID_authority_key_identifier, "keyid:always")) < 0 ||
        (r = x509_sign_tpm(h, x)) < 0)
        goto out;
    *out = x;
    x = NULL;
out:
    X509_free(x);
    X509_NAME_free(name);
    return r;
}

static int push_name(GENERAL_NAMES *gens, int type, void *value)
{
    GENERAL_NAME *g = GENERAL_NAME_new();

    if (!g)
        return -ENOMEM;
    GENERAL_NAME_set0_value(g, type, value);
    if (!sk_GENERAL_NAME_push(gens, g)) {
        GENERAL_NAME_free(g); /* frees value too */
        return -ENOMEM;
    }
    return 0;
}

static X509_NAME *tcg_dirname(void)
{
    static const char *const attr[3][2] = {
        { OID_TCG_MANUFACTURER, VTPM_TCG_MANUFACTURER },
        { OID_TCG_MODEL, VTPM_TCG_MODEL },
        { OID_TCG_VERSION, VTPM_TCG_VERSION },
    };
    X509_NAME *dn = X509_NAME_new();

    for (size_t i = 0; dn && i < 3; i++) {
        ASN1_OBJECT *obj = OBJ_txt2obj(attr[i][0], 1);
        int ok = obj && X509_NAME_add_entry_by_OBJ(dn, obj, MBSTRING_UTF8,
                                                   (const uint8_t *)attr[i][1], -1, -1, 0);
        ASN1_OBJECT_free(obj);
        if (!ok) {
            X509_NAME_free(dn);
            dn = NULL;
        }
    }
    return dn;
}

/* Critical subjectAltName: TCG directoryName + "urn:uuid:<uuid>" (the subject is empty). */
static int add_ek_san(X509 *x, const uint8_t u[16])
{
    GENERAL_NAMES *gens = sk_GENERAL_NAME_new_null();
    X509_NAME *dn = tcg_dirname();
    ASN1_IA5STRING *uri = ASN1_IA5STRING_new();
    char s[64];
    int r = -ENOMEM;

    snprintf(s, sizeof(s),
             "urn:uuid:%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
             u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11], u[12],
             u[13], u[14], u[15]);
    if (!gens || !dn || !uri || !ASN1_STRING_set(uri, s, -1))
        goto out;
    r = push_name(gens, GEN_DIRNAME, dn);
    dn = NULL;
    if (r == 0)
        r = push_name(gens, GEN_URI, uri);
    uri = NULL;
    if (r == 0 && X509_add1_ext_i2d(x, NID_subject_alt_name, gens, 1, X509V3_ADD_DEFAULT) != 1)
        r = -ENOMEM;
out:
    ASN1_IA5STRING_free(uri);
    X509_NAME_free(dn);
    GENERAL_NAMES_free(gens);
    return r;
}

static int add_ek_exts(X509 *x, X509 *ca, int rsa, const uint8_t uuid[16])
{
    int r;

    if ((r = add_ek_san(x, uuid)) < 0 ||
        (r = add_ext(x, ca, NID_basic_constraints, "critical,CA:FALSE")) < 0 ||
        (r = add_ext(x, ca, NID_key_usage,
                     rsa ? "critical,keyEncipherment" : "critical,keyAgreement")) < 0 ||
        (r = add_ext(x, ca, NID_ext_key_usage, OID_TCG_KP_EKCERT)) < 0 ||
        (r = add_ext(x, ca, NID_subject_key_identifier, "hash")) < 0 ||
        (r = add_ext(x, ca, NID_authority_key_identifier, "keyid:always")) < 0)
        return r;
    return 0;
}

int x509_make_ek_cert(X509 *issuer, EVP_PKEY *issuer_key, const TPM2B_PUBLIC *ekpub,
                      const uint8_t uuid[16], X509 **out)
{
    EVP_PKEY *pkey = NULL;
    X509_NAME *empty = X509_NAME_new();
    X509 *x = X509_new();
    int r = -ENOMEM;

    if (!x || !empty)
        goto out;
    r = x509_pkey_from_tpm(ekpub, &pkey);
    if (r < 0) {
        LOG_ERROR("vTPM EK public key is not a usable RSA/ECC key");
        goto out;
    }
    if ((r = cert_skeleton(x, X509_get_subject_name(issuer), empty, pkey)) < 0 ||
        (r = add_ek_exts(x, issuer, ekpub->publicArea.type == TPM2_ALG_RSA, uuid)) < 0)
        goto out;
    if (X509_sign(x, issuer_key, EVP_sha256()) <= 0) {
        r = -EIO;
        goto out;
    }
    *out = x;
    x = NULL;
out:
    X509_free(x);
    X509_NAME_free(empty);
    EVP_PKEY_free(pkey);
    return r;
}

/* Into malloc() memory: callers free() it, whatever allocator OpenSSL was built with. */
int x509_to_der(X509 *x, uint8_t **der, size_t *len)
{
    int n = i2d_X509(x, NULL);
    uint8_t *p;

    if (n <= 0 || (*der = malloc((size_t)n)) == NULL)
        return -ENOMEM;
    p = *der;
    if (i2d_X509(x, &p) != n) {
        free(*der);
        *der = NULL;
        return -ENOMEM;
    }
    *len = (size_t)n;
    return 0;
}

static int bio_take(BIO *b, int ok, uint8_t **out, size_t *len)
{
    char *p = NULL;
    long n = ok ? BIO_get_mem_data(b, &p) : 0;
    int r = -ENOMEM;

    if (n > 0 && (*out = malloc((size_t)n)) != NULL) {
        memcpy(*out, p, (size_t)n);
        *len = (size_t)n;
        r = 0;
    }
    BIO_free(b);
    return r;
}

int x509_to_pem(X509 *x, uint8_t **pem, size_t *len)
{
    BIO *b = BIO_new(BIO_s_mem());

    return b ? bio_take(b, PEM_write_bio_X509(b, x), pem, len) : -ENOMEM;
}

int x509_pkey_to_pem(EVP_PKEY *pkey, uint8_t **pem, size_t *len)
{
    BIO *b = BIO_new(BIO_s_mem());

    return b ? bio_take(b, PEM_write_bio_PUBKEY(b, pkey), pem, len) : -ENOMEM;
}
