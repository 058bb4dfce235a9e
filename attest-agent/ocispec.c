/* SPDX-License-Identifier: BSD-3-Clause */
/* OCI runtime state and bundle config.json parsing: validated with jansson before use. */
#include "ocispec.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fileio.h"
#include "log.h"

static int annotations_valid(json_t *a)
{
    const char *k;
    json_t *v;

    if (!json_is_object(a))
        return 0;
    json_object_foreach(a, k, v) {
        if (!json_is_string(v))
            return 0;
    }
    return 1;
}

static const char *nonempty_text(json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));

    return s && *s ? s : NULL;
}

int oci_state_parse(const char *buf, size_t len, struct oci_state *st)
{
    json_error_t err;
    json_t *pid;

    memset(st, 0, sizeof(*st));
    st->root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &err);
    if (!json_is_object(st->root)) {
        LOG_ERROR("OCI state: not a JSON object (%s)", st->root ? "wrong type" : err.text);
        goto fail;
    }
    st->id = nonempty_text(st->root, "id");
    st->bundle = nonempty_text(st->root, "bundle");
    pid = json_object_get(st->root, "pid");
    st->annotations = json_object_get(st->root, "annotations");
    if (!st->id || !st->bundle || (pid && (!json_is_integer(pid) || json_integer_value(pid) < 0))) {
        LOG_ERROR("OCI state: id and bundle must be non-empty texts, pid an integer >= 0");
        goto fail;
    }
    st->pid = pid ? json_integer_value(pid) : 0;
    if (!st->annotations) {
        st->annotations = json_object();
        if (json_object_set_new(st->root, "annotations", st->annotations))
            goto fail;
    }
    if (!annotations_valid(st->annotations)) {
        LOG_ERROR("OCI state: annotations must map text to text");
        goto fail;
    }
    return 0;
fail:
    oci_state_free(st);
    return -EINVAL;
}

void oci_state_free(struct oci_state *st)
{
    json_decref(st->root);
    memset(st, 0, sizeof(*st));
}

static int resolve_rootfs(const char *dir, json_t *config, char **out)
{
    const char *p = nonempty_text(json_object_get(config, "root"), "path");

    if (!p) {
        LOG_ERROR("config.json: root.path missing");
        return -EINVAL;
    }
    if (p[0] == '/')
        *out = strdup(p);
    else if (asprintf(out, "%s/%s", dir, p) < 0)
        *out = NULL;
    return *out ? 0 : -ENOMEM;
}

int oci_bundle_parse(const char *dir, const uint8_t *buf, size_t len, struct oci_bundle *b)
{
    json_error_t err;
    int r = -EINVAL;

    memset(b, 0, sizeof(*b));
    if (digest_buf(buf, len, b->config_digest) < 0)
        return -EIO;
    b->config = json_loadb((const char *)buf, len, JSON_REJECT_DUPLICATES, &err);
    if (!json_is_object(b->config)) {
        LOG_ERROR("config.json: not a JSON object (%s)", b->config ? "wrong type" : err.text);
        goto fail;
    }
    if ((r = resolve_rootfs(dir, b->config, &b->rootfs)) < 0)
        goto fail;
    if (!(b->dir = strdup(dir))) {
        r = -ENOMEM;
        goto fail;
    }
    r = -EINVAL;
    b->annotations = json_object_get(b->config, "annotations");
    if (!b->annotations) {
        b->annotations = json_object();
        if (json_object_set_new(b->config, "annotations", b->annotations))
            goto fail;
    }
    if (!annotations_valid(b->annotations)) {
        LOG_ERROR("config.json: annotations must map text to text");
        goto fail;
    }
    return 0;
fail:
    oci_bundle_free(b);
    return r;
}

int oci_bundle_load(const char *dir, struct oci_bundle *b)
{
    char path[4096];
    uint8_t *buf = NULL;
    size_t len = 0;
    int r;

    memset(b, 0, sizeof(*b));
    if (snprintf(path, sizeof(path), "%s/config.json", dir) >= (int)sizeof(path))
        return -ENAMETOOLONG;
    r = file_read_all_flags(AT_FDCWD, path, 0, OCI_CONFIG_MAX, &buf, &len);
    if (r < 0) {
        LOG_ERROR("cannot read %s: %s", path, strerror(-r));
        return r;
    }
    r = oci_bundle_parse(dir, buf, len, b);
    free(buf);
    return r;
}

void oci_bundle_free(struct oci_bundle *b)
{
    json_decref(b->config);
    free(b->rootfs);
    free(b->dir);
    memset(b, 0, sizeof(*b));
}

const char *oci_annotation(const json_t *annotations, const char *key)
{
    return json_string_value(json_object_get(annotations, key));
}
