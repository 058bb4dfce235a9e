/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Messages between the privileged vtpm-mgr parent and its sandboxed libtpms workers.
 *
 * Transport: one AF_UNIX SOCK_SEQPACKET socketpair per worker, the worker's end is fd 3
 * (VTPM_IPC_FD) after exec. Every message is one datagram: a struct vtpm_ipc_hdr followed by
 * exactly hdr.len payload bytes (hdr.len <= VTPM_IPC_MAX_PAYLOAD). A receiver checks the
 * datagram length against sizeof(hdr) + hdr.len before looking at the payload, and treats
 * any mismatch, unknown type or oversize as a protocol error (the parent then kills the
 * worker; the worker exits). File descriptors travel as SCM_RIGHTS on IPC_INST_ATTACH,
 * IPC_INST_ATTACH_DEVICE and the IPC_REPLY to IPC_INST_RETURN_FDS only.
 *
 * Both sides send requests: the parent sends IPC_INST_* and IPC_SUSPEND_ALL and waits for an
 * IPC_REPLY with the same seq; while it waits it must still answer IPC_STATE_STORE. The
 * worker sends IPC_STATE_STORE (whenever an instance's state changed and must be durable
 * before the worker answers the TPM client) and waits for IPC_STATE_ACK with the same seq;
 * a parent request that arrives meanwhile is queued and handled afterwards.
 *
 * All TPM state blobs here are plaintext libtpms blobs; only the parent encrypts them and
 * only the parent touches the disk.
 */
#ifndef VTPM_IPC_H
#define VTPM_IPC_H

#include <stdint.h>

#define VTPM_IPC_FD          3
#define VTPM_ADOPT_FD        4 /* the worker's rendezvous socket (see IPC_ADOPT) */
#define VTPM_IPC_VERSION     2
#define VTPM_IPC_MAX_PAYLOAD (192u * 1024u)
#define VTPM_IPC_SOCKBUF     (512 * 1024)

struct vtpm_ipc_hdr {
    uint32_t type;     /* enum vtpm_ipc_type */
    uint32_t seq;      /* request number chosen by the sender; a reply/ack echoes it */
    uint32_t len;      /* payload bytes after this header */
    int32_t  status;   /* replies and acks: 0 ok, else a negative errno value */
    uint32_t arg;      /* type-specific small argument, see below */
    uint32_t arg2;     /* type-specific second argument, see below */
    uint8_t  uuid[16]; /* the instance concerned (all zero for worker-wide messages) */
};

enum vtpm_ipc_type {
    /* ---- parent -> worker requests; each answered by one IPC_REPLY ---- */

    /*
     * Manufacture a new instance: fresh libtpms state, TPM2_Startup(CLEAR), then the
     * instance's platform "firmware" duties are NOT yet done (the EK cert is still to be
     * written). Create the EK in the endorsement hierarchy with the TCG EK Credential
     * Profile default template (arg = VTPM_EK_ECC_P256: template L-2; VTPM_EK_RSA_2048:
     * template L-1), exactly what `tpm2_createek -G ecc|rsa` creates, and flush it.
     * Reply payload: the EK's TPM2B_PUBLIC, marshalled with Tss2_MU.
     * The instance's permanent state is sent with IPC_STATE_STORE before the reply.
     */
    IPC_INST_CREATE = 1,

    /*
     * Payload: the DER X.509 EK certificate. Define the TCG EK certificate NV index
     * (0x01c0000a for ECC, 0x01c00002 for RSA; arg gives the EK type again) with platform
     * authorization, write the certificate, then disable the platform hierarchy
     * (TPM2_HierarchyControl, phEnable = NO) so that nobody can change it.
     * IPC_STATE_STORE(PERM) before the reply.
     */
    IPC_INST_SET_EKCERT = 2,

    /*
     * Stage a volatile-state blob (payload) for the instance named by uuid, to be used by the
     * IPC_INST_LOAD that follows (a resume after a graceful stop). Reply without payload.
     */
    IPC_INST_STAGE_VOLATILE = 3,

    /*
     * Payload: the instance's permanent-state blob. If a volatile blob was staged, resume
     * from it (PCRs, loaded objects and sessions intact, no Startup). Otherwise cold-start:
     * TPM2_Startup(CLEAR) (the TPM's resetCount goes up, which a verifier can see) and
     * disable the platform hierarchy. IPC_STATE_STORE(PERM) if the state changed, then reply.
     * Reply status -EINVAL if libtpms rejects the blob.
     */
    IPC_INST_LOAD = 4,

    /*
     * Start serving an instance: two listening AF_UNIX SOCK_STREAM fds arrive as
     * SCM_RIGHTS, in this order: data socket, control socket (swtpm socket protocol).
     * arg = the uid allowed to connect besides root (SO_PEERCRED check on every accept,
     * then IPC_PEER_CHECK).
     * Reply without payload.
     */
    IPC_INST_ATTACH = 5,

    /* Stop serving and forget an instance (closes its sockets and connections, wipes its
     * state from memory). Reply without payload. */
    IPC_INST_REMOVE = 6,

    /*
     * Graceful stop: for every instance, save its volatile state (the equivalent of
     * Shutdown(STATE): TPMLIB_VolatileAll_Store) and send it with IPC_STATE_STORE(VOL),
     * then reply and stop accepting connections. The parent then closes the IPC socket
     * and the worker exits 0 on EOF.
     */
    IPC_SUSPEND_ALL = 7,

