/* SPDX-License-Identifier: BSD-3-Clause */
/* The verifier's REST operations, independent of the HTTP library (server.c routes to them). */
#ifndef VERIFIER_API_H
#define VERIFIER_API_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/x509.h>

#include "policy.h"
#include "store.h"

#define API_MAX_BODY (1024u * 1024u)

struct api_metrics {
    uint64_t requests, nonces, allow, deny, bad_evidence, registrations, activations,
        activation_failures, tls_refused;
};

struct api_ctx {
    struct store *st;
    struct policy pol;
    X509_STORE *trust;
    unsigned nonce_ttl;
    struct api_metrics m;
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
void api_health(struct api_ctx *c, struct api_reply *rep);
void api_metrics(struct api_ctx *c, struct api_reply *rep);

/* Reply helpers shared by the api files: a JSON body (takes j) or {"error": msg}. */
void api_json(struct api_reply *rep, unsigned status, json_t *j);
void api_error(struct api_reply *rep, unsigned status, const char *msg);
void api_reply_free(struct api_reply *rep);
/* Lowercase hex of len bytes into out (2*len+1). */
void api_hex(const uint8_t *b, size_t len, char *out);

#endif
