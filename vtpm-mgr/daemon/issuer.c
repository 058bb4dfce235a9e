/* SPDX-License-Identifier: BSD-3-Clause */
/* The vTPM issuer key (issuer.h): load, check, rotate, and EK certificates signed with it. */
#include "issuer.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/x509v3.h>

#include "fileio.h"
#include "hosttpm_int.h"
#include "log.h"
#include "secmem.h"
#include "statestore.h"
#include "vtpm_ipc.h"

#define MAX_ISSUERS 100000 /* two a day for over a century */

struct issuer {
    struct hosttpm *h;          /* provisioned: h->ca_cert is vtpm-ca.pem */
    int dir_fd;                 /* the host directory (borrowed) */
    int issuers_fd;             /* its issuers/ (owned) */
    unsigned lifetime;
    uint8_t wrap[STATE_KEY_LEN]; /* encrypts vtpm-issuer.key */
    EVP_PKEY *key;              /* current issuer key */
    X509 *cert;                 /* its certificate (also in all) */
    STACK_OF(X509) *all;        /* every issuer certificate of issuers/ */
    time_t retry_at;            /* after a failed rotation: not before then */
};

static int cert_time(const ASN1_TIME *t, time_t *out)
{
    struct tm tm;

    if (ASN1_TIME_to_tm(t, &tm) != 1)
        return -EINVAL;
    *out = timegm(&tm);
    return 0;
}

/* The AAD's "uuid" of vtpm-issuer.key: the first 16 bytes of SHA-256(certificate DER), so the
 * key file decrypts only together with its own certificate. */
static int cert_binding(X509 *c, uint8_t out[16])
{
    uint8_t *der = NULL, md[SHA256_DIGEST_LENGTH];
    int n = i2d_X509(c, &der);

    if (n <= 0)
        return -ENOMEM;
    SHA256(der, (size_t)n, md);
    OPENSSL_free(der);
    memcpy(out, md, 16);
    return 0;
}

/* 0 when c is an issuer certificate signed by vtpm-ca.pem; else -EBADMSG, logged with what. */
static int check_issuer_cert(struct issuer *is, X509 *c, const char *what)
{
    X509 *ca = is->h->ca_cert;

    if (X509_check_issued(ca, c) == X509_V_OK && X509_verify(c, X509_get0_pubkey(ca)) == 1 &&
        X509_check_ca(c) == 1 && X509_get_pathlen(c) == 0)
        return 0;
    LOG_ERROR("%s is not an issuer certificate signed by this host's vtpm-ca.pem: tampered "
              "with or from another host (docs/operations.md, 'the vTPM issuer key')", what);
    return -EBADMSG;
}

static int pem_parse(const uint8_t *buf, size_t len, X509 **out)
{
    BIO *b = len <= INT32_MAX ? BIO_new_mem_buf(buf, (int)len) : NULL;

    *out = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
    BIO_free(b);
    return *out ? 0 : -EBADMSG;
}

/* Reads and checks one certificate file; -ENOENT when absent, -EBADMSG when not acceptable. */
static int load_cert(struct issuer *is, int dirfd, const char *name, X509 **out)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    int r = hostfile_read(dirfd, name, &buf, &len);

    *out = NULL;
    if (r == -ENOENT)
        return r;
    if (r == 0 && (r = pem_parse(buf, len, out)) < 0)
        LOG_ERROR("%s: not a PEM certificate (tampered with?)", name);
    free(buf);
    if (r == 0 && (r = check_issuer_cert(is, *out, name)) < 0) {
        X509_free(*out);
        *out = NULL;
    }
    return r;
}

static int serial_name(X509 *c, char *out, size_t outsz)
{
    BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(c), NULL);
    char *hex = bn ? BN_bn2hex(bn) : NULL;
    int n = hex ? snprintf(out, outsz, "%s.pem", hex) : -1;

    OPENSSL_free(hex);
    BN_free(bn);
    return n > 0 && (size_t)n < outsz ? 0 : -ENOMEM;
}

static int push_cert(struct issuer *is, X509 *c)
{
    if (sk_X509_num(is->all) >= MAX_ISSUERS || !X509_up_ref(c))
        return -ENOSPC;
    if (!sk_X509_push(is->all, c)) {
        X509_free(c);
        return -ENOMEM;
    }
    return 0;
}

