/* SPDX-License-Identifier: BSD-3-Clause */
/* Worker confinement: unprivileged ids, no capabilities, rlimits, allow-list seccomp (default kill). */
#include "sandbox.h"

#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cap-ng.h>
#include <seccomp.h>

#include "log.h"

#define NOBODY      65534u
#define NOFILE_MAX  4096u

/* Reads a numeric id from the environment; def if unset, -EINVAL if malformed. */
static int env_id(const char *name, unsigned def, unsigned *out)
{
    const char *s = getenv(name);
    char *end = NULL;
    unsigned long v;

    *out = def;
    if (!s || !*s)
        return 0;
    errno = 0;
    v = strtoul(s, &end, 10);
    if (errno || *end || v >= UINT_MAX || v == 0) /* never "become" root */
        return -EINVAL;
    *out = (unsigned)v;
    return 0;
}

static int drop_identity(void)
{
    unsigned uid, gid;

    if (env_id("VTPM_WORKER_UID", NOBODY, &uid) < 0 || env_id("VTPM_WORKER_GID", NOBODY, &gid) < 0) {
        LOG_ERROR("sandbox: bad VTPM_WORKER_UID/GID");
        return -EINVAL;
    }
    /* The bounding set can only be cleared while we still hold CAP_SETPCAP. */
    capng_clear(CAPNG_SELECT_BOTH);
    if (capng_apply(CAPNG_SELECT_BOUNDS) < 0 || setgroups(0, NULL) < 0 ||
        setresgid(gid, gid, gid) < 0 || setresuid(uid, uid, uid) < 0) {
        LOG_ERROR("sandbox: cannot change identity: %s", strerror(errno));
        return -EPERM;
    }
    if (getuid() != uid || geteuid() != uid || getgid() != gid || getegid() != gid)
        return -EPERM;
    return 0;
}

static int drop_caps(void)
{
    capng_clear(CAPNG_SELECT_BOTH);
    if (capng_apply(CAPNG_SELECT_CAPS) < 0)
        return -EPERM;
    capng_get_caps_process();
    if (capng_have_capabilities(CAPNG_SELECT_CAPS) != CAPNG_NONE) {
        LOG_ERROR("sandbox: capabilities remain");
        return -EPERM;
    }
    return 0;
}

static int set_limits(void)
{
    struct rlimit zero = { 0, 0 }, nofile;

    if (getrlimit(RLIMIT_NOFILE, &nofile) < 0)
        return -errno;
    if (nofile.rlim_max > NOFILE_MAX)
        nofile.rlim_max = NOFILE_MAX;
    nofile.rlim_cur = nofile.rlim_max;
    /* No RLIMIT_FSIZE: the only file a worker has is the stderr it inherited (often the
     * daemon's log file, which must keep its lines); seccomp stops it opening any other. */
    if (setrlimit(RLIMIT_CORE, &zero) < 0 || setrlimit(RLIMIT_NPROC, &zero) < 0 ||
        setrlimit(RLIMIT_NOFILE, &nofile) < 0)
        return -errno;
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 || prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
        return -errno;
    return 0;
}

/* What the event loop, malloc, stdio logging, libtpms and OpenSSL use once warmed up. */
static const int allowed[] = {
    SCMP_SYS(read), SCMP_SYS(write), SCMP_SYS(readv), SCMP_SYS(writev), SCMP_SYS(close),
    SCMP_SYS(recvmsg), SCMP_SYS(sendmsg), SCMP_SYS(recvfrom), SCMP_SYS(sendto),
    SCMP_SYS(accept4), SCMP_SYS(getsockopt), SCMP_SYS(fcntl),
    SCMP_SYS(epoll_wait), SCMP_SYS(epoll_pwait), SCMP_SYS(epoll_ctl),
    SCMP_SYS(brk), SCMP_SYS(munmap), SCMP_SYS(mremap), SCMP_SYS(madvise),
    SCMP_SYS(clock_gettime), SCMP_SYS(gettimeofday), SCMP_SYS(getrandom), SCMP_SYS(futex),
    SCMP_SYS(getpid), SCMP_SYS(gettid), SCMP_SYS(newfstatat), SCMP_SYS(fstat), SCMP_SYS(lseek),
    SCMP_SYS(rt_sigreturn), SCMP_SYS(rt_sigprocmask), SCMP_SYS(restart_syscall),
    SCMP_SYS(exit), SCMP_SYS(exit_group),
#ifdef __SANITIZE_ADDRESS__
    SCMP_SYS(sigaltstack), /* ASan's exit path (test builds only) */
#endif
};

static int add_rules(scmp_filter_ctx ctx)
{
    size_t i;
    int r = 0;

    for (i = 0; i < sizeof(allowed) / sizeof(allowed[0]) && r == 0; i++)
        r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, allowed[i], 0);
    /* Memory, but never executable memory. */
    if (r == 0)
        r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mmap), 1,
                             SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
    if (r == 0)
        r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mprotect), 1,
                             SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
    /* Libraries probing files (OpenSSL config, locale) get a clean error, not a kill. */
    if (r == 0)
        r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EACCES), SCMP_SYS(openat), 0);
    if (r == 0)
        r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EACCES), SCMP_SYS(open), 0);
    return r;
}

static int install_seccomp(void)
{
    scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_KILL_PROCESS);
    int r;

    if (!ctx)
        return -ENOMEM;
    r = add_rules(ctx);
    if (r == 0)
        r = seccomp_load(ctx);
    seccomp_release(ctx);
    if (r < 0)
        LOG_ERROR("sandbox: seccomp: %s", strerror(-r));
    return r;
}

int wk_sandbox_enter(void)
{
    const char *off = getenv("VTPM_WORKER_NO_SANDBOX");
    int r = 0;

    if (off && !strcmp(off, "1")) {
        LOG_WARN("sandbox DISABLED (VTPM_WORKER_NO_SANDBOX=1): debugging only");
        return 0;
    }
    if (geteuid() == 0)
        r = drop_identity();
    if (r == 0)
        r = drop_caps();
    if (r == 0)
        r = set_limits();
    if (r == 0)
        r = install_seccomp();
    if (r < 0)
        LOG_ERROR("sandbox: cannot enter: %s", strerror(-r));
    return r;
}
