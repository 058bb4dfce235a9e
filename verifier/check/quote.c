/* SPDX-License-Identifier: BSD-3-Clause */
/* Checks of a TPM quote (a vTPM's or the host TPM's): AK, signature, TPMS_ATTEST fields,
 * nonce, PCR selection and digest. */
#include "check/quote.h"

#include <stdio.h>
#include <string.h>

#include "check/chaincache.h"

const uint32_t quote_required_pcrs[3] = { 8, 9, 10 };

/* Adds code under the input's prefix, so that the host quote's faults read "host-quote-...". */
static void qadd(const struct quote_input *in, struct reasons *r, const char *code,
                 const char *detail)
{
    char c[64];

    snprintf(c, sizeof(c), "%s%s", in->prefix ? in->prefix : "", code);
    if (detail)
        reasons_add(r, c, "%s", detail);
    else
        reasons_add(r, c, NULL);
}

static EVP_PKEY *ak_key(const struct quote_input *in, struct quote_info *qi, struct reasons *r)
{
    TPM2B_PUBLIC pub;
    EVP_PKEY *key;

    if (tpm_public_parse(in->ak_pub.p, in->ak_pub.len, &pub) < 0) {
        qadd(in, r, "ak-malformed", NULL);
        return NULL;
    }
    if (!tpm_public_is_ak(&pub.publicArea))
        qadd(in, r, "ak-attributes", NULL);
    if (tpm_public_name(&pub.publicArea, qi->ak_name, &qi->ak_name_len) < 0)
        qadd(in, r, "ak-malformed", "name algorithm");
    key = chaincache_pkey(in->ak_pub.p, in->ak_pub.len, &pub.publicArea);
    if (!key)
        qadd(in, r, "ak-malformed", "key");
    return key;
}

static void check_signature(const struct quote_input *in, EVP_PKEY *key, struct quote_info *qi,
                            struct reasons *r)
{
    TPMT_SIGNATURE sig;

    if (tpm_signature_parse(in->sig.p, in->sig.len, &sig) < 0) {
        qadd(in, r, "quote-malformed", "signature");
        return;
    }
    if (!key || !tpm_signature_verify(key, &sig, in->attest.p, in->attest.len)) {
        qadd(in, r, "quote-signature-invalid", NULL);
        return;
    }
    qi->signature_ok = 1;
}

/* The selection must be exactly the sha256 bank with exactly the PCRs sent. */
static int selection_matches(const struct quote_input *in, const TPML_PCR_SELECTION *sel)
{
    uint8_t want[TPM2_PCR_SELECT_MAX] = { 0 };
    const TPMS_PCR_SELECTION *s = &sel->pcrSelections[0];

    if (sel->count != 1 || s->hash != QUOTE_PCR_BANK || s->sizeofSelect < 3 ||
        s->sizeofSelect > TPM2_PCR_SELECT_MAX)
        return 0;
    for (size_t i = 0; i < in->npcrs; i++)
        want[in->pcrs[i].index / 8] |= (uint8_t)(1u << (in->pcrs[i].index % 8));
    return memcmp(want, s->pcrSelect, s->sizeofSelect) == 0;
}

/* TPM order (ascending index) equals the evidence's sorted order. */
static int digest_matches(const struct quote_input *in, const TPM2B_DIGEST *d)
{
    uint8_t all[EVIDENCE_MAX_PCRS * 32], md[32];

    if (in->npcrs > EVIDENCE_MAX_PCRS)
        return 0;
    for (size_t i = 0; i < in->npcrs; i++)
        memcpy(all + 32 * i, in->pcrs[i].value, 32);
    return tpm_sha256(all, 32 * in->npcrs, md) == 0 && d->size == 32 && memcmp(d->buffer, md, 32) == 0;
}

static void check_attest(const struct quote_input *in, struct quote_info *qi, struct reasons *r)
{
    TPMS_ATTEST a;

    if (tpm_attest_parse(in->attest.p, in->attest.len, &a) < 0) {
        qadd(in, r, "quote-malformed", "attest");
        return;
    }
    if (a.magic != TPM2_GENERATED_VALUE)
        qadd(in, r, "quote-magic", NULL);
    if (a.type != TPM2_ST_ATTEST_QUOTE) {
        qadd(in, r, "quote-type", NULL);
        return;
    }
    if (a.extraData.size != in->nonce.len || memcmp(a.extraData.buffer, in->nonce.p, in->nonce.len))
        qadd(in, r, "quote-nonce-mismatch", NULL);
    if (!selection_matches(in, &a.attested.quote.pcrSelect))
        qadd(in, r, "quote-pcr-selection", NULL);
    else if (!digest_matches(in, &a.attested.quote.pcrDigest))
        qadd(in, r, "pcr-digest-mismatch", NULL);
    qi->clock = a.clockInfo;
}

void quote_verify(const struct quote_input *in, struct quote_info *qi, struct reasons *r)
{
    EVP_PKEY *key;

    memset(qi, 0, sizeof(*qi));
    key = ak_key(in, qi, r);
    check_signature(in, key, qi, r);
    EVP_PKEY_free(key);
    check_attest(in, qi, r);
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

void quote_check(const struct evidence *ev, struct quote_info *qi, struct reasons *r)
{
    struct quote_input in = {
        .ak_pub = ev->ak_pub, .attest = ev->quote_attest, .sig = ev->quote_sig,
        .nonce = ev->nonce, .pcrs = ev->pcrs, .npcrs = ev->npcrs, .prefix = "",
    };

    quote_verify(&in, qi, r);
    check_required_pcrs(ev, r);
}
