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

/* Both tables are set-associative: a key (a SHA-256) is looked for among the WAYS entries of
 * the set its first bytes name, and replaces the oldest of them; a lookup costs WAYS
 * compares, not one per entry. */
#define WAYS       8u
#define CHAIN_SETS (CHAINCACHE_ENTRIES / WAYS)
#define KEY_SETS   (KEYCACHE_ENTRIES / WAYS)

static unsigned set_of(const uint8_t key[32], unsigned sets)
{
    return ((unsigned)key[0] | (unsigned)key[1] << 8) % sets;
}

static struct entry g_tab[CHAINCACHE_ENTRIES];
static uint8_t g_next[CHAIN_SETS]; /* the next way to replace in each set */
/* Guards both tables: requests may be answered on several threads. */
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
    int ok = c && EVP_DigestInit_ex(c, tpm_md(TPM2_ALG_SHA256), NULL) == 1 &&
             feed(c, kind, strlen(kind)) &&
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

    const struct entry *set = &g_tab[set_of(key, CHAIN_SETS) * WAYS];

    pthread_mutex_lock(&g_lock);
    for (unsigned i = 0; i < WAYS && !hit; i++)
        hit = set[i].expires > t && set[i].not_before <= wall && wall < set[i].not_after &&
              CRYPTO_memcmp(set[i].key, key, 32) == 0;
    pthread_mutex_unlock(&g_lock);
    return hit;
}

struct keyslot {
    uint8_t hash[32];
    EVP_PKEY *key;
};

static struct keyslot g_keys[KEYCACHE_ENTRIES];
static uint8_t g_knext[KEY_SETS];

static EVP_PKEY *key_lookup(const uint8_t hash[32])
{
    struct keyslot *set = &g_keys[set_of(hash, KEY_SETS) * WAYS];
    EVP_PKEY *k = NULL;

    pthread_mutex_lock(&g_lock);
    for (unsigned i = 0; i < WAYS && !k; i++)
        if (set[i].key && CRYPTO_memcmp(set[i].hash, hash, 32) == 0 &&
            EVP_PKEY_up_ref(set[i].key) == 1)
            k = set[i].key;
    pthread_mutex_unlock(&g_lock);
    return k;
}

static void key_store(const uint8_t hash[32], EVP_PKEY *k)
{
    unsigned s = set_of(hash, KEY_SETS);
    struct keyslot *slot;
    EVP_PKEY *old;

    if (EVP_PKEY_up_ref(k) != 1)
        return;
    pthread_mutex_lock(&g_lock);
    slot = &g_keys[s * WAYS + g_knext[s]];
    old = slot->key;
    memcpy(slot->hash, hash, 32);
    slot->key = k;
    g_knext[s] = (uint8_t)((g_knext[s] + 1) % WAYS);
    pthread_mutex_unlock(&g_lock);
    EVP_PKEY_free(old);
}

EVP_PKEY *chaincache_pkey(const uint8_t *pub, size_t len, const TPMT_PUBLIC *parsed)
{
    uint8_t hash[32];
    EVP_PKEY *k;

    if (tpm_sha256(pub, len, hash) < 0)
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
    unsigned s = set_of(key, CHAIN_SETS);
    struct entry *e;

    pthread_mutex_lock(&g_lock);
    /* Oldest way of the set first: a set's entries are written in time order. */
    e = &g_tab[s * WAYS + g_next[s]];
    memcpy(e->key, key, 32);
    e->expires = now_s() + CHAINCACHE_TTL_S;
    e->not_before = not_before;
    e->not_after = not_after;
    g_next[s] = (uint8_t)((g_next[s] + 1) % WAYS);
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
    memset(g_next, 0, sizeof(g_next));
    for (unsigned i = 0; i < KEYCACHE_ENTRIES; i++) {
        old[i] = g_keys[i].key;
        g_keys[i].key = NULL;
    }
    memset(g_knext, 0, sizeof(g_knext));
    pthread_mutex_unlock(&g_lock);
    for (unsigned i = 0; i < KEYCACHE_ENTRIES; i++)
        EVP_PKEY_free(old[i]);
}

int chaincache_key_host(const char *kind, const struct bytes *ek_cert, const char *vtpm_uuid,
                        const uint8_t host_key[32], uint8_t key[32])
{
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    unsigned int len = 0;
    int ok = c && EVP_DigestInit_ex(c, tpm_md(TPM2_ALG_SHA256), NULL) == 1 &&
             feed(c, kind, strlen(kind)) &&
             feed(c, ek_cert->p, ek_cert->len) &&
             feed(c, vtpm_uuid ? vtpm_uuid : "", vtpm_uuid ? strlen(vtpm_uuid) : 0) &&
             feed(c, host_key, 32) && EVP_DigestFinal_ex(c, key, &len) == 1 && len == 32;

    EVP_MD_CTX_free(c);
    return ok ? 0 : -1;
}
