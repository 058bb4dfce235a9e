/* SPDX-License-Identifier: BSD-3-Clause */
/* cosign-compatible image signatures (docs/policy.md "image_signatures"): the policy section,
 * signature stores on disk (OCI image layout, containers/image `dir:` layout) and the check of
 * a measured image (reference, manifest digest) against them. */
#ifndef VERIFIER_IMAGESIG_H
#define VERIFIER_IMAGESIG_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "check/reasons.h"

#define IMAGESIG_MEDIATYPE "application/vnd.dev.cosign.simplesigning.v1+json"
#define IMAGESIG_ANNOTATION "dev.cosignproject.cosign/signature"
#define IMAGESIG_MAX_SIGS 32
#define IMAGESIG_MAX_BLOB (64u * 1024u)

struct imagesig_policy;

/* The `image_signatures` object of a policy. 0, or -EINVAL with err naming the place. */
int imagesig_parse(const json_t *section, struct imagesig_policy **out, char *err, size_t errsz);
void imagesig_free(struct imagesig_policy *p);

/*
 * Judges the image with reference ref (may be "") and manifest digest (text as measured, may
 * be "") at time now: when a rule matches the reference, a signature by one of its keys,
 * valid and unrevoked at now, over a payload naming our own SHA-256 of the manifest bytes
 * must be in a store. Adds image-* reasons (docs/policy.md).
 */
void imagesig_check(const struct imagesig_policy *p, const char *ref, const char *digest,
                    int64_t now, struct reasons *r);

/* Parsers of untrusted input, exposed for tests and the fuzz harness. */

/* The repository part of a reference (no ":tag", no "@digest") into out. 0 or -1 too long. */
int imagesig_repository(const char *ref, char *out, size_t outsz);

/* The simple-signing payload: critical.type must be "cosign container image signature";
 * digest_out gets critical.image.docker-manifest-digest (normalised), ref_out
 * critical.identity.docker-reference. 0 or -EINVAL. */
int imagesig_parse_payload(const uint8_t *buf, size_t len, char digest_out[72], char *ref_out,
                           size_t refsz);

struct imagesig_blob {
    uint8_t *payload, *sig;
    size_t payload_len, sig_len;
};

/* A containers/image `dir:` signature file ("\0sigstore-json\n" + JSON with mimeType, payload,
 * annotations). 1 with out filled (free with imagesig_blob_free), 0 when it is not a cosign
 * simple-signing signature (another kind of signature or attachment), -EINVAL malformed. */
int imagesig_parse_dirsig(const uint8_t *buf, size_t len, struct imagesig_blob *out);

/* A cosign signature manifest (OCI image manifest JSON): for each simple-signing layer, its
 * payload blob digest (sha256:<hex>) and base64 signature annotation, through cb. The number
 * of such layers or -EINVAL. */
int imagesig_parse_sigmanifest(const uint8_t *buf, size_t len,
                               int (*cb)(void *arg, const char *digest, const char *sig_b64),
                               void *arg);

void imagesig_blob_free(struct imagesig_blob *b);

#endif
