/* SPDX-License-Identifier: BSD-3-Clause */
/* Surviving a parent crash: the worker keeps its vTPMs and waits to be adopted by a new parent. */
#ifndef VTPM_WORKER_ADOPT_H
#define VTPM_WORKER_ADOPT_H

#include "worker.h"

#define ADOPT_DEFAULT_MS 30000u

/*
 * Takes fd (VTPM_ADOPT_FD) as the rendezvous socket if it is an AF_UNIX SOCK_SEQPACKET socket
 * and listens on it; without one a parent crash ends the worker as before. Records the
 * parent's uid. Must run before the sandbox (listen() is not allowed after it). 0 or -errno.
 */
int wk_adopt_init(struct worker *w, int fd);

/*
 * The IPC socket reached EOF: if the worker can be adopted (it has a rendezvous socket, hosts
 * vTPMs and is not stopping) it closes the dead link, starts the adoption clock and waits for
 * a parent on its main loop; 0. Otherwise -EPIPE: the worker should exit.
 */
int wk_orphan(struct worker *w);

/* Accepts a parent waiting on the rendezvous socket (non-blocking). 0 when adopted,
 * -EAGAIN when nobody waits, -EPERM when a connection was refused. */
int wk_adopt_try(struct worker *w);

/* Blocks until adopted (0) or the adoption deadline passes (-ETIMEDOUT). */
int wk_adopt_wait(struct worker *w);

/* An orphan whose deadline passed: it must exit. */
int wk_adopt_expired(const struct worker *w);

void wk_adopt_fini(struct worker *w);

#endif
