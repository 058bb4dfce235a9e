/* SPDX-License-Identifier: BSD-3-Clause */
/* The agent service's re-attestation: every interval, fresh host evidence and fresh evidence
 * of every container it allowed that still runs, one step at a time between hook requests. */
#ifndef AGENT_REATTEST_H
#define AGENT_REATTEST_H

#include <cbor.h>
#include <stddef.h>
#include <stdint.h>

#include "evidence.h"
#include "hook.h"
#include "mgrclient.h"
#include "noderec.h"
#include "opts.h"

#define REATTEST_MAX      4096   /* containers remembered */
#define REATTEST_STEP_MS  5000   /* bound of one step (vtpm-mgr and verifier calls) */

/* One allowed container: what a new quote of its vTPM needs besides the vTPM itself. */
struct reattest_ctr {
    char *id;                   /* OCI container id */
    char vtpm[MGR_UUID_LEN];
    char reg[REG_ID_MAX];       /* its AK's registration at the verifier */
    long long pid;              /* its process (OCI state pid), 0: unknown */
    unsigned long long start;   /* that process's start time (/proc/PID/stat), 0: unknown */
    cbor_item_t *log;           /* the event log of its start (a reference) */
};

#define REATTEST_NODE_REFRESHES 2 /* node mode: host-only evidence per round at most */

struct reattest {
    const struct agent_opts *o;  /* borrowed: verifier, TLS, run dir, interval, host options */
    int *host_registered;        /* borrowed: the service's host registration state */
    struct nodetab *nodes;       /* borrowed: the service's node records (node mode) */
    int refreshes;               /* node mode: host-only evidence sent in this round */
    struct reattest_ctr *ctrs;
    size_t n, cap;
    int64_t next_round_ms;       /* deadline_now_ms() value when the next round starts */
    int in_round, host_due;      /* a round runs; its host evidence is still to be sent */
    size_t next;                 /* in a round: the next container */
};

void reattest_init(struct reattest *r, const struct agent_opts *o, int *host_registered,
                   struct nodetab *nodes);
void reattest_free(struct reattest *r);
/* The first round one interval from now: called when the service starts serving (filling the
 * pool before may take longer than an interval on a slow host TPM). */
void reattest_begin(struct reattest *r);

/* hook_env.attested: remembers an allowed container (replacing one of the same id). */
void reattest_add(void *arg, const struct hook_attested *a);

/* Milliseconds until reattest_step() has work (0: now), -1 when re-attestation is off. */
int64_t reattest_due_ms(const struct reattest *r);

/* One step of a due round (a round starts when due): the host evidence first, then one
 * container per call. A container whose process ended or whose vTPM is gone is dropped;
 * a failed step is logged and tried again in the next round. Node mode: the host step sends
 * host-only evidence only when the node's record would not stay fresh until the next round's
 * host step, and container evidence names the node (never a host quote). */
void reattest_step(struct reattest *r);

#endif
