/* SPDX-License-Identifier: BSD-3-Clause */
/* Unit tests of what the agent service's concurrent lanes share: each thread's diagnostics
 * captured apart (lib/log), the vTPM pool taken from many threads, the re-attestation registry
 * added to while a step runs, and the network process carrying one call per channel at once
 * (a listener that holds connections sees them all open together; a process serving one
 * channel at a time never opens the second); a thread without a channel of its own is
 * refused. Waits are bounded; nothing is timed. */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "ctlproto.h"
#include "deadline.h"
#include "front.h"
#include "hook.h"
#include "http.h"
#include "log.h"
#include "netproxy.h"
#include "pool.h"
#include "reattest.h"
#include "verifierapi.h"

#define NTHREADS 8

/* ---- per-thread capture ----------------------------------------------------------------- */

static pthread_barrier_t g_bar;

static void *capture_thread(void *arg)
{
    int id = (int)(intptr_t)arg;
    char *buf, want[64];
    size_t len;
    int ok = 1;

    if (log_capture_begin(4096, 0) < 0) /* no cmocka asserts off the main thread */
        return (void *)0;
    pthread_barrier_wait(&g_bar);
    for (int i = 0; i < 20; i++) {
        log_diag("thread-%d line %d\n", id, i);
        LOG_WARN("thread-%d warn %d", id, i);
        sched_yield();
    }
    buf = log_capture_end(&len);
    if (!buf)
        return (void *)0;
    for (int t = 0; t < NTHREADS; t++) {
        snprintf(want, sizeof(want), "thread-%d ", t);
        if ((t == id) != (strstr(buf, want) != NULL))
            ok = 0; /* its own lines all there, no other thread's */
    }
    snprintf(want, sizeof(want), "thread-%d warn 19", id);
    ok = ok && strstr(buf, want) && strlen(buf) == len;
    free(buf);
    return (void *)(intptr_t)ok;
}

static void test_capture_per_thread(void **state)
{
    pthread_t t[NTHREADS];
    size_t len = 99;

    (void)state;
    pthread_barrier_init(&g_bar, NULL, NTHREADS);
    for (int i = 0; i < NTHREADS; i++)
        assert_int_equal(pthread_create(&t[i], NULL, capture_thread, (void *)(intptr_t)i), 0);
    for (int i = 0; i < NTHREADS; i++) {
        void *ok;
        pthread_join(t[i], &ok);
        assert_true(ok != NULL);
    }
    pthread_barrier_destroy(&g_bar);
    /* no capture: nothing kept */
    assert_null(log_capture_end(&len));
    assert_int_equal(len, 0);
}

static void test_capture_bounded(void **state)
{
    size_t len;
    char *b;

    (void)state;
    assert_int_equal(log_capture_begin(10, 0), 0);
    log_diag("0123456789abcdef\n");
    log_diag("more\n");
    b = log_capture_end(&len);
    assert_non_null(b);
    assert_int_equal(len, 10);
    assert_string_equal(b, "0123456789");
    free(b);
}

/* ---- the pool ----------------------------------------------------------------------------- */

static struct pool g_pool;
static char g_taken[NTHREADS][AGENT_MAX_POOL][MGR_UUID_LEN];
static int g_ntaken[NTHREADS];

static void *take_thread(void *arg)
{
    int id = (int)(intptr_t)arg;

    pthread_barrier_wait(&g_bar);
    while (pool_take(&g_pool, g_taken[id][g_ntaken[id]]) == 0)
        g_ntaken[id]++;
    return NULL;
}

