/* SPDX-License-Identifier: BSD-3-Clause */
/* Per-workload policies (docs/verifier.md, "Per-workload policies"): the named, versioned
 * policies of the database, each with a selector (namespaces, labels, images); the most
 * specific one that matches a workload decides it, else the --policy file does. Held in
 * memory as one immutable set, re-read when the database's policies change. */
#ifndef VERIFIER_WPOLICY_H
#define VERIFIER_WPOLICY_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "check/policy.h"

#define WP_NAME_MAX 63u
#define WP_FILE_NAME "default" /* the --policy file's name in verdicts (version 0) */
#define WP_POLL_MS 1000u       /* --policy-poll-ms */

struct store;

struct wp_entry {
    char name[WP_NAME_MAX + 1];
    int64_t version;
    json_t *sel;                        /* the selector (owned) */
    const json_t *ns, *labels, *images; /* its parts, NULL when absent */
    struct policy pol;                  /* pol.root NULL: the stored body does not parse */
};

struct wp_set;

/* 1 when name may name a policy: 1 to 63 of [a-z0-9-], alphanumeric at both ends, not
 * "default" (the file's). */
int wp_name_ok(const char *name);
/* A selector: {"namespaces": [..], "labels": {"k": "v", ..}, "images": [..]}, every key
 * optional, lists non-empty, strings non-empty. 0 or -EINVAL with err. */
int wp_selector_validate(const json_t *sel, char *err, size_t errsz);

/* The set from store_policy_latest's rows (deleted ones left out); NULL on ENOMEM. */
struct wp_set *wp_set_build(const json_t *latest, int64_t stamp);
void wp_set_put(struct wp_set *s);
size_t wp_set_size(const struct wp_set *s);

/* The most specific entry matching a workload, or NULL (the file policy). ns and labels NULL:
 * a container at start, known by its image only; entries with namespaces or labels do not
 * match it. Every image must match the selector's images (ref equal to a listed prefix, or
 * continuing it with ':', '@' or '/'). Specificity: images over none, then more labels, then
 * namespaces over none; a tie goes to the name first in byte order. */
const struct wp_entry *wp_select(const struct wp_set *s, const char *ns, const json_t *labels,
                                 const char *const *images, size_t n_img);
/* The entry named name (its latest version), or NULL. */
const struct wp_entry *wp_find(const struct wp_set *s, const char *name);
/* 1 when some entry could match a container at start (no namespaces, no labels). */
int wp_any_for_containers(const struct wp_set *s);

/* The shared holder: one current set for all serving threads, re-read when the database's
 * stamp changed, checked at most every poll_ms by one thread at a time. */
struct wp_holder;
struct wp_holder *wp_holder_new(unsigned poll_ms);
void wp_holder_free(struct wp_holder *h);
/* The current set (a reference: wp_set_put), after checking the stamp on st when poll_ms
 * passed since the last check. A database error keeps the set held (logged). */
struct wp_set *wp_acquire(struct wp_holder *h, struct store *st, uint64_t now_ms);
/* The next wp_acquire checks at once (this instance just wrote a policy). */
void wp_invalidate(struct wp_holder *h);

#endif
