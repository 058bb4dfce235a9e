/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The agent service's network process (privsep.c): everything that reads what comes from the
 * verifier's side of the network (libcurl, TLS, HTTP, the JSON and CBOR answers) runs in a
 * child without root or capabilities. The root parent sends a typed request for one of six
 * endpoints and gets back a typed, size-checked answer: a verdict, a nonce, a challenge.
 * The child holds the TLS client key (read by the parent before the fork, the parent's copy
 * wiped); it cannot reach vtpm-mgr, the vTPMs or any file it could write. It serves one
 * channel per thread of the parent that calls the verifier (the service's lanes and its
 * background thread), each in a thread of its own with its own libcurl handle.
 */
#include "netproxy.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <seccomp.h>

#include "deadline.h"
#include "fileio.h"
#include "log.h"
#include "privsep.h"
#include "secmem.h"
#include "verifierapi.h"

#define NET_NOFILE   256
#define NET_SLACK_MS 500   /* the child's own bound first, then the parent's */

/* ---------------------------------------------------------------- the child */

struct net_out {               /* what one call produced, for the answer */
    struct net_rep h;
    const void *id, *a, *b;
};

static const char *op_path(uint32_t op)
{
    return op == NET_REGISTER_AK ? "/v1/register" : "/v1/hosts/register";
}

/* What the verifier's answer said about the node (node mode), into the answer's header. */
static void put_node(struct net_rep *h, uint32_t op, const struct verdict_info *vi)
{
    h->node_deny = op == NET_EVIDENCE && h->rc == -EACCES && vi->node_deny ? 1 : 0;
    h->mf_missing = op == NET_EVIDENCE && h->rc == -EACCES && vi->manifest_missing ? 1 : 0;
    if (op != NET_HOST_EVIDENCE || h->rc != 0)
        return;
    h->node_time = vi->node.time;
    h->node_due = vi->node.due;
    h->node_fresh_until = vi->node.fresh_until;
}

static void run_op(const struct http_opts *ho, uint32_t op, const uint8_t *body, size_t len,
                   struct net_out *out, uint8_t **nonce, struct reg_reply *rep)
{
    struct verdict_info vi = { 0 };
    size_t n = 0;
    int r;

    switch (op) {
    case NET_NONCE:
        if ((r = verifier_nonce(ho, nonce, &n)) == 0)
            out->a = *nonce, out->h.a_len = (uint32_t)n;
        break;
    case NET_REGISTER_AK:
    case NET_REGISTER_HOST:
        r = verifier_register(ho, op_path(op), body, len, rep);
        if (r == 0 && !(out->h.registered = rep->registered ? 1 : 0)) {
            out->id = rep->c.registration;
            out->h.id_len = (uint32_t)strlen(rep->c.registration);
            out->a = rep->c.blob, out->h.a_len = (uint32_t)rep->c.blob_len;
            out->b = rep->c.secret, out->h.b_len = (uint32_t)rep->c.secret_len;
        }
        break;
    case NET_ACTIVATE: r = verifier_activate(ho, body, len); break;
    case NET_EVIDENCE: r = verifier_send_evidence(ho, body, len, &vi); break;
    case NET_HOST_EVIDENCE: r = verifier_send_host_evidence(ho, body, len, &vi); break;
    case NET_MANIFEST: {
        int up = 0;

        r = verifier_manifest(ho, body, len, &up);
        out->h.registered = r == 0 && up ? 1 : 0;
        break;
    }
    default: r = -EINVAL; break;
    }
    out->h.rc = r < 0 && r >= -4095 ? r : r < 0 ? -EIO : 0;
    if (out->h.rc < 0)
        memset(&out->h.registered, 0, sizeof(out->h) - offsetof(struct net_rep, registered));
    put_node(&out->h, op, &vi);
}

static int answer(int chan, const struct net_out *out, const char *msg)
{
    int r = privsep_write_all(chan, &out->h, sizeof(out->h));

    if (r == 0)
        r = privsep_write_all(chan, out->id, out->h.id_len);
    if (r == 0)
        r = privsep_write_all(chan, out->a, out->h.a_len);
    if (r == 0)
        r = privsep_write_all(chan, out->b, out->h.b_len);
    if (r == 0)
        r = privsep_write_all(chan, msg, out->h.msg_len);
    return r;
}

