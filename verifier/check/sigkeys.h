/* SPDX-License-Identifier: BSD-3-Clause */
/* Trusted signing keys of a policy (ECDSA P-256 and Ed25519 public keys in PEM, each with a
 * validity period and a revoked flag) and detached-signature verification with them. Used by
 * image signatures (imagesig.c) and signed reference bundles (refbundle.c). */
#ifndef VERIFIER_SIGKEYS_H
#define VERIFIER_SIGKEYS_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#define SIGKEY_NAME_MAX 64
#define SIGKEYS_MAX 256

struct sigkey {
    char name[SIGKEY_NAME_MAX];
    EVP_PKEY *pkey;
    int ed25519;                /* else ECDSA P-256 over SHA-256 */
    int64_t not_before, not_after; /* seconds since the epoch, UTC, both inclusive */
    int revoked;
    char fingerprint[72];       /* sha256:<hex> of the DER SubjectPublicKeyInfo */
};

struct sigkeys {
    struct sigkey *v;
    size_t n;
};

enum sigkey_state { SIGKEY_VALID, SIGKEY_NOT_YET_VALID, SIGKEY_EXPIRED, SIGKEY_REVOKED };

/*
 * Parses an array of {"name", "public_key" (PEM), "not_before", "not_after" (RFC 3339 UTC,
 * "2026-01-31T00:00:00Z"), "revoked" (optional bool)}; revoked_list (NULL or an array of
 * "sha256:<hex>" fingerprints) marks keys revoked too. Unknown keys, duplicate names and keys
 * that are not P-256 or Ed25519 are errors naming the entry. 0 or -EINVAL.
 */
int sigkeys_parse(const json_t *arr, const json_t *revoked_list, struct sigkeys *ks, char *err,
                  size_t errsz);
void sigkeys_free(struct sigkeys *ks);
/* Index of the key named name, or -1. */
int sigkeys_find(const struct sigkeys *ks, const char *name);
enum sigkey_state sigkey_state_at(const struct sigkey *k, int64_t now);
const char *sigkey_state_name(enum sigkey_state s);

/* 1 when sig is k's signature of msg (ECDSA: DER over SHA-256 of msg; Ed25519: pure), else 0. */
int sigkey_verify(const struct sigkey *k, const uint8_t *msg, size_t len, const uint8_t *sig,
                  size_t siglen);

/* A public key from PEM text (SubjectPublicKeyInfo) that is P-256 or Ed25519; NULL with err. */
EVP_PKEY *sigkey_pem_public(const char *pem, size_t len, int *ed25519, char *err, size_t errsz);
/* 1 when k is a P-256 or Ed25519 key (public or private), setting *ed25519; else 0. */
int sigkey_type_ok(EVP_PKEY *k, int *ed25519);
/* "sha256:<hex>" of the key's DER SubjectPublicKeyInfo. 0 or -1. */
int sigkey_fingerprint(EVP_PKEY *pkey, char out[72]);

/* "YYYY-MM-DDTHH:MM:SSZ" to seconds since the epoch. 0 or -EINVAL. */
int sig_time_parse(const char *s, int64_t *out);
/* The same format from seconds (out: 21 bytes at least). */
void sig_time_format(int64_t t, char *out, size_t outsz);
/* Standard base64 (with padding, no line breaks) into a callee-allocated buffer (free()).
 * 0 or -EINVAL (bad text, longer than maxlen decoded). */
int sig_b64_decode(const char *s, size_t maxlen, uint8_t **out, size_t *len);

#endif
