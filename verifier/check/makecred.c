/* SPDX-License-Identifier: BSD-3-Clause */
/* TPM2_MakeCredential in software (TPM 2.0 Part 1 §24, Part 3 §12.6) for RSA and ECC EKs. */
#include "check/makecred.h"

#include <errno.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <tss2/tss2_mu.h>

#define MAX_MD    64u
#define MAX_LABEL 32u
#define MAX_PARTY 128u
#define KDF_MSG   (4u + MAX_LABEL + 1u + 2u * MAX_PARTY + 4u)

static void be32(uint8_t b[4], uint32_t v)
{
    b[0] = (uint8_t)(v >> 24);
    b[1] = (uint8_t)(v >> 16);
    b[2] = (uint8_t)(v >> 8);
    b[3] = (uint8_t)v;
}

/* counter || label || 0 || u || v [|| bits]; the KDFs differ only in what surrounds it. */
static int kdf_msg(uint8_t msg[KDF_MSG], uint32_t ctr, const char *label, const uint8_t *u,
                   size_t ulen, const uint8_t *v, size_t vlen, size_t *ml)
{
    size_t ll = strlen(label), n = 0;

    if (ll > MAX_LABEL || ulen > MAX_PARTY || vlen > MAX_PARTY)
        return -EINVAL;
    be32(msg, ctr);
    n = 4;
    memcpy(msg + n, label, ll);
    n += ll;
    msg[n++] = 0;
    if (ulen)
        memcpy(msg + n, u, ulen);
    n += ulen;
    if (vlen)
        memcpy(msg + n, v, vlen);
    n += vlen;
    *ml = n;
    return 0;
}

int makecred_kdfa(const EVP_MD *md, const uint8_t *key, size_t keylen, const char *label,
                  const uint8_t *u, size_t ulen, const uint8_t *v, size_t vlen, uint8_t *out,
                  size_t outlen)
{
    uint8_t msg[KDF_MSG], blk[MAX_MD];
    size_t done = 0, ml, mdlen = (size_t)EVP_MD_get_size(md);
    int r = -EINVAL;

    for (uint32_t i = 1; done < outlen; i++) {
        unsigned int l = 0;
        if (kdf_msg(msg, i, label, u, ulen, v, vlen, &ml) < 0)
            goto out;
        be32(msg + ml, (uint32_t)(outlen * 8));
        if (!HMAC(md, key, (int)keylen, msg, ml + 4, blk, &l) || l != mdlen)
            goto out;
        memcpy(out + done, blk, outlen - done < mdlen ? outlen - done : mdlen);
        done += mdlen;
    }
    r = 0;
out:
    explicit_bzero(blk, sizeof(blk));
    return r;
}

int makecred_kdfe(const EVP_MD *md, const uint8_t *z, size_t zlen, const char *label,
                  const uint8_t *u, size_t ulen, const uint8_t *v, size_t vlen, uint8_t *out,
                  size_t outlen)
{
    uint8_t msg[KDF_MSG], blk[MAX_MD];
    size_t done = 0, ml, mdlen = (size_t)EVP_MD_get_size(md);
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    int r = -EINVAL;

    for (uint32_t i = 1; c && done < outlen; i++) {
        if (kdf_msg(msg, i, label, u, ulen, v, vlen, &ml) < 0)
            goto out;
        /* Hash(counter || Z || label || 0 || u || v): Z goes between counter and label. */
        if (!EVP_DigestInit_ex(c, md, NULL) || !EVP_DigestUpdate(c, msg, 4) ||
            !EVP_DigestUpdate(c, z, zlen) || !EVP_DigestUpdate(c, msg + 4, ml - 4) ||
            !EVP_DigestFinal_ex(c, blk, NULL))
            goto out;
        memcpy(out + done, blk, outlen - done < mdlen ? outlen - done : mdlen);
        done += mdlen;
    }
    r = c ? 0 : -ENOMEM;
out:
    EVP_MD_CTX_free(c);
    explicit_bzero(blk, sizeof(blk));
    return r;
}

static int aes_cfb(size_t bits, const uint8_t *key, uint8_t *buf, size_t len)
{
    static const uint8_t iv[16];
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    const EVP_CIPHER *ciph = bits == 256 ? EVP_aes_256_cfb128() : EVP_aes_128_cfb128();
    int l1 = 0, l2 = 0, ok;

    ok = c && EVP_EncryptInit_ex(c, ciph, NULL, key, iv) &&
         EVP_EncryptUpdate(c, buf, &l1, buf, (int)len) && EVP_EncryptFinal_ex(c, buf + l1, &l2);
    EVP_CIPHER_CTX_free(c);
    return ok && (size_t)(l1 + l2) == len ? 0 : -EINVAL;
}

