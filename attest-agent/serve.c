/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The agent service: one process that keeps what a hook run would otherwise rebuild on
 * every container start (libcurl's connections and TLS sessions to the verifier, the host
 * registration, vTPMs created and registered ahead) and checks one container per request.
 * Requests come from root only (SO_PEERCRED) on a 0600 Unix socket; the service measures
 * the bundle and the runtime itself from the OCI state, it takes no measurement from the
 * client. Requests are served at once by a fixed set of lanes (threads, each with its own
 * channel to the network process); the main thread only takes decoded requests from the
 * front and queues them. One more thread does the background work: re-attestation, one step
 * at a time, and the pool's refill while no request waits, a little after the last one.
 * Shared state is guarded where it lives: the pool (pool.c), the re-attestation registry
 * (reattest.c), the node records (noderec.c, one refresh in flight), the host TPM's queue
 * (mgrclient.c: one host-TPM command at a time).
 */
#include "serve.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "ctlproto.h"
#include "deadline.h"
#include "front.h"
#include "hook.h"
#include "hookfwd.h"
#include "netproxy.h"
#include "nodemode.h"
#include "log.h"
#include "runlock.h"
#include "sdnotify.h"
#include "procstat.h"
#include "pool.h"
#include "reattest.h"
#include "sandbox.h"
#include "verifierapi.h"

#define CLIENT_IO_TIMEOUT_S 2      /* to send the request / take the reply */
#define RETRY_FILL_MS       2000   /* after a failed pool refill */
#define STOP_CHECK_MS       1000   /* a SIGTERM just before poll() waits no longer */
#define STDERR_REPLY_MAX    (32u * 1024u)
#define QUEUE_MAX           64     /* decoded requests waiting for a lane */
#define LANES_PER_CORE      4      /* a lane mostly waits (vtpm-mgr, the verifier) */
#define LANES_MIN           4
#define LANES_AUTO_MAX      32

struct service {
    const struct agent_opts *o;
    int lanes;                    /* request threads */
    struct pool pool;
    struct reattest re;
    struct nodetab nodes;         /* node mode: the node-freshness records */
    int host_registered;          /* __atomic: any thread */
    int fd;                       /* the listening socket, until the front has it */
    int chan;                     /* to the front */
    pid_t front;
    int net[AGENT_MAX_LANES + 1]; /* to the network process: one per lane, the last for the
                                   * background thread */
    int nnet;
    pid_t netpid;
    pthread_mutex_t opts_mu;      /* opts_parse (getopt's globals) */
    pthread_mutex_t mu;           /* guards what follows */
    pthread_cond_t work;          /* a request was queued, or stopping */
    pthread_cond_t space;         /* the queue has room again */
    pthread_cond_t idle;          /* for the background thread: a request ended, or stopping */
    struct front_req queue[QUEUE_MAX];
    size_t qhead, qn;
    int busy;                     /* requests being served */
    int stopping;
    int64_t next_fill_ms;         /* deadline_now_ms() value before which no refill starts */
};

struct lane {
    struct service *s;
    int chan;                     /* its channel to the network process */
    pthread_t t;
};

static volatile sig_atomic_t g_stop;

static volatile sig_atomic_t g_hup;

static void on_stop(int sig)
{
    (void)sig;
    g_stop = 1;
}

static void on_hup(int sig)
{
    (void)sig;
    g_hup = 1;
}

static int set_signals(void)
{
    struct sigaction sa = { .sa_handler = on_stop }; /* no SA_RESTART: poll returns EINTR */

    struct sigaction hup = { .sa_handler = on_hup };

    if (sigaction(SIGTERM, &sa, NULL) < 0 || sigaction(SIGINT, &sa, NULL) < 0 ||
        sigaction(SIGHUP, &hup, NULL) < 0)
        return -errno;
    signal(SIGPIPE, SIG_IGN);
    return 0;
}

