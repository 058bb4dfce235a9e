/* SPDX-License-Identifier: BSD-3-Clause */
/* The namespaces of a socket peer's process, read from /proc (see peerns.h for the races). */
#include "peerns.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

uint64_t peerns_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_BOOTTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Field 22 of /proc/PID/stat (proc(5)): the start time in clock ticks after boot. */
static int start_ticks(pid_t pid, unsigned long long *ticks)
{
    char path[48], buf[1024];
    const char *p;
    ssize_t n;
    int fd;

    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? -ESRCH : -errno;
    n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0)
        return -ESRCH;
    buf[n] = '\0';
    /* The command name may contain spaces and parentheses: the last ')' ends it; then
     * state (3) and 18 more fields before starttime (22). */
    p = strrchr(buf, ')');
    if (!p || sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d "
                            "%*d %*d %*d %*d %llu", ticks) != 1)
        return -EPROTO;
    return 0;
}

static void set_id(const struct stat *st, struct peerns_id *id)
{
    id->dev = (uint64_t)st->st_dev;
    id->ino = (uint64_t)st->st_ino;
}

static int ns_of(pid_t pid, const char *which, struct peerns_id *id)
{
    char path[64];
    struct stat st;

    snprintf(path, sizeof(path), "/proc/%d/ns/%s", (int)pid, which);
    if (stat(path, &st) != 0)
        return errno == ENOENT ? -ESRCH : -errno;
    set_id(&st, id);
    return 0;
}

static long read_pid_max(void)
{
    char buf[32];
    ssize_t n;
    int fd = open("/proc/sys/kernel/pid_max", O_RDONLY | O_CLOEXEC);

    if (fd < 0)
        return 0;
    n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0)
        return 0;
    buf[n] = '\0';
    return strtol(buf, NULL, 10);
}

int peerns_self(struct peerns_host *h)
{
    int r = ns_of(getpid(), "pid", &h->self.pid);

    if (r == 0)
        r = ns_of(getpid(), "mnt", &h->self.mnt);
    if (r)
        return r;
    /* PID 1 of our pid namespace may be out of reach (no CAP_SYS_PTRACE): only our own. */
    if (ns_of(1, "mnt", &h->init_mnt) != 0)
        h->init_mnt = h->self.mnt;
    h->pid_max = read_pid_max();
    return 0;
}

/* Runs fn(pid, arg) and checks that pid named one process, started before the accept,
 * throughout. */
static int read_stable(pid_t pid, uint64_t accepted_ns, int (*fn)(pid_t, void *), void *arg,
                       unsigned long long *started)
{
    unsigned long long t0, t1;
    long hz = sysconf(_SC_CLK_TCK);
    int r;

    if (pid <= 0)
        return -ESRCH;
    if ((r = start_ticks(pid, &t0)) != 0)
        return r;
    if (accepted_ns && hz > 0 && t0 > accepted_ns / (1000000000u / (uint64_t)hz))
        return -ESTALE;
    if ((r = fn(pid, arg)) != 0)
        return r;
    if ((r = start_ticks(pid, &t1)) != 0)
        return r;
    if (started)
        *started = t0;
    return t0 == t1 ? 0 : -ESTALE;
}

static int read_ns(pid_t pid, void *arg)
{
    struct peerns *out = arg;
    int r = ns_of(pid, "pid", &out->pid);

    return r ? r : ns_of(pid, "mnt", &out->mnt);
}

int peerns_read(pid_t pid, uint64_t accepted_ns, struct peerns *out)
{
    return read_stable(pid, accepted_ns, read_ns, out, NULL);
}

static int id_eq(const struct peerns_id *a, const struct peerns_id *b)
{
    return a->dev == b->dev && a->ino == b->ino;
}

int peerns_is_host(const struct peerns_host *h, const struct peerns *p)
{
    return id_eq(&p->pid, &h->self.pid) &&
           (id_eq(&p->mnt, &h->self.mnt) || id_eq(&p->mnt, &h->init_mnt));
}

int peerns_same(const struct peerns *a, const struct peerns *b)
{
    return id_eq(&a->pid, &b->pid) && id_eq(&a->mnt, &b->mnt);
}

void peerns_ref_init(struct peerns_ref *r)
{
    memset(r, 0, sizeof(*r));
    r->pid_fd = r->mnt_fd = -1;
}

void peerns_ref_close(struct peerns_ref *r)
{
    if (r->pid_fd >= 0)
        close(r->pid_fd);
    if (r->mnt_fd >= 0)
        close(r->mnt_fd);
    peerns_ref_init(r);
}

static int open_ns(pid_t pid, const char *which, int *fd, struct peerns_id *id)
{
    char path[64];
    struct stat st;

    snprintf(path, sizeof(path), "/proc/%d/ns/%s", (int)pid, which);
    *fd = open(path, O_RDONLY | O_CLOEXEC);
    if (*fd < 0)
        return errno == ENOENT ? -ESRCH : -errno;
    if (fstat(*fd, &st) != 0) {
        int e = -errno;
        close(*fd);
        *fd = -1;
        return e;
    }
    set_id(&st, id);
    return 0;
}

static int open_refs(pid_t pid, void *arg)
{
    struct peerns_ref *n = arg;
    int r = open_ns(pid, "pid", &n->pid_fd, &n->ns.pid);

    return r ? r : open_ns(pid, "mnt", &n->mnt_fd, &n->ns.mnt);
}

int peerns_ref_open(pid_t pid, struct peerns_ref *r)
{
    struct peerns_ref n;
    unsigned long long started = 0;
    int rc;

    peerns_ref_init(&n);
    rc = read_stable(pid, 0, open_refs, &n, &started);
    if (rc) {
        peerns_ref_close(&n);
        return rc;
    }
    n.pid = pid;
    n.start_ticks = started;
    peerns_ref_close(r);
    *r = n;
    return 0;
}

int peerns_ref_reopen(pid_t pid, uint64_t start_ticks, const struct peerns *ns,
                      struct peerns_ref *r)
{
    struct peerns_ref n;
    int rc;

    peerns_ref_init(&n);
    rc = peerns_ref_open(pid, &n);
    if (rc == 0 && (n.start_ticks != start_ticks || !peerns_same(&n.ns, ns)))
        rc = -ESTALE;
    if (rc) {
        peerns_ref_close(&n);
        return rc;
    }
    peerns_ref_close(r);
    *r = n;
    return 0;
}
