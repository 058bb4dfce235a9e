/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Keys inside the host TPM: the persistent EK (TCG template when absent), EK policy sessions,
 * the AK and vTPM-CA keys created under the EK and made persistent, the EK certificate in NV.
 * swtpm and TPMs without a resource manager have ~3 transient slots: every transient object
 * and session made here is flushed before the function returns.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "hosttpm_int.h"
#include "esysutil.h"
#include "log.h"
#include "tpmtemplates.h"
#include "vtpm_ipc.h"

/* TCG EK Credential Profile: PolicySecret(TPM_RH_ENDORSEMENT) with SHA-256. */
/* TCG EK NV indices of the EK certificates: RSA 2048, ECC NIST P-256, ECC NIST P-384. */
#define NV_EK_CERT_RSA2048 0x01c00002u
#define NV_EK_CERT_ECC_P256 0x01c0000au
#define NV_EK_CERT_ECC_P384 0x01c00016u
#define NV_READ_CHUNK 512u /* every TPM's NV_BUFFER_MAX is at least this */

static const TPMT_SYM_DEF session_sym = {
    .algorithm = TPM2_ALG_AES, .keyBits = { .aes = 128 }, .mode = { .aes = TPM2_ALG_CFB },
};

void hostkeys_flush(struct hosttpm *h, ESYS_TR *tr)
{
    if (*tr == ESYS_TR_NONE || *tr == ESYS_TR_PASSWORD)
        return;
    TSS2_RC rc = Esys_FlushContext(h->esys, *tr);
    if (rc != TSS2_RC_SUCCESS)
        (void)hosttpm_tss_err(rc, "Esys_FlushContext");
    *tr = ESYS_TR_NONE;
}

/* Forgets a persistent handle's ESYS_TR without evicting the object. */
void hostkeys_close_tr(struct hosttpm *h, ESYS_TR *tr)
{
    if (*tr == ESYS_TR_NONE)
        return;
    (void)Esys_TR_Close(h->esys, tr);
    *tr = ESYS_TR_NONE;
}

int hostkeys_start_session(struct hosttpm *h, TPM2_SE type, TPMI_ALG_HASH alg,
                           TPMA_SESSION attrs, ESYS_TR *sess)
{
    /* Salting with the EK keys the session with a secret only this TPM can recover, which
     * makes parameter encryption (attrs) meaningful on the bus. Trial sessions need none. */
    ESYS_TR salt = type == TPM2_SE_TRIAL ? ESYS_TR_NONE : h->ek;
    TSS2_RC rc;

    *sess = ESYS_TR_NONE;
    rc = Esys_StartAuthSession(h->esys, salt, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
                               ESYS_TR_NONE, NULL, type, &session_sym, alg, sess);
    if (rc != TSS2_RC_SUCCESS)
        return hosttpm_tss_err(rc, "Esys_StartAuthSession");
    rc = Esys_TRSess_SetAttributes(h->esys, *sess, TPMA_SESSION_CONTINUESESSION | attrs, 0xff);
    if (rc != TSS2_RC_SUCCESS) {
        hostkeys_flush(h, sess);
        return hosttpm_tss_err(rc, "Esys_TRSess_SetAttributes");
    }
    return 0;
}

int hostkeys_ek_session(struct hosttpm *h, TPMA_SESSION attrs, ESYS_TR *sess)
{
    TSS2_RC rc;
    int r;

    /* EKs from the TCG high-range templates (e.g. swtpm's P-384 EK) have userWithAuth and an
     * empty authValue: an HMAC session authorizes them and still carries the encryption. */
    if (h->ek_pub.publicArea.objectAttributes & TPMA_OBJECT_USERWITHAUTH)
        return hostkeys_start_session(h, TPM2_SE_HMAC, TPM2_ALG_SHA256, attrs, sess);
    /* The policy digest's algorithm is the EK's nameAlg (SHA-384 for some templates). */
    r = hostkeys_start_session(h, TPM2_SE_POLICY, h->ek_pub.publicArea.nameAlg, attrs, sess);
    if (r < 0)
        return r;
    rc = Esys_PolicySecret(h->esys, ESYS_TR_RH_ENDORSEMENT, *sess, ESYS_TR_PASSWORD, ESYS_TR_NONE,
                           ESYS_TR_NONE, NULL, NULL, NULL, 0, NULL, NULL);
    if (rc != TSS2_RC_SUCCESS) {
        hostkeys_flush(h, sess);
        return hosttpm_tss_err(rc, "Esys_PolicySecret(endorsement)");
    }
    return 0;
}

static int handle_present(struct hosttpm *h, uint32_t handle)
{
    TSS2_RC rc;
    int r = esys_handle_present(h->esys, handle, &rc);

    return r < 0 ? hosttpm_tss_err(rc, "Esys_GetCapability(handles)") : r;
}

