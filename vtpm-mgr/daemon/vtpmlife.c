/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vTPM lifecycle in the parent: create (manufacture in a worker, EK certificate signed by the
 * issuer key, durable state, then publish), load at start, delete, worker recovery, suspend.
 * Publish last: a vTPM's state directory is renamed into place and its sockets appear only
 * after every fallible step succeeded.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <uuid/uuid.h>

#include "devnode.h"
#include "fileio.h"
#include "kdev.h"
#include "log.h"
#include "mgr.h"
#include "secmem.h"
#include "vtpm_ipc.h"

#define EK_CERT_FILE "ek.der"
#define EK_PUB_FILE  "ek.pub"
#define META_FILE    "meta.cbor"
#define SOCK_NAME    "tpm.sock"
#define CTRL_NAME    "tpm.sock.ctrl"

static int open_inst_dir(struct mgr *m, const struct instance *in)
{
    char dn[64];
    int fd;

    inst_dirname(in, dn, sizeof(dn));
    fd = openat(m->vtpm_fd, dn, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
    return fd < 0 ? -errno : fd;
}

int vtpm_commit_state(void *ctx)
{
    struct mgr *m = ctx;

    return rb_guard_commit(&m->rb);
}

/* The next generation of a kind; the manifest entry is updated once the file is durable. */
static int store_gen(struct mgr *m, struct instance *in, int kind, int dirfd, const uint8_t *blob,
                     size_t len)
{
    struct rb_entry *e = rb_add(&m->rb.mf, in->uuid);
    uint64_t gen;
    int r;

    if (!e)
        return -ENOMEM;
    gen = (kind == VTPM_STATE_VOL ? e->vol_gen : e->perm_gen) + 1;
    r = state_write(dirfd, in->key, in->uuid, kind, gen, blob, len);
    if (r)
        return r;
    e = rb_find(&m->rb.mf, in->uuid);
    if (kind == VTPM_STATE_VOL) {
        e->vol_gen = gen;
        e->flags |= RB_VOL_LIVE;
    } else {
        e->perm_gen = gen;
    }
    m->rb.dirty = 1;
    return 0;
}

int vtpm_store_state(void *ctx, const struct worker *w, const uint8_t uuid[16], int kind,
                     const uint8_t *blob, size_t len)
{
    struct mgr *m = ctx;
    struct instance *in = inst_find(&m->insts, uuid);
    int fd, r;

    if (!in || (in->status != INST_LIVE && in->status != INST_PENDING))
        return -ENOENT;
    /* A compromised worker must not overwrite another worker's (tenant's) vTPM. */
    if (in->worker != w) {
        LOG_ERROR("worker %d tried to store state of vtpm %s it does not host", (int)w->pid,
                  in->uuid_str);
        return -EPERM;
    }
    if (m->rb.frozen)
        return -EROFS;
    fd = open_inst_dir(m, in);
    if (fd < 0)
        return fd;
    r = store_gen(m, in, kind, fd, blob, len);
    close(fd);
    if (r)
        LOG_ERROR("vtpm %s: storing state failed: %s", in->uuid_str, strerror(-r));
    /* A vTPM being created is in no one's hands yet and its directory is removed at the next
     * start if its create does not finish: vtpm_create() counts its state with one commit
     * before it publishes it, instead of one host-TPM NV_Increment per store. */
    if (r == 0 && in->status == INST_PENDING)
        return POOL_STORED_UNCOUNTED;
    return r;
}

int vtpm_socket_path(const struct mgr *m, const struct instance *in, char *out, size_t outsz)
{
    int n = snprintf(out, outsz, "%s/vtpm/%s/" SOCK_NAME, m->cfg->run_dir, in->uuid_str);

    return n < 0 || (size_t)n >= outsz ? -ENAMETOOLONG : 0;
}

static int bind_one(const char *path, uint32_t uid, uint32_t gid)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    int fd;

    if (strlen(path) >= sizeof(sa.sun_path))
        return -ENAMETOOLONG;
    strcpy(sa.sun_path, path);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    unlink(path);
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 || chmod(path, 0600) != 0 ||
        chown(path, uid, gid) != 0 || listen(fd, 16) != 0) {
        int e = -errno;
        close(fd);
        unlink(path);
        return e;
    }
    return fd;
}

