/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vtpm-mgr's lifecycle: directories and lock, the host TPM link and state key, loading every
 * vTPM into workers, the main loop (control socket, worker messages, signals), and the
 * graceful stop that saves every vTPM's volatile state.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/file.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fileio.h"
#include "log.h"
#include "mgr.h"
#include "runlock.h"
#include "sdnotify.h"

#define TAG_CTL    (1ull << 32)
#define TAG_SIG    (2ull << 32)
#define TAG_WORKER (3ull << 32)
#define TAG_PIDFD  (4ull << 32)

static int open_dir(int at, const char *path, mode_t mode)
{
    int fd;

    if (mkdirat(at, path, mode) != 0 && errno != EEXIST)
        return -errno;
    fd = openat(at, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
    return fd < 0 ? -errno : fd;
}

/* A directory of the daemon's (made when missing), named in the error. */
static int open_named_dir(int at, const char *path, mode_t mode, const char *shown)
{
    int fd = open_dir(at, path, mode);

    if (fd < 0)
        LOG_ERROR("directory %s: %s", shown, strerror(-fd));
    return fd;
}

static int open_dirs(struct mgr *m)
{
    const struct mgr_config *c = m->cfg;
    char shown[PATH_MAX + 16];

    /* Containers' users traverse it to their own vTPM directory (umask is 077 here). */
    if (fchmod(m->run_fd, 0755) != 0)
        return -errno;
    snprintf(shown, sizeof(shown), "%s/host", c->state_dir);
    if ((m->host_fd = open_named_dir(m->state_fd, "host", 0700, shown)) < 0)
        return m->host_fd;
    snprintf(shown, sizeof(shown), "%s/vtpm", c->state_dir);
    if ((m->vtpm_fd = open_named_dir(m->state_fd, "vtpm", 0700, shown)) < 0)
        return m->vtpm_fd;
    /* Traversable but not listable: a user cannot enumerate other containers' vTPMs. */
    snprintf(shown, sizeof(shown), "%s/vtpm", c->run_dir);
    if ((m->vrun_fd = open_named_dir(m->run_fd, "vtpm", 0711, shown)) < 0)
        return m->vrun_fd;
    if (fchmod(m->vrun_fd, 0711) != 0)
        return -errno;
    /* Workers' records and rendezvous sockets: the parent's alone (see adopt.c). */
    snprintf(shown, sizeof(shown), "%s/workers", c->run_dir);
    if ((m->pool.wdir_fd = open_named_dir(m->run_fd, "workers", 0700, shown)) < 0)
        return m->pool.wdir_fd;
    return fchmod(m->pool.wdir_fd, 0700) == 0 ? 0 : -errno;
}

/* The state directory's lock: one daemon (or --reseal, --accept-state) per state directory. */
static int take_lock(struct mgr *m)
{
    char path[PATH_MAX + 32], what[PATH_MAX + 32];
    int fd;

    snprintf(path, sizeof(path), "%s/vtpm-mgr.lock", m->cfg->state_dir);
    snprintf(what, sizeof(what), "the state directory %s", m->cfg->state_dir);
    if ((fd = runlock_take(path, what)) < 0)
        return fd;
    m->lock_fd = fd;
    return 0;
}

/* The control socket's lock (<run-dir>/vtpm-mgr.sock.lock), taken before anything in the run
 * directory is made or removed: a second daemon on the same run directory stops here. */
static int take_run_lock(struct mgr *m)
{
    char path[PATH_MAX + 32], what[PATH_MAX + 48];
    int fd;

    snprintf(path, sizeof(path), "%s/" CTL_SOCK_NAME ".lock", m->cfg->run_dir);
    snprintf(what, sizeof(what), "the control socket %s/" CTL_SOCK_NAME, m->cfg->run_dir);
    if ((fd = runlock_take(path, what)) < 0)
        return fd;
    m->run_lock_fd = fd;
    return 0;
}

/* Both top directories (made when missing, nothing inside them yet), then both locks. */
static int lock_dirs(struct mgr *m)
{
    const struct mgr_config *c = m->cfg;
    int r;

    if ((m->run_fd = open_named_dir(AT_FDCWD, c->run_dir, 0755, c->run_dir)) < 0)
        return m->run_fd;
    if ((r = take_run_lock(m)) < 0)
        return r;
    if ((m->state_fd = open_named_dir(AT_FDCWD, c->state_dir, 0700, c->state_dir)) < 0)
        return m->state_fd;
    return take_lock(m);
}

static int host_setup(struct mgr *m)
{
    int r = hosttpm_open(&m->cfg->host, &m->host);

    if (r) {
        LOG_ERROR("cannot open the host TPM at %s: %s", m->cfg->host_tcti, strerror(-r));
        return r;
    }
    r = hosttpm_provision(m->host, m->host_fd);
    if (r) {
        LOG_ERROR("host TPM provisioning failed: %s", strerror(-r));
        return r;
    }
    r = hosttpm_state_key(m->host, m->host_fd, 1, m->master_key);
    if (r == -EACCES)
        LOG_ERROR("the state key no longer unseals: the host's PCRs changed. "
                  "See docs/operations.md, 're-sealing the state key'");
    else if (r)
        LOG_ERROR("state key: %s", strerror(-r));
    if (r)
        return r;
    r = issuer_open(m->host, m->host_fd, m->master_key, m->cfg->issuer_lifetime, &m->issuer);
    if (r)
        LOG_ERROR("the vTPM issuer key: %s", strerror(-r));
    return r;
}

static int signals_setup(struct mgr *m)
{
    sigset_t set;

    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    if (sigprocmask(SIG_BLOCK, &set, NULL) != 0)
        return -errno;
    signal(SIGPIPE, SIG_IGN);
    m->sig_fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
    return m->sig_fd < 0 ? -errno : 0;
}

static int ep_add(struct mgr *m, int fd, uint64_t tag)
{
    struct epoll_event ev = { .events = EPOLLIN, .data.u64 = tag | (uint32_t)fd };

    return epoll_ctl(m->epfd, EPOLL_CTL_ADD, fd, &ev) == 0 || errno == EEXIST ? 0 : -errno;
}

/* Workers come and go inside the pool; keep the epoll set in step. */
static void ep_sync_workers(struct mgr *m)
{
    for (struct worker *w = m->pool.head; w; w = w->next) {
        if (!w->dead && w->fd >= 0)
            ep_add(m, w->fd, TAG_WORKER);
        /* An adopted worker is not our child: its end shows on its pidfd, not in SIGCHLD. */
        if (!w->dead && w->pidfd >= 0)
            ep_add(m, w->pidfd, TAG_PIDFD);
    }
}

static void on_pidfd(struct mgr *m, int fd)
{
    for (struct worker *w = m->pool.head; w; w = w->next) {
        if (w->pidfd == fd) {
            w->dead = 1;
            vtpm_recover_worker(m, w);
            return;
        }
    }
}

static struct worker *worker_by_fd(struct mgr *m, int fd)
{
    for (struct worker *w = m->pool.head; w; w = w->next)
        if (w->fd == fd)
            return w;
    return NULL;
}

static void on_signal(struct mgr *m)
{
    struct signalfd_siginfo si;

    while (read(m->sig_fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
        if (si.ssi_signo == SIGHUP) {
            /* Settings are read at start only; nothing to reload (docs/operations.md). */
            LOG_INFO("SIGHUP: nothing to reload (restart vtpm-mgr to change its settings)");
            continue;
        }
        LOG_INFO("signal %u: stopping", si.ssi_signo);
        if (!m->stopping)
            sdnotify("STOPPING=1");
        m->stopping = 1;
    }
}

static void on_worker(struct mgr *m, int fd, uint32_t events)
{
    struct worker *w = worker_by_fd(m, fd);
    int r = 0;

    if (!w)
        return;
    if (events & EPOLLIN)
        r = pool_service(&m->pool, w);
    if (r || w->dead || (events & (EPOLLHUP | EPOLLERR) && !(events & EPOLLIN)))
        vtpm_recover_worker(m, w);
}

/* Workers that failed during a control request are recovered here, outside of it. */
static void recover_dead(struct mgr *m)
{
    for (struct worker *w = m->pool.head; w; w = w->next) {
        if (w->dead) {
            vtpm_recover_worker(m, w);
            return recover_dead(m);
        }
    }
}

static int main_loop(struct mgr *m)
{
    struct epoll_event ev[32];

    while (!m->stopping) {
        int n;
        ep_sync_workers(m);
        n = epoll_wait(m->epfd, ev, 32, 1000);
        if (n < 0 && errno != EINTR)
            return -errno;
        for (int i = 0; i < n && !m->stopping; i++) {
            uint64_t tag = ev[i].data.u64 & ~0xffffffffull;
            int fd = (int)(uint32_t)ev[i].data.u64;
            if (tag == TAG_SIG)
                on_signal(m);
            else if (tag == TAG_CTL)
                ctl_serve_one(m);
            else if (tag == TAG_WORKER)
                on_worker(m, fd, ev[i].events);
            else if (tag == TAG_PIDFD)
                on_pidfd(m, fd);
        }
        pool_commit(&m->pool); /* one counter increment for this round's state stores */
        recover_dead(m);
        issuer_tick(m->issuer, time(NULL)); /* a new issuer at half life: one TPM2_Sign */
    }
    return 0;
}

static void teardown(struct mgr *m)
{
    char path[PATH_MAX];

    vtpm_suspend_all(m);
    /* Only the daemon that made the socket removes it (never one that found it locked). */
    if (m->ctl_fd >= 0 &&
        snprintf(path, sizeof(path), "%s/" CTL_SOCK_NAME, m->cfg->run_dir) < (int)sizeof(path))
        unlink(path);
    while (m->insts.head) {
        struct instance *in = m->insts.head;
        inst_unlink(&m->insts, in);
        inst_free(in);
    }
    pool_commit(&m->pool);
    free(m->pool.acks);
    rb_guard_close(&m->rb);
    issuer_close(m->issuer);
    if (m->host)
        hosttpm_close(m->host);
    explicit_bzero(m->master_key, sizeof(m->master_key));
    int *fds[] = { &m->state_fd, &m->host_fd, &m->vtpm_fd, &m->run_fd, &m->vrun_fd,
                   &m->lock_fd, &m->run_lock_fd, &m->ctl_fd, &m->epfd, &m->sig_fd, &m->pool.wdir_fd };
    for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++)
        if (*fds[i] >= 0)
            close(*fds[i]);
}

/* Peer checks need the daemon's namespaces before any vTPM is served, adopted ones too. */
static int self_ns(struct mgr *m)
{
    int r = peerns_self(&m->hostns);

    if (r)
        LOG_ERROR("reading the daemon's own namespaces from /proc failed: %s", strerror(-r));
    if (r == 0 && m->cfg->host_mnt_set) { /* a daemon in a container: named by its runtime */
        m->hostns.init_mnt.dev = m->cfg->host_mnt_dev;
        m->hostns.init_mnt.ino = m->cfg->host_mnt_ino;
        LOG_INFO("the host's mount namespace: %llu:%llu (--host-mnt-ns)",
                 (unsigned long long)m->cfg->host_mnt_dev,
                 (unsigned long long)m->cfg->host_mnt_ino);
    }
    return r;
}

static int startup(struct mgr *m)
{
    int r = lock_dirs(m);

    if (r == 0)
        r = open_dirs(m);
    if (r == 0)
        r = signals_setup(m);
    if (r == 0)
        r = host_setup(m);
    if (r == 0)
        r = self_ns(m);
    if (r == 0)
        r = vtpm_load_all(m);
    if (r == 0 && (r = ctl_listen(m)) != 0)
        LOG_ERROR("control socket %s/" CTL_SOCK_NAME ": %s", m->cfg->run_dir, strerror(-r));
    if (r == 0) {
        m->epfd = epoll_create1(EPOLL_CLOEXEC);
        r = m->epfd < 0 ? -errno : 0;
    }
    if (r == 0)
        r = ep_add(m, m->ctl_fd, TAG_CTL);
    if (r == 0)
        r = ep_add(m, m->sig_fd, TAG_SIG);
    return r;
}

int mgr_reseal(struct mgr_config *cfg)
{
    struct mgr m = { .cfg = cfg, .state_fd = -1, .host_fd = -1, .vtpm_fd = -1, .run_fd = -1,
                     .vrun_fd = -1, .lock_fd = -1, .run_lock_fd = -1, .ctl_fd = -1, .epfd = -1, .sig_fd = -1 };
    int r;

    m.state_fd = open_named_dir(AT_FDCWD, cfg->state_dir, 0700, cfg->state_dir);
    r = m.state_fd < 0 ? m.state_fd : take_lock(&m);
    if (r == 0) {
        m.host_fd = open_dir(m.state_fd, "host", 0700);
        r = m.host_fd < 0 ? m.host_fd : hosttpm_open(&cfg->host, &m.host);
    }
    if (r == 0)
        r = hosttpm_reseal_state_key(m.host, m.host_fd);
    if (r)
        LOG_ERROR("re-sealing the state key failed: %s", strerror(-r));
    else
        LOG_INFO("state key re-sealed to %s", cfg->seal_pcrs);
    if (m.host)
        hosttpm_close(m.host);
    if (m.host_fd >= 0)
        close(m.host_fd);
    if (m.lock_fd >= 0)
        close(m.lock_fd);
    if (m.state_fd >= 0)
        close(m.state_fd);
    return r ? 1 : 0;
}

int mgr_accept_state(struct mgr_config *cfg)
{
    struct mgr m = { .cfg = cfg, .state_fd = -1, .host_fd = -1, .vtpm_fd = -1, .run_fd = -1,
                     .vrun_fd = -1, .lock_fd = -1, .run_lock_fd = -1, .ctl_fd = -1, .epfd = -1, .sig_fd = -1 };
    int r;

    m.state_fd = open_named_dir(AT_FDCWD, cfg->state_dir, 0700, cfg->state_dir);
    r = m.state_fd < 0 ? m.state_fd : take_lock(&m);
    if (r == 0) {
        m.host_fd = open_dir(m.state_fd, "host", 0700);
        m.vtpm_fd = open_dir(m.state_fd, "vtpm", 0700);
        r = m.host_fd < 0 ? m.host_fd : m.vtpm_fd < 0 ? m.vtpm_fd :
            hosttpm_open(&cfg->host, &m.host);
    }
    if (r == 0)
        r = hosttpm_state_key(m.host, m.host_fd, 0, m.master_key);
    if (r == 0)
        r = rb_accept_state(m.host, m.state_fd, m.vtpm_fd, cfg->counter_index, m.master_key);
    if (r)
        LOG_ERROR("accepting the state of %s failed: %s", cfg->state_dir, strerror(-r));
    else
        LOG_INFO("the state of %s is taken as the latest (counter 0x%08x)", cfg->state_dir,
                 cfg->counter_index);
    explicit_bzero(m.master_key, sizeof(m.master_key));
    if (m.host)
        hosttpm_close(m.host);
    int fds[] = { m.host_fd, m.vtpm_fd, m.lock_fd, m.state_fd };
    for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++)
        if (fds[i] >= 0)
            close(fds[i]);
    return r ? 1 : 0;
}

int mgr_run(struct mgr_config *cfg)
{
    struct mgr m = { .cfg = cfg, .state_fd = -1, .host_fd = -1, .vtpm_fd = -1, .run_fd = -1,
                     .vrun_fd = -1, .lock_fd = -1, .run_lock_fd = -1, .ctl_fd = -1, .epfd = -1, .sig_fd = -1 };
    int r;

    m.pool.cfg = cfg;
    m.pool.wdir_fd = -1;
    m.pool.store = vtpm_store_state;
    m.pool.commit = vtpm_commit_state;
    m.pool.store_ctx = &m;
    m.pool.peer = peer_vtpm_check;
    umask(077);
    sdnotify_init();
    r = startup(&m);
    if (r == 0) {
        LOG_INFO("ready: control socket %s/vtpm-mgr.sock, %u vTPMs", cfg->run_dir,
                 m.insts.count);
        sdnotify("READY=1");
        if (!cfg->foreground)
            daemon_ready();
        r = main_loop(&m);
    } else {
        LOG_ERROR("startup failed: %s (state directory %s, run directory %s, host TPM %s)",
                  strerror(-r), cfg->state_dir, cfg->run_dir, cfg->host_tcti);
    }
    teardown(&m);
    return r ? 1 : 0;
}
