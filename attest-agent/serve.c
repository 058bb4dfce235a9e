/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The agent service: one process that keeps what a hook run would otherwise rebuild on
 * every container start (libcurl's connections and TLS sessions to the verifier, the host
 * registration, vTPMs created and registered ahead) and checks one container per request.
 * Requests come from root only (SO_PEERCRED) on a 0600 Unix socket; the service measures
 * the bundle and the runtime itself from the OCI state, it takes no measurement from the
 * client. One request at a time: the pool is refilled while no request waits, a little after
 * the last one; re-attestation (reattest.c) runs one step at a time between requests, never
 * more than one step between two of them.
 */
#include "serve.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "ctlproto.h"
#include "deadline.h"
#include "front.h"
#include "hook.h"
#include "hookfwd.h"
#include "netproxy.h"
#include "log.h"
#include "procstat.h"
#include "pool.h"
#include "reattest.h"
#include "sandbox.h"
#include "verifierapi.h"

#define CLIENT_IO_TIMEOUT_S 2      /* to send the request / take the reply */
#define RETRY_FILL_MS       2000   /* after a failed pool refill */
#define STOP_CHECK_MS       1000   /* a SIGTERM just before poll() waits no longer */
#define REFILL_IDLE_MS      250    /* quiet time after a request before a refill */
#define STDERR_REPLY_MAX    (32u * 1024u)

struct service {
    const struct agent_opts *o;
    struct pool pool;
    struct reattest re;
    struct nodetab nodes;         /* node mode: the node-freshness records */
    int host_registered;
    int fd;                       /* the listening socket, until the front has it */
    int chan;                     /* to the front */
    pid_t front;
    int net;                      /* to the network process */
    pid_t netpid;
    int64_t next_fill_ms;         /* deadline_now_ms() value before which no refill starts */
    int served_last;              /* the last loop turn served a request */
};

static volatile sig_atomic_t g_stop;

static void on_stop(int sig)
{
    (void)sig;
    g_stop = 1;
}

static int set_signals(void)
{
    struct sigaction sa = { .sa_handler = on_stop }; /* no SA_RESTART: poll returns EINTR */

    if (sigaction(SIGTERM, &sa, NULL) < 0 || sigaction(SIGINT, &sa, NULL) < 0)
        return -errno;
    signal(SIGPIPE, SIG_IGN);
    return 0;
}

/* Creates the socket directory (0700) when missing; the socket itself is 0600 from bind. */
static int listen_on(const char *path)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    char dir[sizeof(sa.sun_path)], *slash;
    struct stat st;
    mode_t old;
    int fd, r;

    if (strlen(path) >= sizeof(sa.sun_path))
        return -ENAMETOOLONG;
    memcpy(sa.sun_path, path, strlen(path) + 1);
    memcpy(dir, path, strlen(path) + 1);
    if ((slash = strrchr(dir, '/')) && slash != dir) {
        *slash = '\0';
        if (mkdir(dir, 0700) < 0 && errno != EEXIST)
            return -errno;
    }
    if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode))
        unlink(path); /* a stale socket of an earlier run */
    if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
        return -errno;
    old = umask(0177);
    r = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
    umask(old);
    if (r < 0 || listen(fd, 64) < 0) {
        r = -errno;
        close(fd);
        return r;
    }
    return fd;
}

static void reply_error(int fd, int err, const char *msg, int fallback)
{
    cbor_item_t *m = ctl_error(err, msg);

    if (m && !ctl_put_bool(m, "fallback", fallback))
        (void)ctl_send(fd, m);
    if (m)
        cbor_decref(&m);
}

/* The peer's parent: the runtime that runs the hook that connected. */
static int peer_runtime(pid_t pid, char *out, size_t outsz)
{
    char buf[1024];
    const char *f;
    int ppid = 0, r = procstat_read(pid, buf, sizeof(buf), &f);

    if (r < 0)
        return r;
    if (sscanf(f, " %*c %d", &ppid) != 1 || ppid <= 0)
        return -EINVAL;
    snprintf(out, outsz, "/proc/%d/exe", ppid);
    return 0;
}

static int same(const char *a, const char *b)
{
    return a == b || (a && b && !strcmp(a, b));
}

/* The hook's options must name this service's verifier, TLS setup, vtpm-mgr and bindings. */
static int same_setup(const struct agent_opts *s, const struct agent_opts *h)
{
    return same(s->verifier, h->verifier) && same(s->ca, h->ca) && same(s->cert, h->cert) &&
           same(s->key, h->key) && same(s->run_dir, h->run_dir) &&
           same(s->bind_dir, h->bind_dir);
}

