/* SPDX-License-Identifier: BSD-3-Clause */
/* The connection guard (connguard.h): phase deadlines and eviction of the longest-waiting
 * connection, so that slow clients cannot hold the verifier's connection slots. */
#include "http/connguard.h"

#include <stdlib.h>
#include <sys/socket.h>
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
}

/* The owner (libmicrohttpd) sees EOF or an error on its next read and closes the connection;
 * the fd stays valid until then, so it cannot have been reused. */
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
    struct guard_conn *best = NULL;

    for (struct guard_conn *c = g->head; c; c = c->next)
        if (c != except && !c->killed && c->phase != GUARD_BUSY &&
            (!best || c->since_ms < best->since_ms))
            best = c;
    return best;
}

struct guard_conn *guard_open(struct guard *g, int fd, uint64_t now_ms)
{
    struct guard_conn *c = calloc(1, sizeof(*c)), *v;
    size_t room = g->lim.max_conns > g->lim.reserve ? g->lim.max_conns - g->lim.reserve : 1;

    if (!c)
        return NULL;
    *c = (struct guard_conn){ .prev = g->tail, .fd = fd, .phase = GUARD_WAIT, .since_ms = now_ms };
    if (g->tail)
        g->tail->next = c;
    else
        g->head = c;
    g->tail = c;
    g->live++;
    while (g->live > room && (v = oldest_waiting(g, c))) {
        kill_conn(g, v);
        g->evictions++;
    }
    return c;
}

void guard_close(struct guard *g, struct guard_conn *c)
{
    if (!c)
        return;
    if (!c->killed)
        g->live--;
    if (c->prev)
        c->prev->next = c->next;
    else
        g->head = c->next;
    if (c->next)
        c->next->prev = c->prev;
    else
        g->tail = c->prev;
    free(c);
}

void guard_phase(struct guard_conn *c, enum guard_phase ph, uint64_t now_ms)
{
    if (!c || c->phase == ph)
        return;
    if (ph == GUARD_WAIT)
        c->served = 1;
    c->phase = ph;
    c->since_ms = now_ms;
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

void guard_reap(struct guard *g, uint64_t now_ms)
{
    for (struct guard_conn *c = g->head; c; c = c->next) {
        uint64_t d = deadline_s(g, c);

        if (!c->killed && d && now_ms - c->since_ms >= d * 1000u) {
            kill_conn(g, c);
            g->timeouts++;
        }
    }
}

void guard_free(struct guard *g)
{
    while (g->head)
        guard_close(g, g->head);
}
