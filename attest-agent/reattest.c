/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Re-attestation by the agent service. A verdict is only as fresh as its quote: every
 * interval the service proves again that the host still runs what it booted (host-only
 * evidence) and that each container it let start still has the measurements of its start
 * (a new quote of the container's vTPM with its AK, the same event log), each with a new
 * nonce. Work is cut into steps of one piece of evidence so that a hook request waits for at
 * most one of them.
 */
#include "reattest.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attest.h"
#include "deadline.h"
#include "hostev.h"
#include "log.h"
#include "nodemode.h"
#include "procstat.h"
#include "verifierapi.h"

void reattest_init(struct reattest *r, const struct agent_opts *o, int *host_registered,
                   struct nodetab *nodes)
{
    memset(r, 0, sizeof(*r));
    r->o = o;
    r->host_registered = host_registered;
    r->nodes = nodes;
    r->next_round_ms = deadline_now_ms() + (int64_t)o->reattest_s * 1000;
}

void reattest_begin(struct reattest *r)
{
    r->next_round_ms = deadline_now_ms() + (int64_t)r->o->reattest_s * 1000;
}

static void ctr_free(struct reattest_ctr *c)
{
    free(c->id);
    if (c->log)
        cbor_decref(&c->log);
    memset(c, 0, sizeof(*c));
}

void reattest_free(struct reattest *r)
{
    for (size_t i = 0; i < r->n; i++)
        ctr_free(&r->ctrs[i]);
    free(r->ctrs);
    memset(r, 0, sizeof(*r));
}

static void remove_at(struct reattest *r, size_t i)
{
    ctr_free(&r->ctrs[i]);
    memmove(&r->ctrs[i], &r->ctrs[i + 1], (r->n - i - 1) * sizeof(r->ctrs[0]));
    r->n--;
}

/* The index for container id: its old entry (emptied: a new container under an old id) or a
 * new one at the end; -ENOSPC or -ENOMEM. */
static int slot_for(struct reattest *r, const char *id, size_t *idx)
{
    struct reattest_ctr *nc;

    for (size_t i = 0; i < r->n; i++) {
        if (!strcmp(r->ctrs[i].id, id)) {
            ctr_free(&r->ctrs[i]);
            *idx = i;
            return 0;
        }
    }
    if (r->n >= REATTEST_MAX)
        return -ENOSPC;
    if (r->n == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 16;
        if (!(nc = realloc(r->ctrs, cap * sizeof(*nc))))
            return -ENOMEM;
        r->ctrs = nc;
        r->cap = cap;
    }
    memset(&r->ctrs[r->n], 0, sizeof(r->ctrs[0]));
    *idx = r->n++;
    return 0;
}

void reattest_add(void *arg, const struct hook_attested *a)
{
    struct reattest *r = arg;
    struct reattest_ctr *c;
    size_t i;
    int rc;

    if (r->o->reattest_s == 0)
        return;
    if ((rc = slot_for(r, a->container_id, &i)) == 0 && !(r->ctrs[i].id = strdup(a->container_id))) {
        remove_at(r, i);
        rc = -ENOMEM;
    }
    if (rc < 0) {
        LOG_WARN("container %s: not re-attested: %s (%zu containers remembered)",
                 a->container_id, strerror(-rc), r->n);
        return;
    }
    c = &r->ctrs[i];
    snprintf(c->vtpm, sizeof(c->vtpm), "%s", a->vtpm);
    snprintf(c->reg, sizeof(c->reg), "%s", a->registration);
    c->pid = a->pid;
    c->start = procstat_start_time(a->pid);
    c->log = cbor_incref((cbor_item_t *)a->event_log);
}

int64_t reattest_due_ms(const struct reattest *r)
{
    int64_t left;

    if (r->o->reattest_s == 0)
        return -1;
    if (r->in_round)
        return 0;
    left = r->next_round_ms - deadline_now_ms();
    return left > 0 ? left : 0;
}

static void drop(struct reattest *r, size_t i, const char *why)
{
    LOG_INFO("container %s: no longer re-attested (%s)", r->ctrs[i].id, why);
    remove_at(r, i);
}

static struct http_opts http_for(const struct agent_opts *o)
{
    return (struct http_opts){ .base_url = o->verifier, .ca = o->ca, .cert = o->cert,
                               .key = o->key, .deadline = deadline_now_ms() + REATTEST_STEP_MS };
}

static int node_mode(const struct reattest *r)
{
    return !r->o->host.off && r->o->host.mode == HOST_MODE_NODE;
}

/* Node mode: the node's verdict fresh for this step; host-only evidence only while the round
 * has sent less than REATTEST_NODE_REFRESHES (the host step's, and one more should the record
 * have been dropped or have run out in a long round): never one per container. */
static int node_fresh(struct reattest *r, const struct nodemode *nm, struct noderec_use *u)
{
    int rc = nodemode_ensure(nm, 0, REATTEST_STEP_MS, r->refreshes < REATTEST_NODE_REFRESHES, u);

    r->refreshes += u->refreshed;
    return rc;
}

/* A new quote of c's vTPM with a new nonce, sent with the event log of its start. */
static int quote_again(struct reattest *r, struct attest *a, const struct reattest_ctr *c)
{
    const struct http_opts ho = http_for(r->o);
    struct nodemode nm = { .o = r->o, .tab = r->nodes, .mgr = &a->mgr, .ho = &ho,
                           .host_registered = r->host_registered };
    struct noderec_use use = { 0 };
    struct verdict_info vi = { 0 };
    struct evidence e;
    uint8_t *nonce = NULL;
    size_t nonce_len = 0;
    int rc;

    a->log.records = cbor_incref(c->log);
    a->log.count = cbor_array_size(c->log);
    if (node_mode(r) && (rc = node_fresh(r, &nm, &use)) < 0)
        return rc;
    if ((rc = verifier_nonce(&ho, &nonce, &nonce_len)) < 0)
        return rc;
    rc = attest_quote(a, c->id, nonce, nonce_len, &e);
    e.registration = c->reg;
    if (rc == 0)
        rc = hostev_send_container(&a->mgr, &r->o->host, &e, &ho, &vi);
    if (rc == -EACCES && vi.node_deny && node_mode(r))
        nodemode_drop(&nm, &use);
    free(nonce);
    return rc;
}

/*
 * vtpm-mgr keeps bindings in memory: after its restart a vTPM is given to no container and
 * the container that uses its socket is refused. The container's process is still the one
 * the hook saw (pid and start time checked just before), so it gets its vTPM back; a vTPM
 * bound to anything (an operator's re-bind included) is left alone.
 */
static void rebind(const struct mgr_client *mgr, const struct reattest_ctr *c)
{
    int rc = c->pid > 0 && c->pid <= INT_MAX ? mgr_bind(mgr, c->vtpm, (pid_t)c->pid) : -EINVAL;

    if (rc == 0)
        LOG_INFO("container %s: vTPM %s was bound to no container (vtpm-mgr restarted?): "
                 "bound again to pid %lld", c->id, c->vtpm, (long long)c->pid);
    else
        LOG_WARN("container %s: cannot bind vTPM %s again: %s", c->id, c->vtpm, strerror(-rc));
}

/* 0 re-attested, -ESRCH or -ENOENT: gone (drop it), another -errno: try in the next round. */
static int ctr_step(struct reattest *r, const struct reattest_ctr *c)
{
    struct mgr_client mgr = { .run_dir = r->o->run_dir, .timeout_ms = REATTEST_STEP_MS };
    struct attest a;
    int rc;

    if (c->start && procstat_start_time(c->pid) != c->start)
        return -ESRCH;
    /* Unknown to a vtpm-mgr that answers: deleted (a poststop hook, vtpmctl delete). */
    rc = attest_open(&a, &mgr, c->vtpm);
    if (rc == -ENOENT && mgr_ping(&mgr) < 0)
        rc = -EAGAIN; /* vtpm-mgr itself is away (restarting): not a verdict on the vTPM */
    if (rc == 0 && a.ak_created) {
        LOG_WARN("container %s: the AK of vTPM %s was gone", c->id, c->vtpm);
        rc = -ENOENT; /* its registration named the old AK */
    }
    if (rc == 0 && c->start && a.vt.unbound)
        rebind(&mgr, c);
    if (rc == 0)
        rc = quote_again(r, &a, c);
    attest_close(&a);
    return rc;
}

static void container_step(struct reattest *r)
{
    const struct reattest_ctr *c = &r->ctrs[r->next];
    int rc = ctr_step(r, c);

    if (rc == -ESRCH || rc == -ENOENT) {
        drop(r, r->next, rc == -ESRCH ? "its process ended" : "its vTPM is gone");
        return;
    }
    if (rc == 0)
        LOG_INFO("container %s: re-attested", c->id);
    else
        LOG_WARN("container %s: re-attestation failed (%s), next try in %d s", c->id,
                 rc == -EACCES ? "denied" : rc == -ESTALE ? "the node verdict is not fresh"
                 : strerror(-rc), r->o->reattest_s);
    r->next++;
}

/* Node mode: host-only evidence only when the record would not stay fresh until the next
 * round's host step has run: one host quote per interval, none when starts refreshed it. */
static int host_node_step(struct reattest *r, const struct mgr_client *mgr,
                          const struct http_opts *ho)
{
    struct nodemode nm = { .o = r->o, .tab = r->nodes, .mgr = mgr, .ho = ho,
                           .host_registered = r->host_registered };
    int64_t need = r->next_round_ms - deadline_now_ms() + REATTEST_STEP_MS;
    struct noderec_use u;
    int rc = nodemode_ensure(&nm, need, REATTEST_STEP_MS, 1, &u);

    r->refreshes += u.refreshed;
    if (rc == 0 && !u.refreshed) {
        LOG_INFO("host: node verdict fresh for %lld s more; no host evidence this round",
                 (long long)((u.fresh_ms - noderec_now_ms()) / 1000));
        return 1;
    }
    return rc;
}

static void host_step(struct reattest *r)
{
    struct mgr_client mgr = { .run_dir = r->o->run_dir, .timeout_ms = REATTEST_STEP_MS };
    const struct http_opts ho = http_for(r->o);
    int rc = node_mode(r) ? host_node_step(r, &mgr, &ho)
                          : hostev_attest(&mgr, &r->o->host, &ho, r->host_registered, NULL);

    if (rc > 0)
        return;
    if (rc == 0)
        LOG_INFO("host: re-attested");
    else
        LOG_WARN("host: re-attestation failed (%s), next try in %d s",
                 rc == -EACCES ? "denied" : strerror(-rc), r->o->reattest_s);
}

void reattest_step(struct reattest *r)
{
    if (reattest_due_ms(r) != 0)
        return;
    if (!r->in_round) {
        r->in_round = 1;
        r->refreshes = 0;
        r->host_due = !r->o->host.off;
        r->next = 0;
        r->next_round_ms = deadline_now_ms() + (int64_t)r->o->reattest_s * 1000;
    }
    if (r->host_due) {
        r->host_due = 0;
        host_step(r);
    } else if (r->next < r->n) {
        container_step(r);
    }
    if (!r->host_due && r->next >= r->n)
        r->in_round = 0;
}
