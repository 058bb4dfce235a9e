/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The vTPM state key: 32 random bytes sealed under the host EK to a PolicyPCR policy, kept in
 * hostdir/state-key.seal as "VSK1" | TPML_PCR_SELECTION | TPM2B_PUBLIC | TPM2B_PRIVATE (all
 * Tss2_MU-marshalled). The selection is stored with the blob because the object's authPolicy
 * binds it: a changed configuration cannot silently unlock a differently sealed key.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>
#include <tss2/tss2_mu.h>

#include "hosttpm_int.h"
#include "log.h"

#define SEAL_MAGIC 0x56534b31u /* "VSK1" */
#define UNSEAL_TRIES 3         /* TPM_RC_PCR_CHANGED: a PCR moved between policy and unseal */

struct sealed {
    TPML_PCR_SELECTION pcrs;
    TPM2B_PUBLIC pub;
    TPM2B_PRIVATE priv;
};

static int sealed_marshal(const struct sealed *s, uint8_t *buf, size_t size, size_t *len)
{
    size_t off = 0;

    if (Tss2_MU_UINT32_Marshal(SEAL_MAGIC, buf, size, &off) ||
        Tss2_MU_TPML_PCR_SELECTION_Marshal(&s->pcrs, buf, size, &off) ||
        Tss2_MU_TPM2B_PUBLIC_Marshal(&s->pub, buf, size, &off) ||
        Tss2_MU_TPM2B_PRIVATE_Marshal(&s->priv, buf, size, &off))
        return -EINVAL;
    *len = off;
    return 0;
}

static int sealed_unmarshal(const uint8_t *buf, size_t len, struct sealed *s)
{
    size_t off = 0;
    uint32_t magic = 0;

    memset(s, 0, sizeof(*s)); /* Tss2_MU refuses to unmarshal into a non-empty TPM2B */
    if (Tss2_MU_UINT32_Unmarshal(buf, len, &off, &magic) || magic != SEAL_MAGIC ||
        Tss2_MU_TPML_PCR_SELECTION_Unmarshal(buf, len, &off, &s->pcrs) ||
        Tss2_MU_TPM2B_PUBLIC_Unmarshal(buf, len, &off, &s->pub) ||
        Tss2_MU_TPM2B_PRIVATE_Unmarshal(buf, len, &off, &s->priv) || off != len) {
        LOG_ERROR("%s is not a sealed state key blob", HF_STATE_KEY);
        return -EINVAL;
    }
    return 0;
}

/* No PCRs: the policy is empty and any policy session (digest all zeros) satisfies it. */
static int policy_pcr(struct hosttpm *h, ESYS_TR sess, const TPML_PCR_SELECTION *pcrs)
{
    const TPM2B_DIGEST current = { 0 }; /* empty: the TPM uses the PCRs' present values */
    TSS2_RC rc;

    if (pcrs->count == 0)
        return 0;
    rc = Esys_PolicyPCR(h->esys, sess, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &current, pcrs);
    return rc == TSS2_RC_SUCCESS ? 0 : hosttpm_tss_err(rc, "Esys_PolicyPCR");
}

static int policy_digest(struct hosttpm *h, const TPML_PCR_SELECTION *pcrs, TPM2B_DIGEST *out)
{
    TPM2B_DIGEST *d = NULL;
    ESYS_TR sess = ESYS_TR_NONE;
    TSS2_RC rc;
    int r = hostkeys_start_session(h, TPM2_SE_TRIAL, TPM2_ALG_SHA256, 0, &sess);

    if (r < 0)
        return r;
    if ((r = policy_pcr(h, sess, pcrs)) < 0)
        goto out;
    rc = Esys_PolicyGetDigest(h->esys, sess, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &d);
    if (rc != TSS2_RC_SUCCESS) {
        r = hosttpm_tss_err(rc, "Esys_PolicyGetDigest");
        goto out;
    }
    *out = *d;
    Esys_Free(d);
out:
    hostkeys_flush(h, &sess);
    return r;
}

