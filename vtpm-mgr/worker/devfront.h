/* SPDX-License-Identifier: BSD-3-Clause */
/* Kernel-device front-end of a hosted vTPM: the kmod-vtpm server fd of /dev/vtpm<N>. */
#ifndef VTPM_WORKER_DEVFRONT_H
#define VTPM_WORKER_DEVFRONT_H

#include "frontend.h"

/* One /dev/vtpm<N> served for an instance (uapi: kmod-vtpm/include/uapi/vtpm_attest.h). */
struct devconn {
    struct ep_tag tag;
    int fd;
    struct inst *inst;
    struct devconn *next_dead;
    uint8_t in[VTPM_TPM_BUFSIZE + 1]; /* one byte more: a longer command is detected */
    uint8_t out[VTPM_TPM_BUFSIZE];
};

/* Takes over the server fd for inst (closed on failure). 0 or -errno (-EBUSY: has one). */
int dev_attach(struct worker *w, struct inst *inst, int server_fd);
/* Stops serving inst's device; the kernel destroys it once every copy of the fd is closed. */
void dev_detach(struct worker *w, struct inst *inst);
/* One pending command: read, execute, answer. */
void dev_event(struct worker *w, struct devconn *d, uint32_t events);
void dev_reap(struct worker *w);

#endif
