/* SPDX-License-Identifier: BSD-3-Clause */
/* The TCG default EK templates and the credential unmarshalling, shared by every component. */
#include "tpmtemplates.h"

#include <errno.h>
#include <string.h>
#include <tss2/tss2_mu.h>

#include "vtpm_ipc.h"

/* TCG EK Credential Profile: PolicySecret(TPM_RH_ENDORSEMENT) with SHA-256. */
static const uint8_t ek_policy[32] = {
    0x83, 0x71, 0x97, 0x67, 0x44, 0x84, 0xb3, 0xf8, 0x1a, 0x90, 0xcc, 0x8d, 0x46, 0xa5, 0xd7, 0x24,
    0xfd, 0x52, 0xd7, 0x6e, 0x06, 0x52, 0x0b, 0x64, 0xf2, 0xa1, 0xda, 0x1b, 0x33, 0x14, 0x69, 0xaa,
};

int tcg_ek_template(uint32_t ek_type, TPM2B_PUBLIC *tmpl)
{
    TPMT_PUBLIC *p = &tmpl->publicArea;
    const TPMT_SYM_DEF_OBJECT aes = { .algorithm = TPM2_ALG_AES, .keyBits.aes = 128,
                                      .mode.aes = TPM2_ALG_CFB };

    memset(tmpl, 0, sizeof(*tmpl));
    p->nameAlg = TPM2_ALG_SHA256;
    p->objectAttributes = TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT |
                          TPMA_OBJECT_SENSITIVEDATAORIGIN | TPMA_OBJECT_ADMINWITHPOLICY |
                          TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_DECRYPT;
    p->authPolicy.size = sizeof(ek_policy);
    memcpy(p->authPolicy.buffer, ek_policy, sizeof(ek_policy));
    switch (ek_type) {
    case VTPM_EK_RSA_2048: /* template L-1; the unique field is zero-filled */
        p->type = TPM2_ALG_RSA;
        p->parameters.rsaDetail.symmetric = aes;
        p->parameters.rsaDetail.scheme.scheme = TPM2_ALG_NULL;
        p->parameters.rsaDetail.keyBits = 2048;
        p->unique.rsa.size = 256;
        return 0;
    case VTPM_EK_ECC_P256: /* template L-2 */
        p->type = TPM2_ALG_ECC;
        p->parameters.eccDetail.symmetric = aes;
        p->parameters.eccDetail.scheme.scheme = TPM2_ALG_NULL;
        p->parameters.eccDetail.curveID = TPM2_ECC_NIST_P256;
        p->parameters.eccDetail.kdf.scheme = TPM2_ALG_NULL;
        p->unique.ecc.x.size = 32;
        p->unique.ecc.y.size = 32;
        return 0;
    default:
        return -EINVAL;
    }
}

int tpm_credential_unmarshal(const uint8_t *blob, size_t blob_len, const uint8_t *secret,
                             size_t secret_len, TPM2B_ID_OBJECT *id,
                             TPM2B_ENCRYPTED_SECRET *enc)
{
    size_t o1 = 0, o2 = 0;

    memset(id, 0, sizeof(*id));
    memset(enc, 0, sizeof(*enc));
    if (!blob || !secret ||
        Tss2_MU_TPM2B_ID_OBJECT_Unmarshal(blob, blob_len, &o1, id) != TSS2_RC_SUCCESS ||
        o1 != blob_len ||
        Tss2_MU_TPM2B_ENCRYPTED_SECRET_Unmarshal(secret, secret_len, &o2, enc) != TSS2_RC_SUCCESS ||
        o2 != secret_len)
        return -EINVAL;
    return 0;
}
