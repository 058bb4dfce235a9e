/* SPDX-License-Identifier: BSD-3-Clause */
/* Unit tests of node mode's freshness record: the expiry taken from the verifier's answer, the
 * decision use / refresh / take a concurrent refresh's result, the service's table (one refresh
 * for many concurrent callers, waits bounded, drops by token) and the hooks' flock'd cache file
 * (one refresh for many processes, untrusted or foreign records ignored), and the answer's
 * node fields. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "noderec.h"
#include "verifierapi.h"

#define T0 1800000000 /* a verifier time */

/* ---- expiry ------------------------------------------------------------------------------ */

static void test_expiry(void **state)
{
    struct node_answer a = { .time = T0, .due = T0 + 305, .fresh_until = T0 + 304 };

    (void)state;
    /* fresh_until first, one second less, counted from the send time */
    assert_int_equal(noderec_expiry(&a, 1000, 0), 1000 + 303 * 1000);
    /* the earlier of fresh_until and due */
    a.fresh_until = T0 + 360;
    assert_int_equal(noderec_expiry(&a, 1000, 0), 1000 + 304 * 1000);
    /* no fresh_until (an older verifier): due */
    a.fresh_until = 0;
    assert_int_equal(noderec_expiry(&a, 5, 0), 5 + 304 * 1000);
    /* no due (re-attestation off at the verifier): fresh_until alone */
    a = (struct node_answer){ .time = T0, .fresh_until = T0 + 360 };
    assert_int_equal(noderec_expiry(&a, 0, 0), 359 * 1000);
    /* neither: nothing to rely on */
    a = (struct node_answer){ .time = T0 };
    assert_int_equal(noderec_expiry(&a, 1000, T0), 0);
    /* no time: the local wall clock stands in */
    a = (struct node_answer){ .fresh_until = T0 + 100 };
    assert_int_equal(noderec_expiry(&a, 0, T0 + 50), 49 * 1000);
    assert_int_equal(noderec_expiry(&a, 0, 0), 0);
    /* already over, or within the verifier's whole second */
    a = (struct node_answer){ .time = T0, .fresh_until = T0 + 1 };
    assert_int_equal(noderec_expiry(&a, 1000, 0), 0);
    a.fresh_until = T0 - 10;
    assert_int_equal(noderec_expiry(&a, 1000, 0), 0);
    /* an absurd window is bounded */
    a.fresh_until = T0 + 100LL * 365 * 86400;
    assert_int_equal(noderec_expiry(&a, 0, 0), (int64_t)NODEREC_MAX_S * 1000);
}

static void test_key(void **state)
{
    uint8_t a[DIGEST_LEN], b[DIGEST_LEN], c[DIGEST_LEN];
    char longurl[600];

    (void)state;
    assert_int_equal(noderec_key("ab", "c", a), 0);
    assert_int_equal(noderec_key("a", "bc", b), 0); /* the NUL keeps them apart */
    assert_int_equal(noderec_key("ab", "c", c), 0);
    assert_memory_not_equal(a, b, DIGEST_LEN);
    assert_memory_equal(a, c, DIGEST_LEN);
    memset(longurl, 'u', sizeof(longurl) - 1);
    longurl[sizeof(longurl) - 1] = '\0';
    assert_int_equal(noderec_key("n", longurl, a), -ENAMETOOLONG);
}

/* ---- decision ---------------------------------------------------------------------------- */