/* Creates <run>/vtpm/<uuid>/ (0700, the owner's) with the data and control sockets. */
static int make_sockets(struct mgr *m, struct instance *in)
{
    char path[PATH_MAX];
    int r;

    if (mkdirat(m->vrun_fd, in->uuid_str, 0700) != 0 && errno != EEXIST)
        return -errno;
    if (fchownat(m->vrun_fd, in->uuid_str, in->owner_uid, in->owner_gid, AT_SYMLINK_NOFOLLOW) ||
        fchmodat(m->vrun_fd, in->uuid_str, 0700, 0))
        return -errno;
    r = vtpm_socket_path(m, in, path, sizeof(path) - 8);
    if (r)
        return r;
    in->data_fd = bind_one(path, in->owner_uid, in->owner_gid);
    if (in->data_fd < 0)
        return in->data_fd;
    strcat(path, ".ctrl");
    in->ctrl_fd = bind_one(path, in->owner_uid, in->owner_gid);
    return in->ctrl_fd < 0 ? in->ctrl_fd : 0;
}

static void remove_sockets(struct mgr *m, const struct instance *in)
{
    int fd = openat(m->vrun_fd, in->uuid_str, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);

    if (fd >= 0) {
        unlinkat(fd, SOCK_NAME, 0);
        unlinkat(fd, CTRL_NAME, 0);
        close(fd);
    }
    unlinkat(m->vrun_fd, in->uuid_str, AT_REMOVEDIR);
}

int vtpm_attach_sockets(struct mgr *m, struct instance *in)
{
    int fds[2];
    int r;

    if (in->data_fd < 0) {
        r = make_sockets(m, in);
        if (r)
            return r;
    }
    fds[0] = in->data_fd;
    fds[1] = in->ctrl_fd;
    return pool_call(&m->pool, in->worker, IPC_INST_ATTACH, in->uuid, in->owner_uid, NULL, 0,
                     fds, 2, NULL, NULL);
}

static int write_meta(int dirfd, const struct instance *in)
{
    uint8_t *buf;
    size_t len;
    int r = inst_meta_encode(in, &buf, &len);

    if (r)
        return r;
    r = file_write_atomic(dirfd, META_FILE, buf, len, 0600);
    free(buf);
    return r;
}

/* Manufacture + EK + EK certificate, all inside the pending directory. */
static int manufacture(struct mgr *m, struct instance *in)
{
    uint8_t *ekpub = NULL, *der = NULL;
    size_t ekpub_len = 0, der_len = 0;
    int fd = -1, r;

    r = pool_call(&m->pool, in->worker, IPC_INST_CREATE, in->uuid, (uint32_t)in->ek_type,
                  NULL, 0, NULL, 0, &ekpub, &ekpub_len);
    if (r)
        goto out;
    /* Signed in software by the issuer key: no host-TPM command on the create path. */
    r = issuer_issue_ek_cert(m->issuer, ekpub, ekpub_len, in->uuid, &der, &der_len);
    if (r)
        goto out;
    r = pool_call(&m->pool, in->worker, IPC_INST_SET_EKCERT, in->uuid, (uint32_t)in->ek_type,
                  der, der_len, NULL, 0, NULL, NULL);
    if (r)
        goto out;
    fd = open_inst_dir(m, in);
    r = fd < 0 ? fd : file_write_atomic(fd, EK_CERT_FILE, der, der_len, 0644);
    if (r == 0)
        r = file_write_atomic(fd, EK_PUB_FILE, ekpub, ekpub_len, 0644);
    if (r == 0)
        r = write_meta(fd, in);
out:
    if (fd >= 0)
        close(fd);
    free(ekpub);
    free(der);
    return r;
}

static int publish(struct mgr *m, struct instance *in)
{
    char dn[64];

    inst_dirname(in, dn, sizeof(dn));
    if (renameat(m->vtpm_fd, dn, m->vtpm_fd, in->uuid_str) != 0)
        return -errno;
    in->status = INST_LIVE;
    return dir_sync(m->vtpm_fd);
}

