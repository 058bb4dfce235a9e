/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Benchmark tool (tests/bench/bench_attest.sh): the verifier's evidence checks per second on
 * one core next to raw OpenSSL ECDSA P-256 verification, in alternating rounds.
 *   bench_verify log FILE     a 10-record event log ({log: [...]}, evidence_build's format);
 *                             prints "PCR DIGESTHEX" per record for tpm2_pcrextend
 *   bench_verify allow-args   `verifier policy allow` options admitting that log's digests
 *   bench_verify run --evidence F --policy F --trust DIR [--seconds S] [--rounds N] [--cpu C]
 *                    [--ek-dir DIR] [--only NAME,...]
 *                             prints "verify|check|ecdsa<TAB>per_second" per round; with
 *                             --ek-dir (EK certificates UUID.der of other vTPMs of the same
 *                             host) also "first|first-old": each of those vTPMs' first
 *                             evidence (a software AK of its own, the quote re-signed), with
 *                             the host intermediates cached (first) and by the old check
 *                             (chain_check_full: an X509_verify_cert per link, first-old);
 *                             "reg-first|reg-first-old": the same after the EK chain check of
 *                             the vTPM's registration; --only runs just the named loops
 *                             (e.g. "first,ecdsa", for perf record)
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <tss2/tss2_mu.h>

#include "ctlproto.h"
#include "launch_fixture.h"
#include "fileio.h"
#include "../../verifier/check/chain.h"
#include "../../verifier/check/chaincache.h"
#include "../../verifier/check/hostcheck.h"
#include "../../verifier/check/tpmobj.h"
#include "../../verifier/check/verify.h"

#define D_IMAGE   "sha256:1111111111111111111111111111111111111111111111111111111111111111"
#define D_ROOTFS  "sha256:2222222222222222222222222222222222222222222222222222222222222222"
#define D_RUNTIME "sha256:3333333333333333333333333333333333333333333333333333333333333333"
#define D_AGENT   "sha256:4444444444444444444444444444444444444444444444444444444444444444"
#define EXTRA_RECORDS 5
#define MAX_FIRST     4096

static int die(const char *msg)
{
    fprintf(stderr, "bench_verify: %s\n", msg);
    return 1;
}

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* --- the event log ------------------------------------------------------------------------- */

static cbor_item_t *content(const char *type, const char *k1, const char *v1, const char *k2,
                            const char *v2)
{
    cbor_item_t *c = ctl_map_new();

    ctl_put_str(c, "type", type);
    if (k1)
        ctl_put_str(c, k1, v1);
    if (k2)
        ctl_put_str(c, k2, v2);
    return c;
}

static cbor_item_t *text_array(const char *v)
{
    cbor_item_t *a = cbor_new_definite_array(v ? 1 : 0);

    if (a && v)
        cbor_array_push(a, cbor_move(cbor_build_string(v)));
    return a;
}

/* `log OUT POD-UID CONTAINER [CAPABILITY]`: the launch config names a Kubernetes pod (as the
 * agent writes CRI's annotations) and has CAPABILITY instead of CAP_NET_BIND_SERVICE. */
static const char *pod_uid, *pod_container, *pod_cap;

/* A launch configuration the default policy allows. */
static cbor_item_t *launch_config(void)
{
    cbor_item_t *lc = content("launch-config", NULL, NULL, NULL, NULL);
    cbor_item_t *c = ctl_map_new(), *pod;

    ctl_put_item(c, "capabilities", text_array(pod_cap ? pod_cap : "CAP_NET_BIND_SERVICE"));
    if (pod_uid && (pod = ctl_map_new())) {
        ctl_put_str(pod, "uid", pod_uid);
        ctl_put_str(pod, "namespace", "default");
        ctl_put_str(pod, "name", "bench");
        ctl_put_str(pod, "container", pod_container);
        ctl_put_item(c, "pod", pod);
    }
    ctl_put_str(c, "config_digest", D_IMAGE);
    launch_fixture_fill(c);
    ctl_put_item(lc, "config", c);
    return lc;
}

static int add_record(cbor_item_t *log, unsigned pcr, cbor_item_t *c)
{
    cbor_item_t *rec = ctl_map_new();
    uint8_t *enc, md[32];
    size_t len, n = cbor_array_size(log);

    if (!rec || ctl_serialize(c, &enc, &len) < 0)
        return -1;
    SHA256(enc, len, md);
    free(enc);
    ctl_put_uint(rec, "recnum", n);
    ctl_put_uint(rec, "pcr", pcr);
    ctl_put_bytes(rec, "digest", md, 32);
    ctl_put_item(rec, "content", c);
    if (!cbor_array_push(log, cbor_move(rec)))
        return -1;
    printf("%u ", pcr);
    for (int i = 0; i < 32; i++)
        printf("%02x", md[i]);
    printf("\n");
    return 0;
}

/* image, rootfs, five more files of the image (replayed, not in the policy), runtime, agent,
 * launch-config: 10 records. */
static int cmd_log(const char *out)
{
    cbor_item_t *log = cbor_new_definite_array(10), *top = ctl_map_new();
    char path[32], dg[80];
    uint8_t *b = NULL;
    size_t len = 0;
    int r = 0;
    FILE *f;

    r |= add_record(log, 8, content("image", "ref", "bench:latest", "digest", D_IMAGE));
    r |= add_record(log, 8, content("rootfs", "digest", D_ROOTFS, NULL, NULL));
    for (int i = 0; i < EXTRA_RECORDS; i++) {
        snprintf(path, sizeof(path), "/etc/bench-%d.conf", i);
        snprintf(dg, sizeof(dg), "sha256:%064d", i);
        r |= add_record(log, 8, content("file", "path", path, "digest", dg));
    }
    r |= add_record(log, 9, content("runtime", "path", "/usr/sbin/runc", "digest", D_RUNTIME));
    r |= add_record(log, 9, content("agent", "path", "/usr/bin/attest-agent", "digest", D_AGENT));
    r |= add_record(log, 10, launch_config());
    r |= ctl_put_item(top, "log", log);
    if (r == 0)
        r = ctl_serialize(top, &b, &len);
    cbor_decref(&top);
    if (r < 0 || !(f = fopen(out, "we")))
        return die("cannot build the log");
    r = fwrite(b, 1, len, f) == len;
    r = (fclose(f) == 0 && r) ? 0 : die("cannot write the log");
    free(b);
    return r;
}

/* --- the loops ----------------------------------------------------------------------------- */

struct bench {
    const uint8_t *buf; /* the evidence file */
    size_t len;
    struct evidence ev; /* parsed once, for the check-only loop */
    struct policy pol;
    X509_STORE *trust;
    EVP_PKEY *key;      /* ECDSA P-256, for the raw loop */
    uint8_t sig[128];
    size_t siglen;
    uint8_t *first[MAX_FIRST]; /* first evidence of each other vTPM (CBOR) */
    size_t first_len[MAX_FIRST], nfirst;
};

/* One evidence check as the service does it: parse, every check, the verdict. */
static int one_verify(struct bench *b)
{
    struct evidence ev;
    struct verify_result res;
    char err[128];
    int ok;

    if (vf_evidence_parse(b->buf, b->len, &ev, err, sizeof(err)) < 0) {
        vf_evidence_free(&ev);
        return 0;
    }
    verify_evidence(&ev, &b->pol, b->trust, &res);
    ok = !reasons_deny(&res.reasons);
    verify_result_free(&res);
    vf_evidence_free(&ev);
    return ok;
}

static int one_check(struct bench *b)
{
    struct verify_result res;
    int ok;

    verify_evidence(&b->ev, &b->pol, b->trust, &res);
    ok = !reasons_deny(&res.reasons);
    verify_result_free(&res);
    return ok;
}

static int one_ecdsa(struct bench *b)
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    int ok = ctx && EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL, b->key) == 1 &&
             EVP_DigestVerify(ctx, b->sig, b->siglen, b->ev.quote_attest.p,
                              b->ev.quote_attest.len) == 1;

    EVP_MD_CTX_free(ctx);
    return ok;
}

