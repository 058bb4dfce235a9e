/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Simulated fleet for tests/bench/bench_fleet.sh and tests/integration/t_verifier_scaleout.sh:
 * N nodes x M containers, each container a simulated vTPM whose keys live in this process,
 * attesting to one or more running `verifier serve` instances over HTTP(S) with the agent's
 * libcurl client (attest-agent/http.c: one kept-alive connection per thread and instance,
 * mutual TLS).
 *
 * Every identity is made in software, so that a quote over a fresh nonce costs one ECDSA
 * signature here and the verifier runs all of its checks as for a real vTPM: per node a host
 * EK (NIST P-256, its certificate from --host-ca-cert, which the verifier trusts), a host AK,
 * a vTPM-CA key with its certificate certified by the host AK (TPM2_Certify structure signed
 * in software); per container an EK (its certificate from the node's vTPM-CA) and an AK. EK
 * certificates are made by vtpm-mgr's x509_make_ek_cert (TCG EK profile, SAN
 * urn:uuid:<vTPM UUID>). Hosts (POST /v1/hosts/register) and AKs (POST
 * /v1/register) are registered by credential activation: TPM2_ActivateCredential is done in
 * software with the EK private key (ECDH + KDFe seed, KDFa, HMAC check, AES-128-CFB).
 *
 *   fleetsim --url URL[,URL...] --host-ca-cert F --host-ca-key F --log F
 *            [--ca F --cert F --key F] [--nodes N] [--containers M] [--agents C]
 *            [--interval S] [--duration S] [--warmup S] [--vf-pids P,...]
 *            [--db-pids P,...] [--save-evidence F] [--tag T]
 *
 * --log: an event log file {log: [...]} (`bench_verify log`); its replay gives PCRs 8-11 and
 * the verifier's policy must allow its digests (`bench_verify allow-args`).
 * Phases: every node's host registered, then every container's AK (untimed; reported), then
 * the load for --duration seconds: with --interval S > 0 an open loop, container k of the
 * N*M due at k*S/(N*M) and every S seconds after that (the offered rate N*M/S per second),
 * taken by C threads; with --interval 0 a closed loop, each of C threads attesting its own
 * containers back to back (saturation). One attestation: GET /v1/nonce, TPM2_Quote over
 * PCRs 8-11 signed here, POST /v1/evidence; its latency is from the nonce request to the
 * verdict. Requests go round robin over the URLs and the two requests of an attestation to
 * two different instances when there are several (nonce from A, evidence to B): what a load
 * balancer without sticky sessions may do at worst.
 * Measured: the attestations started after --warmup seconds (default 0) of the load; those
 * timed (latency, lag), whenever they end; achieved_per_s = those allowed that ended by
 * --duration, per second of the window (warm-up to --duration). n, allow, deny, error count
 * every attestation, the warm-up's and those that ended after --duration included.
 * --vf-pids, --db-pids: CPU seconds (/proc) of these processes during the load; a database
 * PID also counts its children (PostgreSQL's backends) and the children it reaped.
 * --save-evidence F: the last evidence of thread 0 is written to F (a replay test).
 *
 * Output (stdout): "registered hosts H containers K s S" and one line
 * "offered_per_s O achieved_per_s A n N allow A deny D error E skipped K unstarted U timed T
 * p50_ms P p99_ms Q max_ms X lag_p99_ms L vf_cpu_s V db_cpu_s B client_cpu_s C wall_s W"
 * (skipped: due while the container's previous attestation still ran; unstarted: due before
 * --duration but not started by then, every thread busy; CPU over the whole load), then one
 * "error KIND COUNT" line per kind of failure. Exit 0 when every attestation was allowed,
 * 1 otherwise, 2 for a usage error, 3 when a registration failed (no load was run).
 */
#include <errno.h>
#include <dirent.h>
#include <getopt.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <openssl/x509v3.h>
#include <tss2/tss2_mu.h>
#include <uuid/uuid.h>

#include "ctlproto.h"
#include "deadline.h"
#include "digest.h"
#include "eventlog.h"
#include "evidence.h"
#include "fileio.h"
#include "hosttpm_int.h"
#include "http.h"
#include "registration.h"
#include "tpmtemplates.h"
#include "verifierapi.h"
#include "vtpm_ipc.h"
#include "benchutil.h"
#include "../../verifier/check/makecred.h"
#include "../../verifier/check/tpmobj.h"

#define MAX_URLS     8
#define MAX_AGENTS   1024
#define MAX_FLEET    1000000L
#define REQ_MS       30000
#define MAX_KINDS    32

/* libcbor's reference counts are not atomic: the items every thread shares (the event log,
 * each node's host chain) are referenced by encoders under this lock only. */
static pthread_mutex_t g_cbor_mu = PTHREAD_MUTEX_INITIALIZER;

static int die(const char *msg)
{
    fprintf(stderr, "fleetsim: %s\n", msg);
    return 1;
}

/* --- software TPM objects ------------------------------------------------------------------ */

static EVP_PKEY *p256(void)
{
    return EVP_EC_gen("P-256");
}

static int point_of(EVP_PKEY *k, uint8_t x[32], uint8_t y[32])
{
    BIGNUM *bx = NULL, *by = NULL;
    int ok = EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_EC_PUB_X, &bx) == 1 &&
             EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_EC_PUB_Y, &by) == 1 &&
             BN_bn2binpad(bx, x, 32) == 32 && BN_bn2binpad(by, y, 32) == 32;

    BN_free(bx);
    BN_free(by);
    return ok ? 0 : -EINVAL;
}

/* The TPM2B_PUBLIC of an ECC P-256 key: the TCG default EK template (ek) or an AK (a
 * restricted ECDSA-SHA256 signing key, as tpm2_createak makes). */
static int ecc_public(EVP_PKEY *k, int ek, TPM2B_PUBLIC *pub)
{
    TPMT_PUBLIC *p = &pub->publicArea;

    memset(pub, 0, sizeof(*pub));
    if (ek) {
        if (tcg_ek_template(VTPM_EK_ECC_P256, pub) < 0)
            return -EINVAL;
    } else {
        p->type = TPM2_ALG_ECC;
        p->nameAlg = TPM2_ALG_SHA256;
        p->objectAttributes = TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT |
                              TPMA_OBJECT_SENSITIVEDATAORIGIN | TPMA_OBJECT_USERWITHAUTH |
                              TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_SIGN_ENCRYPT;
        p->parameters.eccDetail.symmetric.algorithm = TPM2_ALG_NULL;
        p->parameters.eccDetail.scheme.scheme = TPM2_ALG_ECDSA;
        p->parameters.eccDetail.scheme.details.ecdsa.hashAlg = TPM2_ALG_SHA256;
        p->parameters.eccDetail.curveID = TPM2_ECC_NIST_P256;
        p->parameters.eccDetail.kdf.scheme = TPM2_ALG_NULL;
    }
    p->unique.ecc.x.size = 32;
    p->unique.ecc.y.size = 32;
    return point_of(k, p->unique.ecc.x.buffer, p->unique.ecc.y.buffer);
}

