/* SPDX-License-Identifier: BSD-3-Clause */
/* The worker's event loop, its IPC plumbing (replies, state stores, request queue) and setup. */
#include "worker.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "adopt.h"
#include "handlers.h"
#include "log.h"
#include "provision.h"
#include "secmem.h"
#include "tpmcore.h"

struct qmsg {
    struct ipc_msg m;
    size_t len;
    uint32_t gen; /* the parent generation that sent it */
    struct qmsg *next;
};

static uint8_t *g_ackbuf; /* receive buffer while waiting for an ack (the request's stays intact) */

static int queue_push(struct worker *w, const struct ipc_msg *m)
{
    struct qmsg *q = calloc(1, sizeof(*q));

    if (!q || (m->hdr.len && !(q->m.payload = malloc(m->hdr.len)))) {
        free(q);
        return -ENOMEM;
    }
    q->m.hdr = m->hdr;
    q->m.nfds = m->nfds;
    memcpy(q->m.fds, m->fds, sizeof(m->fds));
    if (m->hdr.len)
        memcpy(q->m.payload, m->payload, m->hdr.len);
    q->len = m->hdr.len;
    q->gen = w->gen;
    if (w->q_tail)
        w->q_tail->next = q;
    else
        w->q_head = q;
    w->q_tail = q;
    return 0;
}

static void queue_run(struct worker *w)
{
    while (w->q_head && !w->fatal) {
        struct qmsg *q = w->q_head;
        w->q_head = q->next;
        if (!w->q_head)
            w->q_tail = NULL;
        w->req_gen = q->gen;
        wk_handle_request(w, &q->m);
        secure_free(q->m.payload, q->len);
        free(q);
    }
}

void wk_queue_drop(struct worker *w)
{
    while (w->q_head) {
        struct qmsg *q = w->q_head;
        w->q_head = q->next;
        wipc_msg_close_fds(&q->m);
        secure_free(q->m.payload, q->len);
        free(q);
    }
    w->q_tail = NULL;
}

int wk_reply(struct worker *w, const struct vtpm_ipc_hdr *req, int status, const void *payload,
                 size_t len)
{
    return wk_reply_fds(w, req, status, payload, len, NULL, 0);
}

int wk_reply_fds(struct worker *w, const struct vtpm_ipc_hdr *req, int status,
                 const void *payload, size_t len, const int *fds, int nfds)
{
    struct vtpm_ipc_hdr h = { .type = IPC_REPLY, .seq = req->seq, .len = (uint32_t)len,
                              .status = status };
    int r;

    memcpy(h.uuid, req->uuid, sizeof(h.uuid));
    if (w->req_gen != w->gen || w->ipc_fd < 0) {
        LOG_INFO("ipc: request %u came from a parent that is gone; no reply", req->seq);
        return 0;
    }
    h.arg = (uint32_t)nfds;
    r = wipc_send_fds(w->ipc_fd, &h, payload, fds, nfds);
    if ((r == -EPIPE || r == -ECONNRESET) && w->adopt_fd >= 0) {
        LOG_WARN("ipc: reply not delivered, the parent is gone");
        return r; /* the main loop sees the EOF and waits for the next parent */
    }
    if (r < 0) {
        LOG_ERROR("ipc: reply failed: %s", strerror(-r));
        w->fatal = r;
    }
    return r;
}

/* Waits for the parent's answer (type: IPC_STATE_ACK or IPC_PEER_VERDICT) to seq; parent
 * requests arriving meanwhile are queued. */
