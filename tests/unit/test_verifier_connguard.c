/* SPDX-License-Identifier: BSD-3-Clause */
/* Unit tests of the verifier's connection guard (verifier/http/connguard.c): phase deadlines and
 * eviction of the longest-waiting connection, on socket pairs whose far end sees the shutdown. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>

#include "../../verifier/http/connguard.h"

#define NCONN 6

struct pair {
    int near, far;
};

static const struct guard_limits lim = { .max_conns = 5, .per_ip = 5, .reserve = 1,
                                         .handshake_s = 5, .header_s = 10, .body_s = 30,
                                         .idle_s = 7 };

static void open_pair(struct pair *p)
{
    int sv[2];

    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
    p->near = sv[0];
    p->far = sv[1];
}

static void close_pair(struct pair *p)
{
    close(p->near);
    close(p->far);
}

/* 1 when the guard shut the near end down: the far end reads EOF instead of EAGAIN. */
static int shut(const struct pair *p)
{
    char c;
    ssize_t n = recv(p->far, &c, 1, MSG_DONTWAIT);

    if (n == 0)
        return 1;
    assert_true(n < 0 && errno == EAGAIN);
    return 0;
}

static void test_deadlines(void **state)
{
    struct guard g;
    struct pair p[4];
    struct guard_conn *c[4];

    guard_init(&g, &lim);
    for (int i = 0; i < 4; i++) {
        open_pair(&p[i]);
        assert_non_null(c[i] = guard_open(&g, p[i].near, NULL, 1000));
    }
    guard_phase(&g, c[1], GUARD_HEAD, 2000); /* request line at 2 s: headers due at 12 s */
    guard_phase(&g, c[2], GUARD_HEAD, 2000);
    guard_phase(&g, c[2], GUARD_BUSY, 2100); /* being answered: no deadline */
    guard_phase(&g, c[3], GUARD_HEAD, 1500);
    guard_phase(&g, c[3], GUARD_BUSY, 1600);
    guard_phase(&g, c[3], GUARD_WAIT, 1700); /* answered, kept alive: idle until 8.7 s */
    guard_reap(&g, 5999);
    assert_int_equal(shut(&p[0]), 0);
    guard_reap(&g, 6000); /* handshake + request line: 5 s */
    assert_int_equal(shut(&p[0]), 1);
    assert_int_equal(shut(&p[1]), 0);
    assert_int_equal(g.timeouts, 1);
    guard_reap(&g, 8700);
    assert_int_equal(shut(&p[3]), 1);
    guard_reap(&g, 12000);
    assert_int_equal(shut(&p[1]), 1);
    guard_reap(&g, 100000);
    assert_int_equal(shut(&p[2]), 0);
    assert_int_equal(g.timeouts, 3);
    assert_int_equal(g.live, 1);
    for (int i = 0; i < 4; i++) {
        guard_close(&g, c[i]);
        close_pair(&p[i]);
    }
    assert_int_equal(g.live, 0);
    assert_true(TAILQ_EMPTY(&g.conns));
}

/* max 5, reserve 1: the fifth live connection evicts the one that waited longest, whatever
 * its phase, but never one being answered. */
static void test_eviction(void **state)
{
    struct guard g;
    struct pair p[NCONN];
    struct guard_conn *c[NCONN];

    guard_init(&g, &lim);
    for (int i = 0; i < 4; i++) {
        open_pair(&p[i]);
        assert_non_null(c[i] = guard_open(&g, p[i].near, NULL, 1000 + (uint64_t)i));
    }
    guard_phase(&g, c[0], GUARD_HEAD, 1005); /* c[0]'s clock restarts: now c[1] waited longest */
    guard_phase(&g, c[2], GUARD_BUSY, 1006);
    open_pair(&p[4]);
    assert_non_null(c[4] = guard_open(&g, p[4].near, NULL, 1010));
    assert_int_equal(shut(&p[1]), 1);
    assert_int_equal(shut(&p[0]) + shut(&p[2]) + shut(&p[3]) + shut(&p[4]), 0);
    assert_int_equal(g.evictions, 1);
    assert_int_equal(g.live, 4);
    open_pair(&p[5]);
    assert_non_null(c[5] = guard_open(&g, p[5].near, NULL, 1020));
    assert_int_equal(shut(&p[3]), 1); /* c[2] is busy, c[0] restarted at 1005 > 1003 */
    assert_int_equal(shut(&p[0]) + shut(&p[2]), 0);
    guard_free(&g);
    for (int i = 0; i < NCONN; i++)
        close_pair(&p[i]);
}

static struct sockaddr_in addr4(uint32_t host, uint16_t port)
{
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port),
                             .sin_addr.s_addr = htonl(host) };

    return a;
}

/* The limits are the guard's, whatever thread's libmicrohttpd accepted: per address (the
 * port does not count) and in all; connections the guard killed do not count any more. */
