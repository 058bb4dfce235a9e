/* SPDX-License-Identifier: BSD-3-Clause */
/* Non-blocking per-connection state machines for the swtpm data and control sockets. */
#include "frontend.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "ctrl.h"
#include "devfront.h"
#include "log.h"
#include "tpmcmd.h"
#include "worker.h"

uint64_t fe_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static int ep_set(struct worker *w, int op, int fd, struct ep_tag *tag, uint32_t events)
{
    struct epoll_event ev = { .events = events, .data.ptr = tag };

    return epoll_ctl(w->epfd, op, fd, &ev) < 0 ? -errno : 0;
}

static void listener_close(struct worker *w, struct listener **lp)
{
    struct listener *l = *lp;

    if (!l)
        return;
    epoll_ctl(w->epfd, EPOLL_CTL_DEL, l->fd, NULL);
    close(l->fd);
    l->tag.dead = 1;
    l->next_dead = w->dead_listeners;
    w->dead_listeners = l;
    *lp = NULL;
}

void fe_handle_taken(struct worker *w, struct inst *inst, uint32_t h, const struct conn *by)
{
    for (struct conn *o = w->conns; o; o = o->next)
        if (o != by && o->inst == inst)
            rm_forget(&o->rm, h);
}

/*
 * A data connection that carried more than one command is a client that keeps its
 * connection for its session (tpm2-tss's cmd TCTI through socat, a resource manager): what
 * it created and did not flush is flushed when it goes, as /dev/tpmrm flushes an open file's
 * objects and sessions at close. The swtpm TCTI opens a connection per command, so its
 * connections carry one command each and keep today's meaning (objects live until flushed).
 * docs/architecture.md, "Transient objects of a client".
 */
static void conn_release(struct worker *w, struct conn *c)
{
    uint8_t cmd[RM_FLUSH_LEN];
    unsigned flushed = 0;

    if (c->is_ctrl || c->rm.n == 0 || c->rm.commands < 2 || w->suspended ||
        c->inst->state != INST_READY)
        return;
    while (c->rm.n > 0) {
        uint32_t h = c->rm.h[--c->rm.n];
        size_t n = wk_exec_command(w, c->inst, cmd, rm_flush_cmd(cmd, h), c->out,
                                   sizeof(c->out));

        flushed += tpmcmd_resp_rc(c->out, n) == 0;
    }
    LOG_DEBUG("frontend: a client's connection closed after %u commands: %u handle(s) flushed",
              c->rm.commands, flushed);
}

static void conn_close(struct worker *w, struct conn *c)
{
    if (c->tag.dead)
        return;
    conn_release(w, c);
    /* No EPOLL_CTL_DEL: the fd was never duplicated, so close() takes it out of the set. */
    close(c->fd);
    explicit_bzero(c->in, sizeof(c->in));
    explicit_bzero(c->out, sizeof(c->out));
    c->tag.dead = 1;
    c->inst->nconns--;
    w->nconns--;
    if (c->prev)
        c->prev->next = c->next;
    else
        w->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    c->next = w->dead_conns;
    w->dead_conns = c;
}

/* The parent must hand over listening Unix stream sockets, nothing else. */
static int is_unix_listener(int fd)
{
    int v = 0;
    socklen_t len = sizeof(v);

    if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &v, &len) < 0 || v != AF_UNIX)
        return 0;
    len = sizeof(v);
    if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &v, &len) < 0 || v != SOCK_STREAM)
        return 0;
    len = sizeof(v);
    return getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &v, &len) == 0 && v == 1;
}

static struct listener *listener_new(struct worker *w, struct inst *inst, int fd, int is_ctrl)
{
    struct listener *l = calloc(1, sizeof(*l));
    int fl = fcntl(fd, F_GETFL);

