/* SPDX-License-Identifier: BSD-3-Clause */
/* Unit tests of the verifier's connection guard (verifier/http/connguard.c): phase deadlines and
 * eviction of the longest-waiting connection, on socket pairs whose far end sees the shutdown. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
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
        assert_non_null(c[i] = guard_open(&g, p[i].near, 1000));
    }
    guard_phase(c[1], GUARD_HEAD, 2000); /* request line at 2 s: headers due at 12 s */
    guard_phase(c[2], GUARD_HEAD, 2000);
    guard_phase(c[2], GUARD_BUSY, 2100); /* being answered: no deadline */
    guard_phase(c[3], GUARD_HEAD, 1500);
    guard_phase(c[3], GUARD_BUSY, 1600);
    guard_phase(c[3], GUARD_WAIT, 1700); /* answered, kept alive: idle until 8.7 s */
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
    assert_null(g.head);
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
        assert_non_null(c[i] = guard_open(&g, p[i].near, 1000 + (uint64_t)i));
    }
    guard_phase(c[0], GUARD_HEAD, 1005); /* c[0]'s clock restarts: now c[1] waited longest */
    guard_phase(c[2], GUARD_BUSY, 1006);
    open_pair(&p[4]);
    assert_non_null(c[4] = guard_open(&g, p[4].near, 1010));
    assert_int_equal(shut(&p[1]), 1);
    assert_int_equal(shut(&p[0]) + shut(&p[2]) + shut(&p[3]) + shut(&p[4]), 0);
    assert_int_equal(g.evictions, 1);
    assert_int_equal(g.live, 4);
    open_pair(&p[5]);
    assert_non_null(c[5] = guard_open(&g, p[5].near, 1020));
    assert_int_equal(shut(&p[3]), 1); /* c[2] is busy, c[0] restarted at 1005 > 1003 */
    assert_int_equal(shut(&p[0]) + shut(&p[2]), 0);
    guard_free(&g);
    for (int i = 0; i < NCONN; i++)
        close_pair(&p[i]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_deadlines),
        cmocka_unit_test(test_eviction),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
