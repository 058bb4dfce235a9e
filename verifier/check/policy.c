/* SPDX-License-Identifier: BSD-3-Clause */
/* The verifier's policy (JSON, docs/policy.md): digest allow-lists and launch-config rules. */
#include "check/policy.h"

#include "boot/bootpolicy.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "cborutil.h"
#include "ctlproto.h"
#include "fileio.h"
#include "check/imagesig.h"
#include "check/launchpolicy.h"
#include "check/refbundle.h"
#include "check/nodeverdict.h"
#include "check/runtime.h"

#define POLICY_MAX_SIZE (4u * 1024u * 1024u)

static const char *const list_names[] = { "image", "rootfs", "runtime", "agent" };
static const char default_policy[] =
    "{\"version\": 2,"
    " \"digests\": {\"image\": null, \"rootfs\": [], \"runtime\": [], \"agent\": null},"
    " \"launch\": {}}";

static int errf(char *err, size_t errsz, const char *what)
{
    snprintf(err, errsz, "%s", what);
    return -EINVAL;
}

static int in_names(const char *k, const char *const *names, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(k, names[i]))
            return 1;
    return 0;
}

static int validate_digests(const json_t *d, char *err, size_t errsz)
{
    const char *k;
    json_t *v, *e;
    size_t i;
    char norm[72];

    if (!json_is_object(d))
        return errf(err, errsz, "digests must be an object");
    json_object_foreach((json_t *)d, k, v) {
        if (!in_names(k, list_names, 4))
            return errf(err, errsz, "unknown key in digests");
        if (json_is_null(v))
            continue;
        if (!policy_json_texts(v))
            return errf(err, errsz, "a digest list must be null or an array of strings");
        json_array_foreach(v, i, e)
            if (policy_normalize_digest(json_string_value(e), norm) < 0)
                return errf(err, errsz, "a digest is not sha256:<64 hex>");
    }
    return 0;
}

/*
 * The file's `launch` keys over the defaults: a key the file leaves out keeps its default,
 * so a policy file never weakens a rule by omission.
 */
static int merge_launch(json_t *root, char *err, size_t errsz)
{
    json_t *file = json_object_get(root, "launch"), *merged = launch_policy_defaults();

    if (!merged)
        return errf(err, errsz, "out of memory");
    if (file && (!json_is_object(file) || json_object_update(merged, file) < 0)) {
        json_decref(merged);
        return errf(err, errsz, "launch must be an object");
    }
    if (json_object_set_new(root, "launch", merged) < 0)
        return errf(err, errsz, "out of memory");
    return 0;
}

/* node_verdict_max_age: whole seconds, written out with its default when the file leaves it
 * out (as launch rules are). */
static int node_max_age(json_t *root, char *err, size_t errsz)
{
    json_t *v = json_object_get(root, "node_verdict_max_age");

    if (!v)
        return json_object_set_new(root, "node_verdict_max_age",
                                   json_integer(NODEVERDICT_MAX_AGE_DEFAULT)) < 0
                   ? errf(err, errsz, "out of memory") : 0;
    if (!json_is_integer(v) || json_integer_value(v) < 1 ||
        json_integer_value(v) > NODEVERDICT_MAX_AGE_MAX)
        return errf(err, errsz, "node_verdict_max_age must be an integer from 1 to 2592000 "
                                "(seconds)");
    return 0;
}

static int validate(json_t *root, char *err, size_t errsz)
{
    const char *k;
    json_t *v;

    if (!json_is_object(root))
        return errf(err, errsz, "policy must be a JSON object");
    json_object_foreach(root, k, v)
        if (strcmp(k, "version") && strcmp(k, "digests") && strcmp(k, "launch") &&
            strcmp(k, "node_verdict_max_age") && strcmp(k, "image_signatures") &&
            strcmp(k, "reference_bundles") && strcmp(k, "runtime"))
            return errf(err, errsz, "unknown top-level key");
    if (json_integer_value(json_object_get(root, "version")) == 1)
        return errf(err, errsz, "version 1 policies are no longer read: their launch rules "
                    "miss mounts, users, devices, hooks and seccomp; start from `verifier "
                    "policy default` (version 2) and add the digests again");
    if (json_integer_value(json_object_get(root, "version")) != POLICY_VERSION ||
        !json_is_integer(json_object_get(root, "version")))
        return errf(err, errsz, "version must be 2");
    if (validate_digests(json_object_get(root, "digests"), err, errsz) < 0 ||
        launch_policy_validate(json_object_get(root, "launch"), err, errsz) < 0 ||
        node_max_age(root, err, errsz) < 0 ||
        runtime_policy_validate(json_object_get(root, "runtime"), err, errsz) < 0)
        return -EINVAL;
    return merge_launch(root, err, errsz);
}

