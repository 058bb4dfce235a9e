/* SPDX-License-Identifier: BSD-3-Clause */
/* Checks of a vTPM quote: AK, signature, TPMS_ATTEST fields, nonce, PCR selection and digest. */
#include "quote.h"

#include <string.h>

#include <openssl/sha.h>

#include "chaincache.h"

const uint32_t quote_required_pcrs[3] = { 8, 9, 10 };

static EVP_PKEY *ak_key(const struct evidence *ev, struct quote_info *qi, struct reasons *r)
{
    TPM2B_PUBLIC pub;
    EVP_PKEY *key;

    if (tpm_public_parse(ev->ak_pub.p, ev->ak_pub.len, &pub) < 0) {
        reasons_add(r, "ak-malformed", NULL);
        return NULL;
    }
    if (!tpm_public_is_ak(&pub.publicArea))
        reasons_add(r, "ak-attributes", NULL);
    if (tpm_public_name(&pub.publicArea, qi->ak_name, &qi->ak_name_len) < 0)
        reasons_add(r, "ak-malformed", "name algorithm");
    key = chaincache_pkey(ev->ak_pub.p, ev->ak_pub.len, &pub.publicArea);
    if (!key)
        reasons_add(r, "ak-malformed", "key");
    return key;
}

static void check_signature(const struct evidence *ev, EVP_PKEY *key, struct quote_info *qi,
                            struct reasons *r)
{
    TPMT_SIGNATURE sig;

    if (tpm_signature_parse(ev->quote_sig.p, ev->quote_sig.len, &sig) < 0) {
        reasons_add(r, "quote-malformed", "signature");
        return;
    }
    if (!key || !tpm_signature_verify(key, &sig, ev->quote_attest.p, ev->quote_attest.len)) {
        reasons_add(r, "quote-signature-invalid", NULL);
        return;
    }
    qi->signature_ok = 1;
}

/* The selection must be exactly the sha256 bank with exactly the PCRs sent. */
static int selection_matches(const struct evidence *ev, const TPML_PCR_SELECTION *sel)
{
    uint8_t want[TPM2_PCR_SELECT_MAX] = { 0 };
    const TPMS_PCR_SELECTION *s = &sel->pcrSelections[0];

    if (sel->count != 1 || s->hash != QUOTE_PCR_BANK || s->sizeofSelect < 3 ||
        s->sizeofSelect > TPM2_PCR_SELECT_MAX)
        return 0;
    for (size_t i = 0; i < ev->npcrs; i++)
        want[ev->pcrs[i].index / 8] |= (uint8_t)(1u << (ev->pcrs[i].index % 8));
    return memcmp(want, s->pcrSelect, s->sizeofSelect) == 0;
}

/* TPM order (ascending index) equals the evidence's sorted order. */
static int digest_matches(const struct evidence *ev, const TPM2B_DIGEST *d)
{
    uint8_t all[EVIDENCE_MAX_PCRS * 32], md[32];

    for (size_t i = 0; i < ev->npcrs; i++)
        memcpy(all + 32 * i, ev->pcrs[i].value, 32);
    SHA256(all, 32 * ev->npcrs, md);
    return d->size == 32 && memcmp(d->buffer, md, 32) == 0;
}

static void check_required_pcrs(const struct evidence *ev, struct reasons *r)
{
    for (size_t j = 0; j < sizeof(quote_required_pcrs) / sizeof(quote_required_pcrs[0]); j++) {
        int found = 0;
        for (size_t i = 0; i < ev->npcrs; i++)
            found |= ev->pcrs[i].index == quote_required_pcrs[j];
        if (!found)
            reasons_add(r, "quote-pcr-missing", "pcr %u", quote_required_pcrs[j]);
    }
}

static void check_attest(const struct evidence *ev, struct quote_info *qi, struct reasons *r)
{
    TPMS_ATTEST a;

    if (tpm_attest_parse(ev->quote_attest.p, ev->quote_attest.len, &a) < 0) {
        reasons_add(r, "quote-malformed", "attest");
        return;
    }
    if (a.magic != TPM2_GENERATED_VALUE)
        reasons_add(r, "quote-magic", NULL);
    if (a.type != TPM2_ST_ATTEST_QUOTE) {
        reasons_add(r, "quote-type", NULL);
        return;
    }
    if (a.extraData.size != ev->nonce.len || memcmp(a.extraData.buffer, ev->nonce.p, ev->nonce.len))
        reasons_add(r, "quote-nonce-mismatch", NULL);
    if (!selection_matches(ev, &a.attested.quote.pcrSelect))
        reasons_add(r, "quote-pcr-selection", NULL);
    else if (!digest_matches(ev, &a.attested.quote.pcrDigest))
        reasons_add(r, "pcr-digest-mismatch", NULL);
    qi->clock = a.clockInfo;
}

void quote_check(const struct evidence *ev, struct quote_info *qi, struct reasons *r)
{
    EVP_PKEY *key;

    memset(qi, 0, sizeof(*qi));
    key = ak_key(ev, qi, r);
    check_signature(ev, key, qi, r);
    EVP_PKEY_free(key);
    check_attest(ev, qi, r);
    check_required_pcrs(ev, r);
}