/* verify_evidence as it was before the host cache: the EK chain by chain_check_full. */
static void verify_evidence_old(const struct evidence *ev, const struct policy *pol,
                                X509_STORE *trust, struct verify_result *res)
{
    struct chain_input ci = {
        .ek_cert = ev->ek_cert, .host_chain = ev->host_chain, .vtpm_uuid = ev->vtpm_uuid,
    };

    memset(res, 0, sizeof(*res));
    quote_check(ev, &res->quote, &res->reasons);
    if (vf_eventlog_check(ev, &res->meas, &res->reasons) == 0)
        policy_check(pol, &res->meas, &res->reasons);
    chain_check_full(&ci, trust, &res->reasons, NULL);
    host_check(ev, pol->boot, &res->host);
    reasons_append(&res->reasons, &res->host);
}

/* The EK chain check of a registration (register.c: registering, with the EK key). */
static int registration_chain(const struct evidence *ev, X509_STORE *trust, int old)
{
    struct chain_input ci = { .ek_cert = ev->ek_cert, .host_chain = ev->host_chain,
                              .vtpm_uuid = ev->vtpm_uuid, .registering = 1 };
    struct reasons r = { 0 };
    EVP_PKEY *ek = NULL;
    int ok;

    if (old)
        chain_check_full(&ci, trust, &r, &ek);
    else
        chain_check(&ci, trust, &r, &ek);
    ok = r.n == 0 && ek;
    EVP_PKEY_free(ek);
    reasons_free(&r);
    return ok;
}

