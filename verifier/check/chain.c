/* SPDX-License-Identifier: BSD-3-Clause */
/* The vTPM EK certificate chain: EK cert -> vtpm-issuer.pem -> vtpm-ca.pem -> TPM2_Certify by
 * the host AK -> host EK certificate -> a trusted host EK CA. */
#include "check/chain.h"

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/provider.h>
#include <openssl/sha.h>
#include <openssl/x509v3.h>

#include "check/chaincache.h"
#include "check/hostcache.h"
#include "log.h"
#include "check/tpmobj.h"

#define MAX_TRUST_FILES 256
#define TRUST_MAX_ANCHORS 1024

/* The trust anchors' identity (a SHA-256 over their DER), kept with the store that
 * chain_trust_load made: part of every cache key, so that a pass under one trust dir is never a
 * pass under another. */
static int g_trust_idx = -1;
static pthread_once_t g_trust_once = PTHREAD_ONCE_INIT;

static void trust_id_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl,
                          void *argp)
{
    free(ptr);
}

static void trust_idx_init(void)
{
    g_trust_idx = X509_STORE_get_ex_new_index(0, NULL, NULL, NULL, trust_id_free);
}

static int cmp_md(const void *a, const void *b)
{
    return memcmp(a, b, 32);
}

/* SHA-256 over the sorted SHA-256s of every certificate in st. */
static int trust_id_compute(X509_STORE *st, uint8_t id[32])
{
    uint8_t(*mds)[32] = NULL;
    STACK_OF(X509_OBJECT) *objs;
    size_t n = 0;
    int ok = 0;

    if (X509_STORE_lock(st) != 1)
        return -1;
    objs = X509_STORE_get0_objects(st);
    mds = calloc(TRUST_MAX_ANCHORS, 32);
    for (int i = 0; mds && i < sk_X509_OBJECT_num(objs) && n < TRUST_MAX_ANCHORS; i++) {
        X509 *c = X509_OBJECT_get0_X509(sk_X509_OBJECT_value(objs, i));
        unsigned char *der = NULL;
        int len = c ? i2d_X509(c, &der) : -1;
        if (len <= 0)
            continue;
        SHA256(der, (size_t)len, mds[n++]);
        OPENSSL_free(der);
    }
    X509_STORE_unlock(st);
    if (mds) {
        qsort(mds, n, 32, cmp_md);
        ok = SHA256((const unsigned char *)mds, n * 32, id) != NULL;
    }
    free(mds);
    return ok ? 0 : -1;
}

/* The identity of st (all zero for no store); -1 when it cannot be had (then do not cache). */
static int trust_id(X509_STORE *st, uint8_t id[32])
{
    const uint8_t *kept;

    memset(id, 0, 32);
    if (!st)
        return 0;
    pthread_once(&g_trust_once, trust_idx_init);
    kept = g_trust_idx >= 0 ? X509_STORE_get_ex_data(st, g_trust_idx) : NULL;
    if (kept) {
        memcpy(id, kept, 32);
        return 0;
    }
    return trust_id_compute(st, id);
}

static void trust_id_keep(X509_STORE *st)
{
    uint8_t *id = malloc(32);

    pthread_once(&g_trust_once, trust_idx_init);
    if (id && g_trust_idx >= 0 && trust_id_compute(st, id) == 0 &&
        X509_STORE_set_ex_data(st, g_trust_idx, id) == 1)
        return;
    free(id);
}

static int add_pem_file(X509_STORE *st, const char *path)
{
    FILE *f = fopen(path, "re");
    X509 *c;
    int n = 0;

    if (!f)
        return 0;
    while ((c = PEM_read_X509(f, NULL, NULL, NULL)) != NULL) {
        /* OpenSSL caches a certificate's extensions (key ids, usages) at its first use,
         * under the certificate's lock but read by other threads without it: done here,
         * before the store is shared by the serving threads (make tsan saw the race once in
         * test_verifier_cache). */
        X509_check_purpose(c, -1, 0);
        if (X509_STORE_add_cert(st, c) == 1)
            n++;
        X509_free(c);
    }
    ERR_clear_error();
    fclose(f);
    return n;
}

X509_STORE *chain_trust_load(const char *dir)
{
    X509_STORE *st = X509_STORE_new();
    DIR *d = opendir(dir);
    struct dirent *de;
    int n = 0, files = 0;

    if (!st || !d)
        goto fail;
    while ((de = readdir(d)) != NULL && files < MAX_TRUST_FILES) {
        char path[4096];
        struct stat sb;
        if (de->d_name[0] == '.')
            continue;
        snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
        if (stat(path, &sb) != 0 || !S_ISREG(sb.st_mode))
            continue;
        files++;
        n += add_pem_file(st, path);
    }
    closedir(d);
    d = NULL;
    if (n == 0)
        goto fail;
    X509_STORE_set_flags(st, X509_V_FLAG_PARTIAL_CHAIN);
    trust_id_keep(st);
    return st;
fail:
    LOG_ERROR("no trusted certificate in %s", dir);
    if (d)
        closedir(d);
    X509_STORE_free(st);
    return NULL;
}

