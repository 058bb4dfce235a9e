/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The agent service's network process (privsep.c): everything that reads what comes from the
 * verifier's side of the network (libcurl, TLS, HTTP, the JSON and CBOR answers) runs in a
 * child without root or capabilities. The root parent sends a typed request for one of six
 * endpoints and gets back a typed, size-checked answer: a verdict, a nonce, a challenge.
 * The child holds the TLS client key (read by the parent before the fork, the parent's copy
 * wiped); it cannot reach vtpm-mgr, the vTPMs or any file it could write.
 */
#include "netproxy.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
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
    default: r = -EINVAL; break;
    }
    out->h.rc = r < 0 && r >= -4095 ? r : r < 0 ? -EIO : 0;
    if (out->h.rc < 0)
        memset(&out->h.registered, 0, sizeof(out->h) - offsetof(struct net_rep, registered));
    put_node(&out->h, op, &vi);
}

/* The diagnostics of one call: stderr into a memfd meanwhile. */
static int capture(int *saved)
{
    int mf = memfd_create("net-stderr", MFD_CLOEXEC);

    fflush(stderr);
    if (mf < 0 || (*saved = fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 3)) < 0 ||
        dup2(mf, STDERR_FILENO) < 0) {
        if (mf >= 0)
            close(mf);
        return -1;
    }
    return mf;
}

static char *captured(int mf, int saved, uint32_t *len)
{
    off_t n;
    char *buf = NULL;

    *len = 0;
    if (mf < 0)
        return NULL;
    fflush(stderr);
    (void)dup2(saved, STDERR_FILENO);
    close(saved);
    n = lseek(mf, 0, SEEK_END);
    if (n > (off_t)NET_MSG_MAX)
        n = NET_MSG_MAX;
    if (n > 0 && (buf = malloc((size_t)n)) && pread(mf, buf, (size_t)n, 0) == n)
        *len = (uint32_t)n;
    close(mf);
    return buf;
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
    int saved = -1, mf = capture(&saved), r;
    char *msg;

    run_op(&ho, q->op, body, q->body_len, &out, &nonce, &rep);
    msg = captured(mf, saved, &out.h.msg_len);
    r = answer(chan, &out, msg);
    free(msg);
    free(nonce);
    reg_challenge_free(&rep.c);
    return r;
}

static int net_main(void *arg, int chan, int keep)
{
    const struct agent_opts *o = arg;
    struct net_req q;
    uint8_t *body = NULL;
    int r;

    (void)keep;
    while ((r = privsep_read_all(chan, &q, sizeof(q))) == 0) {
        if (q.magic != NET_MAGIC || q.op < NET_NONCE || q.op > NET_HOST_EVIDENCE ||
            q.body_len > NET_BODY_MAX || q.timeout_ms <= 0)
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

int netproxy_spawn(const struct agent_opts *o, pid_t *pid)
{
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
    r = privsep_spawn("attest-agent[net]", &p, NET_NOFILE, -1, net_main, (void *)o, pid);
    http_use_tls_blobs(NULL);
out:
    free(b.ca);
    free(b.cert);
    secure_free(b.key, b.key_len);
    return r;
}

static int g_failed; /* the child broke the protocol or is gone: nothing more is asked */

int netproxy_failed(void)
{
    return g_failed;
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

    if (h->pad || h->node_deny > 1 || !time_ok(h->node_time) || !time_ok(h->node_due) ||
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
    g_failed = 1;
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
    if (g_failed)
        return -EIO;
    if (left <= 0)
        return -ETIMEDOUT;
    if (len > NET_BODY_MAX)
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
        (void)!fwrite(ans->buf + n - ans->h.msg_len, 1, ans->h.msg_len, stderr);
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
    if (vi && !g_failed) { /* a header that passed netproxy_rep_check() */
        vi->node_deny = (int)ans.h.node_deny; /* checked against op and rc in call() */
        vi->node.time = ans.h.node_time;
        vi->node.due = ans.h.node_due;
        vi->node.fresh_until = ans.h.node_fresh_until;
    }
    answer_free(&ans);
    return r;
}
