/* SPDX-License-Identifier: BSD-3-Clause */
/* The stateless evidence checks that offline `verify` and the service share. */
#ifndef VERIFIER_VERIFY_H
#define VERIFIER_VERIFY_H

#include <jansson.h>
#include <openssl/x509.h>

#include "boot/eventlog.h"
#include "check/evidence.h"
#include "check/policy.h"
#include "check/quote.h"
#include "check/reasons.h"

struct verify_result {
    struct reasons reasons; /* everything, the host's reasons included */
    struct reasons host;    /* the host part's reasons alone (the node's verdict) */
    struct reasons alerts;  /* what the policy's alert modes only log (runtime.drift, gap) */
    struct quote_info quote;
    struct measurements meas;
};

/* Quote, event log, EK chain, policy and the host part; every problem becomes a reason. */
void verify_evidence(const struct evidence *ev, const struct policy *pol, X509_STORE *trust,
                     struct verify_result *res);
/* The same with src for manifests the evidence does not carry (check/runtime.h; NULL none). */
struct rt_source;
void verify_evidence_src(const struct evidence *ev, const struct policy *pol, X509_STORE *trust,
                         const struct rt_source *src, struct verify_result *res);
void verify_result_free(struct verify_result *res);

/* {"verdict": "allow"|"deny", "reasons": [...], "container_id", "vtpm_uuid"} (callee-allocated). */
json_t *verify_result_json(const struct evidence *ev, const struct reasons *r);
/* The same with the verdict given ("refused": the service wrote nothing, see api.c). */
json_t *verify_verdict_json(const struct evidence *ev, const char *verdict,
                            const struct reasons *r);

/* Host-only evidence: the host chain's identity checks and host_check (res->reasons and
 * res->host are the same list). */
void verify_host_evidence(const struct evidence *ev, const struct policy *pol, X509_STORE *trust,
                          struct verify_result *res);
/* {"verdict", "reasons", "node"} (callee-allocated). */
json_t *verify_host_result_json(const struct evidence *ev, const struct reasons *r);

#endif
