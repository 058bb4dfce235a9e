/* SPDX-License-Identifier: BSD-3-Clause */
/* TPM 2.0 command and response framing checks for the CUSE adapter, parsed with Tss2_MU. */
#include "tpmframe.h"

#include <errno.h>

#include <tss2/tss2_mu.h>
#include <tss2/tss2_tpm2_types.h>

#include "vtpm_ipc.h"

static int parse_header(const uint8_t *hdr, TPM2_ST *tag, uint32_t *size)
{
    size_t off = 0;

    if (Tss2_MU_TPM2_ST_Unmarshal(hdr, TPMFRAME_HDR_LEN, &off, tag) ||
        Tss2_MU_UINT32_Unmarshal(hdr, TPMFRAME_HDR_LEN, &off, size))
        return -EINVAL;
    return 0;
}

int tpmframe_check_command(const uint8_t *buf, size_t len)
{
    TPM2_ST tag = 0;
    uint32_t size = 0;

    if (len > VTPM_TPM_BUFSIZE)
        return -E2BIG;
    if (len < TPMFRAME_HDR_LEN || parse_header(buf, &tag, &size) < 0)
        return -EINVAL;
    if (tag != TPM2_ST_NO_SESSIONS && tag != TPM2_ST_SESSIONS)
        return -EINVAL;
    if (size != len)
        return -EINVAL;
    return 0;
}

int tpmframe_response_size(const uint8_t hdr[TPMFRAME_HDR_LEN], uint32_t *size)
{
    TPM2_ST tag = 0;
    uint32_t sz = 0;

    if (parse_header(hdr, &tag, &sz) < 0)
        return -EPROTO;
    if (tag != TPM2_ST_NO_SESSIONS && tag != TPM2_ST_SESSIONS && tag != TPM2_ST_RSP_COMMAND)
        return -EPROTO;
    if (sz < TPMFRAME_HDR_LEN || sz > VTPM_TPM_BUFSIZE)
        return -EPROTO;
    *size = sz;
    return 0;
}
