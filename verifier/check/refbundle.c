/* SPDX-License-Identifier: BSD-3-Clause */
/* Signed reference-value bundles: parse, verify the detached signature and validity, look up. */
#include "check/refbundle.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fileio.h"
#include "boot/bootpolicy.h"
#include "check/policy.h"
#include "check/errfmt.h"

#define SIGFILE_MAX 2048u

static const char *const lists[] = { "image", "rootfs", "runtime", "agent" };

int refbundle_section_parse(const json_t *sec, const char *base_dir, struct refbundle_set **out,
                            char *err, size_t errsz)
{
    struct refbundle_set *s;
    const char *k;
    json_t *v, *files, *req;
    size_t i;
    char why[200];

    *out = NULL;
    if (!json_is_object(sec))
        return errf_inval(err, errsz, "reference_bundles must be an object");
    json_object_foreach((json_t *)sec, k, v)
        if (strcmp(k, "publishers") && strcmp(k, "revoked_keys") && strcmp(k, "files") &&
            strcmp(k, "require_signed"))
            return errf_inval(err, errsz, "reference_bundles: unknown key %.40s (publishers, "
                              "revoked_keys, files, require_signed)", k);
    req = json_object_get(sec, "require_signed");
    if (req && !json_is_boolean(req))
        return errf_inval(err, errsz, "reference_bundles.require_signed must be true or false");
    files = json_object_get(sec, "files");
    if (!json_is_array(files) || json_array_size(files) > REFBUNDLE_FILES_MAX)
        return errf_inval(err, errsz, "reference_bundles.files must be an array of at most %d "
                          "file names", REFBUNDLE_FILES_MAX);
    s = calloc(1, sizeof(*s));
    if (!s)
        return errf_inval(err, errsz, "out of memory");
    s->require_signed = req ? json_is_true(req) : 1;
    if (sigkeys_parse(json_object_get(sec, "publishers"), json_object_get(sec, "revoked_keys"),
                      &s->publishers, why, sizeof(why)) < 0) {
        free(s);
        return errf_inval(err, errsz, "reference_bundles.publishers: %s", why);
    }
    json_array_foreach(files, i, v) {
        const char *f = json_string_value(v);
        int n;
        if (!f || !f[0] || (f[0] != '/' && !base_dir)) {
            refbundle_set_free(s);
            return errf_inval(err, errsz, "reference_bundles.files[%zu] must be a file name%s", i,
                              base_dir ? "" : " (absolute here)");
        }
        n = f[0] == '/' || !strcmp(base_dir, ".") ? snprintf(s->files[i], PATH_MAX, "%s", f)
                        : snprintf(s->files[i], PATH_MAX, "%s/%s", base_dir, f);
        if (n < 0 || n >= PATH_MAX) {
            refbundle_set_free(s);
            return errf_inval(err, errsz, "reference_bundles.files[%zu] is too long", i);
        }
        s->nfiles++;
    }
    *out = s;
    return 0;
}

void refbundle_free(struct refbundle *b)
{
    json_decref(b->digests);
    json_decref(b->boot);
    b->digests = b->boot = NULL;
}

void refbundle_set_free(struct refbundle_set *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n; i++)
        refbundle_free(&s->v[i]);
    free(s->v);
    sigkeys_free(&s->publishers);
    free(s);
}

static int parse_digests(const json_t *d, json_t **out, char *err, size_t errsz)
{
    const char *k;
    json_t *v, *e, *norm = json_object();
    size_t i;
    char n[72];

    if (!norm)
        return errf_inval(err, errsz, "out of memory");
    if (!json_is_object(d)) {
        json_decref(norm);
        return errf_inval(err, errsz, "digests must be an object");
    }
    json_object_foreach((json_t *)d, k, v) {
        json_t *l;
        size_t j;
        for (j = 0; j < 4 && strcmp(k, lists[j]); j++)
            ;
        if (j == 4 || !json_is_array(v)) {
            json_decref(norm);
            return errf_inval(err, errsz, "digests.%.20s: not one of image, rootfs, runtime, "
                              "agent with an array", k);
        }
        l = json_array();
        json_object_set_new(norm, k, l);
        json_array_foreach(v, i, e) {
            if (policy_normalize_digest(json_string_value(e), n) < 0) {
                json_decref(norm);
                return errf_inval(err, errsz, "digests.%s[%zu] is not sha256:<64 hex>", k, i);
            }
            json_array_append_new(l, json_string(n));
        }
    }
    *out = norm;
    return 0;
}