int hostkeys_read_persistent(struct hosttpm *h, uint32_t handle, ESYS_TR *tr, TPM2B_PUBLIC *pub)
{
    TPM2B_PUBLIC *out = NULL;
    TSS2_RC rc;
    int r = handle_present(h, handle);

    *tr = ESYS_TR_NONE;
    if (r <= 0)
        return r < 0 ? r : -ENOENT;
    rc = Esys_TR_FromTPMPublic(h->esys, handle, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, tr);
    if (hosttpm_rc_is(rc, TPM2_RC_HANDLE)) {
        *tr = ESYS_TR_NONE;
        return -ENOENT;
    }
    if (rc != TSS2_RC_SUCCESS) {
        LOG_ERROR("persistent handle 0x%08x unreadable", handle);
        return hosttpm_tss_err(rc, "Esys_TR_FromTPMPublic");
    }
    if (!pub)
        return 0;
    rc = Esys_ReadPublic(h->esys, *tr, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &out, NULL, NULL);
    if (rc != TSS2_RC_SUCCESS) {
        hostkeys_close_tr(h, tr);
        return hosttpm_tss_err(rc, "Esys_ReadPublic");
    }
    *pub = *out;
    Esys_Free(out);
    return 0;
}

static int persist(struct hosttpm *h, ESYS_TR *transient, uint32_t handle, ESYS_TR *out)
{
    TSS2_RC rc;

    rc = Esys_EvictControl(h->esys, ESYS_TR_RH_OWNER, *transient, ESYS_TR_PASSWORD, ESYS_TR_NONE,
                           ESYS_TR_NONE, handle, out);
    hostkeys_flush(h, transient);
    if (rc != TSS2_RC_SUCCESS) {
        LOG_ERROR("cannot make the key persistent at 0x%08x", handle);
        return hosttpm_tss_err(rc, "Esys_EvictControl");
    }
    return 0;
}

static int create_default_ek(struct hosttpm *h)
{
    const TPM2B_SENSITIVE_CREATE sens = { 0 };
    const TPM2B_DATA outside = { 0 };
    const TPML_PCR_SELECTION pcrs = { 0 };
    TPM2B_PUBLIC tmpl;
    ESYS_TR tr = ESYS_TR_NONE;
    TSS2_RC rc;
    int r;

    LOG_INFO("no EK at 0x%08x: creating it from the TCG RSA 2048 template", h->ek_handle);
    tcg_ek_template(VTPM_EK_RSA_2048, &tmpl);
    rc = Esys_CreatePrimary(h->esys, ESYS_TR_RH_ENDORSEMENT, ESYS_TR_PASSWORD, ESYS_TR_NONE,
                            ESYS_TR_NONE, &sens, &tmpl, &outside, &pcrs, &tr, NULL, NULL, NULL,
                            NULL);
    if (rc != TSS2_RC_SUCCESS)
        return hosttpm_tss_err(rc, "Esys_CreatePrimary(EK)");
    r = persist(h, &tr, h->ek_handle, &h->ek);
    if (r < 0)
        return r;
    hostkeys_close_tr(h, &h->ek);
    return hostkeys_read_persistent(h, h->ek_handle, &h->ek, &h->ek_pub);
}

int hostkeys_ensure_ek(struct hosttpm *h)
{
    const TPMA_OBJECT parent = TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_DECRYPT;
    int r;

    if (h->ek != ESYS_TR_NONE)
        return 0;
    r = hostkeys_read_persistent(h, h->ek_handle, &h->ek, &h->ek_pub);
    if (r == -ENOENT)
        r = create_default_ek(h);
    if (r < 0)
        return r;
    if ((h->ek_pub.publicArea.objectAttributes & parent) != parent) {
        LOG_ERROR("key at 0x%08x is not a storage (restricted decryption) EK", h->ek_handle);
        hostkeys_close_tr(h, &h->ek);
        return -EINVAL;
    }
    return 0;
}

/* ECC NIST P-256 ECDSA-SHA256 signing key; restricted for the AK, unrestricted for the CA. */
static void sign_template(TPM2B_PUBLIC *t, int restricted)
{
    TPMT_PUBLIC *p = &t->publicArea;

    memset(t, 0, sizeof(*t));
    p->type = TPM2_ALG_ECC;
    p->nameAlg = TPM2_ALG_SHA256;
    p->objectAttributes = TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT |
                          TPMA_OBJECT_SENSITIVEDATAORIGIN | TPMA_OBJECT_USERWITHAUTH |
                          TPMA_OBJECT_SIGN_ENCRYPT;
    if (restricted)
        p->objectAttributes |= TPMA_OBJECT_RESTRICTED;
    p->parameters.eccDetail.symmetric.algorithm = TPM2_ALG_NULL;
    p->parameters.eccDetail.scheme.scheme = TPM2_ALG_ECDSA;
    p->parameters.eccDetail.scheme.details.ecdsa.hashAlg = TPM2_ALG_SHA256;
    p->parameters.eccDetail.curveID = TPM2_ECC_NIST_P256;
    p->parameters.eccDetail.kdf.scheme = TPM2_ALG_NULL;
}

