/* SPDX-License-Identifier: BSD-3-Clause */
/* TPM2_MakeCredential in software (TPM 2.0 Part 1 §24, Part 3 §12.6) for RSA and ECC EKs. */
#ifndef VERIFIER_MAKECRED_H
#define VERIFIER_MAKECRED_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <tss2/tss2_tpm2_types.h>

struct credential {
    uint8_t id_object[sizeof(TPM2B_ID_OBJECT)];      /* marshalled TPM2B_ID_OBJECT */
    size_t id_len;
    uint8_t secret[sizeof(TPM2B_ENCRYPTED_SECRET)];  /* marshalled TPM2B_ENCRYPTED_SECRET */
    size_t secret_len;
};

/*
 * Protects cred (1..digest-size bytes) for the object called name (an AK's TPM name) under
 * the EK public key ek, so that only TPM2_ActivateCredential in the TPM holding both can
 * recover it. The EK must use its TCG default template: SHA-256 + AES-128-CFB for RSA 2048
 * and NIST P-256, SHA-384 + AES-256-CFB for RSA 3072 and NIST P-384.
 * Returns 0 or a negative errno.
 */
int makecred(EVP_PKEY *ek, const uint8_t *name, size_t namelen, const uint8_t *cred,
             size_t credlen, struct credential *out);

/* KDFa (SP 800-108 counter mode HMAC; label without its NUL, which is added). For tests. */
int makecred_kdfa(const EVP_MD *md, const uint8_t *key, size_t keylen, const char *label,
                  const uint8_t *u, size_t ulen, const uint8_t *v, size_t vlen, uint8_t *out,
                  size_t outlen);
/* KDFe (SP 800-56A concatenation KDF; label without its NUL, which is added). For tests. */
int makecred_kdfe(const EVP_MD *md, const uint8_t *z, size_t zlen, const char *label,
                  const uint8_t *u, size_t ulen, const uint8_t *v, size_t vlen, uint8_t *out,
                  size_t outlen);
/* The symmetric half of MakeCredential with a given seed (for known-answer tests). */
int makecred_wrap(const EVP_MD *md, size_t aes_bits, const uint8_t *seed, size_t seedlen,
                  const uint8_t *name, size_t namelen, const uint8_t *cred, size_t credlen,
                  struct credential *out);

#endif