static void test_pool_take_concurrent(void **state)
{
    static struct agent_opts o = { .pool = AGENT_MAX_POOL };
    pthread_t t[NTHREADS];
    int seen[AGENT_MAX_POOL] = { 0 }, total = 0;
    int hr = 0;

    (void)state;
    assert_int_equal(pool_init(&g_pool, &o, &hr), 0);
    for (int i = 0; i < AGENT_MAX_POOL; i++)
        snprintf(g_pool.uuid[i], MGR_UUID_LEN, "vtpm-%02d", i);
    g_pool.n = AGENT_MAX_POOL;
    assert_int_equal(pool_count(&g_pool), AGENT_MAX_POOL);
    memset(g_ntaken, 0, sizeof(g_ntaken));
    pthread_barrier_init(&g_bar, NULL, NTHREADS);
    for (int i = 0; i < NTHREADS; i++)
        assert_int_equal(pthread_create(&t[i], NULL, take_thread, (void *)(intptr_t)i), 0);
    for (int i = 0; i < NTHREADS; i++)
        pthread_join(t[i], NULL);
    pthread_barrier_destroy(&g_bar);
    /* every vTPM handed out exactly once */
    for (int i = 0; i < NTHREADS; i++) {
        for (int k = 0; k < g_ntaken[i]; k++) {
            int v = -1;
            assert_int_equal(sscanf(g_taken[i][k], "vtpm-%d", &v), 1);
            assert_true(v >= 0 && v < AGENT_MAX_POOL);
            seen[v]++;
            total++;
        }
    }
    assert_int_equal(total, AGENT_MAX_POOL);
    for (int i = 0; i < AGENT_MAX_POOL; i++)
        assert_int_equal(seen[i], 1);
    assert_int_equal(pool_count(&g_pool), 0);
    pool_fini(&g_pool);
}

/* ---- the re-attestation registry ---------------------------------------------------------- */

static struct reattest g_re;
static cbor_item_t *g_log;
static volatile int g_adding;

static void add(const char *id, long long pid)
{
    struct hook_attested a = { .container_id = id, .vtpm = "no-such-vtpm",
                               .registration = "reg", .pid = pid, .event_log = g_log };

    reattest_add(&g_re, &a);
}

static void *add_thread(void *arg)
{
    int id = (int)(intptr_t)arg;
    char name[32];

    for (int i = 0; i < 25; i++) {
        snprintf(name, sizeof(name), "live-%d-%d", id, i);
        add(name, (long long)getpid());
        if (i % 5 == 0)
            add(name, (long long)getpid()); /* the same id again: replaced in place */
    }
    return NULL;
}

/* Steps while requests add; every dead container is dropped, the live ones stay once each. */
static void test_reattest_concurrent(void **state)
{
    static struct agent_opts o = { .reattest_s = 3600, .run_dir = "/nonexistent-run-dir" };
    struct nodetab nodes;
    pthread_t t[NTHREADS];
    char name[32];
    int hr = 1, dead = 0;
    pid_t kid;

    (void)state;
    log_set_level(LOG_LVL_ERROR); /* a warning per failed step otherwise */
    o.host.off = 1;
    assert_int_equal(nodetab_init(&nodes), 0);
    reattest_init(&g_re, &o, &hr, &nodes);
    g_log = cbor_new_definite_array(0);
    /* containers whose process has ended: a child that started and was reaped */
    for (int i = 0; i < 12; i++) {
        if ((kid = fork()) == 0) {
            pause();
            _exit(0);
        }
        snprintf(name, sizeof(name), "dead-%d", i);
        add(name, (long long)kid);
        kill(kid, SIGKILL);
        waitpid(kid, NULL, 0);
        dead++;
    }
    for (int i = 0; i < NTHREADS; i++)
        assert_int_equal(pthread_create(&t[i], NULL, add_thread, (void *)(intptr_t)i), 0);
    /* rounds while the threads add */
    for (int round = 0; round < 3; round++) {
        g_re.next_round_ms = 0;
        for (int k = 0; k < 4000 && reattest_due_ms(&g_re) == 0; k++)
            reattest_step(&g_re);
        assert_int_not_equal(reattest_due_ms(&g_re), 0); /* the round ended */
    }
    for (int i = 0; i < NTHREADS; i++)
        pthread_join(t[i], NULL);
    g_re.next_round_ms = 0;
    for (int k = 0; k < 4000 && reattest_due_ms(&g_re) == 0; k++)
        reattest_step(&g_re);
    assert_int_equal(g_re.n, NTHREADS * 25);
    for (size_t i = 0; i < g_re.n; i++) {
        assert_true(!strncmp(g_re.ctrs[i].id, "live-", 5));
        assert_ptr_not_equal(g_re.ctrs[i].log, g_log); /* a copy of its own */
        for (size_t j = i + 1; j < g_re.n; j++)
            assert_string_not_equal(g_re.ctrs[i].id, g_re.ctrs[j].id);
    }
    assert_true(dead > 0);
    cbor_decref(&g_log);
    reattest_free(&g_re);
    nodetab_free(&nodes);
    log_set_level(LOG_LVL_INFO);
}

