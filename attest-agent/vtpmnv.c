/* SPDX-License-Identifier: BSD-3-Clause */
/* Small owner-authorized NV records in a container vTPM (the agent's registration record). */
#include "vtpm_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

#define NV_CHUNK 512u    /* below every TPM's NV buffer maximum */
#define NV_MAX   1024u

static int nv_public(struct vtpm *v, uint32_t index, ESYS_TR *nv, uint16_t *size)
{
    TPM2B_NV_PUBLIC *np = NULL;
    TSS2_RC rc;

    rc = Esys_TR_FromTPMPublic(v->esys, index, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, nv);
    if (rc != TSS2_RC_SUCCESS)
        return vtpm_err(rc, "Esys_TR_FromTPMPublic(NV)");
    rc = Esys_NV_ReadPublic(v->esys, *nv, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &np, NULL);
    if (rc != TSS2_RC_SUCCESS)
        return vtpm_err(rc, "Esys_NV_ReadPublic");
    *size = np->nvPublic.dataSize;
    Esys_Free(np);
    return 0;
}

static int nv_read_chunks(struct vtpm *v, ESYS_TR nv, uint8_t *buf, uint16_t size)
{
    TPM2B_MAX_NV_BUFFER *chunk = NULL;
    uint16_t off = 0;
    TSS2_RC rc;

    while (off < size) {
        unsigned left = (unsigned)size - off;
        uint16_t n = (uint16_t)(left > NV_CHUNK ? NV_CHUNK : left);
        rc = Esys_NV_Read(v->esys, ESYS_TR_RH_OWNER, nv, ESYS_TR_PASSWORD, ESYS_TR_NONE,
                          ESYS_TR_NONE, n, off, &chunk);
        if (rc != TSS2_RC_SUCCESS)
            return vtpm_err(rc, "Esys_NV_Read");
        if (chunk->size != n) {
            Esys_Free(chunk);
            return -EIO;
        }
        memcpy(buf + off, chunk->buffer, n);
        Esys_Free(chunk);
        off = (uint16_t)(off + n);
    }
    return 0;
}

int vtpm_nv_read(struct vtpm *v, uint32_t index, uint8_t **data, size_t *len)
{
    ESYS_TR nv = ESYS_TR_NONE;
    uint16_t size = 0;
    uint8_t *buf = NULL;
    int r = vtpm_handle_present(v, index);

    if (r <= 0)
        return r < 0 ? r : -ENOENT;
    if ((r = nv_public(v, index, &nv, &size)) < 0)
        goto out;
    r = -EBADMSG;
    if (size == 0 || size > NV_MAX)
        goto out;
    r = -ENOMEM;
    if (!(buf = malloc(size)))
        goto out;
    if ((r = nv_read_chunks(v, nv, buf, size)) < 0)
        goto out;
    *data = buf;
    *len = size;
    buf = NULL;
out:
    free(buf);
    if (nv != ESYS_TR_NONE)
        (void)Esys_TR_Close(v->esys, &nv);
    return r;
}

static int nv_define(struct vtpm *v, uint32_t index, size_t len, ESYS_TR *nv)
{
    TPM2B_AUTH auth = { 0 };
    TPM2B_NV_PUBLIC pub = { 0 };
    TSS2_RC rc;

    pub.nvPublic.nvIndex = index;
    pub.nvPublic.nameAlg = TPM2_ALG_SHA256;
    pub.nvPublic.attributes = TPMA_NV_OWNERWRITE | TPMA_NV_OWNERREAD | TPMA_NV_NO_DA;
    pub.nvPublic.dataSize = (uint16_t)len;
    rc = Esys_NV_DefineSpace(v->esys, ESYS_TR_RH_OWNER, ESYS_TR_PASSWORD, ESYS_TR_NONE,
                             ESYS_TR_NONE, &auth, &pub, nv);
    return rc == TSS2_RC_SUCCESS ? 0 : vtpm_err(rc, "Esys_NV_DefineSpace");
}

/* An index of exactly len bytes at index: the existing one, or a fresh one. */
static int nv_sized(struct vtpm *v, uint32_t index, size_t len, ESYS_TR *nv)
{
    uint16_t size = 0;
    TSS2_RC rc;
    int r = vtpm_handle_present(v, index);

    if (r < 0)
        return r;
    if (r == 0)
        return nv_define(v, index, len, nv);
    if ((r = nv_public(v, index, nv, &size)) < 0 || size == len)
        return r;
    rc = Esys_NV_UndefineSpace(v->esys, ESYS_TR_RH_OWNER, *nv, ESYS_TR_PASSWORD, ESYS_TR_NONE,
                               ESYS_TR_NONE);
    if (rc != TSS2_RC_SUCCESS)
        return vtpm_err(rc, "Esys_NV_UndefineSpace");
    *nv = ESYS_TR_NONE;
    return nv_define(v, index, len, nv);
}

int vtpm_nv_write(struct vtpm *v, uint32_t index, const uint8_t *data, size_t len)
{
    TPM2B_MAX_NV_BUFFER buf;
    ESYS_TR nv = ESYS_TR_NONE;
    size_t off;
    TSS2_RC rc;
    int r;

    if (len == 0 || len > NV_MAX)
        return -EINVAL;
    if ((r = nv_sized(v, index, len, &nv)) < 0)
        goto out;
    for (off = 0; off < len && r == 0; off += buf.size) {
        buf.size = (uint16_t)(len - off > NV_CHUNK ? NV_CHUNK : len - off);
        memcpy(buf.buffer, data + off, buf.size);
        rc = Esys_NV_Write(v->esys, ESYS_TR_RH_OWNER, nv, ESYS_TR_PASSWORD, ESYS_TR_NONE,
                           ESYS_TR_NONE, &buf, (uint16_t)off);
        if (rc != TSS2_RC_SUCCESS)
            r = vtpm_err(rc, "Esys_NV_Write");
    }
out:
    if (nv != ESYS_TR_NONE)
        (void)Esys_TR_Close(v->esys, &nv);
    return r;
}