static int is_cert_file(const char *name)
{
    size_t n = strlen(name);

    return name[0] != '.' && n > 4 && !strcmp(name + n - 4, ".pem");
}

/* Every issuers/<serial>.pem, each checked against vtpm-ca.pem. */
static int load_all(struct issuer *is)
{
    int fd = dup(is->issuers_fd);
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    struct dirent *de;
    int r = 0;

    if (!d) {
        if (fd >= 0)
            close(fd);
        return -errno;
    }
    while (r == 0 && (de = readdir(d)) != NULL) {
        X509 *c;
        char path[sizeof(ISSUER_DIR) + 256 + 1];
        if (!is_cert_file(de->d_name))
            continue;
        snprintf(path, sizeof(path), ISSUER_DIR "/%s", de->d_name);
        r = load_cert(is, is->dir_fd, path, &c);
        if (r == 0) {
            r = push_cert(is, c);
            X509_free(c);
        }
    }
    closedir(d);
    return r;
}

static int write_pem(int dirfd, const char *name, X509 *c, mode_t mode)
{
    uint8_t *pem = NULL;
    size_t len = 0;
    int r = x509_to_pem(c, &pem, &len);

    if (r == 0)
        r = hostfile_write(dirfd, name, pem, len, mode);
    free(pem);
    return r;
}

static int write_key(struct issuer *is, EVP_PKEY *key, X509 *cert)
{
    uint8_t bind[16], *der = NULL, *img = NULL;
    size_t imglen = 0;
    int n = i2d_PrivateKey(key, &der), r;

    if (n <= 0)
        return -ENOMEM;
    r = cert_binding(cert, bind);
    if (r == 0)
        r = state_seal(is->wrap, bind, VTPM_STATE_PERM, 0, der, (size_t)n, &img, &imglen);
    OPENSSL_clear_free(der, (size_t)n);
    if (r == 0)
        r = hostfile_write(is->dir_fd, ISSUER_KEY_FILE, img, imglen, 0600);
    free(img);
    return r;
}

/* Decrypts the key file image for cert: 0 with *key, -EBADMSG when it is not cert's key. */
static int open_key(struct issuer *is, const uint8_t *img, size_t len, X509 *cert,
                    EVP_PKEY **key)
{
    uint8_t bind[16], *pt = NULL;
    const uint8_t *p;
    size_t ptlen = 0;
    int r = cert_binding(cert, bind);

    *key = NULL;
    if (r == 0)
        r = state_unseal(is->wrap, bind, VTPM_STATE_PERM, img, len, NULL, &pt, &ptlen);
    if (r)
        return r;
    p = pt;
    *key = ptlen <= INT32_MAX ? d2i_AutoPrivateKey(NULL, &p, (long)ptlen) : NULL;
    secure_free(pt, ptlen);
    if (*key && EVP_PKEY_eq(*key, X509_get0_pubkey(cert)) == 1)
        return 0;
    EVP_PKEY_free(*key);
    *key = NULL;
    return -EBADMSG;
}

static void take(struct issuer *is, EVP_PKEY *key, X509 *cert)
{
    EVP_PKEY_free(is->key);
    X509_free(is->cert);
    is->key = key;
    is->cert = cert;
}

/*
 * A new key and its certificate. Order: issuers/<serial>.pem, then vtpm-issuer.key, then
 * vtpm-issuer.pem; after a crash in between, the key decrypts with a certificate of issuers/
 * and issuer_open() puts that one back as vtpm-issuer.pem.
 */
int issuer_rotate(struct issuer *is)
{
    time_t now = time(NULL);
    EVP_PKEY *key = EVP_EC_gen("P-256");
    X509 *cert = NULL;
    char name[128];
    int r = key ? 0 : -ENOMEM;

    if (r == 0)
        r = x509_make_issuer_cert(is->h, key, now - ISSUER_BACKDATE,
                                  now + (time_t)is->lifetime, &cert);
    if (r == 0)
        r = serial_name(cert, name, sizeof(name));
    if (r == 0)
        r = write_pem(is->issuers_fd, name, cert, 0644);
    if (r == 0)
        r = push_cert(is, cert);
    if (r == 0)
        r = write_key(is, key, cert);
    if (r == 0)
        r = write_pem(is->dir_fd, ISSUER_CERT_FILE, cert, 0644);
    if (r) {
        LOG_ERROR("vTPM issuer rotation failed: %s (the current issuer stays)", strerror(-r));
        EVP_PKEY_free(key);
        X509_free(cert);
        return r;
    }
    take(is, key, cert);
    is->retry_at = 0;
    LOG_INFO("vTPM issuer %s made (valid %u s; EK certificates are signed with it)", name,
             is->lifetime);
    return 0;
}

