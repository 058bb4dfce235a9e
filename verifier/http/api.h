/* SPDX-License-Identifier: BSD-3-Clause */
/* The verifier's REST operations, independent of the HTTP library (server.c routes to them). */
#ifndef VERIFIER_API_H
#define VERIFIER_API_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <openssl/x509.h>

#include "check/policy.h"
#include "store/store.h"
#include "store/store_manifest.h"

#define API_MAX_BODY (1024u * 1024u)

/* The counters of /metrics: X(name) for each, the admission reviews' (nodes.c), then the
 * manifest store's (manifests.c). */
#define API_COUNTERS(X)                                                                         \
    X(requests) X(nonces) X(allow) X(deny) X(refused) X(bad_evidence) X(registrations)          \
    X(activations) X(activation_failures) X(tls_refused)                                        \
    X(admission_allow) X(admission_deny) X(admission_malformed) X(admission_cache_hits)         \
    X(admission_cache_misses) X(admission_refused) X(manifest_uploads) X(manifest_refused)

/* One per serving thread, written by that thread only (atomic: /metrics, on any thread, reads
 * every thread's and sums them, api_metrics_sum). */
struct api_metrics {
#define API_COUNTER_FIELD(n) atomic_uint_fast64_t n;
    API_COUNTERS(API_COUNTER_FIELD)
#undef API_COUNTER_FIELD
};

/* A sum of every thread's counters. */
struct api_counts {
#define API_COUNT_FIELD(n) uint64_t n;
    API_COUNTERS(API_COUNT_FIELD)
#undef API_COUNT_FIELD
};

struct admission_cache;
struct sweeper_stats;
struct rt_cache;

/* One per serving thread (server.c): its own store handle and counters; the policy, trust
 * store and admission cache are shared (read-only, or locked inside). */
struct wp_holder;

struct api_ctx {
    struct store *st;
    struct policy pol;
    X509_STORE *trust;
    unsigned nonce_ttl;
    struct api_metrics m;
    /* scheduler answers and continuous attestation (nodes.c, sweeper.c) */
    struct admission_cache *acache; /* NULL: every review asks the store */
    int64_t admission_max_age;      /* seconds; 0 = a node verdict is usable until due */
    int64_t reattest_interval;      /* seconds; 0 = allow verdicts never fall due */
    int64_t reattest_grace;
    const struct sweeper_stats *sweep; /* NULL when no sweeper runs */
    /* the manifest store (manifests.c): its quota, and the decoded manifests' cache (shared,
     * locked inside; NULL: every check reads and decodes) */
    struct store_manifest_quota mquota;
    struct rt_cache *mcache;
    /* per-workload policies (sched/wpolicy.c), shared by the threads; NULL: the file only */
    struct wp_holder *wp;
    /* Every serving thread's context, this one among them, for /metrics; NULL: this one. */
    const struct api_ctx *peers;
    size_t npeers;
    atomic_uint busy; /* 1 while this thread answers a request (server.c) */
    atomic_int conns; /* connections this thread holds, and ones queued for it (server.c) */
};

struct api_reply {
    unsigned status;
    const char *ctype; /* static string */
    uint8_t *body;     /* malloc'd, owned by the reply */
    size_t len;
};

void api_nonce(struct api_ctx *c, struct api_reply *rep);
void api_evidence(struct api_ctx *c, const uint8_t *body, size_t len, struct api_reply *rep);
void api_container(struct api_ctx *c, const char *id, struct api_reply *rep);
void api_register(struct api_ctx *c, const uint8_t *body, size_t len, struct api_reply *rep);
void api_host_register(struct api_ctx *c, const uint8_t *body, size_t len,
                       struct api_reply *rep);
void api_activate(struct api_ctx *c, const uint8_t *body, size_t len, struct api_reply *rep);
/* POST /v1/hosts/evidence: host-only evidence (docs/evidence.md), the node's verdict. */
void api_host_evidence(struct api_ctx *c, const uint8_t *body, size_t len, struct api_reply *rep);
void api_health(struct api_ctx *c, struct api_reply *rep);
void api_metrics(struct api_ctx *c, struct api_reply *rep);
/* POST /v1/admission (application/json AdmissionReview) and GET /v1/nodes/{id} (nodes.c). */
void api_admission(struct api_ctx *c, const uint8_t *body, size_t len, struct api_reply *rep);
void api_node(struct api_ctx *c, const char *id, struct api_reply *rep);
/* When an allow verdict recorded at now falls due: now + interval + grace; 0 (never) when
 * --reattest-interval is 0 (sweeper.c). */
int64_t api_due(const struct api_ctx *c, int64_t now);
/* The counters of every serving thread (c->peers), summed. */
void api_metrics_sum(const struct api_ctx *c, struct api_counts *out);
/* The /metrics lines of admission reviews (nodes.c) and of the sweeper (sweeper.c). */
void api_admission_metrics(const struct api_ctx *c, const struct api_counts *m, FILE *f);
void api_sweeper_metrics(const struct api_ctx *c, FILE *f);

/* /v1/manifests/sha256:<hex> (manifests.c): name is what follows "/v1/manifests/"; method
 * HEAD or GET (is it there: 200 {"digest","size"} or 404) or PUT (store body). */
void api_manifest(struct api_ctx *c, const char *method, const char *name, const uint8_t *body,
                  size_t len, struct api_reply *rep);
/* The manifest source of a container check (check/runtime.h) over c's store and cache. */
struct rt_source;
void api_manifest_source(struct api_ctx *c, struct rt_source *src);
void api_manifest_metrics(struct api_ctx *c, const struct api_counts *m, FILE *f);
#define API_MANIFEST_TOUCH_S 600 /* a manifest's last use is written at most this often */

/* /v1/policies (policies.c): rest is the URL after "/v1/policies" ("", "/NAME",
 * "/NAME/versions"), version the ?version= argument or NULL, author the admin client's
 * identity (the caller is authorised: server.c). */
void api_policies(struct api_ctx *c, const char *method, const char *rest, const char *version,
                  const char *author, const uint8_t *body, size_t len, struct api_reply *rep);

/* Reply helpers shared by the api files: a JSON body (takes j) or {"error": msg}. */
void api_json(struct api_reply *rep, unsigned status, json_t *j);
void api_error(struct api_reply *rep, unsigned status, const char *msg);
void api_reply_free(struct api_reply *rep);

#endif