int refbundle_parse(const uint8_t *buf, size_t len, struct refbundle *out, char *err,
                    size_t errsz)
{
    json_error_t je;
    json_t *root = json_loadb((const char *)buf, len, JSON_REJECT_DUPLICATES, &je), *v;
    const char *k, *pub, *type;
    struct boot_policy *bp = NULL;
    char why[200];
    char *text;
    int r = -EINVAL;

    memset(out, 0, sizeof(*out));
    if (!root)
        return errf_inval(err, errsz, "malformed: JSON: %.100s (line %d)", je.text, je.line);
    if (!json_is_object(root)) {
        errf_inval(err, errsz, "malformed: not a JSON object");
        goto out;
    }
    json_object_foreach(root, k, v)
        if (strcmp(k, "type") && strcmp(k, "version") && strcmp(k, "publisher") &&
            strcmp(k, "not_before") && strcmp(k, "not_after") && strcmp(k, "digests") &&
            strcmp(k, "boot") && strcmp(k, "comment")) {
            errf_inval(err, errsz, "malformed: unknown key %.40s", k);
            goto out;
        }
    type = json_string_value(json_object_get(root, "type"));
    pub = json_string_value(json_object_get(root, "publisher"));
    if (!type || strcmp(type, REFBUNDLE_TYPE) ||
        json_integer_value(json_object_get(root, "version")) != REFBUNDLE_VERSION ||
        !json_is_integer(json_object_get(root, "version"))) {
        errf_inval(err, errsz, "malformed: type must be \"%s\" and version %d", REFBUNDLE_TYPE,
                   REFBUNDLE_VERSION);
        goto out;
    }
    if (!pub || !pub[0] || strlen(pub) >= sizeof(out->publisher)) {
        errf_inval(err, errsz, "malformed: publisher must be a name of 1-63 characters");
        goto out;
    }
    snprintf(out->publisher, sizeof(out->publisher), "%s", pub);
    if (sig_time_parse(json_string_value(json_object_get(root, "not_before")),
                       &out->not_before) < 0 ||
        sig_time_parse(json_string_value(json_object_get(root, "not_after")),
                       &out->not_after) < 0 || out->not_after < out->not_before) {
        errf_inval(err, errsz, "malformed: not_before and not_after must be UTC times as "
                   "2026-01-31T00:00:00Z, not_after not before not_before");
        goto out;
    }
    if ((v = json_object_get(root, "comment")) && !json_is_string(v)) {
        errf_inval(err, errsz, "malformed: comment must be a string");
        goto out;
    }
    v = json_object_get(root, "digests");
    if (v && parse_digests(v, &out->digests, why, sizeof(why)) < 0) {
        errf_inval(err, errsz, "malformed: %s", why);
        goto out;
    }
    v = json_object_get(root, "boot");
    if (v) { /* a boot reference policy, validated as one */
        text = json_dumps(v, JSON_COMPACT);
        if (!text || bootpolicy_parse(text, strlen(text), &bp, why, sizeof(why)) < 0) {
            errf_inval(err, errsz, "malformed: boot: %s", text ? why : "out of memory");
            free(text);
            goto out;
        }
        free(text);
        bootpolicy_free(bp);
        out->boot = json_incref(v);
    }
    if (!out->digests && !out->boot) {
        errf_inval(err, errsz, "malformed: neither digests nor boot");
        goto out;
    }
    r = 0;
out:
    if (r < 0)
        refbundle_free(out);
    json_decref(root);
    return r;
}

int refbundle_load(const struct refbundle_set *s, const char *path, int64_t now,
                   struct refbundle *out, char *err, size_t errsz)
{
    char sigpath[PATH_MAX + 8], t[32], why[300];
    uint8_t *buf = NULL, *sigtext = NULL, *sig = NULL;
    size_t len, slen, siglen;
    const struct sigkey *k;
    int r, ki;