/* Parse + check of evidence bytes (after the registration's chain check when reg), by the new
 * or the old check; 1 when allowed. */
static int parse_check(const uint8_t *buf, size_t len, const struct policy *pol,
                       X509_STORE *trust, int old, int reg)
{
    struct evidence ev;
    struct verify_result res;
    char err[128];
    int ok;

    if (vf_evidence_parse(buf, len, &ev, err, sizeof(err)) < 0) {
        vf_evidence_free(&ev);
        return 0;
    }
    ok = !reg || registration_chain(&ev, trust, old);
    (old ? verify_evidence_old : verify_evidence)(&ev, pol, trust, &res);
    ok = ok && !reasons_deny(&res.reasons);
    verify_result_free(&res);
    vf_evidence_free(&ev);
    return ok;
}

/*
 * Every other vTPM's first evidence once (reg: its registration's EK chain check first, as the
 * service has it): the per-vTPM memory of passed chains and of AK keys is cleared before
 * (untimed), the host intermediates' cache is not (old: not used). The rate per second, or -1
 * if one was not allowed.
 */
static double first_rate(struct bench *b, double secs, int old, int reg)
{
    double busy = 0, t;
    long n = 0;

    do {
        chaincache_clear();
        t = now_s();
        for (size_t i = 0; i < b->nfirst; i++, n++)
            if (!parse_check(b->first[i], b->first_len[i], &b->pol, b->trust, old, reg))
                return -1;
        busy += now_s() - t;
    } while (busy < secs);
    return (double)n / busy;
}

/* Runs fn for at least secs; the rate per second, or -1 if one call failed. */
static double round_rate(int (*fn)(struct bench *), struct bench *b, double secs)
{
    double t0 = now_s(), t;
    long n = 0;

    do {
        for (int i = 0; i < 16; i++, n++)
            if (!fn(b))
                return -1;
        t = now_s() - t0;
    } while (t < secs);
    return (double)n / t;
}