static X509 *der_cert(const struct bytes *b)
{
    const unsigned char *p = b->p;
    X509 *c = d2i_X509(NULL, &p, (long)b->len);

    if (c && p != b->p + b->len) {
        X509_free(c);
        c = NULL;
    }
    return c;
}

/*
 * The EK certificate for the signature check alone: parsed in a library context without
 * providers, where OpenSSL 3.0 does not decode its public key (a decoder chain is built for
 * every key: 90% of d2i_X509's time). Its key is never used there; its issuer's key verifies
 * its signature. Falls back to der_cert when that context cannot be made.
 */
static OSSL_LIB_CTX *g_nokey_ctx;
static pthread_once_t g_nokey_once = PTHREAD_ONCE_INIT;

static void nokey_init(void)
{
    OSSL_LIB_CTX *c = OSSL_LIB_CTX_new();

    if (c && OSSL_PROVIDER_load(c, "null"))
        g_nokey_ctx = c;
    else
        OSSL_LIB_CTX_free(c);
    ERR_clear_error();
}

static X509 *der_cert_nokey(const struct bytes *b)
{
    const unsigned char *p = b->p;
    X509 *c;

    pthread_once(&g_nokey_once, nokey_init);
    if (!g_nokey_ctx || !(c = X509_new_ex(g_nokey_ctx, NULL)))
        return der_cert(b);
    if (!d2i_X509(&c, &p, (long)b->len) || p != b->p + b->len) {
        X509_free(c);
        c = NULL;
    }
    ERR_clear_error();
    return c;
}

/* PEM certificates of one host_chain file; first one returned (a reference of its own, not a
 * copy: X509_dup would decode it and its key again), all pushed to sk if given. */
static X509 *pem_certs(const struct chain_input *in, const char *name, STACK_OF(X509) *sk)
{
    struct bytes b;
    BIO *bio;
    X509 *c, *first = NULL;

    if (vf_evidence_bytes(in->host_chain, name, &b) < 0 || b.len > INT32_MAX)
        return NULL;
    bio = BIO_new_mem_buf(b.p, (int)b.len);
    while (bio && (c = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
        if (!first && X509_up_ref(c) == 1)
            first = c;
        if (!sk || !sk_X509_push(sk, c))
            X509_free(c);
    }
    ERR_clear_error();
    BIO_free(bio);
    return first;
}

/* A certificate's validity as POSIX times; -1 when a time does not convert. */
static int cert_window(X509 *c, time_t *nb, time_t *na)
{
    struct tm a, b;

    if (ASN1_TIME_to_tm(X509_get0_notBefore(c), &a) != 1 ||
        ASN1_TIME_to_tm(X509_get0_notAfter(c), &b) != 1)
        return -1;
    *nb = timegm(&a);
    *na = timegm(&b);
    return 0;
}

/* 1 when cert verifies now (chaincache_now) to one of the anchors in st (untrusted
 * intermediates optional); then [*nb, *na) is when every certificate of the chain is valid. */
static int verify_to(X509_STORE *st, X509 *cert, STACK_OF(X509) *untrusted, time_t *nb,
                     time_t *na)
{
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    STACK_OF(X509) *chain;
    int ok = 0;

    if (ctx && X509_STORE_CTX_init(ctx, st, cert, untrusted) == 1) {
        X509_STORE_CTX_set_time(ctx, 0, chaincache_now());
        ok = X509_verify_cert(ctx) == 1;
    }
    if (!ok && ctx)
        LOG_DEBUG("certificate verify: %s",
                  X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx)));
    *nb = 0;
    *na = 0;
    chain = ok ? X509_STORE_CTX_get0_chain(ctx) : NULL;
    for (int i = 0; chain && i < sk_X509_num(chain); i++) {
        time_t b, a;
        if (cert_window(sk_X509_value(chain, i), &b, &a) < 0) {
            *na = 0; /* valid, but not cacheable */
            break;
        }
        if (i == 0 || b > *nb)
            *nb = b;
        if (i == 0 || a < *na)
            *na = a;
    }
    X509_STORE_CTX_free(ctx);
    ERR_clear_error();
    return ok;
}

/* The EK certificate's notBefore: when its issuer signed it. */
static int ek_issued_at(X509 *ek, time_t *t)
{
    struct tm tm;

    if (ASN1_TIME_to_tm(X509_get0_notBefore(ek), &tm) != 1)
        return -EINVAL;
    *t = timegm(&tm);
    return 0;
}

