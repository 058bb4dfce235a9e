/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The node-freshness record and its in-memory table. Why a record may be trusted at all: it
 * only decides whether the agent sends host evidence before a container's; the verifier judges
 * the container against its own node row. A wrong record costs a denied start (stale) or one
 * host quote too many, never an allow.
 */
#include "noderec.h"

#include <errno.h>
#include <string.h>
#include <time.h>

int64_t noderec_now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_BOOTTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t noderec_now_ms(void)
{
    return noderec_now_ns() / 1000000;
}

int64_t noderec_expiry(const struct node_answer *a, int64_t sent_ms, int64_t wall_s)
{
    int64_t base = a->time > 0 ? a->time : wall_s, until = a->fresh_until, span;

    if (until <= 0 || (a->due > 0 && a->due < until))
        until = a->due; /* no fresh_until: the node is due for re-attestation then */
    if (until <= 0 || base <= 0)
        return 0;
    span = until - base - 1; /* the verifier counts whole seconds */
    if (span <= 0)
        return 0;
    if (span > NODEREC_MAX_S)
        span = NODEREC_MAX_S;
    return sent_ms + span * 1000;
}

int noderec_key(const char *node, const char *url, uint8_t key[DIGEST_LEN])
{
    size_t n = strlen(node), u = strlen(url);
    char buf[512];

    if (n + 1 + u > sizeof(buf))
        return -ENAMETOOLONG;
    memcpy(buf, node, n);
    buf[n] = '\0';
    memcpy(buf + n + 1, url, u);
    return digest_buf(buf, n + 1 + u, key);
}

enum noderec_action noderec_decide(const struct noderec_state *s, int64_t need_ms,
                                   int64_t since_ns)
{
    if (s->done_ns > 0 && s->rc == 0 && s->fresh_ms > need_ms)
        return NODEREC_USE;
    if (s->done_ns > 0 && s->done_ns > since_ns) /* ended while the caller waited */
        return s->rc == 0 ? NODEREC_USE : NODEREC_FAIL;
    return NODEREC_REFRESH;
}

/* ---- the table -------------------------------------------------------------------------- */

int nodetab_init(struct nodetab *t)
{
    pthread_condattr_t ca;
    int r;

    memset(t->s, 0, sizeof(t->s));
    if ((r = pthread_condattr_init(&ca)) != 0)
        return -r;
    r = pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    if (r == 0 && (r = pthread_cond_init(&t->cv, &ca)) == 0 &&
        (r = pthread_mutex_init(&t->mu, NULL)) != 0)
        pthread_cond_destroy(&t->cv);
    pthread_condattr_destroy(&ca);
    return -r;
}

void nodetab_free(struct nodetab *t)
{
    pthread_cond_destroy(&t->cv);
    pthread_mutex_destroy(&t->mu);
    memset(t->s, 0, sizeof(t->s));
}

/* key's slot, else a free one, else the least recently used idle one (reset); NULL when every
 * slot has a refresh in flight. Called with mu held. */
static struct nodetab_slot *slot_of(struct nodetab *t, const uint8_t key[DIGEST_LEN])
{
    struct nodetab_slot *old = NULL;

    for (size_t i = 0; i < NODEREC_SLOTS; i++)
        if (t->s[i].used && !memcmp(t->s[i].key, key, DIGEST_LEN))
            return &t->s[i];
    for (size_t i = 0; i < NODEREC_SLOTS; i++) {
        struct nodetab_slot *s = &t->s[i];
        if (!s->used || (!s->busy && (!old || s->last_ns < old->last_ns)))
            old = s;
        if (!s->used)
            break;
    }
    if (old) {
        memset(old, 0, sizeof(*old));
        memcpy(old->key, key, DIGEST_LEN);
        old->used = 1;
    }
    return old;
}

/* Waits for a refresh to end, at most until deadline_ms: 0 or -ETIMEDOUT. mu held. */
static int wait_refresh(struct nodetab *t, int64_t deadline_ms)
{
    int64_t left = deadline_ms - noderec_now_ms();
    struct timespec ts;

    if (left <= 0)
        return -ETIMEDOUT;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += left / 1000;
    ts.tv_nsec += (left % 1000) * 1000000;
    if (ts.tv_nsec >= 1000000000) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000;
    }
    return pthread_cond_timedwait(&t->cv, &t->mu, &ts) == ETIMEDOUT ? -ETIMEDOUT : 0;
}

/* Runs fn without the lock (other nodes' callers go on) and records its result. */
static int refresh(struct nodetab *t, struct nodetab_slot *s, noderec_refresh_fn fn, void *arg)
{
    struct node_answer a = { 0 };
    int64_t sent;
    int rc;

    s->busy = 1;
    pthread_mutex_unlock(&t->mu);
    sent = noderec_now_ms();
    rc = fn(arg, &a);
    pthread_mutex_lock(&t->mu);
    s->st.rc = rc;
    s->st.fresh_ms = rc == 0 ? noderec_expiry(&a, sent, time(NULL)) : 0;
    s->st.done_ns = noderec_now_ns();
    s->busy = 0;
    pthread_cond_broadcast(&t->cv);
    return rc;
}

static int use_of(const struct nodetab_slot *s, struct noderec_use *u)
{
    u->token = s->st.done_ns;
    u->fresh_ms = s->st.fresh_ms;
    return s->st.rc;
}

int nodetab_ensure(struct nodetab *t, const uint8_t key[DIGEST_LEN], int64_t need_ms,
                   int64_t deadline_ms, noderec_refresh_fn fn, void *arg, struct noderec_use *u)
{
    int64_t since = noderec_now_ns();
    struct nodetab_slot *s;
    int rc = 0;

    memset(u, 0, sizeof(*u));
    pthread_mutex_lock(&t->mu);
    for (;;) {
        if (!(s = slot_of(t, key))) { /* every slot refreshing: wait for one */
            if ((rc = wait_refresh(t, deadline_ms)) < 0)
                break;
            continue;
        }
        s->last_ns = since;
        switch (noderec_decide(&s->st, need_ms, since)) {
        case NODEREC_USE:
            u->shared = s->st.done_ns > since;
            rc = use_of(s, u);
            goto out;
        case NODEREC_FAIL:
            u->shared = 1;
            rc = use_of(s, u);
            goto out;
        case NODEREC_REFRESH:
        default:
            break;
        }
        if (!fn) { /* a look only */
            rc = -ESTALE;
            break;
        }
        if (!s->busy) {
            u->refreshed = 1;
            rc = refresh(t, s, fn, arg);
            use_of(s, u);
            break;
        }
        if ((rc = wait_refresh(t, deadline_ms)) < 0)
            break;
    }
out:
    pthread_mutex_unlock(&t->mu);
    return rc;
}

void nodetab_drop(struct nodetab *t, const uint8_t key[DIGEST_LEN], int64_t token)
{
    pthread_mutex_lock(&t->mu);
    for (size_t i = 0; i < NODEREC_SLOTS; i++) {
        struct nodetab_slot *s = &t->s[i];
        if (s->used && !s->busy && !memcmp(s->key, key, DIGEST_LEN) && s->st.done_ns == token)
            memset(&s->st, 0, sizeof(s->st));
    }
    pthread_mutex_unlock(&t->mu);
}