static int parse_at(const char *text, size_t len, const char *base_dir, struct policy *p,
                    char *err, size_t errsz)
{
    json_error_t je;
    const json_t *sec;

    p->boot = NULL; /* loaded apart (--boot-policy), after the policy */
    p->sig = NULL;
    p->refs = NULL;
    p->boot_bundle = NULL;
    p->root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
    if (!p->root) {
        snprintf(err, errsz, "JSON: %.100s (line %d)", je.text, je.line);
        return -EINVAL;
    }
    if (validate(p->root, err, errsz) < 0) {
        policy_free(p);
        return -EINVAL;
    }
    sec = json_object_get(p->root, "image_signatures");
    if (sec && imagesig_parse(sec, &p->sig, err, errsz) < 0) {
        policy_free(p);
        return -EINVAL;
    }
    sec = json_object_get(p->root, "reference_bundles");
    if (sec && refbundle_section_parse(sec, base_dir, &p->refs, err, errsz) < 0) {
        policy_free(p);
        return -EINVAL;
    }
    return 0;
}

int policy_parse(const char *text, size_t len, struct policy *p, char *err, size_t errsz)
{
    return parse_at(text, len, NULL, p, err, errsz);
}

/* The bundles' boot reference values become p->boot (one bundle at most may carry them). */
static int bundles_boot(struct policy *p, char *err, size_t errsz)
{
    struct boot_policy *bp = NULL;
    char *text, why[200];

    for (size_t i = 0; i < p->refs->n; i++) {
        const struct refbundle *b = &p->refs->v[i];
        if (!b->boot)
            continue;
        if (p->boot_bundle) {
            snprintf(err, errsz, "reference bundles %.200s and %.200s both carry boot reference "
                     "values", p->boot_bundle->path, b->path);
            return -EINVAL;
        }
        text = json_dumps(b->boot, JSON_COMPACT);
        if (!text || bootpolicy_parse(text, strlen(text), &bp, why, sizeof(why)) < 0) {
            snprintf(err, errsz, "reference bundle %.200s: boot: %s", b->path,
                     text ? why : "out of memory");
            free(text);
            return -EINVAL;
        }
        free(text);
        p->boot = bp;
        p->boot_bundle = b;
    }
    return 0;
}

int policy_default(struct policy *p)
{
    char err[128];

    return policy_parse(default_policy, strlen(default_policy), p, err, sizeof(err));
}

int policy_load_flags(const char *path, struct policy *p, unsigned flags, char *err,
                      size_t errsz)
{
    uint8_t *buf;
    size_t len;
    char *dir = strdup(path);
    int r = dir ? file_read_all_flags(AT_FDCWD, path, 0, POLICY_MAX_SIZE, &buf, &len) : -ENOMEM;

    if (r < 0) {
        snprintf(err, errsz, "cannot read %s: %s", path, strerror(-r));
        free(dir);
        return r;
    }
    r = parse_at((const char *)buf, len, dirname(dir), p, err, errsz);
    free(buf);
    free(dir);
    if (r < 0 || !p->refs || (flags & POLICY_LOAD_NO_BUNDLES))
        return r;
    if (refbundle_set_load(p->refs, (int64_t)time(NULL), err, errsz) < 0 ||
        bundles_boot(p, err, errsz) < 0) {
        policy_free(p);
        return -EINVAL;
    }
    return 0;
}

int policy_load(const char *path, struct policy *p, char *err, size_t errsz)
{
    return policy_load_flags(path, p, 0, err, errsz);
}

