/* SPDX-License-Identifier: BSD-3-Clause */
/* TPM structures the verifier reads (Tss2_MU) and their OpenSSL counterparts. */
#include "check/tpmobj.h"

#include <errno.h>
#include <pthread.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/err.h>
#include <openssl/obj_mac.h>
#include <openssl/param_build.h>
#include <openssl/rsa.h>
#include <tss2/tss2_mu.h>

int tpm_public_parse(const uint8_t *buf, size_t len, TPM2B_PUBLIC *out)
{
    size_t off = 0;

    memset(out, 0, sizeof(*out));
    if (Tss2_MU_TPM2B_PUBLIC_Unmarshal(buf, len, &off, out) != TSS2_RC_SUCCESS || off != len ||
        out->size == 0)
        return -EBADMSG;
    return 0;
}

int tpm_attest_parse(const uint8_t *buf, size_t len, TPMS_ATTEST *out)
{
    size_t off = 0;

    memset(out, 0, sizeof(*out));
    if (Tss2_MU_TPMS_ATTEST_Unmarshal(buf, len, &off, out) != TSS2_RC_SUCCESS || off != len)
        return -EBADMSG;
    return 0;
}

int tpm_signature_parse(const uint8_t *buf, size_t len, TPMT_SIGNATURE *out)
{
    size_t off = 0;

    memset(out, 0, sizeof(*out));
    if (Tss2_MU_TPMT_SIGNATURE_Unmarshal(buf, len, &off, out) != TSS2_RC_SUCCESS || off != len)
        return -EBADMSG;
    return 0;
}

/*
 * Digests and P-curve key templates fetched once per process: OpenSSL 3 looks EVP_sha256()
 * and the one-shot SHA256() up in its provider store again on every use, and builds a curve's
 * group (Montgomery constants, generator) again for every key made from its name.
 */
static EVP_MD *g_md[3];
static EVP_PKEY *g_curve[3];
static pthread_once_t g_fetch_once = PTHREAD_ONCE_INIT;
static const char *const curve_names[3] = { SN_X9_62_prime256v1, SN_secp384r1, SN_secp521r1 };

/* A key of the named curve with no point: the template new public keys are copied from. */
static EVP_PKEY *curve_template(const char *name)
{
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
    OSSL_PARAM p[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, (char *)name, 0),
        OSSL_PARAM_construct_end(),
    };
    EVP_PKEY *k = NULL;

    if (!ctx || EVP_PKEY_fromdata_init(ctx) <= 0 ||
        EVP_PKEY_fromdata(ctx, &k, EVP_PKEY_KEY_PARAMETERS, p) <= 0)
        k = NULL;
    EVP_PKEY_CTX_free(ctx);
    return k;
}

static void fetch_init(void)
{
    static const char *const names[3] = { "SHA256", "SHA384", "SHA512" };

    for (int i = 0; i < 3; i++) {
        g_md[i] = EVP_MD_fetch(NULL, names[i], NULL);
        g_curve[i] = curve_template(curve_names[i]);
    }
    ERR_clear_error();
}

const EVP_MD *tpm_md(TPMI_ALG_HASH alg)
{
    int i;

    switch (alg) {
    case TPM2_ALG_SHA256: i = 0; break;
    case TPM2_ALG_SHA384: i = 1; break;
    case TPM2_ALG_SHA512: i = 2; break;
    default: return NULL;
    }
    pthread_once(&g_fetch_once, fetch_init);
    if (g_md[i])
        return g_md[i];
    return i == 0 ? EVP_sha256() : i == 1 ? EVP_sha384() : EVP_sha512();
}

int tpm_sha256(const void *p, size_t len, uint8_t md[32])
{
    unsigned int n = 0;

    return EVP_Digest(p, len, md, &n, tpm_md(TPM2_ALG_SHA256), NULL) == 1 && n == 32 ? 0 : -1;
}

