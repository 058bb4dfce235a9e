/* SPDX-License-Identifier: BSD-3-Clause */
/* Host-TPM context (TCTI + ESAPI), configuration, TSS2 error mapping, the vTPM EK public check,
 * AK credential activation and host AK quotes; provisioning is in hostprov.c, the state key in
 * sealkey.c, the issuer key that signs EK certificates in issuer.c. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <tss2/tss2_mu.h>
#include <tss2/tss2_rc.h>
#include <tss2/tss2_tctildr.h>
#include <openssl/sha.h>

#include "hosttpm_int.h"
#include "esysutil.h"
#include "log.h"
#include "tpmtemplates.h"

#define HOST_PCRS 24 /* PC Client platforms: PCR 0..23, three bytes of select */
#define PERSISTENT_MIN 0x81000000u
#define PERSISTENT_MAX 0x81ffffffu

void hosttpm_config_defaults(struct hosttpm_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->tcti = HOSTTPM_DEFAULT_TCTI;
    cfg->ek_handle = HOSTTPM_DEFAULT_EK_HANDLE;
    cfg->ak_handle = HOSTTPM_DEFAULT_AK_HANDLE;
    cfg->ca_handle = HOSTTPM_DEFAULT_CA_HANDLE;
    /* PCR 7 (Secure Boot policy) survives kernel and initrd updates yet changes when the
     * firmware's Secure Boot configuration does. */
    cfg->seal_pcrs.count = 1;
    cfg->seal_pcrs.pcrSelections[0].hash = TPM2_ALG_SHA256;
    cfg->seal_pcrs.pcrSelections[0].sizeofSelect = 3;
    cfg->seal_pcrs.pcrSelections[0].pcrSelect[0] = 1u << 7;
}

static int bank_alg(const char *p, size_t len, TPMI_ALG_HASH *alg)
{
    static const struct { const char *name; TPMI_ALG_HASH alg; } banks[] = {
        { "sha1", TPM2_ALG_SHA1 }, { "sha256", TPM2_ALG_SHA256 },
        { "sha384", TPM2_ALG_SHA384 }, { "sha512", TPM2_ALG_SHA512 },
    };

    for (size_t i = 0; i < sizeof(banks) / sizeof(banks[0]); i++) {
        if (strlen(banks[i].name) == len && !memcmp(banks[i].name, p, len)) {
            *alg = banks[i].alg;
            return 0;
        }
    }
    return -EINVAL;
}

/* "0,1,7": decimal PCR numbers below HOST_PCRS, no empty items. */
static int pcr_list(const char *p, const char *end, BYTE select[3])
{
    if (p == end)
        return -EINVAL;
    while (p < end) {
        const char *start = p;
        unsigned v = 0;

        while (p < end && *p >= '0' && *p <= '9' && p - start < 2)
            v = v * 10 + (unsigned)(*p++ - '0');
        if (p == start || v >= HOST_PCRS)
            return -EINVAL;
        if (p < end && (*p != ',' || ++p == end))
            return -EINVAL;
        select[v / 8] |= (BYTE)(1u << (v % 8));
    }
    return 0;
}

/* One "bank:list" item between p and end, appended to sel. */
static int pcr_bank(const char *p, const char *end, TPML_PCR_SELECTION *sel)
{
    const char *colon = memchr(p, ':', (size_t)(end - p));
    TPMS_PCR_SELECTION *s = &sel->pcrSelections[sel->count];

    if (!colon || sel->count >= TPM2_NUM_PCR_BANKS || bank_alg(p, (size_t)(colon - p), &s->hash))
        return -EINVAL;
    for (uint32_t i = 0; i < sel->count; i++)
        if (sel->pcrSelections[i].hash == s->hash)
            return -EINVAL;
    s->sizeofSelect = 3;
    if (pcr_list(colon + 1, end, s->pcrSelect) < 0)
        return -EINVAL;
    sel->count++;
    return 0;
}