static int serve_one(int chan, const struct agent_opts *o, const struct net_req *q,
                     const uint8_t *body)
{
    struct http_opts ho = { .base_url = o->verifier, .ca = o->ca, .cert = o->cert,
                            .key = o->key, .deadline = deadline_now_ms() + q->timeout_ms };
    struct net_out out = { .h = { .magic = NET_MAGIC } };
    struct reg_reply rep = { 0 };
    uint8_t *nonce = NULL;
    size_t n = 0;
    char *msg;
    int r;

    /* The diagnostics of this call (this thread's only) go back with the answer. */
    (void)log_capture_begin(NET_MSG_MAX, 0);
    run_op(&ho, q->op, body, q->body_len, &out, &nonce, &rep);
    msg = log_capture_end(&n);
    out.h.msg_len = (uint32_t)n;
    r = answer(chan, &out, msg);
    free(msg);
    free(nonce);
    reg_challenge_free(&rep.c);
    return r;
}

/* One channel: requests one after the other until EOF (0) or a broken request (1). */
static int serve_chan(int chan, const struct agent_opts *o)
{
    struct net_req q;
    uint8_t *body = NULL;
    int r;

    while ((r = privsep_read_all(chan, &q, sizeof(q))) == 0) {
        if (q.magic != NET_MAGIC || q.op < NET_NONCE || q.op > NET_MANIFEST ||
            q.body_len > (q.op == NET_MANIFEST ? NET_MANIFEST_MAX : NET_BODY_MAX) ||
            q.timeout_ms <= 0)
            return 1;
        if (!(body = malloc(q.body_len + 1u)) ||
            (r = privsep_read_all(chan, body, q.body_len)) < 0 ||
            (r = serve_one(chan, o, &q, body)) < 0)
            break;
        free(body);
        body = NULL;
    }
    free(body);
    return r == -EPIPE ? 0 : 1; /* EOF: the parent stopped */
}

struct net_spawn {
    const struct agent_opts *o;
    int nchan;                 /* channels: the first one, the rest passed on it */
};

static const struct agent_opts *g_net_opts;

static void *chan_thread(void *arg)
{
    int chan = (int)(intptr_t)arg;

    if (serve_chan(chan, g_net_opts) != 0)
        _exit(1); /* a broken request on any channel ends the process: the parent stops */
    close(chan);
    return NULL;
}

/* The parent's other channels first (each a descriptor on the first channel), one thread
 * each; then this thread serves the first channel. Its EOF ends the process. */
static int net_main(void *arg, int chan, int keep)
{
    const struct net_spawn *sp = arg;

    (void)keep;
    g_net_opts = sp->o;
    for (int i = 1; i < sp->nchan; i++) {
        struct net_chan_msg m;
        pthread_t t;
        int fd = -1;

        if (privsep_recv_fd(chan, &m, sizeof(m), &fd) < 0 || m.magic != NET_CHAN_MAGIC ||
            m.index != (uint32_t)i || pthread_create(&t, NULL, chan_thread,
                                                     (void *)(intptr_t)fd) != 0)
            return 1;
        pthread_detach(t);
    }
    return serve_chan(chan, sp->o);
}

/* ---------------------------------------------------------------- the filter */

/* DNS (files, resolv.conf, UDP/TCP, netlink for AI_ADDRCONFIG), TCP and TLS, libcurl's
 * resolver thread, read-only files (system CA store), the stderr capture. */
static const int net_allowed[] = {
    /* beyond SCF_DAEMON_BASE: the resolver's bind (netlink) and batched UDP queries */
    SCMP_SYS(bind), SCMP_SYS(sendmmsg), SCMP_SYS(recvmmsg),
};

/* ---------------------------------------------------------------- the parent */

static int read_opt(const char *path, void **buf, size_t *len)
{
    uint8_t *b = NULL;
    int r;

    *buf = NULL;
    *len = 0;
    if (!path)
        return 0;
    if ((r = file_read_all(AT_FDCWD, path, 1u << 20, &b, len)) < 0) {
        LOG_ERROR("%s: %s", path, strerror(-r));
        return r;
    }
    *buf = b;
    return 0;
}

/* Hands the child one more channel: the parent's end, or -errno. */
static int add_channel(int first, int index)
{
    struct net_chan_msg m = { .magic = NET_CHAN_MAGIC, .index = (uint32_t)index };
    int sv[2], r;

    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
        return -errno;
    r = privsep_send_fd(first, &m, sizeof(m), sv[1]);
    close(sv[1]);
    if (r < 0) {
        close(sv[0]);
        return r;
    }
    return sv[0];
}

