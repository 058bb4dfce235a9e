/* SPDX-License-Identifier: BSD-3-Clause */
/* Worker side of the vtpm_ipc.h framing: receive and validate one datagram, send one. */
#ifndef VTPM_WORKER_IPC_H
#define VTPM_WORKER_IPC_H

#include <stddef.h>
#include <stdint.h>

#include "vtpm_ipc.h"

#define IPC_HDR_LEN  sizeof(struct vtpm_ipc_hdr)
#define IPC_BUF_SIZE (IPC_HDR_LEN + VTPM_IPC_MAX_PAYLOAD)
#define IPC_MAX_FDS  2
#define IPC_MAX_SEND_FDS 3 /* IPC_INST_RETURN_FDS: data, control, device */
#define EKCERT_MAX   2048u /* libtpms' largest NV index */

/* One received message; payload points into the receive buffer (or a queued copy). */
struct ipc_msg {
    struct vtpm_ipc_hdr hdr;
    uint8_t *payload;
    int fds[IPC_MAX_FDS];
    int nfds;
};

/*
 * Validates a datagram of n bytes that carried nfds descriptors against the contract:
 * length equals header + hdr.len, the type is one the parent may send, the payload size,
 * argument and descriptor count fit the type. Copies the header to *hdr. 0 or -EPROTO.
 */
int wipc_validate(const uint8_t *buf, size_t n, int nfds, struct vtpm_ipc_hdr *hdr);

/*
 * Receives one datagram into buf (IPC_BUF_SIZE bytes) and validates it. Returns 1 with
 * *msg filled (descriptors owned by the caller), 0 on EOF, -EPROTO on a protocol error
 * (received descriptors already closed), or another negative errno.
 */
int wipc_recv(int fd, uint8_t *buf, struct ipc_msg *msg);

/* The same with recvmsg() flags (MSG_DONTWAIT: -EAGAIN when nothing is there). */
int wipc_recv_flags(int fd, uint8_t *buf, struct ipc_msg *msg, int flags);

/* Sends header + hdr->len payload bytes as one datagram; 0 or a negative errno. */
int wipc_send(int fd, const struct vtpm_ipc_hdr *hdr, const void *payload);

/* The same with nfds (<= IPC_MAX_SEND_FDS) descriptors as SCM_RIGHTS. */
int wipc_send_fds(int fd, const struct vtpm_ipc_hdr *hdr, const void *payload, const int *fds,
                  int nfds);

/* Closes the descriptors a message carries. */
void wipc_msg_close_fds(struct ipc_msg *msg);

#endif