/* Marshalled TPM2B_PUBLIC of k into buf[cap] (length in *len) and its TPM name. */
static int public_blob(EVP_PKEY *k, int ek, uint8_t *buf, size_t cap, size_t *len,
                       uint8_t name[TPM_NAME_MAX], size_t *nlen)
{
    TPM2B_PUBLIC pub;
    size_t off = 0;

    if (ecc_public(k, ek, &pub) < 0 || Tss2_MU_TPM2B_PUBLIC_Marshal(&pub, buf, cap, &off) ||
        tpm_public_name(&pub.publicArea, name, nlen) < 0)
        return -EINVAL;
    *len = off;
    return 0;
}

/* ECDSA-SHA256 of msg by k as a marshalled TPMT_SIGNATURE. */
static int tpm_sign(EVP_PKEY *k, const uint8_t *msg, size_t len, uint8_t *out, size_t cap,
                    size_t *outlen)
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    TPMT_SIGNATURE s = { .sigAlg = TPM2_ALG_ECDSA };
    uint8_t der[80];
    const uint8_t *p = der;
    size_t dlen = sizeof(der), off = 0;
    ECDSA_SIG *es = NULL;
    const BIGNUM *r, *sv;
    int rc = -EINVAL;

    if (!ctx || EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, k) != 1 ||
        EVP_DigestSign(ctx, der, &dlen, msg, len) != 1 ||
        !(es = d2i_ECDSA_SIG(NULL, &p, (long)dlen)))
        goto out;
    ECDSA_SIG_get0(es, &r, &sv);
    s.signature.ecdsa.hash = TPM2_ALG_SHA256;
    s.signature.ecdsa.signatureR.size = 32;
    s.signature.ecdsa.signatureS.size = 32;
    if (BN_bn2binpad(r, s.signature.ecdsa.signatureR.buffer, 32) != 32 ||
        BN_bn2binpad(sv, s.signature.ecdsa.signatureS.buffer, 32) != 32 ||
        Tss2_MU_TPMT_SIGNATURE_Marshal(&s, out, cap, &off))
        goto out;
    *outlen = off;
    rc = 0;
out:
    ECDSA_SIG_free(es);
    EVP_MD_CTX_free(ctx);
    return rc;
}

static uint64_t tpm_clock_ms(void)
{
    return (uint64_t)(now_us() / 1e3);
}

/* A TPMS_ATTEST signed by k: attest and sig filled (callee-allocated). */
static int attest_sign(EVP_PKEY *k, TPMS_ATTEST *a, uint8_t **attest, size_t *alen,
                       uint8_t **sig, size_t *slen)
{
    size_t off = 0;

    a->magic = TPM2_GENERATED_VALUE;
    a->clockInfo.clock = tpm_clock_ms();
    a->clockInfo.safe = 1;
    *attest = malloc(sizeof(TPMS_ATTEST));
    *sig = malloc(sizeof(TPMT_SIGNATURE));
    if (!*attest || !*sig || Tss2_MU_TPMS_ATTEST_Marshal(a, *attest, sizeof(TPMS_ATTEST), &off) ||
        tpm_sign(k, *attest, off, *sig, sizeof(TPMT_SIGNATURE), slen) < 0) {
        free(*attest);
        free(*sig);
        *attest = *sig = NULL;
        return -EINVAL;
    }
    *alen = off;
    return 0;
}

/*
 * TPM2_ActivateCredential in software for an ECC P-256 EK: Z = d_EK * the ephemeral point in
 * the secret, seed = KDFe(Z, "IDENTITY", x_eph, x_EK), the HMAC over encIdentity || name
 * checked with KDFa(seed, "INTEGRITY"), encIdentity decrypted with AES-128-CFB under
 * KDFa(seed, "STORAGE", name). cred[32] and *clen get the credential.
 */
static EVP_PKEY *point_key(const TPMS_ECC_POINT *pt)
{
    uint8_t raw[65] = { 4 };
    OSSL_PARAM params[3];
    EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
    EVP_PKEY *k = NULL;

    if (pt->x.size != 32 || pt->y.size != 32 || !c)
        goto out;
    memcpy(raw + 1, pt->x.buffer, 32);
    memcpy(raw + 33, pt->y.buffer, 32);
    params[0] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0);
    params[1] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, raw, sizeof(raw));
    params[2] = OSSL_PARAM_construct_end();
    if (EVP_PKEY_fromdata_init(c) != 1 ||
        EVP_PKEY_fromdata(c, &k, EVP_PKEY_PUBLIC_KEY, params) != 1)
        k = NULL;
out:
    EVP_PKEY_CTX_free(c);
    return k;
}

static int ecdh_seed(EVP_PKEY *ek, const TPM2B_ENCRYPTED_SECRET *enc, uint8_t seed[32])
{
    TPMS_ECC_POINT pt = { 0 };
    EVP_PKEY *eph = NULL;
    EVP_PKEY_CTX *c = NULL;
    uint8_t z[32], ekx[32], eky[32];
    size_t zl = sizeof(z), off = 0;
    int r = -EINVAL;

    if (Tss2_MU_TPMS_ECC_POINT_Unmarshal(enc->secret, enc->size, &off, &pt) ||
        off != enc->size || !(eph = point_key(&pt)) || !(c = EVP_PKEY_CTX_new(ek, NULL)) ||
        EVP_PKEY_derive_init(c) != 1 || EVP_PKEY_derive_set_peer(c, eph) != 1 ||
        EVP_PKEY_derive(c, z, &zl) != 1 || zl != 32 || point_of(ek, ekx, eky) < 0)
        goto out;
    r = makecred_kdfe(EVP_sha256(), z, 32, "IDENTITY", pt.x.buffer, 32, ekx, 32, seed, 32);
out:
    explicit_bzero(z, sizeof(z));
    EVP_PKEY_CTX_free(c);
    EVP_PKEY_free(eph);
    return r;
}