int netproxy_spawn(const struct agent_opts *o, int nchan, int *chans, pid_t *pid)
{
    const struct net_spawn sp = { .o = o, .nchan = nchan };
    static const struct scf_policy p = {
        .default_action = SCMP_ACT_ERRNO(EPERM),
        .allow = net_allowed, .n_allow = sizeof(net_allowed) / sizeof(net_allowed[0]),
        .flags = SCF_DAEMON_BASE | SCF_NO_EXEC_MEM | SCF_THREADS | SCF_OWN_SIGNALS |
                 SCF_OPEN_RDONLY,
    };
    struct http_tls_blobs b = { 0 };
    int r;

    if ((r = read_opt(o->ca, &b.ca, &b.ca_len)) < 0 ||
        (r = read_opt(o->cert, &b.cert, &b.cert_len)) < 0 ||
        (r = read_opt(o->key, &b.key, &b.key_len)) < 0)
        goto out;
    http_use_tls_blobs(&b); /* in the child; the parent does no HTTP any more */
    if (nchan < 1 || nchan > NET_CHANS_MAX) {
        r = -EINVAL;
        goto out;
    }
    r = privsep_spawn("attest-agent[net]", &p, NET_NOFILE, -1, net_main, (void *)&sp, pid);
    http_use_tls_blobs(NULL);
    if (r < 0)
        goto out;
    chans[0] = r;
    for (int i = 1; i < nchan; i++) {
        if ((chans[i] = add_channel(chans[0], i)) < 0) {
            r = chans[i];
            while (i-- > 0)
                close(chans[i]); /* the child sees EOF and ends */
            goto out;
        }
    }
    r = 0;
out:
    free(b.ca);
    free(b.cert);
    secure_free(b.key, b.key_len);
    return r;
}

static int g_failed; /* the child broke the protocol or is gone: nothing more is asked
                      * (any thread's channel; __atomic) */

int netproxy_failed(void)
{
    return __atomic_load_n(&g_failed, __ATOMIC_SEQ_CST);
}

static int time_ok(int64_t t)
{
    return t >= 0 && t <= NET_TIME_MAX;
}

/* node_deny only on a denied container evidence, the node's times only on allowed host-only
 * evidence, each in range. */
static int node_fields_ok(const struct net_rep *h, enum net_op op)
{
    int times = h->node_time || h->node_due || h->node_fresh_until;

    if (h->mf_missing > 1 || (h->mf_missing && (op != NET_EVIDENCE || h->rc != -EACCES)) ||
        h->node_deny > 1 || !time_ok(h->node_time) || !time_ok(h->node_due) ||
        !time_ok(h->node_fresh_until))
        return 0;
    if (h->node_deny && (op != NET_EVIDENCE || h->rc != -EACCES))
        return 0;
    return !times || (op == NET_HOST_EVIDENCE && h->rc == 0);
}

int netproxy_rep_check(const struct net_rep *h, enum net_op op)
{
    int reg = op == NET_REGISTER_AK || op == NET_REGISTER_HOST;

    if (h->magic != NET_MAGIC || h->rc > 0 || h->rc < -4095 || h->registered > 1 ||
        h->id_len >= REG_ID_MAX || h->a_len > NET_BLOB_MAX || h->b_len > NET_BLOB_MAX ||
        h->msg_len > NET_MSG_MAX || !node_fields_ok(h, op))
        return -EBADMSG;
    if (op == NET_MANIFEST) /* registered: uploaded (only on success) */
        return h->id_len || h->a_len || h->b_len || (h->registered && h->rc) ? -EBADMSG : 0;
    if (h->rc < 0 || (!reg && op != NET_NONCE)) /* an error, or a call that has a verdict */
        return h->registered || h->id_len || h->a_len || h->b_len ? -EBADMSG : 0;
    if (op == NET_NONCE)
        return !h->registered && !h->id_len && !h->b_len && h->a_len >= NONCE_MIN &&
                       h->a_len <= 64 ? 0 : -EBADMSG;
    if (h->registered)
        return h->id_len || h->a_len || h->b_len ? -EBADMSG : 0;
    return h->id_len && h->a_len && h->b_len ? 0 : -EBADMSG; /* a challenge */
}

struct net_answer {
    struct net_rep h;
    uint8_t *buf;              /* id, a, b, msg back to back */
};

static int broken(int r, const char *why)
{
    __atomic_store_n(&g_failed, 1, __ATOMIC_SEQ_CST);
    LOG_ERROR("network process: %s (%s); the service stops", why, strerror(-r));
    return -EIO;
}

