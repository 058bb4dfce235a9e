/* SPDX-License-Identifier: BSD-3-Clause */
/* The verifier's REST operations, independent of the HTTP library (server.c routes to them). */
#ifndef VERIFIER_API_H
#define VERIFIER_API_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <openssl/x509.h>

#include "check/policy.h"
#include "store/store.h"

#define API_MAX_BODY (1024u * 1024u)

struct api_metrics {
    uint64_t requests, nonces, allow, deny, refused, bad_evidence, registrations, activations,
        activation_failures, tls_refused;
    /* admission reviews (nodes.c) */
    uint64_t admission_allow, admission_deny, admission_malformed, admission_cache_hits,
        admission_cache_misses;
};

struct admission_cache;
struct sweeper_stats;

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
/* The /metrics lines of admission reviews (nodes.c) and of the sweeper (sweeper.c). */
void api_admission_metrics(const struct api_ctx *c, FILE *f);
void api_sweeper_metrics(const struct api_ctx *c, FILE *f);

/* Reply helpers shared by the api files: a JSON body (takes j) or {"error": msg}. */
void api_json(struct api_reply *rep, unsigned status, json_t *j);
void api_error(struct api_reply *rep, unsigned status, const char *msg);
void api_reply_free(struct api_reply *rep);

#endif
