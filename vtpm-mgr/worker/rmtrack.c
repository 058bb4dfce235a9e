/* SPDX-License-Identifier: BSD-3-Clause */
/* Per-connection bookkeeping of transient handles, read from commands and responses with
 * Tss2_MU. */
#include "rmtrack.h"

#include <tss2/tss2_mu.h>
#include <tss2/tss2_tpm2_types.h>

#include "tpmcmd.h"

/* Transient objects (sequences included) and sessions: what a client can leave behind. */
static int is_transient(uint32_t h)
{
    uint8_t type = (uint8_t)(h >> 24);

    return type == TPM2_HT_TRANSIENT || type == TPM2_HT_HMAC_SESSION ||
           type == TPM2_HT_POLICY_SESSION;
}

/* The 32-bit value at offset 10 (the first handle of a command's handle area or of a
 * response's, or FlushContext's parameter); 0 when too short. */
static uint32_t first_handle(const uint8_t *b, size_t len)
{
    uint32_t h = 0;
    size_t off = TPM_HDR_LEN;

    if (Tss2_MU_UINT32_Unmarshal(b, len, &off, &h) != TSS2_RC_SUCCESS)
        return 0;
    return h;
}

void rm_forget(struct rm_handles *t, uint32_t h)
{
    for (unsigned i = 0; i < t->n; i++)
        if (t->h[i] == h) {
            t->h[i] = t->h[--t->n];
            return;
        }
}

static void add(struct rm_handles *t, uint32_t h)
{
    rm_forget(t, h);
    if (t->n < RM_MAX)
        t->h[t->n++] = h;
}

uint32_t rm_note(struct rm_handles *t, const uint8_t *cmd, size_t cmd_len, const uint8_t *rsp,
                 size_t rsp_len)
{
    uint32_t cc, h;

    t->commands++;
    if (cmd_len < TPM_HDR_LEN || tpmcmd_resp_rc(rsp, rsp_len) != TPM2_RC_SUCCESS)
        return 0;
    cc = tpmcmd_code(cmd);
    switch (cc) {
    case TPM2_CC_CreatePrimary:
    case TPM2_CC_Load:
    case TPM2_CC_LoadExternal:
    case TPM2_CC_CreateLoaded:
    case TPM2_CC_ContextLoad:
    case TPM2_CC_StartAuthSession:
    case TPM2_CC_HashSequenceStart:
    case TPM2_CC_HMAC_Start:
        h = first_handle(rsp, rsp_len);
        if (!is_transient(h))
            return 0;
        add(t, h);
        return h;
    case TPM2_CC_FlushContext:
    case TPM2_CC_SequenceComplete:
    case TPM2_CC_EventSequenceComplete:
        rm_forget(t, first_handle(cmd, cmd_len));
        return 0;
    default:
        return 0;
    }
}

size_t rm_flush_cmd(uint8_t out[RM_FLUSH_LEN], uint32_t h)
{
    size_t off = 0;

    /* Cannot fail: the buffer is exactly the command's size. */
    (void)Tss2_MU_TPM2_ST_Marshal(TPM2_ST_NO_SESSIONS, out, RM_FLUSH_LEN, &off);
    (void)Tss2_MU_UINT32_Marshal(RM_FLUSH_LEN, out, RM_FLUSH_LEN, &off);
    (void)Tss2_MU_UINT32_Marshal(TPM2_CC_FlushContext, out, RM_FLUSH_LEN, &off);
    (void)Tss2_MU_UINT32_Marshal(h, out, RM_FLUSH_LEN, &off);
    return RM_FLUSH_LEN;
}