static int soft_activate(EVP_PKEY *ek, const uint8_t *name, size_t nlen,
                         const struct reg_challenge *ch, uint8_t cred[32], size_t *clen)
{
    TPM2B_ID_OBJECT id;
    TPM2B_ENCRYPTED_SECRET enc;
    TPM2B_DIGEST integ = { 0 }, cv = { 0 };
    uint8_t seed[32], sym[16], hkey[32], iv[16] = { 0 }, plain[sizeof(TPM2B_DIGEST)];
    uint8_t hmsg[sizeof(plain) + TPM_NAME_MAX], mac[32];
    unsigned int ml = 0;
    size_t off = 0, elen, poff = 0;
    EVP_CIPHER_CTX *cc = NULL;
    int outl = 0, r = -EINVAL;

    if (tpm_credential_unmarshal(ch->blob, ch->blob_len, ch->secret, ch->secret_len, &id,
                                 &enc) < 0 || ecdh_seed(ek, &enc, seed) < 0 ||
        Tss2_MU_TPM2B_DIGEST_Unmarshal(id.credential, id.size, &off, &integ) ||
        (elen = id.size - off) > sizeof(plain) || nlen > TPM_NAME_MAX)
        goto out;
    memcpy(hmsg, id.credential + off, elen);
    memcpy(hmsg + elen, name, nlen);
    if (makecred_kdfa(EVP_sha256(), seed, 32, "INTEGRITY", NULL, 0, NULL, 0, hkey, 32) ||
        !HMAC(EVP_sha256(), hkey, 32, hmsg, elen + nlen, mac, &ml) || ml != integ.size ||
        CRYPTO_memcmp(mac, integ.buffer, ml) != 0) {
        r = -EBADMSG; /* not made for this EK and AK */
        goto out;
    }
    if (makecred_kdfa(EVP_sha256(), seed, 32, "STORAGE", name, nlen, NULL, 0, sym, 16) ||
        !(cc = EVP_CIPHER_CTX_new()) ||
        EVP_DecryptInit_ex(cc, EVP_aes_128_cfb128(), NULL, sym, iv) != 1 ||
        EVP_DecryptUpdate(cc, plain, &outl, id.credential + off, (int)elen) != 1 ||
        Tss2_MU_TPM2B_DIGEST_Unmarshal(plain, (size_t)outl, &poff, &cv) || cv.size > 32)
        goto out;
    memcpy(cred, cv.buffer, cv.size);
    *clen = cv.size;
    r = 0;
out:
    EVP_CIPHER_CTX_free(cc);
    explicit_bzero(seed, sizeof(seed));
    explicit_bzero(sym, sizeof(sym));
    explicit_bzero(hkey, sizeof(hkey));
    explicit_bzero(plain, sizeof(plain));
    explicit_bzero(&cv, sizeof(cv));
    return r;
}

/* --- certificates -------------------------------------------------------------------------- */

static int add_ext(X509 *c, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509_EXTENSION *e;
    int ok;

    X509V3_set_ctx(&ctx, c, c, NULL, NULL, 0);
    if (!(e = X509V3_EXT_conf_nid(NULL, &ctx, nid, value)))
        return -EINVAL;
    ok = X509_add_ext(c, e, -1) == 1;
    X509_EXTENSION_free(e);
    return ok ? 0 : -EINVAL;
}

/* A self-signed CA certificate (a node's vTPM-CA) for key named cn, valid from back seconds
 * ago for 30 days. The EK certificates below are vtpm-mgr's (x509_make_ek_cert). */
static X509 *make_ca_cert(EVP_PKEY *key, const char *cn, long back)
{
    X509 *c = X509_new();
    X509_NAME *n = X509_NAME_new();
    uint8_t serial[16];
    BIGNUM *bn = NULL;
    int ok;

    RAND_bytes(serial, sizeof(serial));
    serial[0] &= 0x7f;
    bn = BN_bin2bn(serial, sizeof(serial), NULL);
    ok = c && n && bn && X509_set_version(c, 2) == 1 &&
         BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(c)) &&
         X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1,
                                    0) == 1 &&
         X509_set_subject_name(c, n) == 1 && X509_set_issuer_name(c, n) == 1 &&
         X509_gmtime_adj(X509_getm_notBefore(c), -back) &&
         X509_gmtime_adj(X509_getm_notAfter(c), 30L * 86400) && X509_set_pubkey(c, key) == 1 &&
         add_ext(c, NID_basic_constraints, "critical,CA:TRUE") == 0 &&
         add_ext(c, NID_key_usage, "critical,keyCertSign,cRLSign") == 0 &&
         add_ext(c, NID_subject_key_identifier, "hash") == 0 && /* for the EKs' AKID */
         X509_sign(c, key, EVP_sha256()) > 0;
    BN_free(bn);
    X509_NAME_free(n);
    if (!ok) {
        X509_free(c);
        return NULL;
    }
    return c;
}

/* An EK certificate as vtpm-mgr issues them (TCG EK profile, SAN urn:uuid:<uuid>) for the
 * ECC EK key, under issuer; DER or PEM wanted by the caller. */
static X509 *ek_cert(X509 *issuer, EVP_PKEY *ikey, EVP_PKEY *ek, const uint8_t uuid[16])
{
    TPM2B_PUBLIC pub;
    X509 *c = NULL;

    if (ecc_public(ek, 1, &pub) < 0 || x509_make_ek_cert(issuer, ikey, &pub, uuid, &c) < 0)
        return NULL;
    return c;
}

static int put_pem(cbor_item_t *m, const char *k, X509 *c)
{
    BIO *b = BIO_new(BIO_s_mem());
    char *p = NULL;
    long n;
    int r = -EINVAL;

    if (b && PEM_write_bio_X509(b, c) == 1 && (n = BIO_get_mem_data(b, &p)) > 0)
        r = ctl_put_bytes(m, k, (const uint8_t *)p, (size_t)n) ? -ENOMEM : 0;
    BIO_free(b);
    return r;
}

/* --- the fleet ----------------------------------------------------------------------------- */

struct node {
    cbor_item_t *chain;        /* the host chain every container of the node sends */
    EVP_PKEY *ca_key;          /* vTPM-CA: signs the containers' EK certificates */
    X509 *ca;
    EVP_PKEY *ek;              /* host EK: activates the host registration */
    uint8_t ak_name[TPM_NAME_MAX];
    size_t ak_name_len;
    EVP_PKEY *ak;
};

struct container {
    char id[96], uuid[37], reg[REG_ID_MAX];
    EVP_PKEY *ak;
    uint8_t ak_pub[sizeof(TPM2B_PUBLIC)], ak_name[TPM_NAME_MAX];
    size_t ak_pub_len, ak_name_len;
    uint8_t *ek_cert;          /* DER */
    size_t ek_cert_len;
    atomic_int busy;
    struct node *node;
};

struct kind {
    char name[96];
    unsigned long n;
};

