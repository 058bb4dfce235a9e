/* SPDX-License-Identifier: BSD-3-Clause */
/* The parent's side of the sandboxed libtpms workers: spawn, typed IPC, reaping (records and
 * rendezvous sockets for adoption: workerrec.c). */
#include "workerpool.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "secmem.h"
#include "vtpm_ipc.h"

void pool_set_bufs(int fd)
{
    int sz = VTPM_IPC_SOCKBUF;

    if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &sz, sizeof(sz)) != 0)
        setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
    if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof(sz)) != 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
}

static void __attribute__((noreturn)) exec_child(const struct mgr_config *cfg, int fd, int rfd)
{
    char uid[16], gid[16];
    char *const argv[] = { (char *)"vtpm-mgr-worker", NULL };
    /* Out of the way first: either may already be 3 or 4. */
    int ipc = fcntl(fd, F_DUPFD, 10), rdv = rfd >= 0 ? fcntl(rfd, F_DUPFD, 10) : -1;

    if (ipc < 0 || dup2(ipc, VTPM_IPC_FD) < 0 || (rdv >= 0 && dup2(rdv, VTPM_ADOPT_FD) < 0))
        _exit(127);
    /* Nothing of the parent's (host TPM connection, keys, sockets) may reach the worker. */
    if (close_range(rdv >= 0 ? VTPM_ADOPT_FD + 1 : VTPM_IPC_FD + 1, ~0U, 0) != 0)
        _exit(127);
    snprintf(uid, sizeof(uid), "%u", (unsigned)cfg->worker_uid);
    snprintf(gid, sizeof(gid), "%u", (unsigned)cfg->worker_gid);
    setenv("VTPM_WORKER_UID", uid, 1);
    setenv("VTPM_WORKER_GID", gid, 1);
    execv(cfg->worker_path, argv);
    _exit(127);
}

static void kill_worker(struct worker *w)
{
    if (w->pidfd >= 0 && pidfd_send_signal(w->pidfd, SIGKILL, NULL, 0) == 0)
        return;
    if (!w->adopted) /* our child: its pid cannot be reused before we reap it */
        kill(w->pid, SIGKILL);
}

static void free_worker(struct worker *w)
{
    if (w->pidfd >= 0)
        close(w->pidfd);
    free(w->uuids);
    free(w);
}

int pool_spawn(struct pool *p, const char *tenant, uint32_t owner_uid, struct worker **out)
{
    struct worker *w = calloc(1, sizeof(*w));
    int sv[2], rfd, r;
    pid_t pid;

    if (!w)
        return -ENOMEM;
    w->pidfd = -1;
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) {
        free(w);
        return -errno;
    }
    pool_set_bufs(sv[0]);
    pool_set_bufs(sv[1]);
    rfd = pool_rendezvous(p, w->token);
    pid = fork();
    if (pid < 0) {
        int e = errno;
        close(sv[0]);
        close(sv[1]);
        if (rfd >= 0) {
            close(rfd);
            pool_forget_files(p, w->token);
        }
        free(w);
        return -e;
    }
    if (pid == 0)
        exec_child(p->cfg, sv[1], rfd);
    close(sv[1]);
    if (rfd >= 0)
        close(rfd);
    w->pid = pid;
    w->pidfd = pidfd_open(pid, 0);
    w->fd = sv[0];
    snprintf(w->tenant, sizeof(w->tenant), "%s", tenant);
    w->owner_uid = owner_uid;
    w->next = p->head;
    p->head = w;
    /* Before it hosts anything: a parent after us must know it and whose it is. */
    r = rfd >= 0 ? pool_write_record(p, w) : 0;
    if (r) {
        LOG_ERROR("worker %d: cannot write its record: %s", (int)pid, strerror(-r));
        pool_destroy(p, w);
        return r;
    }
    LOG_INFO("worker %d started for tenant %s, owner uid %u", (int)pid, tenant,
             (unsigned)owner_uid);
    *out = w;
    return 0;
}

static int send_msg(struct worker *w, struct vtpm_ipc_hdr *h, const void *payload,
                    const int *fds, int nfds)
{
    struct iovec iov[2] = { { h, sizeof(*h) }, { (void *)payload, h->len } };
    union {
        char buf[CMSG_SPACE(sizeof(int) * 2)];
        struct cmsghdr align;
    } cm;
    struct msghdr msg = { .msg_iov = iov, .msg_iovlen = h->len ? 2 : 1 };
    ssize_t n;

    if (nfds > 2)
        return -EINVAL;
    if (nfds > 0) {
        struct cmsghdr *c;
        memset(&cm, 0, sizeof(cm));
        msg.msg_control = cm.buf;
        msg.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)nfds);
        c = CMSG_FIRSTHDR(&msg);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)nfds);
        memcpy(CMSG_DATA(c), fds, sizeof(int) * (size_t)nfds);
    }
    do {
        n = sendmsg(w->fd, &msg, MSG_NOSIGNAL);
    } while (n < 0 && errno == EINTR);
    if (n < 0)
        return -errno;
    return (size_t)n == sizeof(*h) + h->len ? 0 : -EPROTO;
}

