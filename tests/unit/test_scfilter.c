/* SPDX-License-Identifier: BSD-3-Clause */
/* Unit tests of the allow-list seccomp filters (lib/scfilter.c), each in a forked child: what
 * is not listed is killed or refused, executable memory, new processes, other address
 * families and signals to other processes are refused, listed calls work. */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include <seccomp.h>

#include "scfilter.h"

static const int base[] = {
    SCMP_SYS(write), SCMP_SYS(exit), SCMP_SYS(exit_group), SCMP_SYS(close), SCMP_SYS(brk),
    SCMP_SYS(munmap), SCMP_SYS(getpid), SCMP_SYS(rt_sigreturn), SCMP_SYS(rt_sigprocmask),
};

/* Ends the child with the raw system call: a sanitizer's _exit() interceptor (LeakSanitizer's
 * exit check) would make calls the filter under test refuses, and then never end. */
static void child_exit(int code)
{
    syscall(SYS_exit_group, code);
    for (;;)
        pause();
}

/* Runs check() in a child under policy p; returns its wait status. A child that has not
 * ended after 20 s is killed and the test fails (it must never hang). */
static int in_child(const struct scf_policy *p, int (*check)(void))
{
    pid_t pid = fork();
    int st = 0, waited = 0;
    pid_t r;

    assert_true(pid >= 0);
    if (pid == 0) {
        if (scf_install(p) < 0)
            child_exit(100);
        child_exit(check());
    }
    while ((r = waitpid(pid, &st, WNOHANG)) == 0 && waited++ < 2000)
        usleep(10000);
    if (r == 0) {
        kill(pid, SIGKILL);
        waitpid(pid, &st, 0);
        fail_msg("the filtered child did not end within 20 s");
    }
    assert_int_equal(r, pid);
    return st;
}

static int call_unlisted(void)
{
    return syscall(SYS_getppid) < 0 && errno == EPERM ? 0 : 1;
}

static void test_kill_default(void **state)
{
    struct scf_policy p = { .default_action = SCMP_ACT_KILL_PROCESS, .allow = base,
                            .n_allow = sizeof(base) / sizeof(base[0]) };
    int st;

    (void)state;
    st = in_child(&p, call_unlisted);
    assert_true(WIFSIGNALED(st));
    assert_int_equal(WTERMSIG(st), SIGSYS);
}

static void test_errno_default(void **state)
{
    struct scf_policy p = { .default_action = SCMP_ACT_ERRNO(EPERM), .allow = base,
                            .n_allow = sizeof(base) / sizeof(base[0]) };
    int st;

    (void)state;
    st = in_child(&p, call_unlisted);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
}

static int memory(void)
{
    void *rw = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    void *rx = mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

    if (rw == MAP_FAILED || rx != MAP_FAILED || errno != EPERM)
        return 1;
    return mprotect(rw, 4096, PROT_READ | PROT_EXEC) < 0 && errno == EPERM ? 0 : 2;
}

static int processes(void)
{
    /* fork() is clone without CLONE_THREAD; clone3 is answered ENOSYS. */
    if (syscall(SYS_clone, SIGCHLD, 0, 0, 0, 0) >= 0)
        return 1;
    if (syscall(SYS_clone3, NULL, 0) >= 0 || errno != ENOSYS)
        return 2;
    return 0;
}

static int sockets(void)
{
    int u = socket(AF_UNIX, SOCK_STREAM, 0);
    int in = socket(AF_INET, SOCK_STREAM, 0);

    if (u < 0)
        return 1;
    return in < 0 && errno == EAFNOSUPPORT ? 0 : 2;
}

static int signals(void)
{
    if (kill(getpid(), 0) < 0)
        return 1;
    return kill(1, 0) < 0 && errno == EPERM ? 0 : 2;
}

static void test_conditions(void **state)
{
    static const int extra[] = { SCMP_SYS(write), SCMP_SYS(exit), SCMP_SYS(exit_group),
                                 SCMP_SYS(close), SCMP_SYS(brk), SCMP_SYS(munmap),
                                 SCMP_SYS(getpid), SCMP_SYS(rt_sigreturn),
                                 SCMP_SYS(rt_sigprocmask) };
    struct scf_policy p = { .default_action = SCMP_ACT_ERRNO(EPERM), .allow = extra,
                            .n_allow = sizeof(extra) / sizeof(extra[0]),
                            .flags = SCF_NO_EXEC_MEM | SCF_THREADS | SCF_UNIX_ONLY |
                                     SCF_OWN_SIGNALS };
    int (*checks[])(void) = { memory, processes, sockets, signals };

    (void)state;
    for (size_t i = 0; i < sizeof(checks) / sizeof(checks[0]); i++) {
        int st = in_child(&p, checks[i]);
        assert_true(WIFEXITED(st));
        assert_int_equal(WEXITSTATUS(st), 0);
    }
    /* Under a kill default, executable memory and other address families are refused
     * (libraries cope with an error); a new process or a signal to another is killed. */
    p.default_action = SCMP_ACT_KILL_PROCESS;
    for (size_t i = 0; i < sizeof(checks) / sizeof(checks[0]); i++) {
        int st = in_child(&p, checks[i]);
        if (checks[i] == processes || checks[i] == signals) {
            assert_true(WIFSIGNALED(st));
            assert_int_equal(WTERMSIG(st), SIGSYS);
            continue;
        }
        assert_true(WIFEXITED(st));
        assert_int_equal(WEXITSTATUS(st), 0);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kill_default),
        cmocka_unit_test(test_errno_default),
        cmocka_unit_test(test_conditions),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