static void test_decide(void **state)
{
    struct noderec_state s = { .fresh_ms = 10000, .done_ns = 500, .rc = 0 };

    (void)state;
    assert_int_equal(noderec_decide(&s, 9999, 600), NODEREC_USE);       /* fresh enough */
    assert_int_equal(noderec_decide(&s, 10000, 600), NODEREC_REFRESH);   /* not beyond need */
    assert_int_equal(noderec_decide(&s, 20000, 400), NODEREC_USE);      /* ended while waiting */
    s.rc = -EACCES;                                                       /* a denied refresh */
    s.fresh_ms = 0;
    assert_int_equal(noderec_decide(&s, 0, 400), NODEREC_FAIL);          /* shared by waiters */
    assert_int_equal(noderec_decide(&s, 0, 499), NODEREC_FAIL);
    assert_int_equal(noderec_decide(&s, 0, 500), NODEREC_REFRESH);       /* not by later ones */
    assert_int_equal(noderec_decide(&s, 0, 501), NODEREC_REFRESH);
    memset(&s, 0, sizeof(s));                                            /* dropped / none */
    assert_int_equal(noderec_decide(&s, 0, 0), NODEREC_REFRESH);
    assert_int_equal(noderec_decide(&s, -1, 0), NODEREC_REFRESH);
}

/* ---- refresh doubles --------------------------------------------------------------------- */

struct fake {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int calls, rc, hold;        /* hold: a call waits until released */
    int64_t span_s;             /* answered fresh_until - time */
};

static void fake_init(struct fake *f, int rc, int64_t span_s)
{
    memset(f, 0, sizeof(*f));
    pthread_mutex_init(&f->mu, NULL);
    pthread_cond_init(&f->cv, NULL);
    f->rc = rc;
    f->span_s = span_s;
}

static void fake_release(struct fake *f)
{
    pthread_mutex_lock(&f->mu);
    f->hold = 0;
    pthread_cond_broadcast(&f->cv);
    pthread_mutex_unlock(&f->mu);
}

static int fake_refresh(void *arg, struct node_answer *a)
{
    struct fake *f = arg;
    int rc;

    pthread_mutex_lock(&f->mu);
    f->calls++;
    while (f->hold)
        pthread_cond_wait(&f->cv, &f->mu);
    rc = f->rc;
    pthread_mutex_unlock(&f->mu);
    if (rc == 0)
        *a = (struct node_answer){ .time = T0, .fresh_until = T0 + f->span_s,
                                   .due = T0 + f->span_s + 1 };
    return rc;
}

static int calls(struct fake *f)
{
    int n;

    pthread_mutex_lock(&f->mu);
    n = f->calls;
    pthread_mutex_unlock(&f->mu);
    return n;
}

/* ---- the service's table ----------------------------------------------------------------- */

static void test_table_sequential(void **state)
{
    struct nodetab t;
    struct fake f;
    struct noderec_use u;
    uint8_t k1[DIGEST_LEN], k2[DIGEST_LEN];
    int64_t now = noderec_now_ms(), far = now + 60000, tok;

    (void)state;
    fake_init(&f, 0, 300);
    assert_int_equal(nodetab_init(&t), 0);
    noderec_key("node-a", "http://v", k1);
    noderec_key("node-b", "http://v", k2);
    /* nothing recorded: a look alone is -ESTALE, a refresh happens once */
    assert_int_equal(nodetab_ensure(&t, k1, now, far, NULL, NULL, &u), -ESTALE);
    assert_int_equal(nodetab_ensure(&t, k1, now, far, fake_refresh, &f, &u), 0);
    assert_true(u.refreshed);
    assert_int_equal(calls(&f), 1);
    assert_true(u.fresh_ms > now + 290000 && u.fresh_ms <= noderec_now_ms() + 299000);
    tok = u.token;
    /* fresh: no host evidence, also for a look */
    assert_int_equal(nodetab_ensure(&t, k1, now + 1000, far, fake_refresh, &f, &u), 0);
    assert_false(u.refreshed);
    assert_int_equal(u.token, tok);
    assert_int_equal(nodetab_ensure(&t, k1, now + 1000, far, NULL, NULL, &u), 0);
    assert_int_equal(calls(&f), 1);
    /* needed beyond the record's end (the re-attestation's next round): refreshed */
    assert_int_equal(nodetab_ensure(&t, k1, now + 400000, far, fake_refresh, &f, &u), 0);
    assert_true(u.refreshed);
    assert_int_equal(calls(&f), 2);
    /* another node has its own record */
    assert_int_equal(nodetab_ensure(&t, k2, now, far, fake_refresh, &f, &u), 0);
    assert_int_equal(calls(&f), 3);
    /* a drop with an old token leaves the newer record; with its own token it goes */
    nodetab_drop(&t, k1, tok);
    assert_int_equal(nodetab_ensure(&t, k1, now, far, NULL, NULL, &u), 0);
    nodetab_drop(&t, k1, u.token);
    assert_int_equal(nodetab_ensure(&t, k1, now, far, NULL, NULL, &u), -ESTALE);
    assert_int_equal(nodetab_ensure(&t, k2, now, far, NULL, NULL, &u), 0); /* untouched */
    /* a denied refresh is not remembered as fresh: the next caller asks again */
    f.rc = -EACCES;
    assert_int_equal(nodetab_ensure(&t, k1, now, far, fake_refresh, &f, &u), -EACCES);
    assert_int_equal(nodetab_ensure(&t, k1, now, far, fake_refresh, &f, &u), -EACCES);
    assert_int_equal(calls(&f), 5);
    nodetab_free(&t);
}

