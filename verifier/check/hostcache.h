/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A host's EK-chain intermediates, verified once and shared by every vTPM of that host: the
 * vTPM-CA certificate, its TPM2_Certify by the host AK, the host EK chain to a trusted CA, and
 * the vTPM issuers of vtpm-issuer.pem (chain.c builds an entry, docs/verifier.md "EK chain
 * cache"). Entries are keyed by the SHA-256 of the exact bytes of those host-chain files and
 * the trust anchors' identity, and are used only while the host EK chain is valid (between
 * the latest notBefore and the earliest notAfter of its certificates) and for at most
 * HOSTCACHE_TTL_S. Only entries without a fault are cached. Thread-safe: entries are
 * reference-counted and read-only once published.
 */
#ifndef VERIFIER_HOSTCACHE_H
#define VERIFIER_HOSTCACHE_H

#include <stdatomic.h>
#include <stdint.h>
#include <time.h>

#include <openssl/x509.h>

#include "check/reasons.h"

#define HOSTCACHE_ENTRIES     256u /* 32 sets of 8 */
#define HOSTCACHE_TTL_S       300
#define HOSTCACHE_MAX_ISSUERS 16u

struct host_entry {
    X509 *ca;                    /* vtpm-ca.pem; NULL when missing */
    int ca_missing;              /* reason host-chain-malformed:vtpm-ca.pem */
    int ca_signs;                /* vtpm-ca.pem may sign EK certificates itself (a CA anchor) */
    X509 *iss[HOSTCACHE_MAX_ISSUERS]; /* issuers of vtpm-issuer.pem that chain to ca */
    size_t niss;
    STACK_OF(X509) *issuers;     /* every certificate of vtpm-issuer.pem (for full_path) */
    int full_path;               /* unusual extensions: leaves go through X509_verify_cert */
    time_t not_before, not_after; /* the host EK chain's validity (checked at "now") */
    struct reasons reasons;      /* host-part faults (certify, host EK); cached only if none */
    atomic_uint refs;
};

struct hostcache;

/* A cache of at most entries entries (callee-allocated, hostcache_free). */
struct hostcache *hostcache_new(unsigned entries);
void hostcache_free(struct hostcache *c);
/* The process-wide cache that chain_check uses. */
struct hostcache *hostcache_default(void);
/* Forgets every entry (benchmarks, tests). */
void hostcache_clear(struct hostcache *c);

/* The entry for key usable at wall time now (a new reference: host_entry_put), or NULL. */
struct host_entry *hostcache_get(struct hostcache *c, const uint8_t key[32], time_t now);
/* Publishes e under key (the cache takes its own reference; e must not change afterwards). */
void hostcache_add(struct hostcache *c, const uint8_t key[32], struct host_entry *e);

/* A new entry with one reference; host_entry_put drops one and frees the last. */
struct host_entry *host_entry_new(void);
void host_entry_put(struct host_entry *e);

#endif
