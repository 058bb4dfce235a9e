/* SPDX-License-Identifier: BSD-3-Clause */
/* The agent service's vTPMs made ahead: created, AK made and registered, PCRs still zero. */
#ifndef AGENT_POOL_H
#define AGENT_POOL_H

#include <pthread.h>

#include "mgrclient.h"
#include "opts.h"

struct pool {
    const struct agent_opts *o;   /* borrowed: run dir, verifier, TLS, pool size */
    int *host_registered;         /* borrowed: the service's host registration state */
    pthread_mutex_t mu;           /* guards uuid[] and n: requests take, one thread fills */
    char uuid[AGENT_MAX_POOL][MGR_UUID_LEN];
    int n;
};

int pool_init(struct pool *p, const struct agent_opts *o, int *host_registered);
void pool_fini(struct pool *p);
/* vTPMs ready now. */
int pool_count(struct pool *p);

/* Adds one vTPM (vtpm-mgr create, AK, host registration if not yet, AK registration); the
 * work runs unlocked, so only one thread may fill. */
int pool_fill_one(struct pool *p);
/* Hands out one vTPM (the caller owns it then): 0, or -ENOENT when the pool is empty.
 * The arg is a struct pool (hook_env.take_vtpm). */
int pool_take(void *arg, char uuid[MGR_UUID_LEN]);
/* Deletes the vTPMs still in the pool. */
void pool_drain(struct pool *p);

#endif