/* Sends this request's stderr lines to the client too (they carry the verifier's reasons). */
static int capture_begin(int *saved)
{
    int mf = memfd_create("hook-stderr", MFD_CLOEXEC);

    fflush(stderr);
    if (mf < 0)
        return -1;
    if ((*saved = fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 3)) < 0) {
        close(mf);
        return -1;
    }
    if (dup2(mf, STDERR_FILENO) < 0) {
        close(*saved);
        close(mf);
        return -1;
    }
    return mf;
}

static uint8_t *capture_end(int mf, int saved, size_t *len)
{
    off_t n;
    uint8_t *buf = NULL;

    fflush(stderr);
    (void)dup2(saved, STDERR_FILENO);
    close(saved);
    *len = 0;
    n = lseek(mf, 0, SEEK_END);
    if (n > (off_t)STDERR_REPLY_MAX)
        n = STDERR_REPLY_MAX;
    if (n > 0 && (buf = malloc((size_t)n)) && pread(mf, buf, (size_t)n, 0) == n) {
        *len = (size_t)n;
        (void)!write(STDERR_FILENO, buf, *len); /* the service's own log keeps them too */
    }
    close(mf);
    return buf;
}

static void reply_verdict(int fd, int allowed, const uint8_t *err, size_t len)
{
    cbor_item_t *m = ctl_ok();

    if (m && !ctl_put_bool(m, "allowed", allowed) &&
        !ctl_put_bytes(m, "stderr", err ? err : (const uint8_t *)"", len))
        (void)ctl_send(fd, m);
    if (m)
        cbor_decref(&m);
}

/* Runs the check for a decoded request; the verdict goes back on fd. Otherwise returns why
 * it did not run, *fallback set when the hook should do the work itself. */
static const char *check(struct service *s, int fd, pid_t peer, struct front_req *a,
                         int *fallback)
{
    struct hook_env env = { .take_vtpm = pool_take, .arg = &s->pool,
                            .host_registered = s->host_registered,
                            .attested = reattest_add, .attested_arg = &s->re,
                            .nodes = &s->nodes };
    char runtime[64];
    struct agent_opts ho;
    uint8_t *err;
    size_t n;
    int saved, mf, r;

    *fallback = 0;
    if (opts_parse(a->argc, a->argv, &ho) != 0 || ho.cmd != CMD_HOOK)
        return "hook options not understood";
    *fallback = !same_setup(s->o, &ho);
    if (*fallback)
        return "another verifier, TLS setup or run dir";
    if (peer_runtime(peer, runtime, sizeof(runtime)) < 0)
        return "the hook's runtime process is gone";
    env.runtime = runtime;
    *fallback = (mf = capture_begin(&saved)) < 0;
    if (*fallback)
        return "no stderr capture";
    r = hook_check(&ho, a->state, a->state_len, &env);
    err = capture_end(mf, saved, &n);
    s->host_registered = env.host_registered;
    reply_verdict(fd, r == 0, err, n);
    free(err);
    return NULL;
}

static int peer_is_root(int fd, pid_t *pid)
{
    struct ucred cr;
    socklen_t len = sizeof(cr);

    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) < 0 || len != sizeof(cr))
        return 0;
    *pid = cr.pid;
    return cr.uid == 0;
}

