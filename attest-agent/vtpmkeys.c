/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Keys in a container vTPM: the EK from the TCG default ECC template, the agent's AK under it
 * (persistent at VTPM_AK_HANDLE) and credential activation. libtpms has three transient
 * object slots: only the EK stays loaded; every other transient object and session is
 * flushed before its function returns.
 */
#include "vtpm_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <tss2/tss2_mu.h>

#include "esysutil.h"
#include "log.h"
#include "tpmtemplates.h"
#include "vtpm_ipc.h"

/* TCG EK Credential Profile: PolicySecret(TPM_RH_ENDORSEMENT) with SHA-256. */
#define AK_ATTRS (TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT | \
                  TPMA_OBJECT_SENSITIVEDATAORIGIN | TPMA_OBJECT_USERWITHAUTH | \
                  TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_SIGN_ENCRYPT)

/* ECC NIST P-256 ECDSA-SHA256 restricted signing key. */
static void ak_template(TPM2B_PUBLIC *t)
{
    TPMT_PUBLIC *p = &t->publicArea;

    memset(t, 0, sizeof(*t));
    p->type = TPM2_ALG_ECC;
    p->nameAlg = TPM2_ALG_SHA256;
    p->objectAttributes = AK_ATTRS;
    p->parameters.eccDetail.symmetric.algorithm = TPM2_ALG_NULL;
    p->parameters.eccDetail.scheme.scheme = TPM2_ALG_ECDSA;
    p->parameters.eccDetail.scheme.details.ecdsa.hashAlg = TPM2_ALG_SHA256;
    p->parameters.eccDetail.curveID = TPM2_ECC_NIST_P256;
    p->parameters.eccDetail.kdf.scheme = TPM2_ALG_NULL;
}

static int ensure_ek(struct vtpm *v)
{
    const TPM2B_SENSITIVE_CREATE sens = { 0 };
    const TPM2B_DATA outside = { 0 };
    const TPML_PCR_SELECTION pcrs = { 0 };
    TPM2B_PUBLIC tmpl;
    TSS2_RC rc;

    if (v->ek != ESYS_TR_NONE)
        return 0;
    tcg_ek_template(VTPM_EK_ECC_P256, &tmpl);
    rc = Esys_CreatePrimary(v->esys, ESYS_TR_RH_ENDORSEMENT, ESYS_TR_PASSWORD, ESYS_TR_NONE,
                            ESYS_TR_NONE, &sens, &tmpl, &outside, &pcrs, &v->ek, NULL, NULL,
                            NULL, NULL);
    return rc == TSS2_RC_SUCCESS ? 0 : vtpm_err(rc, "Esys_CreatePrimary(EK)");
}

/* A policy session satisfying the EK's policy; flush after one use. */
static int ek_session(struct vtpm *v, ESYS_TR *sess)
{
    const TPMT_SYM_DEF sym = { .algorithm = TPM2_ALG_NULL };
    TSS2_RC rc;

    rc = Esys_StartAuthSession(v->esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
                               ESYS_TR_NONE, NULL, TPM2_SE_POLICY, &sym, TPM2_ALG_SHA256, sess);
    if (rc != TSS2_RC_SUCCESS)
        return vtpm_err(rc, "Esys_StartAuthSession");
    rc = Esys_PolicySecret(v->esys, ESYS_TR_RH_ENDORSEMENT, *sess, ESYS_TR_PASSWORD, ESYS_TR_NONE,
                           ESYS_TR_NONE, NULL, NULL, NULL, 0, NULL, NULL);
    if (rc != TSS2_RC_SUCCESS) {
        vtpm_flush(v, sess);
        return vtpm_err(rc, "Esys_PolicySecret(endorsement)");
    }
    return 0;
}

static int ak_acceptable(const TPM2B_PUBLIC *pub)
{
    const TPMT_PUBLIC *p = &pub->publicArea;

    return p->type == TPM2_ALG_ECC && p->nameAlg == TPM2_ALG_SHA256 &&
           (p->objectAttributes & AK_ATTRS) == AK_ATTRS &&
           !(p->objectAttributes & TPMA_OBJECT_DECRYPT) &&
           p->parameters.eccDetail.curveID == TPM2_ECC_NIST_P256 &&
           p->parameters.eccDetail.scheme.scheme == TPM2_ALG_ECDSA;
}

static int read_ak(struct vtpm *v)
{
    TPM2B_PUBLIC *pub = NULL;
    TSS2_RC rc;

    rc = Esys_TR_FromTPMPublic(v->esys, VTPM_AK_HANDLE, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
                               &v->ak);
    if (rc != TSS2_RC_SUCCESS)
        return vtpm_err(rc, "Esys_TR_FromTPMPublic(AK)");
    rc = Esys_ReadPublic(v->esys, v->ak, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &pub, NULL,
                         NULL);
    if (rc != TSS2_RC_SUCCESS)
        return vtpm_err(rc, "Esys_ReadPublic(AK)");
    v->ak_pub = *pub;
    Esys_Free(pub);
    if (!ak_acceptable(&v->ak_pub)) {
        LOG_ERROR("vTPM: the key at 0x%08x is not an ECC P-256 restricted signing AK",
                  VTPM_AK_HANDLE);
        return -EEXIST;
    }
    return 0;
}

