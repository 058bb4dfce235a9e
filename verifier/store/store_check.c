/* SPDX-License-Identifier: BSD-3-Clause */
/* One evidence check's writes in one transaction (store_check_apply), and group commit
 * (store_check_commit): the checks of concurrent threads share one durable commit. */
#include "store/store.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "store/store_ops.h"
#include "store/store_policy.h"

/* The most sets one transaction takes: bounds how long the first of them waits. */
#define GROUP_MAX 128u

static int audit_row(struct store *st, const struct store_check_audit *a)
{
    if (!a->kind)
        return 0;
    return st->ops->audit(st, a->t, a->kind, a->subject ? a->subject : "",
                          a->outcome ? a->outcome : "", a->detail ? a->detail : "");
}

/* A piece's own outcome (kept in rc) or a failure of the set (returned). */
static int outcome(int r, const int *mine, size_t n, int *rc)
{
    for (size_t i = 0; i < n; i++)
        if (r == mine[i]) {
            *rc = r;
            return 0;
        }
    *rc = r;
    return r;
}

static int node_piece(struct store *st, struct store_check *chk)
{
    const struct verdict_row v = { chk->node.node, chk->node.host ? chk->node.host : "", "",
                                   chk->node.verdict, chk->node.reasons ? chk->node.reasons : "[]",
                                   chk->node.t, chk->node.due, NULL };

    if (!chk->node.on)
        return audit_row(st, &chk->node.audit);
    return store_put_tx(st, KIND_NODE, &v, NULL, chk->node.audit.kind);
}

static int verdict_piece(struct store *st, struct store_check *chk)
{
    static const int eperm[] = { 0, -EPERM };
    struct store_check_verdict *p = &chk->verdict;
    const struct verdict_row v = { p->id, p->vtpm_uuid, p->node ? p->node : "", p->verdict,
                                   p->reasons ? p->reasons : "[]", p->t, p->due, &p->b };
    struct store_check_audit refused = p->audit;
    int r;

    if (!p->on)
        return audit_row(st, &p->audit);
    if (p->gate && !v.node[0])
        return -EINVAL;
    r = outcome(store_put_tx(st, KIND_CONTAINER, &v, p->gate, p->audit.kind), eperm, 2, &p->rc);
    if (r < 0 || p->rc == 0)
        return r;
    refused.subject = p->id;
    refused.outcome = "refused";
    refused.detail = p->refused_detail ? p->refused_detail : p->reasons;
    refused.t = p->t;
    return audit_row(st, &refused);
}

static int pod_piece(struct store *st, const struct store_check *chk)
{
    if (!chk->pod.uid)
        return 0;
    return store_pod_admit(st, chk->pod.uid, chk->pod.ns, chk->pod.name, chk->pod.facts,
                           chk->pod.policy, chk->pod.policy_version, chk->pod.t);
}

int store_check_writes_evidence(const struct store_check *chk)
{
    return chk->issue.hex || chk->nonce.hex || chk->clock.uuid || chk->node.on ||
           chk->node.audit.kind || chk->verdict.on || chk->verdict.audit.kind ||
           chk->audit.kind;
}

/* A set of the pod piece alone (an admission review's). */
static int pod_only(const struct store_check *chk)
{
    return chk->pod.uid && !chk->decide && !store_check_writes_evidence(chk);
}

/* The pieces inside the caller's transaction (or savepoint); 0 or the set's failure. */
static int apply_set(struct store *st, struct store_check *chk)
{
    static const int nonce_ok[] = { 0, -ENOENT, -ETIME, -EALREADY }, clock_ok[] = { 0, -ERANGE };
    int r = 0;

    chk->nonce.rc = chk->clock.rc = chk->verdict.rc = 0;
    if (chk->issue.hex)
        r = st->ops->nonce_add(st, chk->issue.hex, chk->issue.issued, chk->issue.expires);
    if (r == 0 && chk->nonce.hex)
        r = outcome(st->ops->nonce_consume(st, chk->nonce.hex, chk->nonce.now), nonce_ok, 4,
                    &chk->nonce.rc);
    if (r == 0 && chk->clock.uuid) {
        /* Both databases hold signed 64-bit integers; a TPM clock never reaches 2^63 ms. */
        const int64_t v[3] = { chk->clock.reset, chk->clock.restart,
                               (int64_t)(chk->clock.clock & INT64_MAX) };

        r = outcome(st->ops->clock_advance(st, chk->clock.uuid, v), clock_ok, 2, &chk->clock.rc);
    }
    if (r == 0 && chk->decide)
        r = chk->decide(chk);
    if (r == 0)
        r = node_piece(st, chk);
    if (r == 0)
        r = verdict_piece(st, chk);
    if (r == 0)
        r = audit_row(st, &chk->audit);
    if (r == 0)
        r = pod_piece(st, chk);
    return r;
}