static int wait_answer(struct worker *w, uint32_t type, uint32_t seq, uint32_t *arg)
{
    struct ipc_msg m;
    int r;

    for (;;) {
        r = wipc_recv(w->ipc_fd, g_ackbuf, &m);
        if (r == 0 || r == -ECONNRESET)
            return -EPIPE; /* the parent is gone: wk_store waits for the next one */
        if (r < 0) {
            w->fatal = r;
            return r;
        }
        if (m.hdr.type == IPC_STATE_ACK || m.hdr.type == IPC_PEER_VERDICT) {
            if (m.hdr.type != type || m.hdr.seq != seq) {
                LOG_ERROR("ipc: answer (type %u) for unknown seq %u", m.hdr.type, m.hdr.seq);
                w->fatal = -EPROTO;
                return -EPROTO;
            }
            if (arg)
                *arg = m.hdr.arg;
            return m.hdr.status > 0 ? -EIO : m.hdr.status;
        }
        r = queue_push(w, &m);
        explicit_bzero(g_ackbuf, IPC_HDR_LEN + m.hdr.len);
        if (r < 0) {
            wipc_msg_close_fds(&m);
            w->fatal = -ENOMEM;
            return -ENOMEM;
        }
    }
}

/* Sends h (and payload) to the parent and waits for its answer of type answer; if the parent
 * is gone, waits to be adopted and asks the next one again. */
static int ask_parent(struct worker *w, const struct vtpm_ipc_hdr *h, const void *payload,
                      uint32_t answer, uint32_t *arg)
{
    int r;

    for (;;) {
        r = w->ipc_fd < 0 ? wk_adopt_wait(w) : 0;
        if (r == 0)
            r = wipc_send(w->ipc_fd, h, payload);
        if (r == 0)
            r = wait_answer(w, answer, h->seq, arg);
        if (r != -EPIPE && r != -ECONNRESET)
            break;
        if (wk_orphan(w) < 0) {
            w->eof = 1;
            break;
        }
    }
    if (r == -ETIMEDOUT)
        w->eof = 1; /* nobody adopted us in time */
    return r;
}

int wk_peer_check(struct worker *w, struct inst *inst, const struct vtpm_ipc_peer *peer,
                  uint32_t *memo_ms)
{
    struct vtpm_ipc_hdr h = { .type = IPC_PEER_CHECK, .seq = ++w->seq,
                              .len = (uint32_t)sizeof(*peer) };
    int r;

    if (w->fatal || w->eof)
        return -EPIPE;
    memcpy(h.uuid, inst->uuid, sizeof(h.uuid));
    /*
     * Only the parent can judge the peer: a connection accepted while there is none (it
     * crashed) is neither refused nor admitted but waits, like a state store, for the next
     * parent to adopt us, and is judged by it (asked again if the parent dies meanwhile).
     */
    r = ask_parent(w, &h, peer, IPC_PEER_VERDICT, memo_ms);
    w->peer_checks++;
    return r;
}

int wk_store(struct worker *w, struct inst *inst, uint32_t kind, const uint8_t *blob,
                 size_t len)
{
    struct vtpm_ipc_hdr h = { .type = IPC_STATE_STORE, .seq = ++w->seq, .len = (uint32_t)len,
                              .arg = kind };
    int r;

    if (w->fatal || w->eof)
        return -EPIPE;
    if (len > VTPM_IPC_MAX_PAYLOAD)
        return -EMSGSIZE;
    memcpy(h.uuid, inst->uuid, sizeof(h.uuid));
    /*
     * Not acknowledged is not durable: if the parent dies first, the client's answer waits
     * (and the worker with it) until a new parent adopted us and stored the same blob again.
     */
    r = ask_parent(w, &h, blob, IPC_STATE_ACK, NULL);
    w->state_stores++;
    if (r < 0)
        LOG_WARN("state store (kind %u) not acknowledged: %s", kind, strerror(-r));
    return r;
}

int wk_persist(struct worker *w, struct inst *inst)
{
    int r;

    if (!inst->perm_dirty)
        return 0;
    r = wk_store(w, inst, VTPM_STATE_PERM, inst->perm, inst->perm_len);
    if (r == 0)
        inst->perm_dirty = 0; /* else stays dirty: the next change stores the whole blob again */
    return r;
}

