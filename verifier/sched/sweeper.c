/* SPDX-License-Identifier: BSD-3-Clause */
/* Continuous attestation in `verifier serve`: once a second, revoke allow verdicts whose
 * re-attestation is overdue and deliver queued notifications; once a minute, purge. */
#include "sched/sweeper.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "http/api.h"
#include "log.h"
#include "sched/notify.h"
#include "store/store.h"

#define REVOKE_BATCH    64u
#define REVOKE_ROUNDS   16  /* per tick: a backlog drains over a few ticks, never blocks stop */
#define NOTIFY_BATCH    16u
#define TICK_MS         1000
#define PURGE_EVERY_S   60

struct sweeper {
    struct store *st;
    struct notifier *nf; /* NULL without --notify-url */
    struct sweeper_stats *stats;
    int max_attempts;
    int64_t audit_keep_s;
    int db_failing; /* log the first failure and the recovery, not every tick */
    atomic_int stop;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pthread_t th;
};

int64_t api_due(const struct api_ctx *c, int64_t now)
{
    return c->reattest_interval > 0 ? now + c->reattest_interval + c->reattest_grace : 0;
}

int64_t sweeper_backoff(int attempts)
{
    if (attempts < 1)
        return 1;
    if (attempts > 9) /* 2^9 > the cap; no shift overflow */
        return SWEEPER_BACKOFF_MAX_S;
    return (1 << (attempts - 1)) < SWEEPER_BACKOFF_MAX_S ? (1 << (attempts - 1))
                                                         : SWEEPER_BACKOFF_MAX_S;
}

static int64_t mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void db_result(struct sweeper *s, int r, const char *what)
{
    if (r < 0) {
        atomic_fetch_add(&s->stats->db_errors, 1);
        if (!s->db_failing)
            LOG_ERROR("sweeper: database failed (%s): %s", what, strerror(-r));
        s->db_failing = 1;
    } else if (s->db_failing) {
        LOG_INFO("sweeper: database back");
        s->db_failing = 0;
    }
}

static void revoke(struct sweeper *s, int64_t now)
{
    struct store_revoked out[REVOKE_BATCH];
    size_t n = 0;

    for (int round = 0; round < REVOKE_ROUNDS && !atomic_load(&s->stop); round++) {
        int r = store_revoke_overdue(s->st, now, out, REVOKE_BATCH, &n);
        db_result(s, r, "revocation");
        if (r < 0)
            return;
        for (size_t i = 0; i < n; i++) {
            LOG_WARN("revoked %s %s: re-attestation missed", out[i].kind, out[i].id);
            if (out[i].cascaded)
                LOG_WARN("node %s revoked: %zu container verdict(s) on it denied (node-denied)",
                         out[i].id, out[i].cascaded);
            atomic_fetch_add(&s->stats->revoked, 1 + out[i].cascaded);
        }
        if (n < REVOKE_BATCH)
            return;
    }
}

static void failed_attempt(struct sweeper *s, const struct store_notification *nt, int64_t now,
                           const char *err)
{
    int attempts = nt->attempts + 1;
    int64_t wait = sweeper_backoff(attempts);

    if (attempts >= s->max_attempts) {
        db_result(s, store_notify_fail(s->st, nt->id), "notification");
        atomic_fetch_add(&s->stats->failed, 1);
        LOG_ERROR("notification %" PRId64 " given up after %d attempts: %s", nt->id, attempts, err);
        return;
    }
    db_result(s, store_notify_retry(s->st, nt->id, attempts, now + wait), "notification");
    atomic_fetch_add(&s->stats->retried, 1);
    LOG_WARN("notification %" PRId64 " attempt %d failed: %s; next in %" PRId64 " s", nt->id,
             attempts, err, wait);
}

static void deliver_one(struct sweeper *s, const struct store_notification *nt, int64_t now)
{
    char err[160] = "";
    int r;

    if (!s->nf) { /* documented: without --notify-url nothing is kept for later */
        db_result(s, store_notify_done(s->st, nt->id), "notification");
        atomic_fetch_add(&s->stats->discarded, 1);
        return;
    }
    r = atomic_load(&s->stop) ? -ECANCELED
                              : notify_post(s->nf, nt->id, nt->body, &s->stop, err, sizeof(err));
    if (r == -ECANCELED) { /* stopping: hand it back at once, this attempt does not count */
        db_result(s, store_notify_retry(s->st, nt->id, nt->attempts, now), "notification");
    } else if (r == 0) {
        db_result(s, store_notify_done(s->st, nt->id), "notification");
        atomic_fetch_add(&s->stats->delivered, 1);
        LOG_INFO("notification %" PRId64 " delivered", nt->id);
    } else {
        failed_attempt(s, nt, now, err);
    }
}

static void deliver(struct sweeper *s, int64_t now)
{
    struct store_notification batch[NOTIFY_BATCH];
    int64_t t0 = mono_ms();
    size_t n = 0;
    int r;

    do {
        r = store_notify_claim(s->st, now, now + SWEEPER_LEASE_S, batch, NOTIFY_BATCH, &n);
        db_result(s, r, "notification claim");
        if (r < 0)
            return;
        for (size_t i = 0; i < n; i++) {
            deliver_one(s, &batch[i], now);
            store_notification_free(&batch[i]);
        }
    } while (n == NOTIFY_BATCH && !atomic_load(&s->stop) && mono_ms() - t0 < TICK_MS);
}