/* 1 when the issuer's notAfter has passed (chaincache_now). */
static int cert_expired(X509 *c)
{
    time_t now = chaincache_now();

    return X509_cmp_time(X509_get0_notAfter(c), &now) < 0;
}

/* chain = EK, issuer, vtpm-ca: 1 when the issuer's notAfter has passed. */
static int issuer_expired(STACK_OF(X509) *chain)
{
    return sk_X509_num(chain) > 2 && cert_expired(sk_X509_value(chain, 1));
}

/*
 * EK cert -> vtpm-issuer.pem (untrusted intermediates; none for EK certificates that the
 * vTPM-CA key signed itself) -> vtpm-ca.pem, checked at the EK certificate's notBefore: a vTPM
 * outlives the short-lived issuer that certified it. When registering, the issuer must also be
 * valid now, so that a leaked issuer key certifies nothing new after its notAfter.
 */
static void ek_from_ca(const struct chain_input *in, X509 *ek, X509 *ca,
                       STACK_OF(X509) *issuers, struct reasons *r)
{
    X509_STORE *st = X509_STORE_new();
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    time_t at;
    int ok = 0;

    if (st && ctx && issuers && ek_issued_at(ek, &at) == 0 && X509_STORE_add_cert(st, ca) == 1 &&
        X509_STORE_CTX_init(ctx, st, ek, issuers) == 1) {
        X509_STORE_CTX_set_time(ctx, 0, at);
        ok = X509_verify_cert(ctx) == 1;
        if (!ok)
            LOG_DEBUG("EK certificate verify: %s",
                      X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx)));
    }
    if (!ok) {
        reasons_add(r, "ek-cert-not-from-vtpm-ca", NULL);
    } else if (in->registering && issuer_expired(X509_STORE_CTX_get0_chain(ctx))) {
        reasons_add(r, "vtpm-issuer-expired", NULL);
    }
    ERR_clear_error();
    X509_STORE_CTX_free(ctx);
    X509_STORE_free(st);
}

static int san_has_uuid(X509 *ek, const char *uuid)
{
    GENERAL_NAMES *gens = X509_get_ext_d2i(ek, NID_subject_alt_name, NULL, NULL);
    char want[128];
    int found = 0;

    snprintf(want, sizeof(want), "urn:uuid:%s", uuid);
    for (int i = 0; gens && i < sk_GENERAL_NAME_num(gens); i++) {
        const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
        const ASN1_IA5STRING *u = g->type == GEN_URI ? g->d.uniformResourceIdentifier : NULL;
        if (u && (size_t)u->length == strlen(want) &&
            !strncasecmp((const char *)u->data, want, strlen(want)))
            found = 1;
    }
    GENERAL_NAMES_free(gens);
    return found;
}

static int public_of(const struct chain_input *in, const char *name, TPM2B_PUBLIC *pub)
{
    struct bytes b;

    return vf_evidence_bytes(in->host_chain, name, &b) < 0 ? -ENOENT
                                                      : tpm_public_parse(b.p, b.len, pub);
}

/* vtpm-ca.pub is the key of vtpm-ca.pem; its name is what the certify must name. */
static int ca_name(const struct chain_input *in, X509 *ca, uint8_t *name, size_t *nlen,
                   struct reasons *r)
{
    TPM2B_PUBLIC pub;
    EVP_PKEY *k;
    int ok;

    if (public_of(in, "vtpm-ca.pub", &pub) < 0) {
        reasons_add(r, "host-chain-malformed", "vtpm-ca.pub");
        return -1;
    }
    k = tpm_public_pkey(&pub.publicArea);
    ok = k && EVP_PKEY_eq(k, X509_get0_pubkey(ca)) == 1 &&
         tpm_public_name(&pub.publicArea, name, nlen) == 0;
    EVP_PKEY_free(k);
    if (!ok)
        reasons_add(r, "vtpm-ca-key-mismatch", NULL);
    return ok ? 0 : -1;
}

static EVP_PKEY *host_ak(const struct chain_input *in, struct reasons *r)
{
    TPM2B_PUBLIC pub;
    EVP_PKEY *k = NULL;

    if (public_of(in, "host-ak.pub", &pub) < 0)
        reasons_add(r, "host-chain-malformed", "host-ak.pub");
    else if (!tpm_public_is_ak(&pub.publicArea) || !(k = tpm_public_pkey(&pub.publicArea)))
        reasons_add(r, "host-ak-invalid", NULL);
    return k;
}

static void certify_fields(const TPMS_ATTEST *a, const uint8_t *name, size_t nlen, X509 *ca,
                           struct reasons *r)
{
    unsigned char *der = NULL;
    uint8_t md[32];
    int dlen = i2d_X509(ca, &der);