static void ipc_event(struct worker *w)
{
    struct ipc_msg m;
    int r;

    if (w->ipc_fd < 0) /* orphaned earlier in this event batch */
        return;
    /* Never block here: the event may be stale (the link was replaced and its message
     * already read while this batch was being handled). */
    r = wipc_recv_flags(w->ipc_fd, w->ipcbuf, &m, MSG_DONTWAIT);
    if (r == -EAGAIN || r == -EWOULDBLOCK)
        return;
    if (r == 0 || r == -ECONNRESET) {
        if (wk_orphan(w) < 0)
            w->eof = 1;
        return;
    }
    if (r < 0) {
        w->fatal = r;
        return;
    }
    if (m.hdr.type == IPC_STATE_ACK || m.hdr.type == IPC_PEER_VERDICT) { /* unsolicited */
        LOG_ERROR("ipc: unexpected ack");
        w->fatal = -EPROTO;
        return;
    }
    w->req_gen = w->gen;
    wk_handle_request(w, &m);
    explicit_bzero(w->ipcbuf, IPC_HDR_LEN + m.hdr.len); /* state blobs, certificates */
}

static void dispatch(struct worker *w, struct epoll_event *evs, int n)
{
    int i;

    for (i = 0; i < n && !w->fatal && !w->eof; i++) {
        struct ep_tag *tag = evs[i].data.ptr;
        if (tag->kind == EP_IPC)
            ipc_event(w);
        else if (tag->kind == EP_ADOPT)
            wk_adopt_try(w);
        else
            fe_event(w, tag, evs[i].events);
    }
}

int wk_loop(struct worker *w)
{
    struct epoll_event evs[64];
    uint64_t last_sweep = fe_now_ms();

    while (!w->fatal && !w->eof) {
        int n;
        queue_run(w);
        n = epoll_wait(w->epfd, evs, 64, 1000);
        if (n < 0 && errno != EINTR) {
            w->fatal = -errno;
            break;
        }
        if (n > 0)
            dispatch(w, evs, n);
        if (fe_now_ms() - last_sweep >= 500) {
            last_sweep = fe_now_ms();
            fe_sweep(w, last_sweep);
        }
        fe_reap(w);
        if (wk_adopt_expired(w)) {
            LOG_ERROR("no parent adopted this worker within %u ms; exiting", w->adopt_ms);
            w->eof = 1;
        }
    }
    if (w->fatal)
        LOG_ERROR("worker stops: %s", strerror(-w->fatal));
    return w->fatal;
}

int wk_init(struct worker *w, int ipc_fd)
{
    struct epoll_event ev = { .events = EPOLLIN };

    memset(w, 0, sizeof(*w));
    w->ipc_fd = ipc_fd;
    w->adopt_fd = w->adopt_ep = -1;
    w->ipc_tag.kind = EP_IPC;
    ev.data.ptr = &w->ipc_tag;
    w->ipcbuf = malloc(IPC_BUF_SIZE);
    g_ackbuf = malloc(IPC_BUF_SIZE);
    w->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (!w->ipcbuf || !g_ackbuf || w->epfd < 0 ||
        epoll_ctl(w->epfd, EPOLL_CTL_ADD, ipc_fd, &ev) < 0)
        goto fail;
    if (tpmcore_init() < 0 || prov_init() < 0)
        goto fail;
    return 0;
fail:
    LOG_ERROR("worker: initialisation failed");
    wk_fini(w);
    return -EIO;
}

void wk_fini(struct worker *w)
{
    while (w->tab.head) {
        struct inst *i = w->tab.head;
        fe_detach(w, i);
        if (tpmcore_active() == i)
            tpmcore_deactivate(0);
        winst_remove(&w->tab, i);
    }
    fe_reap(w);
    wk_queue_drop(w);
    prov_fini();
    wk_adopt_fini(w);
    if (w->epfd > 0)
        close(w->epfd);
    w->epfd = -1;
    secure_free(w->ipcbuf, IPC_BUF_SIZE);
    secure_free(g_ackbuf, IPC_BUF_SIZE);
    w->ipcbuf = g_ackbuf = NULL;
}
