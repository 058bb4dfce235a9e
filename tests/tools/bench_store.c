/* SPDX-License-Identifier: BSD-3-Clause */
/* Benchmark tool: evidence checks' store writes from K threads, each with its own handle, on
 * one database (DB: a SQLite file path, or a postgresql:// URL of an empty database), for
 * SECONDS: MODE "writes" (the four writes each in its own commit: nonce,
 * clock, verdict, audit), "steps" (one transaction per check, each statement its own round trip
 * on PostgreSQL: store_check_apply_steps), "tx" (one transaction per check, store_check_apply:
 * one pipeline on PostgreSQL) or "group" (one transaction per check, group-committed across
 * threads, store_check_group). WORK_US of CPU per check stands for the rest of a check. Prints
 * one tab-separated line:
 *   MODE K checks checks/s commits share_waiting round_trips_per_check
 * share_waiting: the time threads spent in store writes over K x the run's wall time;
 * round trips: to the PostgreSQL server, by the threads' handles (0 on SQLite). */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>
#include <sqlite3.h>

#include "benchutil.h"
#include "../../verifier/store/store.h"

#define IDS_PER_THREAD 64 /* container ids each thread re-attests in turn */

enum mode { WRITES, TX, GROUP, STEPS };

struct worker {
    const char *url;
    enum mode mode;
    int me, cap;
    double secs, work_us, store_us;
    long checks;
    uint64_t trips;
    int errors;
    pthread_barrier_t *go;
    pthread_t tid;
};

static void spin(double us)
{
    double end = now_us() + us;

    while (now_us() < end)
        ;
}

/* The writes of one check; 0 or -errno. */
static int one_check(struct store *st, enum mode mode, int me, long i)
{
    static const struct verdict_binding b = { "ek", 0, 0 };
    char nonce[32], id[32], uuid[32];
    struct store_check c = { 0 };
    int r;

    snprintf(nonce, sizeof(nonce), "b%d-%ld", me, i);
    snprintf(id, sizeof(id), "c%d-%ld", me, i % IDS_PER_THREAD);
    snprintf(uuid, sizeof(uuid), "vt%d-%ld", me, i % IDS_PER_THREAD);
    if (mode == WRITES) {
        if ((r = store_nonce_consume(st, nonce, 1)) < 0 ||
            (r = store_clock_advance(st, uuid, 1, 0, (uint64_t)i)) < 0 ||
            (r = store_verdict_put(st, id, uuid, "", "allow", "[]", 1, 0, &b)) < 0)
            return r;
        return store_audit(st, 1, "evidence", id, "allow", "[]");
    }
    c.nonce.hex = nonce;
    c.nonce.now = 1;
    c.clock.uuid = uuid;
    c.clock.reset = 1;
    c.clock.clock = (uint64_t)i;
    c.verdict = (struct store_check_verdict){ .on = 1, .id = id, .vtpm_uuid = uuid, .node = "",
                                              .verdict = "allow", .reasons = "[]", .t = 1,
                                              .b = b };
    c.verdict.audit.kind = "evidence";
    r = mode == TX      ? store_check_apply(st, &c)
        : mode == STEPS ? store_check_apply_steps(st, &c)
                        : store_check_group(st, &c);
    if (r == 0 && (c.nonce.rc || c.clock.rc || c.verdict.rc))
        r = -EPROTO;
    return r;
}

static void *run(void *arg)
{
    struct worker *w = arg;
    struct store *st = NULL;
    double end;
    uint64_t trips0;

    if (store_open_url(w->url, &st) < 0)
        w->errors++;

    pthread_barrier_wait(w->go);
    trips0 = st ? store_round_trips(st) : 0;
    end = now_us() + 1e6 * w->secs;
    while (st && now_us() < end && w->checks < w->cap) {
        double t0;

        spin(w->work_us);
        t0 = now_us();
        if (one_check(st, w->mode, w->me, w->checks) < 0)
            w->errors++;
        w->store_us += now_us() - t0;
        w->checks++;
    }
    w->trips = st ? store_round_trips(st) - trips0 : 0;
    store_close(st);
    return NULL;
}

/* As seed, on PostgreSQL: one statement. */
static int seed_pg(const char *url, int k, int cap)
{
    PGconn *c = PQconnectdb(url);
    PGresult *res;
    char sql[320];
    int ok;

    snprintf(sql, sizeof(sql), "INSERT INTO nonces (nonce, issued, expires) SELECT 'b' || t || "
                               "'-' || i, 0, 4000000000 FROM generate_series(0, %d) t, "
                               "generate_series(0, %d) i", k - 1, cap - 1);
    res = PQstatus(c) == CONNECTION_OK ? PQexec(c, sql) : NULL;
    ok = res && PQresultStatus(res) == PGRES_COMMAND_OK;
    if (!ok)
        fprintf(stderr, "bench_store: %s", PQerrorMessage(c));
    PQclear(res);
    PQfinish(c);
    return ok ? 0 : -1;
}

