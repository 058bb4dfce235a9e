/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * cosign-compatible image signatures, checked by the verifier against the measured image.
 * Signatures come from stores on the verifier's disk: an OCI image layout (signature manifest
 * under the tag sha256-<hex>.sig, as cosign pushes it and `skopeo copy` mirrors it) or
 * containers/image `dir:` layouts (manifest.json + signature-N). Keys: sigkeys.c.
 */
#include "check/imagesig.h"

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/sha.h>

#include "fileio.h"
#include "hexutil.h"
#include "check/policy.h"
#include "check/sigkeys.h"
#include "check/errfmt.h"

#define RULES_MAX 256
#define RULE_KEYS_MAX 16
#define PATTERN_MAX 256
#define STORES_MAX 16
#define DIR_LAYOUTS_MAX 1024
#define MANIFEST_MAX (4u * 1024u * 1024u)
#define INDEX_MAX (4u * 1024u * 1024u)
#define SIGTEXT_MAX 2048u
#define DIRSIG_PREFIX "\0sigstore-json\n"
#define DIRSIG_PREFIX_LEN 15
#define PAYLOAD_TYPE "cosign container image signature"

struct rule {
    char pattern[PATTERN_MAX];
    int keys[RULE_KEYS_MAX];
    size_t nkeys;
};

struct store {
    int oci; /* else dir: */
    char path[PATH_MAX - 512];
};

struct imagesig_policy {
    struct sigkeys keys;
    struct rule rules[RULES_MAX];
    size_t nrules;
    struct store stores[STORES_MAX];
    size_t nstores;
};

/* What the stores hold for one digest. */
struct found {
    int manifest;          /* the manifest bytes were found */
    int blob_mismatch;     /* an OCI blob did not hash to its name */
    char manifest_digest[72]; /* our own SHA-256 of them */
    struct imagesig_blob sig[IMAGESIG_MAX_SIGS];
    size_t nsig;
    size_t malformed;      /* signature entries that could not be read */
};

void imagesig_blob_free(struct imagesig_blob *b)
{
    free(b->payload);
    free(b->sig);
    b->payload = b->sig = NULL;
    b->payload_len = b->sig_len = 0;
}

static void sha256_text(const uint8_t *b, size_t n, char out[72])
{
    uint8_t md[32];

    SHA256(b, n, md);
    memcpy(out, "sha256:", 7);
    hex_encode(md, 32, out + 7);
}

/* ---- policy section ---- */

static int parse_rules(struct imagesig_policy *p, const json_t *arr, char *err, size_t errsz)
{
    size_t i, j;
    json_t *e, *k;
    const char *kk;

    if (!json_is_array(arr) || json_array_size(arr) == 0 || json_array_size(arr) > RULES_MAX)
        return errf_inval(err, errsz, "image_signatures.rules must be an array of 1 to 256 rules");
    json_array_foreach(arr, i, e) {
        struct rule *ru = &p->rules[p->nrules++];
        const char *pat = json_string_value(json_object_get(e, "images"));
        json_t *keys = json_object_get(e, "keys");
        char where[48];

        snprintf(where, sizeof(where), "image_signatures.rules[%zu]", i);
        if (!json_is_object(e))
            return errf_inval(err, errsz, "%s must be an object", where);
        json_object_foreach(e, kk, k)
            if (strcmp(kk, "images") && strcmp(kk, "keys"))
                return errf_inval(err, errsz, "%s: unknown key (images, keys)", where);
        if (!pat || !pat[0] || strlen(pat) >= PATTERN_MAX)
            return errf_inval(err, errsz, "%s: images must be a pattern of 1-255 characters",
                              where);
        snprintf(ru->pattern, sizeof(ru->pattern), "%s", pat);
        if (!json_is_array(keys) || json_array_size(keys) == 0 ||
            json_array_size(keys) > RULE_KEYS_MAX)
            return errf_inval(err, errsz, "%s: keys must be an array of 1 to 16 key names", where);
        json_array_foreach(keys, j, k) {
            int idx = json_is_string(k) ? sigkeys_find(&p->keys, json_string_value(k)) : -1;
            if (idx < 0) {
                snprintf(err, errsz, "%s: key %.64s is not in image_signatures.keys", where,
                         json_is_string(k) ? json_string_value(k) : "(not a string)");
                return -EINVAL;
            }
            ru->keys[ru->nkeys++] = idx;
        }
    }
    return 0;
}