/* Sealed data object: no userWithAuth, so only a policy session satisfying authPolicy unseals. */
static void seal_template(TPM2B_PUBLIC *t, const TPM2B_DIGEST *policy)
{
    memset(t, 0, sizeof(*t));
    t->publicArea.type = TPM2_ALG_KEYEDHASH;
    t->publicArea.nameAlg = TPM2_ALG_SHA256;
    t->publicArea.objectAttributes = TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT;
    t->publicArea.authPolicy = *policy;
    t->publicArea.parameters.keyedHashDetail.scheme.scheme = TPM2_ALG_NULL;
}

static int seal(struct hosttpm *h, const uint8_t key[HOSTTPM_STATE_KEY_LEN], struct sealed *s)
{
    const TPM2B_DATA outside = { 0 };
    const TPML_PCR_SELECTION none = { 0 };
    TPM2B_SENSITIVE_CREATE sens = { 0 };
    TPM2B_PRIVATE *priv = NULL;
    TPM2B_PUBLIC tmpl, *pub = NULL;
    TPM2B_DIGEST policy;
    ESYS_TR sess = ESYS_TR_NONE;
    TSS2_RC rc;
    int r;

    s->pcrs = h->seal_pcrs;
    if ((r = policy_digest(h, &s->pcrs, &policy)) < 0)
        return r;
    seal_template(&tmpl, &policy);
    sens.sensitive.data.size = HOSTTPM_STATE_KEY_LEN;
    memcpy(sens.sensitive.data.buffer, key, HOSTTPM_STATE_KEY_LEN);
    /* DECRYPT: the key travels to the TPM encrypted under the EK-salted session. */
    if ((r = hostkeys_ek_session(h, TPMA_SESSION_DECRYPT, &sess)) < 0)
        goto out;
    rc = Esys_Create(h->esys, h->ek, sess, ESYS_TR_NONE, ESYS_TR_NONE, &sens, &tmpl, &outside,
                     &none, &priv, &pub, NULL, NULL, NULL);
    hostkeys_flush(h, &sess);
    if (rc != TSS2_RC_SUCCESS) {
        r = hosttpm_tss_err(rc, "Esys_Create(sealed state key)");
        goto out;
    }
    s->pub = *pub;
    s->priv = *priv;
out:
    explicit_bzero(&sens, sizeof(sens));
    Esys_Free(priv);
    Esys_Free(pub);
    return r;
}

static int unseal_once(struct hosttpm *h, ESYS_TR obj, const TPML_PCR_SELECTION *pcrs,
                       uint8_t key[HOSTTPM_STATE_KEY_LEN], TSS2_RC *rc)
{
    TPM2B_SENSITIVE_DATA *out = NULL;
    ESYS_TR sess = ESYS_TR_NONE;
    int r;

    *rc = TSS2_RC_SUCCESS;
    /* ENCRYPT: the unsealed key travels back encrypted under the EK-salted session. */
    if ((r = hostkeys_start_session(h, TPM2_SE_POLICY, TPM2_ALG_SHA256, TPMA_SESSION_ENCRYPT,
                                    &sess)) < 0)
        return r;
    if ((r = policy_pcr(h, sess, pcrs)) < 0)
        goto out;
    *rc = Esys_Unseal(h->esys, obj, sess, ESYS_TR_NONE, ESYS_TR_NONE, &out);
    if (*rc != TSS2_RC_SUCCESS) {
        r = -EIO;
        goto out;
    }
    r = out->size == HOSTTPM_STATE_KEY_LEN ? 0 : -EINVAL;
    if (r == 0)
        memcpy(key, out->buffer, HOSTTPM_STATE_KEY_LEN);
    explicit_bzero(out->buffer, sizeof(out->buffer));
    Esys_Free(out);
out:
    hostkeys_flush(h, &sess);
    return r;
}