/* Drops a removed vTPM from the manifest: a copy of its directory put back is a rollback. */
static void forget(struct mgr *m, const struct instance *in)
{
    if (!rb_find(&m->rb.mf, in->uuid) || m->rb.frozen)
        return;
    rb_remove(&m->rb.mf, in->uuid);
    m->rb.dirty = 1;
    if (rb_guard_commit(&m->rb) != 0)
        LOG_WARN("vtpm %s: removal not yet in the manifest (next commit)", in->uuid_str);
}

static void unwind_create(struct mgr *m, struct instance *in)
{
    char dn[64];

    if (in->worker && !in->worker->dead)
        pool_call(&m->pool, in->worker, IPC_INST_REMOVE, in->uuid, 0, NULL, 0, NULL, 0,
                  NULL, NULL);
    if (in->worker)
        pool_unassign(&m->pool, in->worker, in->uuid);
    remove_sockets(m, in);
    inst_dirname(in, dn, sizeof(dn));
    dir_remove_tree(m->vtpm_fd, dn);
    dir_sync(m->vtpm_fd);
    forget(m, in);
    inst_unlink(&m->insts, in);
    inst_free(in);
}

static struct instance *new_instance(struct mgr *m, const struct create_req *req)
{
    struct instance *in = inst_new();

    if (!in)
        return NULL;
    uuid_generate_random(in->uuid);
    uuid_unparse_lower(in->uuid, in->uuid_str);
    snprintf(in->name, sizeof(in->name), "%s", req->name);
    snprintf(in->tenant, sizeof(in->tenant), "%s", req->tenant);
    in->ek_type = req->ek_type;
    in->owner_uid = req->owner_uid;
    in->owner_gid = req->owner_gid;
    in->created = (uint64_t)time(NULL);
    in->status = INST_PENDING;
    if (state_derive_key(m->master_key, in->uuid, in->key) != 0) {
        inst_free(in);
        return NULL;
    }
    return in;
}

int vtpm_create(struct mgr *m, const struct create_req *req, struct instance **out)
{
    struct instance *in = new_instance(m, req);
    char dn[64];
    int r;

    if (!in)
        return -ENOMEM;
    if (m->rb.frozen) {
        LOG_ERROR("create refused: %s", m->rb.why);
        inst_free(in);
        return -EROFS;
    }
    inst_dirname(in, dn, sizeof(dn));
    if (mkdirat(m->vtpm_fd, dn, 0700) != 0) {
        r = -errno;
        inst_free(in);
        return r;
    }
    inst_add(&m->insts, in);
    r = req->bind ? vtpm_bind(m, in, req->bind_pid) : 0;
    if (r == 0)
        r = pool_pick(&m->pool, in->tenant, in->owner_uid, &in->worker);
    if (r == 0)
        r = pool_assign(&m->pool, in->worker, in->uuid); /* recorded before it exists there */
    if (r)
        in->worker = NULL;
    if (r == 0)
        r = manufacture(m, in);
    if (r == 0) /* listed in a counted manifest before it exists under its name */
        r = rb_guard_commit(&m->rb);
    if (r == 0)
        r = publish(m, in);
    if (r == 0)
        r = vtpm_attach_sockets(m, in);
    if (r == 0 && req->device)
        r = vtpm_attach_device(m, in, req->bind_pid, NULL, NULL);
    if (r) {
        LOG_ERROR("creating vtpm %s failed: %s", in->uuid_str, strerror(-r));
        unwind_create(m, in);
        return r;
    }
    LOG_INFO("vtpm %s created (name '%s', tenant %s, worker %d)", in->uuid_str, in->name,
             in->tenant, (int)in->worker->pid);
    *out = in;
    return 0;
}

static int send_device(struct mgr *m, struct instance *in)
{
    return pool_call(&m->pool, in->worker, IPC_INST_ATTACH_DEVICE, in->uuid, in->dev_index,
                     NULL, 0, &in->dev_fd, 1, NULL, NULL);
}

/* Makes the device's node in pid's root and lets its cgroup open it; on failure the device
 * is destroyed again (the container cannot reach it). */
static int give_node(struct mgr *m, struct instance *in, pid_t pid, const char *node,
                     const char *root, dev_t rdev)
{
    int r = devnode_make(pid, root, node, rdev, major(rdev), in->owner_uid, in->owner_gid);

    if (r == 0 && (r = devcg_allow(pid, rdev)) > 0)
        r = 0;
    if (r && kdev_destroy(m->cfg->kmod_control, in->dev_index, in->uuid) != 0)
        LOG_WARN("vtpm %s: /dev/vtpm%u not destroyed by ioctl; closing it", in->uuid_str,
                 in->dev_index);
    return r;
}

