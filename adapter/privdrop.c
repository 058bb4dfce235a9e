/* SPDX-License-Identifier: BSD-3-Clause */
/* Privileges vtpm-cuse gives up once /dev/cuse is open, and its syscall allow-list. */
#include "privdrop.h"

#include <errno.h>
#include <grp.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <cap-ng.h>
#include <dlfcn.h>
#include <seccomp.h>

#include "log.h"
#include "scfilter.h"

static int change_identity(uid_t uid, gid_t gid)
{
    if (setgroups(0, NULL) < 0 || setresgid(gid, gid, gid) < 0 || setresuid(uid, uid, uid) < 0)
        return -errno;
    if (getuid() != uid || geteuid() != uid || getgid() != gid || getegid() != gid)
        return -EPERM;
    return 0;
}

static int clear_caps(void)
{
    capng_clear(CAPNG_SELECT_BOTH);
    if (capng_apply(CAPNG_SELECT_CAPS) < 0)
        return -EPERM;
    capng_get_caps_process();
    if (capng_have_capabilities(CAPNG_SELECT_CAPS) != CAPNG_NONE)
        return -EPERM;
    return 0;
}

int privdrop_apply(bool change_id, uid_t uid, gid_t gid)
{
    int r = 0;

    /* Only possible while CAP_SETPCAP is held; a container may not grant it. */
    capng_clear(CAPNG_SELECT_BOTH);
    if (capng_apply(CAPNG_SELECT_BOUNDS) < 0)
        LOG_INFO("capability bounding set left as it is (no CAP_SETPCAP)");
    if (change_id)
        r = change_identity(uid, gid);
    if (r == 0)
        r = clear_caps();
    if (r == 0 && (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
                   prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0))
        r = -errno;
    if (r < 0)
        LOG_ERROR("cannot drop privileges: %s", strerror(-r));
    return r;
}

/* What the CUSE loop (libfuse's worker threads on /dev/cuse), the vTPM socket client and
 * logging use once set up: read/writev on /dev/cuse, one AF_UNIX connection per command. */
static const int cuse_allowed[] = {
    SCMP_SYS(read), SCMP_SYS(write), SCMP_SYS(readv), SCMP_SYS(writev), SCMP_SYS(close),
    SCMP_SYS(connect), SCMP_SYS(poll), SCMP_SYS(ppoll), SCMP_SYS(sendto), SCMP_SYS(recvfrom),
    SCMP_SYS(sendmsg), SCMP_SYS(recvmsg), SCMP_SYS(setsockopt), SCMP_SYS(getsockopt),
    SCMP_SYS(fcntl), SCMP_SYS(brk), SCMP_SYS(munmap), SCMP_SYS(mremap), SCMP_SYS(madvise),
    SCMP_SYS(futex), SCMP_SYS(set_robust_list), SCMP_SYS(rseq), SCMP_SYS(sigaltstack),
    SCMP_SYS(rt_sigprocmask), SCMP_SYS(rt_sigaction), SCMP_SYS(rt_sigreturn),
    SCMP_SYS(sched_yield), SCMP_SYS(sched_getaffinity), SCMP_SYS(getpid), SCMP_SYS(gettid),
    SCMP_SYS(clock_gettime), SCMP_SYS(gettimeofday), SCMP_SYS(nanosleep),
    SCMP_SYS(clock_nanosleep), SCMP_SYS(getrandom), SCMP_SYS(newfstatat), SCMP_SYS(fstat),
    SCMP_SYS(lseek), SCMP_SYS(restart_syscall), SCMP_SYS(exit), SCMP_SYS(exit_group),
};
/* Libraries probing files (locale, time zone) get a clean error, not a kill. */
static const int cuse_eacces[] = { SCMP_SYS(openat), SCMP_SYS(open) };

int privdrop_seccomp(void)
{
    const struct scf_policy p = {
        .default_action = SCMP_ACT_KILL_PROCESS,
        .allow = cuse_allowed, .n_allow = sizeof(cuse_allowed) / sizeof(cuse_allowed[0]),
        .eacces = cuse_eacces, .n_eacces = sizeof(cuse_eacces) / sizeof(cuse_eacces[0]),
        .flags = SCF_NO_EXEC_MEM | SCF_THREADS | SCF_UNIX_ONLY | SCF_OWN_SIGNALS,
    };

    /* glibc loads libgcc_s for pthread_cancel/pthread_exit (libfuse ends its threads so):
     * loaded now, it needs no open or executable mapping under the filter. */
    if (!dlopen("libgcc_s.so.1", RTLD_NOW | RTLD_NODELETE))
        LOG_WARN("libgcc_s.so.1 not preloaded: %s", dlerror());
    return scf_install(&p);
}