static int unseal(struct hosttpm *h, const struct sealed *s, uint8_t key[HOSTTPM_STATE_KEY_LEN])
{
    ESYS_TR obj = ESYS_TR_NONE;
    TSS2_RC rc = TSS2_RC_SUCCESS;
    int r, i;

    if ((r = hostkeys_load_under_ek(h, &s->priv, &s->pub, &obj)) < 0)
        return r;
    for (i = 0; i < UNSEAL_TRIES; i++) {
        r = unseal_once(h, obj, &s->pcrs, key, &rc);
        if (!hosttpm_rc_is(rc, TPM2_RC_PCR_CHANGED))
            break;
    }
    hostkeys_flush(h, &obj);
    if (hosttpm_rc_is(rc, TPM2_RC_POLICY_FAIL)) {
        LOG_ERROR("state key: PCR policy no longer satisfied (host measurements changed); "
                  "see the re-seal procedure in docs");
        return -EACCES;
    }
    if (rc != TSS2_RC_SUCCESS)
        return hosttpm_tss_err(rc, "Esys_Unseal(state key)");
    if (r < 0)
        explicit_bzero(key, HOSTTPM_STATE_KEY_LEN);
    return r;
}

/* Seals key to the configured PCRs, checks it by unsealing once, and only then publishes the
 * blob file (atomically replacing an older one). */
static int seal_and_publish(struct hosttpm *h, int dirfd,
                            const uint8_t key[HOSTTPM_STATE_KEY_LEN])
{
    uint8_t check[HOSTTPM_STATE_KEY_LEN], buf[sizeof(struct sealed) + 4];
    struct sealed s;
    size_t len = 0;
    int r;

    if ((r = seal(h, key, &s)) < 0 || (r = unseal(h, &s, check)) < 0)
        goto out;
    r = -EIO;
    if (memcmp(check, key, HOSTTPM_STATE_KEY_LEN) || sealed_marshal(&s, buf, sizeof(buf), &len))
        goto out;
    r = hostfile_write(dirfd, HF_STATE_KEY, buf, len, 0600);
    if (r == 0)
        LOG_INFO("state key sealed to the host TPM (%u PCR banks)", s.pcrs.count);
out:
    explicit_bzero(check, sizeof(check));
    return r;
}

/* New key, sealed and published. */
static int create_key(struct hosttpm *h, int dirfd, uint8_t key[HOSTTPM_STATE_KEY_LEN])
{
    int r = -EIO;

    if (RAND_priv_bytes(key, HOSTTPM_STATE_KEY_LEN) == 1)
        r = seal_and_publish(h, dirfd, key);
    if (r < 0)
        explicit_bzero(key, HOSTTPM_STATE_KEY_LEN);
    return r;
}

int hosttpm_reseal_state_key(struct hosttpm *h, int hostdir_fd)
{
    uint8_t key[HOSTTPM_STATE_KEY_LEN];
    int r = hosttpm_state_key(h, hostdir_fd, 0, key);

    if (r == 0)
        r = seal_and_publish(h, hostdir_fd, key);
    explicit_bzero(key, sizeof(key));
    return r;
}

int hosttpm_state_key(struct hosttpm *h, int hostdir_fd, int create,
                      uint8_t key[HOSTTPM_STATE_KEY_LEN])
{
    struct sealed s;
    uint8_t *blob = NULL;
    size_t len = 0;
    int r;

    if (!h || hostdir_fd < 0 || !key)
        return -EINVAL;
    if ((r = hostkeys_ensure_ek(h)) < 0)
        return r;
    r = hostfile_read(hostdir_fd, HF_STATE_KEY, &blob, &len);
    if (r == -ENOENT)
        return create ? create_key(h, hostdir_fd, key) : -ENOENT;
    if (r < 0)
        return r;
    r = sealed_unmarshal(blob, len, &s);
    if (r == 0)
        r = unseal(h, &s, key);
    free(blob);
    return r;
}