static void test_table_slots(void **state)
{
    struct nodetab t;
    struct fake f;
    struct noderec_use u;
    uint8_t k[DIGEST_LEN];
    char name[32];
    int64_t now = noderec_now_ms(), far = now + 60000;

    (void)state;
    fake_init(&f, 0, 300);
    assert_int_equal(nodetab_init(&t), 0);
    /* more nodes than slots: the least recently used record is replaced */
    for (int i = 0; i <= NODEREC_SLOTS; i++) {
        snprintf(name, sizeof(name), "n%d", i);
        noderec_key(name, "http://v", k);
        assert_int_equal(nodetab_ensure(&t, k, now, far, fake_refresh, &f, &u), 0);
    }
    assert_int_equal(calls(&f), NODEREC_SLOTS + 1);
    noderec_key("n0", "http://v", k);
    assert_int_equal(nodetab_ensure(&t, k, now, far, NULL, NULL, &u), -ESTALE);
    snprintf(name, sizeof(name), "n%d", NODEREC_SLOTS);
    noderec_key(name, "http://v", k);
    assert_int_equal(nodetab_ensure(&t, k, now, far, NULL, NULL, &u), 0);
    nodetab_free(&t);
}

struct caller {
    struct nodetab *t;
    struct fake *f;
    const uint8_t *key;
    int64_t deadline;
    int rc;
    struct noderec_use u;
};

static void *call_ensure(void *arg)
{
    struct caller *c = arg;

    c->rc = nodetab_ensure(c->t, c->key, noderec_now_ms(), c->deadline, fake_refresh, c->f,
                           &c->u);
    return NULL;
}

/* Bounded wait until the table has a refresh in flight. */
static void wait_busy(struct nodetab *t)
{
    struct timespec ts = { 0, 2000000 };

    for (int i = 0; i < 5000; i++) {
        int busy = 0;
        pthread_mutex_lock(&t->mu);
        for (int j = 0; j < NODEREC_SLOTS; j++)
            busy |= t->s[j].busy;
        pthread_mutex_unlock(&t->mu);
        if (busy)
            return;
        nanosleep(&ts, NULL);
    }
    fail_msg("no refresh started");
}

/* Many starts at once: one refresh, every caller allowed with its record. */
static void test_table_concurrent(void **state)
{
    enum { N = 16 };
    struct caller c[N];
    pthread_t th[N];
    struct nodetab t;
    struct fake f;
    uint8_t k[DIGEST_LEN];
    int refreshed = 0;

    (void)state;
    fake_init(&f, 0, 300);
    f.hold = 1;
    assert_int_equal(nodetab_init(&t), 0);
    noderec_key("burst", "http://v", k);
    for (int i = 0; i < N; i++) {
        c[i] = (struct caller){ .t = &t, .f = &f, .key = k,
                                .deadline = noderec_now_ms() + 30000 };
        assert_int_equal(pthread_create(&th[i], NULL, call_ensure, &c[i]), 0);
        if (i == 0)
            wait_busy(&t); /* the others find a refresh in flight (or its fresh record) */
    }
    fake_release(&f);
    for (int i = 0; i < N; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(c[i].rc, 0);
        assert_int_equal(c[i].u.token, c[0].u.token);
        refreshed += c[i].u.refreshed;
    }
    assert_int_equal(calls(&f), 1);
    assert_int_equal(refreshed, 1);
    nodetab_free(&t);
}