static int ecdsa_setup(struct bench *b)
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    int ok;

    b->key = EVP_EC_gen("P-256");
    b->siglen = sizeof(b->sig);
    ok = b->key && ctx && EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, b->key) == 1 &&
         EVP_DigestSign(ctx, b->sig, &b->siglen, b->ev.quote_attest.p,
                        b->ev.quote_attest.len) == 1;
    EVP_MD_CTX_free(ctx);
    return ok ? 0 : -1;
}

/* --- other vTPMs' first evidence ------------------------------------------------------------ */

/* A TPM2B_PUBLIC like tmpl (the real AK's attributes and scheme) with k's P-256 point. */
static int soft_ak_pub(const TPM2B_PUBLIC *tmpl, EVP_PKEY *k, uint8_t *out, size_t *len)
{
    TPM2B_PUBLIC p = *tmpl;
    BIGNUM *x = NULL, *y = NULL;
    size_t off = 0;
    int ok = EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_EC_PUB_X, &x) == 1 &&
             EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_EC_PUB_Y, &y) == 1 &&
             p.publicArea.type == TPM2_ALG_ECC &&
             BN_bn2binpad(x, p.publicArea.unique.ecc.x.buffer, 32) == 32 &&
             BN_bn2binpad(y, p.publicArea.unique.ecc.y.buffer, 32) == 32;

    p.publicArea.unique.ecc.x.size = 32;
    p.publicArea.unique.ecc.y.size = 32;
    ok = ok && Tss2_MU_TPM2B_PUBLIC_Marshal(&p, out, *len, &off) == TSS2_RC_SUCCESS;
    *len = off;
    BN_free(x);
    BN_free(y);
    return ok ? 0 : -1;
}

/* msg signed by k as a TPMT_SIGNATURE (ECDSA, SHA-256). */
static int soft_sig(EVP_PKEY *k, const struct bytes *msg, uint8_t *out, size_t *len)
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    uint8_t der[128];
    size_t dlen = sizeof(der), off = 0;
    const uint8_t *p = der;
    ECDSA_SIG *es = NULL;
    TPMT_SIGNATURE sig = { .sigAlg = TPM2_ALG_ECDSA };
    int ok = ctx && EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, k) == 1 &&
             EVP_DigestSign(ctx, der, &dlen, msg->p, msg->len) == 1 &&
             (es = d2i_ECDSA_SIG(NULL, &p, (long)dlen)) != NULL;

    sig.signature.ecdsa.hash = TPM2_ALG_SHA256;
    ok = ok && BN_bn2binpad(ECDSA_SIG_get0_r(es), sig.signature.ecdsa.signatureR.buffer, 32) == 32 &&
         BN_bn2binpad(ECDSA_SIG_get0_s(es), sig.signature.ecdsa.signatureS.buffer, 32) == 32;
    sig.signature.ecdsa.signatureR.size = 32;
    sig.signature.ecdsa.signatureS.size = 32;
    ok = ok && Tss2_MU_TPMT_SIGNATURE_Marshal(&sig, out, *len, &off) == TSS2_RC_SUCCESS;
    *len = off;
    ECDSA_SIG_free(es);
    EVP_MD_CTX_free(ctx);
    return ok ? 0 : -1;
}

/* The template evidence with another vTPM's EK certificate and UUID, a new AK, the quote
 * signed by it; CBOR into b->first[]. */