#define RECV_MAX_FDS 3

/* Takes the SCM_RIGHTS descriptors of msg: into fds if up to max were expected, else all are
 * closed and -EPROTO. */
static int take_fds(struct msghdr *msg, int *fds, int max, int *nfds)
{
    int got = 0, r = 0;

    for (struct cmsghdr *c = CMSG_FIRSTHDR(msg); c; c = CMSG_NXTHDR(msg, c)) {
        size_t cnt;
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
            continue;
        cnt = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (size_t i = 0; i < cnt; i++) {
            int fd;
            memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
            if (fds && got < max) {
                fds[got++] = fd;
            } else {
                close(fd);
                r = -EPROTO;
            }
        }
    }
    if (r)
        while (got > 0)
            close(fds[--got]);
    if (nfds)
        *nfds = got;
    return r;
}

/* Receives one datagram into a callee-allocated buffer, header validated. Descriptors are
 * accepted only where fds is given (at most max). */
static int recv_msg_fds(struct worker *w, struct vtpm_ipc_hdr *h, uint8_t **payload, int *fds,
                        int max, int *nfds)
{
    size_t cap = sizeof(*h) + VTPM_IPC_MAX_PAYLOAD;
    uint8_t *buf = malloc(cap);
    union {
        char buf[CMSG_SPACE(sizeof(int) * (RECV_MAX_FDS + 1))];
        struct cmsghdr align;
    } cm;
    struct iovec iov = { buf, cap };
    struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cm.buf,
                          .msg_controllen = sizeof(cm.buf) };
    ssize_t n;
    int r;

    if (nfds)
        *nfds = 0;
    if (!buf)
        return -ENOMEM;
    do {
        n = recvmsg(w->fd, &msg, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
    } while (n < 0 && errno == EINTR);
    r = n > 0 ? take_fds(&msg, fds, max, nfds) : 0;
    if (n <= 0 || r || (msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) || (size_t)n < sizeof(*h)) {
        int e = n < 0 ? -errno : (n == 0 ? -EPIPE : -EPROTO);
        if (n > 0 && nfds)
            while (*nfds > 0)
                close(fds[--*nfds]);
        free(buf);
        return e;
    }
    memcpy(h, buf, sizeof(*h));
    if (h->len > VTPM_IPC_MAX_PAYLOAD || (size_t)n != sizeof(*h) + h->len) {
        if (nfds)
            while (*nfds > 0)
                close(fds[--*nfds]);
        free(buf);
        return -EPROTO;
    }
    memmove(buf, buf + sizeof(*h), h->len);
    *payload = buf;
    return 0;
}

static int send_ack(struct worker *w, uint32_t seq, const uint8_t uuid[16], int status)
{
    struct vtpm_ipc_hdr ack = { .type = IPC_STATE_ACK, .seq = seq, .status = status };

    memcpy(ack.uuid, uuid, 16);
    return send_msg(w, &ack, NULL, NULL, 0);
}

static void mark_dead(struct worker *w, int why);

/* Holds the ack of a stored blob for the next group commit. */
static int hold_ack(struct pool *p, struct worker *w, const struct vtpm_ipc_hdr *h)
{
    if (p->nacks == p->acks_cap) {
        size_t cap = p->acks_cap ? p->acks_cap * 2 : 16;
        struct pool_ack *a = realloc(p->acks, cap * sizeof(*a));
        if (!a)
            return -ENOMEM;
        p->acks = a;
        p->acks_cap = cap;
    }
    p->acks[p->nacks].w = w;
    p->acks[p->nacks].seq = h->seq;
    memcpy(p->acks[p->nacks].uuid, h->uuid, 16);
    p->nacks++;
    return 0;
}

static int recv_msg(struct worker *w, struct vtpm_ipc_hdr *h, uint8_t **payload)
{
    return recv_msg_fds(w, h, payload, NULL, 0, NULL);
}

