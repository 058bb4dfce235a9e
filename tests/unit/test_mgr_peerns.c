/* SPDX-License-Identifier: BSD-3-Clause */
/* Unit tests of vtpm-mgr's peer namespace reader (peerns.c): host vs another namespace, a
 * gone pid, a pid whose process started after the accept (reuse), namespace references. */
#include <errno.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "../../vtpm-mgr/daemon/peerns.h"

/* A child that sleeps, after unshare(flags) (0: none); its pid, or -1 if not permitted. */
static pid_t child_in(int flags)
{
    int p[2];
    char c = 0;
    pid_t pid;

    assert_int_equal(pipe(p), 0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(p[0]);
        c = flags && unshare(flags) != 0 ? 'n' : 'y';
        if (write(p[1], &c, 1) != 1)
            _exit(1);
        pause();
        _exit(0);
    }
    close(p[1]);
    assert_int_equal(read(p[0], &c, 1), 1);
    close(p[0]);
    if (c != 'y') {
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        return -1;
    }
    return pid;
}

static void reap(pid_t pid)
{
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
}

static void test_self_is_host(void **state)
{
    struct peerns_host h;
    struct peerns me;

    (void)state;
    assert_int_equal(peerns_self(&h), 0);
    assert_int_equal(peerns_read(getpid(), peerns_now(), &me), 0);
    assert_true(peerns_is_host(&h, &me));
    assert_true(peerns_same(&me, &h.self));
}

static void test_bad_pids(void **state)
{
    struct peerns ns;

    (void)state;
    assert_int_equal(peerns_read(0, 0, &ns), -ESRCH); /* SO_PEERCRED: not visible */
    assert_int_equal(peerns_read(-1, 0, &ns), -ESRCH);
    assert_int_equal(peerns_read(0x3fffffff, 0, &ns), -ESRCH);
}

/* A process that started after the connection was accepted cannot be the one that connected. */
static void test_started_after_accept(void **state)
{
    uint64_t accepted = peerns_now();
    struct peerns ns;
    pid_t pid;

    (void)state;
    usleep(30000); /* a few clock ticks */
    pid = child_in(0);
    assert_int_equal(peerns_read(pid, accepted, &ns), -ESTALE);
    assert_int_equal(peerns_read(pid, peerns_now(), &ns), 0);
    reap(pid);
}

static void test_other_namespaces(void **state)
{
    struct peerns_host h;
    struct peerns ns;
    pid_t pid = child_in(CLONE_NEWNS);

    (void)state;
    if (pid < 0)
        skip(); /* not root */
    assert_int_equal(peerns_self(&h), 0);
    assert_int_equal(peerns_read(pid, peerns_now(), &ns), 0);
    assert_false(peerns_is_host(&h, &ns)); /* same pid namespace, another mount namespace */
    assert_true(ns.pid.ino == h.self.pid.ino);
    reap(pid);
}

static void test_ref_pins_namespaces(void **state)
{
    struct peerns_ref r;
    struct peerns ns;
    pid_t pid = child_in(CLONE_NEWNS);

    (void)state;
    if (pid < 0)
        skip();
    peerns_ref_init(&r);
    assert_int_equal(peerns_ref_open(pid, &r), 0);
    assert_true(r.pid_fd >= 0 && r.mnt_fd >= 0);
    assert_int_equal(peerns_read(pid, 0, &ns), 0);
    assert_true(peerns_same(&ns, &r.ns));
    reap(pid);
    /* A failed open keeps what was held. */
    assert_int_equal(peerns_ref_open(pid, &r), -ESRCH);
    assert_true(r.pid_fd >= 0 && peerns_same(&ns, &r.ns));
    peerns_ref_close(&r);
    assert_int_equal(r.pid_fd, -1);
    assert_int_equal(r.mnt_fd, -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_self_is_host),
        cmocka_unit_test(test_bad_pids),
        cmocka_unit_test(test_started_after_accept),
        cmocka_unit_test(test_other_namespaces),
        cmocka_unit_test(test_ref_pins_namespaces),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
