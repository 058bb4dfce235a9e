/* SPDX-License-Identifier: BSD-3-Clause */
/* The vTPM EK certificate chain: EK cert -> vtpm-issuer.pem -> vtpm-ca.pem -> TPM2_Certify by
 * the host AK -> host EK certificate -> a trusted host EK CA. */
#include "check/chain.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/x509v3.h>

#include "check/chaincache.h"
#include "log.h"
#include "check/tpmobj.h"

#define MAX_TRUST_FILES 256

static int add_pem_file(X509_STORE *st, const char *path)
{
    FILE *f = fopen(path, "re");
    X509 *c;
    int n = 0;

    if (!f)
        return 0;
    while ((c = PEM_read_X509(f, NULL, NULL, NULL)) != NULL) {
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

/* PEM certificates of one host_chain file; first one returned, all pushed to sk if given. */
static X509 *pem_certs(const struct chain_input *in, const char *name, STACK_OF(X509) *sk)
{
    struct bytes b;
    BIO *bio;
    X509 *c, *first = NULL;

    if (vf_evidence_bytes(in->host_chain, name, &b) < 0 || b.len > INT32_MAX)
        return NULL;
    bio = BIO_new_mem_buf(b.p, (int)b.len);
    while (bio && (c = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
        if (!first)
            first = X509_dup(c);
        if (!sk || !sk_X509_push(sk, c))
            X509_free(c);
    }
    ERR_clear_error();
    BIO_free(bio);
    return first;
}

/* 1 when cert verifies to one of the anchors in st (untrusted intermediates optional). */
static int verify_to(X509_STORE *st, X509 *cert, STACK_OF(X509) *untrusted)
{
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    int ok = 0;

    if (ctx && X509_STORE_CTX_init(ctx, st, cert, untrusted) == 1)
        ok = X509_verify_cert(ctx) == 1;
    if (!ok && ctx)
        LOG_DEBUG("certificate verify: %s",
                  X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx)));
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

/* chain = EK, issuer, vtpm-ca: 1 when the issuer's notAfter has passed. */
static int issuer_expired(STACK_OF(X509) *chain)
{
    return sk_X509_num(chain) > 2 &&
           X509_cmp_time(X509_get0_notAfter(sk_X509_value(chain, 1)), NULL) < 0;
}

/*
 * EK cert -> vtpm-issuer.pem (untrusted intermediates; none for EK certificates that the
 * vTPM-CA key signed itself) -> vtpm-ca.pem, checked at the EK certificate's notBefore: a vTPM
 * outlives the short-lived issuer that certified it. When registering, the issuer must also be
 * valid now, so that a leaked issuer key certifies nothing new after its notAfter.
 */
static void ek_from_ca(const struct chain_input *in, X509 *ek, X509 *ca, struct reasons *r)
{
    X509_STORE *st = X509_STORE_new();
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    STACK_OF(X509) *issuers = sk_X509_new_null();
    X509 *first = pem_certs(in, "vtpm-issuer.pem", issuers);
    time_t at;
    int ok = 0;

    X509_free(first);
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
    sk_X509_pop_free(issuers, X509_free);
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

static void host_ek_check(const struct chain_input *in, X509_STORE *trust, struct reasons *r)
{
    STACK_OF(X509) *inter = sk_X509_new_null();
    X509 *hek = pem_certs(in, "host-ek.pem", NULL), *dummy;
    TPM2B_PUBLIC pub;
    EVP_PKEY *k = NULL;

    if (!hek) {
        reasons_add(r, "host-chain-malformed", "host-ek.pem");
        goto out;
    }
    dummy = pem_certs(in, "host-ek-ca.pem", inter); /* untrusted intermediates, optional */
    X509_free(dummy);
    if (!trust || !inter || !verify_to(trust, hek, inter))
        reasons_add(r, "host-ek-untrusted", NULL);
    if (public_of(in, "host-ek.pub", &pub) == 0 &&
        (!(k = tpm_public_pkey(&pub.publicArea)) || EVP_PKEY_eq(k, X509_get0_pubkey(hek)) != 1))
        reasons_add(r, "host-ek-key-mismatch", NULL);
out:
    EVP_PKEY_free(k);
    X509_free(hek);
    sk_X509_pop_free(inter, X509_free);
}

void chain_check_cached(const struct chain_input *in, X509_STORE *trust, struct reasons *r)
{
    uint8_t key[32];
    size_t before = r->n;
    int keyed = chaincache_key("vtpm-ek-chain", &in->ek_cert, in->host_chain, in->vtpm_uuid,
                               key) == 0;

    if (keyed && chaincache_hit(key))
        return;
    chain_check(in, trust, r, NULL);
    if (keyed && r->n == before && !r->oom)
        chaincache_put(key);
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

    EVP_PKEY_free(akk);
    host_ek_check(&in, trust, r);
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

void chain_check(const struct chain_input *in, X509_STORE *trust, struct reasons *r,
                 EVP_PKEY **ek_key)
{
    size_t before = r->n;
    X509 *ek = der_cert(&in->ek_cert), *ca = pem_certs(in, "vtpm-ca.pem", NULL);

    if (!ek)
        reasons_add(r, "ek-cert-malformed", NULL);
    if (!ca)
        reasons_add(r, "host-chain-malformed", "vtpm-ca.pem");
    if (ek && ca)
        ek_from_ca(in, ek, ca, r);
    if (ek && !san_has_uuid(ek, in->vtpm_uuid))
        reasons_add(r, "ek-cert-uuid-mismatch", NULL);
    if (ca)
        certify_check(in, ca, r);
    host_ek_check(in, trust, r);
    if (ek_key && ek && r->n == before && !r->oom) {
        *ek_key = X509_get0_pubkey(ek);
        if (*ek_key)
            EVP_PKEY_up_ref(*ek_key);
    }
    X509_free(ek);
    X509_free(ca);
}
