/* SPDX-License-Identifier: BSD-3-Clause */
/* The verifier's REST endpoints as the agent uses them: nonce, CBOR posts, the verdict. */
#ifndef AGENT_VERIFIERAPI_H
#define AGENT_VERIFIERAPI_H

#include <stddef.h>
#include <stdint.h>

#include "http.h"

#define NONCE_MIN 16

/* GET /v1/nonce -> JSON {"nonce": hex}; *nonce callee-allocated (free()). */
int verifier_nonce(const struct http_opts *o, uint8_t **nonce, size_t *len);
/* POST application/cbor; 0 only for a 2xx answer (resp filled), else the verifier's error is
 * printed on stderr and -EACCES (4xx) or -EIO is returned. */
int verifier_post_cbor(const struct http_opts *o, const char *path, const uint8_t *body,
                       size_t len, struct http_resp *resp);
/* POST /v1/evidence and judge the answer: 0 on {"verdict":"allow"}, -EACCES on a deny (the
 * reasons printed on stderr), another negative errno on anything else. */
int verifier_send_evidence(const struct http_opts *o, const uint8_t *body, size_t len);
/* The same for host-only evidence: POST /v1/hosts/evidence, answered like /v1/evidence. */
int verifier_send_host_evidence(const struct http_opts *o, const uint8_t *body, size_t len);

#endif
