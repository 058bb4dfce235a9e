/* SPDX-License-Identifier: BSD-3-Clause */
/* A bounded, time-limited memory of EK chains that passed (see chaincache.h). */
#include "check/chaincache.h"

#include <pthread.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "check/tpmobj.h"

struct entry {
    uint8_t key[32];
    int64_t expires;  /* CLOCK_MONOTONIC */
    time_t not_before, not_after; /* wall clock */
};

static struct entry g_tab[CHAINCACHE_ENTRIES];
static unsigned g_next;
/* Guards g_tab and g_next: libmicrohttpd may answer requests on several threads. */
static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;

static _Atomic time_t g_fixed_now;

time_t chaincache_now(void)
{
    time_t t = g_fixed_now;

    return t ? t : time(NULL);
}

void chaincache_set_now(time_t t)
{
    g_fixed_now = t;
}

static int64_t now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec;
}

/* Length-prefixed, so that no two different input lists hash alike. */
static int feed(EVP_MD_CTX *c, const void *p, size_t len)
{
    uint64_t n = len;

    return EVP_DigestUpdate(c, &n, sizeof(n)) == 1 && EVP_DigestUpdate(c, p, len) == 1;
}

static int feed_chain(EVP_MD_CTX *c, const cbor_item_t *chain)
{
    struct cbor_pair *p;

    if (!chain || !cbor_isa_map(chain))
        return 0;
    p = cbor_map_handle(chain);
    for (size_t i = 0; i < cbor_map_size(chain); i++) {
        if (!cbor_isa_string(p[i].key) || !cbor_string_is_definite(p[i].key) ||
            !cbor_isa_bytestring(p[i].value) || !cbor_bytestring_is_definite(p[i].value))
            return 0;
        if (!feed(c, cbor_string_handle(p[i].key), cbor_string_length(p[i].key)) ||
            !feed(c, cbor_bytestring_handle(p[i].value), cbor_bytestring_length(p[i].value)))
            return 0;
    }
    return 1;
}

int chaincache_key(const char *kind, const struct bytes *ek_cert, const cbor_item_t *host_chain,
                   const char *vtpm_uuid, uint8_t key[32])
{
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    unsigned int len = 0;
    int ok = c && EVP_DigestInit_ex(c, EVP_sha256(), NULL) == 1 && feed(c, kind, strlen(kind)) &&
             feed(c, ek_cert ? ek_cert->p : (const uint8_t *)"", ek_cert ? ek_cert->len : 0) &&
             feed(c, vtpm_uuid ? vtpm_uuid : "", vtpm_uuid ? strlen(vtpm_uuid) : 0) &&
             feed_chain(c, host_chain) && EVP_DigestFinal_ex(c, key, &len) == 1 && len == 32;

    EVP_MD_CTX_free(c);
    return ok ? 0 : -1;
}

int chaincache_hit(const uint8_t key[32])
{
    int64_t t = now_s();
    time_t wall = chaincache_now();
    int hit = 0;

    pthread_mutex_lock(&g_lock);
    for (unsigned i = 0; i < CHAINCACHE_ENTRIES && !hit; i++)
        hit = g_tab[i].expires > t && g_tab[i].not_before <= wall && wall < g_tab[i].not_after &&
              CRYPTO_memcmp(g_tab[i].key, key, 32) == 0;
    pthread_mutex_unlock(&g_lock);
    return hit;
}

struct keyslot {
    uint8_t hash[32];
    EVP_PKEY *key;
};

static struct keyslot g_keys[KEYCACHE_ENTRIES];
static unsigned g_knext;

static EVP_PKEY *key_lookup(const uint8_t hash[32])
{
    EVP_PKEY *k = NULL;

    pthread_mutex_lock(&g_lock);
    for (unsigned i = 0; i < KEYCACHE_ENTRIES && !k; i++)
        if (g_keys[i].key && CRYPTO_memcmp(g_keys[i].hash, hash, 32) == 0 &&
            EVP_PKEY_up_ref(g_keys[i].key) == 1)
            k = g_keys[i].key;
    pthread_mutex_unlock(&g_lock);
    return k;
}

static void key_store(const uint8_t hash[32], EVP_PKEY *k)
{
    EVP_PKEY *old;

    if (EVP_PKEY_up_ref(k) != 1)
        return;
    pthread_mutex_lock(&g_lock);
    old = g_keys[g_knext].key;
    memcpy(g_keys[g_knext].hash, hash, 32);
    g_keys[g_knext].key = k;
    g_knext = (g_knext + 1) % KEYCACHE_ENTRIES;
    pthread_mutex_unlock(&g_lock);
    EVP_PKEY_free(old);
}

EVP_PKEY *chaincache_pkey(const uint8_t *pub, size_t len, const TPMT_PUBLIC *parsed)
{
    uint8_t hash[32];
    EVP_PKEY *k;

    if (EVP_Digest(pub, len, hash, NULL, EVP_sha256(), NULL) != 1)
        return tpm_public_pkey(parsed);
    k = key_lookup(hash);
    if (k)
        return k;
    k = tpm_public_pkey(parsed);
    if (k)
        key_store(hash, k);
    return k;
}

void chaincache_put_until(const uint8_t key[32], time_t not_before, time_t not_after)
{
    pthread_mutex_lock(&g_lock);
    /* Oldest slot first: entries are written in time order. */
    memcpy(g_tab[g_next].key, key, 32);
    g_tab[g_next].expires = now_s() + CHAINCACHE_TTL_S;
    g_tab[g_next].not_before = not_before;
    g_tab[g_next].not_after = not_after;
    g_next = (g_next + 1) % CHAINCACHE_ENTRIES;
    pthread_mutex_unlock(&g_lock);
}

void chaincache_put(const uint8_t key[32])
{
    chaincache_put_until(key, (time_t)INT64_MIN, (time_t)INT64_MAX);
}

void chaincache_clear(void)
{
    EVP_PKEY *old[KEYCACHE_ENTRIES];

    pthread_mutex_lock(&g_lock);
    memset(g_tab, 0, sizeof(g_tab));
    g_next = 0;
    for (unsigned i = 0; i < KEYCACHE_ENTRIES; i++) {
        old[i] = g_keys[i].key;
        g_keys[i].key = NULL;
    }
    g_knext = 0;
    pthread_mutex_unlock(&g_lock);
    for (unsigned i = 0; i < KEYCACHE_ENTRIES; i++)
        EVP_PKEY_free(old[i]);
}

int chaincache_key_host(const char *kind, const struct bytes *ek_cert, const char *vtpm_uuid,
                        const uint8_t host_key[32], uint8_t key[32])
{
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    unsigned int len = 0;
    int ok = c && EVP_DigestInit_ex(c, EVP_sha256(), NULL) == 1 && feed(c, kind, strlen(kind)) &&
             feed(c, ek_cert->p, ek_cert->len) &&
             feed(c, vtpm_uuid ? vtpm_uuid : "", vtpm_uuid ? strlen(vtpm_uuid) : 0) &&
             feed(c, host_key, 32) && EVP_DigestFinal_ex(c, key, &len) == 1 && len == 32;

    EVP_MD_CTX_free(c);
    return ok ? 0 : -1;
}
