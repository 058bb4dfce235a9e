/* SPDX-License-Identifier: BSD-3-Clause */
/* Per-workload policies in memory: selectors, the choice of the most specific, and the set
 * shared by the serving threads, re-read from the database when its stamp moves. */
#include "sched/wpolicy.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "store/store_policy.h"
#include "check/jsonlist.h"

struct wp_set {
    atomic_int refs;
    int64_t stamp;
    size_t n;
    struct wp_entry *e;
};

struct wp_holder {
    pthread_mutex_t mu; /* guards cur */
    struct wp_set *cur;
    atomic_ullong checked_ms; /* 0: check at the next acquire */
    atomic_flag busy;         /* one thread checks at a time */
    unsigned poll_ms;
};

static int alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

int wp_name_ok(const char *name)
{
    size_t n = name ? strlen(name) : 0;

    if (n == 0 || n > WP_NAME_MAX || !alnum(name[0]) || !alnum(name[n - 1]) ||
        !strcmp(name, WP_FILE_NAME))
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!alnum(name[i]) && name[i] != '-')
            return 0;
    return 1;
}

static int texts(const json_t *a)
{
    size_t i;
    const json_t *v;

    if (!json_is_array(a) || json_array_size(a) == 0)
        return 0;
    json_array_foreach(a, i, v)
        if (!json_is_string(v) || json_string_length(v) == 0)
            return 0;
    return 1;
}

int wp_selector_validate(const json_t *sel, char *err, size_t errsz)
{
    const char *k;
    const json_t *v, *lv;

    if (!json_is_object(sel)) {
        snprintf(err, errsz, "selector must be an object");
        return -EINVAL;
    }
    json_object_foreach((json_t *)sel, k, v) {
        if (!strcmp(k, "namespaces") || !strcmp(k, "images")) {
            if (!texts(v)) {
                snprintf(err, errsz, "selector.%s must be a non-empty array of non-empty "
                         "strings", k);
                return -EINVAL;
            }
        } else if (!strcmp(k, "labels")) {
            const char *lk;
            if (!json_is_object(v) || json_object_size(v) == 0) {
                snprintf(err, errsz, "selector.labels must be a non-empty object");
                return -EINVAL;
            }
            json_object_foreach((json_t *)v, lk, lv)
                if (!json_is_string(lv)) {
                    snprintf(err, errsz, "selector.labels.%.60s must be a string", lk);
                    return -EINVAL;
                }
        } else {
            snprintf(err, errsz, "selector.%.60s is not a known key (namespaces, labels, "
                     "images)", k);
            return -EINVAL;
        }
    }
    return 0;
}

static void entry_free(struct wp_entry *e)
{
    json_decref(e->sel);
    policy_free(&e->pol);
}

void wp_set_put(struct wp_set *s)
{
    if (!s || atomic_fetch_sub(&s->refs, 1) != 1)
        return;
    for (size_t i = 0; i < s->n; i++)
        entry_free(&s->e[i]);
    free(s->e);
    free(s);
}

size_t wp_set_size(const struct wp_set *s)
{
    return s ? s->n : 0;
}

/* One stored row into e; a body or selector that does not parse leaves pol.root NULL (the
 * entry still matches by what of its selector parsed, and its workloads are denied). */
static void entry_build(struct wp_entry *e, const json_t *row)
{
    const char *sel = json_string_value(json_object_get(row, "selector"));
    const char *body = json_string_value(json_object_get(row, "body"));
    char err[160];

    snprintf(e->name, sizeof(e->name), "%s", json_string_value(json_object_get(row, "name")));
    e->version = json_integer_value(json_object_get(row, "version"));
    e->sel = sel ? json_loads(sel, JSON_REJECT_DUPLICATES, NULL) : NULL;
    if (!e->sel || wp_selector_validate(e->sel, err, sizeof(err)) < 0) {
        LOG_ERROR("policy %s version %lld: stored selector unreadable; it selects nothing",
                  e->name, (long long)e->version);
        json_decref(e->sel);
        e->sel = json_pack("{s:[s]}", "namespaces", ""); /* matches no namespace */
    }
    e->ns = json_object_get(e->sel, "namespaces");
    e->labels = json_object_get(e->sel, "labels");
    e->images = json_object_get(e->sel, "images");
    if (!body || policy_parse(body, strlen(body), &e->pol, err, sizeof(err)) < 0) {
        LOG_ERROR("policy %s version %lld: stored policy unreadable (%s); the workloads it "
                  "selects are denied", e->name, (long long)e->version, body ? err : "no body");
        memset(&e->pol, 0, sizeof(e->pol));
    }
}

struct wp_set *wp_set_build(const json_t *latest, int64_t stamp)
{
    struct wp_set *s = calloc(1, sizeof(*s));
    const json_t *row;
    size_t i;

    if (!s)
        return NULL;
    atomic_init(&s->refs, 1);
    s->stamp = stamp;
    if (json_array_size(latest) &&
        !(s->e = calloc(json_array_size(latest), sizeof(*s->e)))) {
        free(s);
        return NULL;
    }
    json_array_foreach(latest, i, row) {
        if (json_is_true(json_object_get(row, "deleted")))
            continue;
        entry_build(&s->e[s->n++], row);
    }
    return s;
}

