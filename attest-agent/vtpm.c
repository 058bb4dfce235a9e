/* SPDX-License-Identifier: BSD-3-Clause */
/* vTPM session: ESAPI context over the swtpm TCTI, PCR extend and read, quote. */
#include "vtpm_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tss2/tss2_mu.h>
#include <tss2/tss2_rc.h>
#include <tss2/tss2_tctildr.h>

#include "esysutil.h"
#include "log.h"
#include "secmem.h"

int vtpm_err(TSS2_RC rc, const char *what)
{
    LOG_ERROR("vTPM: %s: %s (0x%08x)", what, Tss2_RC_Decode(rc), rc);
    return -EIO;
}

void vtpm_flush(struct vtpm *v, ESYS_TR *tr)
{
    if (*tr == ESYS_TR_NONE)
        return;
    TSS2_RC rc = Esys_FlushContext(v->esys, *tr);
    if (rc != TSS2_RC_SUCCESS)
        (void)vtpm_err(rc, "Esys_FlushContext");
    *tr = ESYS_TR_NONE;
}

int vtpm_handle_present(struct vtpm *v, uint32_t handle)
{
    TSS2_RC rc;
    int r = esys_handle_present(v->esys, handle, &rc);

    return r < 0 ? vtpm_err(rc, "Esys_GetCapability(handles)") : r;
}

static int startup(struct vtpm *v)
{
    TSS2_RC rc = Esys_Startup(v->esys, TPM2_SU_CLEAR);

    /* vtpm-mgr starts its vTPMs; TPM_RC_INITIALIZE says it already did. */
    if (rc == TSS2_RC_SUCCESS || (rc & 0xfff) == TPM2_RC_INITIALIZE)
        return 0;
    return vtpm_err(rc, "Esys_Startup");
}

int vtpm_open(const char *socket, struct vtpm **out)
{
    char conf[4200];
    struct vtpm *v;
    TSS2_RC rc;
    int r = -ENAMETOOLONG;

    *out = NULL;
    v = calloc(1, sizeof(*v));
    if (!v)
        return -ENOMEM;
    v->ek = v->ak = ESYS_TR_NONE;
    if (snprintf(conf, sizeof(conf), "swtpm:path=%s", socket) >= (int)sizeof(conf))
        goto fail;
    rc = Tss2_TctiLdr_Initialize(conf, &v->tcti);
    if (rc != TSS2_RC_SUCCESS) {
        LOG_ERROR("cannot open the vTPM at %s", socket);
        r = vtpm_err(rc, "Tss2_TctiLdr_Initialize");
        goto fail;
    }
    rc = Esys_Initialize(&v->esys, v->tcti, NULL);
    if (rc != TSS2_RC_SUCCESS) {
        r = vtpm_err(rc, "Esys_Initialize");
        goto fail;
    }
    if ((r = startup(v)) < 0)
        goto fail;
    *out = v;
    return 0;
fail:
    vtpm_close(v);
    return r;
}

void vtpm_close(struct vtpm *v)
{
    if (!v)
        return;
    if (v->esys) {
        vtpm_flush(v, &v->ek);
        if (v->ak != ESYS_TR_NONE)
            (void)Esys_TR_Close(v->esys, &v->ak);
        Esys_Finalize(&v->esys);
    }
    Tss2_TctiLdr_Finalize(&v->tcti);
    free(v);
}

int vtpm_extend(struct vtpm *v, unsigned pcr, const uint8_t d[DIGEST_LEN])
{
    TPML_DIGEST_VALUES vals = { .count = 1 };
    TSS2_RC rc;

    if (pcr > 23)
        return -EINVAL;
    vals.digests[0].hashAlg = TPM2_ALG_SHA256;
    memcpy(vals.digests[0].digest.sha256, d, DIGEST_LEN);
    rc = Esys_PCR_Extend(v->esys, ESYS_TR_PCR0 + pcr, ESYS_TR_PASSWORD, ESYS_TR_NONE,
                         ESYS_TR_NONE, &vals);
    return rc == TSS2_RC_SUCCESS ? 0 : vtpm_err(rc, "Esys_PCR_Extend");
}

static void quote_selection(TPML_PCR_SELECTION *sel)
{
    memset(sel, 0, sizeof(*sel));
    sel->count = 1;
    sel->pcrSelections[0].hash = TPM2_ALG_SHA256;
    sel->pcrSelections[0].sizeofSelect = 3;
    sel->pcrSelections[0].pcrSelect[1] = 0x0f; /* PCRs 8, 9, 10, 11 */
}