/* ---- the network process: calls on different channels at once ---------------------------- */

#define NCHAN 4

struct holder {
    int lfd;
    int max_open;            /* most connections held open at once */
};

/* Accepts connections and holds them (never answers) until NCHAN are open at once, or for
 * 15 s at most without a new one; then closes them all (the calls fail) and closes any later
 * one at once. */
static void *hold_thread(void *arg)
{
    struct holder *h = arg;
    int fds[64], n = 0, done = 0;

    while (!done) {
        struct pollfd p = { .fd = h->lfd, .events = POLLIN };
        int r = poll(&p, 1, 15000), fd;

        if (r <= 0)
            break; /* the bound ran out: a serial network process is stuck on the first */
        if ((fd = accept(h->lfd, NULL, NULL)) < 0)
            break;
        fds[n++] = fd;
        if (n > h->max_open)
            h->max_open = n;
        done = n == NCHAN || n == 64;
    }
    for (int i = 0; i < n; i++)
        close(fds[i]);
    return NULL;
}

struct caller {
    int chan, rc;
    pthread_barrier_t *bar;
};

static void *call_thread(void *arg)
{
    struct caller *c = arg;
    struct http_opts ho = { .base_url = "http://127.0.0.1:1" }; /* the child's URL is used */
    uint8_t *nonce = NULL;
    size_t n = 0;

    verifier_use_proxy(c->chan);
    pthread_barrier_wait(c->bar);
    ho.deadline = deadline_now_ms() + 30000;
    c->rc = verifier_nonce(&ho, &nonce, &n);
    free(nonce);
    return NULL;
}

static void *unproxied_thread(void *arg)
{
    struct http_opts ho = { .base_url = "http://127.0.0.1:1" };
    uint8_t *nonce = NULL;
    size_t n = 0;

    ho.deadline = deadline_now_ms() + 1000;
    *(int *)arg = verifier_nonce(&ho, &nonce, &n);
    free(nonce);
    return NULL;
}

