/* SPDX-License-Identifier: BSD-3-Clause */
/* Launch-configuration extraction: config.json (OCI runtime spec) to the measured summary. */
#include "launchcfg.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cborenc.h"
#include "ctlproto.h"
#include "log.h"

/* Namespaces a container can share with the host, in the order of docs/evidence.md. */
static const struct { const char *oci, *name; } ns_types[] = {
    { "network", "network" }, { "pid", "pid" }, { "ipc", "ipc" }, { "uts", "uts" },
    { "mount", "mount" }, { "user", "user" }, { "cgroup", "cgroup" },
};
#define NS_COUNT (sizeof(ns_types) / sizeof(ns_types[0]))

int strset_add(struct strset *s, const char *v)
{
    size_t i = 0;
    char **tmp, *copy;

    while (i < s->n && strcmp(s->v[i], v) < 0)
        i++;
    if (i < s->n && !strcmp(s->v[i], v))
        return 0;
    tmp = realloc(s->v, (s->n + 1) * sizeof(*s->v));
    if (!tmp)
        return -ENOMEM;
    s->v = tmp;
    if (!(copy = strdup(v)))
        return -ENOMEM;
    memmove(s->v + i + 1, s->v + i, (s->n - i) * sizeof(*s->v));
    s->v[i] = copy;
    s->n++;
    return 0;
}

void strset_free(struct strset *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->v[i]);
    free(s->v);
    s->v = NULL;
    s->n = 0;
}

static int bad(const char *what)
{
    LOG_ERROR("config.json: %s", what);
    return -EINVAL;
}

/* o[key] when absent (NULL, 0) or of the wanted JSON type; -EINVAL otherwise. */
static int get_opt(const json_t *o, const char *key, json_type type, json_t **out)
{
    json_t *v = json_object_get(o, key);

    *out = v;
    if (!v)
        return 0;
    if (json_typeof(v) == type || (type == JSON_TRUE && json_is_boolean(v)))
        return 0;
    LOG_ERROR("config.json: \"%s\" has the wrong type", key);
    return -EINVAL;
}

static int get_bool(const json_t *o, const char *key, int *out)
{
    json_t *v;
    int r = get_opt(o, key, JSON_TRUE, &v);

    *out = r == 0 && v && json_is_true(v);
    return r;
}

/* A non-negative integer below limit; absent gives 0. */
static int get_uint(const json_t *o, const char *key, json_int_t limit, uint64_t *out)
{
    json_t *v;
    int r = get_opt(o, key, JSON_INTEGER, &v);

    *out = 0;
    if (r < 0 || !v)
        return r;
    if (json_integer_value(v) < 0 || json_integer_value(v) > limit)
        return bad("integer out of range");
    *out = (uint64_t)json_integer_value(v);
    return 0;
}

static int add_texts(struct strset *s, const json_t *arr)
{
    size_t i;
    json_t *v;
    int r = 0;

    if (!json_is_array(arr))
        return bad("expected an array of texts");
    json_array_foreach(arr, i, v) {
        if (!json_is_string(v))
            return bad("expected an array of texts");
        if ((r = strset_add(s, json_string_value(v))) < 0)
            return r;
    }
    return 0;
}

static int extract_caps(const json_t *process, struct launch_config *lc)
{
    static const char *const sets[] = { "bounding", "effective", "permitted" };
    json_t *caps, *arr;
    int r = get_opt(process, "capabilities", JSON_OBJECT, &caps);

    for (size_t i = 0; r == 0 && caps && i < 3; i++) {
        r = get_opt(caps, sets[i], JSON_ARRAY, &arr);
        if (r == 0 && arr)
            r = add_texts(&lc->capabilities, arr);
    }
    return r;
}

static int extract_user(const json_t *process, struct launch_config *lc)
{
    uint64_t uid = 0, gid = 0;
    json_t *user;
    int r = get_opt(process, "user", JSON_OBJECT, &user);

    if (r == 0 && user)
        r = get_uint(user, "uid", UINT32_MAX, &uid);
    if (r == 0 && user)
        r = get_uint(user, "gid", UINT32_MAX, &gid);
    lc->uid = (uint32_t)uid;
    lc->gid = (uint32_t)gid;
    return r;
}

