/* SPDX-License-Identifier: BSD-3-Clause */
/* Signed reference-value bundles (docs/policy.md "reference_bundles"): JSON documents of
 * rootfs/runtime/agent/image digests and boot reference values from a named publisher, valid
 * from not_before to not_after, with a detached signature (FILE.sig, base64) by the
 * publisher's key; loaded and verified with the policy, merged into its allow-lists. */
#ifndef VERIFIER_REFBUNDLE_H
#define VERIFIER_REFBUNDLE_H

#include <jansson.h>
#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#include "check/sigkeys.h"

#define REFBUNDLE_TYPE "vtpm-attest reference values"
#define REFBUNDLE_VERSION 1
#define REFBUNDLE_MAX_SIZE (4u * 1024u * 1024u)
#define REFBUNDLE_FILES_MAX 64

struct refbundle {
    char path[PATH_MAX];
    char publisher[SIGKEY_NAME_MAX];
    int64_t not_before, not_after; /* the bundle's period within its key's */
    int is_signed;
    json_t *digests; /* {"rootfs": ["sha256:..."], ...}, lists normalised */
    json_t *boot;    /* a boot reference policy object, or NULL */
};

struct refbundle_set {
    struct sigkeys publishers;
    int require_signed;
    char files[REFBUNDLE_FILES_MAX][PATH_MAX];
    size_t nfiles;
    struct refbundle *v; /* loaded bundles (refbundle_set_load) */
    size_t n;
};

/* The policy's `reference_bundles` section, file names resolved against base_dir (the
 * policy file's directory; NULL: they must be absolute). 0 or -EINVAL with err. */
int refbundle_section_parse(const json_t *sec, const char *base_dir, struct refbundle_set **out,
                            char *err, size_t errsz);
void refbundle_set_free(struct refbundle_set *s);

/* Loads and verifies every file of the section at time now. 0, or -EINVAL with err naming
 * the file and the reason (unsigned, signature invalid, publisher unknown/expired/revoked,
 * bundle expired or not yet valid, malformed). */
int refbundle_set_load(struct refbundle_set *s, int64_t now, char *err, size_t errsz);

/* One bundle file verified against the section (publishers, require_signed) at now. */
int refbundle_load(const struct refbundle_set *s, const char *path, int64_t now,
                   struct refbundle *out, char *err, size_t errsz);
void refbundle_free(struct refbundle *b);

/* The bundle document (untrusted until verified): strict JSON, fills out (path not set).
 * 0 or -EINVAL with err. */
int refbundle_parse(const uint8_t *buf, size_t len, struct refbundle *out, char *err,
                    size_t errsz);

/* Whether a loaded bundle lists digest (normalised) in list `which` ("rootfs", ...): 1 and
 * *expired_in NULL when a bundle valid at now lists it; 0 and *expired_in set to a bundle
 * path when only bundles outside their period do; 0 and NULL when none does. */
int refbundle_lists(const struct refbundle_set *s, const char *which, const char *digest,
                    int64_t now, const char **expired_in);
/* 1 when some loaded bundle has a list `which`. */
int refbundle_has_list(const struct refbundle_set *s, const char *which);

#endif
