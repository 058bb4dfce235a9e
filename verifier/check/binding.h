/* SPDX-License-Identifier: BSD-3-Clause */
/* Which container evidence may write a container's verdict: evidence that proves its vTPM, from
 * the vTPM the container id is bound to (docs/verifier.md, "Container verdicts"). Pure logic. */
#ifndef VERIFIER_BINDING_H
#define VERIFIER_BINDING_H

#include <stddef.h>
#include <stdint.h>

#include "check/reasons.h"
#include "store/store.h"

/* 1 when none of the reasons leaves open which vTPM sent the evidence (a nonce fault, an AK
 * that is not the vTPM's activated one, a quote that is not the AK's, a broken EK or host
 * chain, a node bound elsewhere, a database fault). Callers also need the quote's signature to
 * have verified and the registration to have matched. */
int binding_vtpm_proven(const struct reasons *r);

/* The vTPM identity a container id is bound to: hex SHA-256 of its EK certificate (DER). */
void binding_vtpm_id(const uint8_t *ek_cert, size_t len, char out[STORE_EK_ID_LEN + 1]);

/* 1 when old binds its container id at now: a vTPM is named and the binding has not lapsed. */
int binding_live(const struct verdict_binding *old, int64_t now);

enum binding_outcome {
    BINDING_NEW,   /* no live binding: this evidence binds the id */
    BINDING_SAME,  /* the id's vTPM: its verdict may be written */
    BINDING_OTHER, /* another vTPM holds the id: refused, row untouched */
};

/* Judges proven evidence of vTPM mine->vtpm_ek with resetCount mine->reset_count against the
 * id's stored binding (old NULL: no row). Adds container-vtpm-mismatch for BINDING_OTHER, and
 * vtpm-reset-since-start when the bound vTPM was reset since the binding's first evidence. */
enum binding_outcome binding_judge(const struct verdict_binding *old,
                                   const struct verdict_binding *mine, int64_t now,
                                   struct reasons *r);

#endif
