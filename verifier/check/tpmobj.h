/* SPDX-License-Identifier: BSD-3-Clause */
/* TPM structures the verifier reads (Tss2_MU) and their OpenSSL counterparts. */
#ifndef VERIFIER_TPMOBJ_H
#define VERIFIER_TPMOBJ_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <tss2/tss2_tpm2_types.h>

#define TPM_NAME_MAX (2u + 64u)

/* Each unmarshals the whole buffer (trailing bytes are an error): 0 or -EBADMSG. */
int tpm_public_parse(const uint8_t *buf, size_t len, TPM2B_PUBLIC *out);
int tpm_attest_parse(const uint8_t *buf, size_t len, TPMS_ATTEST *out);
int tpm_signature_parse(const uint8_t *buf, size_t len, TPMT_SIGNATURE *out);

/* The key of an RSA or ECC public area (callee-allocated, EVP_PKEY_free), or NULL. */
EVP_PKEY *tpm_public_pkey(const TPMT_PUBLIC *pub);

/* The TPM name: nameAlg (big-endian) || H_nameAlg(marshalled TPMT_PUBLIC). 0 or -EINVAL. */
int tpm_public_name(const TPMT_PUBLIC *pub, uint8_t name[TPM_NAME_MAX], size_t *len);

/* 1 when pub is a restricted signing key that never leaves its TPM (an AK), else 0. */
int tpm_public_is_ak(const TPMT_PUBLIC *pub);

/* The OpenSSL digest of a TPM hash algorithm (fetched once per process), or NULL. */
const EVP_MD *tpm_md(TPMI_ALG_HASH alg);

/* SHA-256 of p by the digest fetched once (SHA256() looks it up on every call): 0 or -1. */
int tpm_sha256(const void *p, size_t len, uint8_t md[32]);

/* The public key of an EC point (an X9.62 encoding, e.g. 04||X||Y) on the named curve
 * (OpenSSL short name), checked to be on the curve; a copy of a per-process template for
 * P-256/384/521 (no new group per key), else EVP_PKEY_fromdata. NULL when invalid. */
EVP_PKEY *tpm_ec_point_pkey(const char *group, const uint8_t *pt, size_t len);

/* Verifies sig over msg with key: 1 valid, 0 invalid (or unsupported scheme). */
int tpm_signature_verify(EVP_PKEY *key, const TPMT_SIGNATURE *sig, const uint8_t *msg,
                         size_t len);

#endif