static int first_one(struct bench *b, const TPM2B_PUBLIC *ak_tmpl, const char *uuid,
                     const uint8_t *ek, size_t eklen)
{
    const cbor_item_t *root = b->ev.root;
    struct cbor_pair *pr = cbor_map_handle(root);
    cbor_item_t *m = cbor_new_definite_map(cbor_map_size(root));
    EVP_PKEY *k = EVP_EC_gen("P-256");
    uint8_t akb[1024], sigb[256];
    size_t akl = sizeof(akb), sigl = sizeof(sigb);
    int ok = m && k && soft_ak_pub(ak_tmpl, k, akb, &akl) == 0 &&
             soft_sig(k, &b->ev.quote_attest, sigb, &sigl) == 0;

    for (size_t i = 0; ok && i < cbor_map_size(root); i++) {
        const char *key = (const char *)cbor_string_handle(pr[i].key);
        size_t kl = cbor_string_length(pr[i].key);
        cbor_item_t *v = NULL;
        if (kl == 7 && !memcmp(key, "ek_cert", 7))
            v = cbor_build_bytestring(ek, eklen);
        else if (kl == 9 && !memcmp(key, "vtpm_uuid", 9))
            v = cbor_build_string(uuid);
        else if (kl == 6 && !memcmp(key, "ak_pub", 6))
            v = cbor_build_bytestring(akb, akl);
        else if (kl == 9 && !memcmp(key, "quote_sig", 9))
            v = cbor_build_bytestring(sigb, sigl);
        else
            v = cbor_incref(pr[i].value);
        ok = v && cbor_map_add(m, (struct cbor_pair){ .key = cbor_incref(pr[i].key),
                                                      .value = cbor_move(v) });
    }
    ok = ok && ctl_serialize(m, &b->first[b->nfirst], &b->first_len[b->nfirst]) == 0;
    if (ok)
        b->nfirst++;
    if (m)
        cbor_decref(&m);
    EVP_PKEY_free(k);
    return ok ? 0 : -1;
}

/* One first evidence per UUID.der of dir. */
static int first_setup(struct bench *b, const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    TPM2B_PUBLIC ak;

    if (!d || tpm_public_parse(b->ev.ak_pub.p, b->ev.ak_pub.len, &ak) < 0)
        return die("cannot read the EK directory or the template AK");
    while ((de = readdir(d)) != NULL && b->nfirst < MAX_FIRST) {
        char uuid[64], path[4096];
        const char *dot = strstr(de->d_name, ".der");
        uint8_t *ek;
        size_t len;
        if (!dot || dot[4] || (size_t)(dot - de->d_name) >= sizeof(uuid))
            continue;
        memcpy(uuid, de->d_name, (size_t)(dot - de->d_name));
        uuid[dot - de->d_name] = '\0';
        snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
        if (file_read_all_flags(AT_FDCWD, path, 0, 65536, &ek, &len) < 0)
            continue;
        if (first_one(b, &ak, uuid, ek, len) < 0) {
            free(ek);
            closedir(d);
            return die("cannot build a first evidence");
        }
        free(ek);
    }
    closedir(d);
    if (b->nfirst == 0)
        return die("no UUID.der EK certificate in the EK directory");
    /* each is allowed, by the new check and the old */
    for (size_t i = 0; i < b->nfirst; i++)
        if (!parse_check(b->first[i], b->first_len[i], &b->pol, b->trust, 0, 1) ||
            !parse_check(b->first[i], b->first_len[i], &b->pol, b->trust, 1, 1))
            return die("a first evidence (or its registration's chain) is not allowed");
    return 0;
}

static int bench_setup(struct bench *b, const char *evf, const char *polf, const char *trust)
{
    uint8_t *buf;
    char err[160];

    if (file_read_all_flags(AT_FDCWD, evf, 0, EVIDENCE_MAX_SIZE, &buf, &b->len) < 0)
        return die("cannot read the evidence");
    b->buf = buf;
    if (vf_evidence_parse(b->buf, b->len, &b->ev, err, sizeof(err)) < 0)
        return die(err);
    if (policy_load(polf, &b->pol, err, sizeof(err)) < 0)
        return die(err);
    if (!(b->trust = chain_trust_load(trust)))
        return die("no trusted certificate in the trust dir");
    if (ecdsa_setup(b) < 0)
        return die("ECDSA key setup");
    if (!one_verify(b) || !one_check(b) || !one_ecdsa(b))
        return die("the evidence is not allowed (or the ECDSA signature does not verify)");
    return 0;
}

static int pin(int cpu)
{
    cpu_set_t set;

    if (cpu < 0)
        return 0;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    return sched_setaffinity(0, sizeof(set), &set);
}

