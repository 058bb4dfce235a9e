/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Benchmark tool (tests/bench/bench_attest.sh): the verifier's evidence checks per second on
 * one core next to raw OpenSSL ECDSA P-256 verification, in alternating rounds.
 *   bench_verify log FILE     a 10-record event log ({log: [...]}, evidence_build's format);
 *                             prints "PCR DIGESTHEX" per record for tpm2_pcrextend
 *   bench_verify allow-args   `verifier policy allow` options admitting that log's digests
 *   bench_verify run --evidence F --policy F --trust DIR [--seconds S] [--rounds N] [--cpu C]
 *                             prints "verify|check|ecdsa<TAB>per_second" per round
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/sha.h>

#include "ctlproto.h"
#include "launch_fixture.h"
#include "fileio.h"
#include "../../verifier/check/chain.h"
#include "../../verifier/check/verify.h"

#define D_IMAGE   "sha256:1111111111111111111111111111111111111111111111111111111111111111"
#define D_ROOTFS  "sha256:2222222222222222222222222222222222222222222222222222222222222222"
#define D_RUNTIME "sha256:3333333333333333333333333333333333333333333333333333333333333333"
#define D_AGENT   "sha256:4444444444444444444444444444444444444444444444444444444444444444"
#define EXTRA_RECORDS 5

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

/* A launch configuration the default policy allows. */
static cbor_item_t *launch_config(void)
{
    cbor_item_t *lc = content("launch-config", NULL, NULL, NULL, NULL);
    cbor_item_t *c = ctl_map_new();

    ctl_put_item(c, "capabilities", text_array("CAP_NET_BIND_SERVICE"));
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

static int cmd_run(int argc, char **argv)
{
    static const struct option lo[] = {
        { "evidence", 1, 0, 'e' }, { "policy", 1, 0, 'p' }, { "trust", 1, 0, 't' },
        { "seconds", 1, 0, 's' },  { "rounds", 1, 0, 'r' }, { "cpu", 1, 0, 'c' }, { 0, 0, 0, 0 },
    };
    static const char *const names[] = { "verify", "check", "ecdsa" };
    int (*const fns[])(struct bench *) = { one_verify, one_check, one_ecdsa };
    const char *evf = NULL, *polf = NULL, *trust = NULL;
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
        default: return die("bad option");
        }
    }
    if (!evf || !polf || !trust || secs <= 0 || rounds < 1)
        return die("usage: run --evidence F --policy F --trust DIR [--seconds S] [--rounds N]");
    if (pin(cpu) < 0)
        return die("sched_setaffinity");
    if (bench_setup(&b, evf, polf, trust))
        return 1;
    for (int r = 0; r < rounds; r++) {
        for (int k = 0; k < 3; k++) {
            int w = (k + r) % 3; /* the order rotates from round to round */
            double rate = round_rate(fns[w], &b, secs);
            if (rate < 0)
                return die("a check failed during the benchmark");
            printf("%s\t%.1f\n", names[w], rate);
        }
    }
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
    if (argc == 2 && !strcmp(argv[1], "allow-args")) {
        printf("--image-digest %s --rootfs-digest %s --runtime-digest %s --agent-digest %s\n",
               D_IMAGE, D_ROOTFS, D_RUNTIME, D_AGENT);
        return 0;
    }
    if (argc >= 2 && !strcmp(argv[1], "run"))
        return cmd_run(argc - 1, argv + 1);
    return die("usage: bench_verify log FILE | allow-args | run --evidence F --policy F "
               "--trust DIR [--seconds S] [--rounds N] [--cpu C]");
}