struct opts {
    const char *urls[MAX_URLS];
    int nurls;
    const char *ca, *cert, *key, *host_ca_cert, *host_ca_key, *log, *save, *tag;
    long nodes, containers, agents;
    double interval, duration, warmup;
    char *vf_pids, *db_pids;
};

struct sim;

struct agent {
    pthread_t th;
    struct sim *s;
    int idx;
    unsigned long rr;          /* requests so far: the round robin over the URLs */
    double *lat, *lag;         /* ms per attestation */
    size_t n, cap, allow, deny, error, skipped;
    size_t in_window;          /* allowed attestations that ended in the measured window */
    size_t unstarted;          /* open loop: due before --duration, not started by then */
    int failed;                /* set-up failure of this thread */
    uint8_t *last;             /* thread 0 with --save-evidence: the last evidence */
    size_t last_len;
};

struct sim {
    struct opts o;
    struct http_opts ho[MAX_URLS];
    X509 *host_ca;
    EVP_PKEY *host_ca_key;
    struct eventlog log;
    uint8_t pcrs[VTPM_QUOTE_PCRS][DIGEST_LEN]; /* PCRs 8-11, as the agent quotes them */
    struct node *nodes;
    struct container *cont;
    long ncont;
    struct agent *ag;
    pthread_barrier_t bar;
    atomic_ulong next;         /* next node / container / job to take */
    atomic_int setup_failed;
    double t0;                 /* load start, µs */
    pthread_mutex_t mu;
    struct kind kinds[MAX_KINDS];
    int nkinds;
};

/* Counts one failure of kind (spaces made dashes: the report is split at spaces). */
static void count_kind(struct sim *s, const char *what)
{
    char kind[sizeof(s->kinds[0].name)];
    int i;

    snprintf(kind, sizeof(kind), "%s", what);
    for (char *p = kind; *p; p++)
        if (*p == ' ')
            *p = '-';
    pthread_mutex_lock(&s->mu);
    for (i = 0; i < s->nkinds && strcmp(s->kinds[i].name, kind); i++)
        ;
    if (i == s->nkinds && s->nkinds < MAX_KINDS)
        snprintf(s->kinds[s->nkinds++].name, sizeof(s->kinds[0].name), "%s", kind);
    else if (i == s->nkinds)
        i = MAX_KINDS - 1; /* the last slot takes the rest */
    if (!s->kinds[i].n++)
        fprintf(stderr, "fleetsim: first failure of kind %s\n", kind);
    pthread_mutex_unlock(&s->mu);
}

static const struct http_opts *url_for(struct sim *s, size_t k)
{
    return &s->ho[k % (size_t)s->o.nurls];
}

static void set_deadline(struct http_opts *o)
{
    o->deadline = deadline_now_ms() + REQ_MS;
}

/* Host chain of node i: host EK (certificate from the host CA), host AK, vTPM-CA and the AK's
 * TPM2_Certify of it, extraData the SHA-256 of the CA certificate's DER. */
static int node_make(struct sim *s, long i, struct node *nd)
{
    uint8_t buf[sizeof(TPM2B_PUBLIC)], name[TPM_NAME_MAX], md[32];
    unsigned char *der = NULL;
    char cn[64];
    size_t len, nlen;
    uuid_t u;
    TPMS_ATTEST a = { .type = TPM2_ST_ATTEST_CERTIFY };
    uint8_t *att = NULL, *sig = NULL;
    size_t alen = 0, slen = 0;
    X509 *hek = NULL;
    int dlen, r = -ENOMEM;

    nd->chain = ctl_map_new();
    nd->ek = p256();
    nd->ak = p256();
    nd->ca_key = p256();
    uuid_generate_random(u);
    if (!nd->chain || !nd->ek || !nd->ak || !nd->ca_key ||
        !(hek = ek_cert(s->host_ca, s->host_ca_key, nd->ek, u)))
        goto out;
    snprintf(cn, sizeof(cn), "fleet %s node %ld vTPM CA", s->o.tag, i);
    if (!(nd->ca = make_ca_cert(nd->ca_key, cn, 7200)))
        goto out;
    r = -EINVAL;
    if (put_pem(nd->chain, "host-ek.pem", hek) || put_pem(nd->chain, "vtpm-ca.pem", nd->ca) ||
        public_blob(nd->ek, 1, buf, sizeof(buf), &len, name, &nlen) ||
        ctl_put_bytes(nd->chain, "host-ek.pub", buf, len) ||
        public_blob(nd->ak, 0, buf, sizeof(buf), &len, nd->ak_name, &nd->ak_name_len) ||
        ctl_put_bytes(nd->chain, "host-ak.pub", buf, len) ||
        public_blob(nd->ca_key, 0, buf, sizeof(buf), &len, name, &nlen) ||
        ctl_put_bytes(nd->chain, "vtpm-ca.pub", buf, len) ||
        (dlen = i2d_X509(nd->ca, &der)) <= 0)
        goto out;
    SHA256(der, (size_t)dlen, md);
    a.qualifiedSigner.size = (UINT16)nd->ak_name_len;
    memcpy(a.qualifiedSigner.name, nd->ak_name, nd->ak_name_len);
    a.extraData.size = 32;
    memcpy(a.extraData.buffer, md, 32);
    a.attested.certify.name.size = (UINT16)nlen;
    memcpy(a.attested.certify.name.name, name, nlen);
    a.attested.certify.qualifiedName = a.attested.certify.name;
    if (attest_sign(nd->ak, &a, &att, &alen, &sig, &slen) < 0 ||
        ctl_put_bytes(nd->chain, "vtpm-ca.certify.attest", att, alen) ||
        ctl_put_bytes(nd->chain, "vtpm-ca.certify.sig", sig, slen))
        goto out;
    r = 0;
out:
    OPENSSL_free(der);
    X509_free(hek);
    free(att);
    free(sig);
    return r;
}

/* POST /v1/hosts/register and the software activation of its challenge. */
static int node_register(struct sim *s, long i, struct node *nd)
{
    struct http_opts o = *url_for(s, (size_t)i);
    cbor_item_t *m = ctl_map_new();
    struct reg_reply rep = { 0 };
    uint8_t *req = NULL, cred[32];
    size_t len = 0, clen = 0;
    int r = -ENOMEM;

    set_deadline(&o);
    pthread_mutex_lock(&g_cbor_mu);
    if (m && !ctl_put_uint(m, "v", 1) && !ctl_put_item(m, "host_chain", cbor_incref(nd->chain)))
        r = ctl_serialize(m, &req, &len);
    if (m)
        cbor_decref(&m);
    pthread_mutex_unlock(&g_cbor_mu);
    if (r == 0)
        r = verifier_register(&o, "/v1/hosts/register", req, len, &rep);
    free(req);
    if (r < 0 || rep.registered)
        return r;
    r = soft_activate(nd->ek, nd->ak_name, nd->ak_name_len, &rep.c, cred, &clen);
    if (r == 0)
        r = registration_answer(&o, rep.c.registration, cred, clen);
    explicit_bzero(cred, sizeof(cred));
    reg_challenge_free(&rep.c);
    return r;
}