static EVP_PKEY *from_params(const char *type, OSSL_PARAM_BLD *bld)
{
    OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(bld);
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL);
    EVP_PKEY *key = NULL;

    if (!params || !ctx || EVP_PKEY_fromdata_init(ctx) <= 0 ||
        EVP_PKEY_fromdata(ctx, &key, EVP_PKEY_PUBLIC_KEY, params) <= 0)
        key = NULL;
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params);
    return key;
}

static EVP_PKEY *rsa_pkey(const TPMT_PUBLIC *p)
{
    const TPMS_RSA_PARMS *rp = &p->parameters.rsaDetail;
    uint32_t exp = rp->exponent ? rp->exponent : 65537u;
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    BIGNUM *n = BN_bin2bn(p->unique.rsa.buffer, p->unique.rsa.size, NULL);
    BIGNUM *e = BN_new();
    EVP_PKEY *key = NULL;

    if (!bld || !n || !e || !BN_set_word(e, exp) || p->unique.rsa.size * 8u != rp->keyBits ||
        rp->keyBits < 2048)
        goto out;
    if (!OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) ||
        !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e))
        goto out;
    key = from_params("RSA", bld);
out:
    BN_free(n);
    BN_free(e);
    OSSL_PARAM_BLD_free(bld);
    return key;
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

EVP_PKEY *tpm_ec_point_pkey(const char *group, const uint8_t *pt, size_t len)
{
    EVP_PKEY *tmpl = NULL, *key = NULL;
    OSSL_PARAM_BLD *bld;

    pthread_once(&g_fetch_once, fetch_init);
    for (int i = 0; i < 3; i++)
        if (!strcmp(group, curve_names[i]))
            tmpl = g_curve[i];
    /* A copy of the curve's template with the point set: EC_POINT_oct2point as in
     * EVP_PKEY_fromdata, which checks the point is on the curve. */
    if (tmpl) {
        key = EVP_PKEY_dup(tmpl);
        if (key && EVP_PKEY_set1_encoded_public_key(key, pt, len) != 1) {
            EVP_PKEY_free(key);
            key = NULL;
        }
        ERR_clear_error();
        return key;
    }
    bld = OSSL_PARAM_BLD_new();
    if (bld && OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, group, 0) &&
        OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pt, len))
        key = from_params("EC", bld);
    OSSL_PARAM_BLD_free(bld);
    ERR_clear_error();
    return key;
}

/* Uncompressed point 04||X||Y; the TPM may drop leading zero bytes of a coordinate. */
static EVP_PKEY *ecc_pkey(const TPMT_PUBLIC *p)
{
    const TPMS_ECC_POINT *q = &p->unique.ecc;
    uint8_t pt[1 + 2 * 66] = { 0x04 };
    size_t c = 0;
    const char *grp = ecc_group(p->parameters.eccDetail.curveID, &c);

    if (!grp || q->x.size == 0 || q->y.size == 0 || q->x.size > c || q->y.size > c)
        return NULL;
    memcpy(pt + 1 + c - q->x.size, q->x.buffer, q->x.size);
    memcpy(pt + 1 + 2 * c - q->y.size, q->y.buffer, q->y.size);
    return tpm_ec_point_pkey(grp, pt, 1 + 2 * c);
}

EVP_PKEY *tpm_public_pkey(const TPMT_PUBLIC *pub)
{
    switch (pub->type) {
    case TPM2_ALG_RSA: return rsa_pkey(pub);
    case TPM2_ALG_ECC: return ecc_pkey(pub);
    default: return NULL;
    }
}

int tpm_public_name(const TPMT_PUBLIC *pub, uint8_t name[TPM_NAME_MAX], size_t *len)
{
    uint8_t buf[sizeof(TPMT_PUBLIC)];
    size_t off = 0;
    unsigned int mdlen = 0;
    const EVP_MD *md = tpm_md(pub->nameAlg);

    if (!md || Tss2_MU_TPMT_PUBLIC_Marshal(pub, buf, sizeof(buf), &off) != TSS2_RC_SUCCESS)
        return -EINVAL;
    name[0] = (uint8_t)(pub->nameAlg >> 8);
    name[1] = (uint8_t)pub->nameAlg;
    if (!EVP_Digest(buf, off, name + 2, &mdlen, md, NULL))
        return -EINVAL;
    *len = 2 + mdlen;
    return 0;
}

