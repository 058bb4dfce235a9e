/* SPDX-License-Identifier: BSD-3-Clause */
/* Kubernetes admission (AdmissionReview v1) for pods and pod bindings: which node and images a
 * request places, and whether the node's host attestation and the image allow-list admit it. */
#include "sched/admission.h"

#include "sched/podspec.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>
#include <unistr.h>

#include "check/imagesig.h"

/* The launch rules' reasons in the message: whole ones, then "and N more" (every one is in
 * status.details.causes, up to ADMISSION_REASONS_MAX). */
#define REASONS_SHOWN_MAX 480u

static const char *str(const json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

static int env_err(char *err, size_t errsz, const char *m)
{
    snprintf(err, errsz, "%s", m);
    return -EINVAL;
}

static int alnum_lower(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

int admission_node_name_ok(const char *s)
{
    size_t n = s ? strlen(s) : 0;

    if (n == 0 || n > ADMISSION_NODE_MAX || !alnum_lower(s[0]) || !alnum_lower(s[n - 1]))
        return 0;
    for (size_t i = 0; i < n; i++) {
        if (!alnum_lower(s[i]) && s[i] != '-' && s[i] != '.')
            return 0;
        /* each dot-separated label starts and ends alphanumeric */
        if (s[i] == '.' && (!alnum_lower(s[i - 1]) || !alnum_lower(s[i + 1])))
            return 0;
    }
    return 1;
}

static void problem(struct admission_req *rq, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void problem(struct admission_req *rq, const char *fmt, ...)
{
    va_list ap;

    if (rq->problem[0])
        return; /* the first one is the one worth reading */
    va_start(ap, fmt);
    vsnprintf(rq->problem, sizeof(rq->problem), fmt, ap);
    va_end(ap);
}

/* Appends the containers of one list (spec.containers etc.); absent optional lists are fine. */
static void add_containers(struct admission_req *rq, const json_t *spec, const char *field,
                           int required)
{
    const json_t *list = json_object_get(spec, field), *c, *img;
    size_t i;

    if (!list || json_is_null(list)) {
        if (required)
            problem(rq, "pod object without spec.%s", field);
        return;
    }
    if (!json_is_array(list)) {
        problem(rq, "pod spec.%s is not a list", field);
        return;
    }
    json_array_foreach(list, i, c) {
        img = json_object_get(c, "image");
        if (!json_is_object(c) || (img && !json_is_string(img)))
            problem(rq, "pod spec.%s[%zu] is not a container with a string image", field, i);
        else if (rq->n_img >= ADMISSION_IMAGES_MAX)
            problem(rq, "pod has more than %u containers", ADMISSION_IMAGES_MAX);
        else
            rq->img[rq->n_img++] = (struct admission_image){
                .container = str(c, "name") ? str(c, "name") : "", /* "" = no name given */
                .image = img ? json_string_value(img) : "",
            };
    }
}

static void parse_pod(struct admission_req *rq, const json_t *obj)
{
    const json_t *spec = json_object_get(obj, "spec"), *nn;

    if (!json_is_object(spec)) {
        problem(rq, "pod object without spec");
        return;
    }
    nn = json_object_get(spec, "nodeName");
    if (nn && !json_is_null(nn) && !json_is_string(nn))
        problem(rq, "pod spec.nodeName is not a string");
    else if (json_is_string(nn) && json_string_length(nn) > 0 &&
             !admission_node_name_ok(json_string_value(nn)))
        problem(rq, "pod spec.nodeName is not a valid node name");
    else if (json_is_string(nn) && json_string_length(nn) > 0)
        rq->node = json_string_value(nn);
    rq->spec = spec;
    rq->pod_uid = str(json_object_get(obj, "metadata"), "uid");
    rq->labels = json_object_get(json_object_get(obj, "metadata"), "labels");
    if (!json_is_object(rq->labels))
        rq->labels = NULL;
    add_containers(rq, spec, "containers", 1);
    add_containers(rq, spec, "initContainers", 0);
    add_containers(rq, spec, "ephemeralContainers", 0);
}

static void parse_binding(struct admission_req *rq, const json_t *obj)
{
    const json_t *target = json_object_get(obj, "target");
    const char *kind = str(target, "kind"), *name = str(target, "name");

    if (!json_is_object(target) || !name)
        problem(rq, "binding without target.name");
    else if (json_object_get(target, "kind") && (!kind || strcmp(kind, "Node")))
        problem(rq, "binding target is not a Node");
    else if (!admission_node_name_ok(name))
        problem(rq, "binding target.name is not a valid node name");
    else
        rq->node = name;
}

static enum admission_target classify(const struct admission_req *rq, const char *group)
{
    if (!strcmp(rq->operation, "DELETE"))
        return ADMISSION_DELETE;
    if ((strcmp(rq->operation, "CREATE") && strcmp(rq->operation, "UPDATE")) || group[0])
        return ADMISSION_OTHER;
    if (!strcmp(rq->kind, "Binding"))
        return ADMISSION_BINDING;
    /* pods/ephemeralcontainers adds containers, hence images, to a running pod */
    if (!strcmp(rq->kind, "Pod") &&
        (!rq->subresource[0] || !strcmp(rq->subresource, "ephemeralcontainers")))
        return ADMISSION_POD;
    return ADMISSION_OTHER;
}

static int parse_request(struct admission_req *rq, const json_t *req, char *err, size_t errsz)
{
    const json_t *kind = json_object_get(req, "kind"), *sub = json_object_get(req, "subResource");
    const json_t *group = json_object_get(kind, "group"), *obj = json_object_get(req, "object");

    rq->uid = str(req, "uid");
    if (!rq->uid || !rq->uid[0] || strlen(rq->uid) > ADMISSION_UID_MAX)
        return env_err(err, errsz, "request.uid must be a string of 1 to 128 bytes");
    rq->operation = str(req, "operation");
    if (!rq->operation || !rq->operation[0])
        return env_err(err, errsz, "request.operation must be a string");
    if (!(rq->kind = str(kind, "kind")) || (group && !json_is_string(group)))
        return env_err(err, errsz, "request.kind must be {group, version, kind}");
    if (sub && !json_is_null(sub) && !json_is_string(sub))
        return env_err(err, errsz, "request.subResource must be a string");
    rq->subresource = json_is_string(sub) ? json_string_value(sub) : "";
    rq->ns = str(req, "namespace") ? str(req, "namespace") : "";
    rq->name = str(req, "name") ? str(req, "name") : "";
    rq->target = classify(rq, group ? json_string_value(group) : "");
    rq->dry_run = json_is_true(json_object_get(req, "dryRun"));
    if ((rq->target == ADMISSION_POD || rq->target == ADMISSION_BINDING) && !json_is_object(obj))
        problem(rq, "request.object is not an object");
    else if (rq->target == ADMISSION_POD)
        parse_pod(rq, obj);
    else if (rq->target == ADMISSION_BINDING)
        parse_binding(rq, obj);
    return 0;
}

/* ---- reading the review: cJSON, then jansson for what is judged ----
 * An API server's pod review is 3 to 10 KB (managedFields, the defaulted spec, userInfo), of
 * which admission reads the envelope, metadata.uid and .labels, and the spec. jansson parsed
 * it at about 15 ns a byte (a 3.7 KB review: 61 us, two thirds of the review's CPU); cJSON
 * parses it in a fifth of that. cJSON is laxer than jansson in four ways, each closed here:
 * duplicate keys (refused over the whole document, as JSON_REJECT_DUPLICATES did), invalid
 * UTF-8 (the whole body checked with libunistring first), \u0000 (it would end a C string
 * early: refused, as jansson does), raw control bytes (refused). The parts read are then
 * copied into a jansson tree (rq->root) that the rest of admission works on, as before. */

#define REVIEW_DEPTH_MAX 200 /* a pod spec nests about 10 deep; cJSON's own limit is 1000 */

static int key_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* 0 when no object under o (o included) repeats a key; -1 on a repeat or out of memory. */
static int no_dup_keys(const cJSON *o, int depth)
{
    const cJSON *c;
    size_t n = 0, i = 0;

    if (depth > REVIEW_DEPTH_MAX)
        return -1;
    if (cJSON_IsObject(o)) {
        for (c = o->child; c; c = c->next)
            n++;
        if (n > 1 && n <= 8) { /* the common case: no allocation */
            for (const cJSON *x = o->child; x; x = x->next)
                for (const cJSON *y = x->next; y; y = y->next)
                    if (!strcmp(x->string, y->string))
                        return -1;
        } else if (n > 8) {
            const char **k = malloc(n * sizeof(*k));
            int dup = 0;

            if (!k)
                return -1;
            for (c = o->child; c; c = c->next)
                k[i++] = c->string;
            qsort(k, n, sizeof(*k), key_cmp);
            for (i = 1; i < n && !dup; i++)
                dup = !strcmp(k[i - 1], k[i]);
            free(k);
            if (dup)
                return -1;
        }
    }
    for (c = o->child; c; c = c->next)
        if ((cJSON_IsObject(c) || cJSON_IsArray(c)) && no_dup_keys(c, depth + 1) < 0)
            return -1;
    return 0;
}

/* A jansson copy of a cJSON value (NULL on failure: out of memory, a number that is not
 * finite). cJSON keeps numbers as doubles: an integral one within 2^53 becomes an integer
 * (what the API server writes for every integer field), any other a real. */
static json_t *to_jansson(const cJSON *o)
{
    const cJSON *c;
    json_t *j;

    if (cJSON_IsObject(o)) {
        if (!(j = json_object()))
            return NULL;
        for (c = o->child; c; c = c->next)
            if (json_object_set_new(j, c->string, to_jansson(c)) < 0) {
                json_decref(j);
                return NULL;
            }
        return j;
    }
    if (cJSON_IsArray(o)) {
        if (!(j = json_array()))
            return NULL;
        for (c = o->child; c; c = c->next)
            if (json_array_append_new(j, to_jansson(c)) < 0) {
                json_decref(j);
                return NULL;
            }
        return j;
    }
    if (cJSON_IsString(o))
        return json_string(o->valuestring); /* checks UTF-8 once more */
    if (cJSON_IsNumber(o)) {
        double v = o->valuedouble;

        if (v == v && v >= -9007199254740992.0 && v <= 9007199254740992.0 &&
            v == (double)(int64_t)v)
            return json_integer((json_int_t)v);
        return json_real(v); /* NULL for inf and NaN */
    }
    if (cJSON_IsTrue(o))
        return json_true();
    if (cJSON_IsFalse(o))
        return json_false();
    return cJSON_IsNull(o) ? json_null() : NULL;
}

static const cJSON *cj_get(const cJSON *o, const char *k)
{
    return cJSON_IsObject(o) ? cJSON_GetObjectItemCaseSensitive(o, k) : NULL;
}

/* The members of o named in keys (NULL-terminated) that o has, copied into a new jansson
 * object. */
static json_t *copy_members(const cJSON *o, const char *const *keys)
{
    json_t *j = json_object();
    const cJSON *v;

    for (; j && *keys; keys++)
        if ((v = cj_get(o, *keys)) && json_object_set_new(j, *keys, to_jansson(v)) < 0) {
            json_decref(j);
            return NULL;
        }
    return j;
}

/* parent[name] = o's members named in keys, or o as it is when it is not an object (the checks
 * name it); *out: that value, NULL when o is absent. -1 on failure. */
static int copy_level(json_t *parent, const char *name, const cJSON *o,
                      const char *const *keys, json_t **out)
{
    *out = NULL;
    if (!o)
        return 0;
    if (!(*out = cJSON_IsObject(o) ? copy_members(o, keys) : to_jansson(o)))
        return -1;
    return json_object_set_new(parent, name, *out);
}

/* What admission reads of the review, as jansson: {apiVersion, kind, request: {uid, kind,
 * subResource, namespace, name, operation, dryRun, object: {apiVersion, kind, metadata:
 * {uid, labels}, spec, target}}}, each only when present; a member that is not an object where
 * one is looked into is copied as it is (the checks below name it). */
static json_t *reviewed_parts(const cJSON *doc)
{
    static const char *const top[] = { "apiVersion", "kind", NULL };
    static const char *const req[] = { "uid", "kind", "subResource", "namespace", "name",
                                       "operation", "dryRun", NULL };
    static const char *const obj[] = { "apiVersion", "kind", "spec", "target", NULL };
    static const char *const meta[] = { "uid", "labels", NULL };
    const cJSON *r = cj_get(doc, "request"), *o = cj_get(r, "object"), *m = cj_get(o, "metadata");
    json_t *root = copy_members(doc, top), *jr, *jo, *jm;

    /* o is absent unless r is an object, m unless o is one (cj_get) */
    if (!root || copy_level(root, "request", r, req, &jr) < 0 ||
        copy_level(jr, "object", o, obj, &jo) < 0 || copy_level(jo, "metadata", m, meta, &jm) < 0) {
        json_decref(root);
        return NULL;
    }
    return root;
}

/* Bytes no JSON text holds raw (control characters other than tab, line feed and carriage
 * return), \u0000, or invalid UTF-8: the review is refused before it is parsed. */
static const char *raw_fault(const uint8_t *body, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (body[i] < 0x20 && body[i] != '\t' && body[i] != '\n' && body[i] != '\r')
            return "a raw control character";
    if (memmem(body, len, "\\u0000", 6))
        return "\\u0000 (a NUL in a string)";
    if (u8_check(body, len))
        return "invalid UTF-8";
    return NULL;
}

int admission_parse(const uint8_t *body, size_t len, struct admission_req *rq, char *err,
                    size_t errsz)
{
    const char *av, *kind, *fault, *end = NULL;
    cJSON *doc;

    memset(rq, 0, sizeof(*rq));
    if ((fault = raw_fault(body, len))) {
        snprintf(err, errsz, "not JSON: %s", fault);
        return -EINVAL;
    }
    if (!(doc = cJSON_ParseWithLengthOpts((const char *)body, len, &end, 0))) {
        snprintf(err, errsz, "not JSON (at byte %zu)",
                 end && end >= (const char *)body ? (size_t)(end - (const char *)body) : 0);
        return -EINVAL;
    }
    /* nothing but white space after the value, as jansson required */
    for (; end && end < (const char *)body + len; end++)
        if (*end != ' ' && *end != '\t' && *end != '\n' && *end != '\r')
            break;
    /* Duplicate keys are refused: no reading of a different image than the API server's. */
    if (end != (const char *)body + len || no_dup_keys(doc, 0) < 0) {
        snprintf(err, errsz, "not JSON: %s", end != (const char *)body + len
                                                  ? "text after the value"
                                                  : "a duplicate key (or nesting over 200)");
        cJSON_Delete(doc);
        return -EINVAL;
    }
    rq->root = reviewed_parts(doc);
    cJSON_Delete(doc);
    if (!rq->root) {
        snprintf(err, errsz, "not JSON: a number out of range, or out of memory");
        return -EINVAL;
    }
    av = str(rq->root, "apiVersion");
    kind = str(rq->root, "kind");
    if (!av || strcmp(av, ADMISSION_API_VERSION))
        return env_err(err, errsz, "apiVersion must be " ADMISSION_API_VERSION);
    if (!kind || strcmp(kind, "AdmissionReview"))
        return env_err(err, errsz, "kind must be AdmissionReview");
    if (!json_is_object(json_object_get(rq->root, "request")))
        return env_err(err, errsz, "request must be an object");
    return parse_request(rq, json_object_get(rq->root, "request"), err, errsz);
}

void admission_req_free(struct admission_req *rq)
{
    json_decref(rq->root);
    memset(rq, 0, sizeof(*rq));
}

/* ---- the decision ---- */

static void deny(struct admission_result *res, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Appends one cause; causes are separated by "; ", the whole is cut at ADMISSION_MSG_MAX. */
static void deny(struct admission_result *res, const char *fmt, ...)
{
    size_t len = strlen(res->msg);
    va_list ap;

    res->allowed = 0;
    if (len && len + 2 < sizeof(res->msg)) {
        memcpy(res->msg + len, "; ", 3);
        len += 2;
    }
    va_start(ap, fmt);
    vsnprintf(res->msg + len, sizeof(res->msg) - len, fmt, ap);
    va_end(ap);
}

static void iso_time(int64_t t, char out[32])
{
    time_t tt = (time_t)t;
    struct tm tm;

    if (!gmtime_r(&tt, &tm) || !strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm))
        snprintf(out, 32, "%lld", (long long)t);
}

/* The stored reasons, comma-separated and bounded. */
static void join_reasons(const json_t *reasons, char *out, size_t outsz)
{
    size_t i, len = 0;
    const json_t *r;

    out[0] = '\0';
    json_array_foreach(reasons, i, r) {
        int n = snprintf(out + len, outsz - len, "%s%s", i ? ", " : "",
                         json_is_string(r) ? json_string_value(r) : "?");
        if (n < 0 || (size_t)n >= outsz - len)
            break;
        len += (size_t)n;
    }
    if (!out[0])
        snprintf(out, outsz, "no reason recorded");
}

static int has_reason(const json_t *reasons, const char *code)
{
    size_t i;
    const json_t *r;

    json_array_foreach(reasons, i, r)
        if (json_is_string(r) && !strcmp(json_string_value(r), code))
            return 1;
    return 0;
}

static void judge_denied(const char *node, const json_t *row, const char *when,
                         struct admission_result *res)
{
    const json_t *reasons = json_object_get(row, "reasons");
    char why[REASONS_SHOWN_MAX];

    if (has_reason(reasons, "reattest-missed")) {
        deny(res, "node %s's host attestation is stale (re-attestation missed; revoked at %s)",
             node, when);
        return;
    }
    join_reasons(reasons, why, sizeof(why));
    deny(res, "node %s has no passing host attestation: %s; last attested %s", node, why, when);
}

static void judge_row(const struct admission_cfg *cfg, const char *node, const json_t *row,
                      int64_t now, struct admission_result *res)
{
    const char *verdict = str(row, "verdict");
    const json_t *t = json_object_get(row, "time"), *d = json_object_get(row, "due");
    int64_t due = json_is_integer(d) ? json_integer_value(d) : 0;
    char when[32], dues[32];

    if (!verdict || !json_is_integer(t) || (d && !json_is_integer(d))) {
        deny(res, "node %s: the verifier's record of it is unreadable", node);
        return;
    }
    iso_time(json_integer_value(t), when);
    iso_time(due, dues);
    if (strcmp(verdict, "allow"))
        judge_denied(node, row, when, res);
    else if (due > 0 && due <= now)
        deny(res, "node %s's host attestation is stale (re-attestation missed at %s)", node, dues);
    else if (cfg->max_age > 0 && now - json_integer_value(t) > cfg->max_age)
        deny(res, "node %s's host attestation is too old (last attested %s, more than %lld s ago)",
             node, when, (long long)cfg->max_age);
}

static void check_node(const struct admission_cfg *cfg, const char *node, int64_t now,
                       struct admission_result *res)
{
    json_t *row = NULL;
    int r = cfg->lookup(cfg->arg, node, &row);

    if (r == -ENOENT)
        deny(res, "node %s is unknown to the verifier (no host attestation recorded)", node);
    else if (r < 0)
        deny(res, "verifier database unavailable");
    else
        judge_row(cfg, node, row, now, res);
    json_decref(row);
}

/* "sha256:<64 lowercase hex>" of a reference "name[:tag]@sha256:<hex>", as OCI writes it. */
static int pinned_digest(const char *image, char out[72])
{
    const char *at = strrchr(image, '@');

    if (!at || at == image || strncmp(at + 1, "sha256:", 7) || strlen(at + 8) != 64)
        return -1;
    for (const char *p = at + 8; *p; p++)
        if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
            return -1;
    memcpy(out, at + 1, 71);
    out[71] = '\0';
    return 0;
}

static int seen_before(const struct admission_req *rq, size_t i)
{
    for (size_t j = 0; j < i; j++)
        if (!strcmp(rq->img[j].image, rq->img[i].image))
            return 1;
    return 0;
}

/* The image signature rules (imagesig.h) for one image, at admission: the pinned digest is
 * the manifest digest the kubelet will pull. */
static void check_image_signature(const struct policy *pol, const char *image, int64_t now,
                                  struct admission_result *res)
{
    struct reasons r = { 0 };
    char digest[72];

    if (!pol->sig)
        return;
    if (pinned_digest(image, digest) < 0)
        digest[0] = '\0';
    imagesig_check(pol->sig, image, digest, now, &r);
    for (size_t i = 0; i < r.n; i++)
        deny(res, "image %.200s: %s", image, r.v[i]);
    if (r.oom)
        deny(res, "image %.200s: out of memory", image);
    reasons_free(&r);
}

static void check_images(const struct policy *pol, const struct admission_req *rq, int64_t now,
                         struct admission_result *res)
{
    const char *expired_in;
    char digest[72];
    int enforced = policy_digest_allowed(pol, POLICY_IMAGE, "", now, &expired_in) >= 0;

    for (size_t i = 0; i < rq->n_img; i++) {
        const struct admission_image *im = &rq->img[i];
        if (seen_before(rq, i))
            continue;
        if (!im->image[0]) {
            if (enforced || pol->sig)
                deny(res, "container %.100s has no image", im->container);
            continue;
        }
        check_image_signature(pol, im->image, now, res);
        if (!enforced)
            continue; /* null and no reference bundle lists images: not checked */
        if (pinned_digest(im->image, digest) < 0)
            deny(res, "image %.200s is not pinned by digest", im->image);
        else if (policy_digest_allowed(pol, POLICY_IMAGE, digest, now, &expired_in) != 1)
            deny(res, "image %.200s digest %s is not allowed by the verifier policy%s%.200s%s",
                 im->image, digest, expired_in ? " (reference bundle " : "",
                 expired_in ? expired_in : "", expired_in ? " is out of its period)" : "");
    }
}

/* The launch rules on the pod spec: the same reasons as at container start. */
static void check_launch(const struct policy *pol, const struct admission_req *rq,
                         struct admission_result *res)
{
    struct reasons r = { 0 };
    char why[REASONS_SHOWN_MAX];
    size_t len = 0;
    int full = 0;

    podspec_check(json_object_get(pol->root, "launch"), rq->spec, &r);
    if (!reasons_deny(&r))
        goto out;
    why[0] = '\0';
    for (size_t i = 0; i < r.n; i++) {
        /* whole reasons only, with room kept for saying how many more there are */
        size_t need = strlen(r.v[i]) + (len ? 2 : 0), room = sizeof(why) - len;
        if (res->n_reason < ADMISSION_REASONS_MAX)
            snprintf(res->reason[res->n_reason++], sizeof(res->reason[0]), "%s", r.v[i]);
        if (full)
            continue;
        if (need + 48 < room) {
            snprintf(why + len, room, "%s%s", len ? ", " : "", r.v[i]);
            len += need;
        } else {
            snprintf(why + len, room, " and %zu more", r.n - i);
            full = 1;
        }
    }
    if (r.oom)
        deny(res, "pod spec not judged: out of memory");
    else
        deny(res, "pod spec violates the launch rules: %s", why);
out:
    reasons_free(&r);
}

/* Length of the valid UTF-8 sequence at s, 0 when invalid (overlongs and surrogates too). */
static size_t utf8_len(const unsigned char *s)
{
    size_t n = s[0] < 0x80 ? 1 : (s[0] & 0xe0) == 0xc0 ? 2 : (s[0] & 0xf0) == 0xe0 ? 3
             : (s[0] & 0xf8) == 0xf0 ? 4 : 0;
    unsigned cp;

    if (n <= 1)
        return n;
    cp = s[0] & (0xffu >> (n + 1));
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = cp << 6 | (s[i] & 0x3fu);
    }
    if (cp < (n == 2 ? 0x80u : n == 3 ? 0x800u : 0x10000u) || cp > 0x10ffff ||
        (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return n;
}

/* Messages quote request strings cut at byte limits: what a cut split, and control
 * characters, become '?', so the text is valid JSON and safe in a terminal. */
static void sanitize(char *s)
{
    unsigned char *p = (unsigned char *)s;

    while (*p) {
        size_t n = utf8_len(p);
        if (n == 0 || (n == 1 && (*p < 0x20 || *p == 0x7f))) {
            *p++ = '?';
            continue;
        }
        p += n;
    }
}

void admission_decide(const struct admission_cfg *cfg, const struct admission_req *rq,
                      int64_t now, struct admission_result *res)
{
    memset(res, 0, sizeof(*res));
    res->allowed = 1;
    if (rq->target == ADMISSION_DELETE)
        return;
    if (rq->target == ADMISSION_OTHER) {
        snprintf(res->warning, sizeof(res->warning),
                 "vtpm-attest verifier: %.32s of %.40s%s%.40s is not checked", rq->operation,
                 rq->kind, rq->subresource[0] ? "/" : "", rq->subresource);
        sanitize(res->warning);
        return;
    }
    if (cfg->policy_name) {
        snprintf(res->policy, sizeof(res->policy), "%s", cfg->policy_name);
        res->policy_version = cfg->policy_version;
    }
    if (rq->problem[0])
        deny(res, "%s", rq->problem);
    else if (rq->node)
        check_node(cfg, rq->node, now, res);
    if (!rq->problem[0] && rq->target == ADMISSION_POD && cfg->unreadable) {
        deny(res, "the policy that selects this pod does not parse");
    } else if (!rq->problem[0] && rq->target == ADMISSION_POD) {
        check_images(cfg->pol, rq, now, res);
        check_launch(cfg->pol, rq, res);
    }
    if (!res->allowed && res->policy[0]) {
        size_t len = strlen(res->msg);
        snprintf(res->msg + len, sizeof(res->msg) - len, " (policy %s version %lld)",
                 res->policy, (long long)res->policy_version);
    }
    sanitize(res->msg);
    for (size_t i = 0; i < res->n_reason; i++)
        sanitize(res->reason[i]);
}

/* A deny's Status: code, message and, when launch rules denied, one cause per reason
 * ({"reason": "capability-not-allowed:NET_ADMIN", "message": "launch rule"}). */
static json_t *status(const struct admission_result *res)
{
    json_t *st = json_pack("{s:i, s:s, s:s}", "code", 403, "reason", "Forbidden", "message",
                           res->msg), *causes;

    if (!st || !res->n_reason)
        return st;
    if (!(causes = json_array()) ||
        json_object_set_new(st, "details", json_pack("{s:o}", "causes", causes)) < 0)
        goto fail;
    for (size_t i = 0; i < res->n_reason; i++)
        if (json_array_append_new(causes, json_pack("{s:s, s:s}", "reason", res->reason[i],
                                                    "message", "launch rule")) < 0)
            goto fail;
    return st;
fail:
    json_decref(st);
    return NULL;
}

json_t *admission_response(const struct admission_req *rq, const struct admission_result *res)
{
    json_t *r = json_pack("{s:s, s:b}", "uid", rq->uid, "allowed", res->allowed);
    char ver[24];

    if (!r)
        return NULL;
    if (!res->allowed && json_object_set_new(r, "status", status(res)) < 0)
        goto fail;
    if (res->warning[0] &&
        json_object_set_new(r, "warnings", json_pack("[s]", res->warning)) < 0)
        goto fail;
    /* the API server's audit log keeps these with the review (prefixed by the webhook's name) */
    snprintf(ver, sizeof(ver), "%lld", (long long)res->policy_version);
    if (res->policy[0] &&
        json_object_set_new(r, "auditAnnotations", json_pack("{s:s, s:s}", "policy",
                                                             res->policy, "policy-version",
                                                             ver)) < 0)
        goto fail;
    return json_pack("{s:s, s:s, s:o}", "apiVersion", ADMISSION_API_VERSION, "kind",
                     "AdmissionReview", "response", r);
fail:
    json_decref(r);
    return NULL;
}
