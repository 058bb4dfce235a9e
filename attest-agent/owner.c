/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The ownership rule for a vTPM named by a container's annotation: vtpm-mgr's owner_uid and
 * tenant of the vTPM must be the container's. The owner uid is the uid the vTPM's socket
 * accepts, so a container may use a vTPM exactly when its own process could talk to it; the
 * tenant is the annotation the engine sets. Both come from config.json, which the engine
 * writes: the rule separates tenants as far as the engine keeps authors from choosing their
 * uid and tenant, and config.json's digest is in PCR 10 for the verifier to see.
 */
#include "owner.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "log.h"

/* An unsigned JSON integer <= max, or -EINVAL. */
static int get_u32(const json_t *o, const char *key, uint64_t max, uint64_t *out)
{
    json_t *v = json_object_get(o, key);

    if (!json_is_integer(v) || json_integer_value(v) < 0 ||
        (uint64_t)json_integer_value(v) > max)
        return -EINVAL;
    *out = (uint64_t)json_integer_value(v);
    return 0;
}

/* 1: a new user namespace, 0: none, -EINVAL: joined by path or malformed. */
static int new_userns(const json_t *linux)
{
    json_t *ns = json_object_get(linux, "namespaces"), *n;
    size_t i;

    if (!ns)
        return 0;
    if (!json_is_array(ns))
        return -EINVAL;
    json_array_foreach(ns, i, n) {
        json_t *t = json_object_get(n, "type");
        if (!json_is_string(t) || strcmp(json_string_value(t), "user"))
            continue;
        return json_object_get(n, "path") ? -EINVAL : 1;
    }
    return 0;
}

/* uid inside the container -> host uid through linux.uidMappings. */
static int map_uid(const json_t *linux, uint64_t uid, uint32_t *host)
{
    json_t *maps = json_object_get(linux, "uidMappings"), *m;
    size_t i;

    if (!json_is_array(maps))
        return -EINVAL;
    json_array_foreach(maps, i, m) {
        uint64_t cid, hid, size;
        if (get_u32(m, "containerID", UINT32_MAX, &cid) || get_u32(m, "hostID", UINT32_MAX, &hid) ||
            get_u32(m, "size", UINT32_MAX, &size))
            return -EINVAL;
        if (uid >= cid && uid - cid < size && hid + (uid - cid) < UINT32_MAX) {
            *host = (uint32_t)(hid + (uid - cid));
            return 0;
        }
    }
    return -EINVAL;
}

static int host_uid(const json_t *config, uint32_t *out)
{
    const json_t *process = json_object_get(config, "process"), *linux, *user;
    uint64_t uid = 0;
    int r;

    user = json_object_get(process, "user");
    if (user && get_u32(user, "uid", UINT32_MAX - 1, &uid) < 0)
        return -EINVAL;
    linux = json_object_get(config, "linux");
    if ((r = new_userns(linux)) < 0)
        return r;
    if (r == 0) {
        *out = (uint32_t)uid;
        return 0;
    }
    return map_uid(linux, uid, out);
}

int owner_of_config(const json_t *config, const json_t *annotations, struct ctr_owner *o)
{
    json_t *t = json_object_get(annotations, ANN_TENANT);
    const char *tenant = OWNER_DEFAULT_TENANT;

    memset(o, 0, sizeof(*o));
    if (t && (!json_is_string(t) || json_string_length(t) == 0 ||
              json_string_length(t) >= sizeof(o->tenant))) {
        LOG_ERROR("annotation %s: 1-%zu characters of text", ANN_TENANT, sizeof(o->tenant) - 1);
        return -EINVAL;
    }
    if (t)
        tenant = json_string_value(t);
    if (host_uid(config, &o->host_uid) < 0) {
        LOG_ERROR("config.json: the container's host uid cannot be decided (process.user.uid, "
                  "a user namespace joined by path, or a uid outside linux.uidMappings)");
        return -EINVAL;
    }
    snprintf(o->tenant, sizeof(o->tenant), "%s", tenant);
    return 0;
}

int owner_check(const struct mgr_vtpm *vt, const struct ctr_owner *o)
{
    if (!vt->has_owner || strcmp(vt->status, "live")) {
        LOG_ERROR("vTPM %s: vtpm-mgr reports no owner or status %s; refused", vt->uuid,
                  vt->status[0] ? vt->status : "(none)");
        return -EPERM;
    }
    if (vt->owner_uid != o->host_uid || strcmp(vt->tenant, o->tenant)) {
        LOG_ERROR("vTPM %s belongs to uid %u tenant %s, the container is uid %u tenant %s: "
                  "not the container's vTPM; refused", vt->uuid, (unsigned)vt->owner_uid,
                  vt->tenant, (unsigned)o->host_uid, o->tenant);
        return -EPERM;
    }
    return 0;
}
