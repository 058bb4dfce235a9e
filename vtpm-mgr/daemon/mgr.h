/* SPDX-License-Identifier: BSD-3-Clause */
/* The vtpm-mgr parent's state and the operations its control server and main loop share. */
#ifndef VTPM_MGR_MGR_H
#define VTPM_MGR_MGR_H

#include <stdint.h>

#include "config.h"
#include "hosttpm.h"
#include "instance.h"
#include "workerpool.h"

struct mgr {
    struct mgr_config *cfg;
    struct hosttpm *host;
    uint8_t master_key[STATE_KEY_LEN];
    int state_fd, host_fd, vtpm_fd;  /* <state-dir>, its host/ and vtpm/ */
    int run_fd, vrun_fd;             /* <run-dir> and <run-dir>/vtpm */
    int lock_fd, ctl_fd, epfd, sig_fd;
    struct inst_table insts;
    struct pool pool;
    int stopping;
};

/* Entry point of the daemon after option parsing. Returns the process exit code. */
int mgr_run(struct mgr_config *cfg);

/* --reseal: re-seals the state key to cfg's PCR selection; the process exit code. */
int mgr_reseal(struct mgr_config *cfg);

/* Background mode (main.c): tells the waiting launcher that the daemon is ready. */
void daemon_ready(void);

struct create_req {
    char name[MGR_NAME_MAX];
    char tenant[MGR_NAME_MAX];
    int ek_type;
    uint32_t owner_uid, owner_gid;
    int device;      /* also a kmod-vtpm device bound to bind_pid's namespaces */
    pid_t bind_pid;
};

/* vTPM lifecycle (vtpmlife.c). Each returns 0 or a negative errno. */
int vtpm_create(struct mgr *m, const struct create_req *req, struct instance **out);
int vtpm_delete(struct mgr *m, struct instance *in);
/* Serves in through a new /dev/vtpm<N> bound to the namespaces of pid (kmod-vtpm). */
int vtpm_attach_device(struct mgr *m, struct instance *in, pid_t pid);
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
/* Durable store of a worker's state blob (the pool's store callback). */
int vtpm_store_state(void *ctx, const struct worker *w, const uint8_t uuid[16], int kind,
                     const uint8_t *blob, size_t len);

/* Control socket (ctlserver.c). */
int ctl_listen(struct mgr *m);
void ctl_serve_one(struct mgr *m);

#endif
