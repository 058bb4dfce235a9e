/* SPDX-License-Identifier: BSD-3-Clause */
/* vTPM state at rest: authenticated encryption (AES-256-GCM, OpenSSL) and durable files. */
#include "statestore.h"

#include <errno.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>

#include "fileio.h"
#include "secmem.h"
#include "vtpm_ipc.h"

/* v1 files (no generation) are still read, as generation 0: the first start with a rollback
 * counter adopts them; once a manifest exists, a v1 file is older than any file it lists. */
static const char k_magic1[8] = { 'V', 'T', 'P', 'M', 'S', 'T', '0', '1' };
static const char k_magic[8] = { 'V', 'T', 'P', 'M', 'S', 'T', '0', '2' };
static const char k_info[] = "vtpm-attest state v1";
static const char k_mf_info[] = "vtpm-attest manifest v1";
static const char k_issuer_info[] = "vtpm-attest issuer key v1";
#define STATE_HDR1_LEN 24

static int hkdf(const uint8_t master[STATE_KEY_LEN], const uint8_t *info, size_t info_len,
                uint8_t out[STATE_KEY_LEN])
{
    EVP_KDF *kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
    EVP_KDF_CTX *ctx = kdf ? EVP_KDF_CTX_new(kdf) : NULL;
    OSSL_PARAM p[5];
    int r = -EIO;

    p[0] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)"SHA256", 0);
    p[1] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)master, STATE_KEY_LEN);
    p[2] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, (void *)info, info_len);
    /* The salt stays the v1 magic: per-vTPM keys did not change with the header version. */
    p[3] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)k_magic1,
                                             sizeof(k_magic1));
    p[4] = OSSL_PARAM_construct_end();
    if (ctx && EVP_KDF_derive(ctx, out, STATE_KEY_LEN, p) == 1)
        r = 0;
    EVP_KDF_CTX_free(ctx);
    EVP_KDF_free(kdf);
    return r;
}

int state_derive_key(const uint8_t master[STATE_KEY_LEN], const uint8_t uuid[16],
                     uint8_t out[STATE_KEY_LEN])
{
    uint8_t info[sizeof(k_info) - 1 + 16];

    memcpy(info, k_info, sizeof(k_info) - 1);
    memcpy(info + sizeof(k_info) - 1, uuid, 16);
    return hkdf(master, info, sizeof(info), out);
}

int state_derive_manifest_key(const uint8_t master[STATE_KEY_LEN], uint8_t out[STATE_KEY_LEN])
{
    return hkdf(master, (const uint8_t *)k_mf_info, sizeof(k_mf_info) - 1, out);
}

int state_derive_issuer_key(const uint8_t master[STATE_KEY_LEN], uint8_t out[STATE_KEY_LEN])
{
    return hkdf(master, (const uint8_t *)k_issuer_info, sizeof(k_issuer_info) - 1, out);
}

/* One GCM pass over a header of hlen bytes; enc = 1 encrypts, 0 decrypts and checks tag.
 * The AAD is the header followed by the UUID. */
static int gcm(int enc, const uint8_t *key, const uint8_t *hdr, size_t hlen,
               const uint8_t *uuid, const uint8_t *in, size_t len, uint8_t *out, uint8_t *tag)
{
    const uint8_t *iv = hdr + hlen - 12;

    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    int n, r = enc ? -EIO : -EBADMSG;

    if (!c || len > INT32_MAX)
        goto out;
    if (EVP_CipherInit_ex(c, EVP_aes_256_gcm(), NULL, key, iv, enc) != 1 ||
        EVP_CipherUpdate(c, NULL, &n, hdr, (int)hlen) != 1 ||
        EVP_CipherUpdate(c, NULL, &n, uuid, 16) != 1 ||
        (len && EVP_CipherUpdate(c, out, &n, in, (int)len) != 1))
        goto out;
    if (!enc && EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, STATE_TAG_LEN, tag) != 1)
        goto out;
    if (EVP_CipherFinal_ex(c, out + len, &n) != 1)
        goto out;
    if (enc && EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, STATE_TAG_LEN, tag) != 1)
        goto out;
    r = 0;
