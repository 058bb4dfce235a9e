/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vTPM state at rest: AES-256-GCM under a per-vTPM key derived (HKDF-SHA256) from the state
 * key that is sealed to the host TPM. File layout (docs/state-format.md):
 *   magic "VTPMST02" | kind (1) | 3 zero bytes | generation (8, big-endian) | 12-byte nonce |
 *   ciphertext | 16-byte tag
 * The AAD is the 32-byte header followed by the vTPM's 16-byte UUID, so a file cannot be
 * moved to another vTPM, passed off as another kind or given another generation (the number
 * the rollback manifest compares, rollback.h) without detection. v1 files ("VTPMST01", a
 * 24-byte header without generation) are read as generation 0.
 */
#ifndef VTPM_MGR_STATESTORE_H
#define VTPM_MGR_STATESTORE_H

#include <stddef.h>
#include <stdint.h>

#define STATE_KEY_LEN   32
#define STATE_HDR_LEN   32
#define STATE_TAG_LEN   16
#define STATE_MAX_BLOB  (256u * 1024u)

/* File names inside a vTPM's state directory. */
#define STATE_FILE_PERM "perm.enc"
#define STATE_FILE_VOL  "vol.enc"

/* Per-vTPM key from the master state key. Returns 0 or -EIO. */
int state_derive_key(const uint8_t master[STATE_KEY_LEN], const uint8_t uuid[16],
                     uint8_t out[STATE_KEY_LEN]);

/* Key of the rollback manifest's HMAC, from the master state key. Returns 0 or -EIO. */
int state_derive_manifest_key(const uint8_t master[STATE_KEY_LEN], uint8_t out[STATE_KEY_LEN]);

/* Key of the vTPM issuer's private key file (issuer.h), from the master state key. */
int state_derive_issuer_key(const uint8_t master[STATE_KEY_LEN], uint8_t out[STATE_KEY_LEN]);

/* Encrypts a blob of generation gen into a callee-allocated file image. Returns 0 or a
 * negative errno. */
int state_seal(const uint8_t key[STATE_KEY_LEN], const uint8_t uuid[16], int kind,
               uint64_t gen, const uint8_t *pt, size_t len, uint8_t **out, size_t *outlen);

/* Decrypts and authenticates a file image; -EBADMSG on any tampering or wrong kind/uuid.
 * *gen (may be NULL) gets its generation. *pt is callee-allocated; wipe and free it
 * (secure_free). */
int state_unseal(const uint8_t key[STATE_KEY_LEN], const uint8_t uuid[16], int kind,
                 const uint8_t *in, size_t inlen, uint64_t *gen, uint8_t **pt, size_t *ptlen);

/* state_seal + atomic durable write of dirfd/<perm.enc|vol.enc>. */
int state_write(int dirfd, const uint8_t key[STATE_KEY_LEN], const uint8_t uuid[16], int kind,
                uint64_t gen, const uint8_t *pt, size_t len);

/* Read + state_unseal; -ENOENT when the file is absent. */
int state_read(int dirfd, const uint8_t key[STATE_KEY_LEN], const uint8_t uuid[16], int kind,
               uint64_t *gen, uint8_t **pt, size_t *ptlen);

#endif