/* The nonces every thread may use, in one transaction (not part of the measurement). */
static int seed(const char *path, int k, int cap)
{
    sqlite3 *db;
    sqlite3_stmt *s;
    char nonce[32];
    int rc;

    if (sqlite3_open(path, &db) != SQLITE_OK)
        return -1;
    sqlite3_exec(db, "BEGIN", NULL, NULL, NULL);
    rc = sqlite3_prepare_v2(db, "INSERT INTO nonces (nonce, issued, expires) VALUES (?, 0, "
                                "4000000000)", -1, &s, NULL);
    for (int t = 0; rc == SQLITE_OK && t < k; t++)
        for (int i = 0; i < cap; i++) {
            snprintf(nonce, sizeof(nonce), "b%d-%d", t, i);
            sqlite3_bind_text(s, 1, nonce, -1, SQLITE_TRANSIENT);
            if (sqlite3_step(s) != SQLITE_DONE)
                rc = SQLITE_ERROR;
            sqlite3_reset(s);
        }
    sqlite3_finalize(s);
    if (rc == SQLITE_OK)
        rc = sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
    sqlite3_close(db);
    return rc == SQLITE_OK ? 0 : -1;
}

int main(int argc, char **argv)
{
    static const char *const names[] = { "writes", "tx", "group", "steps" };
    struct store_commit_stats stats;
    struct worker *w;
    struct store *st;
    pthread_barrier_t go;
    char url[4200];
    double secs, t0, t1, store_us = 0;
    long checks = 0;
    uint64_t trips = 0;
    int k, cap, errors = 0, mode = -1, pg;

    if (argc != 6) {
        fprintf(stderr, "usage: bench_store PATH|URL writes|steps|tx|group K SECONDS WORK_US\n");
        return 2;
    }
    for (int i = 0; i < 4; i++)
        if (!strcmp(argv[2], names[i]))
            mode = i;
    k = atoi(argv[3]);
    secs = atof(argv[4]);
    cap = (int)(secs * 20000 / (k > 0 ? k : 1)) + 100; /* above any rate reachable here */
    pg = !strncmp(argv[1], "postgresql://", 13);
    snprintf(url, sizeof(url), pg ? "%s" : "sqlite:%s", argv[1]);
    if (mode < 0 || k < 1 || k > 256 || secs <= 0 || !(w = calloc((size_t)k, sizeof(*w)))) {
        fprintf(stderr, "bench_store: bad arguments\n");
        return 2;
    }
    /* st makes the schema first, and keeps the group committer for the whole run (its empty
     * check, one commit, is taken off the count) */
    if (store_open_url(url, &st) < 0 || (pg ? seed_pg(url, k, cap) : seed(argv[1], k, cap)) < 0 ||
        store_check_group(st, &(struct store_check){ 0 }) < 0) {
        fprintf(stderr, "bench_store: cannot prepare %s\n", argv[1]);
        return 1;
    }
    pthread_barrier_init(&go, NULL, (unsigned)k + 1);
    for (int i = 0; i < k; i++) {
        w[i] = (struct worker){ .url = url, .mode = (enum mode)mode, .me = i, .cap = cap,
                                .secs = secs, .work_us = atof(argv[5]),
                                .go = &go };
        if (pthread_create(&w[i].tid, NULL, run, &w[i]) != 0)
            return 1;
    }
    pthread_barrier_wait(&go);
    t0 = now_us();
    for (int i = 0; i < k; i++) {
        pthread_join(w[i].tid, NULL);
        checks += w[i].checks;
        store_us += w[i].store_us;
        errors += w[i].errors;
        trips += w[i].trips;
    }
    t1 = now_us();
    store_commit_stats(st, &stats);
    store_close(st);
    if (errors) {
        fprintf(stderr, "bench_store: %d check(s) failed\n", errors);
        return 1;
    }
    printf("%s\t%d\t%ld\t%.1f\t%llu\t%.3f\t%.2f\n", names[mode], k, checks,
           (double)checks * 1e6 / (t1 - t0),
           mode == WRITES                  ? (unsigned long long)checks * 4
           : mode == TX || mode == STEPS ? (unsigned long long)checks
                                           : (unsigned long long)stats.commits - 1,
           store_us / ((double)k * (t1 - t0)), checks ? (double)trips / (double)checks : 0.0);
    return 0;
}
