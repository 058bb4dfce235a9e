/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vTPMs prepared by the agent service between container starts, as `attest-agent prepare`
 * does for one: nothing is measured or extended, so the hook still finds PCRs 8-10 zero and
 * the verifier checks exactly what it checks for a vTPM the hook made itself.
 */
#include "pool.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "attest.h"
#include "binding.h"
#include "deadline.h"
#include "hostreg.h"
#include "http.h"
#include "log.h"
#include "registration.h"

#define POOL_FILL_TIMEOUT_MS 10000

static int prepare_one(struct pool *p, const struct mgr_client *mgr, const char *uuid)
{
    const struct agent_opts *o = p->o;
    struct http_opts ho = { .base_url = o->verifier, .ca = o->ca, .cert = o->cert,
                            .key = o->key,
                            .deadline = deadline_now_ms() + POOL_FILL_TIMEOUT_MS };
    char reg[REG_ID_MAX];
    struct attest a;
    struct evidence e;
    int r = attest_open(&a, mgr, uuid);

    if (r == 0) {
        attest_identity(&a, &e);
        if (!__atomic_load_n(p->host_registered, __ATOMIC_RELAXED) &&
            (r = hostreg_ensure(mgr, &e, &ho)) == 0)
            __atomic_store_n(p->host_registered, 1, __ATOMIC_RELAXED);
        if (r == 0)
            r = registration_ensure(&a, &e, &ho, reg);
    }
    attest_close(&a);
    return r;
}

int pool_init(struct pool *p, const struct agent_opts *o, int *host_registered)
{
    memset(p->uuid, 0, sizeof(p->uuid));
    p->o = o;
    p->host_registered = host_registered;
    p->n = 0;
    return -pthread_mutex_init(&p->mu, NULL);
}

void pool_fini(struct pool *p)
{
    pthread_mutex_destroy(&p->mu);
}

int pool_count(struct pool *p)
{
    int n;

    pthread_mutex_lock(&p->mu);
    n = p->n;
    pthread_mutex_unlock(&p->mu);
    return n;
}

int pool_fill_one(struct pool *p)
{
    struct mgr_client mgr = { .run_dir = p->o->run_dir, .timeout_ms = POOL_FILL_TIMEOUT_MS };
    struct mgr_vtpm vt;
    int r, n, bound = 0;

    if (pool_count(p) >= p->o->pool || pool_count(p) >= AGENT_MAX_POOL)
        return 0; /* one filler (the service's background thread): no other adds */
    if ((r = mgr_create(&mgr, &vt)) < 0) {
        LOG_WARN("pool: vtpm-mgr create: %s", strerror(-r));
        return r;
    }
    /* Reserved for the pool first: no container may name it while it waits there. */
    if ((r = binding_vtpm(p->o->bind_dir, vt.uuid, NULL, &bound)) < 0 ||
        (r = prepare_one(p, &mgr, vt.uuid)) < 0) {
        LOG_WARN("pool: vTPM %s not prepared: %s", vt.uuid, strerror(-r));
        mgr.timeout_ms = 1000;
        (void)mgr_delete(&mgr, vt.uuid);
        if (bound)
            binding_vtpm_release(p->o->bind_dir, vt.uuid);
        return r;
    }
    pthread_mutex_lock(&p->mu);
    snprintf(p->uuid[p->n++], MGR_UUID_LEN, "%s", vt.uuid);
    n = p->n;
    pthread_mutex_unlock(&p->mu);
    LOG_INFO("pool: vTPM %s ready (%d of %d)", vt.uuid, n, p->o->pool);
    return 0;
}

int pool_take(void *arg, char uuid[MGR_UUID_LEN])
{
    struct pool *p = arg;
    int r = -ENOENT;

    pthread_mutex_lock(&p->mu);
    if (p->n > 0) {
        /* Oldest first: every pooled vTPM is equally fresh, order only keeps it fair. */
        snprintf(uuid, MGR_UUID_LEN, "%s", p->uuid[0]);
        memmove(p->uuid[0], p->uuid[1], (size_t)(p->n - 1) * MGR_UUID_LEN);
        p->n--;
        r = 0;
    }
    pthread_mutex_unlock(&p->mu);
    return r;
}

void pool_drain(struct pool *p)
{
    struct mgr_client mgr = { .run_dir = p->o->run_dir, .timeout_ms = 1000 };

    pthread_mutex_lock(&p->mu);
    while (p->n > 0) {
        (void)mgr_delete(&mgr, p->uuid[--p->n]);
        binding_vtpm_release(p->o->bind_dir, p->uuid[p->n]);
    }
    pthread_mutex_unlock(&p->mu);
}
