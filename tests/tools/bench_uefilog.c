/* SPDX-License-Identifier: BSD-3-Clause */
/* Benchmark: `bench_uefilog LOG [N]` times N parses + sha256 replays of a UEFI event log in
 * process and prints the median per parse+replay in microseconds. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fileio.h"
#include "../../verifier/boot/uefilog.h"
#include "benchutil.h"

#define DEFAULT_RUNS 1000ul
#define MAX_RUNS 1000000ul

/* One timed parse + replay; -1 when the log does not parse. */
static double one_run(const uint8_t *buf, size_t len, size_t *records)
{
    struct uefi_log log;
    uint8_t pcr[24][32];
    uint32_t touched;
    char err[128];
    double t0 = now_us(), t1;

    if (uefilog_parse(buf, len, &log, err, sizeof(err)) < 0) {
        fprintf(stderr, "bench_uefilog: %s\n", err);
        return -1;
    }
    uefilog_replay_sha256(&log, pcr, &touched);
    t1 = now_us();
    *records = log.n;
    uefilog_free(&log);
    return t1 - t0;
}

int main(int argc, char **argv)
{
    unsigned long runs = argc > 2 ? strtoul(argv[2], NULL, 10) : DEFAULT_RUNS;
    uint8_t *buf = NULL;
    double *t = NULL;
    size_t len, records = 0;
    int rc = 1;

    if (argc < 2 || argc > 3 || runs == 0 || runs > MAX_RUNS) {
        fprintf(stderr, "usage: bench_uefilog LOG [N (1-%lu, default %lu)]\n", MAX_RUNS,
                DEFAULT_RUNS);
        return 2;
    }
    if (file_read_all_flags(AT_FDCWD, argv[1], 0, UEFILOG_MAX_SIZE, &buf, &len) < 0 ||
        !(t = calloc(runs, sizeof(*t)))) {
        fprintf(stderr, "bench_uefilog: cannot read %s\n", argv[1]);
        goto out;
    }
    for (unsigned long i = 0; i < runs; i++)
        if ((t[i] = one_run(buf, len, &records)) < 0)
            goto out;
    qsort(t, runs, sizeof(*t), cmp_double);
    printf("bench_uefilog: %zu bytes, %zu records, %lu runs, median %.2f us per parse+replay\n",
           len, records, runs, runs % 2 ? t[runs / 2] : (t[runs / 2 - 1] + t[runs / 2]) / 2);
    rc = 0;
out:
    free(t);
    free(buf);
    return rc;
}