int hosttpm_parse_pcrs(const char *spec, TPML_PCR_SELECTION *sel)
{
    const char *p = spec;

    memset(sel, 0, sizeof(*sel));
    if (!spec)
        return -EINVAL;
    if (!*spec || !strcmp(spec, "none"))
        return 0;
    for (;;) {
        const char *end = strchr(p, '+');
        if (!end)
            end = p + strlen(p);
        if (pcr_bank(p, end, sel) < 0) {
            LOG_ERROR("bad PCR selection \"%s\" (want e.g. sha256:0,1,7+sha1:7)", spec);
            memset(sel, 0, sizeof(*sel));
            return -EINVAL;
        }
        if (!*end)
            return 0;
        p = end + 1;
    }
}

int hosttpm_rc_is(TSS2_RC rc, TSS2_RC code)
{
    if ((rc & TSS2_RC_LAYER_MASK) != TSS2_TPM_RC_LAYER || rc == TSS2_RC_SUCCESS)
        return 0;
    if (code & TPM2_RC_FMT1) /* strip the handle/session/parameter number */
        return (rc & TPM2_RC_FMT1) && (rc & (TPM2_RC_FMT1 | 0x3f)) == code;
    return !(rc & TPM2_RC_FMT1) && (rc & 0xfff) == code;
}

static int rc_errno(TSS2_RC rc)
{
    static const struct { TSS2_RC code; int err; } map[] = {
        { TPM2_RC_POLICY_FAIL, -EACCES }, { TPM2_RC_AUTH_FAIL, -EACCES },
        { TPM2_RC_BAD_AUTH, -EACCES },    { TPM2_RC_PCR_CHANGED, -EACCES },
        { TPM2_RC_HANDLE, -ENOENT },      { TPM2_RC_NV_SPACE, -ENOSPC },
        { TPM2_RC_OBJECT_MEMORY, -ENOSPC }, { TPM2_RC_SESSION_MEMORY, -ENOSPC },
        { TPM2_RC_INTEGRITY, -EINVAL },   { TPM2_RC_SIZE, -EINVAL },
        { TPM2_RC_VALUE, -EINVAL },       { TPM2_RC_ECC_POINT, -EINVAL },
        { TPM2_RC_KEY, -EINVAL },         { TPM2_RC_INSUFFICIENT, -EINVAL },
    };

    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
        if (hosttpm_rc_is(rc, map[i].code))
            return map[i].err;
    return -EIO;
}

int hosttpm_tss_err(TSS2_RC rc, const char *what)
{
    LOG_ERROR("%s: %s (0x%08x)", what, Tss2_RC_Decode(rc), rc);
    return rc_errno(rc);
}

static int check_config(const struct hosttpm_config *cfg)
{
    const uint32_t hs[3] = { cfg->ek_handle, cfg->ak_handle, cfg->ca_handle };

    if (!cfg->tcti || cfg->seal_pcrs.count > TPM2_NUM_PCR_BANKS)
        return -EINVAL;
    for (int i = 0; i < 3; i++) {
        if (hs[i] < PERSISTENT_MIN || hs[i] > PERSISTENT_MAX || hs[i] == hs[(i + 1) % 3]) {
            LOG_ERROR("handles must be distinct persistent handles (0x81xxxxxx)");
            return -EINVAL;
        }
    }
    return 0;
}

static int open_esys(struct hosttpm *h, const char *tcti)
{
    TSS2_RC rc = Tss2_TctiLdr_Initialize(tcti, &h->tcti);

    if (rc != TSS2_RC_SUCCESS) {
        LOG_ERROR("cannot open the host TPM through TCTI \"%s\"", tcti);
        return hosttpm_tss_err(rc, "Tss2_TctiLdr_Initialize");
    }
    rc = Esys_Initialize(&h->esys, h->tcti, NULL);
    if (rc != TSS2_RC_SUCCESS)
        return hosttpm_tss_err(rc, "Esys_Initialize");
    return 0;
}