static int load_ak(struct vtpm *v, const TPM2B_PRIVATE *priv, const TPM2B_PUBLIC *pub,
                   ESYS_TR *obj)
{
    ESYS_TR sess = ESYS_TR_NONE;
    TSS2_RC rc;
    int r = ek_session(v, &sess);

    if (r < 0)
        return r;
    rc = Esys_Load(v->esys, v->ek, sess, ESYS_TR_NONE, ESYS_TR_NONE, priv, pub, obj);
    vtpm_flush(v, &sess);
    return rc == TSS2_RC_SUCCESS ? 0 : vtpm_err(rc, "Esys_Load(AK)");
}

static int create_ak(struct vtpm *v)
{
    const TPM2B_SENSITIVE_CREATE sens = { 0 };
    const TPM2B_DATA outside = { 0 };
    const TPML_PCR_SELECTION pcrs = { 0 };
    TPM2B_PRIVATE *priv = NULL;
    TPM2B_PUBLIC tmpl, *pub = NULL;
    ESYS_TR sess = ESYS_TR_NONE, obj = ESYS_TR_NONE;
    TSS2_RC rc;
    int r;

    ak_template(&tmpl);
    if ((r = ek_session(v, &sess)) < 0)
        return r;
    rc = Esys_Create(v->esys, v->ek, sess, ESYS_TR_NONE, ESYS_TR_NONE, &sens, &tmpl, &outside,
                     &pcrs, &priv, &pub, NULL, NULL, NULL);
    vtpm_flush(v, &sess);
    if (rc != TSS2_RC_SUCCESS) {
        r = vtpm_err(rc, "Esys_Create(AK)");
        goto out;
    }
    if ((r = load_ak(v, priv, pub, &obj)) < 0)
        goto out;
    rc = Esys_EvictControl(v->esys, ESYS_TR_RH_OWNER, obj, ESYS_TR_PASSWORD, ESYS_TR_NONE,
                           ESYS_TR_NONE, VTPM_AK_HANDLE, &v->ak);
    vtpm_flush(v, &obj);
    r = rc == TSS2_RC_SUCCESS ? 0 : vtpm_err(rc, "Esys_EvictControl(AK)");
    if (r == 0)
        v->ak_pub = *pub;
out:
    Esys_Free(priv);
    Esys_Free(pub);
    return r;
}

/* The EK is created only when needed (a new AK, an activation): an AK made and registered
 * ahead of time (attest-agent prepare) lets the hook skip the EK's CreatePrimary. */
int vtpm_ensure_ak(struct vtpm *v, int *created)
{
    int r;

    *created = 0;
    if (v->ak != ESYS_TR_NONE)
        return 0;
    r = vtpm_handle_present(v, VTPM_AK_HANDLE);
    if (r > 0)
        return read_ak(v);
    if (r < 0 || (r = ensure_ek(v)) < 0)
        return r;
    r = create_ak(v);
    *created = r == 0;
    return r;
}

int vtpm_ak_public(struct vtpm *v, uint8_t **buf, size_t *len)
{
    size_t off = 0;

    if (v->ak == ESYS_TR_NONE)
        return -EINVAL;
    *buf = malloc(sizeof(TPM2B_PUBLIC));
    if (!*buf)
        return -ENOMEM;
    if (Tss2_MU_TPM2B_PUBLIC_Marshal(&v->ak_pub, *buf, sizeof(TPM2B_PUBLIC), &off) !=
        TSS2_RC_SUCCESS) {
        free(*buf);
        *buf = NULL;
        return -EIO;
    }
    *len = off;
    return 0;
}

int vtpm_activate(struct vtpm *v, const uint8_t *blob, size_t blob_len, const uint8_t *secret,
                  size_t secret_len, uint8_t **cred, size_t *cred_len)
{
    TPM2B_ID_OBJECT idobj;
    TPM2B_ENCRYPTED_SECRET sec;
    TPM2B_DIGEST *info = NULL;
    ESYS_TR sess = ESYS_TR_NONE;
    TSS2_RC rc;
    int r;

    if (v->ak == ESYS_TR_NONE)
        return -EINVAL;
    if ((r = tpm_credential_unmarshal(blob, blob_len, secret, secret_len, &idobj, &sec)) < 0 ||
        (r = ensure_ek(v)) < 0)
        return r;
    if ((r = ek_session(v, &sess)) < 0)
        return r;
    rc = Esys_ActivateCredential(v->esys, v->ak, v->ek, ESYS_TR_PASSWORD, sess, ESYS_TR_NONE,
                                 &idobj, &sec, &info);
    vtpm_flush(v, &sess);
    if (rc != TSS2_RC_SUCCESS)
        return vtpm_err(rc, "Esys_ActivateCredential");
    return esys_digest_take(info, cred, cred_len);
}