/* 1 when name is one of the comma-separated names of list. */
static int name_in(const char *name, const char *list)
{
    size_t n = strlen(name);

    for (const char *p = list; p; p = strchr(p, ',') ? strchr(p, ',') + 1 : NULL)
        if (!strncmp(p, name, n) && (p[n] == ',' || p[n] == '\0'))
            return 1;
    return 0;
}

static int cmd_run(int argc, char **argv)
{
    static const struct option lo[] = {
        { "evidence", 1, 0, 'e' }, { "policy", 1, 0, 'p' }, { "trust", 1, 0, 't' },
        { "seconds", 1, 0, 's' },  { "rounds", 1, 0, 'r' }, { "cpu", 1, 0, 'c' },
        { "ek-dir", 1, 0, 'k' },   { "only", 1, 0, 'o' },  { 0, 0, 0, 0 },
    };
    static const char *const names[] = { "verify", "check", "ecdsa", "first", "first-old",
                                         "reg-first", "reg-first-old" };
    int (*const fns[])(struct bench *) = { one_verify, one_check, one_ecdsa };
    const char *evf = NULL, *polf = NULL, *trust = NULL, *ekdir = NULL, *only = NULL;
    struct bench b = { 0 };
    double secs = 0.3;
    int rounds = 10, cpu = -1, c;

    while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        switch (c) {
        case 'e': evf = optarg; break;
        case 'p': polf = optarg; break;
        case 't': trust = optarg; break;
        case 's': secs = atof(optarg); break;
        case 'r': rounds = atoi(optarg); break;
        case 'c': cpu = atoi(optarg); break;
        case 'k': ekdir = optarg; break;
        case 'o': only = optarg; break;
        default: return die("bad option");
        }
    }
    if (!evf || !polf || !trust || secs <= 0 || rounds < 1)
        return die("usage: run --evidence F --policy F --trust DIR [--seconds S] [--rounds N]");
    if (pin(cpu) < 0)
        return die("sched_setaffinity");
    if (bench_setup(&b, evf, polf, trust) || (ekdir && first_setup(&b, ekdir)))
        return 1;
    for (int r = 0; r < rounds; r++) {
        int loops = ekdir ? 7 : 3;
        for (int k = 0; k < loops; k++) {
            int w = (k + r) % loops; /* the order rotates from round to round */
            if (only && !name_in(names[w], only))
                continue;
            double rate = w < 3 ? round_rate(fns[w], &b, secs) :
                                  first_rate(&b, secs, w == 4 || w == 6, w >= 5);
            if (rate < 0)
                return die("a check failed during the benchmark");
            printf("%s\t%.1f\n", names[w], rate);
        }
    }
    for (size_t i = 0; i < b.nfirst; i++)
        free(b.first[i]);
    EVP_PKEY_free(b.key);
    X509_STORE_free(b.trust);
    policy_free(&b.pol);
    vf_evidence_free(&b.ev);
    free((void *)b.buf);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 3 && !strcmp(argv[1], "log"))
        return cmd_log(argv[2]);
    if ((argc == 5 || argc == 6) && !strcmp(argv[1], "log")) {
        pod_uid = argv[3];
        pod_container = argv[4];
        pod_cap = argc == 6 ? argv[5] : NULL;
        return cmd_log(argv[2]);
    }
    if (argc == 2 && !strcmp(argv[1], "allow-args")) {
        printf("--image-digest %s --rootfs-digest %s --runtime-digest %s --agent-digest %s\n",
               D_IMAGE, D_ROOTFS, D_RUNTIME, D_AGENT);
        return 0;
    }
    if (argc >= 2 && !strcmp(argv[1], "run"))
        return cmd_run(argc - 1, argv + 1);
    return die("usage: bench_verify log FILE [POD-UID CONTAINER [CAPABILITY]] | allow-args | run --evidence F --policy F "
               "--trust DIR [--seconds S] [--rounds N] [--cpu C] [--ek-dir DIR]");
}