int hosttpm_open(const struct hosttpm_config *cfg, struct hosttpm **out)
{
    struct hosttpm *h;
    int r;

    *out = NULL;
    if ((r = check_config(cfg)) < 0)
        return r;
    h = calloc(1, sizeof(*h));
    if (!h)
        return -ENOMEM;
    h->ek = h->ca = h->counter = ESYS_TR_NONE;
    h->ek_handle = cfg->ek_handle;
    h->ak_handle = cfg->ak_handle;
    h->ca_handle = cfg->ca_handle;
    h->seal_pcrs = cfg->seal_pcrs;
    r = -ENOMEM;
    if (cfg->host_ek_ca_file && !(h->host_ek_ca_file = strdup(cfg->host_ek_ca_file)))
        goto fail;
    if ((r = open_esys(h, cfg->tcti)) < 0)
        goto fail;
    *out = h;
    return 0;
fail:
    hosttpm_close(h);
    return r;
}

void hosttpm_close(struct hosttpm *h)
{
    if (!h)
        return;
    if (h->esys) {
        hostkeys_close_tr(h, &h->ca);
        hostkeys_close_tr(h, &h->counter);
        hostkeys_close_tr(h, &h->ek);
        Esys_Finalize(&h->esys);
    }
    Tss2_TctiLdr_Finalize(&h->tcti);
    X509_free(h->ca_cert);
    free(h->host_ek_ca_file);
    free(h);
}

/* A vTPM EK: a TCG-template decryption key that never leaves its TPM. */
int hosttpm_ekpub_parse(const uint8_t *buf, size_t len, TPM2B_PUBLIC *pub)
{
    const TPMA_OBJECT need = TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT | TPMA_OBJECT_DECRYPT;
    size_t off = 0;
    uint16_t size = 0;

    memset(pub, 0, sizeof(*pub)); /* Tss2_MU refuses a TPM2B whose size is already set */
    if (!buf || Tss2_MU_UINT16_Unmarshal(buf, len, NULL, &size) != TSS2_RC_SUCCESS ||
        (size_t)size + 2 != len ||
        Tss2_MU_TPM2B_PUBLIC_Unmarshal(buf, len, &off, pub) != TSS2_RC_SUCCESS || off != len) {
        LOG_ERROR("vTPM EK public: not a marshalled TPM2B_PUBLIC of %zu bytes", len);
        return -EINVAL;
    }
    if ((pub->publicArea.objectAttributes & need) != need) {
        LOG_ERROR("vTPM EK public: attributes 0x%08x lack fixedTPM|fixedParent|decrypt",
                  pub->publicArea.objectAttributes);
        return -EINVAL;
    }
    return 0;
}

static int activate(struct hosttpm *h, ESYS_TR ak, const TPM2B_ID_OBJECT *blob,
                    const TPM2B_ENCRYPTED_SECRET *secret, uint8_t **cred, size_t *cred_len)
{
    TPM2B_DIGEST *info = NULL;
    ESYS_TR sess = ESYS_TR_NONE;
    TSS2_RC rc;
    int r;

    /* The EK session also encrypts the response, so the secret never crosses the bus. */
    r = hostkeys_ek_session(h, TPMA_SESSION_ENCRYPT, &sess);
    if (r < 0)
        return r;
    rc = Esys_ActivateCredential(h->esys, ak, h->ek, ESYS_TR_PASSWORD, sess, ESYS_TR_NONE, blob,
                                 secret, &info);
    hostkeys_flush(h, &sess);
    if (rc != TSS2_RC_SUCCESS)
        return hosttpm_tss_err(rc, "Esys_ActivateCredential");
    return esys_digest_take(info, cred, cred_len);
}

int hosttpm_activate_credential(struct hosttpm *h, const uint8_t *credblob, size_t credblob_len,
                                const uint8_t *secret, size_t secret_len,
                                uint8_t **cred, size_t *cred_len)
{
    TPM2B_ID_OBJECT blob;
    TPM2B_ENCRYPTED_SECRET sec;
    ESYS_TR ak = ESYS_TR_NONE;
    int r;

    if (!h || !cred || !cred_len)
        return -EINVAL;
    r = tpm_credential_unmarshal(credblob, credblob_len, secret, secret_len, &blob, &sec);
    if (r < 0) {
        LOG_ERROR("credential: malformed TPM2B_ID_OBJECT / TPM2B_ENCRYPTED_SECRET");
        return r;
    }
    if ((r = hostkeys_ensure_ek(h)) < 0)
        return r;
    r = hostkeys_read_persistent(h, h->ak_handle, &ak, NULL);
    if (r < 0) {
        LOG_ERROR("no host AK at 0x%08x (not provisioned?)", h->ak_handle);
        return r;
    }
    r = activate(h, ak, &blob, &sec, cred, cred_len);
    hostkeys_close_tr(h, &ak);
    return r;
}

