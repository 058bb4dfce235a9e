/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Kernel devices given to containers (vtpm_attach_device with a node), kept in
 * <state-dir>/devices, so that vtpm-mgr started again (a graceful restart closes every
 * device: its workers end) makes each one again for the same container: a new /dev/vtpm<N>
 * bound to the container's namespaces, its node in the container's root replaced, the device
 * rule, and the container's binding to the vTPM's sockets. Only for the very process it was
 * made for (pid, start time, pid and mount namespaces): a container that ended, or a pid
 * reused since, drops the entry. A device a worker kept across a parent crash (adopted) is
 * still there, and so is its node: nothing to do for it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fileio.h"
#include "log.h"
#include "mgr.h"

#define DEV_MAGIC "VTPMDEV1"
#define DEV_MAX   65536u

struct dev_ent {
    uint8_t uuid[16];
    uint32_t pid;
    uint32_t pad;
    uint64_t start_ticks;
    uint64_t pid_dev, pid_ino, mnt_dev, mnt_ino;
    char node[DEVNODE_MAX];
};

int vtpm_devices_save(struct mgr *m)
{
    struct dev_ent *ents, *e;
    uint32_t n = 0;
    int r;

    for (struct instance *in = m->insts.head; in; in = in->next)
        n += in->dev_node[0] != '\0';
    ents = e = n ? calloc(n, sizeof(*e)) : NULL;
    if (n && !ents)
        return -ENOMEM;
    for (struct instance *in = m->insts.head; in; in = in->next) {
        if (!in->dev_node[0])
            continue;
        memcpy(e->uuid, in->uuid, 16);
        e->pid = (uint32_t)in->dev_ctr.pid;
        e->start_ticks = in->dev_ctr.start_ticks;
        e->pid_dev = in->dev_ctr.ns.pid.dev;
        e->pid_ino = in->dev_ctr.ns.pid.ino;
        e->mnt_dev = in->dev_ctr.ns.mnt.dev;
        e->mnt_ino = in->dev_ctr.ns.mnt.ino;
        memcpy(e->node, in->dev_node, sizeof(e->node));
        e++;
    }
    r = recfile_save(m->state_fd, VTPM_DEVICES_FILE, DEV_MAGIC, ents, n, sizeof(*ents));
    free(ents);
    if (r && n)
        LOG_WARN("%s not saved (%s): a restart now would not give these containers their "
                 "devices back", VTPM_DEVICES_FILE, strerror(-r));
    return r;
}

/* Takes an entry's container for its vTPM (first pass: before anything is saved again). */
static void note_one(struct mgr *m, const struct dev_ent *e)
{
    struct instance *in = inst_find(&m->insts, e->uuid);

    if (!in || in->status != INST_LIVE || !in->worker || !devnode_valid(e->node)) {
        LOG_INFO("recorded device of %s dropped: no such vTPM being served",
                 in ? in->uuid_str : "a deleted vTPM");
        return;
    }
    memcpy(in->dev_node, e->node, sizeof(in->dev_node));
    in->dev_ctr.pid = (pid_t)e->pid;
    in->dev_ctr.start_ticks = e->start_ticks;
    in->dev_ctr.ns = (struct peerns){ { e->pid_dev, e->pid_ino }, { e->mnt_dev, e->mnt_ino } };
}

/* Makes the device of in again for its recorded process, if that still runs. */
static void remake_one(struct mgr *m, struct instance *in)
{
    char node[DEVNODE_MAX];
    struct peerns_ref ref;
    pid_t pid = in->dev_ctr.pid;
    int r;

    if (!in->dev_node[0] || in->dev_fd >= 0) /* none, or kept by an adopted worker */
        return;
    memcpy(node, in->dev_node, sizeof(node));
    in->dev_node[0] = '\0'; /* recorded again by the attach below, if it works */
    peerns_ref_init(&ref);
    r = peerns_ref_reopen(pid, in->dev_ctr.start_ticks, &in->dev_ctr.ns, &ref);
    if (r) {
        LOG_INFO("vtpm %s: device for pid %d not made again (%s): the container is gone",
                 in->uuid_str, (int)pid, strerror(-r));
        return;
    }
    r = vtpm_attach_device(m, in, pid, node, NULL);
    if (r) {
        LOG_ERROR("vtpm %s: device for pid %d's container not made again: %s", in->uuid_str,
                  (int)pid, strerror(-r));
        peerns_ref_close(&ref);
        return;
    }
    if (in->bound.pid_fd < 0) /* its sockets too, if the bindings file did not give them */
        vtpm_bind_commit(m, in, pid, &ref);
    peerns_ref_close(&ref);
    LOG_INFO("vtpm %s: /dev/vtpm%u made again for pid %d's container at %s", in->uuid_str,
             in->dev_index, (int)pid, node);
}

void vtpm_devices_restore(struct mgr *m)
{
    uint8_t *buf = NULL;
    uint32_t n = 0;
    int r = recfile_load(m->state_fd, VTPM_DEVICES_FILE, DEV_MAGIC, sizeof(struct dev_ent),
                         DEV_MAX, &buf, &n);

    if (r == -ENOENT)
        return;
    if (r) {
        LOG_WARN("%s unusable (%s): no device made again", VTPM_DEVICES_FILE, strerror(-r));
        return;
    }
    for (uint32_t i = 0; i < n; i++) {
        struct dev_ent e;
        memcpy(&e, buf + (size_t)i * sizeof(e), sizeof(e));
        e.node[sizeof(e.node) - 1] = '\0';
        note_one(m, &e);
    }
    free(buf);
    for (struct instance *in = m->insts.head; in; in = in->next)
        remake_one(m, in);
    vtpm_devices_save(m); /* without the ones that did not come back */
}
