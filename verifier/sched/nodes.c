/* SPDX-License-Identifier: BSD-3-Clause */
/* Node verdict lookups for schedulers: a bounded TTL cache in front of the store, the admission
 * webhook's HTTP operation, GET /v1/nodes/{id}, and their metrics. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sched/admission.h"
#include "http/api.h"
#include "log.h"
#include "check/nodeverdict.h"
#include "sched/podspec.h"
#include "sched/wpolicy.h"
#include "store/store_policy.h"

#define CACHE_WAYS 8u /* entries per set: a set is scanned, never the table */

struct cache_entry {
    char node[ADMISSION_NODE_MAX + 1];
    /* The cache's own copy, NULL for unknown nodes and errors: touched under the lock only
     * (lookups hand out copies), so no jansson object is shared between threads (sharing one
     * by its reference count races: json_decref reads the count plainly before its atomic
     * decrement, which ThreadSanitizer reports in test_cache_threads). */
    json_t *row;
    int rc;
    int used;
    int64_t at_ms;
};

struct admission_cache {
    pthread_mutex_t lock; /* guards what follows but ttl_ms */
    struct cache_entry *e;
    size_t sets, cursor, count;
    uint64_t forgets; /* admission_cache_forget calls: a lookup spanning one does not enter */
    unsigned ttl_ms;
};

struct admission_cache *admission_cache_new(size_t max_entries, unsigned ttl_ms)
{
    struct admission_cache *c = calloc(1, sizeof(*c));

    if (!c)
        return NULL;
    c->sets = max_entries / CACHE_WAYS ? max_entries / CACHE_WAYS : 1;
    c->ttl_ms = ttl_ms;
    if (!(c->e = calloc(c->sets * CACHE_WAYS, sizeof(*c->e)))) {
        free(c);
        return NULL;
    }
    pthread_mutex_init(&c->lock, NULL);
    return c;
}

static void evict(struct admission_cache *c, struct cache_entry *e)
{
    if (!e->used)
        return;
    json_decref(e->row);
    memset(e, 0, sizeof(*e));
    c->count--;
}

void admission_cache_free(struct admission_cache *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->sets * CACHE_WAYS; i++)
        evict(c, &c->e[i]);
    pthread_mutex_destroy(&c->lock);
    free(c->e);
    free(c);
}

size_t admission_cache_size(const struct admission_cache *c)
{
    struct admission_cache *mc = (struct admission_cache *)c; /* the lock only */
    size_t n;

    if (!c)
        return 0;
    pthread_mutex_lock(&mc->lock);
    n = c->count;
    pthread_mutex_unlock(&mc->lock);
    return n;
}

static int expired(const struct admission_cache *c, const struct cache_entry *e, int64_t now_ms)
{
    /* a clock that went backwards expires too: never trust an entry from "the future" */
    return now_ms < e->at_ms || now_ms - e->at_ms >= (int64_t)c->ttl_ms;
}

/* One set per call, round robin: entries of nodes nobody asks about any more go too. */
static void expire_next_set(struct admission_cache *c, int64_t now_ms)
{
    struct cache_entry *set = c->e + c->cursor * CACHE_WAYS;

    for (size_t i = 0; i < CACHE_WAYS; i++)
        if (set[i].used && expired(c, &set[i], now_ms))
            evict(c, &set[i]);
    c->cursor = (c->cursor + 1) % c->sets;
}

static struct cache_entry *set_of(const struct admission_cache *c, const char *node)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */

    for (const unsigned char *p = (const unsigned char *)node; *p; p++)
        h = (h ^ *p) * 1099511628211ull;
    return c->e + (h % c->sets) * CACHE_WAYS;
}

static struct cache_entry *find(struct admission_cache *c, struct cache_entry *set,
                                const char *node, int64_t now_ms)
{
    for (size_t i = 0; i < CACHE_WAYS; i++) {
        if (!set[i].used || strcmp(set[i].node, node))
            continue;
        if (!expired(c, &set[i], now_ms))
            return &set[i];
        evict(c, &set[i]);
    }
    return NULL;
}

/* A free way of the set, else the oldest one, evicted. */
static struct cache_entry *victim(struct admission_cache *c, struct cache_entry *set)
{
    struct cache_entry *old = &set[0];

    for (size_t i = 0; i < CACHE_WAYS; i++) {
        if (!set[i].used)
            return &set[i];
        if (set[i].at_ms < old->at_ms)
            old = &set[i];
    }
    evict(c, old);
    return old;
}