void hosttpm_quote_free(struct hosttpm_quote *q)
{
    free(q->attest);
    free(q->sig);
    memset(q, 0, sizeof(*q));
}

static void quote_selection(uint32_t mask, TPML_PCR_SELECTION *sel)
{
    memset(sel, 0, sizeof(*sel));
    sel->count = 1;
    sel->pcrSelections[0].hash = TPM2_ALG_SHA256;
    sel->pcrSelections[0].sizeofSelect = 3;
    for (int i = 0; i < 3; i++)
        sel->pcrSelections[0].pcrSelect[i] = (BYTE)(mask >> (8 * i));
}

/* The sha256 PCRs that a selection the TPM returned names, as a mask. */
static uint32_t selection_mask(const TPML_PCR_SELECTION *sel)
{
    uint32_t m = 0;

    for (uint32_t b = 0; b < sel->count && b < TPM2_NUM_PCR_BANKS; b++) {
        const TPMS_PCR_SELECTION *s = &sel->pcrSelections[b];
        if (s->hash != TPM2_ALG_SHA256)
            continue;
        for (uint8_t i = 0; i < s->sizeofSelect && i < 3; i++)
            m |= (uint32_t)s->pcrSelect[i] << (8 * i);
    }
    return m;
}

/* Stores one TPM2_PCR_Read answer: its digests belong to got's PCRs in ascending order. */
static int store_values(struct hosttpm_quote *q, uint32_t got, const TPML_DIGEST *d)
{
    uint32_t k = 0;

    for (int i = 0; i < HOSTTPM_QUOTE_PCRS; i++) {
        if (!(got & (1u << i)))
            continue;
        if (k >= d->count || d->digests[k].size != 32)
            return -EIO;
        memcpy(q->values[i], d->digests[k++].buffer, 32);
    }
    return k == d->count ? 0 : -EIO;
}

/* TPM2_PCR_Read answers at most 8 digests at a time: asks until every PCR of q->mask is read. */
static int read_quote_pcrs(struct hosttpm *h, struct hosttpm_quote *q)
{
    uint32_t left = q->mask;

    for (int round = 0; left && round < HOSTTPM_QUOTE_PCRS; round++) {
        TPML_PCR_SELECTION sel, *out = NULL;
        TPML_DIGEST *vals = NULL;
        uint32_t got;
        TSS2_RC rc;
        int r;

        quote_selection(left, &sel);
        rc = Esys_PCR_Read(h->esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &sel, NULL, &out,
                           &vals);
        if (rc != TSS2_RC_SUCCESS)
            return hosttpm_tss_err(rc, "Esys_PCR_Read");
        got = selection_mask(out) & left;
        r = got ? store_values(q, got, vals) : -EIO;
        Esys_Free(out);
        Esys_Free(vals);
        if (r < 0) {
            LOG_ERROR("TPM2_PCR_Read: answer does not match its selection");
            return r;
        }
        left &= ~got;
    }
    return left ? -EIO : 0;
}

/* 1 when att is a quote of exactly q->mask whose pcrDigest is SHA-256 of q->values. */
static int quote_matches(const struct hosttpm_quote *q, const TPMS_ATTEST *att)
{
    const TPMS_QUOTE_INFO *qi = &att->attested.quote;
    uint8_t cat[HOSTTPM_QUOTE_PCRS * 32], d[SHA256_DIGEST_LENGTH];
    size_t n = 0;

    for (int i = 0; i < HOSTTPM_QUOTE_PCRS; i++) {
        if (q->mask & (1u << i)) {
            memcpy(cat + n, q->values[i], 32);
            n += 32;
        }
    }
    SHA256(cat, n, d);
    return att->type == TPM2_ST_ATTEST_QUOTE && qi->pcrSelect.count == 1 &&
           selection_mask(&qi->pcrSelect) == q->mask && qi->pcrDigest.size == sizeof(d) &&
           !memcmp(qi->pcrDigest.buffer, d, sizeof(d));
}