/* Container k: EK and its certificate from the node's vTPM-CA, AK, registered by activation. */
static int container_make(struct sim *s, long k, struct container *c)
{
    struct node *nd = &s->nodes[k % s->o.nodes];
    struct http_opts o = *url_for(s, (size_t)k);
    struct evidence e = { 0 };
    struct reg_reply rep = { 0 };
    EVP_PKEY *ek = p256();
    X509 *cert = NULL;
    uint8_t *req = NULL, cred[32];
    size_t len = 0, clen = 0;
    uuid_t u;
    int r = -ENOMEM;

    uuid_generate_random(u);
    uuid_unparse_lower(u, c->uuid);
    snprintf(c->id, sizeof(c->id), "fleet-%s-n%ld-c%ld", s->o.tag, k % s->o.nodes,
             k / s->o.nodes);
    c->node = nd;
    c->ak = p256();
    if (!ek || !c->ak || !(cert = ek_cert(nd->ca, nd->ca_key, ek, u)) ||
        x509_to_der(cert, &c->ek_cert, &c->ek_cert_len) < 0)
        goto out;
    r = public_blob(c->ak, 0, c->ak_pub, sizeof(c->ak_pub), &c->ak_pub_len, c->ak_name,
                    &c->ak_name_len);
    e.vtpm_uuid = c->uuid;
    e.ek_cert = (struct bytes){ c->ek_cert, c->ek_cert_len };
    e.ak_pub = (struct bytes){ c->ak_pub, c->ak_pub_len };
    e.host_chain = nd->chain;
    set_deadline(&o);
    pthread_mutex_lock(&g_cbor_mu);
    if (r == 0)
        r = register_request_encode(&e, &req, &len);
    pthread_mutex_unlock(&g_cbor_mu);
    if (r == 0)
        r = verifier_register(&o, "/v1/register", req, len, &rep);
    if (r == 0 && rep.registered)
        r = -EBADMSG;
    if (r == 0)
        r = soft_activate(ek, c->ak_name, c->ak_name_len, &rep.c, cred, &clen);
    if (r == 0)
        r = registration_answer(&o, rep.c.registration, cred, clen);
    if (r == 0)
        snprintf(c->reg, sizeof(c->reg), "%s", rep.c.registration);
    explicit_bzero(cred, sizeof(cred));
    reg_challenge_free(&rep.c);
out:
    free(req);
    X509_free(cert);
    EVP_PKEY_free(ek);
    return r;
}

/* --- one attestation ----------------------------------------------------------------------- */

/* Room for one more sample in a's latency and lag arrays; -ENOMEM when there is none. */
static int grow(struct agent *a)
{
    double *t;
    size_t nc;

    if (a->n < a->cap)
        return 0;
    nc = a->cap ? a->cap * 2 : 1024;
    if (!(t = realloc(a->lat, nc * sizeof(double))))
        return -ENOMEM;
    a->lat = t;
    if (!(t = realloc(a->lag, nc * sizeof(double))))
        return -ENOMEM;
    a->lag = t;
    a->cap = nc;
    return 0;
}

/* TPM2_Quote of PCRs 8-11 over nonce by container c's AK (as vtpm_quote selects them). */
static int quote(struct sim *s, struct container *c, const uint8_t *nonce, size_t nlen,
                 struct vtpm_quote *q)
{
    TPMS_ATTEST a = { .type = TPM2_ST_ATTEST_QUOTE };
    TPML_PCR_SELECTION *sel = &a.attested.quote.pcrSelect;
    uint8_t cat[VTPM_QUOTE_PCRS * DIGEST_LEN];

    if (nlen > sizeof(a.extraData.buffer))
        return -EINVAL;
    a.qualifiedSigner.size = (UINT16)c->ak_name_len;
    memcpy(a.qualifiedSigner.name, c->ak_name, c->ak_name_len);
    a.extraData.size = (UINT16)nlen;
    memcpy(a.extraData.buffer, nonce, nlen);
    sel->count = 1;
    sel->pcrSelections[0].hash = TPM2_ALG_SHA256;
    sel->pcrSelections[0].sizeofSelect = 3;
    sel->pcrSelections[0].pcrSelect[1] = 0x0f; /* PCRs 8, 9, 10, 11 */
    memcpy(cat, s->pcrs, sizeof(cat));
    a.attested.quote.pcrDigest.size = 32;
    SHA256(cat, sizeof(cat), a.attested.quote.pcrDigest.buffer);
    memcpy(q->pcrs, s->pcrs, sizeof(q->pcrs));
    return attest_sign(c->ak, &a, &q->attest, &q->attest_len, &q->sig, &q->sig_len);
}

static int get_nonce(const struct http_opts *o, uint8_t **nonce, size_t *len, char *why,
                     size_t wlen)
{
    struct http_resp resp;
    json_t *j = NULL;
    const char *hex;
    int r = http_get(o, "/v1/nonce", &resp);

    if (r < 0) {
        snprintf(why, wlen, "nonce-transport:%s", strerror(-r));
        return r;
    }
    if (resp.status != 200) {
        snprintf(why, wlen, "nonce-http-%ld", resp.status);
        r = -EIO;
    } else if (!(j = json_loadb((const char *)resp.body, resp.len, 0, NULL)) ||
               !(hex = json_string_value(json_object_get(j, "nonce"))) ||
               hex_decode(hex, nonce, len) < 0) {
        snprintf(why, wlen, "nonce-malformed");
        r = -EBADMSG;
    }
    json_decref(j);
    http_resp_free(&resp);
    return r;
}

/* The verdict of an evidence answer: 0 allow, else *why says what (deny:<first reason>). */
static int judge(const struct http_resp *resp, char *why, size_t wlen)
{
    json_t *j = resp->body ? json_loadb((const char *)resp->body, resp->len, 0, NULL) : NULL;
    const char *v = json_string_value(json_object_get(j, "verdict"));
    const char *r0 = json_string_value(json_array_get(json_object_get(j, "reasons"), 0));
    char code[64];
    int r = -EACCES;

    snprintf(code, sizeof(code), "%s", r0 ? r0 : "none");
    code[strcspn(code, ":")] = '\0'; /* the stable code, without its detail */
    if (v && !strcmp(v, "allow") && resp->status == 200)
        r = 0;
    else if (v && (!strcmp(v, "deny") || !strcmp(v, "refused")))
        snprintf(why, wlen, "%s:%s", v, code);
    else
        snprintf(why, wlen, "evidence-http-%ld", resp->status);
    json_decref(j);
    return r;
}

