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

static const char k_magic[8] = { 'V', 'T', 'P', 'M', 'S', 'T', '0', '1' };
static const char k_info[] = "vtpm-attest state v1";

int state_derive_key(const uint8_t master[STATE_KEY_LEN], const uint8_t uuid[16],
                     uint8_t out[STATE_KEY_LEN])
{
    EVP_KDF *kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
    EVP_KDF_CTX *ctx = kdf ? EVP_KDF_CTX_new(kdf) : NULL;
    uint8_t info[sizeof(k_info) - 1 + 16];
    OSSL_PARAM p[5];
    int r = -EIO;

    memcpy(info, k_info, sizeof(k_info) - 1);
    memcpy(info + sizeof(k_info) - 1, uuid, 16);
    p[0] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)"SHA256", 0);
    p[1] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)master, STATE_KEY_LEN);
    p[2] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, info, sizeof(info));
    p[3] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)k_magic,
                                             sizeof(k_magic));
    p[4] = OSSL_PARAM_construct_end();
    if (ctx && EVP_KDF_derive(ctx, out, STATE_KEY_LEN, p) == 1)
        r = 0;
    EVP_KDF_CTX_free(ctx);
    EVP_KDF_free(kdf);
    return r;
}

static void make_aad(uint8_t aad[STATE_HDR_LEN + 16], const uint8_t *hdr, const uint8_t *uuid)
{
    memcpy(aad, hdr, STATE_HDR_LEN);
    memcpy(aad + STATE_HDR_LEN, uuid, 16);
}

/* One GCM pass; enc = 1 encrypts, 0 decrypts and checks tag. */
static int gcm(int enc, const uint8_t *key, const uint8_t *iv, const uint8_t *aad,
               const uint8_t *in, size_t len, uint8_t *out, uint8_t *tag)
{
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    int n, r = enc ? -EIO : -EBADMSG;

    if (!c || len > INT32_MAX)
        goto out;
    if (EVP_CipherInit_ex(c, EVP_aes_256_gcm(), NULL, key, iv, enc) != 1 ||
        EVP_CipherUpdate(c, NULL, &n, aad, STATE_HDR_LEN + 16) != 1 ||
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
               const uint8_t *pt, size_t len, uint8_t **out, size_t *outlen)
{
    size_t total = STATE_HDR_LEN + len + STATE_TAG_LEN;
    uint8_t aad[STATE_HDR_LEN + 16];
    uint8_t *buf;
    int r;

    if (len > STATE_MAX_BLOB || kind < VTPM_STATE_PERM || kind > VTPM_STATE_VOL)
        return -EINVAL;
    buf = calloc(1, total);
    if (!buf)
        return -ENOMEM;
    memcpy(buf, k_magic, sizeof(k_magic));
    buf[8] = (uint8_t)kind;
    if (RAND_bytes(buf + 12, 12) != 1) {
        free(buf);
        return -EIO;
    }
    make_aad(aad, buf, uuid);
    r = gcm(1, key, buf + 12, aad, pt, len, buf + STATE_HDR_LEN, buf + STATE_HDR_LEN + len);
    if (r) {
        free(buf);
        return r;
    }
    *out = buf;
    *outlen = total;
    return 0;
}

int state_unseal(const uint8_t key[STATE_KEY_LEN], const uint8_t uuid[16], int kind,
                 const uint8_t *in, size_t inlen, uint8_t **pt, size_t *ptlen)
{
    uint8_t aad[STATE_HDR_LEN + 16], tag[STATE_TAG_LEN];
    size_t len;
    uint8_t *buf;

    if (inlen < STATE_HDR_LEN + STATE_TAG_LEN || memcmp(in, k_magic, sizeof(k_magic)) ||
        in[8] != kind || in[9] || in[10] || in[11])
        return -EBADMSG;
    len = inlen - STATE_HDR_LEN - STATE_TAG_LEN;
    buf = malloc(len + 1);
    if (!buf)
        return -ENOMEM;
    make_aad(aad, in, uuid);
    memcpy(tag, in + STATE_HDR_LEN + len, STATE_TAG_LEN);
    if (gcm(0, key, in + 12, aad, in + STATE_HDR_LEN, len, buf, tag) != 0) {
        secure_free(buf, len + 1);
        return -EBADMSG;
    }
    *pt = buf;
    *ptlen = len;
    return 0;
}

static const char *kind_file(int kind)
{
    return kind == VTPM_STATE_VOL ? STATE_FILE_VOL : STATE_FILE_PERM;
}

int state_write(int dirfd, const uint8_t key[STATE_KEY_LEN], const uint8_t uuid[16], int kind,
                const uint8_t *pt, size_t len)
{
    uint8_t *img;
    size_t imglen;
    int r = state_seal(key, uuid, kind, pt, len, &img, &imglen);

    if (r)
        return r;
    r = file_write_atomic(dirfd, kind_file(kind), img, imglen, 0600);
    free(img);
    return r;
}

int state_read(int dirfd, const uint8_t key[STATE_KEY_LEN], const uint8_t uuid[16], int kind,
               uint8_t **pt, size_t *ptlen)
{
    uint8_t *img;
    size_t imglen;
    int r = file_read_all(dirfd, kind_file(kind), STATE_MAX_BLOB + 64, &img, &imglen);

    if (r)
        return r;
    r = state_unseal(key, uuid, kind, img, imglen, pt, ptlen);
    free(img);
    return r;
}
