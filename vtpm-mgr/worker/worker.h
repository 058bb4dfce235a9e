/* SPDX-License-Identifier: BSD-3-Clause */
/* The worker process: IPC with the parent, instance lifecycle and the event loop. */
#ifndef VTPM_WORKER_WORKER_H
#define VTPM_WORKER_WORKER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "frontend.h"
#include "inst.h"
#include "ipc.h"

struct qmsg; /* a parent request queued while waiting for an IPC_STATE_ACK */

struct worker {
    int ipc_fd;
    int epfd;
    struct ep_tag ipc_tag;
    struct inst_table tab;
    uint8_t *ipcbuf; /* IPC_BUF_SIZE receive buffer */
    uint32_t seq;
    struct qmsg *q_head, *q_tail;
    int eof, fatal, suspended;
    /* Re-adoption after a parent crash (adopt.c). */
    int adopt_fd, adopt_ep;     /* rendezvous listener (-1: none) and an epoll set of it alone */
    struct ep_tag adopt_tag;
    uid_t parent_uid;           /* the only uid that may adopt this worker */
    unsigned adopt_ms;          /* how long an orphan waits for a new parent */
    uint64_t orphan_since;      /* fe_now_ms() when the parent went away, 0 while adopted */
    uint32_t gen, req_gen;      /* parent generation now / of the request being handled */
    unsigned nconns;
    struct conn *conns;
    struct conn *dead_conns;
    struct listener *dead_listeners;
    struct devconn *dead_devs;
    uint64_t commands, state_stores, peer_checks;
};

/*
 * Runs a client TPM command on inst and always produces a response in out (cap bytes):
 * the TPM's, or an error response if the instance is off, the TPM failed, or the parent
 * could not make a state change durable.
 */
size_t wk_exec_command(struct worker *w, struct inst *inst, const uint8_t *cmd, size_t len,
                           uint8_t *out, size_t cap);
/* Answers one control-channel request for inst (see ctrl.h); returns the response length. */
size_t wk_exec_ctrl(struct worker *w, struct inst *inst, uint32_t cmd, const uint8_t *payload,
                        uint8_t *out);

/* Sends IPC_STATE_STORE(kind, blob) for inst and waits for the ack; 0 or -errno. */
int wk_store(struct worker *w, struct inst *inst, uint32_t kind, const uint8_t *blob,
                 size_t len);
/* Asks the parent whether peer may use inst (IPC_PEER_CHECK); 0 admits it, else -errno.
 * *memo_ms: how long the verdict may be reused for the same (pid, uid, gid). */
int wk_peer_check(struct worker *w, struct inst *inst, const struct vtpm_ipc_peer *peer,
                  uint32_t *memo_ms);
/* Stores inst's permanent state if libtpms changed it; 0 or -errno. */
int wk_persist(struct worker *w, struct inst *inst);
/* Answers parent request req with IPC_REPLY. */
int wk_reply(struct worker *w, const struct vtpm_ipc_hdr *req, int status, const void *payload,
                 size_t len);

/* Drops parent requests still queued (those of a parent that is gone). */
void wk_queue_drop(struct worker *w);

/* The same with descriptors as SCM_RIGHTS (duplicated: the caller keeps its own); reply
 * arg = nfds. */
int wk_reply_fds(struct worker *w, const struct vtpm_ipc_hdr *req, int status,
                 const void *payload, size_t len, const int *fds, int nfds);

/* Sets up a worker on the IPC socket ipc_fd; 0 or -errno. */
int wk_init(struct worker *w, int ipc_fd);
/* Serves until the parent closes the IPC socket (0) or a fatal error (-errno). */
int wk_loop(struct worker *w);
void wk_fini(struct worker *w);

#endif
