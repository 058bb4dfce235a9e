/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Privilege separation of the agent service, as vtpm-mgr does with its workers: the parent
 * keeps root for what needs it (bundles and rootfs, /proc, vtpm-mgr, the vTPMs, the
 * bindings) and forks children for what reads untrusted input; a child gives up its
 * identity, capabilities and every descriptor but its channel before it reads anything.
 */
#include "privsep.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cap-ng.h>

#include "log.h"

static unsigned env_id(const char *name)
{
    const char *s = getenv(name);
    char *end = NULL;
    unsigned long v;

    if (!s || !*s)
        return PRIVSEP_NOBODY;
    errno = 0;
    v = strtoul(s, &end, 10);
    return errno || *end || v == 0 || v >= UINT_MAX ? PRIVSEP_NOBODY : (unsigned)v;
}

/* The channel to fd 3, keep to fd 4, everything else above closed. */
static int arrange_fds(int chan, int keep)
{
    int c = fcntl(chan, F_DUPFD, 10), k = keep >= 0 ? fcntl(keep, F_DUPFD, 10) : -1;

    if (c < 0 || (keep >= 0 && k < 0) || dup2(c, 3) != 3 || (k >= 0 && dup2(k, 4) != 4))
        return -EBADF;
    if (close_range(k >= 0 ? 5 : 4, ~0u, 0) < 0)
        return -errno;
    return 0;
}

static int drop_identity(void)
{
    unsigned uid = env_id("VTPM_AGENT_SANDBOX_UID"), gid = env_id("VTPM_AGENT_SANDBOX_GID");

    capng_clear(CAPNG_SELECT_BOTH);
    if (capng_apply(CAPNG_SELECT_BOUNDS) < 0)
        LOG_WARN("sandbox: capability bounding set not cleared (no CAP_SETPCAP)");
    if (geteuid() == 0 && (setgroups(0, NULL) < 0 || setresgid(gid, gid, gid) < 0 ||
                           setresuid(uid, uid, uid) < 0))
        return -errno;
    if (geteuid() == 0 || getuid() == 0)
        return -EPERM;
    capng_clear(CAPNG_SELECT_BOTH);
    if (capng_apply(CAPNG_SELECT_CAPS) < 0)
        return -EPERM;
    capng_get_caps_process();
    return capng_have_capabilities(CAPNG_SELECT_CAPS) == CAPNG_NONE ? 0 : -EPERM;
}

static int limits(unsigned nofile)
{
    struct rlimit zero = { 0, 0 }, nf = { nofile, nofile };

    if (setrlimit(RLIMIT_CORE, &zero) < 0 || setrlimit(RLIMIT_NOFILE, &nf) < 0 ||
        prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
        return -errno;
    return 0;
}

/* The kernel clears the parent-death signal when the euid or egid changes (prctl(2)): set it
 * again after drop_identity(), then look whether the parent already went meanwhile. */
static int die_with(pid_t parent)
{
    if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0)
        return -errno;
    return getppid() == parent ? 0 : -ESRCH;
}

static void child(const char *ident, const struct scf_policy *policy, unsigned nofile,
                  int chan, int keep, pid_t parent, int (*main)(void *, int, int), void *arg)
{
    int r;

    log_set_ident(ident);
    if (die_with(parent) < 0)
        _exit(1);
    signal(SIGPIPE, SIG_IGN);
    signal(SIGTERM, SIG_DFL);
    signal(SIGINT, SIG_IGN); /* the parent stops; the channel's EOF ends the child */
    if ((r = arrange_fds(chan, keep)) == 0 && (r = drop_identity()) == 0 &&
        (r = die_with(parent)) == 0 && (r = limits(nofile)) == 0)
        r = scf_install(policy);
    if (r < 0) {
        LOG_ERROR("sandbox: %s", strerror(-r));
        _exit(1);
    }
    _exit(main(arg, 3, keep >= 0 ? 4 : -1));
}

int privsep_spawn(const char *ident, const struct scf_policy *policy, unsigned nofile, int keep,
                  int (*main)(void *arg, int chan, int keep), void *arg, pid_t *pid)
{
    pid_t parent = getpid();
    int sv[2];

    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
        return -errno;
    fflush(NULL);
    *pid = fork();
    if (*pid < 0) {
        int e = -errno;
        close(sv[0]);
        close(sv[1]);
        return e;
    }
    if (*pid == 0) {
        close(sv[0]);
        child(ident, policy, nofile, sv[1], keep, parent, main, arg);
    }
    close(sv[1]);
    return sv[0];
}

int privsep_write_all(int fd, const void *buf, size_t len)
{
    const uint8_t *p = buf;

    while (len > 0) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return n < 0 ? -errno : -EPIPE;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

int privsep_read_all(int fd, void *buf, size_t len)
{
    uint8_t *p = buf;

    while (len > 0) {
        ssize_t n = recv(fd, p, len, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return n < 0 ? (errno == EAGAIN ? -ETIMEDOUT : -errno) : -EPIPE;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

void privsep_timeouts(int fd, int ms)
{
    struct timeval tv = { .tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000 };

    if (ms < 1)
        tv.tv_usec = 1000;
    (void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    (void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

int privsep_send_fd(int chan, const void *hdr, size_t len, int fd)
{
    union { struct cmsghdr h; char buf[CMSG_SPACE(sizeof(int))]; } u;
    struct iovec iov = { .iov_base = (void *)hdr, .iov_len = len };
    struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
                        .msg_controllen = sizeof(u.buf) };
    struct cmsghdr *c;
    ssize_t n;

    memset(&u, 0, sizeof(u));
    c = CMSG_FIRSTHDR(&m);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(c), &fd, sizeof(int));
    do
        n = sendmsg(chan, &m, MSG_NOSIGNAL);
    while (n < 0 && errno == EINTR);
    if (n < 0)
        return -errno;
    return (size_t)n == len ? 0 : -EIO;
}

/* Closes every descriptor a message carried. */
static void close_all_fds(struct msghdr *m)
{
    for (struct cmsghdr *c = CMSG_FIRSTHDR(m); c; c = CMSG_NXTHDR(m, c)) {
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
            continue;
        for (size_t i = 0; i < (c->cmsg_len - CMSG_LEN(0)) / sizeof(int); i++) {
            int fd;
            memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
            close(fd);
        }
    }
}

int privsep_recv_fd(int chan, void *hdr, size_t len, int *fd)
{
    union { struct cmsghdr h; char buf[CMSG_SPACE(4 * sizeof(int))]; } u;
    struct iovec iov = { .iov_base = hdr, .iov_len = len };
    struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
                        .msg_controllen = sizeof(u.buf) };
    struct cmsghdr *c;
    ssize_t n;

    *fd = -1;
    do
        n = recvmsg(chan, &m, MSG_CMSG_CLOEXEC | MSG_WAITALL);
    while (n < 0 && errno == EINTR);
    if (n < 0)
        return errno == EAGAIN ? -ETIMEDOUT : -errno;
    if (n == 0)
        return -EPIPE;
    c = CMSG_FIRSTHDR(&m);
    if ((size_t)n != len || (m.msg_flags & (MSG_CTRUNC | MSG_TRUNC)) || !c ||
        c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS ||
        c->cmsg_len != CMSG_LEN(sizeof(int)) || CMSG_NXTHDR(&m, c)) {
        close_all_fds(&m);
        return -EBADMSG;
    }
    memcpy(fd, CMSG_DATA(c), sizeof(int));
    return 0;
}
