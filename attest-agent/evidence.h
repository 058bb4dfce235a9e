/* SPDX-License-Identifier: BSD-3-Clause */
/* Encoders and decoders of the agent's messages to the verifier (docs/evidence.md). */
#ifndef AGENT_EVIDENCE_H
#define AGENT_EVIDENCE_H

#include <cbor.h>
#include <stddef.h>
#include <stdint.h>

#include "eventlog.h"
#include "vtpm.h"

#define EVIDENCE_VERSION 1
#define REG_ID_MAX 128
#define EVIDENCE_MAX_SIZE (1u << 20) /* the verifier's request body limit */

struct bytes {
    const uint8_t *p;
    size_t len;
};

/* Everything one piece of evidence carries; all borrowed. */
struct evidence {
    const char *container_id, *vtpm_uuid;
    struct bytes nonce, ak_pub, ek_cert;
    const struct vtpm_quote *quote;
    const struct eventlog *log;
    const cbor_item_t *host_chain;  /* map text -> bytes */
    const char *registration;       /* NULL: absent (offline evidence) */
    const cbor_item_t *host;        /* the host part (hostev.h); NULL: absent */
    const char *node;               /* node mode: the node whose verdict the verifier checks
                                     * instead of a host part; NULL: absent */
    struct bytes manifest;          /* runtime integrity: the rootfs manifest (rootfs.h); len 0:
                                     * absent */
};

/* Each encoder writes a callee-allocated definite-length CBOR buffer (free()). */
/* Evidence over EVIDENCE_MAX_SIZE bytes is -EMSGSIZE (logged with its size); host and node
 * together are -EINVAL (the verifier refuses both). */
int evidence_encode(const struct evidence *e, uint8_t **out, size_t *len);
/* Host-only evidence {v, nonce, host_chain, host} (POST /v1/hosts/evidence); e->host set. */
int host_evidence_encode(const struct evidence *e, uint8_t **out, size_t *len);
/* {v, vtpm_uuid, ek_cert, ak_pub, host_chain} */
int register_request_encode(const struct evidence *e, uint8_t **out, size_t *len);
/* {v, registration, credential} */
int activate_request_encode(const char *registration, const uint8_t *cred, size_t cred_len,
                            uint8_t **out, size_t *len);

/* The credential challenge of a register reply; blob and secret are callee-allocated. */
struct reg_challenge {
    char registration[REG_ID_MAX];
    uint8_t *blob, *secret;
    size_t blob_len, secret_len;
};
/* Strict decoding: {v: 1, registration: text, credential_blob: bytes, secret: bytes}.
 * Returns 0 or -EBADMSG. Free with reg_challenge_free(). */
int register_reply_parse(const uint8_t *buf, size_t len, struct reg_challenge *c);
void reg_challenge_free(struct reg_challenge *c);
/* {v: 1, ok: true} -> 0; anything else -> -EBADMSG or -EACCES (ok false). */
int activate_reply_parse(const uint8_t *buf, size_t len);

/* The verifier's answer to evidence (JSON, docs/verifier.md): "allow" (only with HTTP 200),
 * "deny", "refused" (the evidence proved nothing, no verdict was written: a deny for the
 * container), or anything else (not understood: fails closed too). */
enum verdict_kind { VERDICT_ALLOW, VERDICT_DENY, VERDICT_REFUSED, VERDICT_UNKNOWN };
enum verdict_kind verdict_reply_parse(const uint8_t *buf, size_t len, long status);

#endif
