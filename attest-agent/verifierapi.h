/* SPDX-License-Identifier: BSD-3-Clause */
/* The verifier's REST endpoints as the agent uses them: nonce, CBOR posts, the verdict. */
#ifndef AGENT_VERIFIERAPI_H
#define AGENT_VERIFIERAPI_H

#include <stddef.h>
#include <stdint.h>

#include "evidence.h"
#include "http.h"
#include "noderec.h"

#define NONCE_MIN 16

/* GET /v1/nonce -> JSON {"nonce": hex}; *nonce callee-allocated (free()). */
int verifier_nonce(const struct http_opts *o, uint8_t **nonce, size_t *len);
/* The answer to a registration request: already registered (host AK), or a challenge. */
struct reg_reply {
    int registered;
    struct reg_challenge c;   /* when !registered; reg_challenge_free() */
};
/* POST path (/v1/register or /v1/hosts/register) with body; the answer decoded. 0, or for
 * an answer other than 2xx -EACCES (4xx) or -EIO with the verifier's error on stderr,
 * -EBADMSG for an answer that is neither registered nor a challenge. */
int verifier_register(const struct http_opts *o, const char *path, const uint8_t *body,
                      size_t len, struct reg_reply *out);
/* POST /v1/register/activate: 0 when the verifier accepts the credential, -EACCES when not. */
int verifier_activate(const struct http_opts *o, const uint8_t *body, size_t len);

/* The calling thread's calls above go to the sandboxed network process on its channel chan
 * (netproxy.c, one per service thread); from then on a thread of this process that has no
 * channel of its own is refused (-ENOTCONN) instead of doing HTTP itself. */
void verifier_use_proxy(int chan);

/* The reason prefix of the verifier's node checks of node-mode container evidence. */
#define NODE_VERDICT_REASON "node-verdict-"

/* What an answer to evidence says besides the verdict (node mode); all zero otherwise. */
struct verdict_info {
    int node_deny;            /* a deny with a node-verdict-* reason: the record was stale */
    int manifest_missing;     /* a deny with runtime-manifest-missing: the verifier has not
                               * (or no longer) the container's rootfs manifest */
    struct node_answer node;  /* allowed host-only evidence: the node row's time, due,
                               * fresh_until (integers >= 0; 0 where absent) */
};

/* POST /v1/evidence and judge the answer: 0 on {"verdict":"allow"}, -EACCES on a deny (the
 * reasons printed on stderr), another negative errno on anything else. vi (or NULL) gets
 * node_deny. */
int verifier_send_evidence(const struct http_opts *o, const uint8_t *body, size_t len,
                           struct verdict_info *vi);
/* The same for host-only evidence: POST /v1/hosts/evidence, answered like /v1/evidence; on
 * allow vi (or NULL) gets the node's times. */
int verifier_send_host_evidence(const struct http_opts *o, const uint8_t *body, size_t len,
                                struct verdict_info *vi);

/* The rootfs manifest mf (its SHA-256 names it) at the verifier's manifest store
 * (docs/runtime-integrity.md): HEAD /v1/manifests/sha256:<hex>, and PUT when it is missing.
 * 0 (*uploaded 1 when it was sent), -ENOTSUP when the verifier has no manifest store (an older
 * one: 405 or 404 without a JSON error), -ENOSPC (over its quota), -EMSGSIZE (too large),
 * -EACCES (refused, the verifier's error on stderr), another -errno. */
int verifier_manifest(const struct http_opts *o, const uint8_t *mf, size_t len, int *uploaded);

/* The answer's node fields (exposed for tests): JSON body of an allow / a deny. */
void verdict_info_parse(const uint8_t *buf, size_t len, int allowed, struct verdict_info *vi);

#endif