/* The socket's lock (PATH.lock), before anything else: a second service on the same socket
 * stops here, having touched nothing (its socket, its pool's vTPMs). Creates the socket's
 * directory (0700) when missing. The lock's descriptor or -errno (logged). */
static int lock_socket(const char *path)
{
    struct sockaddr_un sa;
    char dir[sizeof(sa.sun_path)], lock[sizeof(sa.sun_path) + 8], what[sizeof(sa.sun_path) + 32];
    char *slash;

    if (strlen(path) >= sizeof(sa.sun_path)) {
        LOG_ERROR("--listen-socket %s: longer than a socket path may be", path);
        return -ENAMETOOLONG;
    }
    memcpy(dir, path, strlen(path) + 1);
    if ((slash = strrchr(dir, '/')) && slash != dir) {
        *slash = '\0';
        if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
            int e = errno;
            LOG_ERROR("--listen-socket %s: cannot make its directory %s: %s", path, dir,
                      strerror(e));
            return -e;
        }
    }
    snprintf(lock, sizeof(lock), "%s.lock", path);
    snprintf(what, sizeof(what), "the hook socket %s", path);
    return runlock_take(lock, what);
}

/* The socket is 0600 from bind; its directory exists (lock_socket). */
static int listen_on(const char *path)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    struct stat st;
    mode_t old;
    int fd, r;

    memcpy(sa.sun_path, path, strlen(path) + 1);
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

/* The peer's parent: the runtime that runs the hook that connected (its pid in *rpid). */
static int peer_runtime(pid_t pid, char *out, size_t outsz, long long *rpid)
{
    char buf[1024];
    const char *f;
    int ppid = 0, r = procstat_read(pid, buf, sizeof(buf), &f);

    if (r < 0)
        return r;
    if (sscanf(f, " %*c %d", &ppid) != 1 || ppid <= 0)
        return -EINVAL;
    snprintf(out, outsz, "/proc/%d/exe", ppid);
    *rpid = ppid;
    return 0;
}

static int same(const char *a, const char *b)
{
    return a == b || (a && b && !strcmp(a, b));
}

/* The same engine storage roots, in the same order. */
static int same_storage(const char *const *a, const char *const *b)
{
    for (; *a && *b; a++, b++)
        if (strcmp(*a, *b))
            return 0;
    return !*a && !*b;
}

/* The hook's options must name this service's verifier, TLS setup, vtpm-mgr, bindings,
 * engine storage roots and CRI and kubelet directories. */
static int same_setup(const struct agent_opts *s, const struct agent_opts *h)
{
    return same(s->verifier, h->verifier) && same(s->ca, h->ca) && same(s->cert, h->cert) &&
           same(s->key, h->key) && same(s->run_dir, h->run_dir) &&
           same(s->bind_dir, h->bind_dir) &&
           same_storage(s->engine_storage, h->engine_storage) &&
           same(s->cri_root, h->cri_root) && same(s->cri_state, h->cri_state) &&
           same(s->kubelet_root, h->kubelet_root);
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
                            .host_registered = __atomic_load_n(&s->host_registered,
                                                               __ATOMIC_RELAXED),
                            .attested = reattest_add, .attested_arg = &s->re,
                            .nodes = &s->nodes };
    char runtime[64];
    struct agent_opts ho;
    char *err;
    size_t n;
    int r;

    *fallback = 0;
    pthread_mutex_lock(&s->opts_mu);
    r = opts_parse(a->argc, a->argv, &ho);
    pthread_mutex_unlock(&s->opts_mu);
    if (r != 0 || ho.cmd != CMD_HOOK)
        return "hook options not understood";
    *fallback = !same_setup(s->o, &ho);
    if (*fallback)
        return "another verifier, TLS setup, run dir, engine storage or CRI/kubelet directory";
    if (peer_runtime(peer, runtime, sizeof(runtime), &env.runtime_pid) < 0)
        return "the hook's runtime process is gone";
    env.runtime = runtime;
    /* This thread's diagnostics go to the client too (they carry the verifier's reasons). */
    *fallback = log_capture_begin(STDERR_REPLY_MAX, 1) < 0;
    if (*fallback)
        return "no stderr capture";
    r = hook_check(&ho, a->state, a->state_len, &env);
    err = log_capture_end(&n);
    __atomic_store_n(&s->host_registered, env.host_registered, __ATOMIC_RELAXED);
    reply_verdict(fd, r == 0, (const uint8_t *)err, n);
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

