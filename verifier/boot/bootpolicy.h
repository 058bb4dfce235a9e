/* SPDX-License-Identifier: BSD-3-Clause */
/* The boot reference policy (JSON, docs/policy.md "Boot reference policy"): which host PCRs
 * the quote covers and which UEFI events with which digests the host may have booted. */
#ifndef VERIFIER_BOOTPOLICY_H
#define VERIFIER_BOOTPOLICY_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "check/reasons.h"
#include "boot/uefilog.h"

#define BOOTPOLICY_VERSION 2
#define BOOTPOLICY_MAX_SIZE (4u * 1024u * 1024u)
/* bootpolicy_check reports at most this many host-boot-digest-not-allowed reasons one by
 * one, then one summary reason: a hostile log must not make the reason list quadratic. */
#define BOOTPOLICY_MAX_DIGEST_REASONS 32u
/* The largest "max" an events entry may state. */
#define BOOTPOLICY_MAX_COUNT 100000u

struct boot_policy; /* opaque */

/* JSON file (jansson, strict: unknown keys / wrong types / duplicate keys are errors, like
 * verifier/policy.c; version 1 files are refused with a message saying how to convert). 0 or -EINVAL with err (-ENOMEM, or a negative errno when the file cannot
 * be read). *out is callee-allocated, bootpolicy_free. */
int bootpolicy_load(const char *path, struct boot_policy **out, char *err, size_t errsz);
int bootpolicy_parse(const char *json_text, size_t len, struct boot_policy **out, char *err,
                     size_t errsz);
void bootpolicy_free(struct boot_policy *p);

/* The PCRs the host quote must cover (bit mask, default 0-7 and 13). */
uint32_t bootpolicy_pcrs(const struct boot_policy *p);
/* 1 when the container's vTPM EK must appear in the host's kmod-vtpm measurement list. */
int bootpolicy_require_kmod(const struct boot_policy *p);
uint32_t bootpolicy_kmod_pcr(const struct boot_policy *p); /* default 13 */

/* Checks the parsed log (already replayed and compared against the quote by the caller)
 * against the reference values, adding reasons (verifier/reasons.h) with stable codes:
 *   host-boot-digest-not-allowed:pcr N EV_TYPE record R  (a checked event's digest not listed)
 *   host-boot-event-missing:pcr N EV_TYPE (a required event type absent, e.g. no separator)
 *   host-boot-event-unexpected:pcr N EV_TYPE record R  (in a closed PCR, a type the policy
 *                                 does not list; or an event beyond the type's max)
 *   host-boot-secureboot:<expected>/<got> (if the policy states secure_boot; got is true,
 *                                          false, missing or invalid)
 *   host-boot-no-sha256   (the log has no sha256 bank)
 * Every check runs; none stops the others. */
void bootpolicy_check(const struct boot_policy *p, const struct uefi_log *log, struct reasons *r);

/* A closed reference policy derived from a known-good log (callee-allocated JSON,
 * json_decref): for each PCR in pcr_mask, every event type seen except EV_NO_ACTION, with the
 * set of digests seen and max = the number of events seen (PCRs of the mask without events
 * but the kmod PCR get an empty, closed entry); secure_boot from the log's SecureBoot variable (null when absent or unreadable);
 * require_vtpm_in_kmod_list true when pcr_mask has PCR 13. NULL when the log has no sha256
 * bank, pcr_mask has no PCR below 24, or memory runs out. */
json_t *bootpolicy_derive(const struct uefi_log *log, uint32_t pcr_mask);

/* A digest as the policy writes it: "HEX" or "sha256:HEX", 64 hex digits in any case.
 * 0 or -EINVAL. */
int bootpolicy_digest_parse(const char *s, uint8_t out[32]);

#endif
