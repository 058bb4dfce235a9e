/* SPDX-License-Identifier: BSD-3-Clause */
/* One hosted vTPM instance (its state blobs and front-end sockets) and the worker's table of them. */
#ifndef VTPM_WORKER_INST_H
#define VTPM_WORKER_INST_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define INST_MAX_CONNS 8 /* concurrent client connections per instance */

enum inst_state {
    INST_STAGED = 0, /* only a staged volatile blob, waiting for IPC_INST_LOAD */
    INST_READY,      /* has permanent state, can run commands */
    INST_POWERED_OFF /* control channel SHUTDOWN/STOP: commands fail until INIT */
};

struct listener; /* frontend.h */

struct devconn;

#define INST_PEER_MEMO 4 /* admitted peers remembered per instance */

/* A parent's IPC_PEER_VERDICT admitting (pid, uid, gid), usable until until_ms. */
struct peer_memo {
    pid_t pid;
    uid_t uid;
    gid_t gid;
    uint64_t until_ms; /* CLOCK_MONOTONIC; 0: empty */
};

struct inst {
    uint8_t uuid[16];
    enum inst_state state;
    uint8_t *perm; /* permanent-state blob (owned, wiped on free) */
    size_t perm_len;
    uint8_t *vol; /* volatile-state blob while swapped out or staged (owned) */
    size_t vol_len;
    int perm_dirty;    /* libtpms stored new permanent state not yet acked by the parent */
    uint8_t locality;  /* set via the control channel */
    int ph_open;       /* platform hierarchy still enabled (created, no EK cert yet) */
    uid_t allowed_uid; /* besides root, from IPC_INST_ATTACH */
    struct listener *data_l, *ctrl_l; /* NULL until attached */
    struct devconn *dev;               /* kernel device server fd, if any */
    uint32_t dev_index;                /* its /dev/vtpm<N>, told by the parent */
    unsigned nconns;
    struct peer_memo memo[INST_PEER_MEMO];
    unsigned memo_next;
    struct inst *next;
};

struct inst_table {
    struct inst *head;
    unsigned count;
};

/* Allocates a zeroed instance for uuid and links it in; NULL if it exists or on ENOMEM. */
struct inst *winst_add(struct inst_table *t, const uint8_t uuid[16]);
struct inst *winst_find(const struct inst_table *t, const uint8_t uuid[16]);
/* Unlinks and frees inst, wiping its blobs. The caller closed its sockets before. */
void winst_remove(struct inst_table *t, struct inst *inst);
/* Replaces a blob slot with a copy of data (wiping the old one); -ENOMEM on failure. */
int winst_set_blob(uint8_t **slot, size_t *slot_len, const void *data, size_t len);
void winst_clear_blob(uint8_t **slot, size_t *slot_len);

#endif
