/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A bounded memory of EK certificate chains that passed every check, so that repeated
 * evidence from the same vTPM does not re-parse and re-verify the same certificates and
 * TPM2_Certify each time. Only successes are remembered, each for a limited time, keyed by a
 * SHA-256 over every input of the check (EK certificate, every host-chain file, vTPM UUID).
 */
#ifndef VERIFIER_CHAINCACHE_H
#define VERIFIER_CHAINCACHE_H

#include <cbor.h>
#include <openssl/evp.h>
#include <stdint.h>
#include <time.h>
#include <tss2/tss2_tpm2_types.h>

#include "check/evidence.h"

#define CHAINCACHE_ENTRIES 1024u /* 128 sets of 8 */
#define CHAINCACHE_TTL_S   300

/* The key of one chain check's inputs; -1 when they cannot be hashed (then do not cache). */
int chaincache_key(const char *kind, const struct bytes *ek_cert, const cbor_item_t *host_chain,
                   const char *vtpm_uuid, uint8_t key[32]);
/* 1 when key passed within the last CHAINCACHE_TTL_S seconds. Thread-safe. */
int chaincache_hit(const uint8_t key[32]);
/* Remembers that key passed. Thread-safe. */
void chaincache_put(const uint8_t key[32]);
/* The same, but the entry holds only at wall times (chaincache_now) in [not_before,
 * not_after): a pass that stands on certificates is not remembered outside their validity. */
void chaincache_put_until(const uint8_t key[32], time_t not_before, time_t not_after);
/* The key of a vTPM's EK chain from its EK certificate, vTPM UUID and the key of its host's
 * intermediates (chain.c: host-chain file bytes and trust anchors); 0 or -1. */
int chaincache_key_host(const char *kind, const struct bytes *ek_cert, const char *vtpm_uuid,
                        const uint8_t host_key[32], uint8_t key[32]);
/* Forgets every pass and every shared key (benchmarks of first checks, tests). */
void chaincache_clear(void);

/* The wall clock of the chain checks: time(NULL), or the time set for tests (0: the real
 * clock again). Certificate validity "now" is read from here. */
time_t chaincache_now(void);
void chaincache_set_now(time_t t);

/*
 * The EVP_PKEY of a TPM public area whose marshalled bytes are pub (already parsed into
 * parsed), built once and then shared: OpenSSL 3 key construction costs as much as a
 * signature check. Returns a new reference (EVP_PKEY_free) or NULL. Thread-safe.
 */
#define KEYCACHE_ENTRIES 256u /* 32 sets of 8 */
EVP_PKEY *chaincache_pkey(const uint8_t *pub, size_t len, const TPMT_PUBLIC *parsed);

#endif