/* Keeps the quote in q when it covers the values read; 1 kept, 0 stale (retry), < 0 error. */
static int keep_quote(struct hosttpm_quote *q, const TPM2B_ATTEST *info, const TPMT_SIGNATURE *sig)
{
    uint8_t buf[sizeof(TPMT_SIGNATURE)];
    TPMS_ATTEST att = { 0 };
    size_t off = 0, slen = 0;

    if (Tss2_MU_TPMS_ATTEST_Unmarshal(info->attestationData, info->size, &off, &att) !=
            TSS2_RC_SUCCESS || off != info->size ||
        Tss2_MU_TPMT_SIGNATURE_Marshal(sig, buf, sizeof(buf), &slen) != TSS2_RC_SUCCESS) {
        LOG_ERROR("host quote: the TPM's TPMS_ATTEST or signature does not (un)marshal");
        return -EIO;
    }
    if (!quote_matches(q, &att))
        return 0;
    q->attest = malloc(info->size);
    q->sig = malloc(slen);
    if (!q->attest || !q->sig)
        return -ENOMEM;
    memcpy(q->attest, info->attestationData, info->size);
    memcpy(q->sig, buf, slen);
    q->attest_len = info->size;
    q->sig_len = slen;
    return 1;
}

static int quote_once(struct hosttpm *h, ESYS_TR ak, const TPM2B_DATA *qd,
                      struct hosttpm_quote *q)
{
    const TPMT_SIG_SCHEME scheme = { .scheme = TPM2_ALG_NULL }; /* the AK's own scheme */
    TPML_PCR_SELECTION sel;
    TPM2B_ATTEST *info = NULL;
    TPMT_SIGNATURE *sig = NULL;
    TSS2_RC rc;
    int r = read_quote_pcrs(h, q);

    if (r < 0)
        return r;
    quote_selection(q->mask, &sel);
    rc = Esys_Quote(h->esys, ak, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, qd, &scheme, &sel,
                    &info, &sig);
    if (rc != TSS2_RC_SUCCESS)
        return hosttpm_tss_err(rc, "Esys_Quote(host AK)");
    r = keep_quote(q, info, sig);
    Esys_Free(info);
    Esys_Free(sig);
    return r;
}

int hosttpm_quote(struct hosttpm *h, const uint8_t *nonce, size_t nonce_len, uint32_t mask,
                  struct hosttpm_quote *q)
{
    TPM2B_DATA qd = { .size = (UINT16)nonce_len };
    ESYS_TR ak = ESYS_TR_NONE;
    int r = 0;

    memset(q, 0, sizeof(*q));
    if (!h || !nonce || nonce_len == 0 || nonce_len > sizeof(qd.buffer) || mask == 0 ||
        mask >> HOSTTPM_QUOTE_PCRS)
        return -EINVAL;
    memcpy(qd.buffer, nonce, nonce_len);
    q->mask = mask;
    if ((r = hostkeys_read_persistent(h, h->ak_handle, &ak, NULL)) < 0) {
        LOG_ERROR("no host AK at 0x%08x (not provisioned?)", h->ak_handle);
        return r;
    }
    for (int i = 0; i < HOSTTPM_QUOTE_RETRIES && r == 0; i++) {
        r = quote_once(h, ak, &qd, q);
        if (r == 0)
            LOG_DEBUG("host quote: a PCR changed between read and quote (try %d)", i + 1);
    }
    hostkeys_close_tr(h, &ak);
    if (r == 0)
        LOG_WARN("host quote: PCRs changed during each of %d tries", HOSTTPM_QUOTE_RETRIES);
    return r < 0 ? r : r == 1 ? 0 : -EAGAIN;
}