int vtpm_read_pcrs(struct vtpm *v, uint8_t out[VTPM_QUOTE_PCRS][DIGEST_LEN])
{
    TPML_PCR_SELECTION sel, *got = NULL;
    TPML_DIGEST *vals = NULL;
    UINT32 counter;
    TSS2_RC rc;
    int r = -EIO;

    quote_selection(&sel);
    rc = Esys_PCR_Read(v->esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &sel, &counter, &got,
                       &vals);
    if (rc != TSS2_RC_SUCCESS)
        return vtpm_err(rc, "Esys_PCR_Read");
    if (vals->count != VTPM_QUOTE_PCRS) {
        LOG_ERROR("vTPM: PCR_Read returned %u values, not %d", vals->count, VTPM_QUOTE_PCRS);
        goto out;
    }
    for (int i = 0; i < VTPM_QUOTE_PCRS; i++) {
        if (vals->digests[i].size != DIGEST_LEN)
            goto out;
        memcpy(out[i], vals->digests[i].buffer, DIGEST_LEN);
    }
    r = 0;
out:
    Esys_Free(got);
    Esys_Free(vals);
    return r;
}

/* The quote's pcrDigest must be SHA-256 over the values read next to it. */
static int quote_covers(const TPMS_ATTEST *a, const uint8_t pcrs[VTPM_QUOTE_PCRS][DIGEST_LEN])
{
    uint8_t d[DIGEST_LEN];
    const TPM2B_DIGEST *pd = &a->attested.quote.pcrDigest;

    return a->type == TPM2_ST_ATTEST_QUOTE &&
           digest_buf(pcrs, VTPM_QUOTE_PCRS * DIGEST_LEN, d) == 0 && pd->size == DIGEST_LEN &&
           !memcmp(pd->buffer, d, DIGEST_LEN);
}

static int marshal_quote(const TPM2B_ATTEST *quoted, const TPMT_SIGNATURE *sig,
                         struct vtpm_quote *q)
{
    TPMS_ATTEST a;
    size_t off = 0;

    memset(&a, 0, sizeof(a));
    if (Tss2_MU_TPMS_ATTEST_Unmarshal(quoted->attestationData, quoted->size, &off, &a) !=
            TSS2_RC_SUCCESS || off != quoted->size || !quote_covers(&a, q->pcrs)) {
        LOG_ERROR("vTPM: the quote does not cover the PCR values read (concurrent extend?)");
        return -EIO;
    }
    q->attest = malloc(quoted->size);
    q->sig = malloc(sizeof(*sig));
    if (!q->attest || !q->sig)
        return -ENOMEM;
    memcpy(q->attest, quoted->attestationData, quoted->size);
    q->attest_len = quoted->size;
    if (Tss2_MU_TPMT_SIGNATURE_Marshal(sig, q->sig, sizeof(*sig), &q->sig_len) !=
        TSS2_RC_SUCCESS)
        return -EIO;
    return 0;
}

int vtpm_quote(struct vtpm *v, const uint8_t *nonce, size_t nonce_len, struct vtpm_quote *q)
{
    TPMT_SIG_SCHEME scheme = { .scheme = TPM2_ALG_NULL }; /* the AK's own: ECDSA-SHA256 */
    TPM2B_DATA qual = { .size = (UINT16)nonce_len };
    TPML_PCR_SELECTION sel;
    TPM2B_ATTEST *quoted = NULL;
    TPMT_SIGNATURE *sig = NULL;
    TSS2_RC rc;
    int r;

    memset(q, 0, sizeof(*q));
    if (v->ak == ESYS_TR_NONE || !nonce || nonce_len == 0 || nonce_len > VTPM_NONCE_MAX)
        return -EINVAL;
    memcpy(qual.buffer, nonce, nonce_len);
    quote_selection(&sel);
    if ((r = vtpm_read_pcrs(v, q->pcrs)) < 0)
        return r;
    rc = Esys_Quote(v->esys, v->ak, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, &qual,
                    &scheme, &sel, &quoted, &sig);
    if (rc != TSS2_RC_SUCCESS)
        return vtpm_err(rc, "Esys_Quote");
    r = marshal_quote(quoted, sig, q);
    Esys_Free(quoted);
    Esys_Free(sig);
    if (r < 0)
        vtpm_quote_free(q);
    return r;
}

void vtpm_quote_free(struct vtpm_quote *q)
{
    free(q->attest);
    free(q->sig);
    memset(q, 0, sizeof(*q));
}