int vtpm_attach_device(struct mgr *m, struct instance *in, pid_t pid, const char *node,
                       const char *root)
{
    struct peerns_ref ctr;
    uint8_t *ekpub = NULL;
    size_t len = 0;
    dev_t rdev = 0;
    int fd, r;

    if (in->dev_fd >= 0)
        return -EBUSY;
    if (node && !devnode_valid(node))
        return -EINVAL;
    peerns_ref_init(&ctr);
    if (node && (r = peerns_ref_open(pid, &ctr)) != 0) /* who it is for, before the device */
        return r;
    fd = open_inst_dir(m, in);
    r = fd < 0 ? fd : file_read_all(fd, EK_PUB_FILE, 4096, &ekpub, &len);
    if (fd >= 0)
        close(fd);
    if (r == 0)
        r = kdev_create(m->cfg->kmod_control, pid, in->uuid, ekpub, len, in->name, &in->dev_fd,
                        &in->dev_index, &rdev);
    free(ekpub);
    if (r == 0)
        r = send_device(m, in);
    if (r == 0 && node)
        r = give_node(m, in, pid, node, root, rdev);
    if (r && in->dev_fd >= 0) {
        close(in->dev_fd); /* the last copy: the module destroys the device */
        in->dev_fd = -1;
    }
    if (r == 0 && node) {
        snprintf(in->dev_node, sizeof(in->dev_node), "%s", node);
        in->dev_ctr.pid = ctr.pid;
        in->dev_ctr.start_ticks = ctr.start_ticks;
        in->dev_ctr.ns = ctr.ns;
        vtpm_devices_save(m);
    }
    peerns_ref_close(&ctr);
    if (r == 0)
        LOG_INFO("vtpm %s served as /dev/vtpm%u for pid %d's container%s%s", in->uuid_str,
                 in->dev_index, (int)pid, node ? ", node " : "", node ? node : "");
    return r;
}

int vtpm_delete(struct mgr *m, struct instance *in)
{
    char dn[64];
    struct worker *w = in->worker;
    uint8_t uuid[16];
    int was_bound, had_node;

    memcpy(uuid, in->uuid, sizeof(uuid));
    if (in->dev_fd >= 0 && kdev_destroy(m->cfg->kmod_control, in->dev_index, in->uuid) != 0)
        LOG_WARN("vtpm %s: /dev/vtpm%u not destroyed by ioctl; closing it", in->uuid_str,
                 in->dev_index);

    if (w && !w->dead)
        pool_call(&m->pool, w, IPC_INST_REMOVE, in->uuid, 0, NULL, 0, NULL, 0, NULL, NULL);
    remove_sockets(m, in);
    snprintf(dn, sizeof(dn), ".del-%s", in->uuid_str);
    if (renameat(m->vtpm_fd, in->uuid_str, m->vtpm_fd, dn) != 0 && errno != ENOENT)
        return -errno;
    dir_sync(m->vtpm_fd);
    dir_remove_tree(m->vtpm_fd, dn);
    dir_sync(m->vtpm_fd);
    forget(m, in);
    LOG_INFO("vtpm %s deleted", in->uuid_str);
    was_bound = in->bound.pid_fd >= 0;
    had_node = in->dev_node[0] != '\0';
    inst_unlink(&m->insts, in);
    inst_free(in);
    if (was_bound)
        vtpm_bindings_save(m);
    if (had_node)
        vtpm_devices_save(m);
    if (w)
        pool_unassign(&m->pool, w, uuid);
    if (w && w->ninst == 0 && !w->dead)
        pool_retire(&m->pool, w, 2000);
    return 0;
}

static void mark_broken(struct instance *in, const char *what, int r)
{
    in->status = INST_BROKEN;
    snprintf(in->error, sizeof(in->error), "%s: %s", what, strerror(-r));
    LOG_ERROR("vtpm %s not served: %s (state kept as is; never re-manufactured)",
              in->uuid_str, in->error);
}