static int extract_process(const json_t *config, struct launch_config *lc)
{
    json_t *process;
    int r = get_opt(config, "process", JSON_OBJECT, &process);

    if (r < 0)
        return r;
    if (!process)
        return bad("process missing");
    if ((r = extract_caps(process, lc)) < 0 || (r = extract_user(process, lc)) < 0)
        return r;
    return get_bool(process, "noNewPrivileges", &lc->no_new_privileges);
}

static int ns_index(const char *type)
{
    for (size_t i = 0; i < NS_COUNT; i++)
        if (!strcmp(ns_types[i].oci, type))
            return (int)i;
    return strcmp(type, "time") ? -1 : (int)NS_COUNT; /* time: known, not measured */
}

/* A namespace is unshared when listed without a path; joining one by path may be the host's. */
static int extract_namespaces(const json_t *linux_, struct launch_config *lc)
{
    int unshared[NS_COUNT + 1] = { 0 };
    json_t *nss, *ns, *path;
    size_t i;
    int r = linux_ ? get_opt(linux_, "namespaces", JSON_ARRAY, &nss) : (nss = NULL, 0);

    json_array_foreach(nss, i, ns) {
        const char *type = json_string_value(json_object_get(ns, "type"));
        int k = type ? ns_index(type) : -1;
        if (r < 0 || k < 0)
            return r < 0 ? r : bad("namespace without a known type");
        r = get_opt(ns, "path", JSON_STRING, &path);
        if (r == 0 && (!path || !*json_string_value(path)))
            unshared[k] = 1;
    }
    for (i = 0; r == 0 && i < NS_COUNT; i++)
        if (!unshared[i])
            r = strset_add(&lc->host_namespaces, ns_types[i].name);
    return r;
}

static int has_option(const json_t *opts, const char *opt)
{
    size_t i;
    json_t *v;

    json_array_foreach(opts, i, v)
        if (json_is_string(v) && !strcmp(json_string_value(v), opt))
            return 1;
    return 0;
}

/* "/dev//pts/" -> "dev/pts"; "" for the root itself. */
static int add_mount_point(struct strset *s, const char *dest)
{
    char norm[4096];
    size_t n = 0;

    for (const char *p = dest; *p;) {
        const char *e = strchrnul(p, '/');
        size_t len = (size_t)(e - p);
        if (len && !(len == 1 && *p == '.')) {
            if (n + len + 2 > sizeof(norm))
                return bad("mount destination too long");
            if (n)
                norm[n++] = '/';
            memcpy(norm + n, p, len);
            n += len;
        }
        p = *e ? e + 1 : e;
    }
    norm[n] = '\0';
    return n ? strset_add(s, norm) : 0;
}

static int extract_mount(const json_t *m, struct launch_config *lc)
{
    json_t *type, *src, *opts;
    int r, bind;

    if (!json_is_object(m) || !json_is_string(json_object_get(m, "destination")))
        return bad("mount without a destination");
    r = add_mount_point(&lc->mount_points, json_string_value(json_object_get(m, "destination")));
    if (r < 0)
        return r;
    if ((r = get_opt(m, "type", JSON_STRING, &type)) < 0 ||
        (r = get_opt(m, "source", JSON_STRING, &src)) < 0 ||
        (r = get_opt(m, "options", JSON_ARRAY, &opts)) < 0)
        return r;
    bind = (type && !strcmp(json_string_value(type), "bind")) || has_option(opts, "bind") ||
           has_option(opts, "rbind");
    if (!bind || !src || json_string_value(src)[0] != '/' || has_option(opts, "ro"))
        return 0;
    return strset_add(&lc->privileged_mounts, json_string_value(src));
}

static int extract_mounts(const json_t *config, struct launch_config *lc)
{
    json_t *mounts, *m;
    size_t i;
    int r = get_opt(config, "mounts", JSON_ARRAY, &mounts);

    json_array_foreach(mounts, i, m) {
        if (r < 0)
            break;
        r = extract_mount(m, lc);
    }
    return r;
}

