/* SPDX-License-Identifier: BSD-3-Clause */
/* Small ESAPI queries shared by the host-TPM layer and the agent's vTPM session. */
#include "esysutil.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int esys_handle_present(ESYS_CONTEXT *esys, uint32_t handle, TSS2_RC *rc)
{
    TPMS_CAPABILITY_DATA *cap = NULL;
    TPMI_YES_NO more = TPM2_NO;
    int r;

    *rc = Esys_GetCapability(esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, TPM2_CAP_HANDLES,
                             handle, 1, &more, &cap);
    if (*rc != TSS2_RC_SUCCESS)
        return -1;
    r = cap->data.handles.count == 1 && cap->data.handles.handle[0] == handle;
    Esys_Free(cap);
    return r;
}

int esys_digest_take(TPM2B_DIGEST *d, uint8_t **out, size_t *len)
{
    int r = -ENOMEM;

    *out = malloc(d->size ? d->size : 1);
    if (*out) {
        memcpy(*out, d->buffer, d->size);
        *len = d->size;
        r = 0;
    }
    explicit_bzero(d->buffer, sizeof(d->buffer));
    Esys_Free(d);
    return r;
}
