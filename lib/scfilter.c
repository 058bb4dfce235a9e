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
