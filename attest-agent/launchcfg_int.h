/* SPDX-License-Identifier: BSD-3-Clause */
/* Helpers shared by the parts of the launch-config extraction (launchcfg*.c); not an API. */
#ifndef AGENT_LAUNCHCFG_INT_H
#define AGENT_LAUNCHCFG_INT_H

#include <cbor.h>
#include <jansson.h>
#include <stdint.h>

#include "launchcfg.h"

/* Logs "config.json: what" and returns -EINVAL. */
int lc_bad(const char *what);
/* o[key] when absent (NULL, 0) or of the wanted JSON type (JSON_TRUE: any boolean). */
int lc_get_opt(const json_t *o, const char *key, json_type type, json_t **out);
/* A boolean; absent gives 0. */
int lc_get_bool(const json_t *o, const char *key, int *out);
/* A non-negative integer up to limit; absent gives 0. */
int lc_get_uint(const json_t *o, const char *key, json_int_t limit, uint64_t *out);
/* An array of texts (absent: an empty array) as a CBOR array, in order. */
int lc_text_list(const json_t *o, const char *key, cbor_item_t **out);
/* A CBOR text, or NULL on ENOMEM. */
cbor_item_t *lc_text(const char *s);
/* Pushes v onto a CBOR array and drops the caller's reference. 0 or -ENOMEM. */
int lc_push(cbor_item_t *arr, cbor_item_t *v);
/* A signed integer in the shortest encoding. */
cbor_item_t *lc_int(int64_t v);
/* "/a//b/./c/" -> "/a/b/c"; ".." removes a component. Writes at most outsz bytes. */
int lc_normalize(const char *path, char *out, size_t outsz);

/* launchmount.c: `host_mounts` and `mounts` of the record, mount points into lc. */
int launchcfg_mounts(const json_t *config, const struct launch_env *env,
                     struct launch_config *lc);
/* launchseccomp.c: the seccomp fields of the record. */
int launchcfg_seccomp(const json_t *linux_, cbor_item_t *map);

#endif
