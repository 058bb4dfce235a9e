/* SPDX-License-Identifier: BSD-3-Clause */
/* Runtime alert notifications: the new findings of alert mode, queued for the webhook once. */
#include "sched/rtalert.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/evp.h>

#define RTALERT_SEEN 8192 /* findings remembered (direct-mapped: a collision re-notifies) */

static pthread_mutex_t seen_mu = PTHREAD_MUTEX_INITIALIZER;
static uint8_t seen[RTALERT_SEEN][32];

/* 1 when (container, vTPM, finding) was not notified before by this process (now marked). */
static int first_time(const struct evidence *ev, const char *finding)
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    uint8_t d[32];
    unsigned n = 0;
    size_t slot;
    int fresh, ok;

    ok = ctx && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1 &&
         EVP_DigestUpdate(ctx, ev->container_id, strlen(ev->container_id) + 1) == 1 &&
         EVP_DigestUpdate(ctx, ev->vtpm_uuid, strlen(ev->vtpm_uuid) + 1) == 1 &&
         EVP_DigestUpdate(ctx, finding, strlen(finding)) == 1 &&
         EVP_DigestFinal_ex(ctx, d, &n) == 1 && n == 32;
    EVP_MD_CTX_free(ctx);
    if (!ok)
        return 1; /* notify rather than lose it */
    slot = ((size_t)d[0] << 8 | d[1]) % RTALERT_SEEN;
    pthread_mutex_lock(&seen_mu);
    fresh = memcmp(seen[slot], d, 32) != 0;
    memcpy(seen[slot], d, 32);
    pthread_mutex_unlock(&seen_mu);
    return fresh;
}

char *rtalert_body(const struct evidence *ev, const char *verdict, const struct reasons *alerts,
                   int64_t t)
{
    json_t *j = json_pack("{s:s, s:s, s:s, s:s, s:o, s:I, s:s}", "kind", "container", "id",
                          ev->container_id, "vtpm", ev->vtpm_uuid, "verdict", verdict, "alerts",
                          reasons_json(alerts), "time", (json_int_t)t, "event",
                          "runtime-drift-alert");
    char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;

    json_decref(j);
    return s;
}

int rtalert_queue(struct store *st, const struct evidence *ev, const char *verdict,
                  const struct reasons *alerts, int64_t t)
{
    struct reasons fresh = { 0 };
    char *body;
    int r;

    for (size_t i = 0; i < alerts->n; i++)
        if (first_time(ev, alerts->v[i]))
            reasons_add(&fresh, alerts->v[i], NULL);
    if (fresh.oom) {
        reasons_free(&fresh);
        return -ENOMEM;
    }
    if (fresh.n == 0)
        return 0;
    body = rtalert_body(ev, verdict, &fresh, t);
    r = body ? store_notify_add(st, body, t) : -ENOMEM;
    free(body);
    reasons_free(&fresh);
    return r < 0 ? r : 1;
}