static void attest_one(struct sim *s, struct agent *a, struct container *c, double sched_us)
{
    struct http_opts on = *url_for(s, a->rr), oe = *url_for(s, a->rr + 1);
    struct vtpm_quote q = { 0 };
    struct evidence e = { 0 };
    struct http_resp resp = { 0 };
    uint8_t *nonce = NULL, *body = NULL;
    size_t nlen = 0, blen = 0;
    char why[160] = "";
    double t0 = now_us(), t1;
    int r;

    a->rr++;
    set_deadline(&on);
    set_deadline(&oe);
    r = get_nonce(&on, &nonce, &nlen, why, sizeof(why));
    if (r == 0 && (r = quote(s, c, nonce, nlen, &q)) < 0)
        snprintf(why, sizeof(why), "quote-failed");
    e.container_id = c->id;
    e.vtpm_uuid = c->uuid;
    e.nonce = (struct bytes){ nonce, nlen };
    e.ak_pub = (struct bytes){ c->ak_pub, c->ak_pub_len };
    e.ek_cert = (struct bytes){ c->ek_cert, c->ek_cert_len };
    e.quote = &q;
    e.log = &s->log;
    e.host_chain = c->node->chain;
    e.registration = c->reg;
    pthread_mutex_lock(&g_cbor_mu);
    if (r == 0 && (r = evidence_encode(&e, &body, &blen)) < 0)
        snprintf(why, sizeof(why), "encode-failed");
    pthread_mutex_unlock(&g_cbor_mu);
    if (r == 0 && (r = http_post(&oe, "/v1/evidence", "application/cbor", body, blen,
                                 &resp)) < 0)
        snprintf(why, sizeof(why), "evidence-transport:%s", strerror(-r));
    if (r == 0)
        r = judge(&resp, why, sizeof(why));
    t1 = now_us();
    if (t0 < s->t0 + s->o.warmup * 1e6) {
        /* warm-up: counted below, not timed */
    } else if (grow(a) == 0) {
        a->lat[a->n] = (t1 - t0) / 1e3;
        a->lag[a->n++] = sched_us >= 0 ? (t0 - sched_us) / 1e3 : 0;
    } else {
        count_kind(s, "client-out-of-memory");
    }
    if (r == 0 && t0 >= s->t0 + s->o.warmup * 1e6 && t1 <= s->t0 + s->o.duration * 1e6)
        a->in_window++;
    if (r == 0) {
        a->allow++;
    } else {
        if (!strncmp(why, "deny:", 5) || !strncmp(why, "refused:", 8))
            a->deny++;
        else
            a->error++;
        count_kind(s, why);
    }
    if (a->idx == 0 && s->o.save && body) {
        free(a->last);
        a->last = body;
        a->last_len = blen;
        body = NULL;
    }
    http_resp_free(&resp);
    vtpm_quote_free(&q);
    free(body);
    free(nonce);
}

/* --- the threads --------------------------------------------------------------------------- */

static void setup_phase(struct sim *s, long total, int (*fn)(struct sim *, long, void *),
                        size_t stride, void *base, const char *what)
{
    unsigned long k;
    char why[64];
    int r;

    while ((k = atomic_fetch_add(&s->next, 1)) < (unsigned long)total) {
        if (atomic_load(&s->setup_failed))
            return;
        if ((r = fn(s, (long)k, (char *)base + k * stride)) < 0) {
            snprintf(why, sizeof(why), "%s-failed:%s", what, strerror(-r));
            count_kind(s, why);
            atomic_store(&s->setup_failed, 1);
        }
    }
}

static int node_setup(struct sim *s, long i, void *p)
{
    int r = node_make(s, i, p);

    return r < 0 ? r : node_register(s, i, p);
}

static int container_setup(struct sim *s, long k, void *p)
{
    return container_make(s, k, p);
}

static void load_open(struct sim *s, struct agent *a)
{
    double step_us = s->o.interval * 1e6 / (double)s->ncont, end_us = s->o.duration * 1e6;
    unsigned long j;

    while ((j = atomic_fetch_add(&s->next, 1)), (double)j * step_us < end_us) {
        struct container *c = &s->cont[j % (unsigned long)s->ncont];
        double at = s->t0 + (double)j * step_us;
        long long wait = (long long)(at - now_us());

        if (wait > 0) {
            struct timespec ts = { (time_t)(wait / 1000000), (long)(wait % 1000000) * 1000 };
            nanosleep(&ts, NULL);
        } else if (now_us() > s->t0 + end_us) { /* overloaded: the backlog is not drained */
            a->unstarted++;
            continue;
        }
        if (atomic_exchange(&c->busy, 1)) { /* its previous attestation is still running */
            a->skipped++;
            continue;
        }
        attest_one(s, a, c, at);
        atomic_store(&c->busy, 0);
    }
}

static void load_closed(struct sim *s, struct agent *a)
{
    double end = s->t0 + s->o.duration * 1e6;
    long k = a->idx;

    if (k >= s->ncont)
        return;
    while (now_us() < end) {
        attest_one(s, a, &s->cont[k], -1);
        k += s->o.agents;
        if (k >= s->ncont)
            k = a->idx;
    }
}

static void *agent_main(void *arg)
{
    struct agent *a = arg;
    struct sim *s = a->s;

    setup_phase(s, s->o.nodes, node_setup, sizeof(struct node), s->nodes, "host-register");
    pthread_barrier_wait(&s->bar);  /* every host registered; main resets next */
    pthread_barrier_wait(&s->bar);
    setup_phase(s, s->ncont, container_setup, sizeof(struct container), s->cont, "register");
    pthread_barrier_wait(&s->bar);  /* every AK registered; main sets t0 */
    pthread_barrier_wait(&s->bar);
    if (!atomic_load(&s->setup_failed)) {
        if (s->o.interval > 0)
            load_open(s, a);
        else
            load_closed(s, a);
    }
    return NULL;
}

/* --- CPU of other processes ---------------------------------------------------------------- */

/* Fields 14-17 of /proc/PID/stat (utime stime cutime cstime) and field 4 (ppid). */
static int proc_stat(long pid, long long t[4], long *ppid)
{
    char path[64], buf[1024], *p;
    FILE *f;
    size_t n;

    snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
    if (!(f = fopen(path, "re")))
        return -errno;
    n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    if (!(p = strrchr(buf, ')'))) /* the command name may hold spaces and parentheses */
        return -EINVAL;
    return sscanf(p + 2, "%*c %ld %*d %*d %*d %*d %*u %*u %*u %*u %*u %lld %lld %lld %lld", ppid,
                  &t[0], &t[1], &t[2], &t[3]) == 5 ? 0 : -EINVAL;
}

