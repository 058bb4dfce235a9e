/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Bindings of vTPMs to containers (vtpm_bind) kept in <run-dir>/workers/bindings (directory
 * 0700, the parent's), so that a parent started after a crash gives a bound container back
 * the use of its vTPM's sockets. A binding is restored only from the very process it was
 * made with: the same pid, start time and pid and mount namespaces; anything else (the
 * container ended, its pid reused) leaves the vTPM unbound.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fileio.h"
#include "log.h"
#include "mgr.h"

#define BIND_MAGIC "VTPMBND1"
#define BIND_MAX   65536u

struct bind_ent {
    uint8_t uuid[16];
    uint32_t pid;
    uint32_t pad;
    uint64_t start_ticks;
    uint64_t pid_dev, pid_ino, mnt_dev, mnt_ino;
};

int vtpm_bindings_save(struct mgr *m)
{
    struct bind_ent *ents, *e;
    uint32_t n = 0;
    int r;

    if (m->pool.wdir_fd < 0)
        return 0;
    for (struct instance *in = m->insts.head; in; in = in->next)
        n += in->bound.pid_fd >= 0;
    ents = e = n ? calloc(n, sizeof(*e)) : NULL;
    if (n && !ents)
        return -ENOMEM;
    for (struct instance *in = m->insts.head; in; in = in->next) {
        if (in->bound.pid_fd < 0)
            continue;
        memcpy(e->uuid, in->uuid, 16);
        e->pid = (uint32_t)in->bound.pid;
        e->start_ticks = in->bound.start_ticks;
        e->pid_dev = in->bound.ns.pid.dev;
        e->pid_ino = in->bound.ns.pid.ino;
        e->mnt_dev = in->bound.ns.mnt.dev;
        e->mnt_ino = in->bound.ns.mnt.ino;
        e++;
    }
    r = recfile_save(m->pool.wdir_fd, VTPM_BINDINGS_FILE, BIND_MAGIC, ents, n, sizeof(*ents));
    free(ents);
    if (r && n)
        LOG_WARN("bindings not saved (%s): a crash now would unbind their containers",
                 strerror(-r));
    return r;
}

static void restore_one(struct mgr *m, const struct bind_ent *e)
{
    struct instance *in = inst_find(&m->insts, e->uuid);
    struct peerns ns = { { e->pid_dev, e->pid_ino }, { e->mnt_dev, e->mnt_ino } };
    struct peerns_ref ref;
    int r;

    if (!in || in->status != INST_LIVE || in->bound.pid_fd >= 0)
        return;
    peerns_ref_init(&ref);
    r = peerns_ref_reopen((pid_t)e->pid, e->start_ticks, &ns, &ref);
    if (r) {
        LOG_INFO("vtpm %s: binding to pid %u not restored (%s): the container is gone",
                 in->uuid_str, (unsigned)e->pid, strerror(-r));
        return;
    }
    in->bound = ref;
    LOG_INFO("vtpm %s: binding to pid %u's container restored (pid ns %llu, mnt ns %llu)",
             in->uuid_str, (unsigned)e->pid, (unsigned long long)ns.pid.ino,
             (unsigned long long)ns.mnt.ino);
}

void vtpm_bindings_restore(struct mgr *m)
{
    uint8_t *buf = NULL;
    uint32_t n = 0;
    int r;

    if (m->pool.wdir_fd < 0)
        return;
    r = recfile_load(m->pool.wdir_fd, VTPM_BINDINGS_FILE, BIND_MAGIC, sizeof(struct bind_ent),
                     BIND_MAX, &buf, &n);
    if (r == -ENOENT)
        return;
    if (r) {
        LOG_WARN("%s unusable (%s): no binding restored", VTPM_BINDINGS_FILE, strerror(-r));
    } else {
        for (uint32_t i = 0; i < n; i++) {
            struct bind_ent e;
            memcpy(&e, buf + (size_t)i * sizeof(e), sizeof(e));
            restore_one(m, &e);
        }
    }
    free(buf);
    vtpm_bindings_save(m); /* without the ones that did not come back */
}
