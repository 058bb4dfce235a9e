/* SPDX-License-Identifier: BSD-3-Clause */
/* Trusted signing keys (ECDSA P-256, Ed25519; PEM, validity, revocation) and signature checks. */
#include "check/sigkeys.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/obj_mac.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/x509.h>

#include "hexutil.h"
#include "check/errfmt.h"

#define PEM_MAX 8192u

int sig_time_parse(const char *s, int64_t *out)
{
    struct tm tm;
    const char *end;
    time_t t;

    if (!s || strlen(s) != 20)
        return -EINVAL;
    memset(&tm, 0, sizeof(tm));
    end = strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm);
    if (!end || *end || tm.tm_year < 70 || tm.tm_year > 8000)
        return -EINVAL;
    t = timegm(&tm);
    if (t == (time_t)-1)
        return -EINVAL;
    *out = (int64_t)t;
    return 0;
}

void sig_time_format(int64_t t, char *out, size_t outsz)
{
    time_t tt = (time_t)t;
    struct tm tm;

    if (!gmtime_r(&tt, &tm) || !strftime(out, outsz, "%Y-%m-%dT%H:%M:%SZ", &tm))
        snprintf(out, outsz, "?");
}

int sig_b64_decode(const char *s, size_t maxlen, uint8_t **out, size_t *len)
{
    size_t n = s ? strlen(s) : 0, pad = 0;
    uint8_t *b;
    int r;

    *out = NULL;
    if (n == 0 || n % 4 || n / 4 * 3 > maxlen + 2 || n > (size_t)INT32_MAX)
        return -EINVAL;
    if (s[n - 1] == '=')
        pad = s[n - 2] == '=' ? 2 : 1;
    for (size_t i = 0; i < n - pad; i++) /* EVP_DecodeBlock skips blanks: refuse them */
        if (s[i] == '=' || s[i] == ' ' || s[i] == '\t' || s[i] == '\r' || s[i] == '\n')
            return -EINVAL;
    b = malloc(n / 4 * 3 + 1);
    if (!b)
        return -ENOMEM;
    r = EVP_DecodeBlock(b, (const unsigned char *)s, (int)n);
    if (r < 0 || (size_t)r < pad || (size_t)r - pad > maxlen) {
        free(b);
        return -EINVAL;
    }
    *out = b;
    *len = (size_t)r - pad;
    return 0;
}

int sigkey_type_ok(EVP_PKEY *k, int *ed25519)
{
    char group[32];
    size_t gl = 0;

    if (EVP_PKEY_is_a(k, "ED25519")) {
        *ed25519 = 1;
        return 1;
    }
    *ed25519 = 0;
    return EVP_PKEY_is_a(k, "EC") &&
           EVP_PKEY_get_utf8_string_param(k, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group),
                                          &gl) == 1 &&
           !strcmp(group, "prime256v1");
}

EVP_PKEY *sigkey_pem_public(const char *pem, size_t len, int *ed25519, char *err, size_t errsz)
{
    BIO *bio;
    EVP_PKEY *k;

    if (len > PEM_MAX) {
        snprintf(err, errsz, "public key PEM longer than %u bytes", PEM_MAX);
        return NULL;
    }
    bio = BIO_new_mem_buf(pem, (int)len);
    k = bio ? PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL) : NULL;
    BIO_free(bio);
    if (!k) {
        snprintf(err, errsz, "not a PEM public key (SubjectPublicKeyInfo)");
        return NULL;
    }
    if (sigkey_type_ok(k, ed25519))
        return k;
    EVP_PKEY_free(k);
    snprintf(err, errsz, "key type not accepted (only ECDSA P-256 and Ed25519)");
    return NULL;
}

int sigkey_fingerprint(EVP_PKEY *pkey, char out[72])
{
    unsigned char *der = NULL;
    uint8_t md[32];
    int n = i2d_PUBKEY(pkey, &der);

    if (n <= 0)
        return -1;
    SHA256(der, (size_t)n, md);
    OPENSSL_free(der);
    memcpy(out, "sha256:", 7);
    hex_encode(md, 32, out + 7);
    return 0;
}

static int name_ok(const char *s)
{
    size_t n = strlen(s);

    if (n == 0 || n >= SIGKEY_NAME_MAX)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
              (s[i] >= '0' && s[i] <= '9') || s[i] == '-' || s[i] == '_' || s[i] == '.' ||
              s[i] == '@'))
            return 0;
    return 1;
}

