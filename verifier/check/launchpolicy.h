/* SPDX-License-Identifier: BSD-3-Clause */
/* The `launch` part of the verifier's policy: its schema, defaults and rules (docs/policy.md). */
#ifndef VERIFIER_LAUNCHPOLICY_H
#define VERIFIER_LAUNCHPOLICY_H

#include <cbor.h>
#include <jansson.h>
#include <stddef.h>

#include "check/reasons.h"

/* 1 when a is a JSON array of strings only (policy files' lists), else 0. */
int policy_json_texts(const json_t *a);
/* The default `launch` object (callee-allocated, json_decref). NULL on ENOMEM. */
json_t *launch_policy_defaults(void);
/* Checks l (a `launch` object) key by key: unknown keys and wrong types are errors. */
int launch_policy_validate(const json_t *l, char *err, size_t errsz);
/* Evaluates cfg (a launch-config record's `config` map) against launch, adding reasons. */
void launch_policy_check(const json_t *launch, const cbor_item_t *cfg, struct reasons *r);

#endif