    memset(out, 0, sizeof(*out));
    r = file_read_all_flags(AT_FDCWD, path, 0, REFBUNDLE_MAX_SIZE, &buf, &len);
    if (r < 0)
        return errf_inval(err, errsz, "cannot read: %s", strerror(-r));
    if (refbundle_parse(buf, len, out, why, sizeof(why)) < 0) {
        free(buf);
        return errf_inval(err, errsz, "%s", why);
    }
    snprintf(out->path, sizeof(out->path), "%s", path);
    snprintf(sigpath, sizeof(sigpath), "%s.sig", path);
    r = file_read_all_flags(AT_FDCWD, sigpath, 0, SIGFILE_MAX, &sigtext, &slen);
    if (r == -ENOENT && !s->require_signed) {
        out->is_signed = 0; /* accepted unsigned: the policy does not require signatures */
    } else if (r < 0) {
        r = r == -ENOENT ? errf_inval(err, errsz, "unsigned (no %s; "
                                      "reference_bundles.require_signed is true)", sigpath)
                         : errf_inval(err, errsz, "cannot read %s: %s", sigpath, strerror(-r));
        goto fail;
    } else {
        while (slen && (sigtext[slen - 1] == '\n' || sigtext[slen - 1] == '\r'))
            sigtext[--slen] = '\0';
        ki = sigkeys_find(&s->publishers, out->publisher);
        if (ki < 0) {
            r = errf_inval(err, errsz, "publisher %s is not in reference_bundles.publishers",
                           out->publisher);
            goto fail;
        }
        k = &s->publishers.v[ki];
        if (sig_b64_decode((const char *)sigtext, 512, &sig, &siglen) < 0 ||
            !sigkey_verify(k, buf, len, sig, siglen)) {
            r = errf_inval(err, errsz, "signature invalid: %s does not verify with publisher %s's "
                           "key", sigpath, k->name);
            goto fail;
        }
        switch (sigkey_state_at(k, now)) {
        case SIGKEY_REVOKED:
            r = errf_inval(err, errsz, "publisher key %s is revoked", k->name);
            goto fail;
        case SIGKEY_EXPIRED:
            sig_time_format(k->not_after, t, sizeof(t));
            r = errf_inval(err, errsz, "publisher key %s expired at %s", k->name, t);
            goto fail;
        case SIGKEY_NOT_YET_VALID:
            sig_time_format(k->not_before, t, sizeof(t));
            r = errf_inval(err, errsz, "publisher key %s is not valid before %s", k->name, t);
            goto fail;
        case SIGKEY_VALID:
            break;
        }
        out->is_signed = 1;
        if (k->not_before > out->not_before)
            out->not_before = k->not_before;
        if (k->not_after < out->not_after)
            out->not_after = k->not_after;
    }
    if (now > out->not_after) {
        sig_time_format(out->not_after, t, sizeof(t));
        r = errf_inval(err, errsz, "expired at %s", t);
        goto fail;
    }
    if (now < out->not_before) {
        sig_time_format(out->not_before, t, sizeof(t));
        r = errf_inval(err, errsz, "not valid before %s", t);
        goto fail;
    }
    r = 0;
    goto done;
fail:
    refbundle_free(out);
done:
    free(buf);
    free(sigtext);
    free(sig);
    return r;
}

int refbundle_set_load(struct refbundle_set *s, int64_t now, char *err, size_t errsz)
{
    char why[400];

    if (s->nfiles && !(s->v = calloc(s->nfiles, sizeof(*s->v))))
        return errf_inval(err, errsz, "out of memory");
    for (size_t i = 0; i < s->nfiles; i++) {
        if (refbundle_load(s, s->files[i], now, &s->v[s->n], why, sizeof(why)) < 0)
            return errf_inval(err, errsz, "reference bundle %s: %s", s->files[i], why);
        s->n++;
    }
    return 0;
}

int refbundle_lists(const struct refbundle_set *s, const char *which, const char *digest,
                    int64_t now, const char **expired_in)
{
    *expired_in = NULL;
    if (!s)
        return 0;
    for (size_t i = 0; i < s->n; i++) {
        const json_t *l = json_object_get(s->v[i].digests, which), *e;
        size_t j;
        json_array_foreach(l, j, e) {
            if (strcmp(json_string_value(e), digest))
                continue;
            if (now >= s->v[i].not_before && now <= s->v[i].not_after) {
                *expired_in = NULL;
                return 1;
            }
            *expired_in = s->v[i].path;
        }
    }
    return 0;
}

int refbundle_has_list(const struct refbundle_set *s, const char *which)
{
    for (size_t i = 0; s && i < s->n; i++)
        if (json_object_get(s->v[i].digests, which))
            return 1;
    return 0;
}