/* ---- lanes ------------------------------------------------------------------------- */

static void *lane_main(void *arg)
{
    struct lane *l = arg;
    struct service *s = l->s;

    verifier_use_proxy(l->chan); /* this thread's verifier calls: its own channel */
    pthread_mutex_lock(&s->mu);
    for (;;) {
        struct front_req q;

        while (s->qn == 0 && !s->stopping)
            pthread_cond_wait(&s->work, &s->mu);
        if (s->stopping)
            break;
        q = s->queue[s->qhead];
        s->qhead = (s->qhead + 1) % QUEUE_MAX;
        s->qn--;
        s->busy++;
        pthread_cond_signal(&s->space);
        pthread_mutex_unlock(&s->mu);
        serve_request(s, &q);
        front_req_free(&q);
        pthread_mutex_lock(&s->mu);
        s->busy--;
        s->next_fill_ms = deadline_now_ms() + s->o->refill_ms;
        pthread_cond_signal(&s->idle);
    }
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

/* ---- background work ------------------------------------------------------------------ */

/* Milliseconds until background work is due (mu held): a re-attestation step, or a pool
 * refill (only while no request waits or runs and --refill-after ms after the last one: the
 * runtime is still starting that container and needs the CPU more). */
static int64_t work_due_ms(struct service *s, int *refill)
{
    int64_t re = reattest_due_ms(&s->re), fill = STOP_CHECK_MS;

    *refill = 0;
    if (pool_count(&s->pool) < s->o->pool && s->busy == 0 && s->qn == 0) {
        fill = s->next_fill_ms - deadline_now_ms();
        *refill = fill <= 0;
    }
    if (re >= 0 && re < fill) {
        fill = re;
        *refill = 0;
    }
    return fill < 0 ? 0 : fill > STOP_CHECK_MS ? STOP_CHECK_MS : fill;
}

static void wait_ms(struct service *s, int64_t ms)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += (ms % 1000) * 1000000;
    if (ts.tv_nsec >= 1000000000) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000;
    }
    (void)pthread_cond_timedwait(&s->idle, &s->mu, &ts);
}

/* Re-attestation first (the verifier expects it in time; it runs beside requests, so a
 * stream of them cannot starve it), then the pool's refill. */
static void *background_main(void *arg)
{
    struct service *s = arg;

    verifier_use_proxy(s->net[s->lanes]);
    pthread_mutex_lock(&s->mu);
    while (!s->stopping) {
        int refill, r;
        int64_t due = work_due_ms(s, &refill);

        if (due > 0) {
            wait_ms(s, due);
            continue;
        }
        pthread_mutex_unlock(&s->mu);
        if (!refill) {
            reattest_step(&s->re);
            pthread_mutex_lock(&s->mu);
            continue;
        }
        r = pool_fill_one(&s->pool);
        pthread_mutex_lock(&s->mu);
        s->next_fill_ms = deadline_now_ms() + (r < 0 ? RETRY_FILL_MS : 0);
    }
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

/* Node mode: the node's verdict is made before the socket appears (one host quote), so that
 * no start, the first ones of a burst included, waits for a host quote on its path; later
 * refreshes are the re-attestation's host step, ahead of the verdict's end. A failure is only
 * logged: the first start then sends the host evidence itself, as before. */
static void node_ahead(struct service *s)
{
    const struct agent_opts *o = s->o;
    struct mgr_client mgr = { .run_dir = o->run_dir, .timeout_ms = o->timeout_ms };
    struct http_opts ho = { .base_url = o->verifier, .ca = o->ca, .cert = o->cert,
                            .key = o->key, .deadline = deadline_now_ms() + o->timeout_ms };
    struct nodemode nm = { .o = o, .tab = &s->nodes, .mgr = &mgr, .ho = &ho,
                           .host_registered = &s->host_registered };
    int r;

    if (o->host.off || o->host.mode != HOST_MODE_NODE)
        return;
    if ((r = nodemode_ensure(&nm, 0, o->timeout_ms, 1, NULL)) < 0)
        LOG_WARN("node verdict not made ahead (%s): the first start sends host evidence",
                 r == -EACCES ? "denied" : strerror(-r));
}

/* ---- the main thread: requests from the front into the queue ------------------------- */

static void wait_space(struct service *s)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += STOP_CHECK_MS / 1000;
    (void)pthread_cond_timedwait(&s->space, &s->mu, &ts);
}