/* A caller waiting for someone else's refresh gives up at its own deadline. */
static void test_table_wait_bounded(void **state)
{
    struct caller a;
    pthread_t th;
    struct nodetab t;
    struct fake f;
    struct noderec_use u;
    uint8_t k[DIGEST_LEN];

    (void)state;
    fake_init(&f, 0, 300);
    f.hold = 1;
    assert_int_equal(nodetab_init(&t), 0);
    noderec_key("slow", "http://v", k);
    a = (struct caller){ .t = &t, .f = &f, .key = k, .deadline = noderec_now_ms() + 30000 };
    assert_int_equal(pthread_create(&th, NULL, call_ensure, &a), 0);
    wait_busy(&t);
    assert_int_equal(nodetab_ensure(&t, k, noderec_now_ms(), noderec_now_ms() + 20,
                                     fake_refresh, &f, &u), -ETIMEDOUT);
    assert_false(u.refreshed);
    /* a drop while the refresh runs leaves it alone */
    nodetab_drop(&t, k, 0);
    fake_release(&f);
    pthread_join(th, NULL);
    assert_int_equal(a.rc, 0);
    assert_int_equal(calls(&f), 1);
    assert_int_equal(nodetab_ensure(&t, k, noderec_now_ms(), noderec_now_ms(), NULL, NULL, &u),
                     0);
    nodetab_free(&t);
}

/* ---- the hooks' cache file --------------------------------------------------------------- */

static char g_dir[64];

static int setup_dir(void **state)
{
    (void)state;
    snprintf(g_dir, sizeof(g_dir), "/tmp/noderec-test.XXXXXX");
    return mkdtemp(g_dir) ? 0 : -1;
}

static int teardown_dir(void **state)
{
    char cmd[128];

    (void)state;
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", g_dir);
    return system(cmd) == 0 ? 0 : -1;
}

static void record_path(const char *node, const char *url, char *out, size_t n)
{
    uint8_t k[DIGEST_LEN];
    char hex[2 * DIGEST_LEN + 1];

    assert_int_equal(noderec_key(node, url, k), 0);
    for (size_t i = 0; i < DIGEST_LEN; i++)
        snprintf(hex + 2 * i, 3, "%02x", k[i]);
    snprintf(out, n, "%s/node-%s", g_dir, hex);
}

static void test_file_basic(void **state)
{
    struct noderec_use u;
    struct fake f;
    struct stat st;
    char path[256];
    int64_t now = noderec_now_ms(), far = now + 60000, tok;

    (void)state;
    fake_init(&f, 0, 300);
    record_path("n1", "http://v", path, sizeof(path));
    assert_int_equal(nodefile_ensure(g_dir, "n1", "http://v", now, far, NULL, NULL, &u),
                     -ESTALE);
    assert_int_equal(nodefile_ensure(g_dir, "n1", "http://v", now, far, fake_refresh, &f, &u),
                     0);
    assert_true(u.refreshed);
    tok = u.token;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    /* the next hook finds it fresh: no host evidence */
    assert_int_equal(nodefile_ensure(g_dir, "n1", "http://v", now, far, fake_refresh, &f, &u),
                     0);
    assert_false(u.refreshed);
    assert_int_equal(u.token, tok);
    assert_int_equal(calls(&f), 1);
    /* another verifier, another node: their own records */
    assert_int_equal(nodefile_ensure(g_dir, "n1", "http://w", now, far, NULL, NULL, &u),
                     -ESTALE);
    assert_int_equal(nodefile_ensure(g_dir, "n2", "http://v", now, far, NULL, NULL, &u),
                     -ESTALE);
    /* dropped with an old token: stays; with its own: gone */
    nodefile_drop(g_dir, "n1", "http://v", tok - 1);
    assert_int_equal(stat(path, &st), 0);
    nodefile_drop(g_dir, "n1", "http://v", tok);
    assert_int_equal(stat(path, &st), -1);
    /* a denied refresh: recorded as such, never as fresh */
    f.rc = -EACCES;
    assert_int_equal(nodefile_ensure(g_dir, "n1", "http://v", now, far, fake_refresh, &f, &u),
                     -EACCES);
    assert_int_equal(nodefile_ensure(g_dir, "n1", "http://v", noderec_now_ms(), far, NULL, NULL,
                                     &u), -ESTALE);
}