static void set_io_timeout(int fd)
{
    struct timeval tv = { .tv_sec = CLIENT_IO_TIMEOUT_S };

    (void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    (void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

/* A request the front decoded: the client's credentials are checked here again (from the
 * kernel, not from the front), then the check runs and the client gets the verdict. */
static void serve_request(struct service *s, struct front_req *q)
{
    const char *why;
    pid_t peer = 0;
    int fallback;

    if (!peer_is_root(q->client, &peer)) {
        LOG_WARN("request from a non-root peer refused");
        reply_error(q->client, EPERM, "only root may ask", 0);
        return;
    }
    set_io_timeout(q->client);
    if ((why = check(s, q->client, peer, q, &fallback)))
        reply_error(q->client, EINVAL, why, fallback);
}

/* Milliseconds until background work is due: a re-attestation step, or a pool refill (only
 * REFILL_IDLE_MS after the last request: the runtime is still starting that container and
 * needs the CPU more). */
static int64_t work_due_ms(const struct service *s)
{
    int64_t re = reattest_due_ms(&s->re), fill = STOP_CHECK_MS;

    if (s->pool.n < s->o->pool)
        fill = s->next_fill_ms - deadline_now_ms();
    if (re >= 0 && re < fill)
        fill = re;
    return fill < 0 ? 0 : fill > STOP_CHECK_MS ? STOP_CHECK_MS : fill;
}

/* One piece of background work, re-attestation first (the verifier expects it in time). */
static void work(struct service *s)
{
    int r;

    if (reattest_due_ms(&s->re) == 0) {
        reattest_step(&s->re);
        return;
    }
    if (s->pool.n >= s->o->pool || deadline_now_ms() < s->next_fill_ms)
        return;
    r = pool_fill_one(&s->pool);
    s->next_fill_ms = deadline_now_ms() + (r < 0 ? RETRY_FILL_MS : 0);
}

/* Waits for a client, doing background work meanwhile: 1 when a client waits. Right after a
 * request a due re-attestation step goes first, so that a stream of requests cannot starve
 * it; otherwise a waiting client does. */
static int wait_client(struct service *s)
{
    struct pollfd p = { .fd = s->chan, .events = POLLIN };
    int r;

    if (s->served_last && reattest_due_ms(&s->re) == 0) {
        s->served_last = 0;
        reattest_step(&s->re);
        return 0;
    }
    s->served_last = 0;
    r = poll(&p, 1, (int)work_due_ms(s));
    if (r != 0)
        return r > 0;
    work(s);
    return 0;
}

/* 0 when stopped by a signal, -1 when a child is gone or broke the protocol. */
static int serve_loop(struct service *s)
{
    while (!g_stop && !netproxy_failed()) {
        struct front_req q;
        int r;

        if (!wait_client(s))
            continue;
        if ((r = front_recv(s->chan, &q)) < 0) {
            LOG_ERROR("front: %s; stopping", r == -EPIPE ? "gone" : "protocol violated");
            return -1;
        }
        serve_request(s, &q);
        front_req_free(&q);
        s->served_last = 1;
        s->next_fill_ms = deadline_now_ms() + REFILL_IDLE_MS;
    }
    return netproxy_failed() ? -1 : 0;
}

int serve_run(const struct agent_opts *o)
{
    struct service s = { .o = o, .fd = -1, .chan = -1, .net = -1 };
    int i, rc = 1, listening = 0;

    s.pool.o = o;
    s.pool.host_registered = &s.host_registered;
    if (nodetab_init(&s.nodes) < 0) {
        LOG_ERROR("node records: cannot initialise");
        return 1;
    }
    reattest_init(&s.re, o, &s.host_registered, &s.nodes);
    if (set_signals() < 0)
        goto out;
    /* From here on the verifier is reached only through the network process. */
    if ((s.net = netproxy_spawn(o, &s.netpid)) < 0) {
        LOG_ERROR("network process: %s", strerror(-s.net));
        goto out;
    }
    verifier_use_proxy(s.net);
    /* Fill before listening: a hook that finds the socket gets a ready vTPM. */
    for (i = 0; i < o->pool && !g_stop; i++)
        if (pool_fill_one(&s.pool) < 0)
            break;
    if ((s.fd = listen_on(o->listen_socket)) < 0) {
        LOG_ERROR("%s: %s", o->listen_socket, strerror(-s.fd));
        goto out;
    }
    listening = 1;
    /* Hooks that connect meanwhile wait in the backlog: none is served unfiltered. */
    if ((s.chan = front_spawn(s.fd, &s.front)) < 0) {
        LOG_ERROR("front: %s", strerror(-s.chan));
        goto out;
    }
    close(s.fd); /* the front accepts; the path stays ours to remove */
    s.fd = -1;
    if (sandbox_service() < 0) {
        LOG_ERROR("no syscall filter; not serving");
        goto out;
    }
    LOG_INFO("serving hooks on %s (verifier %s, %d vTPMs ready, re-attestation every %d s, "
             "0: off)", o->listen_socket, o->verifier, s.pool.n, o->reattest_s);
    reattest_begin(&s.re);
    rc = serve_loop(&s) < 0 ? 1 : 0;
out:
    if (s.fd >= 0)
        close(s.fd);
    if (s.chan >= 0)
        close(s.chan); /* the children end with this process (PR_SET_PDEATHSIG) */
    if (s.net >= 0)
        close(s.net);
    if (listening)
        unlink(o->listen_socket);
    pool_drain(&s.pool);
    reattest_free(&s.re);
    nodetab_free(&s.nodes);
    LOG_INFO("stopped");
    return rc;
}