time_t issuer_rotate_at(const struct issuer *is)
{
    time_t nb = 0, na = 0, issued, at;

    if (!is->cert || cert_time(X509_get0_notBefore(is->cert), &nb) < 0 ||
        cert_time(X509_get0_notAfter(is->cert), &na) < 0)
        return 0;
    issued = nb + ISSUER_BACKDATE;
    at = issued + (na - issued) / 2;
    if (na - issued > (time_t)is->lifetime) /* --issuer-lifetime was shortened */
        at = issued;
    return is->retry_at > at ? is->retry_at : at;
}

int issuer_tick(struct issuer *is, time_t now)
{
    int r;

    if (!is || now < issuer_rotate_at(is))
        return 0;
    r = issuer_rotate(is);
    if (r) {
        is->retry_at = now + ISSUER_RETRY_S;
        return r;
    }
    return 1;
}

static int expired(const struct issuer *is)
{
    return X509_cmp_time(X509_get0_notAfter(is->cert), NULL) <= 0;
}

static int find_in_all(struct issuer *is, X509 *c)
{
    for (int i = 0; i < sk_X509_num(is->all); i++)
        if (X509_cmp(sk_X509_value(is->all, i), c) == 0)
            return i;
    return -1;
}

/* vtpm-issuer.key decrypts only with another certificate of issuers/: a crash between the
 * writes of a rotation. That certificate becomes vtpm-issuer.pem again. */
static int recover_cert(struct issuer *is, const uint8_t *img, size_t len, X509 **cert,
                        EVP_PKEY **key)
{
    for (int i = sk_X509_num(is->all) - 1; i >= 0; i--) {
        X509 *c = sk_X509_value(is->all, i);
        if (open_key(is, img, len, c, key) != 0)
            continue;
        LOG_WARN(ISSUER_CERT_FILE " is not the certificate of " ISSUER_KEY_FILE
                 " (a rotation was interrupted): restoring it from " ISSUER_DIR "/");
        X509_free(*cert);
        *cert = c;
        X509_up_ref(c);
        return write_pem(is->dir_fd, ISSUER_CERT_FILE, c, 0644);
    }
    LOG_ERROR(ISSUER_KEY_FILE " does not decrypt with the state key for " ISSUER_CERT_FILE
              " nor any certificate of " ISSUER_DIR "/: tampered with or from another host "
              "(docs/operations.md, 'the vTPM issuer key')");
    return -EBADMSG;
}

static int load_current(struct issuer *is)
{
    uint8_t *img = NULL;
    size_t len = 0;
    EVP_PKEY *key = NULL;
    X509 *cert = NULL;
    int rk = hostfile_read(is->dir_fd, ISSUER_KEY_FILE, &img, &len);
    int rc = load_cert(is, is->dir_fd, ISSUER_CERT_FILE, &cert);
    int r;

    if (rk == -ENOENT && rc == -ENOENT)
        return issuer_rotate(is); /* the first start with an issuer */
    if ((rk == -ENOENT && rc == 0) || (rk == 0 && rc == -ENOENT)) {
        LOG_ERROR("%s exists without %s: refusing to make a new issuer over it "
                  "(docs/operations.md, 'the vTPM issuer key')",
                  rk ? ISSUER_CERT_FILE : ISSUER_KEY_FILE, rk ? ISSUER_KEY_FILE : ISSUER_CERT_FILE);
        r = -EBADMSG;
    } else {
        r = rc ? rc : rk;
    }
    if (r == 0 && open_key(is, img, len, cert, &key) != 0)
        r = recover_cert(is, img, len, &cert, &key);
    if (r == 0 && find_in_all(is, cert) < 0) { /* made before issuers/ was kept: keep it now */
        char name[128];
        if ((r = serial_name(cert, name, sizeof(name))) == 0 &&
            (r = write_pem(is->issuers_fd, name, cert, 0644)) == 0)
            r = push_cert(is, cert);
    }
    free(img);
    if (r) {
        EVP_PKEY_free(key);
        X509_free(cert);
        return r;
    }
    take(is, key, cert);
    return 0;
}