/* 0 when stopped by a signal, -1 when a child is gone or broke the protocol. */
static int serve_loop(struct service *s)
{
    while (!g_stop && !netproxy_failed()) {
        struct pollfd p = { .fd = s->chan, .events = POLLIN };
        struct front_req q;
        int r, full;

        if (g_hup) {
            g_hup = 0;
            /* Settings are read at start; the verifier's TLS files are read per connection. */
            LOG_INFO("SIGHUP: nothing to reload (restart the service to change its settings)");
        }
        pthread_mutex_lock(&s->mu);
        full = s->qn == QUEUE_MAX;
        if (full) /* every lane busy and the queue full: the front waits, then the backlog */
            wait_space(s);
        pthread_mutex_unlock(&s->mu);
        if (full || poll(&p, 1, STOP_CHECK_MS) <= 0)
            continue;
        if ((r = front_recv(s->chan, &q)) < 0) {
            LOG_ERROR("front: %s; stopping", r == -EPIPE ? "gone" : "protocol violated");
            return -1;
        }
        pthread_mutex_lock(&s->mu);
        s->queue[(s->qhead + s->qn) % QUEUE_MAX] = q;
        s->qn++;
        pthread_cond_signal(&s->work);
        pthread_mutex_unlock(&s->mu);
        if ((r = front_credit(s->chan)) < 0) { /* the next one: room is checked above */
            LOG_ERROR("front: %s; stopping", strerror(-r));
            return -1;
        }
    }
    return netproxy_failed() ? -1 : 0;
}

static int lanes_for(const struct agent_opts *o)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN) * LANES_PER_CORE;

    if (o->lanes > 0)
        return o->lanes;
    return n < LANES_MIN ? LANES_MIN : n > LANES_AUTO_MAX ? LANES_AUTO_MAX : (int)n;
}

static int sync_init(struct service *s)
{
    pthread_condattr_t ca;
    int r;

    if ((r = pthread_condattr_init(&ca)) != 0)
        return -r;
    if ((r = pthread_condattr_setclock(&ca, CLOCK_MONOTONIC)) == 0 &&
        (r = pthread_cond_init(&s->idle, &ca)) == 0 &&
        (r = pthread_cond_init(&s->space, &ca)) == 0 &&
        (r = pthread_cond_init(&s->work, NULL)) == 0 &&
        (r = pthread_mutex_init(&s->mu, NULL)) == 0)
        r = pthread_mutex_init(&s->opts_mu, NULL);
    pthread_condattr_destroy(&ca);
    return -r;
}

/* Lanes and the background thread, after the syscall filter (threads inherit it), with
 * SIGTERM and SIGINT blocked: the main thread's poll() takes them. The number started. */
static int start_threads(struct service *s, struct lane *l, pthread_t *bg, int *bg_started)
{
    sigset_t set, old;
    int i;

    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, &old);
    for (i = 0; i < s->lanes; i++) {
        l[i] = (struct lane){ .s = s, .chan = s->net[i] };
        if (pthread_create(&l[i].t, NULL, lane_main, &l[i]) != 0)
            break;
    }
    *bg_started = i == s->lanes && pthread_create(bg, NULL, background_main, s) == 0;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return i;
}