int admission_cache_lookup(struct admission_cache *c, int64_t now_ms, const char *node,
                           admission_lookup_fn fn, void *arg, json_t **out, int *hit)
{
    struct cache_entry *set, *e;
    uint64_t forgets;
    int r;

    *hit = 0;
    *out = NULL;
    if (!c || c->ttl_ms == 0 || strlen(node) > ADMISSION_NODE_MAX)
        return fn(arg, node, out);
    pthread_mutex_lock(&c->lock);
    expire_next_set(c, now_ms);
    set = set_of(c, node);
    if ((e = find(c, set, node, now_ms)) && (!e->row || (*out = json_deep_copy(e->row)))) {
        *hit = 1;
        r = e->rc;
        pthread_mutex_unlock(&c->lock);
        return r;
    }
    forgets = c->forgets;
    pthread_mutex_unlock(&c->lock);
    r = fn(arg, node, out); /* unlocked: the other threads' hits go on meanwhile */
    pthread_mutex_lock(&c->lock);
    /* A verdict stored meanwhile may be newer than what fn read; another thread may have
     * entered this node meanwhile (a miss at the same time): the newer entry stays. */
    if (c->forgets != forgets || find(c, set, node, now_ms)) {
        pthread_mutex_unlock(&c->lock);
        return r;
    }
    e = victim(c, set);
    strcpy(e->node, node); /* length checked above */
    e->row = r == 0 ? json_deep_copy(*out) : NULL;
    if (r == 0 && !e->row) { /* out of memory: not cached */
        memset(e, 0, sizeof(*e));
        pthread_mutex_unlock(&c->lock);
        return r;
    }
    e->rc = r;
    e->at_ms = now_ms;
    e->used = 1;
    c->count++;
    pthread_mutex_unlock(&c->lock);
    return r;
}

void admission_cache_forget(struct admission_cache *c, const char *node)
{
    struct cache_entry *set;

    if (!c || c->ttl_ms == 0 || strlen(node) > ADMISSION_NODE_MAX)
        return;
    set = set_of(c, node);
    pthread_mutex_lock(&c->lock);
    c->forgets++;
    for (size_t i = 0; i < CACHE_WAYS; i++)
        if (set[i].used && !strcmp(set[i].node, node))
            evict(c, &set[i]);
    pthread_mutex_unlock(&c->lock);
}

/* ---- the HTTP operations ---- */

static int64_t mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int store_lookup(void *arg, const char *node, json_t **out)
{
    struct api_ctx *c = arg;

    return store_node_get(c->st, node, out);
}

static int cached_lookup(void *arg, const char *node, json_t **out)
{
    struct api_ctx *c = arg;
    int hit = 0, r = admission_cache_lookup(c->acache, mono_ms(), node, store_lookup, c, out, &hit);

    if (hit)
        c->m.admission_cache_hits++;
    else
        c->m.admission_cache_misses++;
    return r;
}

static void log_decision(const struct admission_req *rq, const struct admission_result *res)
{
    if (!res->allowed)
        LOG_INFO("admission %s %s %s/%s (uid %s): denied: %s", rq->operation, rq->kind, rq->ns,
                 rq->name, rq->uid, res->msg);
    else
        LOG_DEBUG("admission %s %s %s/%s (uid %s): allowed", rq->operation, rq->kind, rq->ns,
                  rq->name, rq->uid);
}

/* Not written to the audit table: the API server's audit log records admission, and a disk
 * sync per review would sit on the scheduler's path. Denials are logged. */
/* The policy of a pod review: the most specific per-workload policy selecting the pod's
 * namespace, labels and images, else the --policy file. */
static void choose_policy(struct api_ctx *c, const struct admission_req *rq,
                          const struct wp_set *set, struct admission_cfg *cfg,
                          struct policy *eff)
{
    const char *images[ADMISSION_IMAGES_MAX];
    const struct wp_entry *e;

    cfg->policy_name = WP_FILE_NAME;
    cfg->policy_version = 0;
    if (rq->target != ADMISSION_POD || !wp_set_size(set))
        return;
    for (size_t i = 0; i < rq->n_img; i++)
        images[i] = rq->img[i].image;
    if (!(e = wp_select(set, rq->ns, rq->labels, images, rq->n_img)))
        return;
    cfg->policy_name = e->name;
    cfg->policy_version = e->version;
    cfg->unreadable = !e->pol.root;
    *eff = (struct policy){ .root = e->pol.root, .boot = c->pol.boot };
    cfg->pol = eff;
}

/* An allowed pod (not a dry run) is recorded by its uid with what its spec lets its
 * containers be, for the check at their start (podbind.c). Not recorded, not admitted: the
 * start would be denied, so the review is. */
static void record_admitted(struct api_ctx *c, const struct admission_req *rq,
                            struct admission_result *res)
{
    json_t *facts;
    char *text = NULL;
    int r = -ENOMEM;

