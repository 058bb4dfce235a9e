/* SPDX-License-Identifier: BSD-3-Clause */
/* Node mode: a container's host part is its node's verdict, judged here (fresh, allow, this
 * host's) against the row the store read in the container write's own transaction. */
#ifndef VERIFIER_NODEVERDICT_H
#define VERIFIER_NODEVERDICT_H

#include <stdint.h>

#include "check/reasons.h"
#include "store/store.h"

/* The policy's node_verdict_max_age when the file does not set it: one default
 * re-attestation interval plus its grace (300 + 60 s). */
#define NODEVERDICT_MAX_AGE_DEFAULT 360
#define NODEVERDICT_MAX_AGE_MAX     (86400 * 30)

/*
 * Adds at most one reason for node `node` whose row is row (row->found 0: none), for evidence
 * of the host `host` ("host:<hex>") at time now: node-verdict-missing, -other-host (the row
 * belongs to another host EK), -deny (the row's verdict is not allow), -stale (older than
 * max_age seconds, or due: 0 < due <= now).
 */
void nodeverdict_check(const char *node, const struct store_node_row *row, const char *host,
                       int64_t now, int64_t max_age, struct reasons *r);

/* The last second at which a node verdict of time t and due due counts as fresh:
 * t + max_age, or due - 1 when that is earlier (due 0: never due). */
int64_t nodeverdict_fresh_until(int64_t t, int64_t due, int64_t max_age);

/* A container allow's due (0: never) capped so it falls due when its node stops being fresh:
 * min(due, fresh_until + 1). */
int64_t nodeverdict_cap_due(int64_t due, int64_t fresh_until);

#endif
