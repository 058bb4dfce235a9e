/* SPDX-License-Identifier: BSD-3-Clause */
/* /v1/policies: the per-workload policies in the database, listed, read, written (a new
 * version each time) and deleted by an admin client (docs/verifier.md). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "http/api.h"
#include "log.h"
#include "sched/wpolicy.h"
#include "store/store_policy.h"

/* The stored row as the API shows it: selector and policy as JSON, not text. */
static json_t *shown(const json_t *row, int with_policy)
{
    json_t *sel = json_loads(json_string_value(json_object_get(row, "selector")), 0, NULL);
    json_t *o = json_pack("{s:O, s:O, s:o, s:O, s:O}", "name", json_object_get(row, "name"),
                          "version", json_object_get(row, "version"), "selector",
                          sel ? sel : json_null(), "time", json_object_get(row, "time"),
                          "author", json_object_get(row, "author"));
    json_t *pol;

    if (o && with_policy) {
        pol = json_loads(json_string_value(json_object_get(row, "body")), 0, NULL);
        if (json_object_set_new(o, "policy", pol ? pol : json_null()) < 0) {
            json_decref(o);
            return NULL;
        }
    }
    return o;
}

static void store_error(struct api_reply *rep, int r)
{
    if (r == -ENOENT)
        api_error(rep, 404, "no such policy");
    else if (r == -EAGAIN)
        api_error(rep, 409, "another write of this policy won; try again");
    else
        api_error(rep, 500, "database");
}

static void list(struct api_ctx *c, struct api_reply *rep)
{
    json_t *latest = NULL, *out, *row, *o;
    size_t i;
    int r = store_policy_latest(c->st, &latest);

    if (r < 0) {
        store_error(rep, r);
        return;
    }
    out = json_array();
    json_array_foreach(latest, i, row)
        if (out && !json_is_true(json_object_get(row, "deleted")) &&
            (!(o = shown(row, 0)) || json_array_append_new(out, o) < 0)) {
            json_decref(out);
            out = NULL;
        }
    json_decref(latest);
    api_json(rep, 200, out ? json_pack("{s:o, s:{s:s, s:i}}", "policies", out, "file", "name",
                                       WP_FILE_NAME, "version", 0) : NULL);
}

static int parse_version(const char *v, int64_t *out)
{
    char *end;
    long long n;

    if (!v) {
        *out = 0;
        return 0;
    }
    errno = 0;
    n = strtoll(v, &end, 10);
    if (v[0] < '1' || v[0] > '9' || *end || errno || n < 1)
        return -1;
    *out = n;
    return 0;
}

static void get_one(struct api_ctx *c, const char *name, const char *version,
                    struct api_reply *rep)
{
    json_t *row = NULL;
    int64_t v;
    int r;

    if (parse_version(version, &v) < 0) {
        api_error(rep, 400, "version must be a positive integer");
        return;
    }
    if ((r = store_policy_get(c->st, name, v, &row)) < 0) {
        store_error(rep, r);
        return;
    }
    if (json_is_true(json_object_get(row, "deleted")))
        api_error(rep, 404, v ? "this version is a deletion" : "policy deleted");
    else
        api_json(rep, 200, shown(row, 1));
    json_decref(row);
}

static void versions(struct api_ctx *c, const char *name, struct api_reply *rep)
{
    json_t *vs = NULL;
    int r = store_policy_versions(c->st, name, &vs);

    if (r < 0)
        store_error(rep, r);
    else
        api_json(rep, 200, json_pack("{s:s, s:o}", "name", name, "versions", vs));
}

/* PUT body: {"selector": {...}, "policy": {...a policy document (docs/policy.md)...}}. The
 * policy is stored as policy_dump writes it (every launch rule written out), so a version
 * means the same rules whatever later defaults become. */