static void stop_threads(struct service *s, struct lane *l, int n, pthread_t bg,
                         int bg_started)
{
    pthread_mutex_lock(&s->mu);
    s->stopping = 1;
    pthread_cond_broadcast(&s->work);
    pthread_cond_broadcast(&s->idle);
    pthread_mutex_unlock(&s->mu);
    for (int i = 0; i < n; i++) /* each finishes the request it serves (its own bound) */
        pthread_join(l[i].t, NULL);
    if (bg_started)
        pthread_join(bg, NULL);
    while (s->qn > 0) { /* not served: their hooks see the socket close */
        front_req_free(&s->queue[s->qhead]);
        s->qhead = (s->qhead + 1) % QUEUE_MAX;
        s->qn--;
    }
}

int serve_run(const struct agent_opts *o)
{
    static struct service s; /* the queue is large: not on the stack */
    struct lane lanes[AGENT_MAX_LANES];
    pthread_t bg;
    int i, rc = 1, listening = 0, started = 0, bg_started = 0, r, lock;

    if ((lock = lock_socket(o->listen_socket)) < 0)
        return 1;
    sdnotify_init(); /* before the sandbox: later only a write(2) */
    s = (struct service){ .o = o, .fd = -1, .chan = -1, .lanes = lanes_for(o) };
    for (i = 0; i < AGENT_MAX_LANES + 1; i++)
        s.net[i] = -1;
    if (nodetab_init(&s.nodes) < 0 || sync_init(&s) < 0 ||
        pool_init(&s.pool, o, &s.host_registered) < 0) {
        LOG_ERROR("service: cannot initialise its locks");
        close(lock);
        return 1;
    }
    reattest_init(&s.re, o, &s.host_registered, &s.nodes);
    if (set_signals() < 0)
        goto out;
    /* From here on the verifier is reached only through the network process: one channel
     * per lane and one for the background work (this thread's until the threads start). */
    if ((r = netproxy_spawn(o, s.lanes + 1, s.net, &s.netpid)) < 0) {
        LOG_ERROR("network process: %s", strerror(-r));
        goto out;
    }
    s.nnet = s.lanes + 1;
    verifier_use_proxy(s.net[s.lanes]);
    /* Fill before listening: a hook that finds the socket gets a ready vTPM. */
    for (i = 0; i < o->pool && !g_stop; i++)
        if (pool_fill_one(&s.pool) < 0)
            break;
    if (!g_stop)
        node_ahead(&s);
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
    reattest_start_clock(&s.re);
    started = start_threads(&s, lanes, &bg, &bg_started);
    if (started < s.lanes || !bg_started) {
        LOG_ERROR("cannot start the service's threads (%d of %d lanes)", started, s.lanes);
        goto out;
    }
    LOG_INFO("serving hooks on %s (verifier %s, %d requests at once, %d vTPMs ready, "
             "re-attestation every %d s, 0: off)", o->listen_socket, o->verifier, s.lanes,
             pool_count(&s.pool), o->reattest_s);
    sdnotify("READY=1");
    rc = serve_loop(&s) < 0 ? 1 : 0;
    sdnotify("STOPPING=1");
out:
    stop_threads(&s, lanes, started, bg, bg_started);
    if (s.fd >= 0)
        close(s.fd);
    if (s.chan >= 0)
        close(s.chan); /* the children end with this process (PR_SET_PDEATHSIG) */
    for (i = 0; i < s.nnet; i++)
        close(s.net[i]);
    if (listening)
        unlink(o->listen_socket);
    pool_drain(&s.pool);
    pool_fini(&s.pool);
    reattest_free(&s.re);
    nodetab_free(&s.nodes);
    close(lock); /* after the socket is gone: the next service may start */
    LOG_INFO("stopped");
    return rc;
}