static int parse_stores(struct imagesig_policy *p, const json_t *arr, char *err, size_t errsz)
{
    size_t i;
    json_t *e;

    if (!json_is_array(arr) || json_array_size(arr) == 0 || json_array_size(arr) > STORES_MAX)
        return errf_inval(err, errsz, "image_signatures.stores must be an array of 1 to 16 stores");
    json_array_foreach(arr, i, e) {
        struct store *s = &p->stores[p->nstores++];
        json_t *oci = json_object_get(e, "oci"), *dir = json_object_get(e, "dir");
        const char *path = json_string_value(oci ? oci : dir);

        if (!json_is_object(e) || json_object_size(e) != 1 || !path || path[0] != '/' ||
            strlen(path) >= sizeof(s->path) - 128) {
            snprintf(err, errsz, "image_signatures.stores[%zu] must be {\"oci\": \"/abs/path\"} "
                     "or {\"dir\": \"/abs/path\"}", i);
            return -EINVAL;
        }
        s->oci = oci != NULL;
        snprintf(s->path, sizeof(s->path), "%s", path);
    }
    return 0;
}

int imagesig_parse(const json_t *section, struct imagesig_policy **out, char *err, size_t errsz)
{
    struct imagesig_policy *p;
    const char *k;
    json_t *v;
    char why[200];

    *out = NULL;
    if (!json_is_object(section))
        return errf_inval(err, errsz, "image_signatures must be an object");
    json_object_foreach((json_t *)section, k, v)
        if (strcmp(k, "keys") && strcmp(k, "revoked_keys") && strcmp(k, "rules") &&
            strcmp(k, "stores"))
            return errf_inval(err, errsz, "image_signatures: unknown key %.40s (keys, "
                              "revoked_keys, rules, stores)", k);
    p = calloc(1, sizeof(*p));
    if (!p)
        return errf_inval(err, errsz, "out of memory");
    if (sigkeys_parse(json_object_get(section, "keys"), json_object_get(section, "revoked_keys"),
                      &p->keys, why, sizeof(why)) < 0) {
        snprintf(err, errsz, "image_signatures: %s", why);
        free(p);
        return -EINVAL;
    }
    if (parse_rules(p, json_object_get(section, "rules"), err, errsz) < 0 ||
        parse_stores(p, json_object_get(section, "stores"), err, errsz) < 0) {
        imagesig_free(p);
        return -EINVAL;
    }
    *out = p;
    return 0;
}

void imagesig_free(struct imagesig_policy *p)
{
    if (!p)
        return;
    sigkeys_free(&p->keys);
    free(p);
}

/* ---- untrusted input ---- */

int imagesig_repository(const char *ref, char *out, size_t outsz)
{
    size_t n = strcspn(ref, "@");
    const char *slash, *colon;

    if (n >= outsz)
        return -1;
    memcpy(out, ref, n);
    out[n] = '\0';
    slash = strrchr(out, '/');
    colon = strrchr(out, ':');
    if (colon && (!slash || colon > slash))
        out[colon - out] = '\0';
    return 0;
}

int imagesig_parse_payload(const uint8_t *buf, size_t len, char digest_out[72], char *ref_out,
                           size_t refsz)
{
    json_t *root = json_loadb((const char *)buf, len, JSON_REJECT_DUPLICATES, NULL);
    json_t *crit = json_object_get(root, "critical");
    const char *type = json_string_value(json_object_get(crit, "type"));
    const char *dg = json_string_value(json_object_get(json_object_get(crit, "image"),
                                                       "docker-manifest-digest"));
    const char *ref = json_string_value(json_object_get(json_object_get(crit, "identity"),
                                                        "docker-reference"));
    int r = -EINVAL;

    if (json_is_object(root) && json_is_object(crit) && type && !strcmp(type, PAYLOAD_TYPE) &&
        dg && policy_normalize_digest(dg, digest_out) == 0 && !strncmp(dg, "sha256:", 7) &&
        ref && strlen(ref) < refsz) {
        snprintf(ref_out, refsz, "%s", ref);
        r = 0;
    }
    json_decref(root);
    return r;
}