static void mark_rolled_back(struct instance *in, const char *why)
{
    in->status = INST_ROLLED_BACK;
    snprintf(in->error, sizeof(in->error), "%s", why);
    LOG_ERROR("vtpm %s not served: rolled back: %s (files left as they are; "
              "docs/operations.md)", in->uuid_str, in->error);
}

static void rollback_reason(const struct rb_entry *e, int perm_old, uint64_t pgen,
                            uint64_t vgen, char *why, size_t n)
{
    if (!e)
        snprintf(why, n, "not listed in %s: a removed vTPM put back", RB_MANIFEST_FILE);
    else if (perm_old)
        snprintf(why, n, "perm.enc is generation %llu, %s lists %llu", (unsigned long long)pgen,
                 RB_MANIFEST_FILE, (unsigned long long)e->perm_gen);
    else
        snprintf(why, n, "vol.enc is generation %llu, %s lists %llu: a replayed volatile state",
                 (unsigned long long)vgen, RB_MANIFEST_FILE, (unsigned long long)e->vol_gen);
}

/*
 * Checks the files' generations against the manifest (rollback.h). Files newer than the
 * manifest (written before a crash, never acknowledged) become the latest; a volatile state
 * that is used is marked consumed. Returns 1 when the vTPM may be served, 0 when it is
 * rolled back (marked), or a negative errno.
 */
static int check_generations(struct mgr *m, struct instance *in, uint64_t pgen, int have_vol,
                             uint64_t vgen, int *use_vol)
{
    struct rb_guard *g = &m->rb;
    const struct rb_entry *e = rb_find(&g->mf, in->uuid);
    enum rb_file_verdict pv, vv = RB_FILE_OK;
    struct rb_entry *ne;
    char why[200];

    *use_vol = 0;
    if (g->frozen) {
        mark_rolled_back(in, g->why);
        return 0;
    }
    pv = g->adopt ? RB_FILE_NEWER : rb_check_perm(e, pgen);
    if (have_vol)
        vv = g->adopt ? RB_FILE_NEWER : rb_check_vol(e, vgen);
    if (pv == RB_FILE_ROLLED_BACK || vv == RB_FILE_ROLLED_BACK) {
        rollback_reason(e, pv == RB_FILE_ROLLED_BACK, pgen, vgen, why, sizeof(why));
        mark_rolled_back(in, why);
        return 0;
    }
    ne = rb_add(&g->mf, in->uuid);
    if (!ne)
        return -ENOMEM;
    if (pv == RB_FILE_NEWER) {
        ne->perm_gen = pgen;
        g->dirty = 1;
    }
    *use_vol = have_vol && (vv == RB_FILE_OK || vv == RB_FILE_NEWER);
    if (*use_vol) { /* single use: counted as consumed before anything is served */
        ne->vol_gen = vgen;
        ne->flags &= ~RB_VOL_LIVE;
        g->dirty = 1;
    }
    return 1;
}

/* Serves a loaded vTPM once the manifest counts what it resumed from: the volatile state is
 * single use (a later crash must not resurrect older PCRs), then the sockets. */
static int serve_instance(struct mgr *m, struct instance *in, int dirfd)
{
    int r = rb_guard_commit(&m->rb);

    if (r == 0 && unlinkat(dirfd, STATE_FILE_VOL, 0) == 0)
        dir_sync(dirfd);
    if (r == 0)
        r = vtpm_attach_sockets(m, in);
    if (r == 0 && in->dev_fd >= 0)
        r = send_device(m, in);
    return r;
}

/* A vTPM found rolled back while the daemon runs (at a worker's restart) loses its sockets
 * and its kernel device: its clients get nothing. */
static void unserve(struct mgr *m, struct instance *in)
{
    if (in->data_fd >= 0)
        close(in->data_fd);
    if (in->ctrl_fd >= 0)
        close(in->ctrl_fd);
    in->data_fd = in->ctrl_fd = -1;
    remove_sockets(m, in);
    if (in->dev_fd >= 0) {
        close(in->dev_fd); /* the last copy: the module destroys the device */
        in->dev_fd = -1;
    }
}

