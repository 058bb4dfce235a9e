/* SPDX-License-Identifier: BSD-3-Clause */
/* Unit tests of the parent's side of the typed messages of the service's children: the
 * front's request (front.c front_recv, descriptor passing in privsep.c) and the network
 * process's answer header (netproxy.c): good ones, and every malformed header, body and
 * descriptor count, each refused before anything is used. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include <seccomp.h>

#include "front.h"
#include "netproxy.h"
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

/* The network process's answer header against the call it answers. */
static void test_net_answers(void **state)
{
    struct net_rep ok_nonce = { .magic = NET_MAGIC, .a_len = 32, .msg_len = 10 };
    struct net_rep ok_chal = { .magic = NET_MAGIC, .id_len = 5, .a_len = 40, .b_len = 30 };
    struct net_rep ok_reg = { .magic = NET_MAGIC, .registered = 1 };
    struct net_rep ok_deny = { .magic = NET_MAGIC, .rc = -EACCES, .msg_len = 200 };
    struct net_rep ok_node_deny = { .magic = NET_MAGIC, .rc = -EACCES, .node_deny = 1 };
    struct net_rep ok_host = { .magic = NET_MAGIC, .node_time = 1700000000,
                               .node_due = 1700000305, .node_fresh_until = 1700000360 };
    struct net_rep h;

    (void)state;
    assert_int_equal(netproxy_rep_check(&ok_nonce, NET_NONCE), 0);
    assert_int_equal(netproxy_rep_check(&ok_chal, NET_REGISTER_AK), 0);
    assert_int_equal(netproxy_rep_check(&ok_reg, NET_REGISTER_HOST), 0);
    assert_int_equal(netproxy_rep_check(&ok_deny, NET_EVIDENCE), 0);
    h = ok_nonce; h.magic++;                       /* magic */
    assert_int_equal(netproxy_rep_check(&h, NET_NONCE), -EBADMSG);
    h = ok_nonce; h.a_len = 8;                     /* nonce too short */
    assert_int_equal(netproxy_rep_check(&h, NET_NONCE), -EBADMSG);
    h = ok_nonce; h.a_len = 65;                    /* nonce too long */
    assert_int_equal(netproxy_rep_check(&h, NET_NONCE), -EBADMSG);
    h = ok_nonce; h.rc = 1;                        /* positive status */
    assert_int_equal(netproxy_rep_check(&h, NET_NONCE), -EBADMSG);
    h = ok_deny; h.rc = -5000;                     /* not an errno */
    assert_int_equal(netproxy_rep_check(&h, NET_EVIDENCE), -EBADMSG);
    h = ok_deny; h.msg_len = NET_MSG_MAX + 1;      /* diagnostics too long */
    assert_int_equal(netproxy_rep_check(&h, NET_EVIDENCE), -EBADMSG);
    h = ok_deny; h.a_len = 1;                      /* data with an error */
    assert_int_equal(netproxy_rep_check(&h, NET_EVIDENCE), -EBADMSG);
    h = ok_deny; h.rc = 0; h.registered = 1;       /* a verdict call says registered */
    assert_int_equal(netproxy_rep_check(&h, NET_ACTIVATE), -EBADMSG);
    h = ok_chal; h.id_len = REG_ID_MAX;            /* id too long */
    assert_int_equal(netproxy_rep_check(&h, NET_REGISTER_AK), -EBADMSG);
    h = ok_chal; h.b_len = 0;                      /* challenge without secret */
    assert_int_equal(netproxy_rep_check(&h, NET_REGISTER_AK), -EBADMSG);
    h = ok_chal; h.a_len = NET_BLOB_MAX + 1;       /* blob too long */
    assert_int_equal(netproxy_rep_check(&h, NET_REGISTER_AK), -EBADMSG);
    h = ok_reg; h.id_len = 3;                      /* registered with a challenge */
    assert_int_equal(netproxy_rep_check(&h, NET_REGISTER_HOST), -EBADMSG);
    h = ok_reg; h.registered = 2;
    assert_int_equal(netproxy_rep_check(&h, NET_REGISTER_HOST), -EBADMSG);

    /* node mode: a node-verdict deny only on denied container evidence, the node's times
     * only on allowed host-only evidence, each in range */
    assert_int_equal(netproxy_rep_check(&ok_node_deny, NET_EVIDENCE), 0);
    assert_int_equal(netproxy_rep_check(&ok_host, NET_HOST_EVIDENCE), 0);
    assert_int_equal(netproxy_rep_check(&ok_node_deny, NET_HOST_EVIDENCE), -EBADMSG);
    assert_int_equal(netproxy_rep_check(&ok_node_deny, NET_ACTIVATE), -EBADMSG);
    h = ok_node_deny; h.rc = 0;                    /* an allow that says node deny */
    assert_int_equal(netproxy_rep_check(&h, NET_EVIDENCE), -EBADMSG);
    h = ok_node_deny; h.node_deny = 2;
    assert_int_equal(netproxy_rep_check(&h, NET_EVIDENCE), -EBADMSG);
    h = ok_node_deny; h.mf_missing = 2;
    assert_int_equal(netproxy_rep_check(&h, NET_EVIDENCE), -EBADMSG);
    h = ok_node_deny; h.mf_missing = 1;            /* a deny naming the missing manifest */
    assert_int_equal(netproxy_rep_check(&h, NET_EVIDENCE), 0);
    h = ok_host; h.mf_missing = 1;                 /* only on denied container evidence */
    assert_int_equal(netproxy_rep_check(&h, NET_HOST_EVIDENCE), -EBADMSG);
    /* the manifest store: uploaded only with success, nothing else in the answer */
    h = (struct net_rep){ .magic = NET_MAGIC, .registered = 1 };
    assert_int_equal(netproxy_rep_check(&h, NET_MANIFEST), 0);
    h.rc = -ENOTSUP;
    assert_int_equal(netproxy_rep_check(&h, NET_MANIFEST), -EBADMSG);
    h.registered = 0;
    assert_int_equal(netproxy_rep_check(&h, NET_MANIFEST), 0);
    h.a_len = 16;
    assert_int_equal(netproxy_rep_check(&h, NET_MANIFEST), -EBADMSG);
    assert_int_equal(netproxy_rep_check(&ok_host, NET_EVIDENCE), -EBADMSG); /* times, ctr */
    h = ok_host; h.rc = -EACCES;                   /* times with a deny */
    assert_int_equal(netproxy_rep_check(&h, NET_HOST_EVIDENCE), -EBADMSG);
    h = ok_host; h.node_fresh_until = -1;
    assert_int_equal(netproxy_rep_check(&h, NET_HOST_EVIDENCE), -EBADMSG);
    h = ok_host; h.node_due = NET_TIME_MAX + 1;
    assert_int_equal(netproxy_rep_check(&h, NET_HOST_EVIDENCE), -EBADMSG);
    h = ok_host; h.node_time = INT64_MIN;
    assert_int_equal(netproxy_rep_check(&h, NET_HOST_EVIDENCE), -EBADMSG);
    h = ok_host; h.node_due = 0; h.node_fresh_until = 0; /* an old verifier: time only */
    assert_int_equal(netproxy_rep_check(&h, NET_HOST_EVIDENCE), 0);
}