    if (a->magic != TPM2_GENERATED_VALUE || a->type != TPM2_ST_ATTEST_CERTIFY) {
        reasons_add(r, "vtpm-ca-certify-invalid", "not a TPM2_Certify");
        goto out;
    }
    if (a->attested.certify.name.size != nlen || memcmp(a->attested.certify.name.name, name, nlen))
        reasons_add(r, "vtpm-ca-certify-name", NULL);
    if (dlen <= 0)
        goto out;
    SHA256(der, (size_t)dlen, md);
    if (a->extraData.size != 32 || memcmp(a->extraData.buffer, md, 32))
        reasons_add(r, "vtpm-ca-certify-extradata", NULL);
out:
    OPENSSL_free(der);
}

static void certify_check(const struct chain_input *in, X509 *ca, struct reasons *r)
{
    struct bytes ab, sb;
    TPMS_ATTEST a;
    TPMT_SIGNATURE sig;
    uint8_t name[TPM_NAME_MAX];
    size_t nlen = 0;
    EVP_PKEY *ak;

    if (vf_evidence_bytes(in->host_chain, "vtpm-ca.certify.attest", &ab) < 0 ||
        vf_evidence_bytes(in->host_chain, "vtpm-ca.certify.sig", &sb) < 0 ||
        tpm_attest_parse(ab.p, ab.len, &a) < 0 || tpm_signature_parse(sb.p, sb.len, &sig) < 0) {
        reasons_add(r, "host-chain-malformed", "vtpm-ca.certify");
        return;
    }
    if (ca_name(in, ca, name, &nlen, r) == 0)
        certify_fields(&a, name, nlen, ca, r);
    ak = host_ak(in, r);
    if (ak && !tpm_signature_verify(ak, &sig, ab.p, ab.len))
        reasons_add(r, "vtpm-ca-certify-signature", NULL);
    EVP_PKEY_free(ak);
}

static void host_ek_check(const struct chain_input *in, X509_STORE *trust, struct reasons *r,
                          time_t *nb, time_t *na)
{
    STACK_OF(X509) *inter = sk_X509_new_null();
    X509 *hek = pem_certs(in, "host-ek.pem", NULL), *dummy;
    TPM2B_PUBLIC pub;
    EVP_PKEY *k = NULL;

    *nb = 0;
    *na = 0;
    if (!hek) {
        reasons_add(r, "host-chain-malformed", "host-ek.pem");
        goto out;
    }
    dummy = pem_certs(in, "host-ek-ca.pem", inter); /* untrusted intermediates, optional */
    X509_free(dummy);
    if (!trust || !inter || !verify_to(trust, hek, inter, nb, na))
        reasons_add(r, "host-ek-untrusted", NULL);
    if (public_of(in, "host-ek.pub", &pub) == 0 &&
        (!(k = tpm_public_pkey(&pub.publicArea)) || EVP_PKEY_eq(k, X509_get0_pubkey(hek)) != 1))
        reasons_add(r, "host-ek-key-mismatch", NULL);
out:
    EVP_PKEY_free(k);
    X509_free(hek);
    sk_X509_pop_free(inter, X509_free);
}

static int host_subject(const struct chain_input *in, char subject[CHAIN_SUBJECT_MAX])
{
    X509 *hek = pem_certs(in, "host-ek.pem", NULL);
    unsigned char *der = NULL;
    uint8_t md[32];
    int dlen = hek ? i2d_X509(hek, &der) : -1;

    X509_free(hek);
    if (dlen <= 0)
        return -EINVAL;
    SHA256(der, (size_t)dlen, md);
    OPENSSL_free(der);
    strcpy(subject, "host:");
    for (int i = 0; i < 32; i++)
        snprintf(subject + 5 + 2 * i, 3, "%02x", md[i]);
    return 0;
}

int chain_host_subject(const cbor_item_t *host_chain, char subject[CHAIN_SUBJECT_MAX])
{
    struct chain_input in = { .host_chain = host_chain };

    return host_subject(&in, subject);
}

void chain_host_identity(const cbor_item_t *host_chain, X509_STORE *trust, struct reasons *r,
                         EVP_PKEY **ek_key, struct bytes *ak_pub, uint8_t *ak_name,
                         size_t *ak_name_len, char subject[CHAIN_SUBJECT_MAX])
{
    struct chain_input in = { .host_chain = host_chain };
    size_t before = r->n;
    TPM2B_PUBLIC ek, ak;
    EVP_PKEY *akk = host_ak(&in, r);

    time_t nb, na;

    EVP_PKEY_free(akk);
    host_ek_check(&in, trust, r, &nb, &na);
    if (public_of(&in, "host-ek.pub", &ek) < 0)
        reasons_add(r, "host-chain-malformed", "host-ek.pub");
    if (r->n != before || r->oom)
        return;
    if (public_of(&in, "host-ak.pub", &ak) < 0 ||
        vf_evidence_bytes(host_chain, "host-ak.pub", ak_pub) < 0 ||
        tpm_public_name(&ak.publicArea, ak_name, ak_name_len) < 0 ||
        host_subject(&in, subject) < 0 || !(*ek_key = tpm_public_pkey(&ek.publicArea)))
        reasons_add(r, "host-chain-malformed", "host identity");
}

