/* SPDX-License-Identifier: BSD-3-Clause */
/* Unit tests of the parent's side of the front's typed message (front.c front_recv) and of
 * descriptor passing (privsep.c): a good request, and every malformed header, body and
 * descriptor count, each refused before anything is used. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>

#include "front.h"
#include "privsep.h"

/* Sends hdr with n_fds descriptors (0-2) and body on a fresh pair; returns front_recv(). */
static int roundtrip(const struct front_msg *h, const void *body, size_t len, int n_fds,
                     struct front_req *q)
{
    int sv[2], x[2], r;

    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, x), 0);
    if (n_fds == 1) {
        assert_int_equal(privsep_send_fd(sv[1], h, sizeof(*h), x[0]), 0);
    } else if (n_fds == 0) {
        assert_int_equal(write(sv[1], h, sizeof(*h)), (ssize_t)sizeof(*h));
    } else {
        union { struct cmsghdr c; char b[CMSG_SPACE(2 * sizeof(int))]; } u;
        struct iovec iov = { .iov_base = (void *)h, .iov_len = sizeof(*h) };
        struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.b,
                            .msg_controllen = sizeof(u.b) };
        struct cmsghdr *c = CMSG_FIRSTHDR(&m);
        memset(&u, 0, sizeof(u));
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(2 * sizeof(int));
        memcpy(CMSG_DATA(c), x, 2 * sizeof(int));
        assert_int_equal(sendmsg(sv[1], &m, 0), (ssize_t)sizeof(*h));
    }
    if (len)
        assert_int_equal(write(sv[1], body, len), (ssize_t)len);
    close(sv[1]);
    close(x[0]);
    close(x[1]);
    r = front_recv(sv[0], q);
    close(sv[0]);
    return r;
}

static void test_good(void **state)
{
    static const char body[] = "--verifier\0http://x\0{\"id\":\"c\"}";
    struct front_msg h = { FRONT_MAGIC, 2, 20, 10 };
    struct front_req q;

    (void)state;
    assert_int_equal(roundtrip(&h, body, 30, 1, &q), 0);
    assert_int_equal(q.argc, 4);
    assert_string_equal(q.argv[1], "hook");
    assert_string_equal(q.argv[2], "--verifier");
    assert_string_equal(q.argv[3], "http://x");
    assert_int_equal(q.state_len, 10);
    assert_memory_equal(q.state, "{\"id\":\"c\"}", 10);
    assert_true(q.client >= 0);
    front_req_free(&q);
}

static void test_bad(void **state)
{
    static const char body[] = "--verifier\0http://x\0{\"id\":\"c\"}";
    static const char nonul[] = "--verifier\0http://x";
    struct front_req q;
    struct front_msg h;

    (void)state;
    h = (struct front_msg){ FRONT_MAGIC + 1, 2, 20, 10 };            /* magic */
    assert_int_equal(roundtrip(&h, body, 30, 1, &q), -EBADMSG);
    h = (struct front_msg){ FRONT_MAGIC, HOOKFWD_MAX_ARGS + 1, 20, 10 }; /* too many args */
    assert_int_equal(roundtrip(&h, body, 30, 1, &q), -EBADMSG);
    h = (struct front_msg){ FRONT_MAGIC, 2, 20, HOOKFWD_STATE_MAX + 1 }; /* state too big */
    assert_int_equal(roundtrip(&h, body, 30, 1, &q), -EBADMSG);
    h = (struct front_msg){ FRONT_MAGIC, 2, FRONT_ARGS_MAX + 1, 0 };   /* args too big */
    assert_int_equal(roundtrip(&h, body, 30, 1, &q), -EBADMSG);
    h = (struct front_msg){ FRONT_MAGIC, 3, 20, 10 };                /* fewer strings */
    assert_int_equal(roundtrip(&h, body, 30, 1, &q), -EBADMSG);
    h = (struct front_msg){ FRONT_MAGIC, 1, 20, 10 };                /* bytes left over */
    assert_int_equal(roundtrip(&h, body, 30, 1, &q), -EBADMSG);
    h = (struct front_msg){ FRONT_MAGIC, 2, 19, 0 };                 /* no final NUL */
    assert_int_equal(roundtrip(&h, nonul, 19, 1, &q), -EBADMSG);
    h = (struct front_msg){ FRONT_MAGIC, 2, 20, 10 };      /* body cut short: front gone */
    assert_int_equal(roundtrip(&h, body, 25, 1, &q), -EPIPE);
    assert_int_equal(roundtrip(&h, body, 30, 0, &q), -EBADMSG);     /* no descriptor */
    assert_int_equal(roundtrip(&h, body, 30, 2, &q), -EBADMSG);     /* two descriptors */
    assert_int_equal(q.client, -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good),
        cmocka_unit_test(test_bad),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
