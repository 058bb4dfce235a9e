/* SPDX-License-Identifier: BSD-3-Clause */
/* TPM 2.0 structures every component builds alike: the TCG default EK templates and the
 * credential (MakeCredential output) a verifier sends for activation. */
#ifndef VTPM_TPMTEMPLATES_H
#define VTPM_TPMTEMPLATES_H

#include <stddef.h>
#include <stdint.h>
#include <tss2/tss2_tpm2_types.h>

/*
 * TCG EK Credential Profile 2.0 default EK template: ek_type VTPM_EK_RSA_2048 (template L-1)
 * or VTPM_EK_ECC_P256 (L-2), the key `tpm2_createek -G rsa|ecc` creates, with the policy
 * PolicySecret(TPM_RH_ENDORSEMENT). Returns 0 or -EINVAL for another type.
 */
int tcg_ek_template(uint32_t ek_type, TPM2B_PUBLIC *tmpl);

/* Splits a verifier's credential: marshalled TPM2B_ID_OBJECT and TPM2B_ENCRYPTED_SECRET,
 * each exactly its buffer. Returns 0 or -EINVAL. */
int tpm_credential_unmarshal(const uint8_t *blob, size_t blob_len, const uint8_t *secret,
                             size_t secret_len, TPM2B_ID_OBJECT *id,
                             TPM2B_ENCRYPTED_SECRET *enc);

#endif
