/* SPDX-License-Identifier: BSD-3-Clause */
/* Checks of a vTPM quote: AK, signature, TPMS_ATTEST fields, nonce, PCR selection and digest. */
#ifndef VERIFIER_QUOTE_H
#define VERIFIER_QUOTE_H

#include <stdint.h>

#include "evidence.h"
#include "reasons.h"
#include "tpmobj.h"

#define QUOTE_PCR_BANK TPM2_ALG_SHA256

struct quote_info {
    int signature_ok;              /* the quote verified with ak_pub (ignoring the nonce) */
    uint8_t ak_name[TPM_NAME_MAX]; /* name of ak_pub, when it parsed */
    size_t ak_name_len;
    TPMS_CLOCK_INFO clock;         /* valid when signature_ok */
};

/* PCRs every container quote must cover (docs/evidence.md). */
extern const uint32_t quote_required_pcrs[3];

/* Runs every quote check, adding reasons to r and filling qi. */
void quote_check(const struct evidence *ev, struct quote_info *qi, struct reasons *r);

#endif
