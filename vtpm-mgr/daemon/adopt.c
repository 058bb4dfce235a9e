/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A parent started after a crash adopts the workers that outlived the last one, so that their
 * vTPMs keep PCRs, sessions and reset counter: it trusts its own records in
 * <run-dir>/workers/ (which worker was given which vTPM), checks that the process on each
 * rendezvous socket is the recorded worker, and takes back from it only what the records and
 * the state directory agree on. Everything else is dropped in the worker and starts from disk.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "fileio.h"
#include "kdev.h"
#include "log.h"
#include "mgr.h"
#include "vtpm_ipc.h"

#define TOKEN_LEN 16
#define MAX_WORKERS 4096

/* "<16 lower-case hex>.rec" -> token; -1 for any other name. */
static int rec_token(const char *name, char token[TOKEN_LEN + 1])
{
    if (strlen(name) != TOKEN_LEN + 4 || strcmp(name + TOKEN_LEN, ".rec"))
        return -1;
    for (int i = 0; i < TOKEN_LEN; i++)
        if (!((name[i] >= '0' && name[i] <= '9') || (name[i] >= 'a' && name[i] <= 'f')))
            return -1;
    memcpy(token, name, TOKEN_LEN);
    token[TOKEN_LEN] = 0;
    return 0;
}

/* A returned listener must be the listening socket at the vTPM's own path. */
static int is_listener_at(int fd, const char *path)
{
    struct sockaddr_un sa;
    socklen_t len = sizeof(sa);
    int on = 0;
    socklen_t olen = sizeof(on);

    memset(&sa, 0, sizeof(sa));
    if (getsockname(fd, (struct sockaddr *)&sa, &len) != 0 || sa.sun_family != AF_UNIX ||
        getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &on, &olen) != 0 || !on)
        return 0;
    return len > offsetof(struct sockaddr_un, sun_path) &&
           strncmp(sa.sun_path, path, sizeof(sa.sun_path)) == 0;
}

static int check_listeners(struct mgr *m, const struct instance *in, const int *fds)
{
    char path[PATH_MAX];
    int r = vtpm_socket_path(m, in, path, sizeof(path) - 8);

    if (r == 0 && !is_listener_at(fds[0], path))
        r = -EPROTO;
    strcat(path, ".ctrl");
    if (r == 0 && !is_listener_at(fds[1], path))
        r = -EPROTO;
    return r;
}

/* The parent keeps copies of a served vTPM's sockets and device to hand a new worker. */
static int take_fds(struct mgr *m, struct worker *w, struct instance *in,
                    const struct vtpm_ipc_adopt_ent *e)
{
    int fds[3], n = 0, want = e->flags & VTPM_ADOPT_F_DEVICE ? 3 : 2;
    uint32_t index = 0;
    int r = pool_call_fds(&m->pool, w, IPC_INST_RETURN_FDS, in->uuid, fds, 3, &n);

    if (r)
        return r;
    r = n == want ? check_listeners(m, in, fds) : -EPROTO;
    if (r == 0 && n == 3) {
        r = kdev_index_of(m->cfg->kmod_control, in->uuid, &index);
        if (r == 0 && index != e->dev_index)
            r = -EPROTO;
    }
    if (r) {
        while (n > 0)
            close(fds[--n]);
        return r;
    }
    in->data_fd = fds[0];
    in->ctrl_fd = fds[1];
    if (n == 3) {
        in->dev_fd = fds[2];
        in->dev_index = index; /* the module's word */
    }
    return 0;
}

/* The worker's live state is newer than any volatile file: never resume from that one. */
static void drop_stale_volatile(struct mgr *m, const struct instance *in)
{
    int fd = openat(m->vtpm_fd, in->uuid_str, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);

    if (fd < 0)
        return;
    if (unlinkat(fd, STATE_FILE_VOL, 0) == 0)
        dir_sync(fd);
    close(fd);
}

static const struct vtpm_ipc_adopt_ent *find_ent(const struct vtpm_ipc_adopt_ent *e, size_t n,
                                                 const uint8_t uuid[16])
{
    for (size_t i = 0; i < n; i++)
        if (!memcmp(e[i].uuid, uuid, 16))
            return &e[i];
    return NULL;
}

static void unserve(struct mgr *m, struct worker *w, struct instance *in)
{
    pool_unassign(&m->pool, w, in->uuid);
    in->worker = NULL;
}

/* Keeps what the worker hosts and we recorded and published; drops the rest there. */
static int reconcile(struct mgr *m, struct worker *w, const struct vtpm_ipc_adopt_ent *e,
                     size_t n)
{
    for (size_t i = 0; i < n && !w->dead; i++) {
        struct instance *in = inst_find(&m->insts, e[i].uuid);
        int r = -ENOENT;
        if (in && in->worker == w)
            r = e[i].flags & VTPM_ADOPT_F_LISTEN ? take_fds(m, w, in, &e[i])
                                                 : vtpm_attach_sockets(m, in);
        if (r == 0) {
            drop_stale_volatile(m, in);
            continue;
        }
        if (w->dead)
            break;
        /* Not recorded for it, not published (creation in flight), or not handed back. */
        LOG_WARN("worker %d: dropping a vTPM it hosts (%s)", (int)w->pid, strerror(-r));
        pool_call(&m->pool, w, IPC_INST_REMOVE, e[i].uuid, 0, NULL, 0, NULL, 0, NULL, NULL);
        if (in && in->worker == w)
            unserve(m, w, in);
    }
    if (w->dead)
        return -EPIPE;
    for (struct instance *in = m->insts.head; in; in = in->next)
        if (in->worker == w && !find_ent(e, n, in->uuid))
            unserve(m, w, in); /* recorded, but the worker never got it: start from disk */
    return 0;
}

