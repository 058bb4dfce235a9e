/* SPDX-License-Identifier: BSD-3-Clause */
/* SHA-256 helpers of the agent (OpenSSL EVP): buffers, streamed files, hex encoding. */
#include "digest.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "hexutil.h"

#define READ_CHUNK (256u * 1024u)

int digest_buf(const void *data, size_t len, uint8_t out[DIGEST_LEN])
{
    unsigned int n = 0;

    if (!EVP_Digest(data, len, out, &n, EVP_sha256(), NULL) || n != DIGEST_LEN)
        return -EIO;
    return 0;
}

static int digest_stream(EVP_MD_CTX *ctx, int fd, uint8_t *buf)
{
    for (;;) {
        ssize_t n = read(fd, buf, READ_CHUNK);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        if (n == 0)
            return 0;
        if (!EVP_DigestUpdate(ctx, buf, (size_t)n))
            return -EIO;
    }
}

int digest_fd(int fd, uint8_t out[DIGEST_LEN])
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    uint8_t *buf = malloc(READ_CHUNK);
    unsigned int n = 0;
    int r = -ENOMEM;

    if (!ctx || !buf)
        goto out;
    r = -EIO;
    if (!EVP_DigestInit_ex(ctx, EVP_sha256(), NULL))
        goto out;
    r = digest_stream(ctx, fd, buf);
    if (r == 0 && (!EVP_DigestFinal_ex(ctx, out, &n) || n != DIGEST_LEN))
        r = -EIO;
out:
    free(buf);
    EVP_MD_CTX_free(ctx);
    return r;
}

int digest_path(int dirfd, const char *path, uint8_t out[DIGEST_LEN])
{
    int fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC | O_NOCTTY), r;

    if (fd < 0)
        return -errno;
    r = digest_fd(fd, out);
    close(fd);
    return r;
}

void digest_text(const uint8_t d[DIGEST_LEN], char out[DIGEST_TEXT_LEN])
{
    memcpy(out, "sha256:", 7);
    hex_encode(d, DIGEST_LEN, out + 7);
}

int hex_decode(const char *hex, uint8_t **out, size_t *len)
{
    size_t n = hex ? strlen(hex) : 1;
    uint8_t *b;

    if (n % 2)
        return -EINVAL;
    b = malloc(n / 2 ? n / 2 : 1);
    if (!b)
        return -ENOMEM;
    if (hex_decode_exact(hex, b, n / 2) < 0) {
        free(b);
        return -EINVAL;
    }
    *out = b;
    *len = n / 2;
    return 0;
}

int digest_extend(uint8_t pcr[DIGEST_LEN], const uint8_t d[DIGEST_LEN])
{
    uint8_t cat[2 * DIGEST_LEN];

    memcpy(cat, pcr, DIGEST_LEN);
    memcpy(cat + DIGEST_LEN, d, DIGEST_LEN);
    return digest_buf(cat, sizeof(cat), pcr);
}