/* One request and its checked answer; its diagnostics go to this process's stderr. */
static int call(int chan, const struct http_opts *o, enum net_op op, const uint8_t *body,
                size_t len, struct net_answer *ans)
{
    int64_t left = deadline_left_ms(o->deadline);
    struct net_req q = { .magic = NET_MAGIC, .op = op, .body_len = (uint32_t)len };
    size_t n;
    int r;

    memset(ans, 0, sizeof(*ans));
    if (netproxy_failed())
        return -EIO;
    if (left <= 0)
        return -ETIMEDOUT;
    if (len > (op == NET_MANIFEST ? NET_MANIFEST_MAX : NET_BODY_MAX))
        return -EMSGSIZE;
    q.timeout_ms = (int32_t)(left > INT32_MAX - NET_SLACK_MS ? INT32_MAX - NET_SLACK_MS : left);
    privsep_timeouts(chan, q.timeout_ms + NET_SLACK_MS);
    if ((r = privsep_write_all(chan, &q, sizeof(q))) < 0 ||
        (r = privsep_write_all(chan, body, len)) < 0 ||
        (r = privsep_read_all(chan, &ans->h, sizeof(ans->h))) < 0)
        return broken(r, "no answer");
    if (netproxy_rep_check(&ans->h, op) < 0)
        return broken(-EBADMSG, "malformed answer");
    n = (size_t)ans->h.id_len + ans->h.a_len + ans->h.b_len + ans->h.msg_len;
    if (!(ans->buf = malloc(n + 1)))
        return broken(-ENOMEM, "no memory");
    if ((r = privsep_read_all(chan, ans->buf, n)) < 0)
        return broken(r, "answer cut short");
    if (memchr(ans->buf, 0, ans->h.id_len))
        return broken(-EBADMSG, "malformed answer");
    if (ans->h.msg_len)
        log_diag_raw((const char *)ans->buf + n - ans->h.msg_len, ans->h.msg_len);
    return ans->h.rc;
}

static void answer_free(struct net_answer *ans)
{
    if (ans->buf)
        secure_free(ans->buf, (size_t)ans->h.id_len + ans->h.a_len + ans->h.b_len +
                                  ans->h.msg_len + 1);
    memset(ans, 0, sizeof(*ans));
}

static uint8_t *dup_mem(const uint8_t *p, size_t n)
{
    uint8_t *d = malloc(n ? n : 1);

    if (d)
        memcpy(d, p, n);
    return d;
}

int netproxy_nonce(int chan, const struct http_opts *o, uint8_t **nonce, size_t *len)
{
    struct net_answer ans;
    int r = call(chan, o, NET_NONCE, NULL, 0, &ans);

    if (r == 0 && !(*nonce = dup_mem(ans.buf, ans.h.a_len)))
        r = -ENOMEM;
    if (r == 0)
        *len = ans.h.a_len;
    answer_free(&ans);
    return r;
}

int netproxy_register(int chan, const struct http_opts *o, const char *path,
                      const uint8_t *body, size_t len, struct reg_reply *out)
{
    enum net_op op = strcmp(path, "/v1/register") ? NET_REGISTER_HOST : NET_REGISTER_AK;
    struct net_answer ans;
    struct reg_challenge *c = &out->c;
    int r = call(chan, o, op, body, len, &ans);

    memset(out, 0, sizeof(*out));
    if (r == 0 && ans.h.registered)
        out->registered = 1;
    else if (r == 0) {
        memcpy(c->registration, ans.buf, ans.h.id_len);
        c->registration[ans.h.id_len] = '\0';
        c->blob = dup_mem(ans.buf + ans.h.id_len, ans.h.a_len);
        c->secret = dup_mem(ans.buf + ans.h.id_len + ans.h.a_len, ans.h.b_len);
        c->blob_len = ans.h.a_len;
        c->secret_len = ans.h.b_len;
        if (!c->blob || !c->secret) {
            reg_challenge_free(c);
            r = -ENOMEM;
        }
    }
    answer_free(&ans);
    return r;
}

int netproxy_post(int chan, const struct http_opts *o, enum net_op op, const uint8_t *body,
                  size_t len, struct verdict_info *vi)
{
    struct net_answer ans;
    int r = call(chan, o, op, body, len, &ans);

    if (vi)
        memset(vi, 0, sizeof(*vi));
    if (vi && !netproxy_failed()) { /* a header that passed netproxy_rep_check() */
        vi->node_deny = (int)ans.h.node_deny; /* checked against op and rc in call() */
        vi->manifest_missing = (int)ans.h.mf_missing;
        vi->node.time = ans.h.node_time;
        vi->node.due = ans.h.node_due;
        vi->node.fresh_until = ans.h.node_fresh_until;
    }
    answer_free(&ans);
    return r;
}

int netproxy_manifest(int chan, const struct http_opts *o, const uint8_t *mf, size_t len,
                      int *uploaded)
{
    struct net_answer ans;
    int r = call(chan, o, NET_MANIFEST, mf, len, &ans);

    *uploaded = r == 0 && ans.h.registered;
    answer_free(&ans);
    return r;
}