/* Reads both state files; 0 with *vol NULL when there is no usable volatile state. */
static int read_states(struct instance *in, int dirfd, uint8_t **perm, size_t *plen,
                       uint64_t *pgen, uint8_t **vol, size_t *vlen, uint64_t *vgen)
{
    int r = state_read(dirfd, in->key, in->uuid, VTPM_STATE_PERM, pgen, perm, plen);

    if (r) {
        mark_broken(in, "permanent state", r);
        return r;
    }
    r = state_read(dirfd, in->key, in->uuid, VTPM_STATE_VOL, vgen, vol, vlen);
    if (r && r != -ENOENT)
        LOG_WARN("vtpm %s: volatile state unusable (%s); cold start", in->uuid_str,
                 strerror(-r));
    return 0;
}

/* Loads stored state into a worker; a staged volatile blob resumes it. Serves it unless
 * defer (vtpm_load_all serves every vTPM after one commit). */
static int start_instance(struct mgr *m, struct instance *in, int dirfd, int defer)
{
    uint8_t *perm = NULL, *vol = NULL;
    size_t plen = 0, vlen = 0;
    uint64_t pgen = 0, vgen = 0;
    int use_vol, r;

    if (read_states(in, dirfd, &perm, &plen, &pgen, &vol, &vlen, &vgen) != 0)
        return 0;
    r = check_generations(m, in, pgen, vol != NULL, vgen, &use_vol);
    if (r == 0)
        unserve(m, in);
    if (r <= 0)
        goto out;
    r = pool_pick(&m->pool, in->tenant, in->owner_uid, &in->worker);
    if (r == 0)
        r = pool_assign(&m->pool, in->worker, in->uuid);
    if (r) {
        in->worker = NULL;
        goto out;
    }
    if (use_vol)
        r = pool_call(&m->pool, in->worker, IPC_INST_STAGE_VOLATILE, in->uuid, 0, vol, vlen,
                      NULL, 0, NULL, NULL);
    if (r == 0)
        r = pool_call(&m->pool, in->worker, IPC_INST_LOAD, in->uuid, 0, perm, plen, NULL, 0,
                      NULL, NULL);
    if (r == 0 && !defer)
        r = serve_instance(m, in, dirfd);
    if (r == -EINVAL) {
        mark_broken(in, "libtpms rejected the state", r);
        r = 0;
    }
out:
    secure_free(perm, plen);
    secure_free(vol, vlen);
    return r;
}

