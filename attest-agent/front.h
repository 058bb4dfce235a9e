/* SPDX-License-Identifier: BSD-3-Clause */
/* The agent service's front: the sandboxed child that accepts hook clients and takes their
 * requests apart, and the typed message it hands the parent. */
#ifndef AGENT_FRONT_H
#define AGENT_FRONT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "hookfwd.h"

#define FRONT_MAGIC 0x666e7431u /* "fnt1" */

/*
 * Front -> parent, one per request: this header with the client's socket (SCM_RIGHTS), then
 * args_len bytes of nargs NUL-terminated hook options and state_len bytes of OCI state. The
 * parent checks every size against these bounds before it reads or copies anything, then
 * the client's SO_PEERCRED itself, and answers on the client socket.
 */
struct front_msg {
    uint32_t magic;
    uint32_t nargs;           /* <= HOOKFWD_MAX_ARGS */
    uint32_t args_len;        /* <= HOOKFWD_MAX_ARGS * HOOKFWD_MAX_ARG */
    uint32_t state_len;       /* <= HOOKFWD_STATE_MAX */
};

#define FRONT_ARGS_MAX (HOOKFWD_MAX_ARGS * HOOKFWD_MAX_ARG)

/* Starts the front on the listening socket lfd: the parent's end of its channel, or -errno. */
int front_spawn(int lfd, pid_t *pid);

/* Parent side: the next request (the client's socket in *client, argv as `attest-agent
 * hook ARGS`, argv[2..] and *state callee-allocated: front_req_free). 0, -EPIPE when the
 * front is gone, -EBADMSG when it broke the protocol (*client closed). */
struct front_req {
    int client;
    char *argv[HOOKFWD_MAX_ARGS + 3];
    int argc;
    char *buf;                /* the strings of argv[2..] point into it */
    uint8_t *state;
    size_t state_len;
};
int front_recv(int chan, struct front_req *q);
/* Parent -> front after each request taken: one byte, FRONT_CREDIT; the front sends the next
 * request only then (at most one client socket in flight). 0 or -errno. */
#define FRONT_CREDIT 0x2bu
int front_credit(int chan);
void front_req_free(struct front_req *q);

#endif