    if (!l || fl < 0 || !is_unix_listener(fd) || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
        goto fail;
    l->tag.kind = EP_LISTEN;
    l->fd = fd;
    l->is_ctrl = is_ctrl;
    l->inst = inst;
    if (ep_set(w, EPOLL_CTL_ADD, fd, &l->tag, EPOLLIN) < 0)
        goto fail;
    return l;
fail:
    free(l);
    return NULL;
}

int fe_attach(struct worker *w, struct inst *inst, int data_fd, int ctrl_fd, uid_t uid)
{
    if (inst->data_l || w->suspended) {
        close(data_fd);
        close(ctrl_fd);
        return inst->data_l ? -EEXIST : -ESHUTDOWN;
    }
    inst->data_l = listener_new(w, inst, data_fd, 0);
    if (!inst->data_l) {
        close(data_fd);
        close(ctrl_fd);
        return -EINVAL;
    }
    inst->ctrl_l = listener_new(w, inst, ctrl_fd, 1);
    if (!inst->ctrl_l) {
        close(ctrl_fd);
        listener_close(w, &inst->data_l);
        return -EINVAL;
    }
    inst->allowed_uid = uid;
    return 0;
}

void fe_detach(struct worker *w, struct inst *inst)
{
    struct conn *c, *next;

    for (c = w->conns; c; c = next) {
        next = c->next;
        if (c->inst == inst) {
            c->rm.n = 0; /* the instance goes: nothing to flush in it */
            conn_close(w, c);
        }
    }
    listener_close(w, &inst->data_l);
    listener_close(w, &inst->ctrl_l);
    dev_detach(w, inst);
}

void fe_reap(struct worker *w)
{
    dev_reap(w);
    while (w->dead_conns) {
        struct conn *c = w->dead_conns;
        w->dead_conns = c->next;
        free(c);
    }
    while (w->dead_listeners) {
        struct listener *l = w->dead_listeners;
        w->dead_listeners = l->next_dead;
        free(l);
    }
}

void fe_sweep(struct worker *w, uint64_t now_ms)
{
    struct conn *c, *next;

    for (c = w->conns; c; c = next) {
        next = c->next;
        if (now_ms > c->deadline) {
            LOG_DEBUG("frontend: connection timed out");
            conn_close(w, c);
        }
    }
}

/*
 * Admits a connection if its peer is root or the instance's user, limits allow, and the
 * parent, which can read the peer's namespaces from /proc, says the peer is on the host or
 * in the container the vTPM is bound to. Runs right after accept: the pid must still be
 * the process that connected (accepted_ns lets the parent tell a reused pid).
 */
static struct peer_memo *memo_find(struct inst *inst, const struct ucred *c, uint64_t now)
{
    for (unsigned i = 0; i < INST_PEER_MEMO; i++) {
        struct peer_memo *e = &inst->memo[i];
        if (e->until_ms > now && e->pid == c->pid && e->uid == c->uid && e->gid == c->gid)
            return e;
    }
    return NULL;
}

static void memo_put(struct inst *inst, const struct ucred *c, uint64_t until_ms)
{
    struct peer_memo *e = &inst->memo[inst->memo_next++ % INST_PEER_MEMO];

    e->pid = c->pid;
    e->uid = c->uid;
    e->gid = c->gid;
    e->until_ms = until_ms;
}

/* The parent's verdict, or a remembered one for the same process (see IPC_PEER_VERDICT). */
static int peer_verdict(struct worker *w, struct inst *inst, const struct ucred *c,
                        struct vtpm_ipc_peer *p)
{
    uint64_t now = fe_now_ms();
    uint32_t memo_ms = 0;

    if (memo_find(inst, c, now))
        return 1;
    p->pid = (uint32_t)c->pid;
    p->uid = (uint32_t)c->uid;
    p->gid = (uint32_t)c->gid;
    if (wk_peer_check(w, inst, p, &memo_ms) != 0)
        return 0;
    if (memo_ms)
        memo_put(inst, c, now + memo_ms);
    return 1;
}

static int peer_allowed(struct worker *w, struct listener *l, int fd)
{
    struct inst *inst = l->inst;
    struct vtpm_ipc_peer p = { .is_ctrl = (uint32_t)l->is_ctrl };
    struct ucred cred;
    socklen_t len = sizeof(cred);
    struct timespec ts;

    clock_gettime(CLOCK_BOOTTIME, &ts);
    p.accepted_ns = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0 || len != sizeof(cred))
        return 0;
    if (cred.uid != 0 && cred.uid != inst->allowed_uid) {
        LOG_WARN("frontend: refused connection from uid %u", (unsigned)cred.uid);
        return 0;
    }
    if (inst->nconns >= INST_MAX_CONNS || w->nconns >= FE_MAX_CONNS)
        return 0;
    return peer_verdict(w, inst, &cred, &p);
}

static struct conn *conn_new(struct worker *w, struct listener *l, int fd)
{
    struct conn *c = calloc(1, sizeof(*c));

    if (!c || ep_set(w, EPOLL_CTL_ADD, fd, &c->tag, EPOLLIN) < 0) {
        free(c);
        close(fd);
        return NULL;
    }
    c->tag.kind = EP_CONN;
    c->fd = fd;
    c->is_ctrl = l->is_ctrl;
    c->inst = l->inst;
    c->need = c->is_ctrl ? CTRL_CODE_LEN : TPM_HDR_LEN;
    c->deadline = fe_now_ms() + FE_TIMEOUT_MS;
    c->next = w->conns;
    if (w->conns)
        w->conns->prev = c;
    w->conns = c;
    l->inst->nconns++;
    w->nconns++;
    return c;
}

