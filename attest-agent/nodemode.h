/* SPDX-License-Identifier: BSD-3-Clause */
/* Node mode (--host-evidence node): before container evidence that names the node, make sure
 * the verifier holds a fresh allow for it, with host-only evidence only when the record
 * (noderec.h) says it is not fresh, shared by every start that needs it meanwhile. */
#ifndef AGENT_NODEMODE_H
#define AGENT_NODEMODE_H

#include <stdint.h>

#include "hostev.h"
#include "http.h"
#include "mgrclient.h"
#include "noderec.h"
#include "opts.h"

struct nodemode {
    const struct agent_opts *o;    /* verifier URL, host options, cache directory */
    struct nodetab *tab;           /* the agent service's records; NULL: the cache file */
    const struct mgr_client *mgr;  /* for the host quote */
    const struct http_opts *ho;    /* for the host-only evidence (its deadline) */
    int *host_registered;          /* as in hostev_attest() */
};

/*
 * 0 when the node's verdict is fresh at the verifier for need_ms from now plus
 * NODEREC_MARGIN_MS (need_ms 0: for container evidence sent right away): as recorded, or
 * after host-only evidence (this caller's, or that of a concurrent one it waited for, at
 * most wait_ms). Without may_refresh a record that is not
 * fresh is -ESTALE. The refresh's error otherwise (-EACCES: the host was denied). u (or NULL)
 * tells what happened, and which record to drop on a node-verdict-* deny.
 */
int nodemode_ensure(const struct nodemode *nm, int64_t need_ms, int64_t wait_ms,
                    int may_refresh, struct noderec_use *u);

/* After a container deny with a node-verdict-* reason: the record used (u->token) goes, the
 * next start refreshes. */
void nodemode_drop(const struct nodemode *nm, const struct noderec_use *u);

#endif
