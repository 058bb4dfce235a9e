/* SPDX-License-Identifier: BSD-3-Clause */
/* OCI runtime state (hook stdin) and bundle config.json parsing (jansson). */
#ifndef AGENT_OCISPEC_H
#define AGENT_OCISPEC_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "digest.h"

#define OCI_STATE_MAX   (1u << 20)
#define OCI_CONFIG_MAX  (4u << 20)

/* The state a runtime passes to a hook on stdin. Strings point into root. */
struct oci_state {
    json_t *root;
    const char *id;
    const char *bundle;
    long long pid;            /* 0 when absent */
    json_t *annotations;      /* borrowed from root; object (possibly empty) */
};

struct oci_bundle {
    json_t *config;           /* owned */
    uint8_t config_digest[DIGEST_LEN]; /* SHA-256 of the config.json bytes */
    char *dir;                /* owned: the bundle directory (relative bind sources start here) */
    char *rootfs;             /* owned: absolute or bundle-relative root.path resolved */
    json_t *annotations;      /* borrowed from config; object (possibly empty) */
};

/* Parses and validates buf (id and bundle non-empty text, pid a non-negative integer,
 * annotations an object of texts). Returns 0 or -EINVAL. Free with oci_state_free(). */
int oci_state_parse(const char *buf, size_t len, struct oci_state *st);
void oci_state_free(struct oci_state *st);

/* Loads DIR/config.json, digests it, resolves root.path against DIR. Returns 0 or -errno. */
int oci_bundle_load(const char *dir, struct oci_bundle *b);
/* The same from config bytes already read (used by tests); dir resolves root.path. */
int oci_bundle_parse(const char *dir, const uint8_t *buf, size_t len, struct oci_bundle *b);
void oci_bundle_free(struct oci_bundle *b);

/* Text value of an annotation, NULL when absent or not text. */
const char *oci_annotation(const json_t *annotations, const char *key);

#endif