/* Clock ticks of the PIDs in list (comma-separated); with kids, also of their children now
 * alive and of the children they reaped. */
static long long ticks_of(const char *list, int kids)
{
    char *copy = list ? strdup(list) : NULL, *save = NULL;
    long long sum = 0, t[4];
    long ppid;

    for (char *p = copy ? strtok_r(copy, ",", &save) : NULL; p; p = strtok_r(NULL, ",", &save)) {
        long pid = strtol(p, NULL, 10);
        DIR *d;
        struct dirent *de;

        if (proc_stat(pid, t, &ppid) < 0)
            continue;
        sum += t[0] + t[1] + (kids ? t[2] + t[3] : 0);
        if (!kids || !(d = opendir("/proc")))
            continue;
        while ((de = readdir(d)) != NULL) {
            long c = strtol(de->d_name, NULL, 10);
            if (c > 0 && proc_stat(c, t, &ppid) == 0 && ppid == pid)
                sum += t[0] + t[1];
        }
        closedir(d);
    }
    free(copy);
    return sum;
}

static double cpu_self_s(void)
{
    struct rusage ru;

    if (getrusage(RUSAGE_SELF, &ru) < 0)
        return 0;
    return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
           (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

/* --- set-up and report --------------------------------------------------------------------- */

static int load_log(struct sim *s)
{
    uint8_t *b = NULL, all[EVENTLOG_PCRS][DIGEST_LEN];
    size_t len = 0;
    cbor_item_t *m = NULL, *recs;
    uint32_t used = 0;
    int r = file_read_all_flags(AT_FDCWD, s->o.log, 0, EVIDENCE_MAX_SIZE, &b, &len);

    if (r == 0)
        r = ctl_decode(b, len, &m);
    free(b);
    if (r < 0 || !(recs = ctl_get(m, "log")) || !cbor_isa_array(recs) ||
        eventlog_replay(recs, all, &used) < 0) {
        if (m)
            cbor_decref(&m);
        return -EBADMSG;
    }
    s->log.records = cbor_incref(recs);
    s->log.count = cbor_array_size(recs);
    for (int i = 0; i < VTPM_QUOTE_PCRS; i++) /* a PCR no record touches stays zero */
        memcpy(s->pcrs[i], (used & (1u << (8 + i))) ? all[8 + i] : (uint8_t[DIGEST_LEN]){ 0 },
               DIGEST_LEN);
    cbor_decref(&m);
    return 0;
}

static int load_host_ca(struct sim *s)
{
    FILE *f = fopen(s->o.host_ca_cert, "re");

    if (f) {
        s->host_ca = PEM_read_X509(f, NULL, NULL, NULL);
        fclose(f);
    }
    if ((f = fopen(s->o.host_ca_key, "re"))) {
        s->host_ca_key = PEM_read_PrivateKey(f, NULL, NULL, NULL);
        fclose(f);
    }
    return s->host_ca && s->host_ca_key ? 0 : -EINVAL;
}

static int parse_urls(char *arg, struct opts *o)
{
    char *save = NULL;

    o->nurls = 0;
    for (char *u = strtok_r(arg, ",", &save); u; u = strtok_r(NULL, ",", &save)) {
        if (o->nurls == MAX_URLS)
            return -EINVAL;
        o->urls[o->nurls++] = u;
    }
    return o->nurls ? 0 : -EINVAL;
}

static int parse_num(const char *s, double lo, double hi, double *out)
{
    char *end;

    errno = 0;
    *out = strtod(s, &end);
    return !errno && *s && !*end && *out >= lo && *out <= hi ? 0 : -EINVAL;
}

static int parse_opts(int argc, char **argv, struct opts *o)
{
    static const struct option lo[] = {
        { "url", 1, 0, 'u' },          { "ca", 1, 0, 'a' },          { "cert", 1, 0, 'c' },
        { "key", 1, 0, 'k' },          { "host-ca-cert", 1, 0, 'H' }, { "host-ca-key", 1, 0, 'K' },
        { "log", 1, 0, 'l' },          { "nodes", 1, 0, 'n' },       { "containers", 1, 0, 'm' },
        { "agents", 1, 0, 'g' },       { "interval", 1, 0, 'i' },    { "duration", 1, 0, 'd' },
        { "vf-pids", 1, 0, 'V' },      { "db-pids", 1, 0, 'D' },     { "save-evidence", 1, 0, 's' },
        { "tag", 1, 0, 't' },          { "warmup", 1, 0, 'w' },     { 0, 0, 0, 0 },
    };
    double v;
    int c, r = 0;

    *o = (struct opts){ .nodes = 1, .containers = 1, .agents = 16, .interval = 0, .duration = 10 };
    while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1 && r == 0) {
        switch (c) {
        case 'u': r = parse_urls(optarg, o); break;
        case 'a': o->ca = optarg; break;
        case 'c': o->cert = optarg; break;
        case 'k': o->key = optarg; break;
        case 'H': o->host_ca_cert = optarg; break;
        case 'K': o->host_ca_key = optarg; break;
        case 'l': o->log = optarg; break;
        case 's': o->save = optarg; break;
        case 't': o->tag = optarg; break;
        case 'V': o->vf_pids = optarg; break;
        case 'D': o->db_pids = optarg; break;
        case 'n': r = parse_num(optarg, 1, MAX_FLEET, &v); o->nodes = (long)v; break;
        case 'm': r = parse_num(optarg, 1, MAX_FLEET, &v); o->containers = (long)v; break;
        case 'g': r = parse_num(optarg, 1, MAX_AGENTS, &v); o->agents = (long)v; break;
        case 'i': r = parse_num(optarg, 0, 86400, &o->interval); break;
        case 'd': r = parse_num(optarg, 0.1, 86400, &o->duration); break;
        case 'w': r = parse_num(optarg, 0, 86400, &o->warmup); break;
        default: r = -EINVAL; break;
        }
    }
    if (r || optind != argc || !o->nurls || o->warmup >= o->duration || !o->host_ca_cert ||
        !o->host_ca_key || !o->log || o->nodes * o->containers > MAX_FLEET || (o->tag && strlen(o->tag) > 32))
        return -EINVAL;
    return 0;
}

static void report(struct sim *s, double reg_s, double wall_s, double vf_s, double db_s,
                   double cl_s)
{
    size_t n = 0, allow = 0, deny = 0, error = 0, skipped = 0, win = 0, total = 0, late = 0;
    double span = s->o.duration - s->o.warmup;
    double *lat, *lag;

    for (long t = 0; t < s->o.agents; t++)
        n += s->ag[t].n;
    lat = calloc(n + 1, sizeof(double));
    lag = calloc(n + 1, sizeof(double));
    n = 0;
    for (long t = 0; lat && lag && t < s->o.agents; t++) {
        struct agent *a = &s->ag[t];
        memcpy(lat + n, a->lat, a->n * sizeof(double));
        memcpy(lag + n, a->lag, a->n * sizeof(double));
        n += a->n;
        allow += a->allow, deny += a->deny, error += a->error, skipped += a->skipped;
        win += a->in_window;
        late += a->unstarted;
    }
    if (lat && lag) {
        qsort(lat, n, sizeof(double), cmp_double);
        qsort(lag, n, sizeof(double), cmp_double);
    }
    printf("registered hosts %ld containers %ld s %.2f\n", s->o.nodes, s->ncont, reg_s);
    total = allow + deny + error;
    printf("offered_per_s %.1f achieved_per_s %.1f n %zu allow %zu deny %zu error %zu "
           "skipped %zu unstarted %zu timed %zu p50_ms %.2f p99_ms %.2f max_ms %.2f "
           "lag_p99_ms %.2f vf_cpu_s %.2f "
           "db_cpu_s %.2f client_cpu_s %.2f wall_s %.2f\n",
           s->o.interval > 0 ? (double)s->ncont / s->o.interval : 0.0,
           wall_s > 0 ? (double)win / span : 0.0, total, allow, deny, error, skipped, late, n,
           quantile(lat, n, 0.5), quantile(lat, n, 0.99), n ? lat[n - 1] : 0.0,
           quantile(lag, n, 0.99), vf_s, db_s, cl_s, wall_s);
    for (int i = 0; i < s->nkinds; i++)
        printf("error %s %lu\n", s->kinds[i].name, s->kinds[i].n);
    free(lat);
    free(lag);
}

static int save_evidence(struct sim *s)
{
    FILE *f;
    int ok;

    if (!s->o.save)
        return 0;
    if (!s->ag[0].last || !(f = fopen(s->o.save, "we")))
        return -EIO;
    ok = fwrite(s->ag[0].last, 1, s->ag[0].last_len, f) == s->ag[0].last_len;
    return fclose(f) == 0 && ok ? 0 : -EIO;
}

static int run(struct sim *s)
{
    long tck = sysconf(_SC_CLK_TCK);
    long long v0, d0;
    double t_reg, c0, wall;
    int started = 0;

    s->ag = calloc((size_t)s->o.agents, sizeof(*s->ag));
    if (!s->ag || pthread_barrier_init(&s->bar, NULL, (unsigned)s->o.agents + 1))
        return die("out of memory");
    t_reg = now_us();
    for (long t = 0; t < s->o.agents; t++) {
        s->ag[t] = (struct agent){ .s = s, .idx = (int)t };
        if (pthread_create(&s->ag[t].th, NULL, agent_main, &s->ag[t]))
            break;
        started++;
    }
    if (started < s->o.agents) {
        fprintf(stderr, "fleetsim: only %d threads started\n", started);
        _exit(1); /* the started ones wait at a barrier that cannot fill */
    }
    pthread_barrier_wait(&s->bar);
    atomic_store(&s->next, 0);
    pthread_barrier_wait(&s->bar);
    pthread_barrier_wait(&s->bar);
    atomic_store(&s->next, 0);
    t_reg = (now_us() - t_reg) / 1e6;
    v0 = ticks_of(s->o.vf_pids, 0);
    d0 = ticks_of(s->o.db_pids, 1);
    c0 = cpu_self_s();
    s->t0 = now_us();
    pthread_barrier_wait(&s->bar);
    for (long t = 0; t < s->o.agents; t++)
        pthread_join(s->ag[t].th, NULL);
    wall = (now_us() - s->t0) / 1e6;
    if (atomic_load(&s->setup_failed)) {
        report(s, t_reg, 0, 0, 0, 0);
        die("registration failed");
        return 3;
    }
    report(s, t_reg, wall, (double)(ticks_of(s->o.vf_pids, 0) - v0) / (double)tck,
           (double)(ticks_of(s->o.db_pids, 1) - d0) / (double)tck, cpu_self_s() - c0);
    if (save_evidence(s) < 0)
        return die("cannot write --save-evidence");
    for (long t = 0; t < s->o.agents; t++)
        if (s->ag[t].deny || s->ag[t].error)
            return 1;
    return 0;
}

int main(int argc, char **argv)
{
    static struct sim s = { .mu = PTHREAD_MUTEX_INITIALIZER };
    char tag[16];
    uint8_t rnd[4];
    int r;

    if (parse_opts(argc, argv, &s.o) < 0) {
        fprintf(stderr, "usage: fleetsim --url URL[,URL...] --host-ca-cert F --host-ca-key F "
                "--log F [--ca F --cert F --key F] [--nodes N] [--containers M] [--agents C] "
                "[--interval S] [--duration S] [--warmup S] [--vf-pids P,...] [--db-pids P,...] "
                "[--save-evidence F] [--tag T]\n");
        return 2;
    }
    if (!s.o.tag) { /* container ids of one run are new to the database */
        RAND_bytes(rnd, sizeof(rnd));
        snprintf(tag, sizeof(tag), "%02x%02x%02x%02x", rnd[0], rnd[1], rnd[2], rnd[3]);
        s.o.tag = tag;
    }
    s.ncont = s.o.nodes * s.o.containers;
    if (s.o.interval == 0 && s.ncont < s.o.agents)
        s.o.agents = s.ncont; /* closed loop: one container at a time per agent */
    for (int i = 0; i < s.o.nurls; i++)
        s.ho[i] = (struct http_opts){ .base_url = s.o.urls[i], .ca = s.o.ca, .cert = s.o.cert,
                                      .key = s.o.key };
    if (load_log(&s) < 0)
        return die("--log: not an event log file ({log: [...]}) that replays");
    if (load_host_ca(&s) < 0)
        return die("--host-ca-cert/--host-ca-key: cannot read a PEM certificate and key");
    s.nodes = calloc((size_t)s.o.nodes, sizeof(*s.nodes));
    s.cont = calloc((size_t)s.ncont, sizeof(*s.cont));
    if (!s.nodes || !s.cont)
        return die("out of memory");
    if (http_global_init() < 0)
        return die("curl_global_init failed");
    r = run(&s);
    fflush(stdout);
    _exit(r); /* the fleet's keys and threads' handles go with the process */
}
