/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The front of the agent service, a sandboxed child (privsep.c): it accepts hook clients on
 * the service socket, refuses non-root peers, reads and decodes the CBOR request (libcbor,
 * lib/ctlproto) under size bounds, and hands the parent a typed message with the client's
 * socket. It never answers a well-formed request itself; the parent does, on that socket.
 */
#include "front.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <seccomp.h>

#include "ctlproto.h"
#include "log.h"
#include "privsep.h"

#define CLIENT_IO_TIMEOUT_MS 2000
#define FRONT_NOFILE 16

static void reply_error(int fd, int err, const char *msg)
{
    cbor_item_t *m = ctl_error(err, msg);

    if (m && !ctl_put_bool(m, "fallback", 0))
        (void)ctl_send(fd, m);
    if (m)
        cbor_decref(&m);
}

static int peer_uid(int fd, uid_t *uid)
{
    struct ucred cr;
    socklen_t len = sizeof(cr);

    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) < 0 || len != sizeof(cr))
        return -EINVAL;
    *uid = cr.uid;
    return 0;
}

/* args: a definite array of at most HOOKFWD_MAX_ARGS definite texts, each shorter than
 * HOOKFWD_MAX_ARG and without NUL, copied NUL-terminated back to back into out. */
static int pack_args(const cbor_item_t *arr, char *out, uint32_t *nargs, uint32_t *len)
{
    size_t i, n, off = 0;

    if (!arr || !cbor_isa_array(arr) || !cbor_array_is_definite(arr) ||
        (n = cbor_array_size(arr)) > HOOKFWD_MAX_ARGS)
        return -EBADMSG;
    for (i = 0; i < n; i++) {
        cbor_item_t *s = cbor_array_get(arr, i);
        size_t k = s && cbor_isa_string(s) && cbor_string_is_definite(s)
                       ? cbor_string_length(s) : HOOKFWD_MAX_ARG;
        int ok = k < HOOKFWD_MAX_ARG && !memchr(cbor_string_handle(s), 0, k);

        if (ok) {
            memcpy(out + off, cbor_string_handle(s), k);
            out[off + k] = '\0';
            off += k + 1;
        }
        if (s)
            cbor_decref(&s);
        if (!ok)
            return -EBADMSG;
    }
    *nargs = (uint32_t)n;
    *len = (uint32_t)off;
    return 0;
}

/* Decodes the request and forwards it with the client's socket; an error reply otherwise. */
static int forward(int chan, int fd, const cbor_item_t *req, char *args, int *sent)
{
    struct front_msg h = { .magic = FRONT_MAGIC };
    const uint8_t *state = NULL;
    size_t len = 0;
    uint64_t v = 0;
    char op[16];
    int r;

    if (ctl_get_uint(req, "v", &v) < 0 || v != HOOKFWD_VERSION ||
        ctl_get_str(req, "op", op, sizeof(op)) < 0 || strcmp(op, "hook") ||
        ctl_get_bytes(req, "state", &state, &len) < 0 || len > HOOKFWD_STATE_MAX ||
        pack_args(ctl_get(req, "args"), args, &h.nargs, &h.args_len) < 0) {
        reply_error(fd, EBADMSG, "malformed request");
        return 0;
    }
    h.state_len = (uint32_t)len;
    if ((r = privsep_send_fd(chan, &h, sizeof(h), fd)) == 0 &&
        (r = privsep_write_all(chan, args, h.args_len)) == 0)
        r = privsep_write_all(chan, state, len);
    *sent = r == 0;
    return r;
}

static int client(int chan, int fd, char *args, int *sent)
{
    cbor_item_t *req = NULL;
    uid_t uid;
    int r;

    *sent = 0;
    if (peer_uid(fd, &uid) < 0 || uid != 0) {
        LOG_WARN("request from a non-root peer refused");
        reply_error(fd, EPERM, "only root may ask");
        return 0;
    }
    privsep_timeouts(fd, CLIENT_IO_TIMEOUT_MS);
    if (ctl_recv(fd, HOOKFWD_REQ_MAX, &req) < 0)
        return 0;
    r = forward(chan, fd, req, args, sent);
    cbor_decref(&req);
    return r;
}

/* After each forwarded request, the parent's credit (FRONT_CREDIT) before the next: at most
 * one client socket is ever in flight on the channel. Without it a burst of clients the
 * parent is not taking yet (every lane busy, its queue full) filled the channel with sockets
 * until sendmsg() failed (ETOOMANYREFS: more descriptors in flight than this process's
 * RLIMIT_NOFILE) and the front, and so the service, stopped. Meanwhile clients wait in the
 * listen backlog. */
static int credit(int chan)
{
    uint8_t c = 0;
    int r = privsep_read_all(chan, &c, 1);

    return r < 0 ? r : c == FRONT_CREDIT ? 0 : -EBADMSG;
}

