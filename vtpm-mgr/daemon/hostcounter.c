/* SPDX-License-Identifier: BSD-3-Clause */
/* The state directory's rollback counter: a monotonic NV counter index in the host TPM. */
#include <errno.h>
#include <string.h>
#include <tss2/tss2_mu.h>

#include "hosttpm_int.h"
#include "log.h"

#define COUNTER_ATTRS (TPMA_NV_OWNERWRITE | TPMA_NV_OWNERREAD | TPMA_NV_AUTHREAD | \
                       TPMA_NV_NO_DA | (TPM2_NT_COUNTER << TPMA_NV_TPM2_NT_SHIFT))

/* Resolves (once) the ESYS_TR of index and checks that it is our kind of counter. */
static int counter_tr(struct hosttpm *h, uint32_t index, ESYS_TR *tr)
{
    TPM2B_NV_PUBLIC *np = NULL;
    TSS2_RC rc;
    int r;

    if (h->counter != ESYS_TR_NONE && h->counter_index == index) {
        *tr = h->counter;
        return 0;
    }
    hostkeys_close_tr(h, &h->counter);
    r = hostkeys_read_persistent(h, index, &h->counter, NULL);
    if (r < 0)
        return r;
    rc = Esys_NV_ReadPublic(h->esys, h->counter, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &np,
                            NULL);
    if (rc != TSS2_RC_SUCCESS) {
        hostkeys_close_tr(h, &h->counter);
        return hosttpm_tss_err(rc, "Esys_NV_ReadPublic(rollback counter)");
    }
    /* TPMA_NV_WRITTEN comes and goes; every other attribute must be ours. */
    if ((np->nvPublic.attributes & ~TPMA_NV_WRITTEN) != COUNTER_ATTRS ||
        np->nvPublic.dataSize != 8) {
        LOG_ERROR("NV index 0x%08x is not a vtpm-mgr rollback counter (attributes 0x%08x)",
                  index, np->nvPublic.attributes);
        Esys_Free(np);
        hostkeys_close_tr(h, &h->counter);
        return -EINVAL;
    }
    Esys_Free(np);
    h->counter_index = index;
    *tr = h->counter;
    return 0;
}

/* A TPM error on the counter: forget the resolved handle, it may be gone. */
static int counter_fail(struct hosttpm *h, TSS2_RC rc, const char *what)
{
    hostkeys_close_tr(h, &h->counter);
    if (hosttpm_rc_is(rc, TPM2_RC_NV_UNINITIALIZED))
        return -ENODATA;
    if (hosttpm_rc_is(rc, TPM2_RC_HANDLE))
        return -ENOENT;
    return hosttpm_tss_err(rc, what);
}

int hosttpm_counter_read(struct hosttpm *h, uint32_t index, uint64_t *value)
{
    TPM2B_MAX_NV_BUFFER *data = NULL;
    ESYS_TR tr;
    TSS2_RC rc;
    size_t off = 0;
    int r = counter_tr(h, index, &tr);

    if (r < 0)
        return r;
    rc = Esys_NV_Read(h->esys, tr, tr, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, 8, 0, &data);
    if (rc != TSS2_RC_SUCCESS)
        return counter_fail(h, rc, "Esys_NV_Read(rollback counter)");
    r = Tss2_MU_UINT64_Unmarshal(data->buffer, data->size, &off, value) == TSS2_RC_SUCCESS &&
        off == 8 ? 0 : -EIO;
    Esys_Free(data);
    return r;
}

int hosttpm_counter_increment(struct hosttpm *h, uint32_t index, uint64_t *value)
{
    ESYS_TR tr;
    TSS2_RC rc;
    int r = counter_tr(h, index, &tr);

    if (r < 0)
        return r;
    rc = Esys_NV_Increment(h->esys, ESYS_TR_RH_OWNER, tr, ESYS_TR_PASSWORD, ESYS_TR_NONE,
                           ESYS_TR_NONE);
    if (rc != TSS2_RC_SUCCESS)
        return counter_fail(h, rc, "Esys_NV_Increment(rollback counter)");
    return value ? hosttpm_counter_read(h, index, value) : 0;
}

static int counter_define(struct hosttpm *h, uint32_t index)
{
    TPM2B_AUTH auth = { .size = 0 };
    TPM2B_NV_PUBLIC pub = {
        .nvPublic = { .nvIndex = index, .nameAlg = TPM2_ALG_SHA256,
                      .attributes = COUNTER_ATTRS, .dataSize = 8 },
    };
    ESYS_TR tr = ESYS_TR_NONE;
    TSS2_RC rc;

    rc = Esys_NV_DefineSpace(h->esys, ESYS_TR_RH_OWNER, ESYS_TR_PASSWORD, ESYS_TR_NONE,
                             ESYS_TR_NONE, &auth, &pub, &tr);
    if (rc != TSS2_RC_SUCCESS)
        return hosttpm_tss_err(rc, "Esys_NV_DefineSpace(rollback counter)");
    hostkeys_close_tr(h, &tr);
    LOG_INFO("rollback counter defined at NV index 0x%08x", index);
    return 0;
}

int hosttpm_counter_create(struct hosttpm *h, uint32_t index, uint64_t *value)
{
    int r = hosttpm_counter_read(h, index, value);

    if (r == -ENOENT)
        r = counter_define(h, index);
    if (r == 0 || r == -ENODATA)
        r = hosttpm_counter_increment(h, index, value);
    return r;
}