static int answer_store(struct pool *p, struct worker *w, const struct vtpm_ipc_hdr *h,
                        const uint8_t *blob)
{
    int status;

    if (h->arg != VTPM_STATE_PERM && h->arg != VTPM_STATE_VOL)
        return -EPROTO;
    status = p->store(p->store_ctx, w, h->uuid, (int)h->arg, blob, h->len);
    p->stores++;
    if (status == POOL_STORED_UNCOUNTED)
        return send_ack(w, h->seq, h->uuid, 0);
    if (status == 0 && p->commit && hold_ack(p, w, h) == 0)
        return 0;
    if (status == 0 && p->commit)
        status = p->commit(p->store_ctx); /* no room to hold it: commit alone */
    return send_ack(w, h->seq, h->uuid, status);
}

int pool_commit(struct pool *p)
{
    size_t n = p->nacks;
    int r;

    if (!p->commit || n == 0)
        return 0;
    r = p->commit(p->store_ctx);
    p->nacks = 0;
    for (size_t i = 0; i < n; i++) {
        struct worker *w = p->acks[i].w;
        int e = w->dead ? 0 : send_ack(w, p->acks[i].seq, p->acks[i].uuid, r);
        if (e)
            mark_dead(w, e); /* recovered by the main loop, like any worker that fails */
    }
    return r;
}

/* A destroyed worker's held acks go nowhere. */
static void drop_acks(struct pool *p, const struct worker *w)
{
    size_t k = 0;

    for (size_t i = 0; i < p->nacks; i++)
        if (p->acks[i].w != w)
            p->acks[k++] = p->acks[i];
    p->nacks = k;
}

static int answer_peer(struct pool *p, struct worker *w, const struct vtpm_ipc_hdr *h,
                       const uint8_t *pl)
{
    struct vtpm_ipc_hdr v = { .type = IPC_PEER_VERDICT, .seq = h->seq, .status = -EACCES };
    struct vtpm_ipc_peer peer;

    if (h->len != sizeof(peer))
        return -EPROTO;
    memcpy(&peer, pl, sizeof(peer));
    if (p->peer)
        v.status = p->peer(p->store_ctx, w, h->uuid, &peer, &v.arg);
    if (v.status)
        v.arg = 0;
    memcpy(v.uuid, h->uuid, 16);
    return send_msg(w, &v, NULL, NULL, 0);
}

/* What a worker may ask of the parent: a state store or a peer check. */
static int answer_request(struct pool *p, struct worker *w, const struct vtpm_ipc_hdr *h,
                          const uint8_t *pl)
{
    if (h->type == IPC_STATE_STORE)
        return answer_store(p, w, h, pl);
    if (h->type == IPC_PEER_CHECK)
        return answer_peer(p, w, h, pl);
    return -EPROTO;
}

static int wait_readable(int fd, int timeout_ms)
{
    struct pollfd pfd = { .fd = fd, .events = POLLIN };
    int n;

    do {
        n = poll(&pfd, 1, timeout_ms);
    } while (n < 0 && errno == EINTR);
    if (n < 0)
        return -errno;
    return n == 0 ? -ETIMEDOUT : 0;
}

static void mark_dead(struct worker *w, int why)
{
    if (!w->dead)
        LOG_ERROR("worker %d failed (%s); killing it", (int)w->pid, strerror(-why));
    w->dead = 1;
    kill_worker(w);
}

static int64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits for the reply to seq; serves state stores meanwhile. The reply may carry up to
 * max descriptors when rfds is given. */
static int await_reply(struct pool *p, struct worker *w, uint32_t seq, uint8_t **reply,
                       size_t *reply_len, int *rfds, int max, int *nrfds)
{
    int64_t deadline = now_ms() + POOL_CALL_TIMEOUT_MS;
    struct vtpm_ipc_hdr h;
    uint8_t *pl;
    int r;

    for (;;) {
        int64_t left = deadline - now_ms();
        r = left <= 0 ? -ETIMEDOUT : wait_readable(w->fd, (int)left);
        if (r == 0)
            r = recv_msg_fds(w, &h, &pl, rfds, max, nrfds);
        if (r == -EAGAIN)
            continue;
        if (r)
            return r;
        if (nrfds && *nrfds && (h.type != IPC_REPLY || h.seq != seq || h.status)) {
            while (*nrfds > 0) /* descriptors only with a successful reply */
                close(rfds[--*nrfds]);
            secure_free(pl, h.len);
            return -EPROTO;
        }
        if (h.type == IPC_STATE_STORE || h.type == IPC_PEER_CHECK) {
            r = answer_request(p, w, &h, pl);
            secure_free(pl, h.len);
            if (r)
                return r;
            pool_commit(p); /* w waits for its ack before it replies */
            if (w->dead)
                return -EPIPE;
            continue;
        }
        if (h.type != IPC_REPLY || h.seq != seq) {
            secure_free(pl, h.len);
            return -EPROTO;
        }
        if (reply && h.status == 0) {
            *reply = pl;
            *reply_len = h.len;
        } else {
            secure_free(pl, h.len);
        }
        return h.status;
    }
}