int imagesig_parse_dirsig(const uint8_t *buf, size_t len, struct imagesig_blob *out)
{
    json_t *root, *ann;
    const char *mime, *payload, *sig;
    int r = -EINVAL;

    memset(out, 0, sizeof(*out));
    if (len < DIRSIG_PREFIX_LEN || memcmp(buf, DIRSIG_PREFIX, DIRSIG_PREFIX_LEN))
        return 0; /* another kind of signature (e.g. simple signing with GPG) */
    root = json_loadb((const char *)buf + DIRSIG_PREFIX_LEN, len - DIRSIG_PREFIX_LEN,
                      JSON_REJECT_DUPLICATES, NULL);
    mime = json_string_value(json_object_get(root, "mimeType"));
    payload = json_string_value(json_object_get(root, "payload"));
    ann = json_object_get(root, "annotations");
    sig = json_string_value(json_object_get(ann, IMAGESIG_ANNOTATION));
    if (json_is_object(root) && mime && strcmp(mime, IMAGESIG_MEDIATYPE)) {
        r = 0; /* an attachment of another type */
        goto out;
    }
    if (!json_is_object(root) || !mime || !payload || !json_is_object(ann) || !sig)
        goto out;
    if (sig_b64_decode(payload, IMAGESIG_MAX_BLOB, &out->payload, &out->payload_len) < 0 ||
        sig_b64_decode(sig, SIGTEXT_MAX, &out->sig, &out->sig_len) < 0) {
        imagesig_blob_free(out);
        goto out;
    }
    r = 1;
out:
    json_decref(root);
    return r;
}

static int digest_ok(const char *d)
{
    uint8_t tmp[32];

    if (!d || strlen(d) != 71 || strncmp(d, "sha256:", 7) || hex_decode_exact(d + 7, tmp, 32))
        return 0;
    for (const char *p = d + 7; *p; p++)
        if (*p >= 'A' && *p <= 'F')
            return 0;
    return 1;
}

int imagesig_parse_sigmanifest(const uint8_t *buf, size_t len,
                               int (*cb)(void *arg, const char *digest, const char *sig_b64),
                               void *arg)
{
    json_t *root = json_loadb((const char *)buf, len, JSON_REJECT_DUPLICATES, NULL);
    json_t *layers = json_object_get(root, "layers"), *l;
    size_t i;
    int n = 0;

    if (!json_is_object(root) || !json_is_array(layers)) {
        json_decref(root);
        return -EINVAL;
    }
    json_array_foreach(layers, i, l) {
        const char *mt = json_string_value(json_object_get(l, "mediaType"));
        const char *dg = json_string_value(json_object_get(l, "digest"));
        const char *sig = json_string_value(json_object_get(json_object_get(l, "annotations"),
                                                            IMAGESIG_ANNOTATION));
        if (!mt || strcmp(mt, IMAGESIG_MEDIATYPE))
            continue;
        if (n >= IMAGESIG_MAX_SIGS)
            break;
        n++;
        if (cb(arg, digest_ok(dg) ? dg : NULL, sig) < 0)
            break;
    }
    json_decref(root);
    return n;
}

/* ---- stores ---- */

/* blobs/sha256/<hex> of an OCI layout, checked to hash to its name. 0, -ENOENT, -EBADMSG
 * (content does not match the name), other negative errno. */
static int oci_blob(const struct store *s, const char *digest, size_t max, uint8_t **buf,
                    size_t *len)
{
    char path[PATH_MAX], got[72];
    int r;

    if (!digest_ok(digest))
        return -EINVAL;
    snprintf(path, sizeof(path), "%s/blobs/sha256/%s", s->path, digest + 7);
    r = file_read_all_flags(AT_FDCWD, path, 0, max, buf, len);
    if (r < 0)
        return r;
    sha256_text(*buf, *len, got);
    if (strcmp(got, digest)) {
        free(*buf);
        *buf = NULL;
        return -EBADMSG;
    }
    return 0;
}

struct layer_ctx {
    const struct store *s;
    struct found *f;
};

static int oci_layer(void *arg, const char *digest, const char *sig_b64)
{
    struct layer_ctx *c = arg;
    struct imagesig_blob *b;
    int r;

    if (c->f->nsig >= IMAGESIG_MAX_SIGS)
        return -1;
    b = &c->f->sig[c->f->nsig];
    memset(b, 0, sizeof(*b));
    if (!digest || !sig_b64 ||
        sig_b64_decode(sig_b64, SIGTEXT_MAX, &b->sig, &b->sig_len) < 0) {
        c->f->malformed++;
        imagesig_blob_free(b);
        return 0;
    }
    r = oci_blob(c->s, digest, IMAGESIG_MAX_BLOB, &b->payload, &b->payload_len);
    if (r < 0) {
        c->f->malformed++;
        c->f->blob_mismatch |= r == -EBADMSG;
        imagesig_blob_free(b);
        return 0;
    }
    c->f->nsig++;
    return 0;
}

