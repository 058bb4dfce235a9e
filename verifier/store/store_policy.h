/* SPDX-License-Identifier: BSD-3-Clause */
/* Per-workload policies in the database (docs/verifier.md, "Per-workload policies"): named,
 * every version kept (monotonic per name), a deletion a version of its own. */
#ifndef VERIFIER_STORE_POLICY_H
#define VERIFIER_STORE_POLICY_H

#include <jansson.h>
#include <stdint.h>

#include "store/store.h"

/* Writes version (latest + 1, or 1) of name with selector and body (JSON texts, validated by
 * the caller) by author at t; *version gets it. A put racing another instance's for the same
 * name is tried again (at most a few times: -EAGAIN). 0 or -errno. */
int store_policy_put(struct store *st, const char *name, const char *selector, const char *body,
                     const char *author, int64_t t, int64_t *version);
/* A deletion: a new version marked deleted. -ENOENT when name has no live latest version. */
int store_policy_delete(struct store *st, const char *name, const char *author, int64_t t,
                        int64_t *version);
/* The latest version of every name, deleted ones included, by name:
 * [{"name","version","selector","body","deleted","time","author"}] (texts as stored). */
int store_policy_latest(struct store *st, json_t **out);
/* One version (0: the latest) as one object of the form above, or -ENOENT. */
int store_policy_get(struct store *st, const char *name, int64_t version, json_t **out);
/* Every version of name, oldest first: [{"version","deleted","time","author"}]; -ENOENT none. */
int store_policy_versions(struct store *st, const char *name, json_t **out);
/* A number that changes whenever any policy is written (the highest serial): the reload
 * check's one cheap query. */
int store_policy_stamp(struct store *st, int64_t *stamp);

/* ---- Admitted pods (admission-to-runtime binding) ---- */

/* Records (or replaces) what admission let pod uid be: facts is podbind_facts' JSON text. */
int store_pod_admit(struct store *st, const char *uid, const char *ns, const char *name,
                    const char *facts, const char *policy, int64_t policy_version, int64_t t);
/* {"uid","namespace","name","facts" (text),"policy","policy_version","time"} or -ENOENT. */
int store_pod_get(struct store *st, const char *uid, json_t **out);
/* Deletes records admitted before `before`; rows deleted or -errno. */
int64_t store_pod_purge(struct store *st, int64_t before);

#endif