/* image is the prefix itself, or continues it with ':', '@' or '/'. */
static int image_match(const json_t *prefixes, const char *image)
{
    size_t i;
    const json_t *v;

    json_array_foreach(prefixes, i, v) {
        const char *p = json_string_value(v);
        size_t n = strlen(p);
        if (!strncmp(image, p, n) && (image[n] == '\0' || strchr(":@/", image[n]) ||
                                      p[n - 1] == '/'))
            return 1;
    }
    return 0;
}

static int matches(const struct wp_entry *e, const char *ns, const json_t *labels,
                   const char *const *images, size_t n_img)
{
    const char *k;
    const json_t *v;

    if (e->ns && (!ns || !json_list_has(e->ns, ns)))
        return 0;
    if (e->labels) {
        if (!labels)
            return 0;
        json_object_foreach((json_t *)e->labels, k, v) {
            const json_t *have = json_object_get(labels, k);
            if (!json_is_string(have) || strcmp(json_string_value(have), json_string_value(v)))
                return 0;
        }
    }
    if (e->images) {
        if (n_img == 0)
            return 0;
        for (size_t i = 0; i < n_img; i++)
            if (!image_match(e->images, images[i]))
                return 0;
    }
    return 1;
}

static long specificity(const struct wp_entry *e)
{
    return (e->images ? 1L << 20 : 0) + ((long)json_object_size(e->labels) << 4) +
           (e->ns ? 1 : 0);
}

const struct wp_entry *wp_select(const struct wp_set *s, const char *ns, const json_t *labels,
                                 const char *const *images, size_t n_img)
{
    const struct wp_entry *best = NULL;

    for (size_t i = 0; s && i < s->n; i++) {
        const struct wp_entry *e = &s->e[i];
        if (!matches(e, ns, labels, images, n_img))
            continue;
        if (!best || specificity(e) > specificity(best) ||
            (specificity(e) == specificity(best) && strcmp(e->name, best->name) < 0))
            best = e;
    }
    return best;
}

const struct wp_entry *wp_find(const struct wp_set *s, const char *name)
{
    for (size_t i = 0; s && name && i < s->n; i++)
        if (!strcmp(s->e[i].name, name))
            return &s->e[i];
    return NULL;
}

int wp_any_for_containers(const struct wp_set *s)
{
    for (size_t i = 0; s && i < s->n; i++)
        if (!s->e[i].ns && !s->e[i].labels)
            return 1;
    return 0;
}

struct wp_holder *wp_holder_new(unsigned poll_ms)
{
    struct wp_holder *h = calloc(1, sizeof(*h));

    if (!h)
        return NULL;
    if (!(h->cur = wp_set_build(NULL, -1)) || pthread_mutex_init(&h->mu, NULL) != 0) {
        wp_set_put(h->cur);
        free(h);
        return NULL;
    }
    atomic_flag_clear(&h->busy);
    atomic_init(&h->checked_ms, 0);
    h->poll_ms = poll_ms;
    return h;
}

void wp_holder_free(struct wp_holder *h)
{
    if (!h)
        return;
    wp_set_put(h->cur);
    pthread_mutex_destroy(&h->mu);
    free(h);
}

void wp_invalidate(struct wp_holder *h)
{
    if (h)
        atomic_store(&h->checked_ms, 0);
}

/* Reads the stamp and, when it moved, every latest version; the new set replaces the held. */
static void refresh(struct wp_holder *h, struct store *st)
{
    int64_t stamp = 0, held;
    json_t *latest = NULL;
    struct wp_set *ns, *old;
    int r;

    pthread_mutex_lock(&h->mu);
    held = h->cur->stamp;
    pthread_mutex_unlock(&h->mu);
    if ((r = store_policy_stamp(st, &stamp)) < 0) {
        LOG_WARN("per-workload policies: cannot read the database (%s); the policies read "
                 "before stay in force", strerror(-r));
        return;
    }
    if (stamp == held)
        return;
    if ((r = store_policy_latest(st, &latest)) < 0 || !(ns = wp_set_build(latest, stamp))) {
        LOG_WARN("per-workload policies: cannot read them (%s); the policies read before stay "
                 "in force", strerror(r < 0 ? -r : ENOMEM));
        json_decref(latest);
        return;
    }
    json_decref(latest);
    pthread_mutex_lock(&h->mu);
    old = h->cur;
    h->cur = ns;
    pthread_mutex_unlock(&h->mu);
    LOG_INFO("per-workload policies: %zu in force (database stamp %lld)", ns->n,
             (long long)stamp);
    wp_set_put(old);
}

struct wp_set *wp_acquire(struct wp_holder *h, struct store *st, uint64_t now_ms)
{
    struct wp_set *s;
    uint64_t last = atomic_load(&h->checked_ms);

    if ((last == 0 || now_ms - last >= h->poll_ms) && !atomic_flag_test_and_set(&h->busy)) {
        refresh(h, st);
        atomic_store(&h->checked_ms, now_ms ? now_ms : 1);
        atomic_flag_clear(&h->busy);
    }
    pthread_mutex_lock(&h->mu);
    s = h->cur;
    atomic_fetch_add(&s->refs, 1);
    pthread_mutex_unlock(&h->mu);
    return s;
}