char *policy_dump(const struct policy *p)
{
    return json_dumps(p->root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
}

int policy_save(const struct policy *p, const char *path)
{
    char *text = policy_dump(p), *d = strdup(path), *b = strdup(path);
    int dfd = -1, r = -ENOMEM;

    if (!text || !d || !b)
        goto out;
    dfd = open(dirname(d), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    r = dfd < 0 ? -errno : file_write_atomic(dfd, basename(b), text, strlen(text), 0644);
out:
    if (dfd >= 0)
        close(dfd);
    free(text);
    free(d);
    free(b);
    return r;
}

int64_t policy_node_max_age(const struct policy *p)
{
    json_t *v = p->root ? json_object_get(p->root, "node_verdict_max_age") : NULL;

    return json_is_integer(v) ? (int64_t)json_integer_value(v) : NODEVERDICT_MAX_AGE_DEFAULT;
}

void policy_free(struct policy *p)
{
    json_decref(p->root);
    p->root = NULL;
    bootpolicy_free(p->boot);
    p->boot = NULL;
    imagesig_free(p->sig);
    p->sig = NULL;
    refbundle_set_free(p->refs);
    p->refs = NULL;
    p->boot_bundle = NULL;
}

int policy_load_boot(struct policy *p, const char *path, char *err, size_t errsz)
{
    struct boot_policy *bp = NULL;

    if (p->boot_bundle) {
        snprintf(err, errsz, "boot reference values come from reference bundle %.200s already",
                 p->boot_bundle->path);
        return -EINVAL;
    }
    if (bootpolicy_load(path, &bp, err, errsz) < 0)
        return -EINVAL;
    bootpolicy_free(p->boot);
    p->boot = bp;
    return 0;
}

int policy_normalize_digest(const char *in, char out[72])
{
    size_t n;

    if (!in)
        return -EINVAL;
    if (!strncasecmp(in, "sha256:", 7))
        in += 7;
    n = strlen(in);
    if (n != 64)
        return -EINVAL;
    memcpy(out, "sha256:", 7);
    for (size_t i = 0; i < n; i++) {
        if (!isxdigit((unsigned char)in[i]))
            return -EINVAL;
        out[7 + i] = (char)tolower((unsigned char)in[i]);
    }
    out[71] = '\0';
    return 0;
}

static int list_contains(const json_t *list, const char *norm)
{
    size_t i;
    json_t *e;
    char n2[72];

    json_array_foreach(list, i, e)
        if (policy_normalize_digest(json_string_value(e), n2) == 0 && !strcmp(n2, norm))
            return 1;
    return 0;
}

int policy_allow(struct policy *p, enum policy_list which, const char *digest)
{
    json_t *d = json_object_get(p->root, "digests"), *list;
    char norm[72];

    if (policy_normalize_digest(digest, norm) < 0 || !d)
        return -EINVAL;
    list = json_object_get(d, list_names[which]);
    if (!json_is_array(list)) {
        list = json_array();
        if (!list || json_object_set_new(d, list_names[which], list) < 0)
            return -ENOMEM;
    }
    if (list_contains(list, norm))
        return 0;
    return json_array_append_new(list, json_string(norm)) < 0 ? -ENOMEM : 0;
}

int policy_digest_allowed(const struct policy *p, enum policy_list which, const char *digest,
                          int64_t now, const char **expired_in)
{
    const json_t *list = json_object_get(json_object_get(p->root, "digests"), list_names[which]);
    char norm[72];

    *expired_in = NULL;
    if (!json_is_array(list) && !refbundle_has_list(p->refs, list_names[which]))
        return -1;
    if (policy_normalize_digest(digest, norm) < 0)
        return 0;
    if (json_is_array(list) && list_contains(list, norm))
        return 1;
    return refbundle_lists(p->refs, list_names[which], norm, now, expired_in);
}

void policy_check_boot_period(const struct policy *p, int64_t now, struct reasons *r)
{
    const struct refbundle *b = p->boot_bundle;

    if (b && (now < b->not_before || now > b->not_after))
        reasons_add(r, "host-boot-reference-expired", "%.200s", b->path);
}

static void check_list(const struct policy *p, enum policy_list which, int has, const char *dg,
                       int64_t now, struct reasons *r)
{
    const char *expired_in;
    char code[48];
    int ok = policy_digest_allowed(p, which, dg, now, &expired_in);

    if (ok < 0)
        return;
    if (!has || !dg[0]) {
        snprintf(code, sizeof(code), "%s-not-measured", list_names[which]);
        reasons_add(r, code, NULL);
        return;
    }
    snprintf(code, sizeof(code), "%s-digest-not-allowed", list_names[which]);
    if (!ok && expired_in)
        reasons_add(r, code, "%.80s (reference bundle %.200s is out of its period)", dg,
                    expired_in);
    else if (!ok)
        reasons_add(r, code, "%.80s", dg);
}

void policy_check(const struct policy *p, const struct measurements *m, struct reasons *r)
{
    int64_t now = (int64_t)time(NULL);

    check_list(p, POLICY_IMAGE, m->has_image, m->image_digest, now, r);
    check_list(p, POLICY_ROOTFS, m->has_rootfs, m->rootfs_digest, now, r);
    check_list(p, POLICY_RUNTIME, m->has_runtime, m->runtime_digest, now, r);
    check_list(p, POLICY_AGENT, m->has_agent, m->agent_digest, now, r);
    imagesig_check(p->sig, m->image_ref, m->has_image ? m->image_digest : "", now, r);
    if (!m->launch_config)
        reasons_add(r, "launch-config-missing", NULL);
    else
        launch_policy_check(json_object_get(p->root, "launch"), m->launch_config, r);
}
