/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Worker records and rendezvous sockets in <run-dir>/workers/: what lets a parent started after
 * a crash find the workers of the last one, know which vTPMs each may hold (from its own
 * records, not the worker's word) and check that the process on a rendezvous socket is the
 * recorded worker. Adoption itself is adopt.c.
 */
#include "workerpool.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "fileio.h"
#include "log.h"
#include "vtpm_ipc.h"

static int file_name(char *out, size_t outsz, const char *token, const char *ext)
{
    int n = snprintf(out, outsz, "%s%s", token, ext);

    return n < 0 || (size_t)n >= outsz ? -ENAMETOOLONG : 0;
}

static int sock_addr(const struct pool *p, const char *token, struct sockaddr_un *sa)
{
    int n;

    memset(sa, 0, sizeof(*sa));
    sa->sun_family = AF_UNIX;
    n = snprintf(sa->sun_path, sizeof(sa->sun_path), "%s/workers/%s.sock", p->cfg->run_dir,
                 token);
    return n < 0 || (size_t)n >= sizeof(sa->sun_path) ? -ENAMETOOLONG : 0;
}

/* The rendezvous socket, bound here and listened on by the worker (so that its
 * SO_PEERCRED names the worker). -1 when there is none: the worker then dies with us. */
int pool_rendezvous(struct pool *p, char token[17])
{
    struct sockaddr_un sa;
    uint64_t rnd;
    int fd, r;

    if (p->wdir_fd < 0)
        return -1;
    if (getrandom(&rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
        return -1;
    snprintf(token, 17, "%016llx", (unsigned long long)rnd);
    r = sock_addr(p, token, &sa);
    fd = r ? -1 : socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    if (fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        close(fd);
        fd = -1;
    }
    if (fd < 0)
        LOG_WARN("no rendezvous socket for a new worker (%s): it will not survive a crash",
                 r ? strerror(-r) : strerror(errno));
    return fd;
}

struct rec_hdr {
    char magic[8];
    uint32_t pid;
    uint32_t n;
    uint32_t ipc_version; /* VTPM_IPC_VERSION of the parent that started the worker */
    uint32_t owner_uid;   /* the worker hosts vTPMs of this owner only (pool_pick) */
    char tenant[MGR_NAME_MAX];
};
#define REC_MAGIC "VTPMWRK2"

int pool_write_record(struct pool *p, struct worker *w)
{
    char name[32];
    struct rec_hdr h;
    size_t len = sizeof(h) + (size_t)w->ninst * 16;
    uint8_t *buf;
    int r;

    if (p->wdir_fd < 0 || !w->token[0])
        return 0;
    r = file_name(name, sizeof(name), w->token, ".rec");
    if (r)
        return r;
    buf = malloc(len);
    if (!buf)
        return -ENOMEM;
    memset(&h, 0, sizeof(h));
    memcpy(h.magic, REC_MAGIC, sizeof(h.magic));
    h.pid = (uint32_t)w->pid;
    h.n = w->ninst;
    h.ipc_version = VTPM_IPC_VERSION;
    h.owner_uid = w->owner_uid;
    snprintf(h.tenant, sizeof(h.tenant), "%s", w->tenant);
    memcpy(buf, &h, sizeof(h));
    if (w->ninst)
        memcpy(buf + sizeof(h), w->uuids, (size_t)w->ninst * 16);
    r = file_write_atomic(p->wdir_fd, name, buf, len, 0600);
    free(buf);
    return r;
}

int pool_read_record(struct pool *p, const char *token, struct pool_record *rec)
{
    char name[32];
    struct rec_hdr h;
    uint8_t *buf = NULL;
    size_t len = 0;
    int r = file_name(name, sizeof(name), token, ".rec");

    memset(rec, 0, sizeof(*rec));
    if (r == 0)
        r = file_read_all(p->wdir_fd, name, sizeof(h) + 16u * 65536u, &buf, &len);
    if (r)
        return r;
    memcpy(&h, buf, len < sizeof(h) ? len : sizeof(h));
    if (len < sizeof(h) || memcmp(h.magic, REC_MAGIC, sizeof(h.magic)) || h.pid < 2 ||
        h.n > 65536 || len != sizeof(h) + (size_t)h.n * 16 ||
        !memchr(h.tenant, 0, sizeof(h.tenant)) || !h.tenant[0])
        r = -EBADMSG;
    if (r == 0 && h.n && !(rec->uuids = malloc((size_t)h.n * 16)))
        r = -ENOMEM;
    if (r == 0) {
        rec->pid = (pid_t)h.pid;
        rec->n = h.n;
        rec->ipc_version = h.ipc_version;
        rec->owner_uid = h.owner_uid;
        memcpy(rec->tenant, h.tenant, sizeof(rec->tenant));
        if (h.n)
            memcpy(rec->uuids, buf + sizeof(h), (size_t)h.n * 16);
    }
    free(buf);
    return r;
}

void pool_forget_files(struct pool *p, const char *token)
{
    char name[32];

    if (p->wdir_fd < 0 || !token[0])
        return;
    if (file_name(name, sizeof(name), token, ".rec") == 0)
        unlinkat(p->wdir_fd, name, 0);
    if (file_name(name, sizeof(name), token, ".sock") == 0)
        unlinkat(p->wdir_fd, name, 0);
}

static int find_uuid(const struct worker *w, const uint8_t uuid[16])
{
    for (unsigned i = 0; i < w->ninst; i++)
        if (!memcmp(w->uuids[i], uuid, 16))
            return (int)i;
    return -1;
}

int pool_assign_deferred(struct worker *w, const uint8_t uuid[16])
{
    if (find_uuid(w, uuid) >= 0)
        return 1;
    if (w->ninst == w->cap) {
        unsigned cap = w->cap ? w->cap * 2 : 8;
        void *n = realloc(w->uuids, (size_t)cap * 16);
        if (!n)
            return -ENOMEM;
        w->uuids = n;
        w->cap = cap;
    }
    memcpy(w->uuids[w->ninst++], uuid, 16);
    return 0;
}

int pool_assign(struct pool *p, struct worker *w, const uint8_t uuid[16])
{
    int r = pool_assign_deferred(w, uuid);

    if (r)
        return r > 0 ? 0 : r;
    r = pool_write_record(p, w);
    if (r)
        w->ninst--;
    return r;
}

void pool_unassign(struct pool *p, struct worker *w, const uint8_t uuid[16])
{
    int i = find_uuid(w, uuid);

    if (i < 0)
        return;
    memmove(w->uuids[i], w->uuids[i + 1], (size_t)(w->ninst - (unsigned)i - 1) * 16);
    w->ninst--;
    if (pool_write_record(p, w) != 0) /* a stale entry only makes a later parent ask */
        LOG_WARN("worker %d: record not updated", (int)w->pid);
}

static int connect_rendezvous(struct pool *p, const char *token)
{
    struct sockaddr_un sa;
    int fd, r = sock_addr(p, token, &sa);

    if (r)
        return r;
    fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return -errno;
    /* A full backlog (EAGAIN) clears as the worker accepts; bounded. */
    for (int i = 0; connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0; i++) {
        r = -errno;
        if ((r != -EAGAIN && r != -EINTR) || i >= 200) {
            close(fd);
            return r;
        }
        usleep(10000);
    }
    if (fcntl(fd, F_SETFL, 0) != 0) {
        r = -errno;
        close(fd);
        return r;
    }
    return fd;
}

int pool_adopt(struct pool *p, const char *token, const struct pool_record *rec,
               struct worker **out)
{
    struct ucred cred;
    socklen_t clen = sizeof(cred);
    struct worker *w;
    int fd = connect_rendezvous(p, token);

    if (fd < 0)
        return fd;
    /* The listener's credentials: the process that called listen(), i.e. the worker. */
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) != 0 || clen != sizeof(cred) ||
        cred.pid != rec->pid) {
        LOG_ERROR("worker %s: the rendezvous socket is not held by pid %d; not adopted", token,
                  (int)rec->pid);
        close(fd);
        return -EPERM;
    }
    w = calloc(1, sizeof(*w));
    if (!w) {
        close(fd);
        return -ENOMEM;
    }
    pool_set_bufs(fd);
    w->pid = rec->pid;
    w->pidfd = pidfd_open(w->pid, 0);
    w->adopted = 1;
    w->fd = fd;
    snprintf(w->tenant, sizeof(w->tenant), "%s", rec->tenant);
    w->owner_uid = rec->owner_uid;
    snprintf(w->token, sizeof(w->token), "%s", token);
    w->next = p->head;
    p->head = w;
    *out = w;
    return 0;
}

int pool_pick(struct pool *p, const char *tenant, uint32_t owner_uid, struct worker **out)
{
    for (struct worker *w = p->head; w; w = w->next) {
        if (!w->dead && !strcmp(w->tenant, tenant) && w->owner_uid == owner_uid &&
            w->ninst < p->cfg->per_worker) {
            *out = w;
            return 0;
        }
    }
    return pool_spawn(p, tenant, owner_uid, out);
}
