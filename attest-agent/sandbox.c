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

/* Beyond SCF_DAEMON_BASE (lib/scfilter.c). */
static const int service_allowed[] = {
    /* files: bundles, rootfs walk, /proc, digest cache, bindings, TLS files */
    SCMP_SYS(openat), SCMP_SYS(open), SCMP_SYS(pwrite64), SCMP_SYS(statfs), SCMP_SYS(fstatfs),
    SCMP_SYS(readlinkat), SCMP_SYS(mkdir), SCMP_SYS(mkdirat), SCMP_SYS(rename),
    SCMP_SYS(renameat), SCMP_SYS(renameat2), SCMP_SYS(unlink), SCMP_SYS(unlinkat),
    SCMP_SYS(flock), SCMP_SYS(fsync), SCMP_SYS(fdatasync), SCMP_SYS(ftruncate), SCMP_SYS(umask),
    SCMP_SYS(getcwd),
    /* sockets: hook clients */
    SCMP_SYS(accept4),
    /* timers, the parent's pid */
    SCMP_SYS(setitimer), SCMP_SYS(getitimer), SCMP_SYS(getppid),
};

int sandbox_service(void)
{
    const struct scf_policy p = {
        .default_action = SCMP_ACT_ERRNO(EPERM),
        .allow = service_allowed,
        .n_allow = sizeof(service_allowed) / sizeof(service_allowed[0]),
        .flags = SCF_DAEMON_BASE | SCF_NO_EXEC_MEM | SCF_THREADS | SCF_OWN_SIGNALS |
                 SCF_UNIX_ONLY,
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