static void test_limits(void **state)
{
    static const struct guard_limits l2 = { .max_conns = 4, .per_ip = 2, .reserve = 0,
                                            .handshake_s = 5, .header_s = 10, .body_s = 30,
                                            .idle_s = 7 };
    struct guard g;
    struct pair p[6];
    struct guard_conn *c[6];
    struct sockaddr_in a = addr4(0x7f000001, 1000), b = addr4(0x7f000001, 1001),
                       d = addr4(0x7f000002, 1000);
    uint64_t to, ev, rf;

    guard_init(&g, &l2);
    for (int i = 0; i < 6; i++)
        open_pair(&p[i]);
    assert_non_null(c[0] = guard_open(&g, p[0].near, (struct sockaddr *)&a, 1000));
    assert_non_null(c[1] = guard_open(&g, p[1].near, (struct sockaddr *)&b, 2000));
    assert_false(guard_admit(&g, (struct sockaddr *)&a)); /* at accept: no third from .1 */
    assert_null(guard_open(&g, p[2].near, (struct sockaddr *)&a, 2000)); /* nor at open */
    assert_true(guard_admit(&g, (struct sockaddr *)&d));
    assert_non_null(c[2] = guard_open(&g, p[2].near, (struct sockaddr *)&d, 2000));
    assert_non_null(c[3] = guard_open(&g, p[3].near, NULL, 2000)); /* unknown: not per address */
    assert_null(guard_open(&g, p[4].near, (struct sockaddr *)&d, 2000)); /* 4 live in all */
    guard_reap(&g, 6000); /* c[0]'s handshake deadline: killed, its owner not closed it yet */
    assert_int_equal(shut(&p[0]), 1);
    assert_non_null(c[4] = guard_open(&g, p[4].near, (struct sockaddr *)&a, 6000));
    assert_null(guard_open(&g, p[5].near, (struct sockaddr *)&b, 6000)); /* 2 live from .1 */
    guard_close(&g, c[0]);
    guard_close(&g, c[1]);
    assert_non_null(c[5] = guard_open(&g, p[5].near, (struct sockaddr *)&b, 6001));
    guard_counts(&g, &to, &ev, &rf);
    assert_int_equal(to, 1);
    assert_int_equal(ev, 0);
    assert_int_equal(rf, 4);
    assert_int_equal(g.open, 4);
    assert_int_equal(g.live, 4);
    guard_free(&g);
    for (int i = 0; i < 6; i++)
        close_pair(&p[i]);
}

#define THREADS 4
#define ROUNDS  2000

struct worker {
    struct guard *g;
    int fd;
    unsigned id;
};

/* One serving thread's calls: open, the phases of a request, close, and the reaper. */
static void *work(void *arg)
{
    struct worker *w = arg;
    struct sockaddr_in a = addr4(0x7f000001 + w->id % 2, 1000);

    for (unsigned i = 0; i < ROUNDS; i++) {
        uint64_t now = 1000 + i;
        struct guard_conn *c = guard_open(w->g, w->fd, (struct sockaddr *)&a, now);

        guard_phase(w->g, c, GUARD_HEAD, now);
        guard_phase(w->g, c, GUARD_BODY, now);
        guard_phase(w->g, c, GUARD_BUSY, now);
        guard_phase(w->g, c, GUARD_WAIT, now);
        guard_tick(w->g, now);
        guard_close(w->g, c);
    }
    return NULL;
}

/* Threads sharing one guard (make tsan runs this under ThreadSanitizer): every connection
 * is accounted for, whatever the interleaving. */
static void test_threads(void **state)
{
    static const struct guard_limits big = { .max_conns = 64, .per_ip = 64, .reserve = 8,
                                             .handshake_s = 5, .header_s = 10, .body_s = 30,
                                             .idle_s = 7 };
    struct guard g;
    struct pair p[THREADS];
    struct worker w[THREADS];
    pthread_t t[THREADS];
    uint64_t to, ev, rf;

    guard_init(&g, &big);
    for (unsigned i = 0; i < THREADS; i++) {
        open_pair(&p[i]);
        w[i] = (struct worker){ &g, p[i].near, i };
        assert_int_equal(pthread_create(&t[i], NULL, work, &w[i]), 0);
    }
    for (unsigned i = 0; i < THREADS; i++)
        assert_int_equal(pthread_join(t[i], NULL), 0);
    guard_counts(&g, &to, &ev, &rf);
    assert_int_equal(to + ev + rf, 0);
    assert_int_equal(g.open, 0);
    assert_int_equal(g.live, 0);
    assert_true(TAILQ_EMPTY(&g.conns));
    guard_free(&g);
    for (unsigned i = 0; i < THREADS; i++)
        close_pair(&p[i]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_deadlines),
        cmocka_unit_test(test_eviction),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_threads),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
