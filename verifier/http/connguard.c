/* SPDX-License-Identifier: BSD-3-Clause */
/* The connection guard (connguard.h): phase deadlines, connection limits for the whole service
 * and eviction of the longest-waiting connection, so that slow clients cannot hold the
 * verifier's connection slots. One lock; every serving thread calls in. */
#include "http/connguard.h"

#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

uint64_t guard_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void guard_init(struct guard *g, const struct guard_limits *lim)
{
    *g = (struct guard){ .lim = *lim };
    TAILQ_INIT(&g->conns);
    pthread_mutex_init(&g->lock, NULL);
}

/* The owner (libmicrohttpd) sees EOF or an error on its next read and closes the connection;
 * the fd stays valid until then (it tells the guard, guard_close, before it closes the fd, and
 * both happen under the lock's order), so it cannot have been reused. */
static void kill_conn(struct guard *g, struct guard_conn *c)
{
    shutdown(c->fd, SHUT_RDWR);
    c->killed = 1;
    g->live--;
}

/* The live connection that has waited longest for its request to complete; a connection
 * being answered is not a candidate. */
static struct guard_conn *oldest_waiting(struct guard *g, const struct guard_conn *except)
{
    struct guard_conn *best = NULL, *c;

    TAILQ_FOREACH(c, &g->conns, link)
        if (c != except && !c->killed && c->phase != GUARD_BUSY &&
            (!best || c->since_ms < best->since_ms))
            best = c;
    return best;
}

/* The client address without the port: what the per-address limit counts. */
static int same_host(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
    if (a->ss_family != b->ss_family)
        return 0;
    if (a->ss_family == AF_INET)
        return ((const struct sockaddr_in *)a)->sin_addr.s_addr ==
               ((const struct sockaddr_in *)b)->sin_addr.s_addr;
    if (a->ss_family == AF_INET6)
        return !memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr,
                       &((const struct sockaddr_in6 *)b)->sin6_addr, sizeof(struct in6_addr));
    return 0; /* unknown or another family: not limited per address */
}

static size_t from_host(const struct guard *g, const struct sockaddr_storage *addr)
{
    const struct guard_conn *c;
    size_t n = 0;

    TAILQ_FOREACH(c, &g->conns, link)
        n += !c->killed && same_host(&c->addr, addr);
    return n;
}

static void copy_addr(struct sockaddr_storage *to, const struct sockaddr *sa)
{
    memset(to, 0, sizeof(*to));
    if (sa && sa->sa_family == AF_INET)
        memcpy(to, sa, sizeof(struct sockaddr_in));
    else if (sa && sa->sa_family == AF_INET6)
        memcpy(to, sa, sizeof(struct sockaddr_in6));
}

static int over_limit(const struct guard *g, const struct sockaddr_storage *addr)
{
    return g->live >= g->lim.max_conns ||
           (addr->ss_family != AF_UNSPEC && from_host(g, addr) >= g->lim.per_ip);
}

int guard_admit(struct guard *g, const struct sockaddr *addr)
{
    struct sockaddr_storage a;
    int over;

    copy_addr(&a, addr);
    pthread_mutex_lock(&g->lock);
    if ((over = over_limit(g, &a)))
        g->refused++;
    pthread_mutex_unlock(&g->lock);
    return !over;
}

struct guard_conn *guard_open(struct guard *g, int fd, const struct sockaddr *addr,
                              uint64_t now_ms)
{
    struct guard_conn *c = calloc(1, sizeof(*c)), *v;
    size_t room = g->lim.max_conns > g->lim.reserve ? g->lim.max_conns - g->lim.reserve : 1;

    if (!c)
        return NULL;
    *c = (struct guard_conn){ .fd = fd, .phase = GUARD_WAIT, .since_ms = now_ms };
    copy_addr(&c->addr, addr);
    pthread_mutex_lock(&g->lock);
    if (over_limit(g, &c->addr)) {
        g->refused++;
        pthread_mutex_unlock(&g->lock);
        free(c);
        return NULL;
    }
    TAILQ_INSERT_TAIL(&g->conns, c, link);
    g->open++;
    g->live++;
    while (g->live > room && (v = oldest_waiting(g, c))) {
        kill_conn(g, v);
        g->evictions++;
    }
    pthread_mutex_unlock(&g->lock);
    return c;
}

void guard_close(struct guard *g, struct guard_conn *c)
{
    if (!c)
        return;
    pthread_mutex_lock(&g->lock);
    if (!c->killed)
        g->live--;
    g->open--;
    TAILQ_REMOVE(&g->conns, c, link);
    pthread_mutex_unlock(&g->lock);
    free(c->spare);
    free(c);
}

void guard_phase(struct guard *g, struct guard_conn *c, enum guard_phase ph, uint64_t now_ms)
{
    if (!c)
        return;
    pthread_mutex_lock(&g->lock);
    if (c->phase != ph) {
        if (ph == GUARD_WAIT)
            c->served = 1;
        c->phase = ph;
        c->since_ms = now_ms;
    }
    pthread_mutex_unlock(&g->lock);
}

static uint64_t deadline_s(const struct guard *g, const struct guard_conn *c)
{
    switch (c->phase) {
    case GUARD_WAIT: return c->served ? g->lim.idle_s : g->lim.handshake_s;
    case GUARD_HEAD: return g->lim.header_s;
    case GUARD_BODY: return g->lim.body_s;
    case GUARD_BUSY:
    default: return 0;
    }
}

static void reap_locked(struct guard *g, uint64_t now_ms)
{
    struct guard_conn *c;

    TAILQ_FOREACH(c, &g->conns, link) {
        uint64_t d = deadline_s(g, c);

        /* now_ms was read before the lock: another thread may have stamped a later time */
        if (!c->killed && d && now_ms > c->since_ms && now_ms - c->since_ms >= d * 1000u) {
            kill_conn(g, c);
            g->timeouts++;
        }
    }
    g->reaped_ms = now_ms;
}

void guard_reap(struct guard *g, uint64_t now_ms)
{
    pthread_mutex_lock(&g->lock);
    reap_locked(g, now_ms);
    pthread_mutex_unlock(&g->lock);
}

void guard_tick(struct guard *g, uint64_t now_ms)
{
    pthread_mutex_lock(&g->lock);
    if (now_ms >= g->reaped_ms + GUARD_REAP_MS)
        reap_locked(g, now_ms);
    pthread_mutex_unlock(&g->lock);
}

void guard_counts(struct guard *g, uint64_t *timeouts, uint64_t *evictions, uint64_t *refused)
{
    pthread_mutex_lock(&g->lock);
    *timeouts = g->timeouts;
    *evictions = g->evictions;
    *refused = g->refused;
    pthread_mutex_unlock(&g->lock);
}

void guard_free(struct guard *g)
{
    while (!TAILQ_EMPTY(&g->conns))
        guard_close(g, TAILQ_FIRST(&g->conns));
    pthread_mutex_destroy(&g->lock);
}
