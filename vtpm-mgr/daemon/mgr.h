/* SPDX-License-Identifier: BSD-3-Clause */
/* The vtpm-mgr parent's state and the operations its control server and main loop share. */
#ifndef VTPM_MGR_MGR_H
#define VTPM_MGR_MGR_H

#include <stdint.h>

#include "config.h"
#include "hosttpm.h"
#include "instance.h"
#include "issuer.h"
#include "peerns.h"
#include "rollback.h"
#include "workerpool.h"

/* The control socket in <run-dir>. */
#define CTL_SOCK_NAME "vtpm-mgr.sock"

struct mgr {
    struct mgr_config *cfg;
    struct hosttpm *host;
    struct issuer *issuer;           /* signs the vTPMs' EK certificates (issuer.h) */
    uint8_t master_key[STATE_KEY_LEN];
    int state_fd, host_fd, vtpm_fd;  /* <state-dir>, its host/ and vtpm/ */
    int run_fd, vrun_fd;             /* <run-dir> and <run-dir>/vtpm */
    int lock_fd, run_lock_fd;        /* <state-dir>/vtpm-mgr.lock, <run-dir>/vtpm-mgr.sock.lock */
    int ctl_fd, epfd, sig_fd;
    struct inst_table insts;
    struct pool pool;
    struct peerns_host hostns;       /* the daemon's namespaces (peerauth.c) */
    struct rb_guard rb;              /* rollback manifest and host counter (rollback.h) */
    int stopping;
};

/* Entry point of the daemon after option parsing. Returns the process exit code. */
int mgr_run(struct mgr_config *cfg);

/* --reseal: re-seals the state key to cfg's PCR selection; the process exit code. */
int mgr_reseal(struct mgr_config *cfg);

/* --accept-state: takes the state directory as it is as the latest; the process exit code. */
int mgr_accept_state(struct mgr_config *cfg);

/* Background mode (main.c): tells the waiting launcher that the daemon is ready. */
void daemon_ready(void);

struct create_req {
    char name[MGR_NAME_MAX];
    char tenant[MGR_NAME_MAX];
    int ek_type;
    uint32_t owner_uid, owner_gid;
    int device;      /* also a kmod-vtpm device bound to bind_pid's namespaces */
    int bind;        /* bind_pid was given: the vTPM's sockets serve its container too */
    pid_t bind_pid;
};

/* vTPM lifecycle (vtpmlife.c). Each returns 0 or a negative errno. */
int vtpm_create(struct mgr *m, const struct create_req *req, struct instance **out);
int vtpm_delete(struct mgr *m, struct instance *in);
/* Serves in through a new /dev/vtpm<N> bound to the namespaces of pid (kmod-vtpm). With
 * node ("/dev/<name>", devnode.h) it also makes that node in pid's root (below root when
 * given: the rootfs before the runtime's pivot_root) with its cgroup v1 device rule, and
 * records the attachment in <state-dir>/devices, so that a later run re-creates it for the
 * same process (devrec.c). */
int vtpm_attach_device(struct mgr *m, struct instance *in, pid_t pid, const char *node,
                       const char *root);
int vtpm_load_all(struct mgr *m);
int vtpm_recover_worker(struct mgr *m, struct worker *w);
int vtpm_suspend_all(struct mgr *m);
/* (Re)creates in's sockets if it has none and hands them to its worker. */
int vtpm_attach_sockets(struct mgr *m, struct instance *in);
/* Adopts the workers that outlived a crashed parent (adopt.c); instances must be loaded. */
int vtpm_adopt_all(struct mgr *m);
int vtpm_socket_path(const struct mgr *m, const struct instance *in, char *out, size_t outsz);
/* Reads the stored EK certificate as PEM into a callee-allocated string. */
int vtpm_ek_cert_pem(struct mgr *m, const struct instance *in, char **pem);
/* The PEM certificate of the issuer that signed in's EK certificate (callee-allocated);
 * -ENOENT when none of this host's issuers did. */
int vtpm_ek_issuer_pem(struct mgr *m, const struct instance *in, uint8_t **pem, size_t *len);
/* Group commit of the stored blobs (the pool's commit callback, rb_guard_commit). */
int vtpm_commit_state(void *ctx);
/* Durable store of a worker's state blob (the pool's store callback). */
int vtpm_store_state(void *ctx, const struct worker *w, const uint8_t uuid[16], int kind,
                     const uint8_t *blob, size_t len);

/* Who may use the sockets (peerauth.c); see docs/control-protocol.md, architecture.md. */
struct ucred;
/* The control socket: 0, or -EACCES with *why set (a static string). */
int peer_ctl_check(struct mgr *m, const struct ucred *cr, uint64_t accepted_ns,
                   const char **why);
/* IPC_PEER_CHECK for a vTPM's sockets (the pool's peer callback, ctx = the mgr). */
int peer_vtpm_check(void *ctx, const struct worker *w, const uint8_t uuid[16],
                    const struct vtpm_ipc_peer *peer, uint32_t *memo_ms);
/* Gives in to pid's container: its pid and mount namespaces may use in's sockets (and no
 * admission its worker remembers from before still counts). */
int vtpm_bind(struct mgr *m, struct instance *in, pid_t pid);
/* The same in two steps, so that a binding takes effect only with what it goes along with:
 * open pid's namespaces into *ref (0 or a negative errno), then commit (takes *ref). */
int vtpm_bind_open(struct instance *in, pid_t pid, struct peerns_ref *ref);
void vtpm_bind_commit(struct mgr *m, struct instance *in, pid_t pid, struct peerns_ref *ref);

/* Bindings kept across a parent crash (bindrec.c) in <run-dir>/workers/bindings: saved at
 * every change, restored at start only for the same process (pid, start time, namespaces). */
#define VTPM_BINDINGS_FILE "bindings"
int vtpm_bindings_save(struct mgr *m);
void vtpm_bindings_restore(struct mgr *m);

/* Kernel devices given to containers (devrec.c) in <state-dir>/devices: saved at every
 * change; at start each is re-created, its node re-made and its container bound again when
 * the recorded process still runs (pid, start time, namespaces); the others are dropped. */
#define VTPM_DEVICES_FILE "devices"
int vtpm_devices_save(struct mgr *m);
void vtpm_devices_restore(struct mgr *m);

/* Record files (recfile.c): magic, count and n entries of entsz bytes. Save writes dirfd/name
 * atomically (mode 0600) or removes it when n is 0; load gives the entries in a buffer to free
 * (-ENOENT when absent, -EBADMSG when not such a file of at most max entries). */
int recfile_save(int dirfd, const char *name, const char magic[8], const void *ents, uint32_t n,
                 size_t entsz);
int recfile_load(int dirfd, const char *name, const char magic[8], size_t entsz, uint32_t max,
                 uint8_t **ents, uint32_t *n);

/* Control socket (ctlserver.c). */
int ctl_listen(struct mgr *m);
void ctl_serve_one(struct mgr *m);

#endif
