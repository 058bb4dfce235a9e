/* SPDX-License-Identifier: BSD-3-Clause */
/* Client front-end of hosted vTPMs: listening sockets, connections and their buffers on epoll. */
#ifndef VTPM_WORKER_FRONTEND_H
#define VTPM_WORKER_FRONTEND_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "inst.h"
#include "rmtrack.h"
#include "vtpm_ipc.h"

#define FE_MAX_CONNS   512u  /* client connections per worker */
#define FE_TIMEOUT_MS  10000 /* idle, partial-command and unread-response limit */

struct worker;

/* Every epoll registration points at a struct starting with this tag. */
enum ep_kind { EP_IPC = 1, EP_LISTEN, EP_CONN, EP_DEV, EP_ADOPT };
struct ep_tag {
    enum ep_kind kind;
    int dead; /* closed during this event batch; freed by fe_reap() */
};

struct listener {
    struct ep_tag tag;
    int fd;
    int is_ctrl;
    struct inst *inst;
    struct listener *next_dead;
};

struct conn {
    struct ep_tag tag;
    int fd;
    int is_ctrl;
    int writing;     /* a response is being sent; no reading meanwhile */
    int close_after; /* the request could not be framed: close once answered */
    struct inst *inst;
    uint64_t deadline;
    size_t have, need;
    size_t out_len, out_off;
    uint8_t in[VTPM_TPM_BUFSIZE];
    uint8_t out[VTPM_TPM_BUFSIZE];
    struct rm_handles rm; /* data connections: the transient handles it holds */
    struct conn *prev, *next;
};

/* Takes over two listening sockets for inst; closes them itself on failure. 0 or -errno. */
int fe_attach(struct worker *w, struct inst *inst, int data_fd, int ctrl_fd, uid_t uid);
/* Closes inst's listeners and connections (memory is reaped after the event batch). */
void fe_detach(struct worker *w, struct inst *inst);
/* Handles epoll events for a listener or a connection. */
void fe_event(struct worker *w, struct ep_tag *tag, uint32_t events);
/* Drops connections past their deadline. */
void fe_sweep(struct worker *w, uint64_t now_ms);
/* Frees what was closed during the last event batch. */
void fe_reap(struct worker *w);
uint64_t fe_now_ms(void);
/* Handle h of inst now belongs to whoever the vTPM just gave it to (a command on the kernel
 * device or another connection): no connection holds its old number any more. */
void fe_handle_taken(struct worker *w, struct inst *inst, uint32_t h, const struct conn *by);

#endif
