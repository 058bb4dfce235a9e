/* SPDX-License-Identifier: BSD-3-Clause */
/* Checks of a TPM quote (a vTPM's or the host TPM's): AK, signature, TPMS_ATTEST fields,
 * nonce, PCR selection and digest. */
#ifndef VERIFIER_QUOTE_H
#define VERIFIER_QUOTE_H

#include <tss2/tss2_tpm2_types.h>

#include "check/evidence.h"
#include "check/reasons.h"
#include "check/tpmobj.h"

#define QUOTE_PCR_BANK TPM2_ALG_SHA256

struct quote_info {
    int signature_ok;              /* the quote verified with ak_pub (ignoring the nonce) */
    uint8_t ak_name[TPM_NAME_MAX]; /* name of ak_pub, when it parsed */
    size_t ak_name_len;
    TPMS_CLOCK_INFO clock;         /* valid when signature_ok */
};

/* One quote and what it claims: every view is borrowed. */
struct quote_input {
    struct bytes ak_pub, attest, sig, nonce;
    const struct evidence_pcr *pcrs; /* sorted by index, as sent */
    size_t npcrs;
    const char *prefix;              /* "" (container vTPM) or "host-": prepended to codes */
};

/* PCRs every container quote must cover (docs/evidence.md). */
extern const uint32_t quote_required_pcrs[3];

/* Runs every check of one quote, adding reasons to r and filling qi. Required PCRs are not
 * checked here: the caller knows which ones it needs. */
void quote_verify(const struct quote_input *in, struct quote_info *qi, struct reasons *r);

/* The container quote: quote_verify on the evidence's vTPM quote plus PCRs 8, 9 and 10. */
void quote_check(const struct evidence *ev, struct quote_info *qi, struct reasons *r);

#endif