/* --- the host's intermediates, verified once (hostcache.h) ------------------------------ */

/* The host-chain files an entry stands on, in a fixed order. */
static const char *const host_files[] = {
    "vtpm-ca.pem", "vtpm-issuer.pem", "vtpm-ca.pub", "vtpm-ca.certify.attest",
    "vtpm-ca.certify.sig", "host-ak.pub", "host-ek.pem", "host-ek-ca.pem", "host-ek.pub",
};

static int feed(EVP_MD_CTX *c, const void *p, size_t len)
{
    uint64_t n = len;

    return EVP_DigestUpdate(c, &n, sizeof(n)) == 1 && EVP_DigestUpdate(c, p, len) == 1;
}

/* Appends a length-prefixed field to the preimage (as feed() hashes it); 0 when full. */
static int put_field(uint8_t *buf, size_t cap, size_t *off, const void *p, size_t len)
{
    uint64_t n = len;

    if (cap - *off < sizeof(n) || cap - *off - sizeof(n) < len)
        return 0;
    memcpy(buf + *off, &n, sizeof(n));
    if (len)
        memcpy(buf + *off + sizeof(n), p, len);
    *off += sizeof(n) + len;
    return 1;
}

/*
 * The last host key computed on this thread and the exact bytes it was computed from: the
 * evidence of a host's vTPMs all carries the same host files, and comparing them costs less
 * than hashing them again. Fixed size, no heap (nothing to free at thread exit).
 */
#define HOST_MEMO_MAX 16384u
static _Thread_local struct {
    uint8_t pre[HOST_MEMO_MAX];
    size_t len;
    uint8_t key[32];
} g_host_memo;

/* SHA-256 over the trust anchors' identity and the exact bytes of every host file (absent
 * ones marked as such); -1 when it cannot be computed (then nothing is cached). */
static int host_key(const struct chain_input *in, X509_STORE *trust, uint8_t key[32])
{
    static _Thread_local uint8_t pre[HOST_MEMO_MAX];
    size_t off = 0;
    EVP_MD_CTX *c;
    uint8_t id[32];
    unsigned int len = 0;
    int ok = trust_id(trust, id) == 0, fits;

    if (!ok)
        return -1;
    /* the preimage: every field feed() hashes below, in the same order */
    fits = put_field(pre, sizeof(pre), &off, "vtpm-host-intermediates", 23) &&
           put_field(pre, sizeof(pre), &off, id, 32) &&
           put_field(pre, sizeof(pre), &off, trust ? "t" : "-", 1);
    for (size_t i = 0; fits && i < sizeof(host_files) / sizeof(host_files[0]); i++) {
        struct bytes b;
        int have = in->host_chain && vf_evidence_bytes(in->host_chain, host_files[i], &b) == 0;
        fits = put_field(pre, sizeof(pre), &off, host_files[i], strlen(host_files[i])) &&
               put_field(pre, sizeof(pre), &off, have ? "1" : "0", 1) &&
               (!have || put_field(pre, sizeof(pre), &off, b.p, b.len));
    }
    if (fits && g_host_memo.len == off && memcmp(g_host_memo.pre, pre, off) == 0) {
        memcpy(key, g_host_memo.key, 32);
        return 0;
    }
    if (fits) { /* the preimage is the byte stream feed() would hash */
        if (tpm_sha256(pre, off, key) < 0)
            return -1;
        memcpy(g_host_memo.pre, pre, off);
        g_host_memo.len = off;
        memcpy(g_host_memo.key, key, 32);
        return 0;
    }
    c = EVP_MD_CTX_new();
    ok = c && EVP_DigestInit_ex(c, tpm_md(TPM2_ALG_SHA256), NULL) == 1 &&
         feed(c, "vtpm-host-intermediates", 23) && feed(c, id, 32) &&
         feed(c, trust ? "t" : "-", 1);
    for (size_t i = 0; ok && i < sizeof(host_files) / sizeof(host_files[0]); i++) {
        struct bytes b;
        int have = in->host_chain && vf_evidence_bytes(in->host_chain, host_files[i], &b) == 0;
        ok = feed(c, host_files[i], strlen(host_files[i])) && feed(c, have ? "1" : "0", 1) &&
             (!have || feed(c, b.p, b.len));
    }
    ok = ok && EVP_DigestFinal_ex(c, key, &len) == 1 && len == 32;
    EVP_MD_CTX_free(c);
    return ok ? 0 : -1;
}