int hostkeys_load_under_ek(struct hosttpm *h, const TPM2B_PRIVATE *priv, const TPM2B_PUBLIC *pub,
                           ESYS_TR *tr)
{
    ESYS_TR sess = ESYS_TR_NONE;
    TSS2_RC rc;
    int r;

    *tr = ESYS_TR_NONE;
    r = hostkeys_ek_session(h, 0, &sess);
    if (r < 0)
        return r;
    rc = Esys_Load(h->esys, h->ek, sess, ESYS_TR_NONE, ESYS_TR_NONE, priv, pub, tr);
    hostkeys_flush(h, &sess);
    if (rc != TSS2_RC_SUCCESS)
        return hosttpm_tss_err(rc, "Esys_Load");
    return 0;
}

int hostkeys_create_persistent(struct hosttpm *h, int restricted, uint32_t handle, ESYS_TR *tr)
{
    const TPM2B_SENSITIVE_CREATE sens = { 0 };
    const TPM2B_DATA outside = { 0 };
    const TPML_PCR_SELECTION pcrs = { 0 };
    TPM2B_PRIVATE *priv = NULL;
    TPM2B_PUBLIC tmpl, *pub = NULL;
    ESYS_TR sess = ESYS_TR_NONE, obj = ESYS_TR_NONE;
    TSS2_RC rc;
    int r;

    sign_template(&tmpl, restricted);
    r = hostkeys_ek_session(h, 0, &sess);
    if (r < 0)
        return r;
    rc = Esys_Create(h->esys, h->ek, sess, ESYS_TR_NONE, ESYS_TR_NONE, &sens, &tmpl, &outside,
                     &pcrs, &priv, &pub, NULL, NULL, NULL);
    hostkeys_flush(h, &sess);
    if (rc != TSS2_RC_SUCCESS) {
        r = hosttpm_tss_err(rc, "Esys_Create(signing key)");
        goto out;
    }
    r = hostkeys_load_under_ek(h, priv, pub, &obj);
    if (r < 0)
        goto out;
    r = persist(h, &obj, handle, tr);
out:
    Esys_Free(priv);
    Esys_Free(pub);
    return r;
}

static uint32_t ek_cert_index(const TPMT_PUBLIC *ek)
{
    if (ek->type == TPM2_ALG_RSA)
        return NV_EK_CERT_RSA2048;
    if (ek->parameters.eccDetail.curveID == TPM2_ECC_NIST_P384)
        return NV_EK_CERT_ECC_P384;
    return NV_EK_CERT_ECC_P256;
}

static int nv_read_all(struct hosttpm *h, ESYS_TR nv, const TPMS_NV_PUBLIC *np, uint8_t *buf)
{
    /* EK certificate indices are authread (empty auth) or ownerread. */
    ESYS_TR auth = (np->attributes & TPMA_NV_AUTHREAD) ? nv : ESYS_TR_RH_OWNER;
    TPM2B_MAX_NV_BUFFER *chunk = NULL;
    uint16_t off = 0;
    TSS2_RC rc;

    while (off < np->dataSize) {
        uint16_t left = (uint16_t)(np->dataSize - off);
        uint16_t n = left > NV_READ_CHUNK ? NV_READ_CHUNK : left;
        rc = Esys_NV_Read(h->esys, auth, nv, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, n, off,
                          &chunk);
        if (rc != TSS2_RC_SUCCESS)
            return hosttpm_tss_err(rc, "Esys_NV_Read(EK certificate)");
        if (chunk->size != n) {
            Esys_Free(chunk);
            return -EIO;
        }
        memcpy(buf + off, chunk->buffer, n);
        Esys_Free(chunk);
        off += n;
    }
    return 0;
}

int hostkeys_read_ek_cert(struct hosttpm *h, uint8_t **der, size_t *der_len)
{
    uint32_t index = ek_cert_index(&h->ek_pub.publicArea);
    TPM2B_NV_PUBLIC *np = NULL;
    ESYS_TR nv = ESYS_TR_NONE;
    uint8_t *buf = NULL;
    TSS2_RC rc;
    int r;

    r = hostkeys_read_persistent(h, index, &nv, NULL);
    if (r < 0)
        return r;
    rc = Esys_NV_ReadPublic(h->esys, nv, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &np, NULL);
    if (rc != TSS2_RC_SUCCESS) {
        r = hosttpm_tss_err(rc, "Esys_NV_ReadPublic");
        goto out;
    }
    r = -ENOMEM;
    buf = malloc(np->nvPublic.dataSize ? np->nvPublic.dataSize : 1);
    if (!buf)
        goto out;
    r = nv_read_all(h, nv, &np->nvPublic, buf);
    if (r < 0)
        goto out;
    *der_len = np->nvPublic.dataSize;
    *der = buf;
    buf = NULL;
out:
    free(buf);
    Esys_Free(np);
    hostkeys_close_tr(h, &nv);
    return r;
}
