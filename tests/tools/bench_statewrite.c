/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Benchmark: `bench_statewrite TCTI DIR [ROUNDS]` times the parent's durable state write of a
 * vTPM (state_write: seal + tmp file + fdatasync + rename + directory fsync) without and with
 * the rollback counter (rb_guard_commit: manifest + one TPM2_NV_Increment per batch), for
 * batches of 1, 8 and 64 writes (group commit across vTPMs). Prints one markdown table row
 * per configuration: median and p90 per write in microseconds, and the host TPM increments.
 * DIR is an empty scratch directory; TCTI a host TPM that may get an NV counter at 0x01000a10.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "hosttpm.h"
#include "rollback.h"
#include "statestore.h"
#include "vtpm_ipc.h"
#include "benchutil.h"

#define BLOB_LEN (20u * 1024u) /* about a libtpms permanent state with a few keys */
#define MAX_BATCH 64u

/* One batch: `batch` vTPMs each write once, then (with the counter) one commit. Returns the
 * time per write in microseconds, or a negative value on error. */
static double one_batch(struct rb_guard *g, int dirfd, unsigned batch, const uint8_t *blob,
                        uint64_t gen)
{
    uint8_t key[STATE_KEY_LEN] = { 1 }, uuid[16] = { 0 };
    double t0 = now_us();

    for (unsigned i = 0; i < batch; i++) {
        char name[16];
        int fd;
        snprintf(name, sizeof(name), "v%u", i);
        fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        uuid[0] = (uint8_t)i;
        if (fd < 0 || state_write(fd, key, uuid, VTPM_STATE_PERM, gen, blob, BLOB_LEN) != 0)
            return -1;
        close(fd);
        if (g) {
            struct rb_entry *e = rb_add(&g->mf, uuid);
            if (!e)
                return -1;
            e->perm_gen = gen;
            g->dirty = 1;
        }
    }
    if (g && rb_guard_commit(g) != 0)
        return -1;
    return (now_us() - t0) / batch;
}

#define NCONF 6 /* batches 1, 8, 64, each without and with the counter */

static void report(double *t, unsigned rounds, int with, unsigned batch, uint64_t incs)
{
    qsort(t, rounds, sizeof(*t), cmp_double);
    printf("| %s | %u | %u | %.0f | %.0f | %llu |\n", with ? "with counter" : "without counter",
           batch, rounds * batch, t[rounds / 2], t[rounds * 9 / 10], (unsigned long long)incs);
}

/* Configurations take turns batch by batch (order rotated every round), so that the noise of
 * a shared disk falls on all of them alike. */
static int run_all(struct rb_guard *g, int dirfd, unsigned rounds, const uint8_t *blob)
{
    static const unsigned batches[] = { 1, 8, MAX_BATCH };
    double *t = calloc((size_t)rounds * NCONF, sizeof(*t));
    uint64_t incs[NCONF] = { 0 };

    if (!t)
        return -1;
    for (unsigned r = 0; r < rounds; r++) {
        for (unsigned k = 0; k < NCONF; k++) {
            unsigned c = (k + r) % NCONF;
            uint64_t c0 = g->counter;
            t[c * rounds + r] = one_batch(c & 1 ? g : NULL, dirfd, batches[c / 2], blob, r + 1);
            incs[c] += g->counter - c0;
            if (t[c * rounds + r] < 0) {
                free(t);
                return -1;
            }
        }
    }
    for (unsigned c = 0; c < NCONF; c++)
        report(t + c * rounds, rounds, c & 1, batches[c / 2], incs[c]);
    free(t);
    return 0;
}

int main(int argc, char **argv)
{
    struct hosttpm_config cfg;
    struct hosttpm *h = NULL;
    struct rb_guard g;
    uint8_t master[STATE_KEY_LEN] = { 2 }, *blob = calloc(1, BLOB_LEN);
    unsigned rounds = argc > 3 ? (unsigned)strtoul(argv[3], NULL, 10) : 30;
    int dirfd, r = 1;

    if (argc < 3 || !blob || rounds < 1 || rounds > 100000) {
        fprintf(stderr, "usage: bench_statewrite TCTI DIR [ROUNDS]\n");
        return 2;
    }
    dirfd = open(argv[2], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    for (unsigned i = 0; dirfd >= 0 && i < MAX_BATCH; i++) {
        char name[16];
        snprintf(name, sizeof(name), "v%u", i);
        mkdirat(dirfd, name, 0700);
    }
    hosttpm_config_defaults(&cfg);
    cfg.tcti = argv[1];
    if (dirfd < 0 || hosttpm_open(&cfg, &h) != 0 ||
        rb_guard_open(&g, h, dirfd, HOSTTPM_DEFAULT_COUNTER_INDEX, master, 0) != 0 || g.frozen) {
        fprintf(stderr, "bench_statewrite: setup failed (%s, %s)\n", argv[1], argv[2]);
        goto out;
    }
    g.adopt = 0;
    if (rb_guard_commit(&g) != 0)
        goto out;
    printf("| configuration | writes per batch | writes | median per write (us) | p90 (us) "
           "| host TPM increments |\n|---|---:|---:|---:|---:|---:|\n");
    r = run_all(&g, dirfd, rounds, blob) ? 1 : 0;
    rb_guard_close(&g);
out:
    if (h)
        hosttpm_close(h);
    free(blob);
    return r ? 1 : 0;
}
