/* SPDX-License-Identifier: BSD-3-Clause */
/* Kubernetes admission (AdmissionReview v1) for pods and pod bindings: parsing, the decision on
 * the node's host verdict and the image allow-list, the response, and a cache of node lookups. */
#ifndef VERIFIER_ADMISSION_H
#define VERIFIER_ADMISSION_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "check/policy.h"

#define ADMISSION_API_VERSION "admission.k8s.io/v1"
#define ADMISSION_UID_MAX     128u
#define ADMISSION_NODE_MAX    253u /* DNS-1123 subdomain */
#define ADMISSION_IMAGES_MAX  256u
#define ADMISSION_MSG_MAX     1024u
#define ADMISSION_WARN_MAX    200u
#define ADMISSION_CACHE_ENTRIES 4096u
#define ADMISSION_REASONS_MAX 32u /* launch-rule reasons carried in a deny's causes */

enum admission_target {
    ADMISSION_OTHER = 0, /* not checked: allowed with a warning */
    ADMISSION_DELETE,    /* always allowed */
    ADMISSION_POD,       /* images, and the node when the pod names one */
    ADMISSION_BINDING,   /* the node the scheduler places the pod on */
};

struct admission_image {
    const char *container, *image; /* owned by admission_req.root */
};

struct admission_req {
    json_t *root; /* owns every string below */
    const char *uid, *operation, *kind, *subresource;
    const char *ns, *name; /* for logs; "" when absent */
    enum admission_target target;
    const char *node; /* NULL when the object names none */
    const json_t *spec; /* a Pod's spec (ADMISSION_POD), else NULL */
    const json_t *labels; /* a Pod's metadata.labels, or NULL */
    const char *pod_uid;  /* a Pod's metadata.uid, or NULL */
    int dry_run;          /* request.dryRun: nothing is recorded */
    struct admission_image img[ADMISSION_IMAGES_MAX];
    size_t n_img;
    /* The envelope parsed but the object did not: the decision is deny with this. */
    char problem[160];
};

/* A node's latest host verdict: 0 and *out (callee-allocated, store_node_get's object),
 * -ENOENT when the node is unknown, another negative errno when the database failed. */
typedef int (*admission_lookup_fn)(void *arg, const char *node, json_t **out);

struct admission_cfg {
    const struct policy *pol;
    admission_lookup_fn lookup;
    void *arg;
    int64_t max_age; /* seconds a node verdict stays usable; 0 = until it is due */
    /* The policy pol is, for the answer (per-workload policies: name and version; the file:
     * "default", 0). NULL name: not named. unreadable: that policy's stored text does not
     * parse, every pod it selects is denied (pol is then not read). */
    const char *policy_name;
    int64_t policy_version;
    int unreadable;
};

struct admission_result {
    int allowed;
    char msg[ADMISSION_MSG_MAX];      /* why not, for a cluster operator */
    char warning[ADMISSION_WARN_MAX]; /* "" or what was not checked */
    /* The launch rules' reasons against the pod spec (podspec.c), as the start-time check
     * names them; the response lists them in status.details.causes. */
    char reason[ADMISSION_REASONS_MAX][REASON_MAX + 64];
    size_t n_reason;
    char policy[80];        /* the deciding policy's name, "" when not named */
    int64_t policy_version; /* its version (0: the --policy file) */
};

/* 1 when s is a DNS-1123 subdomain (what Kubernetes accepts as a node name). */
int admission_node_name_ok(const char *s);

/* Parses an AdmissionReview. -EINVAL (answer HTTP 400 with err) when the envelope is not a
 * v1 AdmissionReview with a request uid; a malformed object inside a valid envelope sets
 * rq->problem instead, so that the answer is an in-band deny whatever the failurePolicy.
 * Free with admission_req_free in every case. */
int admission_parse(const uint8_t *body, size_t len, struct admission_req *rq, char *err,
                    size_t errsz);
void admission_req_free(struct admission_req *rq);

void admission_decide(const struct admission_cfg *cfg, const struct admission_req *rq,
                      int64_t now, struct admission_result *res);

/* The AdmissionReview response echoing rq's uid (callee-allocated, json_decref). */
json_t *admission_response(const struct admission_req *rq, const struct admission_result *res);

/* Node lookups cached for ttl_ms (nodes.c), bounded to about max_entries, including unknown
 * nodes and database errors (both deny), so a burst of reviews costs one query per node per
 * TTL. Shared by the serving threads: a lock guards the table, never held across fn (the
 * store query runs unlocked, on the calling thread's store). */
struct admission_cache;
struct admission_cache *admission_cache_new(size_t max_entries, unsigned ttl_ms);
void admission_cache_free(struct admission_cache *c);
/* As admission_lookup_fn (a new reference in *out); *hit says whether fn was spared. */
int admission_cache_lookup(struct admission_cache *c, int64_t now_ms, const char *node,
                           admission_lookup_fn fn, void *arg, json_t **out, int *hit);
/* Drops node's entry: this instance just stored a new verdict for it (a deny must not be
 * answered from the cache as the old allow). A lookup of that node whose query ran across
 * the forget does not enter its (possibly older) row. Other instances and the sweeper's
 * revocations are seen within the TTL. */
void admission_cache_forget(struct admission_cache *c, const char *node);
/* Entries currently held (expired ones included until they are evicted). */
size_t admission_cache_size(const struct admission_cache *c);

#endif