static void put(struct api_ctx *c, const char *name, const char *author, const uint8_t *body,
                size_t len, struct api_reply *rep)
{
    json_error_t je;
    json_t *req = json_loadb((const char *)body, len, JSON_REJECT_DUPLICATES, &je);
    const json_t *sel = json_object_get(req, "selector"), *pj = json_object_get(req, "policy");
    char err[200], *ptext = NULL, *stext = NULL, *canon = NULL;
    struct policy pol = { 0 };
    int64_t v = 0;
    int r;

    if (!req || !json_is_object(req) || json_object_size(req) != 2 || !sel || !pj) {
        api_error(rep, 400, req ? "body must be {\"selector\": {...}, \"policy\": {...}}"
                                : "body is not JSON");
        goto out;
    }
    if (wp_selector_validate(sel, err, sizeof(err)) < 0) {
        api_error(rep, 400, err);
        goto out;
    }
    if (!(ptext = json_dumps(pj, JSON_COMPACT)) || !(stext = json_dumps(sel, JSON_COMPACT |
                                                                        JSON_SORT_KEYS))) {
        api_error(rep, 500, "out of memory");
        goto out;
    }
    if (policy_parse(ptext, strlen(ptext), &pol, err, sizeof(err)) < 0) {
        char msg[240];
        snprintf(msg, sizeof(msg), "policy: %s", err);
        api_error(rep, 400, msg);
        goto out;
    }
    if (!(canon = policy_dump(&pol))) {
        api_error(rep, 500, "out of memory");
        goto out;
    }
    if ((r = store_policy_put(c->st, name, stext, canon, author, time(NULL), &v)) < 0) {
        store_error(rep, r);
        goto out;
    }
    wp_invalidate(c->wp);
    LOG_INFO("policy %s version %lld written by %s", name, (long long)v, author);
    api_json(rep, 200, json_pack("{s:s, s:I}", "name", name, "version", (json_int_t)v));
out:
    policy_free(&pol);
    free(canon);
    free(stext);
    free(ptext);
    json_decref(req);
}

static void del(struct api_ctx *c, const char *name, const char *author, struct api_reply *rep)
{
    int64_t v = 0;
    int r = store_policy_delete(c->st, name, author, time(NULL), &v);

    if (r < 0) {
        store_error(rep, r);
        return;
    }
    wp_invalidate(c->wp);
    LOG_INFO("policy %s deleted by %s (version %lld)", name, author, (long long)v);
    api_json(rep, 200, json_pack("{s:s, s:I, s:b}", "name", name, "version", (json_int_t)v,
                                 "deleted", 1));
}

void api_policies(struct api_ctx *c, const char *method, const char *rest, const char *version,
                  const char *author, const uint8_t *body, size_t len, struct api_reply *rep)
{
    char name[WP_NAME_MAX + 2];
    const char *slash;
    size_t n;

    if (!rest[0] || !strcmp(rest, "/")) {
        if (strcmp(method, "GET"))
            api_error(rep, 405, "method not allowed");
        else
            list(c, rep);
        return;
    }
    slash = strchr(rest + 1, '/');
    n = slash ? (size_t)(slash - rest - 1) : strlen(rest + 1);
    if (rest[0] != '/' || n >= sizeof(name) ||
        (slash && strcmp(slash, "/versions"))) {
        api_error(rep, 404, "not found");
        return;
    }
    memcpy(name, rest + 1, n);
    name[n] = '\0';
    if (!wp_name_ok(name)) {
        api_error(rep, 400, "policy names are 1 to 63 of [a-z0-9-], alphanumeric at both ends, "
                            "not \"" WP_FILE_NAME "\"");
        return;
    }
    if (slash)
        strcmp(method, "GET") ? api_error(rep, 405, "method not allowed")
                              : versions(c, name, rep);
    else if (!strcmp(method, "GET"))
        get_one(c, name, version, rep);
    else if (!strcmp(method, "PUT"))
        put(c, name, author, body, len, rep);
    else if (!strcmp(method, "DELETE"))
        del(c, name, author, rep);
    else
        api_error(rep, 405, "method not allowed");
}