/* Extensions whose checks need a whole chain (name constraints, RFC 3779): certificates with
 * them are verified by X509_verify_cert each time instead. */
static int needs_full_path(X509 *c)
{
    static const int nids[] = { NID_name_constraints, NID_policy_constraints,
                                NID_sbgp_ipAddrBlock, NID_sbgp_autonomousSysNum };

    for (size_t i = 0; i < sizeof(nids) / sizeof(nids[0]); i++)
        if (X509_get_ext_by_NID(c, nids[i], -1) >= 0)
            return 1;
    return 0;
}

/* vtpm-ca.pem as the anchor OpenSSL would accept for EK -> [issuer ->] vtpm-ca: self-signed,
 * no unhandled critical extension, and a CA (it signs the next certificate down). */
static int ca_anchor_ok(X509 *ca)
{
    X509_STORE *st = X509_STORE_new();
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    int ok = st && ctx && X509_STORE_add_cert(st, ca) == 1 &&
             X509_STORE_CTX_init(ctx, st, ca, NULL) == 1;

    if (ok) {
        X509_STORE_CTX_set_flags(ctx, X509_V_FLAG_NO_CHECK_TIME);
        ok = X509_verify_cert(ctx) == 1 && X509_check_ca(ca) != 0;
    }
    X509_STORE_CTX_free(ctx);
    X509_STORE_free(st);
    ERR_clear_error();
    return ok;
}

/*
 * An issuer of vtpm-issuer.pem as the middle of EK -> issuer -> vtpm-ca, checked once except
 * for times (checked per EK certificate at its notBefore): signed by vtpm-ca (OpenSSL chain
 * [issuer, vtpm-ca] without times), a CA, not a proxy, and within vtpm-ca's pathlen.
 */
static int issuer_ok(X509 *ca, X509 *iss)
{
    X509_STORE *st = X509_STORE_new();
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    uint32_t fl = X509_get_extension_flags(iss);
    long pathlen = X509_get_pathlen(ca);
    int ok = st && ctx && X509_cmp(ca, iss) != 0 && X509_STORE_add_cert(st, ca) == 1 &&
             X509_STORE_CTX_init(ctx, st, iss, NULL) == 1;

    if (ok) {
        X509_STORE_CTX_set_flags(ctx, X509_V_FLAG_NO_CHECK_TIME);
        ok = X509_verify_cert(ctx) == 1 && sk_X509_num(X509_STORE_CTX_get0_chain(ctx)) == 2 &&
             X509_check_ca(iss) != 0 && !(fl & EXFLAG_PROXY) &&
             (pathlen < 0 || pathlen >= 1 || (fl & EXFLAG_SI));
    }
    X509_STORE_CTX_free(ctx);
    X509_STORE_free(st);
    ERR_clear_error();
    return ok;
}

/* Everything of the chain check that does not depend on the vTPM. */
static struct host_entry *host_prepare(const struct chain_input *in, X509_STORE *trust)
{
    struct host_entry *e = host_entry_new();
    X509 *first;

    if (!e)
        return NULL;
    e->issuers = sk_X509_new_null();
    e->ca = pem_certs(in, "vtpm-ca.pem", NULL);
    if (!e->ca || !e->issuers) {
        e->ca_missing = !e->ca;
    } else {
        first = pem_certs(in, "vtpm-issuer.pem", e->issuers);
        X509_free(first);
        /* extension caches filled before the entry is shared (add_pem_file) */
        X509_check_purpose(e->ca, -1, 0);
        for (int i = 0; i < sk_X509_num(e->issuers); i++)
            X509_check_purpose(sk_X509_value(e->issuers, i), -1, 0);
        e->ca_signs = ca_anchor_ok(e->ca);
        e->full_path = needs_full_path(e->ca);
        for (int i = 0; i < sk_X509_num(e->issuers); i++) {
            X509 *c = sk_X509_value(e->issuers, i);
            e->full_path |= needs_full_path(c);
            if (e->niss < HOSTCACHE_MAX_ISSUERS && e->ca_signs && issuer_ok(e->ca, c) &&
                X509_up_ref(c) == 1)
                e->iss[e->niss++] = c;
        }
        certify_check(in, e->ca, &e->reasons);
    }
    host_ek_check(in, trust, &e->reasons, &e->not_before, &e->not_after);
    return e;
}

/* 1 when c is valid at t (OpenSSL's rule: notBefore <= t < notAfter). */
static int valid_at(X509 *c, time_t t)
{
    return X509_cmp_time(X509_get0_notBefore(c), &t) < 0 &&
           X509_cmp_time(X509_get0_notAfter(c), &t) > 0;
}

