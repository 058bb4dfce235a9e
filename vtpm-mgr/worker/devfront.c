/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Kernel-device front-end: kmod-vtpm hands vtpm-mgr a server fd per /dev/vtpm<N>; read()
 * yields one whole client command, write() returns its response (server-fd protocol in
 * docs/kmod-vtpm.md). The command goes through the same checks and execution path as one
 * from a socket.
 */
#include "devfront.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <tss2/tss2_tpm2_types.h>

#include "frontend.h"
#include "log.h"
#include "tpmcmd.h"
#include "worker.h"

int dev_attach(struct worker *w, struct inst *inst, int server_fd)
{
    struct epoll_event ev = { .events = EPOLLIN };
    struct devconn *d;
    int fl = fcntl(server_fd, F_GETFL);

    if (inst->dev || fl < 0 || fcntl(server_fd, F_SETFL, fl | O_NONBLOCK) < 0 ||
        !(d = calloc(1, sizeof(*d)))) {
        int r = inst->dev ? -EBUSY : (fl < 0 ? -errno : -ENOMEM);
        close(server_fd);
        return r;
    }
    d->tag.kind = EP_DEV;
    d->fd = server_fd;
    d->inst = inst;
    ev.data.ptr = &d->tag;
    if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, server_fd, &ev) < 0) {
        int r = -errno;
        close(server_fd);
        free(d);
        return r;
    }
    inst->dev = d;
    return 0;
}

void dev_detach(struct worker *w, struct inst *inst)
{
    struct devconn *d = inst->dev;

    if (!d)
        return;
    epoll_ctl(w->epfd, EPOLL_CTL_DEL, d->fd, NULL);
    close(d->fd);
    explicit_bzero(d->in, sizeof(d->in));
    explicit_bzero(d->out, sizeof(d->out));
    d->tag.dead = 1;
    d->next_dead = w->dead_devs;
    w->dead_devs = d;
    inst->dev = NULL;
}

void dev_reap(struct worker *w)
{
    while (w->dead_devs) {
        struct devconn *d = w->dead_devs;
        w->dead_devs = d->next_dead;
        free(d);
    }
}

/* The module bounds sizes; the header still has to agree with what arrived. */
static size_t answer(struct worker *w, struct devconn *d, size_t n)
{
    struct rm_handles seen = { .n = 0 };
    uint32_t size = 0, rc, h;
    size_t len;

    if (n < TPM_HDR_LEN)
        return tpmcmd_error_response(d->out, TPM2_RC_COMMAND_SIZE);
    rc = tpmcmd_check_header(d->in, &size);
    if (rc == 0 && size != n)
        rc = TPM2_RC_COMMAND_SIZE;
    if (rc)
        return tpmcmd_error_response(d->out, rc);
    len = wk_exec_command(w, d->inst, d->in, n, d->out, sizeof(d->out));
    /* The kernel's resource manager flushes for the device's clients; a handle it was given
     * is no longer one a socket client holds. */
    if ((h = rm_note(&seen, d->in, n, d->out, len)) != 0)
        fe_handle_taken(w, d->inst, h, NULL);
    return len;
}

void dev_event(struct worker *w, struct devconn *d, uint32_t events)
{
    ssize_t n;
    size_t len;

    if (d->tag.dead)
        return;
    n = read(d->fd, d->in, sizeof(d->in));
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    if (n <= 0) { /* 0: the device was destroyed; < 0: the module refused us */
        if (n < 0)
            LOG_WARN("kernel device: read failed: %s", strerror(errno));
        dev_detach(w, d->inst);
        return;
    }
    len = answer(w, d, (size_t)n);
    if (write(d->fd, d->out, len) != (ssize_t)len)
        LOG_WARN("kernel device: response not delivered: %s", strerror(errno));
    explicit_bzero(d->in, (size_t)n);
    explicit_bzero(d->out, len);
    w->commands++;
    (void)events;
}
