/* SPDX-License-Identifier: BSD-3-Clause */
/* Checks of the host part of evidence: the host TPM's quote, its UEFI event log replayed and
 * judged against the boot reference policy, and the kmod-vtpm measurement list. */
#ifndef VERIFIER_HOSTCHECK_H
#define VERIFIER_HOSTCHECK_H

#include "boot/bootpolicy.h"
#include "check/evidence.h"
#include "check/reasons.h"

/* Host PCRs quoted when no boot policy says otherwise: 0-7 and the kmod-vtpm PCR 13. */
#define HOSTCHECK_DEFAULT_PCRS 0x20ffu
#define HOSTCHECK_DEFAULT_KMOD_PCR 13u

/*
 * Runs every host check on ev->host, adding "host-..." reasons to r. bp may be NULL: then the
 * quote, the log replays and the kmod list are still checked, but no reference values apply
 * and host evidence is optional. With a boot policy the host part is required. For container
 * evidence (ev->ek_cert set) the boot policy may require the vTPM's EK in the kmod list.
 */
void host_check(const struct evidence *ev, const struct boot_policy *bp, struct reasons *r);

/* SHA-256 of the TPMT_PUBLIC of a TCG default-template EK whose key the DER certificate
 * holds (what kmod-vtpm lists as ek=sha256:...). 0 or -EINVAL. */
int host_ek_public_digest(const uint8_t *der, size_t len, uint8_t out[32]);

#endif
