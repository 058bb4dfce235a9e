/* SPDX-License-Identifier: BSD-3-Clause */
/* Admission-to-runtime binding (docs/verifier.md): a Kubernetes container's measured launch
 * configuration and image must be what admission let its pod be (podspec_facts, recorded
 * by pod uid at admission). */
#ifndef VERIFIER_PODBIND_H
#define VERIFIER_PODBIND_H

#include <cbor.h>
#include <jansson.h>

#include "boot/eventlog.h"
#include "check/reasons.h"

#define PODBIND_TEXT_MAX 254u

struct podbind_id {
    char uid[PODBIND_TEXT_MAX + 1], ns[PODBIND_TEXT_MAX + 1], name[PODBIND_TEXT_MAX + 1];
    char container[PODBIND_TEXT_MAX + 1]; /* "" for the pod's sandbox */
};

/* The launch config's "pod" map: 1 and id, 0 when there is none (not a Kubernetes
 * container), -1 when it is malformed (reason launch-config-malformed:pod added). */
int podbind_pod(const cbor_item_t *cfg, struct podbind_id *id, struct reasons *r);
/* Compares the container's measured launch config (cfg, the record's map) and image (m)
 * with facts (podspec_facts' JSON); each difference adds
 * launch-config-not-admitted:<container>: <what>. facts NULL: the pod uid was never
 * admitted (launch-config-not-admitted:unknown pod <uid>). */
void podbind_check(const json_t *facts, const struct podbind_id *id, const cbor_item_t *cfg,
                   const struct measurements *m, struct reasons *r);

#endif