int store_check_apply_steps(struct store *st, struct store_check *chk)
{
    int r = store_tx_begin(st);

    return r < 0 ? r : store_tx_end(st, apply_set(st, chk));
}

/* The backend's own path for a whole set where it has one (PostgreSQL: one round trip for the
 * common outcomes); whatever it leaves (1) runs statement by statement. */
static int apply_alone(struct store *st, struct store_check *chk)
{
    int r;

    if (pod_only(chk)) /* one statement: its own transaction */
        return pod_piece(st, chk);
    /* the backend's one-round-trip path knows the evidence pieces only */
    r = st->ops->check && !chk->pod.uid ? st->ops->check(st, chk) : 1;

    return r <= 0 ? r : store_check_apply_steps(st, chk);
}

int store_check_apply(struct store *st, struct store_check *chk)
{
    return apply_alone(st, chk);
}

uint64_t store_round_trips(struct store *st)
{
    return st->ops->round_trips ? st->ops->round_trips(st) : 0;
}

/* ---- group commit ----
 * Leader/follower: a thread enqueues its set; when no group is being committed, the first
 * waiter becomes the leader, takes every queued set (up to GROUP_MAX), runs them in one
 * transaction on the committer's own handle, each under a savepoint, commits once and wakes
 * everyone. Sets queued meanwhile wait for the next group, led by one of them. */

struct pending {
    struct store_check *chk;
    struct pending *next;
    int rc, done;
};

struct store_committer {
    struct store_committer *next; /* in the process's list, by URL */
    char *url;
    unsigned refs;                /* handles of this database that used it */
    struct store *st;             /* its own handle: only the leader uses it */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct pending *head, **tail;
    int leading;
    struct store_commit_stats stats;
};

static pthread_mutex_t committers_mu = PTHREAD_MUTEX_INITIALIZER;
static struct store_committer *committers;

static uint64_t now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void committer_free(struct store_committer *c)
{
    if (c->st)
        store_close(c->st);
    pthread_cond_destroy(&c->cv);
    pthread_mutex_destroy(&c->mu);
    free(c->url);
    free(c);
}

/* The committer of st's database, made at the first use; with handle, with its own handle
 * (made at the first group commit). */
static int committer_get(struct store *st, int handle, struct store_committer **out)
{
    struct store_committer *c;
    int r = 0;

    if (st->gc && (!handle || st->gc->st)) {
        *out = st->gc;
        return 0;
    }
    if (!st->url)
        return -EINVAL;
    pthread_mutex_lock(&committers_mu);
    if ((c = st->gc)) { /* a handle for a committer made without one */
        if (!c->st && (r = store_open_url(st->url, &c->st)) < 0)
            c->st = NULL;
        pthread_mutex_unlock(&committers_mu);
        *out = c;
        return r;
    }
    for (c = committers; c && strcmp(c->url, st->url); c = c->next)
        ;
    if (!c) {
        if (!(c = calloc(1, sizeof(*c))) || !(c->url = strdup(st->url))) {
            free(c);
            pthread_mutex_unlock(&committers_mu);
            return -ENOMEM;
        }
        pthread_mutex_init(&c->mu, NULL);
        pthread_cond_init(&c->cv, NULL);
        c->tail = &c->head;
        if (handle && (r = store_open_url(st->url, &c->st)) < 0) {
            c->st = NULL;
            committer_free(c);
            pthread_mutex_unlock(&committers_mu);
            return r;
        }
        c->next = committers;
        committers = c;
    }
    if (handle && !c->st && (r = store_open_url(st->url, &c->st)) < 0)
        c->st = NULL;
    c->refs++;
    pthread_mutex_unlock(&committers_mu);
    *out = st->gc = c;
    return r;
}

void store_committer_release(struct store *st)
{
    struct store_committer *c = st->gc, **pp;

    if (!c)
        return;
    st->gc = NULL;
    pthread_mutex_lock(&committers_mu);
    if (--c->refs == 0) {
        for (pp = &committers; *pp && *pp != c; pp = &(*pp)->next)
            ;
        if (*pp)
            *pp = c->next;
    } else {
        c = NULL;
    }
    pthread_mutex_unlock(&committers_mu);
    if (c)
        committer_free(c);
}

/* PostgreSQL: a group holds the row locks of all its sets until its commit, so two instances'
 * groups can wait on each other where single checks never do (each check takes nodes before
 * verdicts); the server then fails one statement (deadlock: -EAGAIN) and its set was rolled
 * back to its savepoint (or, alone, with the transaction). Such a set is tried once more
 * alone, once the group is committed. */
static void retry_alone(struct store *st, struct pending *g)
{
    for (struct pending *p = g; p; p = p->next)
        if (p->rc == -EAGAIN)
            p->rc = apply_alone(st, p->chk);
}

/* One transaction for the group. Alone, a set needs no savepoint: its failure rolls back the
 * transaction. A failed commit fails every set (none of them was written). */