static void conn_read(struct worker *w, struct conn *c);

static void listener_event(struct worker *w, struct listener *l)
{
    struct conn *c;
    int i, fd;

    /* A bounded batch so one busy instance cannot starve the others. */
    for (i = 0; i < 16; i++) {
        fd = accept4(l->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
                LOG_WARN("frontend: accept: %s", strerror(errno));
            return;
        }
        if (!peer_allowed(w, l, fd)) {
            close(fd);
            if (w->fatal || w->eof)
                return;
            continue;
        }
        /* The swtpm TCTI connects and sends at once: the command is usually already here,
         * so read it now rather than after another epoll round. */
        c = conn_new(w, l, fd);
        if (c)
            conn_read(w, c);
    }
}

/* Sends what is pending; on completion returns to reading (or closes). */
static void conn_flush(struct worker *w, struct conn *c)
{
    while (c->out_off < c->out_len) {
        ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off,
                         MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN) {
            if (ep_set(w, EPOLL_CTL_MOD, c->fd, &c->tag, EPOLLOUT) < 0)
                conn_close(w, c);
            return;
        }
        if (n <= 0) { /* the client left without its response */
            conn_close(w, c);
            return;
        }
        c->out_off += (size_t)n;
        c->deadline = fe_now_ms() + FE_TIMEOUT_MS;
    }
    explicit_bzero(c->out, c->out_len);
    explicit_bzero(c->in, c->have);
    if (c->close_after) {
        conn_close(w, c);
        return;
    }
    c->writing = 0;
    c->out_len = c->out_off = c->have = 0;
    c->need = c->is_ctrl ? CTRL_CODE_LEN : TPM_HDR_LEN;
    if (ep_set(w, EPOLL_CTL_MOD, c->fd, &c->tag, EPOLLIN) < 0)
        conn_close(w, c);
}

static void conn_respond(struct worker *w, struct conn *c, size_t len)
{
    c->out_len = len;
    c->out_off = 0;
    c->writing = 1;
    conn_flush(w, c);
}

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Called whenever c->have == c->need: extends need or executes the request. */
static void data_progress(struct worker *w, struct conn *c)
{
    uint32_t size = 0, rc, h;
    size_t len;

    if (c->have == TPM_HDR_LEN && c->need == TPM_HDR_LEN) {
        rc = tpmcmd_check_header(c->in, &size);
        if (rc != 0) { /* never read or allocate what a bad header announces */
            c->close_after = 1;
            conn_respond(w, c, tpmcmd_error_response(c->out, rc));
            return;
        }
        c->need = size;
        if (size > TPM_HDR_LEN)
            return;
    }
    w->commands++;
    len = wk_exec_command(w, c->inst, c->in, c->have, c->out, sizeof(c->out));
    if ((h = rm_note(&c->rm, c->in, c->have, c->out, len)) != 0)
        fe_handle_taken(w, c->inst, h, c);
    conn_respond(w, c, len);
}

static void ctrl_progress(struct worker *w, struct conn *c)
{
    uint32_t cmd = be32(c->in);
    int plen = swctrl_req_len(cmd);

    if (plen < 0) {
        c->close_after = 1;
        conn_respond(w, c, wk_exec_ctrl(w, c->inst, cmd, NULL, c->out));
        return;
    }
    if (c->have < CTRL_CODE_LEN + (size_t)plen) {
        c->need = CTRL_CODE_LEN + (size_t)plen;
        return;
    }
    conn_respond(w, c, wk_exec_ctrl(w, c->inst, cmd, c->in + CTRL_CODE_LEN, c->out));
}

static void conn_read(struct worker *w, struct conn *c)
{
    for (;;) {
        ssize_t n = read(c->fd, c->in + c->have, c->need - c->have);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            return;
        if (n <= 0) { /* EOF between requests is a normal close; inside one, a drop */
            conn_close(w, c);
            return;
        }
        c->have += (size_t)n;
        c->deadline = fe_now_ms() + FE_TIMEOUT_MS;
        if (c->have < c->need)
            continue;
        if (c->is_ctrl)
            ctrl_progress(w, c);
        else
            data_progress(w, c);
        if (c->tag.dead || c->writing)
            return;
    }
}

void fe_event(struct worker *w, struct ep_tag *tag, uint32_t events)
{
    if (tag->dead)
        return;
    if (tag->kind == EP_LISTEN) {
        listener_event(w, (struct listener *)tag);
        return;
    }
    if (tag->kind == EP_DEV) {
        dev_event(w, (struct devconn *)tag, events);
        return;
    }
    if (tag->kind == EP_CONN) {
        struct conn *c = (struct conn *)tag;
        if (c->writing)
            conn_flush(w, c);
        else
            conn_read(w, c);
    }
}