/* encIdentity = AES-CFB(symKey, 0-IV, TPM2B_DIGEST(cred)); integrity = HMAC(encIdentity||name). */
int makecred_wrap(const EVP_MD *md, size_t aes_bits, const uint8_t *seed, size_t seedlen,
                  const uint8_t *name, size_t namelen, const uint8_t *cred, size_t credlen,
                  struct credential *out)
{
    TPM2B_DIGEST cv = { 0 }, integ = { 0 };
    TPM2B_ID_OBJECT id = { 0 };
    uint8_t sym[32], hkey[MAX_MD], enc[sizeof(TPM2B_DIGEST)], hmsg[sizeof(enc) + 2 + MAX_MD];
    size_t mdlen = (size_t)EVP_MD_get_size(md), elen = 0, off = 0;
    unsigned int hl = 0;
    int r = -EINVAL;

    if (credlen == 0 || credlen > mdlen || namelen > 2 + MAX_MD)
        goto out;
    cv.size = (UINT16)credlen;
    memcpy(cv.buffer, cred, credlen);
    if (Tss2_MU_TPM2B_DIGEST_Marshal(&cv, enc, sizeof(enc), &elen) ||
        makecred_kdfa(md, seed, seedlen, "STORAGE", name, namelen, NULL, 0, sym, aes_bits / 8) ||
        aes_cfb(aes_bits, sym, enc, elen) ||
        makecred_kdfa(md, seed, seedlen, "INTEGRITY", NULL, 0, NULL, 0, hkey, mdlen))
        goto out;
    memcpy(hmsg, enc, elen);
    memcpy(hmsg + elen, name, namelen);
    if (!HMAC(md, hkey, (int)mdlen, hmsg, elen + namelen, integ.buffer, &hl))
        goto out;
    integ.size = (UINT16)hl;
    if (Tss2_MU_TPM2B_DIGEST_Marshal(&integ, id.credential, sizeof(id.credential), &off) ||
        off + elen > sizeof(id.credential))
        goto out;
    memcpy(id.credential + off, enc, elen);
    id.size = (UINT16)(off + elen);
    out->id_len = 0;
    r = Tss2_MU_TPM2B_ID_OBJECT_Marshal(&id, out->id_object, sizeof(out->id_object),
                                        &out->id_len) ? -EINVAL : 0;
out:
    explicit_bzero(sym, sizeof(sym));
    explicit_bzero(hkey, sizeof(hkey));
    explicit_bzero(&cv, sizeof(cv));
    return r;
}

static int put_secret(struct credential *out, const uint8_t *b, size_t len)
{
    TPM2B_ENCRYPTED_SECRET s = { 0 };

    if (len > sizeof(s.secret))
        return -EINVAL;
    s.size = (UINT16)len;
    memcpy(s.secret, b, len);
    out->secret_len = 0;
    return Tss2_MU_TPM2B_ENCRYPTED_SECRET_Marshal(&s, out->secret, sizeof(out->secret),
                                                  &out->secret_len) ? -EINVAL : 0;
}

/* RSA: seed random, encrypted with RSA-OAEP(nameAlg, label "IDENTITY\0"). */
static int seed_rsa(EVP_PKEY *ek, const EVP_MD *md, uint8_t *seed, size_t seedlen,
                    struct credential *out)
{
    EVP_PKEY_CTX *c = EVP_PKEY_CTX_new(ek, NULL);
    uint8_t ct[512];
    size_t ctlen = sizeof(ct);
    char *label = OPENSSL_strdup("IDENTITY");
    int r = -EINVAL;

    if (!c || !label || RAND_bytes(seed, (int)seedlen) != 1 || EVP_PKEY_encrypt_init(c) <= 0 ||
        EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_OAEP_PADDING) <= 0 ||
        EVP_PKEY_CTX_set_rsa_oaep_md(c, md) <= 0 || EVP_PKEY_CTX_set_rsa_mgf1_md(c, md) <= 0)
        goto out;
    if (EVP_PKEY_CTX_set0_rsa_oaep_label(c, label, sizeof("IDENTITY")) <= 0)
        goto out;
    label = NULL; /* owned by c */
    if (EVP_PKEY_encrypt(c, ct, &ctlen, seed, seedlen) > 0)
        r = put_secret(out, ct, ctlen);
out:
    OPENSSL_free(label);
    EVP_PKEY_CTX_free(c);
    return r;
}

