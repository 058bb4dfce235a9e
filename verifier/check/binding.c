/* SPDX-License-Identifier: BSD-3-Clause */
/* Which container evidence may write a container's verdict: evidence that proves its vTPM, from
 * the vTPM the container id is bound to. Pure logic (the store applies it atomically). */
#include "check/binding.h"

#include <string.h>

#include <openssl/sha.h>

#include "hexutil.h"

/* Reasons that leave open who sent the evidence: writing a verdict on them would let any API
 * client overwrite any container's row (with a replay, an unissued nonce, an AK of its own, a
 * forged chain). Everything else is a fault of a quote that the id's own vTPM signed. */
static const char *const unproven[] = {
    "nonce-unknown", "nonce-expired", "nonce-reused", "internal-error",
    "ak-not-registered", "registration-mismatch", "ak-malformed", "ak-attributes",
    "quote-malformed", "quote-signature-invalid", "quote-magic", "quote-type",
    "quote-nonce-mismatch", "ek-cert-malformed", "ek-cert-not-from-vtpm-ca",
    "ek-cert-uuid-mismatch", "host-chain-malformed", "vtpm-ca-key-mismatch",
    "vtpm-ca-certify-invalid", "vtpm-ca-certify-name", "vtpm-ca-certify-extradata",
    "vtpm-ca-certify-signature", "host-ak-invalid", "host-ak-not-registered",
    "host-ek-untrusted", "host-ek-key-mismatch", "host-node-mismatch",
};

int binding_vtpm_proven(const struct reasons *r)
{
    if (r->oom)
        return 0;
    for (size_t i = 0; i < sizeof(unproven) / sizeof(unproven[0]); i++)
        if (reasons_has(r, unproven[i]))
            return 0;
    return 1;
}

void binding_vtpm_id(const uint8_t *ek_cert, size_t len, char out[STORE_EK_ID_LEN + 1])
{
    uint8_t md[SHA256_DIGEST_LENGTH];

    SHA256(ek_cert, len, md);
    hex_encode(md, sizeof(md), out);
}

int binding_live(const struct verdict_binding *old, int64_t now)
{
    return old && old->vtpm_ek[0] && (old->bound_until == 0 || old->bound_until > now);
}

enum binding_outcome binding_judge(const struct verdict_binding *old,
                                   const struct verdict_binding *mine, int64_t now,
                                   struct reasons *r)
{
    int same = old && !strcmp(old->vtpm_ek, mine->vtpm_ek);

    if (binding_live(old, now) && !same) {
        reasons_add(r, "container-vtpm-mismatch", "the id is bound to another vTPM");
        return BINDING_OTHER;
    }
    /* The same vTPM keeps its first resetCount even after a lapse: its PCRs are still gone. A
     * lower one is clock-rollback's (the per-vTPM clock check). */
    if (same && mine->reset_count > old->reset_count)
        reasons_add(r, "vtpm-reset-since-start", "resetCount %lld at the first attestation, %lld now",
                    (long long)old->reset_count, (long long)mine->reset_count);
    return same && binding_live(old, now) ? BINDING_SAME : BINDING_NEW;
}