out:
    EVP_CIPHER_CTX_free(c);
    return r;
}

int state_seal(const uint8_t key[STATE_KEY_LEN], const uint8_t uuid[16], int kind,
               uint64_t gen, const uint8_t *pt, size_t len, uint8_t **out, size_t *outlen)
{
    size_t total = STATE_HDR_LEN + len + STATE_TAG_LEN;
    uint8_t *buf;
    int r;

    if (len > STATE_MAX_BLOB || kind < VTPM_STATE_PERM || kind > VTPM_STATE_VOL)
        return -EINVAL;
    buf = calloc(1, total);
    if (!buf)
        return -ENOMEM;
    memcpy(buf, k_magic, sizeof(k_magic));
    buf[8] = (uint8_t)kind;
    for (int i = 0; i < 8; i++)
        buf[12 + i] = (uint8_t)(gen >> (56 - 8 * i));
    if (RAND_bytes(buf + 20, 12) != 1) {
        free(buf);
        return -EIO;
    }
    r = gcm(1, key, buf, STATE_HDR_LEN, uuid, pt, len, buf + STATE_HDR_LEN,
            buf + STATE_HDR_LEN + len);
    if (r) {
        free(buf);
        return r;
    }
    *out = buf;
    *outlen = total;
    return 0;
}

/* Header length of a file image by its magic (v2 or v1), 0 when neither. */
static size_t header_len(const uint8_t *in, size_t inlen)
{
    if (inlen >= STATE_HDR_LEN + STATE_TAG_LEN && !memcmp(in, k_magic, sizeof(k_magic)))
        return STATE_HDR_LEN;
    if (inlen >= STATE_HDR1_LEN + STATE_TAG_LEN && !memcmp(in, k_magic1, sizeof(k_magic1)))
        return STATE_HDR1_LEN;
    return 0;
}

int state_unseal(const uint8_t key[STATE_KEY_LEN], const uint8_t uuid[16], int kind,
                 const uint8_t *in, size_t inlen, uint64_t *gen, uint8_t **pt, size_t *ptlen)
{
    uint8_t tag[STATE_TAG_LEN];
    size_t hlen = header_len(in, inlen), len;
    uint8_t *buf;
    uint64_t g = 0;

    if (!hlen || in[8] != kind || in[9] || in[10] || in[11])
        return -EBADMSG;
    len = inlen - hlen - STATE_TAG_LEN;
    buf = malloc(len + 1);
    if (!buf)
        return -ENOMEM;
    memcpy(tag, in + hlen + len, STATE_TAG_LEN);
    if (gcm(0, key, in, hlen, uuid, in + hlen, len, buf, tag) != 0) {
        secure_free(buf, len + 1);
        return -EBADMSG;
    }
    for (size_t i = 0; hlen == STATE_HDR_LEN && i < 8; i++)
        g = g << 8 | in[12 + i];
    if (gen)
        *gen = g;
    *pt = buf;
    *ptlen = len;
    return 0;
}

static const char *kind_file(int kind)
{
    return kind == VTPM_STATE_VOL ? STATE_FILE_VOL : STATE_FILE_PERM;
}

int state_write(int dirfd, const uint8_t key[STATE_KEY_LEN], const uint8_t uuid[16], int kind,
                uint64_t gen, const uint8_t *pt, size_t len)
{
    uint8_t *img;
    size_t imglen;
    int r = state_seal(key, uuid, kind, gen, pt, len, &img, &imglen);

    if (r)
        return r;
    r = file_write_atomic(dirfd, kind_file(kind), img, imglen, 0600);
    free(img);
    return r;
}

int state_read(int dirfd, const uint8_t key[STATE_KEY_LEN], const uint8_t uuid[16], int kind,
               uint64_t *gen, uint8_t **pt, size_t *ptlen)
{
    uint8_t *img;
    size_t imglen;
    int r = file_read_all(dirfd, kind_file(kind), STATE_MAX_BLOB + 64, &img, &imglen);

    if (r)
        return r;
    r = state_unseal(key, uuid, kind, img, imglen, gen, pt, ptlen);
    free(img);
    return r;
}