static void write_file(const char *path, const char *text, mode_t mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);

    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    assert_int_equal(fchmod(fd, mode), 0);
    close(fd);
}

/* Records a hook must not believe: another boot's, a writable one, garbage, too large. */
static void test_file_untrusted(void **state)
{
    static const char *const bad[] = {
        "{\"v\":1,\"boot_id\":\"00000000-0000-0000-0000-000000000000\",\"node\":\"n3\","
        "\"verifier\":\"http://v\",\"fresh_ms\":9000000000000,\"done_ns\":1,\"rc\":0}",
        "not json",
        "{\"v\":2}",
    };
    struct noderec_use u;
    struct fake f;
    char path[256], big[NODEREC_FILE_MAX + 200], good[512];
    int64_t now = noderec_now_ms(), far = now + 60000;
    FILE *b;
    char boot[64] = "";

    (void)state;
    fake_init(&f, 0, 300);
    record_path("n3", "http://v", path, sizeof(path));
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        write_file(path, bad[i], 0600);
        assert_int_equal(nodefile_ensure(g_dir, "n3", "http://v", now, far, NULL, NULL, &u),
                         -ESTALE);
    }
    /* this boot's id and a fresh record, but group-writable: not believed */
    b = fopen("/proc/sys/kernel/random/boot_id", "r");
    assert_non_null(b);
    assert_non_null(fgets(boot, sizeof(boot), b));
    fclose(b);
    boot[36] = '\0';
    snprintf(good, sizeof(good), "{\"v\":1,\"boot_id\":\"%s\",\"node\":\"n3\",\"verifier\":"
             "\"http://v\",\"fresh_ms\":%lld,\"done_ns\":1,\"rc\":0}", boot,
             (long long)(now + 100000));
    write_file(path, good, 0620);
    assert_int_equal(nodefile_ensure(g_dir, "n3", "http://v", now, far, NULL, NULL, &u),
                     -ESTALE);
    write_file(path, good, 0600); /* the same, private: believed (the test's control) */
    assert_int_equal(nodefile_ensure(g_dir, "n3", "http://v", now, far, NULL, NULL, &u), 0);
    memset(big, ' ', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    memcpy(big, good, strlen(good));
    write_file(path, big, 0600);
    assert_int_equal(nodefile_ensure(g_dir, "n3", "http://v", now, far, NULL, NULL, &u),
                     -ESTALE);
    /* a directory open to others is not used: every call refreshes for itself */
    assert_int_equal(chmod(g_dir, 0755), 0);
    assert_int_equal(nodefile_ensure(g_dir, "n4", "http://v", now, far, fake_refresh, &f, &u), 0);
    assert_int_equal(nodefile_ensure(g_dir, "n4", "http://v", now, far, fake_refresh, &f, &u), 0);
    assert_int_equal(calls(&f), 2);
    assert_int_equal(chmod(g_dir, 0700), 0);
}

/* A refresh in a child: sleeps, counts itself in a file (O_APPEND). */
static const char *g_count;

static int slow_refresh(void *arg, struct node_answer *a)
{
    struct timespec ts = { 0, 200000000 };
    int fd = open(g_count, O_WRONLY | O_APPEND | O_CREAT, 0600);

    (void)arg;
    if (fd >= 0) {
        (void)!write(fd, "x", 1);
        close(fd);
    }
    nanosleep(&ts, NULL);
    *a = (struct node_answer){ .time = T0, .fresh_until = T0 + 300 };
    return 0;
}