static int device_rule(const json_t *d, struct launch_config *lc)
{
    char rule[96], maj[24] = "*", min[24] = "*";
    json_t *allow, *type, *acc, *v;
    int r;

    if (!json_is_object(d))
        return bad("device rule is not an object");
    if ((r = get_opt(d, "allow", JSON_TRUE, &allow)) < 0 || !allow)
        return r < 0 ? r : bad("device rule without allow");
    if ((r = get_opt(d, "type", JSON_STRING, &type)) < 0 ||
        (r = get_opt(d, "access", JSON_STRING, &acc)) < 0)
        return r;
    if ((v = json_object_get(d, "major")) && json_is_integer(v))
        snprintf(maj, sizeof(maj), "%lld", (long long)json_integer_value(v));
    if ((v = json_object_get(d, "minor")) && json_is_integer(v))
        snprintf(min, sizeof(min), "%lld", (long long)json_integer_value(v));
    if (!json_is_true(allow))
        return 0;
    snprintf(rule, sizeof(rule), "allow %.4s %s:%s %.8s", type ? json_string_value(type) : "a",
             maj, min, acc ? json_string_value(acc) : "rwm");
    return strset_add(&lc->devices, rule);
}

static int extract_devices(const json_t *linux_, const json_t *res, struct launch_config *lc)
{
    json_t *devs = NULL, *rules = NULL, *d;
    size_t i;
    int r = linux_ ? get_opt(linux_, "devices", JSON_ARRAY, &devs) : 0;

    json_array_foreach(devs, i, d) {
        const char *p = json_string_value(json_object_get(d, "path"));
        if (r < 0 || !p)
            return r < 0 ? r : bad("device without a path");
        r = strset_add(&lc->devices, p);
    }
    if (r == 0 && res)
        r = get_opt(res, "devices", JSON_ARRAY, &rules);
    json_array_foreach(rules, i, d) {
        if (r < 0)
            break;
        r = device_rule(d, lc);
    }
    return r;
}

static int extract_resources(const json_t *res, struct launch_config *lc)
{
    json_t *mem = NULL, *cpu = NULL, *limit = NULL;
    int r = res ? get_opt(res, "memory", JSON_OBJECT, &mem) : 0;

    if (r == 0 && res)
        r = get_opt(res, "cpu", JSON_OBJECT, &cpu);
    if (r == 0 && mem)
        r = get_opt(mem, "limit", JSON_INTEGER, &limit);
    if (r == 0 && mem && limit) /* -1 (or any value <= 0) means unlimited */
        lc->memory_limit = json_integer_value(limit) > 0 ? (uint64_t)json_integer_value(limit) : 0;
    if (r == 0 && cpu)
        r = get_uint(cpu, "shares", INT64_MAX, &lc->cpu_shares);
    return r;
}

static int is_deny_action(const char *a)
{
    static const char *const deny[] = { "SCMP_ACT_ERRNO", "SCMP_ACT_KILL",
        "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD", "SCMP_ACT_TRAP" };

    for (size_t i = 0; i < sizeof(deny) / sizeof(deny[0]); i++)
        if (!strcmp(a, deny[i]))
            return 1;
    return 0;
}

static int extract_seccomp(const json_t *linux_, struct launch_config *lc)
{
    json_t *sc = NULL, *def;
    int r = linux_ ? get_opt(linux_, "seccomp", JSON_OBJECT, &sc) : 0;

    if (r < 0 || !sc)
        return r;
    if ((r = get_opt(sc, "defaultAction", JSON_STRING, &def)) < 0 || !def)
        return r < 0 ? r : bad("seccomp without defaultAction");
    lc->seccomp = 1;
    lc->seccomp_default_deny = is_deny_action(json_string_value(def));
    return 0;
}

static int extract_linux(const json_t *config, struct launch_config *lc)
{
    json_t *linux_, *res = NULL;
    int r = get_opt(config, "linux", JSON_OBJECT, &linux_);

    if (r == 0 && linux_)
        r = get_opt(linux_, "resources", JSON_OBJECT, &res);
    if (r == 0)
        r = extract_namespaces(linux_, lc);
    if (r == 0)
        r = extract_devices(linux_, res, lc);
    if (r == 0)
        r = extract_resources(res, lc);
    if (r == 0)
        r = extract_seccomp(linux_, lc);
    return r;
}

