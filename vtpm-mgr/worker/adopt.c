/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Re-adoption of a worker by a restarted parent. A crash of the parent (kill -9) must not
 * reset the vTPMs this worker hosts: it keeps serving their sockets and devices, holds any
 * state change not yet made durable, and waits on its rendezvous socket (vtpm_ipc.h,
 * IPC_ADOPT) for the next parent, which only a process of the parent's uid may be.
 */
#include "adopt.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"

static unsigned adopt_ms_from_env(void)
{
    const char *s = getenv("VTPM_WORKER_ADOPT_MS");
    char *end = NULL;
    unsigned long v;

    if (!s || !*s)
        return ADOPT_DEFAULT_MS;
    errno = 0;
    v = strtoul(s, &end, 10);
    if (errno || *end || v == 0 || v > 600000) {
        LOG_WARN("VTPM_WORKER_ADOPT_MS=%s is not 1..600000; using %u", s, ADOPT_DEFAULT_MS);
        return ADOPT_DEFAULT_MS;
    }
    return (unsigned)v;
}

static int is_seqpacket_socket(int fd)
{
    struct stat st;
    int type = 0;
    socklen_t len = sizeof(type);

    return fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode) &&
           getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) == 0 && type == SOCK_SEQPACKET;
}

int wk_adopt_init(struct worker *w, int fd)
{
    struct epoll_event ev = { .events = EPOLLIN };
    int fl;

    w->adopt_fd = -1;
    w->adopt_ep = -1;
    w->adopt_tag.kind = EP_ADOPT;
    w->parent_uid = getuid(); /* exec'ed by the parent, still under its identity */
    w->adopt_ms = adopt_ms_from_env();
    if (!is_seqpacket_socket(fd))
        return 0; /* started without one (test harness): a parent crash ends the worker */
    fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0 || fcntl(fd, F_SETFD, FD_CLOEXEC) < 0 ||
        listen(fd, 4) < 0)
        return -errno;
    w->adopt_ep = epoll_create1(EPOLL_CLOEXEC);
    if (w->adopt_ep < 0)
        return -errno;
    if (epoll_ctl(w->adopt_ep, EPOLL_CTL_ADD, fd, &ev) < 0)
        return -errno;
    w->adopt_fd = fd;
    return 0;
}

int wk_orphan(struct worker *w)
{
    struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &w->adopt_tag };

    if (w->adopt_fd < 0 || w->suspended || w->tab.count == 0)
        return -EPIPE;
    if (w->ipc_fd >= 0) {
        epoll_ctl(w->epfd, EPOLL_CTL_DEL, w->ipc_fd, NULL);
        close(w->ipc_fd);
        w->ipc_fd = -1;
    }
    if (w->orphan_since)
        return 0;
    if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, w->adopt_fd, &ev) < 0 && errno != EEXIST)
        return -EPIPE;
    w->orphan_since = fe_now_ms();
    LOG_WARN("parent gone: still serving %u vTPMs; waiting up to %u ms for a new parent",
             w->tab.count, w->adopt_ms);
    return 0;
}

/* Only the parent's uid may become the parent (the directory is the parent's alone as well). */
static int peer_is_parent(const struct worker *w, int fd, pid_t *pid)
{
    struct ucred cred;
    socklen_t len = sizeof(cred);

    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0 || len != sizeof(cred))
        return 0;
    *pid = cred.pid;
    return cred.uid == w->parent_uid;
}

int wk_adopt_try(struct worker *w)
{
    struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &w->ipc_tag };
    pid_t pid = 0;
    int fd;

    if (w->ipc_fd >= 0 || w->adopt_fd < 0)
        return -EAGAIN;
    do
        fd = accept4(w->adopt_fd, NULL, NULL, SOCK_CLOEXEC); /* blocking, like fd 3 */
    while (fd < 0 && errno == EINTR);
    if (fd < 0)
        return errno == EAGAIN || errno == EWOULDBLOCK ? -EAGAIN : -errno;
    if (!peer_is_parent(w, fd, &pid)) {
        LOG_WARN("adoption refused: peer pid %d is not of the parent's uid", (int)pid);
        close(fd);
        return -EPERM;
    }
    if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
        close(fd);
        return -EAGAIN;
    }
    epoll_ctl(w->epfd, EPOLL_CTL_DEL, w->adopt_fd, NULL);
    w->ipc_fd = fd;
    w->orphan_since = 0;
    w->gen++; /* replies to the dead parent's requests are never sent to this one */
    wk_queue_drop(w);
    LOG_INFO("adopted by vtpm-mgr pid %d", (int)pid);
    return 0;
}

int wk_adopt_wait(struct worker *w)
{
    while (w->ipc_fd < 0) {
        struct epoll_event ev;
        uint64_t now = fe_now_ms();
        int n;

        if (!w->orphan_since || now - w->orphan_since >= w->adopt_ms)
            return -ETIMEDOUT;
        n = epoll_wait(w->adopt_ep, &ev, 1, (int)(w->adopt_ms - (now - w->orphan_since)));
        if (n < 0 && errno != EINTR)
            return -errno;
        if (n > 0)
            wk_adopt_try(w);
    }
    return 0;
}

int wk_adopt_expired(const struct worker *w)
{
    return w->orphan_since && fe_now_ms() - w->orphan_since >= w->adopt_ms;
}

void wk_adopt_fini(struct worker *w)
{
    if (w->adopt_ep >= 0)
        close(w->adopt_ep);
    if (w->adopt_fd >= 0)
        close(w->adopt_fd);
    w->adopt_ep = w->adopt_fd = -1;
}