static int load_one(struct mgr *m, const char *name)
{
    struct instance *in = inst_new();
    uint8_t *meta = NULL;
    size_t mlen;
    int dirfd, r;

    if (!in)
        return -ENOMEM;
    dirfd = openat(m->vtpm_fd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
    r = dirfd < 0 ? -errno : file_read_all(dirfd, META_FILE, 4096, &meta, &mlen);
    if (r == 0)
        r = inst_meta_decode(meta, mlen, in);
    free(meta);
    if (r == 0 && strcmp(in->uuid_str, name))
        r = -EBADMSG;
    if (r == 0)
        r = state_derive_key(m->master_key, in->uuid, in->key);
    if (r) {
        LOG_ERROR("vtpm directory %s: metadata unreadable (%s); ignored", name, strerror(-r));
        inst_free(in);
    } else {
        in->status = INST_LIVE;
        inst_add(&m->insts, in);
    }
    if (dirfd >= 0)
        close(dirfd);
    return r;
}

/*
 * An adopted vTPM's state is the worker's memory, which never came from the disk: its files
 * are checked against the manifest all the same. A newer file (written before the crash, never
 * acknowledged) becomes the listed one; an older one was rolled back behind the running vTPM:
 * that is logged, the file is never loaded, and the next store replaces it (should the worker
 * die first, the vTPM restarts from disk and is reported rolled-back then). The worker's live
 * state makes any volatile file stale: adopt.c removed it, the manifest counts it consumed.
 */
static int check_adopted(struct mgr *m, struct instance *in, int dirfd)
{
    struct rb_guard *g = &m->rb;
    struct rb_entry *e = rb_add(&g->mf, in->uuid);
    uint8_t *perm = NULL;
    size_t plen = 0;
    uint64_t pgen = 0;
    int r;

    if (!e)
        return -ENOMEM;
    r = state_read(dirfd, in->key, in->uuid, VTPM_STATE_PERM, &pgen, &perm, &plen);
    secure_free(perm, plen);
    if (r) {
        LOG_WARN("vtpm %s: adopted, but its permanent state file is unreadable (%s); the "
                 "next store rewrites it", in->uuid_str, strerror(-r));
    } else if (g->adopt || rb_check_perm(e, pgen) == RB_FILE_NEWER) {
        e->perm_gen = pgen;
        g->dirty = 1;
    } else if (rb_check_perm(e, pgen) == RB_FILE_ROLLED_BACK) {
        LOG_ERROR("vtpm %s: perm.enc is generation %llu, %s lists %llu: the file was rolled "
                  "back while the vTPM ran; its adopted worker's live state is kept, the file "
                  "is not used", in->uuid_str, (unsigned long long)pgen, RB_MANIFEST_FILE,
                  (unsigned long long)e->perm_gen);
    }
    if (e->flags & RB_VOL_LIVE) {
        e->flags &= ~RB_VOL_LIVE;
        g->dirty = 1;
    }
    return 0;
}

/* Every vTPM that no adopted worker still serves is loaded from its durable state (served
 * later, by serve_loaded); an adopted one has its files checked only (check_adopted). */
static int start_unserved(struct mgr *m)
{
    int r = 0;

    for (struct instance *in = m->insts.head; in && r == 0; in = in->next) {
        int fd;
        if (in->status != INST_LIVE)
            continue;
        fd = open_inst_dir(m, in);
        if (fd >= 0)
            r = in->worker ? check_adopted(m, in, fd) : start_instance(m, in, fd, 1);
        else if (!in->worker)
            r = fd;
        if (fd >= 0)
            close(fd);
    }
    return r;
}

static int is_vtpm_dir(const char *name)
{
    uuid_t u;

    return name[0] != '.' && uuid_parse(name, u) == 0;
}

static int any_vtpm(struct mgr *m)
{
    int fd = dup(m->vtpm_fd);
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    struct dirent *e;
    int n = 0;

    if (!d)
        return -errno;
    while (!n && (e = readdir(d)) != NULL)
        n = is_vtpm_dir(e->d_name);
    closedir(d);
    return n;
}

/* Manifest entries whose directory is gone: deleted (a crash before the manifest said so). */
static void prune_manifest(struct mgr *m)
{
    struct rb_manifest *mf = &m->rb.mf;
    char name[37];
    struct stat st;

    for (size_t i = 0; i < mf->n;) {
        uuid_unparse_lower(mf->e[i].uuid, name);
        if (fstatat(m->vtpm_fd, name, &st, AT_SYMLINK_NOFOLLOW) != 0 && errno == ENOENT) {
            LOG_INFO("vtpm %s: listed in %s without a directory; dropped", name,
                     RB_MANIFEST_FILE);
            rb_remove(mf, mf->e[i].uuid);
            m->rb.dirty = 1;
        } else {
            i++;
        }
    }
}

/* Every loaded vTPM is served once one commit counted what they resumed from. */
static int serve_loaded(struct mgr *m)
{
    int r = m->rb.frozen ? 0 : rb_guard_commit(&m->rb);

    m->rb.adopt = 0;
    if (r) {
        LOG_ERROR("the state manifest could not be committed: %s", strerror(-r));
        return r;
    }
    for (struct instance *in = m->insts.head; in; in = in->next) {
        int fd;
        if (in->status != INST_LIVE || !in->worker || in->data_fd >= 0)
            continue; /* not loaded, or adopted: served already */
        fd = open_inst_dir(m, in);
        r = fd < 0 ? fd : serve_instance(m, in, fd);
        if (fd >= 0)
            close(fd);
        if (r)
            return r;
    }
    m->rb.serving = 1;
    return 0;
}

int vtpm_load_all(struct mgr *m)
{
    int fd = dup(m->vtpm_fd), have = any_vtpm(m);
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    struct dirent *e;
    int r = 0;

    if (!d || have < 0)
        return !d ? -errno : have;
    rewinddir(d); /* any_vtpm() read through a dup of the same open directory */
    r = rb_guard_open(&m->rb, m->host, m->state_fd, m->cfg->counter_index, m->master_key, have);
    while (r == 0 && (e = readdir(d)) != NULL) {
        if (!strncmp(e->d_name, ".new-", 5) || !strncmp(e->d_name, ".del-", 5)) {
            LOG_INFO("removing unfinished %s", e->d_name);
            dir_remove_tree(m->vtpm_fd, e->d_name);
        } else if (is_vtpm_dir(e->d_name)) {
            r = load_one(m, e->d_name);
        }
    }
    closedir(d);
    dir_sync(m->vtpm_fd);
    if (r == 0) /* before adoption: a connection held for a verdict is judged with them */
        vtpm_bindings_restore(m);
    if (r == 0)
        r = vtpm_adopt_all(m); /* after the directory verdict: a frozen guard stops them */
    if (r == 0)
        r = start_unserved(m);
    if (r == 0 && !m->rb.frozen)
        prune_manifest(m);
    if (r == 0)
        r = serve_loaded(m);
    if (r == 0) /* served: each recorded kernel device is made again for its container */
        vtpm_devices_restore(m);
    LOG_INFO("%u vTPMs loaded", m->insts.count);
    return r;
}

int vtpm_recover_worker(struct mgr *m, struct worker *w)
{
    int r = 0;

    LOG_WARN("worker %d is gone; restarting its vTPMs from their durable state", (int)w->pid);
    for (struct instance *in = m->insts.head; in; in = in->next)
        if (in->worker == w)
            in->worker = NULL;
    pool_destroy(&m->pool, w);
    for (struct instance *in = m->insts.head; in; in = in->next) {
        int fd, rc;
        if (in->worker || in->status != INST_LIVE)
            continue;
        fd = open_inst_dir(m, in);
        rc = fd < 0 ? fd : start_instance(m, in, fd, 0);
        if (fd >= 0)
            close(fd);
        if (rc) {
            LOG_ERROR("vtpm %s: restart failed: %s", in->uuid_str, strerror(-rc));
            r = rc;
        }
    }
    return r;
}

int vtpm_suspend_all(struct mgr *m)
{
    int r = 0;

    while (m->pool.head) {
        struct worker *w = m->pool.head;
        int rc = w->dead ? -EPIPE : pool_call(&m->pool, w, IPC_SUSPEND_ALL, NULL, 0, NULL, 0,
                                              NULL, 0, NULL, NULL);
        if (rc) {
            LOG_ERROR("worker %d: suspend failed (%s); its vTPMs cold-start next time",
                      (int)w->pid, strerror(-rc));
            r = rc;
            pool_destroy(&m->pool, w);
        } else {
            pool_retire(&m->pool, w, 5000);
        }
    }
    for (struct instance *in = m->insts.head; in; in = in->next) {
        in->worker = NULL;
        remove_sockets(m, in);
    }
    return r;
}

int vtpm_ek_cert_pem(struct mgr *m, const struct instance *in, char **pem)
{
    uint8_t *der = NULL;
    size_t len = 0;
    const unsigned char *p;
    X509 *x = NULL;
    BIO *bio = BIO_new(BIO_s_mem());
    char *data;
    long n;
    int fd = open_inst_dir(m, in), r;

    r = fd < 0 ? fd : file_read_all(fd, EK_CERT_FILE, 16384, &der, &len);
    p = der;
    if (r == 0 && !(x = d2i_X509(NULL, &p, (long)len)))
        r = -EBADMSG;
    if (r == 0 && (!bio || !PEM_write_bio_X509(bio, x)))
        r = -ENOMEM;
    if (r == 0) {
        n = BIO_get_mem_data(bio, &data);
        *pem = strndup(data, (size_t)n);
        r = *pem ? 0 : -ENOMEM;
    }
    if (fd >= 0)
        close(fd);
    X509_free(x);
    BIO_free(bio);
    free(der);
    return r;
}

int vtpm_ek_issuer_pem(struct mgr *m, const struct instance *in, uint8_t **pem, size_t *len)
{
    uint8_t *der = NULL;
    size_t der_len = 0;
    int fd = open_inst_dir(m, in), r;

    r = fd < 0 ? fd : file_read_all(fd, EK_CERT_FILE, 16384, &der, &der_len);
    if (fd >= 0)
        close(fd);
    if (r == 0)
        r = issuer_cert_pem(m->issuer, der, der_len, pem, len);
    free(der);
    return r;
}