    /* Liveness and numbers: reply payload is struct vtpm_ipc_stats. */
    IPC_STATS = 8,

    /*
     * Serve the instance through a kernel device as well: one fd arrives as SCM_RIGHTS, the
     * kmod-vtpm server fd of /dev/vtpm<N> (kmod-vtpm/include/uapi/vtpm_attest.h). The worker
     * reads whole commands from it and writes responses. -EBUSY if it already has one.
     * arg = the device's index N (kept for a parent that adopts the worker later).
     */
    IPC_INST_ATTACH_DEVICE = 9,

    /* The parent's answer to IPC_PEER_CHECK (same seq): status 0 admits the peer, -EACCES
     * refuses it. arg = how many ms the worker may admit further connections of the same
     * (pid, uid, gid) to the same vTPM without asking again (0: ask every time). No payload. */
    IPC_PEER_VERDICT = 10,

    /* Forget remembered IPC_PEER_VERDICTs for the instance (its binding changed). Reply
     * without payload. */
    IPC_PEER_FLUSH = 11,

    /* ---- parent -> worker, re-adoption after a parent crash (20-29) ----
     *
     * The parent binds an AF_UNIX SOCK_SEQPACKET socket at <run-dir>/workers/<token>.sock
     * (directory 0700) and passes it to the worker as fd 4 (VTPM_ADOPT_FD); the worker calls
     * listen() on it before entering its sandbox, so the socket's SO_PEERCRED names the worker.
     * When the IPC socket reaches EOF without a graceful stop and the worker hosts vTPMs, the
     * worker keeps serving its clients and accepts one connection on fd 4 whose SO_PEERCRED
     * uid is its parent's uid; that connection becomes its IPC socket (a new generation:
     * requests of the dead parent still queued are dropped, replies to them are not sent).
     * A state store that was not acknowledged is sent again on it before anything else, and
     * so is the IPC_PEER_CHECK of a connection accepted meanwhile (never served unjudged).
     * Not adopted within VTPM_WORKER_ADOPT_MS (default 30000), the worker exits.
     */

    /* First request of a new parent. Reply payload: one struct vtpm_ipc_adopt_ent per hosted
     * instance (instances only staged by the dead parent are dropped first; the dead parent's
     * remembered IPC_PEER_VERDICTs are forgotten). */
    IPC_ADOPT = 20,

    /* Reply carries the instance's listening sockets as SCM_RIGHTS (data, control) and, when
     * it serves a kernel device, the device's server fd third; reply arg = the fd count.
     * -ENOENT if the instance is not attached. */
    IPC_INST_RETURN_FDS = 21,

    /* ---- replies ---- */
    IPC_REPLY = 64,

    /* ---- worker -> parent requests ---- */

    /*
     * Make state durable: arg = VTPM_STATE_PERM or VTPM_STATE_VOL, payload = the blob.
     * The parent encrypts, writes atomically (temp file, fsync, rename, fsync dir) and
     * answers IPC_STATE_ACK with the same seq; status != 0 means it was NOT stored, and
     * the worker must then answer the TPM client with an error (TPM_RC_NV_UNAVAILABLE)
     * rather than the response.
     */
    IPC_STATE_STORE = 100,

    /* parent -> worker answer to IPC_STATE_STORE */
    IPC_STATE_ACK = 101,

    /*
     * May this peer use the vTPM named by uuid? Sent for every connection the worker accepted
     * whose SO_PEERCRED uid is root or the owner (others are refused without asking);
     * payload = struct vtpm_ipc_peer. The worker cannot read /proc (sandbox), the parent
     * can: it compares the peer's pid and mount namespaces with its own and with the
     * container the vTPM is bound to, and answers IPC_PEER_VERDICT. The connection is
     * served only on status 0. Parent requests arriving meanwhile are queued as for
     * IPC_STATE_STORE.
     */
    IPC_PEER_CHECK = 102,
};

enum vtpm_ek_type {
    VTPM_EK_ECC_P256 = 1,
    VTPM_EK_RSA_2048 = 2,
};

enum vtpm_state_kind {
    VTPM_STATE_PERM = 1,
    VTPM_STATE_VOL = 2,
};

struct vtpm_ipc_peer {
    uint32_t pid;          /* SO_PEERCRED of the accepted connection */
    uint32_t uid;
    uint32_t gid;
    uint32_t is_ctrl;      /* 1: the control socket (tpm.sock.ctrl) */
    uint64_t accepted_ns;  /* CLOCK_BOOTTIME at accept: a process started later reused the pid */
};

/* IPC_ADOPT reply entries. */
#define VTPM_ADOPT_F_LISTEN 1u /* attached: IPC_INST_RETURN_FDS gives its sockets */
#define VTPM_ADOPT_F_DEVICE 2u /* serves /dev/vtpm<dev_index> */
struct vtpm_ipc_adopt_ent {
    uint8_t uuid[16];
    uint32_t flags;
    uint32_t dev_index; /* arg of the IPC_INST_ATTACH_DEVICE that gave the device */
};

struct vtpm_ipc_stats {
    uint32_t instances;
    uint32_t connections;
    uint64_t commands;
    uint64_t swaps;
    uint64_t state_stores;
};

/* TCG EK certificate NV indices (TCG EK Credential Profile 2.0). */
#define VTPM_NV_EKCERT_RSA 0x01c00002u
#define VTPM_NV_EKCERT_ECC 0x01c0000au

/* Largest TPM command or response the front-end accepts (libtpms buffer size). */
#define VTPM_TPM_BUFSIZE 4096u

#endif
