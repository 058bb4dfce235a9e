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
/* launchpod.c: a Kubernetes pod container's sandbox and pod, both "" unless shown. */
#define LC_POD_ID_MAX 129
struct lc_pod {
    char sandbox[LC_POD_ID_MAX]; /* the CRI sandbox id: the container's own (a sandbox), or
                                  * the one whose namespaces it joined (a pod container) */
    char uid[LC_POD_ID_MAX];     /* the pod uid: the container's annotation, which for a pod
                                  * container its sandbox's spec carries too */
};
/* An id that is one path element ([0-9a-zA-Z_.-], at most 128, not "." or ".."). */
int lc_id_element(const char *s);
void lc_pod_identify(const json_t *config, const struct launch_env *env, struct lc_pod *p);
/* A bind of the resolved source at dest is exactly one of the sandbox's CRI files at its
 * destination, of its type (1), or not (0). */
int lc_pod_cri_file(const char *source, const char *dest, const struct lc_pod *p,
                    const struct launch_env *env);
/* The kubelet's pod file or volume a resolved source is in ("etc-hosts", "termination-log",
 * "projected", "empty-dir", "configmap", "secret", "downward-api", "other"), NULL when it is
 * not in the pod's directory. */
const char *lc_pod_volume(const char *source, const char *dest, const struct lc_pod *p,
                          const struct launch_env *env);
/* launchpids.c: the pids limit the container's process is under: the smallest pids.max of
 * its cgroup and the cgroups above it (0: none, or not readable), and the cgroup (path in
 * the hierarchy) that sets it. */
int lc_effective_pids(long long pid, uint64_t *limit, char *where, size_t wheresz);

/* launchseccomp.c: the seccomp fields of the record. */
int launchcfg_seccomp(const json_t *linux_, cbor_item_t *map);

#endif
