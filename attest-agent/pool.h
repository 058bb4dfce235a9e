/* SPDX-License-Identifier: BSD-3-Clause */
/* The agent service's vTPMs made ahead: created, AK made and registered, PCRs still zero. */
#ifndef AGENT_POOL_H
#define AGENT_POOL_H

#include "mgrclient.h"
#include "opts.h"

struct pool {
    const struct agent_opts *o;   /* borrowed: run dir, verifier, TLS, pool size */
    int *host_registered;         /* borrowed: the service's host registration state */
    char uuid[AGENT_MAX_POOL][MGR_UUID_LEN];
    int n;
};

/* Adds one vTPM (vtpm-mgr create, AK, host registration if not yet, AK registration). */
int pool_fill_one(struct pool *p);
/* Hands out one vTPM (the caller owns it then): 0, or -ENOENT when the pool is empty.
 * The arg is a struct pool (hook_env.take_vtpm). */
int pool_take(void *arg, char uuid[MGR_UUID_LEN]);
/* Deletes the vTPMs still in the pool. */
void pool_drain(struct pool *p);

#endif
