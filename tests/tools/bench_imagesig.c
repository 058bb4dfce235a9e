/* SPDX-License-Identifier: BSD-3-Clause */
/* Benchmark tool: image signature checks per second on one core, in process.
 *   bench_imagesig check POLICY REF DIGEST SECONDS   the whole check (imagesig_check: store
 *                                                    reads, hashing, parsing, verification)
 *   bench_imagesig verify PUBKEY.pem PAYLOAD SIG SECONDS   the signature verification alone
 *                                                    (sigkey_verify, SIG raw DER/Ed25519 bytes)
 * Prints "checks/s N median_us M" (the check must allow, the signature must verify). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "benchutil.h"
#include "fileio.h"
#include "../../verifier/check/imagesig.h"
#include "../../verifier/check/policy.h"
#include "../../verifier/check/sigkeys.h"

#define MAX_SAMPLES 2000000

static double *samples;

static int report(size_t n, double total_us)
{
    qsort(samples, n, sizeof(*samples), cmp_double);
    printf("checks/s %.0f median_us %.2f\n", (double)n / (total_us / 1e6),
           quantile(samples, n, 0.5));
    return 0;
}

static int bench_check(const char *polpath, const char *ref, const char *digest, double secs)
{
    struct policy pol = { 0 };
    char err[512];
    double t0, t;
    size_t n = 0;

    if (policy_load(polpath, &pol, err, sizeof(err)) < 0 || !pol.sig) {
        fprintf(stderr, "bench_imagesig: policy %s: %s\n", polpath, pol.sig ? err : "no section");
        return 1;
    }
    t0 = now_us();
    do {
        struct reasons r = { 0 };
        t = now_us();
        imagesig_check(pol.sig, ref, digest, (int64_t)time(NULL), &r);
        samples[n++] = now_us() - t;
        if (r.n) {
            fprintf(stderr, "bench_imagesig: denied: %s\n", r.v[0]);
            return 1;
        }
        reasons_free(&r);
    } while (n < MAX_SAMPLES && now_us() - t0 < secs * 1e6);
    report(n, now_us() - t0);
    policy_free(&pol);
    return 0;
}

static int bench_verify(const char *pem, const char *payload, const char *sig, double secs)
{
    uint8_t *k, *p, *s;
    size_t kl, pl, sl, n = 0;
    struct sigkey key = { .revoked = 0 };
    char err[128];
    double t0, t;

    if (file_read_all_flags(AT_FDCWD, pem, 0, 8192, &k, &kl) < 0 ||
        file_read_all_flags(AT_FDCWD, payload, 0, 65536, &p, &pl) < 0 ||
        file_read_all_flags(AT_FDCWD, sig, 0, 4096, &s, &sl) < 0) {
        fprintf(stderr, "bench_imagesig: cannot read the inputs\n");
        return 1;
    }
    key.pkey = sigkey_pem_public((const char *)k, kl, &key.ed25519, err, sizeof(err));
    if (!key.pkey || !sigkey_verify(&key, p, pl, s, sl)) {
        fprintf(stderr, "bench_imagesig: %s\n", key.pkey ? "signature does not verify" : err);
        return 1;
    }
    t0 = now_us();
    do {
        t = now_us();
        if (!sigkey_verify(&key, p, pl, s, sl))
            return 1;
        samples[n++] = now_us() - t;
    } while (n < MAX_SAMPLES && now_us() - t0 < secs * 1e6);
    report(n, now_us() - t0);
    EVP_PKEY_free(key.pkey);
    free(k);
    free(p);
    free(s);
    return 0;
}

int main(int argc, char **argv)
{
    if (!(samples = malloc(MAX_SAMPLES * sizeof(*samples))))
        return 1;
    if (argc == 6 && !strcmp(argv[1], "check"))
        return bench_check(argv[2], argv[3], argv[4], atof(argv[5]));
    if (argc == 6 && !strcmp(argv[1], "verify"))
        return bench_verify(argv[2], argv[3], argv[4], atof(argv[5]));
    fprintf(stderr, "usage: bench_imagesig check POLICY REF DIGEST SECONDS\n"
                    "       bench_imagesig verify PUBKEY.pem PAYLOAD SIG SECONDS\n");
    return 2;
}
