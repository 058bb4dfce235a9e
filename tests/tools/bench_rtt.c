/* SPDX-License-Identifier: BSD-3-Clause */
/* Benchmark tool: round-trip latency of TPM commands through ESAPI against several TCTIs,
 * interleaved in rounds so that a noisy machine affects every target alike. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <tss2/tss2_esys.h>
#include <tss2/tss2_rc.h>
#include <tss2/tss2_tctildr.h>
#include "benchutil.h"

#define MAX_TARGETS 8

/* One measured target: one TPM, or two TPMs used alternately (a state swap per command
 * when both live in the same vtpm-mgr worker). */
struct target {
    const char *name;
    int n;                          /* 1 or 2 contexts */
    unsigned turn;                  /* which context the next command goes to */
    TSS2_TCTI_CONTEXT *tcti[2];
    ESYS_CONTEXT *esys[2];
    ESYS_TR key[2];                 /* ECC P-256 signing primary, for quotes */
};

enum op { OP_RANDOM, OP_EXTEND, OP_QUOTE, OP_COUNT };
static const char *const op_names[OP_COUNT] = { "getrandom", "pcr_extend", "quote" };

static void usage(void)
{
    fprintf(stderr,
        "usage: bench_rtt ITERS WARMUP ROUNDS NAME=TCTI[+TCTI2] ...\n"
        "  per target and operation (GetRandom(16), PCR_Extend sha256 PCR 16, ECDSA P-256\n"
        "  Quote of PCR 16): WARMUP untimed commands, then ITERS timed ones spread over ROUNDS\n"
        "  rounds in which targets take turns command by command; NAME=A+B alternates two\n"
        "  TPMs within one target.\n"
        "  Prints \"name<TAB>op<TAB>usec\" per timed command.\n");
}

static int check(TSS2_RC rc, const char *what, const char *name)
{
    if (rc == TSS2_RC_SUCCESS)
        return 0;
    fprintf(stderr, "bench_rtt: %s: %s: %s\n", name, what, Tss2_RC_Decode(rc));
    return -1;
}

static int create_quote_key(ESYS_CONTEXT *ctx, ESYS_TR *key, const char *name)
{
    TPM2B_SENSITIVE_CREATE sens = { 0 };
    TPM2B_DATA outside = { 0 };
    TPML_PCR_SELECTION none = { 0 };
    TPM2B_PUBLIC tmpl = { .publicArea = {
        .type = TPM2_ALG_ECC,
        .nameAlg = TPM2_ALG_SHA256,
        .objectAttributes = TPMA_OBJECT_SIGN_ENCRYPT | TPMA_OBJECT_FIXEDTPM |
                            TPMA_OBJECT_FIXEDPARENT | TPMA_OBJECT_SENSITIVEDATAORIGIN |
                            TPMA_OBJECT_USERWITHAUTH,
        .parameters.eccDetail = {
            .symmetric.algorithm = TPM2_ALG_NULL,
            .scheme = { .scheme = TPM2_ALG_ECDSA, .details.ecdsa.hashAlg = TPM2_ALG_SHA256 },
            .curveID = TPM2_ECC_NIST_P256,
            .kdf.scheme = TPM2_ALG_NULL,
        },
    } };

    return check(Esys_CreatePrimary(ctx, ESYS_TR_RH_OWNER, ESYS_TR_PASSWORD, ESYS_TR_NONE,
                                    ESYS_TR_NONE, &sens, &tmpl, &outside, &none, key, NULL,
                                    NULL, NULL, NULL),
                 "CreatePrimary (ECC P-256 signing key)", name);
}

/* Connects one context; a TPM that is already started answers Startup with INITIALIZE. */
static int open_one(struct target *t, int i, const char *conf)
{
    TSS2_RC rc;

    if (check(Tss2_TctiLdr_Initialize(conf, &t->tcti[i]), conf, t->name) ||
        check(Esys_Initialize(&t->esys[i], t->tcti[i], NULL), "Esys_Initialize", t->name))
        return -1;
    rc = Esys_Startup(t->esys[i], TPM2_SU_CLEAR);
    if ((rc & ~TSS2_RC_LAYER_MASK) == TPM2_RC_INITIALIZE)
        rc = TSS2_RC_SUCCESS;
    if (check(rc, "Startup", t->name))
        return -1;
    return create_quote_key(t->esys[i], &t->key[i], t->name);
}

/* Parses NAME=TCTI[+TCTI2] (arg is modified in place) and connects. */
static int target_open(struct target *t, char *arg)
{
    char *eq = strchr(arg, '='), *plus;

    memset(t, 0, sizeof(*t));
    if (!eq || eq == arg)
        return -1;
    *eq = '\0';
    t->name = arg;
    plus = strchr(eq + 1, '+');
    if (plus)
        *plus = '\0';
    t->n = plus ? 2 : 1;
    if (open_one(t, 0, eq + 1))
        return -1;
    return plus ? open_one(t, 1, plus + 1) : 0;
}