/* Concurrent hooks (processes): one refresh under the lock, all of them allowed. */
static void test_file_concurrent(void **state)
{
    enum { N = 12 };
    char count[128];
    pid_t pid[N];
    struct stat st;

    (void)state;
    snprintf(count, sizeof(count), "%s/count", g_dir);
    g_count = count;
    for (int i = 0; i < N; i++) {
        pid[i] = fork();
        assert_true(pid[i] >= 0);
        if (pid[i] == 0) {
            struct noderec_use u;
            int64_t now = noderec_now_ms();
            int rc = nodefile_ensure(g_dir, "burst", "http://v", now, now + 20000,
                                     slow_refresh, NULL, &u);
            _exit(rc == 0 ? 0 : 1);
        }
    }
    for (int i = 0; i < N; i++) {
        int status = -1;
        assert_int_equal(waitpid(pid[i], &status, 0), pid[i]);
        assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
    assert_int_equal(stat(count, &st), 0);
    assert_int_equal(st.st_size, 1);
}

/* ---- the verifier's answer --------------------------------------------------------------- */

static void parse(const char *json, int allowed, struct verdict_info *vi)
{
    verdict_info_parse((const uint8_t *)json, strlen(json), allowed, vi);
}

static void test_answer(void **state)
{
    struct verdict_info vi;

    (void)state;
    parse("{\"verdict\":\"allow\",\"time\":1800000000,\"due\":1800000305,"
          "\"fresh_until\":1800000304}", 1, &vi);
    assert_int_equal(vi.node.time, 1800000000);
    assert_int_equal(vi.node.due, 1800000305);
    assert_int_equal(vi.node.fresh_until, 1800000304);
    assert_int_equal(vi.node_deny, 0);
    /* absent, negative, fractional, text, huge: 0 (nothing relied on) */
    parse("{\"verdict\":\"allow\",\"time\":-5,\"due\":1.5,\"fresh_until\":\"9\"}", 1, &vi);
    assert_int_equal(vi.node.time, 0);
    assert_int_equal(vi.node.due, 0);
    assert_int_equal(vi.node.fresh_until, 0);
    parse("{\"verdict\":\"allow\",\"fresh_until\":99999999999999999}", 1, &vi);
    assert_int_equal(vi.node.fresh_until, 0);
    parse("not json", 1, &vi);
    assert_int_equal(vi.node.fresh_until, 0);
    /* a deny: node-verdict-* among the reasons, nothing else counts */
    parse("{\"verdict\":\"deny\",\"reasons\":[\"rootfs-not-allowed\","
          "\"node-verdict-stale:node n attested 400 s ago\"]}", 0, &vi);
    assert_int_equal(vi.node_deny, 1);
    assert_int_equal(vi.node.time, 0);
    parse("{\"verdict\":\"deny\",\"reasons\":[\"node-denied:n\",\"host-node-mismatch\"]}", 0,
          &vi);
    assert_int_equal(vi.node_deny, 0);
    parse("{\"verdict\":\"deny\",\"reasons\":\"node-verdict-stale\"}", 0, &vi);
    assert_int_equal(vi.node_deny, 0);
    parse("{\"verdict\":\"deny\",\"reasons\":[3, null, \"node-verdict-missing\"]}", 0, &vi);
    assert_int_equal(vi.node_deny, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_expiry),
        cmocka_unit_test(test_key),
        cmocka_unit_test(test_decide),
        cmocka_unit_test(test_table_sequential),
        cmocka_unit_test(test_table_slots),
        cmocka_unit_test(test_table_concurrent),
        cmocka_unit_test(test_table_wait_bounded),
        cmocka_unit_test_setup_teardown(test_file_basic, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_file_untrusted, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_file_concurrent, setup_dir, teardown_dir),
        cmocka_unit_test(test_answer),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
