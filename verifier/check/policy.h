/* SPDX-License-Identifier: BSD-3-Clause */
/* The verifier's policy (JSON, docs/policy.md): digest allow-lists and launch-config rules. */
#ifndef VERIFIER_POLICY_H
#define VERIFIER_POLICY_H

#include <jansson.h>
#include <stdint.h>

#include "boot/eventlog.h"
#include "check/reasons.h"

#define POLICY_VERSION 2

struct boot_policy;
struct imagesig_policy;
struct refbundle;
struct refbundle_set;

struct policy {
    json_t *root; /* validated by policy_parse */
    /* The host's boot reference values (bootpolicy.h, --boot-policy), or NULL: then the
     * host's measured boot is not judged. Owned: policy_free frees it. */
    struct boot_policy *boot;
    /* The parsed `image_signatures` section (imagesig.h), or NULL: images need no signature. */
    struct imagesig_policy *sig;
    /* The `reference_bundles` section and its loaded bundles (refbundle.h), or NULL. */
    struct refbundle_set *refs;
    /* The bundle p->boot came from (in refs), or NULL (--boot-policy, or none). */
    const struct refbundle *boot_bundle;
};

/* policy_load_flags: do not read the reference bundles (for editing the file). */
#define POLICY_LOAD_NO_BUNDLES 1u

enum policy_list { POLICY_IMAGE, POLICY_ROOTFS, POLICY_RUNTIME, POLICY_AGENT };

/* The default policy (launchpolicy.c's launch rules, empty rootfs/runtime allow-lists). */
int policy_default(struct policy *p);
/* Parses and validates JSON text; unknown keys and wrong types are errors; launch rules the
 * text leaves out take their defaults. 0 or -EINVAL. */
int policy_parse(const char *text, size_t len, struct policy *p, char *err, size_t errsz);
/* Reads the file, then every reference bundle it names (file names relative to its
 * directory), each verified at the current time: a bundle that fails makes the load fail with
 * err naming it and why. */
int policy_load(const char *path, struct policy *p, char *err, size_t errsz);
int policy_load_flags(const char *path, struct policy *p, unsigned flags, char *err,
                      size_t errsz);
/* Writes p to path atomically and durably. 0 or a negative errno. */
int policy_save(const struct policy *p, const char *path);
/* Pretty JSON text (callee-allocated, free()). */
char *policy_dump(const struct policy *p);
void policy_free(struct policy *p);
/* Loads the boot reference policy (bootpolicy.h) at path into p->boot. 0 or -EINVAL. */
int policy_load_boot(struct policy *p, const char *path, char *err, size_t errsz);

/* Adds a digest ("HEX" or "sha256:HEX") to a list, enforcing it. 0, -EINVAL bad digest. */
int policy_allow(struct policy *p, enum policy_list which, const char *digest);

/* "sha256:<64 lowercase hex>" from "HEX" or "sha256:HEX"; -EINVAL otherwise. */
int policy_normalize_digest(const char *in, char out[72]);

/* node_verdict_max_age (seconds): how old a node verdict may be for node-mode container
 * evidence (docs/policy.md); its default when the file does not set it. */
int64_t policy_node_max_age(const struct policy *p);

/* Whether digest (any form) is allowed by list which: 1 listed in the policy or in a
 * reference bundle valid at now, 0 not (with *expired_in the path of an out-of-period bundle
 * that lists it, or NULL), -1 the list is not enforced (null and no bundle has it). */
int policy_digest_allowed(const struct policy *p, enum policy_list which, const char *digest,
                          int64_t now, const char **expired_in);

/* With boot reference values from a bundle: host-boot-reference-expired when now is outside
 * the bundle's period. */
void policy_check_boot_period(const struct policy *p, int64_t now, struct reasons *r);

/* Evaluates the measurements against p, adding reasons. */
void policy_check(const struct policy *p, const struct measurements *m, struct reasons *r);

#endif