    if (!res->allowed || rq->target != ADMISSION_POD || rq->dry_run || !rq->pod_uid ||
        !rq->pod_uid[0])
        return;
    if ((facts = podspec_facts(rq->spec)) && (text = json_dumps(facts, JSON_COMPACT))) {
        /* through the group commit: concurrent reviews' pods share one durable commit */
        struct store_check chk = { .pod = { rq->pod_uid, rq->ns, rq->name, text, res->policy,
                                            res->policy_version, time(NULL) } };

        r = store_check_commit(c->st, &chk);
    }
    json_decref(facts);
    free(text);
    if (r < 0) {
        LOG_ERROR("admission of pod %s/%s (uid %s): cannot record it: %s", rq->ns, rq->name,
                  rq->pod_uid, strerror(-r));
        res->allowed = 0;
        snprintf(res->msg, sizeof(res->msg), "verifier database unavailable (the admitted pod "
                 "could not be recorded)");
    }
}

void api_admission(struct api_ctx *c, const uint8_t *body, size_t len, struct api_reply *rep)
{
    struct admission_cfg cfg = { &c->pol, cached_lookup, c, c->admission_max_age, NULL, 0, 0 };
    struct admission_req rq;
    struct admission_result res;
    struct policy eff;
    struct wp_set *set = c->wp ? wp_acquire(c->wp, c->st, (uint64_t)mono_ms()) : NULL;
    char err[160];

    if (admission_parse(body, len, &rq, err, sizeof(err)) < 0) {
        c->m.admission_malformed++;
        LOG_WARN("admission review refused: %s", err);
        api_error(rep, 400, err);
        admission_req_free(&rq);
        wp_set_put(set);
        return;
    }
    choose_policy(c, &rq, set, &cfg, &eff);
    admission_decide(&cfg, &rq, time(NULL), &res);
    wp_set_put(set);
    record_admitted(c, &rq, &res);
    if (res.allowed)
        c->m.admission_allow++;
    else
        c->m.admission_deny++;
    log_decision(&rq, &res);
    api_json(rep, 200, admission_response(&rq, &res));
    admission_req_free(&rq);
}

/* The row with the last second node-mode containers may stand on it (0 unless allow), as
 * the host-evidence answer has it. Takes j; NULL when out of memory. */
static json_t *with_fresh_until(const struct api_ctx *c, json_t *j)
{
    const char *v = json_string_value(json_object_get(j, "verdict"));
    int allow = v && !strcmp(v, "allow");
    int64_t f = allow ? nodeverdict_fresh_until(json_integer_value(json_object_get(j, "time")),
                                                json_integer_value(json_object_get(j, "due")),
                                                policy_node_max_age(&c->pol)) : 0;

    if (json_object_set_new(j, "fresh_until", json_integer(f)) < 0) {
        json_decref(j);
        return NULL;
    }
    return j;
}

void api_node(struct api_ctx *c, const char *id, struct api_reply *rep)
{
    json_t *j = NULL;
    int r;

    if (!admission_node_name_ok(id)) {
        api_error(rep, 400, "not a node name (DNS-1123 subdomain, at most 253 characters)");
        return;
    }
    r = store_node_get(c->st, id, &j);
    if (r == -ENOENT)
        api_error(rep, 404, "no verdict for this node");
    else if (r < 0)
        api_error(rep, 500, "database");
    else
        api_json(rep, 200, with_fresh_until(c, j));
}

void api_admission_metrics(const struct api_ctx *c, const struct api_counts *m, FILE *f)
{
    fprintf(f, "# HELP verifier_admission_reviews_total Admission reviews answered\n"
               "# TYPE verifier_admission_reviews_total counter\n"
               "verifier_admission_reviews_total{allowed=\"true\"} %llu\n"
               "verifier_admission_reviews_total{allowed=\"false\"} %llu\n"
               "# HELP verifier_admission_malformed_total Admission reviews refused with 400\n"
               "# TYPE verifier_admission_malformed_total counter\n"
               "verifier_admission_malformed_total %llu\n"
               "# HELP verifier_admission_refused_total Admission reviews refused with 403 "
               "(a client not named by --admission-client)\n"
               "# TYPE verifier_admission_refused_total counter\n"
               "verifier_admission_refused_total %llu\n"
               "# HELP verifier_admission_cache_total Node lookups of admission reviews\n"
               "# TYPE verifier_admission_cache_total counter\n"
               "verifier_admission_cache_total{result=\"hit\"} %llu\n"
               "verifier_admission_cache_total{result=\"miss\"} %llu\n"
               "# HELP verifier_admission_cache_entries Node lookups held in the cache\n"
               "# TYPE verifier_admission_cache_entries gauge\n"
               "verifier_admission_cache_entries %zu\n",
            (unsigned long long)m->admission_allow, (unsigned long long)m->admission_deny,
            (unsigned long long)m->admission_malformed,
            (unsigned long long)m->admission_refused,
            (unsigned long long)m->admission_cache_hits,
            (unsigned long long)m->admission_cache_misses, admission_cache_size(c->acache));
}