int tpm_public_is_ak(const TPMT_PUBLIC *pub)
{
    TPMA_OBJECT need = TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_SIGN_ENCRYPT | TPMA_OBJECT_FIXEDTPM |
                       TPMA_OBJECT_FIXEDPARENT | TPMA_OBJECT_SENSITIVEDATAORIGIN;

    return (pub->objectAttributes & need) == need &&
           !(pub->objectAttributes & TPMA_OBJECT_DECRYPT) &&
           (pub->type == TPM2_ALG_ECC || pub->type == TPM2_ALG_RSA);
}

/* ECDSA r,s -> DER ECDSA-Sig-Value (callee-allocated). */
static int ecdsa_der(const TPMS_SIGNATURE_ECC *e, uint8_t **der, int *derlen)
{
    ECDSA_SIG *s = ECDSA_SIG_new();
    BIGNUM *r = BN_bin2bn(e->signatureR.buffer, e->signatureR.size, NULL);
    BIGNUM *sv = BN_bin2bn(e->signatureS.buffer, e->signatureS.size, NULL);
    int rc = -1;

    if (!s || !r || !sv || !ECDSA_SIG_set0(s, r, sv))
        goto out;
    r = sv = NULL; /* owned by s */
    *der = NULL;
    *derlen = i2d_ECDSA_SIG(s, der);
    rc = *derlen > 0 ? 0 : -1;
out:
    BN_free(r);
    BN_free(sv);
    ECDSA_SIG_free(s);
    return rc;
}

static int verify_raw(EVP_PKEY *key, const EVP_MD *md, int pad, const uint8_t *sig, size_t siglen,
                      const uint8_t *msg, size_t len)
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pctx = NULL;
    int ok = 0;

    if (!ctx || EVP_DigestVerifyInit(ctx, &pctx, md, NULL, key) <= 0)
        goto out;
    if (pad && (EVP_PKEY_CTX_set_rsa_padding(pctx, pad) <= 0 ||
                (pad == RSA_PKCS1_PSS_PADDING &&
                 EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_AUTO) <= 0)))
        goto out;
    ok = EVP_DigestVerify(ctx, sig, siglen, msg, len) == 1;
out:
    EVP_MD_CTX_free(ctx);
    return ok;
}

static int verify_ecdsa(EVP_PKEY *key, const TPMT_SIGNATURE *sig, const uint8_t *msg, size_t len)
{
    const EVP_MD *md = tpm_md(sig->signature.ecdsa.hash);
    uint8_t *der = NULL;
    int derlen = 0, ok;

    if (!md || EVP_PKEY_get_base_id(key) != EVP_PKEY_EC ||
        ecdsa_der(&sig->signature.ecdsa, &der, &derlen) < 0)
        return 0;
    ok = verify_raw(key, md, 0, der, (size_t)derlen, msg, len);
    OPENSSL_free(der);
    return ok;
}

static int verify_rsa(EVP_PKEY *key, const TPMT_SIGNATURE *sig, const uint8_t *msg, size_t len,
                      int pad)
{
    const TPMS_SIGNATURE_RSA *rs = &sig->signature.rsassa;
    const EVP_MD *md = tpm_md(rs->hash);

    if (!md || EVP_PKEY_get_base_id(key) != EVP_PKEY_RSA)
        return 0;
    return verify_raw(key, md, pad, rs->sig.buffer, rs->sig.size, msg, len);
}

int tpm_signature_verify(EVP_PKEY *key, const TPMT_SIGNATURE *sig, const uint8_t *msg, size_t len)
{
    switch (sig->sigAlg) {
    case TPM2_ALG_ECDSA: return verify_ecdsa(key, sig, msg, len);
    case TPM2_ALG_RSASSA: return verify_rsa(key, sig, msg, len, RSA_PKCS1_PADDING);
    case TPM2_ALG_RSAPSS: return verify_rsa(key, sig, msg, len, RSA_PKCS1_PSS_PADDING);
    default: return 0;
    }
}
