/* SPDX-License-Identifier: BSD-3-Clause */
/* Allow-list seccomp filters (libseccomp) for the daemons outside vtpm-mgr's workers. */
#ifndef VTPM_SCFILTER_H
#define VTPM_SCFILTER_H

#include <stddef.h>
#include <stdint.h>

enum {
    SCF_NO_EXEC_MEM = 1u << 0, /* mmap/mprotect allowed without PROT_EXEC only (EPERM else) */
    SCF_THREADS     = 1u << 1, /* clone only with CLONE_THREAD; clone3 ENOSYS (glibc falls
                                * back to clone), so no new process can be made */
    SCF_UNIX_ONLY   = 1u << 2, /* socket() only for AF_UNIX (EAFNOSUPPORT else) */
    SCF_OWN_SIGNALS = 1u << 3, /* kill/tgkill only to this process (pthread_cancel) */
    SCF_OPEN_RDONLY = 1u << 4, /* open/openat only without write, create, truncate, append */
    SCF_DAEMON_BASE = 1u << 5, /* the calls every attest-agent daemon process makes (fds,
                                * stat, socket I/O, memory, time, signals, identity reads,
                                * exit): its own list then holds only what it adds */
};

struct scf_policy {
    uint32_t default_action;   /* SCMP_ACT_KILL_PROCESS or SCMP_ACT_ERRNO(e) */
    const int *allow;          /* syscalls allowed without condition */
    size_t n_allow;
    const int *eacces;         /* syscalls answered EACCES (libraries probing files) */
    size_t n_eacces;
    unsigned flags;            /* SCF_* */
};

/* Sets PR_SET_NO_NEW_PRIVS and loads the filter for this thread and, as the process is
 * expected to have no other thread yet, for all it starts later. 0 or -errno (logged). */
int scf_install(const struct scf_policy *p);

#endif