static int front_main(void *arg, int chan, int lfd)
{
    char *args = malloc(FRONT_ARGS_MAX);

    (void)arg;
    if (!args)
        return 1;
    for (;;) {
        int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
        int r, sent;

        if (fd < 0)
            continue; /* EINTR, a client gone before accept, EMFILE: try the next one */
        r = client(chan, fd, args, &sent);
        close(fd);
        if (r == 0 && sent)
            r = credit(chan);
        if (r < 0) { /* the parent is gone or stopping */
            free(args);
            return r == -EPIPE ? 0 : 1;
        }
    }
}

/* Accept, peer check, CBOR in and out on the client, the channel; malloc; logging. */
static const int front_allowed[] = {
    SCMP_SYS(accept4), SCMP_SYS(getsockopt), SCMP_SYS(setsockopt), SCMP_SYS(read),
    SCMP_SYS(recvfrom), SCMP_SYS(recvmsg), SCMP_SYS(write), SCMP_SYS(writev),
    SCMP_SYS(sendto), SCMP_SYS(sendmsg), SCMP_SYS(close), SCMP_SYS(brk), SCMP_SYS(munmap),
    SCMP_SYS(mremap), SCMP_SYS(madvise), SCMP_SYS(futex), SCMP_SYS(rt_sigreturn),
    SCMP_SYS(rt_sigprocmask), SCMP_SYS(clock_gettime), SCMP_SYS(gettimeofday),
    SCMP_SYS(getpid), SCMP_SYS(newfstatat), SCMP_SYS(fstat), SCMP_SYS(lseek),
    SCMP_SYS(getrandom), SCMP_SYS(restart_syscall), SCMP_SYS(exit), SCMP_SYS(exit_group),
};
static const int front_eacces[] = { SCMP_SYS(openat), SCMP_SYS(open) };

int front_spawn(int lfd, pid_t *pid)
{
    static const struct scf_policy p = {
        .default_action = SCMP_ACT_KILL_PROCESS,
        .allow = front_allowed, .n_allow = sizeof(front_allowed) / sizeof(front_allowed[0]),
        .eacces = front_eacces, .n_eacces = sizeof(front_eacces) / sizeof(front_eacces[0]),
        .flags = SCF_NO_EXEC_MEM,
    };

    return privsep_spawn("attest-agent[front]", &p, FRONT_NOFILE, lfd, front_main, NULL, pid);
}

/* nargs NUL-terminated strings filling buf[0..len) exactly, each shorter than the bound. */
static int split_args(struct front_req *q, uint32_t nargs, uint32_t len)
{
    uint32_t off = 0;

    q->argv[0] = "attest-agent";
    q->argv[1] = "hook";
    q->argc = 2;
    for (uint32_t i = 0; i < nargs; i++) {
        char *end = off < len ? memchr(q->buf + off, 0, len - off) : NULL;
        if (!end || (size_t)(end - (q->buf + off)) >= HOOKFWD_MAX_ARG)
            return -EBADMSG;
        q->argv[q->argc++] = q->buf + off;
        off = (uint32_t)(end - q->buf) + 1;
    }
    return off == len ? 0 : -EBADMSG;
}

int front_recv(int chan, struct front_req *q)
{
    struct front_msg h;
    int r;

    memset(q, 0, sizeof(*q));
    q->client = -1;
    if ((r = privsep_recv_fd(chan, &h, sizeof(h), &q->client)) < 0)
        return r == -EPIPE ? r : -EBADMSG;
    if (h.magic != FRONT_MAGIC || h.nargs > HOOKFWD_MAX_ARGS || h.args_len > FRONT_ARGS_MAX ||
        h.state_len > HOOKFWD_STATE_MAX) {
        r = -EBADMSG;
        goto fail;
    }
    if (!(q->buf = malloc(h.args_len + 1u)) || !(q->state = malloc(h.state_len + 1u))) {
        r = -ENOMEM;
        goto fail;
    }
    privsep_timeouts(chan, CLIENT_IO_TIMEOUT_MS);
    if ((r = privsep_read_all(chan, q->buf, h.args_len)) < 0 ||
        (r = privsep_read_all(chan, q->state, h.state_len)) < 0 ||
        (r = split_args(q, h.nargs, h.args_len)) < 0)
        goto fail;
    q->state_len = h.state_len;
    return 0;
fail:
    front_req_free(q);
    return r == -EPIPE ? r : -EBADMSG;
}

int front_credit(int chan)
{
    const uint8_t c = FRONT_CREDIT;

    return privsep_write_all(chan, &c, 1);
}

void front_req_free(struct front_req *q)
{
    if (q->client >= 0)
        close(q->client);
    free(q->buf);
    free(q->state);
    memset(q, 0, sizeof(*q));
    q->client = -1;
}