static void test_netproxy_channels(void **state)
{
    static char url[64];
    static struct agent_opts o;
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t sl = sizeof(sa);
    struct holder h = { .lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0) };
    struct caller c[NCHAN];
    pthread_barrier_t bar;
    pthread_t ht, ct[NCHAN], ut;
    int chans[NCHAN], rc = 0, st;
    pid_t pid;

    (void)state;
    assert_true(h.lfd >= 0);
    assert_int_equal(bind(h.lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(listen(h.lfd, 64), 0);
    assert_int_equal(getsockname(h.lfd, (struct sockaddr *)&sa, &sl), 0);
    snprintf(url, sizeof(url), "http://127.0.0.1:%d", ntohs(sa.sin_port));
    o.verifier = url;
    assert_int_equal(http_global_init(), 0);
    assert_int_equal(netproxy_spawn(&o, 0, chans, &pid), -EINVAL);
    assert_int_equal(netproxy_spawn(&o, NCHAN, chans, &pid), 0);
    assert_int_equal(pthread_create(&ht, NULL, hold_thread, &h), 0);
    pthread_barrier_init(&bar, NULL, NCHAN);
    for (int i = 0; i < NCHAN; i++) {
        c[i] = (struct caller){ .chan = chans[i], .bar = &bar };
        assert_int_equal(pthread_create(&ct[i], NULL, call_thread, &c[i]), 0);
    }
    for (int i = 0; i < NCHAN; i++)
        pthread_join(ct[i], NULL);
    pthread_join(ht, NULL);
    pthread_barrier_destroy(&bar);
    /* all NCHAN calls were in flight at once; each failed (no answer), none broke the protocol */
    assert_int_equal(h.max_open, NCHAN);
    for (int i = 0; i < NCHAN; i++)
        assert_true(c[i].rc < 0);
    assert_int_equal(netproxy_failed(), 0);
    /* a thread of a proxied process without its own channel: refused, no HTTP here */
    assert_int_equal(pthread_create(&ut, NULL, unproxied_thread, &rc), 0);
    pthread_join(ut, NULL);
    assert_int_equal(rc, -ENOTCONN);
    for (int i = 0; i < NCHAN; i++)
        close(chans[i]);
    for (int i = 0; i < 100 && waitpid(pid, &st, WNOHANG) == 0; i++)
        usleep(50000);
    if (waitpid(pid, &st, WNOHANG) == 0) {
        kill(pid, SIGKILL);
        waitpid(pid, &st, 0);
        fail_msg("the network process did not end at the channels' EOF");
    }
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    close(h.lfd);
}

/* ---- the front: a burst of clients the parent does not take yet ------------------------- */

#define BURST 40

/* One well-formed hook request on a new connection to path; the client's socket. */
static int send_request(const char *path, int i)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    cbor_item_t *m = ctl_map_new(), *args = cbor_new_definite_array(1), *a;
    char state[64];
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
    snprintf(state, sizeof(state), "{\"id\":\"c%d\"}", i);
    a = cbor_build_string("--verifier=http://127.0.0.1:1");
    assert_true(fd >= 0 && m && args && a && cbor_array_push(args, a));
    cbor_decref(&a);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(ctl_put_uint(m, "v", HOOKFWD_VERSION), 0);
    assert_int_equal(ctl_put_str(m, "op", "hook"), 0);
    assert_int_equal(ctl_put_bytes(m, "state", (const uint8_t *)state, strlen(state)), 0);
    assert_int_equal(ctl_put_item(m, "args", args), 0);
    assert_int_equal(ctl_send(fd, m), 0);
    cbor_decref(&m);
    return fd;
}

/*
 * BURST clients at once while the parent takes none: the front forwards one, then waits for
 * the parent's credit; it stays up and every request arrives once the parent takes them.
 * (Without the credit the front sent sockets until more were in flight than its
 * RLIMIT_NOFILE, sendmsg failed and the front exited.) The pause before taking them only
 * gives a front that does not wait the time to fail; it is not a measured bound.
 */
static void test_front_burst(void **state)
{
    char dir[] = "/tmp/test-lanes.XXXXXX", path[108];
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    int lfd, chan, fds[BURST], st;
    pid_t pid;

    (void)state;
    if (geteuid() != 0)
        skip(); /* the front serves root peers only */
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/s", dir);
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
    lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_int_equal(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(listen(lfd, 64), 0);
    assert_true((chan = front_spawn(lfd, &pid)) >= 0);
    close(lfd);
    for (int i = 0; i < BURST; i++)
        fds[i] = send_request(path, i);
    usleep(1500 * 1000);
    assert_int_equal(waitpid(pid, &st, WNOHANG), 0); /* the front is still there */
    for (int i = 0; i < BURST; i++) {
        struct pollfd p = { .fd = chan, .events = POLLIN };
        struct front_req q;

        assert_int_equal(poll(&p, 1, 10000), 1);
        assert_int_equal(front_recv(chan, &q), 0);
        assert_int_equal(q.state_len, strlen("{\"id\":\"c\"}") + (i < 10 ? 1 : 2));
        front_req_free(&q);
        assert_int_equal(front_credit(chan), 0);
    }
    for (int i = 0; i < BURST; i++)
        close(fds[i]);
    kill(pid, SIGKILL);
    waitpid(pid, &st, 0);
    close(chan);
    unlink(path);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_capture_per_thread),
        cmocka_unit_test(test_capture_bounded),
        cmocka_unit_test(test_pool_take_concurrent),
        cmocka_unit_test(test_reattest_concurrent),
        cmocka_unit_test(test_netproxy_channels),
        cmocka_unit_test(test_front_burst),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