int launchcfg_extract(const json_t *config, const uint8_t digest[DIGEST_LEN],
                      struct launch_config *lc)
{
    json_t *root;
    int r;

    memset(lc, 0, sizeof(*lc));
    memcpy(lc->config_digest, digest, DIGEST_LEN);
    if (!json_is_object(config))
        return bad("not an object");
    r = get_opt(config, "root", JSON_OBJECT, &root);
    if (r == 0 && root)
        r = get_bool(root, "readonly", &lc->readonly_rootfs);
    if (r == 0)
        r = extract_process(config, lc);
    if (r == 0)
        r = extract_mounts(config, lc);
    if (r == 0)
        r = extract_linux(config, lc);
    if (r < 0)
        launchcfg_free(lc);
    return r;
}

void launchcfg_free(struct launch_config *lc)
{
    strset_free(&lc->capabilities);
    strset_free(&lc->host_namespaces);
    strset_free(&lc->privileged_mounts);
    strset_free(&lc->devices);
    strset_free(&lc->mount_points);
}

static cbor_item_t *user_cbor(const struct launch_config *lc)
{
    cbor_item_t *u = ctl_map_new();

    if (u && (cb_put_uint(u, "uid", lc->uid) || cb_put_uint(u, "gid", lc->gid)))
        cbor_decref(&u);
    return u;
}

cbor_item_t *launchcfg_to_cbor(const struct launch_config *lc)
{
    char digest[DIGEST_TEXT_LEN];
    cbor_item_t *m = ctl_map_new();

    digest_text(lc->config_digest, digest);
    if (!m)
        return NULL;
    if (ctl_put_item(m, "capabilities", cb_text_array(&lc->capabilities)) ||
        ctl_put_item(m, "host_namespaces", cb_text_array(&lc->host_namespaces)) ||
        ctl_put_item(m, "privileged_mounts", cb_text_array(&lc->privileged_mounts)) ||
        ctl_put_item(m, "devices", cb_text_array(&lc->devices)) ||
        ctl_put_bool(m, "seccomp", lc->seccomp) ||
        ctl_put_bool(m, "seccomp_default_deny", lc->seccomp_default_deny) ||
        ctl_put_bool(m, "no_new_privileges", lc->no_new_privileges) ||
        ctl_put_bool(m, "readonly_rootfs", lc->readonly_rootfs) ||
        cb_put_uint(m, "memory_limit", lc->memory_limit) ||
        cb_put_uint(m, "cpu_shares", lc->cpu_shares) ||
        ctl_put_item(m, "user", user_cbor(lc)) || ctl_put_str(m, "config_digest", digest))
        cbor_decref(&m);
    return m;
}

static json_t *text_array_json(const struct strset *s)
{
    json_t *a = json_array();

    for (size_t i = 0; a && i < s->n; i++)
        if (json_array_append_new(a, json_string(s->v[i]))) {
            json_decref(a);
            return NULL;
        }
    return a;
}

json_t *launchcfg_to_json(const struct launch_config *lc)
{
    char digest[DIGEST_TEXT_LEN];
    json_error_t err;

    digest_text(lc->config_digest, digest);
    return json_pack_ex(&err, 0,
        "{s:o, s:o, s:o, s:o, s:b, s:b, s:b, s:b, s:I, s:I, s:{s:I, s:I}, s:s}",
        "capabilities", text_array_json(&lc->capabilities),
        "host_namespaces", text_array_json(&lc->host_namespaces),
        "privileged_mounts", text_array_json(&lc->privileged_mounts),
        "devices", text_array_json(&lc->devices),
        "seccomp", lc->seccomp, "seccomp_default_deny", lc->seccomp_default_deny,
        "no_new_privileges", lc->no_new_privileges, "readonly_rootfs", lc->readonly_rootfs,
        "memory_limit", (json_int_t)lc->memory_limit, "cpu_shares", (json_int_t)lc->cpu_shares,
        "user", "uid", (json_int_t)lc->uid, "gid", (json_int_t)lc->gid,
        "config_digest", digest);
}
