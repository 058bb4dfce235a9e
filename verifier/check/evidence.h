/* SPDX-License-Identifier: BSD-3-Clause */
/* Container evidence (docs/evidence.md): strict CBOR parsing into borrowed views. */
#ifndef VERIFIER_EVIDENCE_H
#define VERIFIER_EVIDENCE_H

#include <cbor.h>
#include <stddef.h>
#include <stdint.h>

#define EVIDENCE_VERSION   1
#define EVIDENCE_MAX_SIZE  (1024u * 1024u)
#define EVIDENCE_MAX_ID    256u
#define EVIDENCE_MAX_PCRS  24u
#define EVIDENCE_NONCE_MIN 16u
#define EVIDENCE_NONCE_MAX 64u

struct bytes {
    const uint8_t *p; /* borrowed from the decoded CBOR */
    size_t len;
};

struct evidence_pcr {
    uint32_t index;
    const uint8_t *value; /* 32 bytes, borrowed */
};

/* The host part (docs/evidence.md "Host evidence"): the host TPM's quote, its UEFI event log
 * and the kmod-vtpm measurement list. present is 0 when the evidence has no `host` map. */
#define EVIDENCE_NODE_MAX  254u
#define EVIDENCE_HOSTLOG_MAX (4u * 1024u * 1024u)
struct host_evidence {
    int present;
    char node[EVIDENCE_NODE_MAX]; /* Kubernetes node name, [a-z0-9.-]{1,253} */
    struct bytes quote_attest, quote_sig;
    struct bytes uefi_log, kmod_log; /* len 0 (p NULL) when absent */
    struct evidence_pcr pcrs[EVIDENCE_MAX_PCRS]; /* sorted by index, no duplicates */
    size_t npcrs;
};

struct evidence {
    cbor_item_t *root; /* owns every borrowed pointer below */
    char container_id[EVIDENCE_MAX_ID];
    char vtpm_uuid[64];
    char registration[EVIDENCE_MAX_ID]; /* "" when absent (offline evidence) */
    struct bytes nonce, ak_pub, quote_attest, quote_sig, ek_cert;
    struct evidence_pcr pcrs[EVIDENCE_MAX_PCRS]; /* sorted by index, no duplicates */
    size_t npcrs;
    const cbor_item_t *event_log;  /* array, checked by eventlog.c */
    const cbor_item_t *host_chain; /* map text -> bytes */
    struct host_evidence host;
    /* Node mode (docs/evidence.md): the node whose verdict stands for the host part, "" when
     * absent. Never set together with host.present. */
    char node[EVIDENCE_NODE_MAX];
    /* Runtime integrity: the rootfs tree digest's entries (docs/runtime-integrity.md); len 0
     * (p NULL) when absent. */
    struct bytes rootfs_manifest;
};

/*
 * Host-only evidence (POST /v1/hosts/evidence): {v, nonce, host_chain, host}. The container
 * fields of ev stay empty. Same error contract as vf_evidence_parse.
 */
int vf_host_evidence_parse(const uint8_t *buf, size_t len, struct evidence *ev, char *err,
                           size_t errsz);

/* Parses the `host` map into h (views borrowed from m). 0 or -EBADMSG with err. */
int vf_host_parse(const cbor_item_t *m, struct host_evidence *h, char *err, size_t errsz);

/*
 * Parses evidence strictly: one CBOR map, every required key with its type, nothing else
 * unknown is an error either (keys are ignored only if listed in docs/evidence.md).
 * On error returns -EBADMSG and writes a short reason into err. ev is zeroed first;
 * vf_evidence_free releases it (also after an error).
 */
int vf_evidence_parse(const uint8_t *buf, size_t len, struct evidence *ev, char *err, size_t errsz);
void vf_evidence_free(struct evidence *ev);

/* The node the container runs on: host.node (quote mode), node (node mode) or "". */
const char *vf_evidence_node(const struct evidence *ev);

/* A file of host_chain by name; -ENOENT when absent, -EINVAL when not a byte string. */
int vf_evidence_chain_file(const struct evidence *ev, const char *name, struct bytes *out);

/* A byte string at key k of map m: 0, -ENOENT, -EINVAL (wrong type or empty). */
int vf_evidence_bytes(const cbor_item_t *m, const char *k, struct bytes *out);

#endif
