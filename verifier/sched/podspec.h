/* SPDX-License-Identifier: BSD-3-Clause */
/* The launch rules (check/launchpolicy.c) applied to a Kubernetes Pod's spec at admission:
 * what each container would be started with, as far as the spec decides it. */
#ifndef VERIFIER_PODSPEC_H
#define VERIFIER_PODSPEC_H

#include <jansson.h>

#include "check/reasons.h"

/* Judges spec (a Pod object's "spec") against launch (a policy's `launch` object), adding
 * the start-time check's reasons (docs/policy.md, "Admission: the pod spec"). */
void podspec_check(const json_t *launch, const json_t *spec, struct reasons *r);

/* What a pod spec lets its containers be at start, for the admission-to-runtime binding
 * (podbind.c), as JSON: {"host_ns": [..], "containers": {NAME: {"image", "caps" (base names,
 * upper case; ["ALL"] when privileged), "uid" (or null), "nonroot", "userns", "nnp",
 * "ro_rootfs", "seccomp"}}}. NULL on ENOMEM. */
json_t *podspec_facts(const json_t *spec);

#endif