static void purge(struct sweeper *s, int64_t now)
{
    int64_t n = store_purge(s->st, now, SWEEPER_PURGE_KEEP_S);

    db_result(s, n < 0 ? (int)n : 0, "purge");
    if (n > 0)
        LOG_DEBUG("sweeper: purged %" PRId64 " old nonces, notifications and registrations", n);
    if (s->audit_keep_s > 0 && n >= 0) {
        n = store_purge_audit(s->st, now - s->audit_keep_s);
        db_result(s, n < 0 ? (int)n : 0, "audit purge");
        if (n > 0)
            LOG_DEBUG("sweeper: purged %" PRId64 " audit rows", n);
    }
}

/* Sleeps until the next tick or until sweeper_stop. */
static void wait_tick(struct sweeper *s)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += TICK_MS / 1000;
    pthread_mutex_lock(&s->mu);
    while (!atomic_load(&s->stop) && pthread_cond_timedwait(&s->cv, &s->mu, &ts) != ETIMEDOUT)
        ;
    pthread_mutex_unlock(&s->mu);
}

static void *run(void *arg)
{
    struct sweeper *s = arg;
    int64_t last_purge = 0;

    while (!atomic_load(&s->stop)) {
        int64_t now = time(NULL);
        revoke(s, now);
        deliver(s, now);
        if (now - last_purge >= PURGE_EVERY_S && !atomic_load(&s->stop)) {
            purge(s, now);
            last_purge = now;
        }
        wait_tick(s);
    }
    return NULL;
}

static int sync_init(struct sweeper *s)
{
    pthread_condattr_t ca;
    int ok;

    if (pthread_condattr_init(&ca) != 0)
        return -ENOMEM;
    /* monotonic: a wall-clock step must not stretch or skip the tick */
    ok = pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) == 0 &&
         pthread_cond_init(&s->cv, &ca) == 0;
    pthread_condattr_destroy(&ca);
    if (!ok)
        return -ENOMEM;
    if (pthread_mutex_init(&s->mu, NULL) != 0) {
        pthread_cond_destroy(&s->cv);
        return -ENOMEM;
    }
    return 0;
}

static void release(struct sweeper *s)
{
    notify_close(s->nf);
    store_close(s->st);
    free(s);
}

int sweeper_start(const struct sweeper_cfg *cfg, struct sweeper_stats *stats,
                  struct sweeper **out)
{
    struct sweeper *s = calloc(1, sizeof(*s));
    int r = -ENOMEM;

    *out = NULL;
    if (!s)
        return -ENOMEM;
    s->stats = stats;
    s->max_attempts = cfg->max_attempts > 0 ? cfg->max_attempts : SWEEPER_DEFAULT_MAX_ATTEMPTS;
    s->audit_keep_s = cfg->audit_keep_s;
    atomic_init(&s->stop, 0);
    if ((r = store_open_url(cfg->db_url, &s->st)) < 0) {
        LOG_ERROR("sweeper: cannot open the database: %s", strerror(-r));
        goto fail;
    }
    if (cfg->notify_url && (r = notify_open(cfg->notify_url, cfg->notify_ca, &s->nf)) < 0) {
        LOG_ERROR("bad --notify-url (http:// or https://)");
        goto fail;
    }
    if ((r = sync_init(s)) < 0)
        goto fail;
    if ((r = -pthread_create(&s->th, NULL, run, s)) < 0) {
        pthread_cond_destroy(&s->cv);
        pthread_mutex_destroy(&s->mu);
        goto fail;
    }
    *out = s;
    return 0;
fail:
    release(s);
    return r;
}

void sweeper_stop(struct sweeper *s)
{
    if (!s)
        return;
    pthread_mutex_lock(&s->mu);
    atomic_store(&s->stop, 1);
    pthread_cond_signal(&s->cv);
    pthread_mutex_unlock(&s->mu);
    pthread_join(s->th, NULL);
    pthread_cond_destroy(&s->cv);
    pthread_mutex_destroy(&s->mu);
    release(s);
}

static void counter(FILE *f, const char *name, const char *help, uint64_t v)
{
    fprintf(f, "# HELP %s %s\n# TYPE %s counter\n%s %llu\n", name, help, name, name,
            (unsigned long long)v);
}

void api_sweeper_metrics(const struct api_ctx *c, FILE *f)
{
    const struct sweeper_stats *s = c->sweep;

    if (!s)
        return;
    counter(f, "verifier_revoked_total", "Allow verdicts revoked because re-attestation was missed",
            atomic_load(&s->revoked));
    fprintf(f, "# HELP verifier_notifications_total Webhook notification attempts by outcome\n"
               "# TYPE verifier_notifications_total counter\n"
               "verifier_notifications_total{outcome=\"delivered\"} %llu\n"
               "verifier_notifications_total{outcome=\"retried\"} %llu\n"
               "verifier_notifications_total{outcome=\"failed\"} %llu\n"
               "verifier_notifications_total{outcome=\"discarded\"} %llu\n",
            (unsigned long long)atomic_load(&s->delivered),
            (unsigned long long)atomic_load(&s->retried),
            (unsigned long long)atomic_load(&s->failed),
            (unsigned long long)atomic_load(&s->discarded));
    counter(f, "verifier_sweeper_db_errors_total", "Database failures of the sweeper",
            atomic_load(&s->db_errors));
}