/* A child that says it runs and then never ends by itself (EOF on its channel included). */
static int idle_main(void *arg, int chan, int keep)
{
    (void)arg;
    (void)keep;
    if (write(chan, "r", 1) != 1)
        return 1;
    for (;;)
        pause();
}

/* The intermediate "service": spawns the child, waits until it runs, reports its pid, dies. */
static void die_after_spawn(int report)
{
    static const struct scf_policy pol = { .default_action = SCMP_ACT_ALLOW };
    pid_t child = -1;
    char c;
    int chan = privsep_spawn("test-child", &pol, 16, -1, idle_main, NULL, &child);

    if (chan < 0 || read(chan, &c, 1) != 1)
        _exit(2);
    if (write(report, &child, sizeof(child)) != (ssize_t)sizeof(child))
        _exit(3);
    _exit(0); /* the child's channel stays open in nobody else: only the death signal ends it */
}

/* A sandboxed child ends with its parent (PR_SET_PDEATHSIG), e.g. after a kill -9 of the
 * service, instead of living on as an orphan holding the TLS key or the listening socket. */
static void test_child_dies_with_parent(void **state)
{
    struct timespec nap = { 0, 10000000 };
    int p[2], status = 0, i;
    pid_t mid, child = -1, r = 0;

    (void)state;
    assert_int_equal(prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0), 0); /* orphans come to us */
    assert_int_equal(pipe(p), 0);
    mid = fork();
    assert_true(mid >= 0);
    if (mid == 0) {
        close(p[0]);
        die_after_spawn(p[1]);
    }
    close(p[1]);
    assert_int_equal(read(p[0], &child, sizeof(child)), (ssize_t)sizeof(child));
    close(p[0]);
    assert_int_equal(waitpid(mid, &status, 0), mid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    for (i = 0; i < 1000 && (r = waitpid(child, &status, WNOHANG)) == 0; i++)
        nanosleep(&nap, NULL);
    if (r == 0) {
        kill(child, SIGKILL);
        waitpid(child, &status, 0);
        fail_msg("the child outlived its parent by 10 s");
    }
    assert_int_equal(r, child);
    assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    assert_int_equal(prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good),
        cmocka_unit_test(test_bad),
        cmocka_unit_test(test_net_answers),
        cmocka_unit_test(test_child_dies_with_parent),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