static void oci_lookup(const struct store *s, const char *digest, struct found *f)
{
    char path[PATH_MAX], tag[80];
    uint8_t *buf = NULL, *mf = NULL;
    size_t len, mlen;
    json_t *idx = NULL, *e;
    size_t i;
    int r;

    r = oci_blob(s, digest, MANIFEST_MAX, &mf, &mlen);
    if (r == -EBADMSG)
        f->blob_mismatch = 1;
    if (r < 0)
        return;
    f->manifest = 1;
    sha256_text(mf, mlen, f->manifest_digest);
    free(mf);
    snprintf(path, sizeof(path), "%s/index.json", s->path);
    if (file_read_all_flags(AT_FDCWD, path, 0, INDEX_MAX, &buf, &len) < 0)
        return;
    idx = json_loadb((const char *)buf, len, JSON_REJECT_DUPLICATES, NULL);
    free(buf);
    snprintf(tag, sizeof(tag), "sha256-%s.sig", digest + 7);
    json_array_foreach(json_object_get(idx, "manifests"), i, e) {
        const char *name = json_string_value(json_object_get(
            json_object_get(e, "annotations"), "org.opencontainers.image.ref.name"));
        struct layer_ctx c = { s, f };
        if (!name || strcmp(name, tag))
            continue;
        if (oci_blob(s, json_string_value(json_object_get(e, "digest")), MANIFEST_MAX, &buf,
                     &len) < 0) {
            f->malformed++;
            continue;
        }
        if (imagesig_parse_sigmanifest(buf, len, oci_layer, &c) < 0)
            f->malformed++;
        free(buf);
    }
    json_decref(idx);
}

/* One `dir:` layout: when its manifest.json hashes to digest, its signature-N files. */
static int dir_layout(const char *dir, const char *digest, struct found *f)
{
    char path[PATH_MAX], got[72];
    uint8_t *buf;
    size_t len;

    snprintf(path, sizeof(path), "%s/manifest.json", dir);
    if (file_read_all_flags(AT_FDCWD, path, 0, MANIFEST_MAX, &buf, &len) < 0)
        return 0;
    sha256_text(buf, len, got);
    free(buf);
    if (strcmp(got, digest))
        return 0;
    f->manifest = 1;
    memcpy(f->manifest_digest, got, sizeof(got));
    for (int i = 1; i <= IMAGESIG_MAX_SIGS && f->nsig < IMAGESIG_MAX_SIGS; i++) {
        int r;
        snprintf(path, sizeof(path), "%s/signature-%d", dir, i);
        if (file_read_all_flags(AT_FDCWD, path, 0, IMAGESIG_MAX_BLOB * 2, &buf, &len) < 0)
            break; /* numbered from 1 without gaps */
        r = imagesig_parse_dirsig(buf, len, &f->sig[f->nsig]);
        free(buf);
        if (r > 0)
            f->nsig++;
        else if (r < 0)
            f->malformed++;
    }
    return 1;
}

static void dir_lookup(const struct store *s, const char *digest, struct found *f)
{
    char path[PATH_MAX];
    struct dirent *de;
    DIR *d;
    size_t n = 0;

    snprintf(path, sizeof(path), "%s/manifest.json", s->path);
    if (access(path, F_OK) == 0) { /* the store is one layout */
        dir_layout(s->path, digest, f);
        return;
    }
    d = opendir(s->path);
    if (!d)
        return;
    while ((de = readdir(d)) && n++ < DIR_LAYOUTS_MAX) {
        if (de->d_name[0] == '.')
            continue;
        snprintf(path, sizeof(path), "%s/%s", s->path, de->d_name);
        if (dir_layout(path, digest, f))
            break;
    }
    closedir(d);
}

/* ---- the check ---- */

static const struct rule *rule_for(const struct imagesig_policy *p, const char *repo)
{
    for (size_t i = 0; i < p->nrules; i++)
        if (fnmatch(p->rules[i].pattern, repo, 0) == 0)
            return &p->rules[i];
    return NULL;
}

