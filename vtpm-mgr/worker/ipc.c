/* SPDX-License-Identifier: BSD-3-Clause */
/* Datagram framing and validation for the worker's SOCK_SEQPACKET link to vtpm-mgr. */
#include "ipc.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "log.h"

struct ipc_rule {
    uint32_t type;
    uint32_t min_len, max_len;
    int nfds;
    int ek_arg; /* arg must be a vtpm_ek_type */
};

/* Everything the parent may send to a worker; anything else is a protocol error. */
static const struct ipc_rule rules[] = {
    { IPC_INST_CREATE, 0, 0, 0, 1 },
    { IPC_INST_SET_EKCERT, 1, EKCERT_MAX, 0, 1 },
    { IPC_INST_STAGE_VOLATILE, 1, VTPM_IPC_MAX_PAYLOAD, 0, 0 },
    { IPC_INST_LOAD, 1, VTPM_IPC_MAX_PAYLOAD, 0, 0 },
    { IPC_INST_ATTACH, 0, 0, 2, 0 },
    { IPC_INST_ATTACH_DEVICE, 0, 0, 1, 0 },
    { IPC_INST_REMOVE, 0, 0, 0, 0 },
    { IPC_SUSPEND_ALL, 0, 0, 0, 0 },
    { IPC_STATS, 0, 0, 0, 0 },
    { IPC_STATE_ACK, 0, 0, 0, 0 },
    { IPC_PEER_VERDICT, 0, 0, 0, 0 },
    { IPC_PEER_FLUSH, 0, 0, 0, 0 },
    { IPC_ADOPT, 0, 0, 0, 0 },
    { IPC_INST_RETURN_FDS, 0, 0, 0, 0 },
};

static const struct ipc_rule *find_rule(uint32_t type)
{
    size_t i;

    for (i = 0; i < sizeof(rules) / sizeof(rules[0]); i++)
        if (rules[i].type == type)
            return &rules[i];
    return NULL;
}

int wipc_validate(const uint8_t *buf, size_t n, int nfds, struct vtpm_ipc_hdr *hdr)
{
    const struct ipc_rule *r;

    if (n < IPC_HDR_LEN)
        return -EPROTO;
    memcpy(hdr, buf, IPC_HDR_LEN);
    if (hdr->len > VTPM_IPC_MAX_PAYLOAD || n != IPC_HDR_LEN + hdr->len)
        return -EPROTO;
    r = find_rule(hdr->type);
    if (!r || hdr->len < r->min_len || hdr->len > r->max_len || nfds != r->nfds)
        return -EPROTO;
    if (r->ek_arg && hdr->arg != VTPM_EK_ECC_P256 && hdr->arg != VTPM_EK_RSA_2048)
        return -EPROTO;
    return 0;
}

void wipc_msg_close_fds(struct ipc_msg *msg)
{
    int i;

    for (i = 0; i < msg->nfds; i++)
        if (msg->fds[i] >= 0)
            close(msg->fds[i]);
    msg->nfds = 0;
}

/* Collects SCM_RIGHTS descriptors; more than IPC_MAX_FDS is an error (all closed). */
static int take_fds(struct msghdr *mh, struct ipc_msg *msg)
{
    struct cmsghdr *c;
    int r = 0;

    msg->nfds = 0;
    for (c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
        size_t i, cnt;
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
            continue;
        cnt = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (i = 0; i < cnt; i++) {
            int fd;
            memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
            if (msg->nfds < IPC_MAX_FDS)
                msg->fds[msg->nfds++] = fd;
            else {
                close(fd);
                r = -EPROTO;
            }
        }
    }
    return r;
}

int wipc_recv(int fd, uint8_t *buf, struct ipc_msg *msg)
{
    return wipc_recv_flags(fd, buf, msg, 0);
}

int wipc_recv_flags(int fd, uint8_t *buf, struct ipc_msg *msg, int flags)
{
    union {
        struct cmsghdr align;
        char buf[CMSG_SPACE(sizeof(int) * (IPC_MAX_FDS + 2))];
    } cbuf;
    struct iovec iov = { .iov_base = buf, .iov_len = IPC_BUF_SIZE };
    struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
                         .msg_control = cbuf.buf, .msg_controllen = sizeof(cbuf.buf) };
    ssize_t n;
    int r;

    do
        n = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC | flags);
    while (n < 0 && errno == EINTR);
    if (n < 0)
        return -errno;
    r = take_fds(&mh, msg);
    if (n == 0 && msg->nfds == 0)
        return 0;
    if (r == 0 && (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)))
        r = -EPROTO;
    if (r == 0)
        r = wipc_validate(buf, (size_t)n, msg->nfds, &msg->hdr);
    if (r < 0) {
        LOG_ERROR("ipc: protocol error (%zd bytes, %d fds)", n, msg->nfds);
        wipc_msg_close_fds(msg);
        return r;
    }
    msg->payload = buf + IPC_HDR_LEN;
    return 1;
}

int wipc_send(int fd, const struct vtpm_ipc_hdr *hdr, const void *payload)
{
    return wipc_send_fds(fd, hdr, payload, NULL, 0);
}

int wipc_send_fds(int fd, const struct vtpm_ipc_hdr *hdr, const void *payload, const int *fds,
                  int nfds)
{
    struct iovec iov[2] = {
        { .iov_base = (void *)hdr, .iov_len = IPC_HDR_LEN },
        { .iov_base = (void *)payload, .iov_len = hdr->len },
    };
    union {
        struct cmsghdr align;
        char buf[CMSG_SPACE(sizeof(int) * IPC_MAX_SEND_FDS)];
    } cbuf;
    struct msghdr mh = { .msg_iov = iov, .msg_iovlen = hdr->len ? 2 : 1 };
    ssize_t n;

    if (hdr->len > VTPM_IPC_MAX_PAYLOAD)
        return -EMSGSIZE;
    if (nfds < 0 || nfds > IPC_MAX_SEND_FDS)
        return -EINVAL;
    if (nfds > 0) {
        struct cmsghdr *c;
        memset(&cbuf, 0, sizeof(cbuf));
        mh.msg_control = cbuf.buf;
        mh.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)nfds);
        c = CMSG_FIRSTHDR(&mh);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)nfds);
        memcpy(CMSG_DATA(c), fds, sizeof(int) * (size_t)nfds);
    }
    do
        n = sendmsg(fd, &mh, MSG_NOSIGNAL);
    while (n < 0 && errno == EINTR);
    if (n < 0)
        return -errno;
    return (size_t)n == IPC_HDR_LEN + hdr->len ? 0 : -EIO;
}
