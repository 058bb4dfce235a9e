/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The parent's side of the worker processes: spawn (fork + exec of the sandboxed
 * vtpm-mgr-worker), typed request/reply over the SEQPACKET pair (vtpm_ipc.h), answering
 * the workers' state-store requests, and reaping. Single-threaded: every function here runs
 * on the daemon's main loop.
 */
#ifndef VTPM_MGR_WORKERPOOL_H
#define VTPM_MGR_WORKERPOOL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "config.h"

#define POOL_CALL_TIMEOUT_MS 30000

struct worker;

/* Durably stores a worker's state blob; returns 0 or a negative errno (sent back as status),
 * or POOL_STORED_UNCOUNTED: stored, acknowledge at once without a commit (state of a vTPM not
 * yet published, which its create commits before it appears). w is the sender: a worker may
 * only store state of the vTPMs it hosts. */
#define POOL_STORED_UNCOUNTED 1
typedef int (*pool_store_fn)(void *ctx, const struct worker *w, const uint8_t uuid[16],
                             int kind, const uint8_t *blob, size_t len);

/* Decides IPC_PEER_CHECK: 0 admits the peer of a connection w accepted for uuid, else a
 * negative errno (sent back as status); *memo_ms: how long w may reuse an admission. */
struct vtpm_ipc_peer;
typedef int (*pool_peer_fn)(void *ctx, const struct worker *w, const uint8_t uuid[16],
                            const struct vtpm_ipc_peer *peer, uint32_t *memo_ms);
/* Group commit (rollback.h): makes every store answered since the last call durable and
 * counted; returns 0 or a negative errno, sent as the status of the held acknowledgements. */
typedef int (*pool_commit_fn)(void *ctx);

/* A state store whose acknowledgement waits for the next commit. */
struct pool_ack {
    struct worker *w;
    uint32_t seq;
    uint8_t uuid[16];
};

struct worker {
    pid_t pid;
    int pidfd;       /* signals and exit without pid reuse; -1 if the kernel has none */
    int adopted;     /* started by an earlier parent: not our child, never waitpid()ed */
    int fd;
    char tenant[MGR_NAME_MAX];
    uint32_t owner_uid;   /* a worker hosts vTPMs of one tenant AND one owner */
    char token[17];  /* names <run-dir>/workers/<token>.sock and .rec */
    unsigned ninst;  /* = number of uuids */
    uint8_t (*uuids)[16]; /* vTPMs given to it, as in its record */
    unsigned cap;
    uint32_t seq;
    int dead;
    struct worker *next;
};

/*
 * A worker's record, <run-dir>/workers/<token>.rec (directory 0700, the parent's): written
 * by the parent before it gives the worker a vTPM, so that a parent started after a crash
 * knows which worker may hold which vTPM without trusting the worker's word.
 */
struct pool_record {
    pid_t pid;
    uint32_t ipc_version; /* a worker of another protocol version is killed, not adopted */
    char tenant[MGR_NAME_MAX];
    uint32_t owner_uid;   /* with tenant, the key of pool_pick(): kept across adoption */
    unsigned n;
    uint8_t (*uuids)[16]; /* callee-allocated */
};

struct pool {
    const struct mgr_config *cfg;
    int wdir_fd;     /* <run-dir>/workers */
    struct worker *head;
    pool_store_fn store;
    void *store_ctx;
    pool_peer_fn peer;          /* with store_ctx */
    pool_commit_fn commit;   /* NULL: every store is acknowledged at once */
    struct pool_ack *acks;   /* held until pool_commit() */
    size_t nacks, acks_cap;
    uint64_t stores;
};

/* Runs the commit callback if acknowledgements are held, then sends them (status = its
 * result). Called by the main loop after each round of events, and before every request to a
 * worker (a worker waiting for its ack would not answer). Returns the commit's result. */
int pool_commit(struct pool *p);

/* Spawns one worker for tenant and owner_uid (both in its record); *out is owned by the
 * pool. */
int pool_spawn(struct pool *p, const char *tenant, uint32_t owner_uid, struct worker **out);

/* A live worker of tenant and owner_uid with room for one more instance, spawning one if
 * needed: vTPMs of different owners never share a worker. */
int pool_pick(struct pool *p, const char *tenant, uint32_t owner_uid, struct worker **out);

/*
 * One request/reply exchange (answers the worker's IPC_STATE_STORE and IPC_PEER_CHECK
 * meanwhile).
 * fds (may be NULL) go along as SCM_RIGHTS. *reply (may be NULL) is callee-allocated.
 * Returns the reply's status (0 or negative errno), or -EPIPE/-ETIMEDOUT/-EPROTO when the
 * worker failed; the worker is then marked dead and killed.
 */
int pool_call(struct pool *p, struct worker *w, uint32_t type, const uint8_t uuid[16],
              uint32_t arg, const void *payload, size_t len, const int *fds, int nfds,
              uint8_t **reply, size_t *reply_len);

/* The same, for a reply that carries descriptors: up to max of them land in rfds (owned by
 * the caller), their count in *nrfds. */
int pool_call_fds(struct pool *p, struct worker *w, uint32_t type, const uint8_t uuid[16],
                  int *rfds, int max, int *nrfds);

/* Records that w gets (assign) or no longer has (unassign) the vTPM uuid; the record is on
 * disk before the function returns 0. */
int pool_assign(struct pool *p, struct worker *w, const uint8_t uuid[16]);
void pool_unassign(struct pool *p, struct worker *w, const uint8_t uuid[16]);
/* Adds uuid to w->uuids only (0, 1 if it was there, -ENOMEM); pool_write_record() follows. */
int pool_assign_deferred(struct worker *w, const uint8_t uuid[16]);
/* Rewrites w's record from w->uuids. */
int pool_write_record(struct pool *p, struct worker *w);

/* Reads and validates <token>.rec. 0, or a negative errno (-EBADMSG: malformed). */
int pool_read_record(struct pool *p, const char *token, struct pool_record *rec);

/*
 * Connects to the rendezvous socket of the worker named by token and checks that the
 * process listening on it is rec->pid (SO_PEERCRED of the listener). On success the worker
 * joins the pool (adopted, no vTPMs assigned yet) and *out is it. -ECONNREFUSED: nobody
 * listens (the worker is gone); -EPERM: another process does.
 */
int pool_adopt(struct pool *p, const char *token, const struct pool_record *rec,
               struct worker **out);

/* Removes <token>.sock and <token>.rec. */
void pool_forget_files(struct pool *p, const char *token);

/* Binds a new worker's rendezvous socket under a fresh random token (17 bytes with the NUL);
 * its fd, or -1 when it has none (the worker then does not outlive the parent). */
int pool_rendezvous(struct pool *p, char token[17]);

/* The IPC socket buffers (VTPM_IPC_SOCKBUF). */
void pool_set_bufs(int fd);

/* Handles what a worker sent unprompted (its fd was readable). Returns 0, or a negative
 * errno when the worker is gone or broke the protocol (it is then marked dead). */
int pool_service(struct pool *p, struct worker *w);

/* Kills (SIGKILL) and reaps a worker, closes its fd, removes it from the pool, frees it. */
void pool_destroy(struct pool *p, struct worker *w);

/* Graceful end of a worker: close its IPC socket and wait up to timeout_ms for its exit,
 * SIGKILL after that. Frees it. */
void pool_retire(struct pool *p, struct worker *w, int timeout_ms);

#endif
