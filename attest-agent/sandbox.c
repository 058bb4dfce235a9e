/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Syscall allow-lists of `attest-agent serve`. The service runs as root (it reads container
 * bundles, talks to vtpm-mgr and extends vTPMs), so its list is the set of file, socket and
 * memory calls it makes, and the default answer is EPERM: a call outside the list fails the
 * request that made it (a container that must not start) instead of ending every later one.
 * Not in the list: exec, new processes, executable memory, mount, ptrace, module loading,
 * key rings, BPF, identity changes, chown, device nodes.
 */
#include "sandbox.h"

#include <dlfcn.h>
#include <errno.h>

#include <seccomp.h>

#include "log.h"
#include "scfilter.h"

static const int service_allowed[] = {
    /* files: bundles, rootfs walk, /proc, digest cache, bindings, TLS files */
    SCMP_SYS(openat), SCMP_SYS(open), SCMP_SYS(close), SCMP_SYS(read), SCMP_SYS(pread64),
    SCMP_SYS(write), SCMP_SYS(pwrite64), SCMP_SYS(readv), SCMP_SYS(writev), SCMP_SYS(lseek),
    SCMP_SYS(newfstatat), SCMP_SYS(fstat), SCMP_SYS(stat), SCMP_SYS(lstat), SCMP_SYS(statx),
    SCMP_SYS(statfs), SCMP_SYS(fstatfs), SCMP_SYS(getdents64), SCMP_SYS(readlink),
    SCMP_SYS(readlinkat), SCMP_SYS(access), SCMP_SYS(faccessat), SCMP_SYS(faccessat2),
    SCMP_SYS(mkdir), SCMP_SYS(mkdirat), SCMP_SYS(rename), SCMP_SYS(renameat),
    SCMP_SYS(renameat2), SCMP_SYS(unlink), SCMP_SYS(unlinkat), SCMP_SYS(flock),
    SCMP_SYS(fsync), SCMP_SYS(fdatasync), SCMP_SYS(ftruncate), SCMP_SYS(umask),
    SCMP_SYS(memfd_create), SCMP_SYS(dup), SCMP_SYS(dup2), SCMP_SYS(dup3), SCMP_SYS(fcntl),
    SCMP_SYS(pipe2), SCMP_SYS(getcwd),
    /* sockets: hook clients, vtpm-mgr, vTPMs, the verifier */
    SCMP_SYS(socket), SCMP_SYS(socketpair), SCMP_SYS(connect), SCMP_SYS(accept4),
    SCMP_SYS(poll), SCMP_SYS(ppoll), SCMP_SYS(select), SCMP_SYS(pselect6),
    SCMP_SYS(sendto), SCMP_SYS(recvfrom), SCMP_SYS(sendmsg), SCMP_SYS(recvmsg),
    SCMP_SYS(setsockopt), SCMP_SYS(getsockopt), SCMP_SYS(getsockname), SCMP_SYS(getpeername),
    SCMP_SYS(shutdown), SCMP_SYS(eventfd2), SCMP_SYS(ioctl),
    /* memory, threads (libcurl's resolver), time, signals, identity reads */
    SCMP_SYS(brk), SCMP_SYS(munmap), SCMP_SYS(mremap), SCMP_SYS(madvise), SCMP_SYS(futex),
    SCMP_SYS(set_robust_list), SCMP_SYS(rseq), SCMP_SYS(sigaltstack),
    SCMP_SYS(rt_sigaction), SCMP_SYS(rt_sigprocmask), SCMP_SYS(rt_sigreturn),
    SCMP_SYS(restart_syscall), SCMP_SYS(clock_gettime), SCMP_SYS(clock_getres),
    SCMP_SYS(gettimeofday), SCMP_SYS(nanosleep), SCMP_SYS(clock_nanosleep),
    SCMP_SYS(setitimer), SCMP_SYS(getitimer), SCMP_SYS(sched_yield),
    SCMP_SYS(sched_getaffinity), SCMP_SYS(getrandom), SCMP_SYS(getpid), SCMP_SYS(getppid),
    SCMP_SYS(gettid), SCMP_SYS(getuid), SCMP_SYS(geteuid), SCMP_SYS(getgid),
    SCMP_SYS(getegid), SCMP_SYS(uname), SCMP_SYS(sysinfo), SCMP_SYS(prlimit64),
    SCMP_SYS(getrlimit), SCMP_SYS(exit), SCMP_SYS(exit_group),
};

int sandbox_service(void)
{
    const struct scf_policy p = {
        .default_action = SCMP_ACT_ERRNO(EPERM),
        .allow = service_allowed,
        .n_allow = sizeof(service_allowed) / sizeof(service_allowed[0]),
        .flags = SCF_NO_EXEC_MEM | SCF_THREADS | SCF_OWN_SIGNALS | SCF_UNIX_ONLY,
    };

    /* Kept loaded: tctildr's dlopen() then finds it without mapping code. */
    if (!dlopen("libtss2-tcti-swtpm.so.0", RTLD_NOW | RTLD_NODELETE)) {
        LOG_ERROR("libtss2-tcti-swtpm.so.0: %s", dlerror());
        return -ENOENT;
    }
    if (!dlopen("libgcc_s.so.1", RTLD_NOW | RTLD_NODELETE)) /* pthread_exit, cancel */
        LOG_WARN("libgcc_s.so.1 not preloaded: %s", dlerror());
    return scf_install(&p);
}
