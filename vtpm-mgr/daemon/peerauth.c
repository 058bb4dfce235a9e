/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Who may use vtpm-mgr's sockets. A uid alone proves nothing across containers: uid 0 in a
 * container without a user namespace is host uid 0, and the runtime's config picks any
 * uid/gid. So every peer must also be where it claims to be: in the daemon's own pid and
 * mount namespaces (the host, where the operator and the attest-agent hook run), or, for a
 * vTPM's sockets, in the container the vTPM was given to (vtpm_bind).
 */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"
#include "mgr.h"
#include "vtpm_ipc.h"

static const char *ns_error(int r)
{
    if (r == -ESRCH)
        return "peer process gone or not visible from the daemon's pid namespace";
    if (r == -ESTALE)
        return "peer pid reused or changed during the check";
    return "peer namespaces unreadable";
}

int peer_ctl_check(struct mgr *m, const struct ucred *cr, uint64_t accepted_ns,
                   const char **why)
{
    struct peerns ns;
    int r;

    if (cr->uid != 0 && cr->uid != geteuid() &&
        (m->cfg->ctl_gid == (gid_t)-1 || cr->gid != m->cfg->ctl_gid)) {
        *why = "uid is not root, the daemon's, or of the --control-group";
        return -EACCES;
    }
    r = peerns_read(cr->pid, accepted_ns, &ns);
    if (r) {
        *why = ns_error(r);
        return -EACCES;
    }
    if (!peerns_is_host(&m->hostns, &ns)) {
        *why = "not in the daemon's pid and mount namespaces (another container)";
        return -EACCES;
    }
    return 0;
}

static int vtpm_peer_ok(struct mgr *m, const struct instance *in, const struct vtpm_ipc_peer *p,
                        const char **why)
{
    struct peerns ns;
    int r;

    if (p->uid != 0 && p->uid != in->owner_uid) {
        *why = "uid is neither root nor the owner";
        return -EACCES;
    }
    r = peerns_read((pid_t)p->pid, p->accepted_ns, &ns);
    if (r) {
        *why = ns_error(r);
        return -EACCES;
    }
    if (peerns_is_host(&m->hostns, &ns))
        return 0;
    if (in->bound.pid_fd >= 0 && peerns_same(&in->bound.ns, &ns))
        return 0;
    *why = in->bound.pid_fd >= 0 ? "in another container than the one the vTPM is bound to"
                                 : "in another container (the vTPM is bound to none)";
    return -EACCES;
}

/*
 * How long a worker may admit the same (pid, uid, gid) to the same vTPM again without asking
 * (tpm2-tss's swtpm TCTI connects anew for every command). Safe while no other process can
 * get that pid meanwhile: Linux hands out pids in a cycle, so a reuse needs about pid_max
 * forks first. The window is the time that takes at PEER_FORKS_PER_MS (a million per second,
 * far above what fork+exit reaches: about 10^4 per second per core, serialised by the
 * kernel's tasklist lock), capped: 32 ms with pid_max 32768, 250 ms with Debian's 4194304.
 */
#define PEER_MEMO_MAX_MS  250L
#define PEER_FORKS_PER_MS 1000L

static uint32_t memo_ms_for(long pid_max)
{
    long ms = pid_max / PEER_FORKS_PER_MS;

    return (uint32_t)(ms < 0 ? 0 : ms > PEER_MEMO_MAX_MS ? PEER_MEMO_MAX_MS : ms);
}

int peer_vtpm_check(void *ctx, const struct worker *w, const uint8_t uuid[16],
                    const struct vtpm_ipc_peer *peer, uint32_t *memo_ms)
{
    struct mgr *m = ctx;
    struct instance *in = inst_find(&m->insts, uuid);
    const char *why = NULL;
    int r;

    if (!in || in->worker != w) { /* a worker asks only about vTPMs it hosts */
        LOG_ERROR("worker %d asked about a vTPM it does not host", (int)w->pid);
        return -EPERM;
    }
    r = vtpm_peer_ok(m, in, peer, &why);
    *memo_ms = r == 0 ? memo_ms_for(m->hostns.pid_max) : 0;
    if (r)
        LOG_WARN("vtpm %s: refused %s peer pid %u uid %u: %s", in->uuid_str,
                 peer->is_ctrl ? "control-channel" : "data", (unsigned)peer->pid,
                 (unsigned)peer->uid, why);
    return r;
}

int vtpm_bind_open(struct instance *in, pid_t pid, struct peerns_ref *ref)
{
    int r;

    peerns_ref_init(ref);
    r = peerns_ref_open(pid, ref);
    if (r)
        LOG_ERROR("vtpm %s: cannot bind to pid %d's container: %s", in->uuid_str, (int)pid,
                  strerror(-r));
    return r;
}

void vtpm_bind_commit(struct mgr *m, struct instance *in, pid_t pid, struct peerns_ref *ref)
{
    peerns_ref_close(&in->bound);
    in->bound = *ref;
    peerns_ref_init(ref);
    vtpm_bindings_save(m); /* a parent after a crash restores it */
    /* A worker that fails this is killed and recovered by the main loop: its successor
     * remembers nothing. */
    if (in->worker && !in->worker->dead)
        pool_call(&m->pool, in->worker, IPC_PEER_FLUSH, in->uuid, 0, NULL, 0, NULL, 0, NULL,
                  NULL);
    LOG_INFO("vtpm %s bound to pid %d's container (pid ns %llu, mnt ns %llu)", in->uuid_str,
             (int)pid, (unsigned long long)in->bound.ns.pid.ino,
             (unsigned long long)in->bound.ns.mnt.ino);
}

int vtpm_bind(struct mgr *m, struct instance *in, pid_t pid)
{
    struct peerns_ref ref;
    int r = vtpm_bind_open(in, pid, &ref);

    if (r == 0)
        vtpm_bind_commit(m, in, pid, &ref);
    return r;
}