static int open_issuers_dir(struct issuer *is)
{
    if (mkdirat(is->dir_fd, ISSUER_DIR, 0755) != 0 && errno != EEXIST)
        return -errno;
    is->issuers_fd = openat(is->dir_fd, ISSUER_DIR, O_RDONLY | O_DIRECTORY | O_CLOEXEC |
                            O_NOFOLLOW);
    return is->issuers_fd < 0 ? -errno : 0;
}

int issuer_open(struct hosttpm *h, int hostdir_fd, const uint8_t master[HOSTTPM_STATE_KEY_LEN],
                unsigned lifetime, struct issuer **out)
{
    struct issuer *is;
    int r;

    *out = NULL;
    if (!h || !h->ca_cert || lifetime < ISSUER_MIN_LIFETIME || lifetime > ISSUER_MAX_LIFETIME)
        return -EINVAL;
    is = calloc(1, sizeof(*is));
    if (!is)
        return -ENOMEM;
    is->h = h;
    is->dir_fd = hostdir_fd;
    is->issuers_fd = -1;
    is->lifetime = lifetime;
    is->all = sk_X509_new_null();
    r = is->all ? state_derive_issuer_key(master, is->wrap) : -ENOMEM;
    if (r == 0)
        r = open_issuers_dir(is);
    if (r == 0)
        r = load_all(is);
    if (r == 0)
        r = load_current(is);
    /* A rotation due at start that fails is tried again later while the issuer still holds. */
    if (r == 0 && issuer_tick(is, time(NULL)) < 0 && expired(is))
        r = -EKEYEXPIRED;
    if (r) {
        issuer_close(is);
        return r;
    }
    *out = is;
    return 0;
}

void issuer_close(struct issuer *is)
{
    if (!is)
        return;
    explicit_bzero(is->wrap, sizeof(is->wrap));
    EVP_PKEY_free(is->key);
    X509_free(is->cert);
    sk_X509_pop_free(is->all, X509_free);
    if (is->issuers_fd >= 0)
        close(is->issuers_fd);
    free(is);
}

int issuer_issue_ek_cert(struct issuer *is, const uint8_t *ekpub, size_t ekpub_len,
                         const uint8_t uuid[16], uint8_t **der, size_t *der_len)
{
    TPM2B_PUBLIC pub;
    X509 *x = NULL;
    int r;

    if (!is || !is->key || !uuid || !der || !der_len)
        return -EINVAL;
    if (expired(is)) {
        LOG_ERROR("the vTPM issuer has expired and could not be replaced (host TPM?): "
                  "no EK certificate");
        return -EKEYEXPIRED;
    }
    if ((r = hosttpm_ekpub_parse(ekpub, ekpub_len, &pub)) < 0)
        return r;
    r = x509_make_ek_cert(is->cert, is->key, &pub, uuid, &x);
    if (r == 0)
        r = x509_to_der(x, der, der_len);
    X509_free(x);
    return r;
}

static X509 *issuer_of(const struct issuer *is, const uint8_t *ek_der, size_t ek_len)
{
    const uint8_t *p = ek_der;
    X509 *ek = ek_len <= INT32_MAX ? d2i_X509(NULL, &p, (long)ek_len) : NULL, *found = NULL;

    for (int i = 0; ek && !found && i < sk_X509_num(is->all); i++) {
        X509 *c = sk_X509_value(is->all, i);
        if (X509_check_issued(c, ek) == X509_V_OK && X509_verify(ek, X509_get0_pubkey(c)) == 1)
            found = c;
    }
    X509_free(ek);
    return found;
}

int issuer_cert_pem(const struct issuer *is, const uint8_t *ek_der, size_t ek_len,
                    uint8_t **pem, size_t *pem_len)
{
    X509 *c = ek_der ? issuer_of(is, ek_der, ek_len) : is->cert;

    return c ? x509_to_pem(c, pem, pem_len) : -ENOENT;
}