static void run_group(struct store *st, struct pending *g, size_t n)
{
    int r = store_tx_begin(st), ok = 0;

    if (r < 0) { /* no transaction was opened */
        for (struct pending *p = g; p; p = p->next)
            p->rc = r;
        return;
    }
    for (struct pending *p = g; p; p = p->next) {
        if (r < 0) {
            p->rc = r;
            continue;
        }
        if (n == 1) {
            p->rc = apply_set(st, p->chk);
        } else if ((p->rc = st->ops->tx(st, TX_SAVEPOINT)) == 0) {
            p->rc = apply_set(st, p->chk);
            if (p->rc < 0 && st->ops->tx(st, TX_ROLLBACK_TO) < 0)
                r = p->rc; /* the transaction is lost: the sets after it fail too */
            else if (st->ops->tx(st, TX_RELEASE) < 0)
                r = -EIO;
        } else {
            r = p->rc;
        }
        ok += p->rc == 0;
    }
    if (r == 0 && ok > 0 && st->ops->tx(st, TX_COMMIT) == 0) {
        retry_alone(st, g);
        return;
    }
    st->ops->tx(st, TX_ROLLBACK);
    if (r == 0 && ok > 0)
        r = -EIO; /* the commit failed */
    for (struct pending *p = g; r < 0 && p; p = p->next)
        p->rc = p->rc < 0 ? p->rc : r;
    if (r == 0)
        retry_alone(st, g);
}

/* A set in its own transaction on the caller's handle, counted with the committer's. */
static int commit_alone(struct store *st, struct store_committer *c, struct store_check *chk)
{
    uint64_t t0 = now_ns(), t1;
    struct pending me = { chk, NULL, 0, 0 };

    me.rc = apply_alone(st, chk);
    t1 = now_ns();
    retry_alone(st, &me);
    pthread_mutex_lock(&c->mu);
    c->stats.commits++;
    c->stats.sets++;
    c->stats.failed_sets += me.rc < 0;
    c->stats.max_group = c->stats.max_group ? c->stats.max_group : 1;
    c->stats.commit_ns += t1 - t0;
    c->stats.wait_ns += now_ns() - t0;
    pthread_mutex_unlock(&c->mu);
    return me.rc;
}

int store_check_ready(struct store *st)
{
    struct store_committer *c;

    return committer_get(st, st->ops->group_commit != 0, &c);
}

int store_check_commit(struct store *st, struct store_check *chk)
{
    struct store_committer *c;
    int r;

    if (!st->ops->group_commit) {
        if ((r = committer_get(st, 0, &c)) < 0)
            return r;
        return commit_alone(st, c, chk);
    }
    return store_check_group(st, chk);
}

int store_check_group(struct store *st, struct store_check *chk)
{
    struct store_committer *c;
    struct pending me = { chk, NULL, 0, 0 };
    uint64_t t0 = now_ns();
    int r;

    if ((r = committer_get(st, 1, &c)) < 0)
        return r;
    pthread_mutex_lock(&c->mu);
    *c->tail = &me;
    c->tail = &me.next;
    while (!me.done) {
        struct pending *g, *last, *p;
        uint64_t t1;
        size_t n = 1;

        if (c->leading) {
            pthread_cond_wait(&c->cv, &c->mu);
            continue;
        }
        c->leading = 1;
        g = last = c->head;
        while (last->next && n < GROUP_MAX) {
            last = last->next;
            n++;
        }
        c->head = last->next;
        if (!c->head)
            c->tail = &c->head;
        last->next = NULL;
        pthread_mutex_unlock(&c->mu);
        t1 = now_ns();
        run_group(c->st, g, n);
        t1 = now_ns() - t1;
        pthread_mutex_lock(&c->mu);
        c->stats.commits++;
        c->stats.commit_ns += t1;
        if (n > c->stats.max_group)
            c->stats.max_group = n;
        for (p = g; p;) {
            struct pending *next = p->next;

            c->stats.failed_sets += p->rc < 0;
            p->done = 1;
            p = next;
        }
        c->leading = 0;
        pthread_cond_broadcast(&c->cv);
    }
    c->stats.sets++;
    c->stats.wait_ns += now_ns() - t0;
    pthread_mutex_unlock(&c->mu);
    return me.rc;
}

/* The committer of st's database, whichever handle of it made it. */
void store_commit_stats(struct store *st, struct store_commit_stats *out)
{
    struct store_committer *c;

    memset(out, 0, sizeof(*out));
    pthread_mutex_lock(&committers_mu);
    for (c = committers; c && (!st->url || strcmp(c->url, st->url)); c = c->next)
        ;
    if (c) {
        pthread_mutex_lock(&c->mu);
        *out = c->stats;
        pthread_mutex_unlock(&c->mu);
    }
    pthread_mutex_unlock(&committers_mu);
}