static int bn_coord(EVP_PKEY *k, const char *param, uint8_t *out, size_t clen)
{
    BIGNUM *bn = NULL;
    int ok = EVP_PKEY_get_bn_param(k, param, &bn) == 1 && BN_bn2binpad(bn, out, (int)clen) > 0;

    BN_free(bn);
    return ok ? 0 : -EINVAL;
}

static int ecdh_z(EVP_PKEY *eph, EVP_PKEY *ek, uint8_t *z, size_t clen)
{
    EVP_PKEY_CTX *c = EVP_PKEY_CTX_new(eph, NULL);
    size_t zl = clen;
    int ok = c && EVP_PKEY_derive_init(c) > 0 && EVP_PKEY_derive_set_peer(c, ek) > 0 &&
             EVP_PKEY_derive(c, z, &zl) > 0 && zl == clen;

    EVP_PKEY_CTX_free(c);
    return ok ? 0 : -EINVAL;
}

/* ECC: ephemeral key e on the EK's curve; seed = KDFe(Z = (e*EK).x, "IDENTITY", e.x, EK.x);
 * the encrypted secret is e's public point (TPMS_ECC_POINT). */
static int seed_ecc(EVP_PKEY *ek, const EVP_MD *md, size_t clen, uint8_t *seed, size_t seedlen,
                    struct credential *out)
{
    char grp[64];
    EVP_PKEY *eph = NULL;
    TPMS_ECC_POINT pt = { 0 };
    uint8_t z[66], ekx[66], buf[sizeof(TPMS_ECC_POINT)];
    size_t off = 0;
    int r = -EINVAL;

    if (EVP_PKEY_get_utf8_string_param(ek, OSSL_PKEY_PARAM_GROUP_NAME, grp, sizeof(grp), NULL) != 1 ||
        !(eph = EVP_PKEY_Q_keygen(NULL, NULL, "EC", grp)))
        goto out;
    pt.x.size = pt.y.size = (UINT16)clen;
    if (bn_coord(eph, OSSL_PKEY_PARAM_EC_PUB_X, pt.x.buffer, clen) ||
        bn_coord(eph, OSSL_PKEY_PARAM_EC_PUB_Y, pt.y.buffer, clen) ||
        bn_coord(ek, OSSL_PKEY_PARAM_EC_PUB_X, ekx, clen) || ecdh_z(eph, ek, z, clen) ||
        makecred_kdfe(md, z, clen, "IDENTITY", pt.x.buffer, clen, ekx, clen, seed, seedlen) ||
        Tss2_MU_TPMS_ECC_POINT_Marshal(&pt, buf, sizeof(buf), &off))
        goto out;
    r = put_secret(out, buf, off);
out:
    explicit_bzero(z, sizeof(z));
    EVP_PKEY_free(eph);
    return r;
}

/* The TCG default EK templates' name and symmetric algorithms, from the key size. */
static int ek_params(EVP_PKEY *ek, const EVP_MD **md, size_t *aes_bits, size_t *clen)
{
    int bits = EVP_PKEY_get_bits(ek);

    switch (EVP_PKEY_get_base_id(ek)) {
    case EVP_PKEY_RSA:
        *clen = 0;
        break;
    case EVP_PKEY_EC:
        if (bits != 256 && bits != 384)
            return -ENOTSUP;
        *clen = (size_t)bits / 8;
        break;
    default:
        return -ENOTSUP;
    }
    if (bits == 256 || bits == 2048) {
        *md = EVP_sha256();
        *aes_bits = 128;
    } else if (bits == 384 || bits == 3072) {
        *md = EVP_sha384();
        *aes_bits = 256;
    } else {
        return -ENOTSUP;
    }
    return 0;
}

int makecred(EVP_PKEY *ek, const uint8_t *name, size_t namelen, const uint8_t *cred,
             size_t credlen, struct credential *out)
{
    const EVP_MD *md = NULL;
    size_t aes_bits = 0, clen = 0, seedlen;
    uint8_t seed[MAX_MD];
    int r = ek_params(ek, &md, &aes_bits, &clen);

    if (r < 0)
        return r;
    seedlen = (size_t)EVP_MD_get_size(md);
    r = clen ? seed_ecc(ek, md, clen, seed, seedlen, out) : seed_rsa(ek, md, seed, seedlen, out);
    if (r == 0)
        r = makecred_wrap(md, aes_bits, seed, seedlen, name, namelen, cred, credlen, out);
    explicit_bzero(seed, sizeof(seed));
    return r;
}