enum outcome { O_NONE, O_INVALID, O_MISMATCH, O_EXPIRED, O_REVOKED, O_OK };

/* What one signature proves under the rule: the best outcome over its keys. */
static enum outcome judge_sig(const struct imagesig_policy *p, const struct rule *ru,
                              const struct imagesig_blob *b, const char *manifest_digest,
                              int64_t now, const char **keyname)
{
    char dg[72], ref[512], repo[512];
    enum outcome best = O_INVALID;

    for (size_t i = 0; i < ru->nkeys; i++) {
        const struct sigkey *k = &p->keys.v[ru->keys[i]];
        enum outcome o;
        enum sigkey_state st;

        if (!sigkey_verify(k, b->payload, b->payload_len, b->sig, b->sig_len))
            continue;
        /* Signed by a trusted key: now what it says and whether the key still counts. */
        if (imagesig_parse_payload(b->payload, b->payload_len, dg, ref, sizeof(ref)) < 0 ||
            imagesig_repository(ref, repo, sizeof(repo)) < 0 ||
            fnmatch(ru->pattern, repo, 0) != 0)
            o = O_INVALID;
        else if (strcmp(dg, manifest_digest))
            o = O_MISMATCH;
        else if ((st = sigkey_state_at(k, now)) == SIGKEY_REVOKED)
            o = O_REVOKED;
        else if (st != SIGKEY_VALID)
            o = O_EXPIRED;
        else
            o = O_OK;
        if (o > best) {
            best = o;
            *keyname = k->name;
        }
    }
    return best;
}

void imagesig_check(const struct imagesig_policy *p, const char *ref, const char *digest,
                    int64_t now, struct reasons *r)
{
    char repo[512], norm[72];
    const struct rule *ru;
    struct found f;
    enum outcome best = O_NONE;
    const char *key = "";

    if (!p)
        return;
    if (imagesig_repository(ref ? ref : "", repo, sizeof(repo)) < 0) {
        reasons_add(r, "image-unsigned", "reference too long");
        return;
    }
    ru = rule_for(p, repo);
    if (!ru)
        return; /* no rule names this image: signatures are not required */
    if (!digest || policy_normalize_digest(digest, norm) < 0) {
        if (!reasons_has(r, "image-not-measured"))
            reasons_add(r, "image-not-measured", NULL);
        return;
    }
    memset(&f, 0, sizeof(f));
    for (size_t i = 0; i < p->nstores && !f.manifest; i++) {
        if (p->stores[i].oci)
            oci_lookup(&p->stores[i], norm, &f);
        else
            dir_lookup(&p->stores[i], norm, &f);
    }
    if (!f.manifest) {
        if (f.blob_mismatch)
            reasons_add(r, "image-manifest-mismatch", "%.71s store blob does not hash to its "
                        "name", norm);
        else
            reasons_add(r, "image-unsigned", "%.200s %.71s: manifest not in a signature store",
                        repo, norm);
        return;
    }
    if (strcmp(f.manifest_digest, norm)) { /* not reached: looked up by content */
        reasons_add(r, "image-manifest-mismatch", "%.71s", norm);
        return;
    }
    for (size_t i = 0; i < f.nsig; i++) {
        const char *kn = "";
        enum outcome o = judge_sig(p, ru, &f.sig[i], f.manifest_digest, now, &kn);
        if (o > best) {
            best = o;
            key = kn;
        }
    }
    for (size_t i = 0; i < f.nsig; i++)
        imagesig_blob_free(&f.sig[i]);
    if (best == O_OK)
        return;
    if (f.nsig == 0 && !f.malformed && !f.blob_mismatch) {
        reasons_add(r, "image-unsigned", "%.200s %.71s", repo, norm);
        return;
    }
    if (best == O_REVOKED)
        reasons_add(r, "image-signing-key-revoked", "%s", key);
    else if (best == O_EXPIRED)
        reasons_add(r, "image-signing-key-expired", "%s", key);
    else if (best == O_MISMATCH)
        reasons_add(r, "image-manifest-mismatch", "%.71s signed for another digest", norm);
    else if (f.blob_mismatch)
        reasons_add(r, "image-manifest-mismatch", "%.71s store blob does not hash to its name",
                    norm);
    else
        reasons_add(r, "image-signature-invalid", "%.200s: no signature verifies with a key "
                    "of rule %.100s", repo, ru->pattern);
}
