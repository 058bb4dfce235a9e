/* SPDX-License-Identifier: BSD-3-Clause */
/* Rootfs manifests in the database (runtime integrity, docs/verifier.md "Manifest store"):
 * content-addressed by the hex SHA-256 of their bytes, shared by every instance on the
 * database, within a total quota; manifests not used for long are evicted to make room. */
#ifndef VERIFIER_STORE_MANIFEST_H
#define VERIFIER_STORE_MANIFEST_H

#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

struct store_manifest_quota {
    int64_t total;    /* bytes of all manifests together */
    int64_t idle_s;   /* a manifest evidence used is evictable once unused this long */
    int64_t unused_s; /* one no evidence ever used, once this old */
};

/* Stores the bytes under hex (the caller checked that they hash to it and decode). When they
 * do not fit in q->total, evictable manifests go first, least recently used first (*evicted
 * gets how many, may be NULL). 0 stored, 1 already there (nothing written), -ENOSPC over
 * the quota with nothing evictable (nothing written), -errno. */
int store_manifest_put(struct store *st, const char *hex, const uint8_t *buf, size_t len,
                       int64_t now, const struct store_manifest_quota *q, int *evicted);
/* 0 and *size when the manifest is there, -ENOENT when not, -errno. */
int store_manifest_stat(struct store *st, const char *hex, int64_t *size);
/* Its bytes (malloc'd), -ENOENT, -errno. */
int store_manifest_get(struct store *st, const char *hex, uint8_t **buf, size_t *len);
/* Evidence used it at now: marked used, its last use moved (written only when the stored one
 * is older than min_gap seconds, so that re-attestations do not write each time). */
int store_manifest_used(struct store *st, const char *hex, int64_t now, int64_t min_gap);
/* The manifests' count and bytes. */
int store_manifest_totals(struct store *st, int64_t *count, int64_t *bytes);

#endif