static void target_close(struct target *t)
{
    for (int i = 0; i < 2; i++) {
        if (t->esys[i]) {
            if (t->key[i])
                Esys_FlushContext(t->esys[i], t->key[i]);
            Esys_Finalize(&t->esys[i]);
        }
        if (t->tcti[i])
            Tss2_TctiLdr_Finalize(&t->tcti[i]);
    }
}

static TSS2_RC do_random(ESYS_CONTEXT *ctx, ESYS_TR key)
{
    TPM2B_DIGEST *rnd = NULL;
    TSS2_RC rc = Esys_GetRandom(ctx, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, 16, &rnd);

    Esys_Free(rnd);
    return rc;
}

static TSS2_RC do_extend(ESYS_CONTEXT *ctx, ESYS_TR key)
{
    TPML_DIGEST_VALUES d = { .count = 1, .digests[0].hashAlg = TPM2_ALG_SHA256 };

    memset(d.digests[0].digest.sha256, 0x5a, TPM2_SHA256_DIGEST_SIZE);
    return Esys_PCR_Extend(ctx, ESYS_TR_PCR16, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE,
                           &d);
}

static TSS2_RC do_quote(ESYS_CONTEXT *ctx, ESYS_TR key)
{
    TPM2B_DATA nonce = { .size = 16, .buffer = "bench-nonce-0123" };
    TPMT_SIG_SCHEME scheme = { .scheme = TPM2_ALG_NULL };
    TPML_PCR_SELECTION sel = { .count = 1, .pcrSelections[0] = {
        .hash = TPM2_ALG_SHA256, .sizeofSelect = 3, .pcrSelect = { 0, 0, 1 } } };
    TPM2B_ATTEST *quoted = NULL;
    TPMT_SIGNATURE *sig = NULL;
    TSS2_RC rc = Esys_Quote(ctx, key, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, &nonce,
                            &scheme, &sel, &quoted, &sig);

    Esys_Free(quoted);
    Esys_Free(sig);
    return rc;
}

typedef TSS2_RC (*op_fn)(ESYS_CONTEXT *, ESYS_TR);
static const op_fn op_fns[OP_COUNT] = { do_random, do_extend, do_quote };

/* One command on the target's next context; prints its latency when timed. */
static int run_op(struct target *t, enum op op, int timed)
{
    unsigned i = t->turn++ % (unsigned)t->n;
    double t0 = now_us();
    TSS2_RC rc = op_fns[op](t->esys[i], t->key[i]);
    double dt = now_us() - t0;

    if (check(rc, op_names[op], t->name))
        return -1;
    if (timed)
        printf("%s\t%s\t%.1f\n", t->name, op_names[op], dt);
    return 0;
}

static int run_batch(struct target *t, enum op op, long n, int timed)
{
    for (long i = 0; i < n; i++)
        if (run_op(t, op, timed))
            return -1;
    return 0;
}

/* Round r: every operation per times; the targets take turns command by command (so a
 * burst of noise hits all of them), in an order rotated by r. */
static int run_round(struct target *ts, int nt, long per, int r)
{
    for (int op = 0; op < OP_COUNT; op++)
        for (long i = 0; i < per; i++)
            for (int k = 0; k < nt; k++)
                if (run_op(&ts[(k + r) % nt], (enum op)op, 1))
                    return -1;
    return 0;
}

static int run_all(struct target *ts, int nt, long iters, long warmup, long rounds)
{
    for (int op = 0; op < OP_COUNT; op++)
        for (int k = 0; k < nt; k++)
            if (run_batch(&ts[k], (enum op)op, warmup, 0))
                return -1;
    for (long r = 0; r < rounds; r++)
        if (run_round(ts, nt, iters / rounds, (int)r))
            return -1;
    return 0;
}

int main(int argc, char **argv)
{
    struct target ts[MAX_TARGETS];
    long iters, warmup, rounds;
    int nt = argc - 4, r = 1, opened = 0;

    if (argc < 5 || nt > MAX_TARGETS) {
        usage();
        return 2;
    }
    iters = atol(argv[1]);
    warmup = atol(argv[2]);
    rounds = atol(argv[3]);
    if (iters < 1 || warmup < 0 || rounds < 1 || rounds > iters) {
        usage();
        return 2;
    }
    while (opened < nt && target_open(&ts[opened], argv[4 + opened]) == 0)
        opened++;
    if (opened == nt)
        r = run_all(ts, nt, iters, warmup, rounds) ? 1 : 0;
    else
        fprintf(stderr, "bench_rtt: cannot open target %s\n", argv[4 + opened]);
    /* a target that failed half-way holds what it opened: close it too */
    for (int k = 0; k < nt && k <= opened; k++)
        target_close(&ts[k]);
    return r;
}
