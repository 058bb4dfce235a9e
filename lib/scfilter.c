/* SPDX-License-Identifier: BSD-3-Clause */
/* Allow-list seccomp filters: a default action for everything not listed, conditions on the
 * few calls that must be allowed only in a narrow form (memory, threads, sockets, signals). */
#include "scfilter.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <seccomp.h>

#include "log.h"

/* SCF_DAEMON_BASE: reads and writes on descriptors it holds, stat, sockets (socket() itself
 * narrowed by SCF_UNIX_ONLY where asked), memory and futexes (threads), time, signal handling,
 * identity reads, exit. */
static const int daemon_base[] = {
    /* descriptors and files */
    SCMP_SYS(close), SCMP_SYS(read), SCMP_SYS(pread64), SCMP_SYS(write), SCMP_SYS(readv),
    SCMP_SYS(writev), SCMP_SYS(lseek), SCMP_SYS(newfstatat), SCMP_SYS(fstat), SCMP_SYS(stat),
    SCMP_SYS(lstat), SCMP_SYS(statx), SCMP_SYS(getdents64), SCMP_SYS(readlink),
    SCMP_SYS(access), SCMP_SYS(faccessat), SCMP_SYS(faccessat2), SCMP_SYS(memfd_create),
    SCMP_SYS(dup), SCMP_SYS(dup2), SCMP_SYS(dup3), SCMP_SYS(fcntl), SCMP_SYS(pipe2),
    SCMP_SYS(eventfd2), SCMP_SYS(ioctl),
    /* sockets */
    SCMP_SYS(socket), SCMP_SYS(socketpair), SCMP_SYS(connect),
    SCMP_SYS(poll), SCMP_SYS(ppoll), SCMP_SYS(select), SCMP_SYS(pselect6),
    SCMP_SYS(sendto), SCMP_SYS(recvfrom), SCMP_SYS(sendmsg), SCMP_SYS(recvmsg),
    SCMP_SYS(setsockopt), SCMP_SYS(getsockopt), SCMP_SYS(getsockname), SCMP_SYS(getpeername),
    SCMP_SYS(shutdown),
    /* memory, threads, time, signals, identity reads, exit */
    SCMP_SYS(brk), SCMP_SYS(munmap), SCMP_SYS(mremap), SCMP_SYS(madvise), SCMP_SYS(futex),
    SCMP_SYS(set_robust_list), SCMP_SYS(rseq), SCMP_SYS(sigaltstack),
    SCMP_SYS(rt_sigaction), SCMP_SYS(rt_sigprocmask), SCMP_SYS(rt_sigreturn),
    SCMP_SYS(restart_syscall), SCMP_SYS(clock_gettime), SCMP_SYS(clock_getres),
    SCMP_SYS(gettimeofday), SCMP_SYS(nanosleep), SCMP_SYS(clock_nanosleep),
    SCMP_SYS(sched_yield), SCMP_SYS(sched_getaffinity), SCMP_SYS(getrandom),
    SCMP_SYS(getpid), SCMP_SYS(gettid), SCMP_SYS(getuid), SCMP_SYS(geteuid),
    SCMP_SYS(getgid), SCMP_SYS(getegid), SCMP_SYS(uname), SCMP_SYS(sysinfo),
    SCMP_SYS(prlimit64), SCMP_SYS(getrlimit), SCMP_SYS(exit), SCMP_SYS(exit_group),
};

static int add_list(scmp_filter_ctx ctx, uint32_t action, const int *sys, size_t n)
{
    int r = 0;

    for (size_t i = 0; i < n && r == 0; i++)
        r = seccomp_rule_add(ctx, action, sys[i], 0);
    return r;
}

/* Memory, but never executable memory: no code can be brought in after the filter. */
static int add_no_exec(scmp_filter_ctx ctx, uint32_t def)
{
    static const int mem[] = { SCMP_SYS(mmap), SCMP_SYS(mprotect) };
    int r = 0;

    for (size_t i = 0; i < 2 && r == 0; i++) {
        r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, mem[i], 1,
                             SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
        /* libseccomp refuses a rule with the default action: EPERM then comes from it. */
        if (r == 0 && def != SCMP_ACT_ERRNO(EPERM))
            r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), mem[i], 1,
                                 SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, PROT_EXEC));
    }
    return r;
}

static int add_threads(scmp_filter_ctx ctx)
{
    int r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(clone), 1,
                             SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_THREAD, CLONE_THREAD));

    if (r == 0)
        r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
    return r;
}

static int add_unix_only(scmp_filter_ctx ctx)
{
    int r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 1,
                             SCMP_A0(SCMP_CMP_EQ, AF_UNIX));

    if (r == 0)
        r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EAFNOSUPPORT), SCMP_SYS(socket), 1,
                             SCMP_A0(SCMP_CMP_NE, AF_UNIX));
    return r;
}

static int add_own_signals(scmp_filter_ctx ctx)
{
    scmp_datum_t self = (scmp_datum_t)getpid();
    int r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(tgkill), 1,
                             SCMP_A0(SCMP_CMP_EQ, self));

    if (r == 0)
        r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(kill), 1, SCMP_A0(SCMP_CMP_EQ, self));
    return r;
}

static int add_open_rdonly(scmp_filter_ctx ctx)
{
    const scmp_datum_t w = O_WRONLY | O_RDWR | O_CREAT | O_TRUNC | O_APPEND;
    int r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(openat), 1,
                             SCMP_A2(SCMP_CMP_MASKED_EQ, w, 0));

    if (r == 0)
        r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(open), 1,
                             SCMP_A1(SCMP_CMP_MASKED_EQ, w, 0));
    return r;
}

static int add_rules(scmp_filter_ctx ctx, const struct scf_policy *p)
{
    int r = add_list(ctx, SCMP_ACT_ALLOW, p->allow, p->n_allow);

    if (r == 0 && (p->flags & SCF_DAEMON_BASE))
        r = add_list(ctx, SCMP_ACT_ALLOW, daemon_base,
                     sizeof(daemon_base) / sizeof(daemon_base[0]));
    if (r == 0)
        r = add_list(ctx, SCMP_ACT_ERRNO(EACCES), p->eacces, p->n_eacces);
    if (r == 0 && (p->flags & SCF_NO_EXEC_MEM))
        r = add_no_exec(ctx, p->default_action);
    if (r == 0 && (p->flags & SCF_THREADS))
        r = add_threads(ctx);
    if (r == 0 && (p->flags & SCF_UNIX_ONLY))
        r = add_unix_only(ctx);
    if (r == 0 && (p->flags & SCF_OWN_SIGNALS))
        r = add_own_signals(ctx);
    if (r == 0 && (p->flags & SCF_OPEN_RDONLY))
        r = add_open_rdonly(ctx);
    return r;
}

int scf_install(const struct scf_policy *p)
{
    scmp_filter_ctx ctx;
    int r;

    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
        r = -errno;
        LOG_ERROR("seccomp: PR_SET_NO_NEW_PRIVS: %s", strerror(-r));
        return r;
    }
    if (!(ctx = seccomp_init(p->default_action)))
        return -ENOMEM;
    r = add_rules(ctx, p);
    if (r == 0)
        r = seccomp_load(ctx);
    seccomp_release(ctx);
    if (r < 0)
        LOG_ERROR("seccomp: %s", strerror(-r));
    return r;
}