static int call(struct pool *p, struct worker *w, struct vtpm_ipc_hdr *h, const void *payload,
                const int *fds, int nfds, uint8_t **reply, size_t *reply_len, int *rfds,
                int max, int *nrfds)
{
    int r;

    if (h->len > VTPM_IPC_MAX_PAYLOAD)
        return -EMSGSIZE;
    pool_commit(p); /* a worker waiting for a held ack would not answer */
    if (w->dead)
        return -EPIPE;
    r = send_msg(w, h, payload, fds, nfds);
    if (r == 0)
        r = await_reply(p, w, h->seq, reply, reply_len, rfds, max, nrfds);
    if (r == -EPIPE || r == -ETIMEDOUT || r == -EPROTO || r == -ECONNRESET)
        mark_dead(w, r);
    return r;
}

int pool_call(struct pool *p, struct worker *w, uint32_t type, const uint8_t uuid[16],
              uint32_t arg, const void *payload, size_t len, const int *fds, int nfds,
              uint8_t **reply, size_t *reply_len)
{
    struct vtpm_ipc_hdr h = { .type = type, .seq = ++w->seq, .len = (uint32_t)len, .arg = arg };

    if (len > VTPM_IPC_MAX_PAYLOAD)
        return -EMSGSIZE;
    if (uuid)
        memcpy(h.uuid, uuid, 16);
    return call(p, w, &h, payload, fds, nfds, reply, reply_len, NULL, 0, NULL);
}

int pool_call_fds(struct pool *p, struct worker *w, uint32_t type, const uint8_t uuid[16],
                  int *rfds, int max, int *nrfds)
{
    struct vtpm_ipc_hdr h = { .type = type, .seq = ++w->seq };

    if (max > RECV_MAX_FDS)
        return -EINVAL;
    if (uuid)
        memcpy(h.uuid, uuid, 16);
    return call(p, w, &h, NULL, NULL, 0, NULL, NULL, rfds, max, nrfds);
}

int pool_service(struct pool *p, struct worker *w)
{
    struct vtpm_ipc_hdr h;
    uint8_t *pl;
    int r = recv_msg(w, &h, &pl);

    if (r == -EAGAIN)
        return 0;
    if (r == 0) {
        r = answer_request(p, w, &h, pl);
        secure_free(pl, h.len);
    }
    if (r)
        mark_dead(w, r);
    return r;
}

static void unlink_worker(struct pool *p, struct worker *w)
{
    for (struct worker **pp = &p->head; *pp; pp = &(*pp)->next) {
        if (*pp == w) {
            *pp = w->next;
            return;
        }
    }
}

/* Waits for w's end: waitpid() for our own children, the pidfd for adopted ones (their
 * parent is init or a subreaper, which reaps them). */
static int reap(const struct worker *w, int timeout_ms)
{
    pid_t pid = w->pid;

    if (w->adopted) {
        struct pollfd pfd = { .fd = w->pidfd, .events = POLLIN };
        if (w->pidfd < 0)
            return 0;
        return poll(&pfd, 1, timeout_ms) == 1 ? 0 : -ETIMEDOUT;
    }
    for (int waited = 0;; waited += 10) {
        int st;
        pid_t r = waitpid(pid, &st, WNOHANG);
        if (r == pid || (r < 0 && errno == ECHILD))
            return 0;
        if (waited >= timeout_ms)
            return -ETIMEDOUT;
        usleep(10000);
    }
}

void pool_destroy(struct pool *p, struct worker *w)
{
    drop_acks(p, w);
    kill_worker(w);
    reap(w, 5000);
    pool_forget_files(p, w->token);
    close(w->fd);
    unlink_worker(p, w);
    free_worker(w);
}

/* The worker exits on EOF once it has stopped (IPC_SUSPEND_ALL) or hosts nothing. */
void pool_retire(struct pool *p, struct worker *w, int timeout_ms)
{
    drop_acks(p, w);
    pool_forget_files(p, w->token);
    close(w->fd);
    w->fd = -1;
    if (reap(w, timeout_ms) != 0) {
        LOG_WARN("worker %d did not exit; killing it", (int)w->pid);
        kill_worker(w);
        reap(w, 5000);
    }
    unlink_worker(p, w);
    free_worker(w);
}