static int one_key(const json_t *e, size_t i, struct sigkey *k, char *err, size_t errsz)
{
    const char *kk, *name;
    json_t *v, *pem;
    char where[96], why[128];

    snprintf(where, sizeof(where), "keys[%zu]", i);
    if (!json_is_object(e))
        return errf_inval(err, errsz, "%s must be an object", where);
    json_object_foreach((json_t *)e, kk, v)
        if (strcmp(kk, "name") && strcmp(kk, "public_key") && strcmp(kk, "not_before") &&
            strcmp(kk, "not_after") && strcmp(kk, "revoked"))
            return errf_inval(err, errsz, "%s: unknown key %.40s", where, kk);
    name = json_string_value(json_object_get(e, "name"));
    if (!name || !name_ok(name))
        return errf_inval(err, errsz, "%s: name must be 1-63 characters of A-Z a-z 0-9 - _ . @",
                          where);
    snprintf(where, sizeof(where), "key %s", name);
    snprintf(k->name, sizeof(k->name), "%s", name);
    if (sig_time_parse(json_string_value(json_object_get(e, "not_before")), &k->not_before) < 0 ||
        sig_time_parse(json_string_value(json_object_get(e, "not_after")), &k->not_after) < 0)
        return errf_inval(err, errsz, "%s: not_before and not_after must be UTC times as "
                          "2026-01-31T00:00:00Z", where);
    if (k->not_after < k->not_before)
        return errf_inval(err, errsz, "%s: not_after is before not_before", where);
    v = json_object_get(e, "revoked");
    if (v && !json_is_boolean(v))
        return errf_inval(err, errsz, "%s: revoked must be true or false", where);
    k->revoked = json_is_true(v);
    pem = json_object_get(e, "public_key");
    if (!json_is_string(pem))
        return errf_inval(err, errsz, "%s: public_key must be PEM text", where);
    k->pkey = sigkey_pem_public(json_string_value(pem), json_string_length(pem), &k->ed25519,
                                why, sizeof(why));
    if (!k->pkey)
        return errf_inval(err, errsz, "%s: public_key: %s", where, why);
    if (sigkey_fingerprint(k->pkey, k->fingerprint) < 0)
        return errf_inval(err, errsz, "%s: cannot encode the public key", where);
    return 0;
}

int sigkeys_parse(const json_t *arr, const json_t *revoked_list, struct sigkeys *ks, char *err,
                  size_t errsz)
{
    size_t i, j;
    json_t *e;

    ks->v = NULL;
    ks->n = 0;
    if (!json_is_array(arr) || json_array_size(arr) > SIGKEYS_MAX)
        return errf_inval(err, errsz, "keys must be an array of at most 256 keys");
    if (revoked_list && !json_is_array(revoked_list))
        return errf_inval(err, errsz, "revoked_keys must be an array of sha256:<hex> fingerprints");
    json_array_foreach(revoked_list, i, e) {
        const char *s = json_string_value(e);
        uint8_t tmp[32];
        if (!s || strlen(s) != 71 || strncmp(s, "sha256:", 7) || hex_decode_exact(s + 7, tmp, 32))
            return errf_inval(err, errsz, "revoked_keys[%zu]: not sha256:<64 hex>", i);
    }
    ks->v = calloc(json_array_size(arr) + 1, sizeof(*ks->v));
    if (!ks->v)
        return errf_inval(err, errsz, "out of memory");
    json_array_foreach(arr, i, e) {
        struct sigkey *k = &ks->v[ks->n];
        if (one_key(e, i, k, err, errsz) < 0) {
            EVP_PKEY_free(k->pkey);
            sigkeys_free(ks);
            return -EINVAL;
        }
        ks->n++;
        for (j = 0; j + 1 < ks->n; j++)
            if (!strcmp(ks->v[j].name, k->name)) {
                errf_inval(err, errsz, "key %s is listed twice", k->name);
                sigkeys_free(ks);
                return -EINVAL;
            }
        json_array_foreach(revoked_list, j, e)
            if (!strcasecmp(json_string_value(e), k->fingerprint))
                k->revoked = 1;
    }
    return 0;
}

void sigkeys_free(struct sigkeys *ks)
{
    for (size_t i = 0; i < ks->n; i++)
        EVP_PKEY_free(ks->v[i].pkey);
    free(ks->v);
    ks->v = NULL;
    ks->n = 0;
}

int sigkeys_find(const struct sigkeys *ks, const char *name)
{
    for (size_t i = 0; i < ks->n; i++)
        if (!strcmp(ks->v[i].name, name))
            return (int)i;
    return -1;
}

enum sigkey_state sigkey_state_at(const struct sigkey *k, int64_t now)
{
    if (k->revoked)
        return SIGKEY_REVOKED;
    if (now < k->not_before)
        return SIGKEY_NOT_YET_VALID;
    if (now > k->not_after)
        return SIGKEY_EXPIRED;
    return SIGKEY_VALID;
}

const char *sigkey_state_name(enum sigkey_state s)
{
    switch (s) {
    case SIGKEY_VALID: return "valid";
    case SIGKEY_NOT_YET_VALID: return "not yet valid";
    case SIGKEY_EXPIRED: return "expired";
    case SIGKEY_REVOKED: return "revoked";
    }
    return "?";
}

int sigkey_verify(const struct sigkey *k, const uint8_t *msg, size_t len, const uint8_t *sig,
                  size_t siglen)
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    int ok = 0;

    if (ctx && EVP_DigestVerifyInit(ctx, NULL, k->ed25519 ? NULL : EVP_sha256(), NULL,
                                    k->pkey) == 1)
        ok = EVP_DigestVerify(ctx, sig, siglen, msg, len) == 1;
    EVP_MD_CTX_free(ctx);
    return ok;
}
