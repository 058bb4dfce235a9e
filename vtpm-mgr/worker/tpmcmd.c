/* SPDX-License-Identifier: BSD-3-Clause */
/* TPM 2.0 command header checks and error responses, parsed and built with Tss2_MU. */
#include "tpmcmd.h"

#include <tss2/tss2_mu.h>
#include <tss2/tss2_tpm2_types.h>

#include "vtpm_ipc.h"

uint32_t tpmcmd_check_header(const uint8_t hdr[TPM_HDR_LEN], uint32_t *size)
{
    TPM2_ST tag = 0;
    uint32_t sz = 0;
    size_t off = 0;

    if (Tss2_MU_TPM2_ST_Unmarshal(hdr, TPM_HDR_LEN, &off, &tag) ||
        Tss2_MU_UINT32_Unmarshal(hdr, TPM_HDR_LEN, &off, &sz))
        return TPM2_RC_FAILURE;
    if (tag != TPM2_ST_NO_SESSIONS && tag != TPM2_ST_SESSIONS)
        return TPM2_RC_BAD_TAG;
    if (sz < TPM_HDR_LEN || sz > VTPM_TPM_BUFSIZE)
        return TPM2_RC_COMMAND_SIZE;
    *size = sz;
    return 0;
}

uint32_t tpmcmd_code(const uint8_t hdr[TPM_HDR_LEN])
{
    uint32_t cc = 0;
    size_t off = 6;

    if (Tss2_MU_UINT32_Unmarshal(hdr, TPM_HDR_LEN, &off, &cc))
        return 0;
    return cc;
}

uint32_t tpmcmd_resp_rc(const uint8_t *resp, size_t len)
{
    uint32_t rc = TPM2_RC_FAILURE;
    size_t off = 6;

    if (len < TPM_HDR_LEN || Tss2_MU_UINT32_Unmarshal(resp, len, &off, &rc))
        return TPM2_RC_FAILURE;
    return rc;
}

size_t tpmcmd_error_response(uint8_t out[TPM_HDR_LEN], uint32_t rc)
{
    size_t off = 0;

    /* Cannot fail: the buffer is exactly the header size. */
    (void)Tss2_MU_TPM2_ST_Marshal(TPM2_ST_NO_SESSIONS, out, TPM_HDR_LEN, &off);
    (void)Tss2_MU_UINT32_Marshal(TPM_HDR_LEN, out, TPM_HDR_LEN, &off);
    (void)Tss2_MU_UINT32_Marshal(rc, out, TPM_HDR_LEN, &off);
    return TPM_HDR_LEN;
}