/* 1 when signer (vtpm-ca.pem or a checked issuer) signed ek and both, and vtpm-ca.pem, are
 * valid at the EK certificate's notBefore. */
static int signed_by(const struct host_entry *e, X509 *signer, X509 *ek, time_t at)
{
    return valid_at(signer, at) && (signer == e->ca || valid_at(e->ca, at)) &&
           X509_check_issued(signer, ek) == X509_V_OK &&
           X509_verify(ek, X509_get0_pubkey(signer)) == 1;
}

/*
 * EK cert -> [issuer ->] vtpm-ca with the host's checked issuers: one signature verify. The
 * same rules as ek_from_ca (OpenSSL's chain at the EK certificate's notBefore), the issuer
 * valid now when registering.
 */
static void ek_from_entry(const struct chain_input *in, X509 *ek, const struct host_entry *e,
                          struct reasons *r)
{
    uint32_t fl = X509_get_extension_flags(ek);
    time_t at;
    X509 *by = NULL;

    if (e->full_path || needs_full_path(ek)) {
        X509 *full = der_cert(&in->ek_cert); /* with its key, for X509_verify_cert */
        if (full)
            ek_from_ca(in, full, e->ca, e->issuers, r);
        else
            reasons_add(r, "ek-cert-not-from-vtpm-ca", NULL);
        X509_free(full);
        return;
    }
    if (!(fl & (EXFLAG_INVALID | EXFLAG_CRITICAL | EXFLAG_PROXY)) && ek_issued_at(ek, &at) == 0 &&
        valid_at(ek, at)) {
        for (size_t i = 0; i < e->niss && !by; i++)
            if (signed_by(e, e->iss[i], ek, at))
                by = e->iss[i];
        if (!by && e->ca_signs && signed_by(e, e->ca, ek, at))
            by = e->ca;
    }
    ERR_clear_error();
    if (!by)
        reasons_add(r, "ek-cert-not-from-vtpm-ca", NULL);
    else if (in->registering && by != e->ca && cert_expired(by))
        reasons_add(r, "vtpm-issuer-expired", NULL);
}

/* The host's entry: from the cache, else prepared (and cached when it has no fault). */
static struct host_entry *host_entry_for(const struct chain_input *in, X509_STORE *trust,
                                         const uint8_t *key)
{
    struct host_entry *e = key ? hostcache_get(hostcache_default(), key, chaincache_now()) : NULL;

    if (e)
        return e;
    e = host_prepare(in, trust);
    if (e && key && !e->ca_missing && e->reasons.n == 0 && !e->reasons.oom &&
        e->not_before <= chaincache_now() && chaincache_now() < e->not_after)
        hostcache_add(hostcache_default(), key, e);
    return e;
}

/* An EC key of a named curve from its SubjectPublicKeyInfo, without OpenSSL 3.0's decoders
 * (tpm_ec_point_pkey checks the point is on the curve); NULL for any other key. */
static EVP_PKEY *ec_spki_key(X509 *c)
{
    const ASN1_OBJECT *alg;
    const unsigned char *pt;
    const void *pval;
    int ptype, ptlen, nid;
    X509_ALGOR *a;

    if (X509_PUBKEY_get0_param((ASN1_OBJECT **)&alg, &pt, &ptlen, &a, X509_get_X509_PUBKEY(c)) != 1 ||
        OBJ_obj2nid(alg) != NID_X9_62_id_ecPublicKey)
        return NULL;
    X509_ALGOR_get0(NULL, &ptype, &pval, a);
    if (ptype != V_ASN1_OBJECT || (nid = OBJ_obj2nid(pval)) == NID_undef || !OBJ_nid2sn(nid) ||
        ptlen <= 0)
        return NULL;
    return tpm_ec_point_pkey(OBJ_nid2sn(nid), pt, (size_t)ptlen);
}

/* The EK certificate's public key (EVP_PKEY_free): built directly for EC keys, else (RSA)
 * by parsing the certificate with its key. */
static EVP_PKEY *ek_public_key(X509 *ek, const struct chain_input *in)
{
    EVP_PKEY *k = X509_get0_pubkey(ek);
    X509 *full;

    if (k)
        return EVP_PKEY_up_ref(k) == 1 ? k : NULL;
    if ((k = ec_spki_key(ek)) != NULL)
        return k;
    full = der_cert(&in->ek_cert);
    k = full ? X509_get0_pubkey(full) : NULL;
    if (k && EVP_PKEY_up_ref(k) != 1)
        k = NULL;
    X509_free(full);
    return k;
}