/* Takes the recorded vTPMs that are published, of the worker's tenant and owner and nobody
 * else's.
 * The record is rewritten once, whole: a crash now must not lose an entry. */
static int claim_recorded(struct mgr *m, struct worker *w, const struct pool_record *rec)
{
    for (unsigned i = 0; i < rec->n; i++) {
        struct instance *in = inst_find(&m->insts, rec->uuids[i]);
        if (!in || in->status != INST_LIVE || in->worker || strcmp(in->tenant, w->tenant) ||
            in->owner_uid != w->owner_uid)
            continue;
        /* Unlisted in a manifest that lists vTPMs: a removed vTPM put back (rolled back). */
        if (!m->rb.adopt && !rb_find(&m->rb.mf, in->uuid))
            continue;
        if (pool_assign_deferred(w, in->uuid) < 0)
            return -ENOMEM;
        in->worker = w;
    }
    return pool_write_record(&m->pool, w);
}

static void adopt_one(struct mgr *m, const char *token)
{
    struct pool_record rec;
    struct worker *w = NULL;
    uint8_t *list = NULL;
    size_t len = 0;
    int r = pool_read_record(&m->pool, token, &rec);

    if (r == 0)
        r = pool_adopt(&m->pool, token, &rec, &w);
    if (r) {
        LOG_INFO("worker %s (pid %d): not adopted (%s)", token, (int)rec.pid, strerror(-r));
        pool_forget_files(&m->pool, token);
        free(rec.uuids);
        return;
    }
    if (m->rb.frozen) {
        /* The state directory failed its rollback check: nothing is served or stored until
         * the operator decides (docs/operations.md), so nothing is adopted either. */
        LOG_ERROR("worker %d not adopted: %s; stopped", (int)w->pid, m->rb.why);
        free(rec.uuids);
        pool_destroy(&m->pool, w);
        return;
    }
    if (rec.ipc_version != VTPM_IPC_VERSION) {
        /* Another release's worker: it cannot be spoken to safely, and left alive it would
         * keep serving old connections beside the copy started from disk. */
        LOG_WARN("worker %d speaks IPC version %u, not %u: stopped, its vTPMs start from disk",
                 (int)w->pid, rec.ipc_version, VTPM_IPC_VERSION);
        free(rec.uuids);
        pool_destroy(&m->pool, w);
        return;
    }
    /* Before the first request: a state store it still holds is answered during it. */
    r = claim_recorded(m, w, &rec);
    free(rec.uuids);
    if (r == 0)
        r = pool_call(&m->pool, w, IPC_ADOPT, NULL, 0, NULL, 0, NULL, 0, &list, &len);
    if (r == 0 && len % sizeof(struct vtpm_ipc_adopt_ent))
        r = -EPROTO;
    if (r == 0)
        r = reconcile(m, w, (const struct vtpm_ipc_adopt_ent *)list,
                      len / sizeof(struct vtpm_ipc_adopt_ent));
    free(list);
    if (r) {
        LOG_ERROR("worker %d: adoption failed (%s); its vTPMs start from disk", (int)w->pid,
                  strerror(-r));
        for (struct instance *in = m->insts.head; in; in = in->next)
            if (in->worker == w)
                in->worker = NULL;
        pool_destroy(&m->pool, w);
        return;
    }
    LOG_INFO("worker %d adopted (tenant %s, %u vTPMs kept running)", (int)w->pid, w->tenant,
             w->ninst);
    if (w->ninst == 0)
        pool_retire(&m->pool, w, 2000);
}

static int known_token(const struct pool *p, const char *name)
{
    if (!strcmp(name, VTPM_BINDINGS_FILE))
        return 1;
    for (const struct worker *w = p->head; w; w = w->next)
        if (w->token[0] && !strncmp(name, w->token, TOKEN_LEN) &&
            (!strcmp(name + TOKEN_LEN, ".rec") || !strcmp(name + TOKEN_LEN, ".sock")))
            return 1;
    return 0;
}

/* Sockets of dead workers, records of unknown ones, unfinished temporary files. */
static void sweep(struct mgr *m)
{
    int fd = dup(m->pool.wdir_fd);
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    struct dirent *e;

    if (!d) {
        if (fd >= 0)
            close(fd);
        return;
    }
    while ((e = readdir(d)) != NULL)
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..") && !known_token(&m->pool, e->d_name))
            unlinkat(m->pool.wdir_fd, e->d_name, 0);
    closedir(d);
}

int vtpm_adopt_all(struct mgr *m)
{
    char (*tokens)[TOKEN_LEN + 1];
    size_t n = 0;
    int fd;
    DIR *d;
    struct dirent *e;

    if (m->pool.wdir_fd < 0)
        return 0;
    fd = dup(m->pool.wdir_fd);
    d = fd >= 0 ? fdopendir(fd) : NULL;
    tokens = calloc(MAX_WORKERS, sizeof(*tokens));
    if (!d || !tokens) {
        if (d)
            closedir(d);
        else if (fd >= 0)
            close(fd);
        free(tokens);
        return -ENOMEM;
    }
    while ((e = readdir(d)) != NULL && n < MAX_WORKERS)
        if (rec_token(e->d_name, tokens[n]) == 0)
            n++;
    closedir(d);
    for (size_t i = 0; i < n; i++)
        adopt_one(m, tokens[i]);
    free(tokens);
    sweep(m);
    return 0;
}
