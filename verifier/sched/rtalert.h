/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Runtime alerts (docs/runtime-integrity.md, docs/verifier.md "Continuous attestation"): what
 * the policy's alert modes (runtime.drift / runtime.gap "alert") only log becomes a
 * notification of event type "runtime-drift-alert" for the webhook, once per container, vTPM
 * and finding in this verifier process (the monitor re-sends its whole log every
 * re-attestation), with no revocation.
 */
#ifndef VERIFIER_RTALERT_H
#define VERIFIER_RTALERT_H

#include <stdint.h>

#include "check/evidence.h"
#include "check/reasons.h"
#include "store/store.h"

/* The body of an alert notification (malloc'd JSON text) for the alerts of ev, or NULL. */
char *rtalert_body(const struct evidence *ev, const char *verdict, const struct reasons *alerts,
                   int64_t t);

/* Queues one notification with the alerts of ev not notified before (none: nothing queued).
 * 1 queued, 0 nothing new, a negative errno. Thread-safe. */
int rtalert_queue(struct store *st, const struct evidence *ev, const char *verdict,
                  const struct reasons *alerts, int64_t t);

#endif