/* chain_check with the host's entry; [*not_before, *not_after) gets the entry's validity. */
static void chain_check_key(const struct chain_input *in, X509_STORE *trust, struct reasons *r,
                            EVP_PKEY **ek_key, const uint8_t *key, time_t *not_before,
                            time_t *not_after)
{
    size_t before = r->n;
    struct host_entry *e = host_entry_for(in, trust, key);
    /* with its key only for the OpenSSL chain of unusual hosts */
    X509 *ek = !e || e->full_path ? der_cert(&in->ek_cert) : der_cert_nokey(&in->ek_cert);

    *not_before = 0;
    *not_after = 0;
    if (!ek)
        reasons_add(r, "ek-cert-malformed", NULL);
    if (!e) {
        reasons_add(r, "host-chain-malformed", "out of memory");
        X509_free(ek);
        return;
    }
    if (e->ca_missing)
        reasons_add(r, "host-chain-malformed", "vtpm-ca.pem");
    if (ek && e->ca)
        ek_from_entry(in, ek, e, r);
    if (ek && !san_has_uuid(ek, in->vtpm_uuid))
        reasons_add(r, "ek-cert-uuid-mismatch", NULL);
    reasons_append(r, &e->reasons);
    *not_before = e->not_before;
    *not_after = e->not_after;
    if (ek_key && ek && r->n == before && !r->oom && !(*ek_key = ek_public_key(ek, in)))
        reasons_add(r, "ek-cert-malformed", "public key");
    host_entry_put(e);
    X509_free(ek);
}

void chain_check(const struct chain_input *in, X509_STORE *trust, struct reasons *r,
                 EVP_PKEY **ek_key)
{
    uint8_t hkey[32], key[32];
    size_t before = r->n;
    int keyed = host_key(in, trust, hkey) == 0;
    time_t nb, na;

    chain_check_key(in, trust, r, ek_key, keyed ? hkey : NULL, &nb, &na);
    /* A pass (a registration's included, which is stricter) is also the vTPM's pass for its
     * evidence: chain_check_cached then does not verify the same EK certificate again. */
    if (keyed && r->n == before && !r->oom &&
        chaincache_key_host("vtpm-ek-chain", &in->ek_cert, in->vtpm_uuid, hkey, key) == 0)
        chaincache_put_until(key, nb, na);
}

void chain_check_cached(const struct chain_input *in, X509_STORE *trust, struct reasons *r)
{
    uint8_t hkey[32], key[32];
    size_t before = r->n;
    int keyed = host_key(in, trust, hkey) == 0 &&
                chaincache_key_host("vtpm-ek-chain", &in->ek_cert, in->vtpm_uuid, hkey, key) == 0;
    time_t nb, na;

    if (keyed && chaincache_hit(key))
        return;
    chain_check_key(in, trust, r, NULL, keyed ? hkey : NULL, &nb, &na);
    if (keyed && r->n == before && !r->oom)
        chaincache_put_until(key, nb, na);
}

int chain_host_cached(const struct chain_input *in, X509_STORE *trust)
{
    uint8_t key[32];
    struct host_entry *e = host_key(in, trust, key) == 0 ?
                               hostcache_get(hostcache_default(), key, chaincache_now()) : NULL;

    host_entry_put(e);
    return e != NULL;
}

int chain_vtpm_cached(const struct chain_input *in, X509_STORE *trust)
{
    uint8_t hkey[32], key[32];

    return host_key(in, trust, hkey) == 0 &&
           chaincache_key_host("vtpm-ek-chain", &in->ek_cert, in->vtpm_uuid, hkey, key) == 0 &&
           chaincache_hit(key);
}

/* The check before the host cache (kept for benchmarks and as the reference in tests). */
void chain_check_full(const struct chain_input *in, X509_STORE *trust, struct reasons *r,
                      EVP_PKEY **ek_key)
{
    size_t before = r->n;
    X509 *ek = der_cert(&in->ek_cert), *ca = pem_certs(in, "vtpm-ca.pem", NULL);
    time_t nb, na;

    if (!ek)
        reasons_add(r, "ek-cert-malformed", NULL);
    if (!ca)
        reasons_add(r, "host-chain-malformed", "vtpm-ca.pem");
    if (ek && ca) {
        STACK_OF(X509) *issuers = sk_X509_new_null();
        X509 *first = pem_certs(in, "vtpm-issuer.pem", issuers);
        X509_free(first);
        ek_from_ca(in, ek, ca, issuers, r);
        sk_X509_pop_free(issuers, X509_free);
    }
    if (ek && !san_has_uuid(ek, in->vtpm_uuid))
        reasons_add(r, "ek-cert-uuid-mismatch", NULL);
    if (ca)
        certify_check(in, ca, r);
    host_ek_check(in, trust, r, &nb, &na);
    if (ek_key && ek && r->n == before && !r->oom) {
        *ek_key = X509_get0_pubkey(ek);
        if (*ek_key)
            EVP_PKEY_up_ref(*ek_key);
    }
    X509_free(ek);
    X509_free(ca);
}
