/* SPDX-License-Identifier: BSD-3-Clause */
/* Launch-configuration extraction: config.json (OCI runtime spec) to the measured record. */
#include "launchcfg.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cborenc.h"
#include "ctlproto.h"
#include "launchcfg_int.h"
#include "log.h"

/* Namespaces a container can share with the host, in the order of docs/evidence.md. */
static const struct { const char *oci, *name; } ns_types[] = {
    { "network", "network" }, { "pid", "pid" }, { "ipc", "ipc" }, { "uts", "uts" },
    { "mount", "mount" }, { "user", "user" }, { "cgroup", "cgroup" },
};
#define NS_COUNT (sizeof(ns_types) / sizeof(ns_types[0]))
#define NS_USER 5
/* The same types' names under /proc/PID/ns. */
static const char *const ns_proc[] = { "net", "pid", "ipc", "uts", "mnt", "user", "cgroup" };

/* Hook stages of the OCI runtime spec; all of them run on the host as the runtime's user. */
static const char *const hook_stages[] = {
    "prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop",
};

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

int strset_has(const struct strset *s, const char *v)
{
    for (size_t i = 0; i < s->n; i++)
        if (!strcmp(s->v[i], v))
            return 1;
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

int lc_bad(const char *what)
{
    LOG_ERROR("config.json: %s", what);
    return -EINVAL;
}

int lc_get_opt(const json_t *o, const char *key, json_type type, json_t **out)
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

int lc_get_bool(const json_t *o, const char *key, int *out)
{
    json_t *v;
    int r = lc_get_opt(o, key, JSON_TRUE, &v);

    *out = r == 0 && v && json_is_true(v);
    return r;
}

int lc_get_uint(const json_t *o, const char *key, json_int_t limit, uint64_t *out)
{
    json_t *v;
    int r = lc_get_opt(o, key, JSON_INTEGER, &v);

    *out = 0;
    if (r < 0 || !v)
        return r;
    if (json_integer_value(v) < 0 || json_integer_value(v) > limit)
        return lc_bad("integer out of range");
    *out = (uint64_t)json_integer_value(v);
    return 0;
}

cbor_item_t *lc_text(const char *s)
{
    return cbor_build_string(s);
}

int lc_push(cbor_item_t *arr, cbor_item_t *v)
{
    int ok = v && cbor_array_push(arr, v);

    if (v)
        cbor_decref(&v);
    return ok ? 0 : -ENOMEM;
}

cbor_item_t *lc_int(int64_t v)
{
    uint64_t n;

    if (v >= 0)
        return cb_uint((uint64_t)v);
    n = (uint64_t)(-(v + 1));
    if (n <= UINT8_MAX)
        return cbor_build_negint8((uint8_t)n);
    if (n <= UINT16_MAX)
        return cbor_build_negint16((uint16_t)n);
    if (n <= UINT32_MAX)
        return cbor_build_negint32((uint32_t)n);
    return cbor_build_negint64(n);
}

int lc_text_list(const json_t *o, const char *key, cbor_item_t **out)
{
    json_t *arr, *v;
    size_t i;
    int r = o ? lc_get_opt(o, key, JSON_ARRAY, &arr) : (arr = NULL, 0);

    *out = NULL;
    if (r < 0)
        return r;
    if (!(*out = cbor_new_indefinite_array()))
        return -ENOMEM;
    json_array_foreach(arr, i, v) {
        if (!json_is_string(v))
            r = lc_bad("expected an array of texts");
        else
            r = lc_push(*out, lc_text(json_string_value(v)));
        if (r < 0)
            break;
    }
    if (r < 0)
        cbor_decref(out);
    return r;
}

int lc_normalize(const char *path, char *out, size_t outsz)
{
    size_t n = 0;

    if (outsz < 2)
        return -ENAMETOOLONG;
    for (const char *p = path; *p;) {
        const char *e = strchrnul(p, '/');
        size_t len = (size_t)(e - p);
        if (len == 2 && !memcmp(p, "..", 2)) {
            while (n > 0 && out[n - 1] != '/')
                n--;
            if (n > 0)
                n--;
        } else if (len && !(len == 1 && *p == '.')) {
            if (n + len + 2 > outsz)
                return -ENAMETOOLONG;
            out[n++] = '/';
            memcpy(out + n, p, len);
            n += len;
        }
        p = *e ? e + 1 : e;
    }
    if (n == 0)
        out[n++] = '/';
    out[n] = '\0';
    return 0;
}

static int put(cbor_item_t *m, const char *k, cbor_item_t *v)
{
    return ctl_put_item(m, k, v);
}

/* A text list of config.json at o[key] into the record under name. */
static int put_list(cbor_item_t *m, const char *name, const json_t *o, const char *key)
{
    cbor_item_t *a;
    int r = lc_text_list(o, key, &a);

    return r < 0 ? r : put(m, name, a);
}

static int add_caps(struct strset *caps, const json_t *arr)
{
    size_t i;
    json_t *v;
    int r = 0;

    json_array_foreach(arr, i, v) {
        if (!json_is_string(v))
            return lc_bad("expected an array of capability names");
        if ((r = strset_add(caps, json_string_value(v))) < 0)
            return r;
    }
    return 0;
}

/* The union of all five sets: a capability in any of them can be raised by the process. */
static int extract_caps(const json_t *process, cbor_item_t *m)
{
    static const char *const sets[] = { "bounding", "effective", "permitted", "inheritable",
                                        "ambient" };
    struct strset caps = { 0 };
    json_t *c, *arr;
    int r = lc_get_opt(process, "capabilities", JSON_OBJECT, &c);

    for (size_t i = 0; r == 0 && c && i < sizeof(sets) / sizeof(sets[0]); i++) {
        r = lc_get_opt(c, sets[i], JSON_ARRAY, &arr);
        if (r == 0 && arr)
            r = add_caps(&caps, arr);
    }
    if (r == 0)
        r = put(m, "capabilities", cb_text_array(&caps));
    strset_free(&caps);
    return r;
}

static int extract_user(const json_t *process, cbor_item_t *m)
{
    uint64_t uid = 0, gid = 0;
    json_t *user, *gids = NULL, *v;
    cbor_item_t *u = ctl_map_new(), *g = cbor_new_indefinite_array();
    size_t i;
    int r = u && g ? lc_get_opt(process, "user", JSON_OBJECT, &user) : -ENOMEM;

    if (r == 0 && user && (r = lc_get_uint(user, "uid", UINT32_MAX, &uid)) == 0 &&
        (r = lc_get_uint(user, "gid", UINT32_MAX, &gid)) == 0)
        r = lc_get_opt(user, "additionalGids", JSON_ARRAY, &gids);
    json_array_foreach(gids, i, v) {
        if (r < 0)
            break;
        if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > UINT32_MAX)
            r = lc_bad("additionalGids must be uids");
        else
            r = lc_push(g, cb_uint((uint64_t)json_integer_value(v)));
    }
    if (r == 0 && !(r = cb_put_uint(u, "uid", uid)) && !(r = cb_put_uint(u, "gid", gid))) {
        r = put(u, "additional_gids", g);
        g = NULL;
        if (r == 0) {
            r = put(m, "user", u);
            u = NULL;
        }
    }
    if (u)
        cbor_decref(&u);
    if (g)
        cbor_decref(&g);
    return r;
}

/* A text of config.json (absent: "") into the record. */
static int put_text(cbor_item_t *m, const char *name, const json_t *o, const char *key)
{
    json_t *v = NULL;
    int r = o ? lc_get_opt(o, key, JSON_STRING, &v) : 0;

    return r < 0 ? r : ctl_put_str(m, name, v ? json_string_value(v) : "");
}

static int extract_oom(const json_t *process, cbor_item_t *m)
{
    json_t *v;
    int r = lc_get_opt(process, "oomScoreAdj", JSON_INTEGER, &v);

    if (r == 0 && v && (json_integer_value(v) < -1000 || json_integer_value(v) > 1000))
        r = lc_bad("oomScoreAdj out of range");
    return r < 0 ? r : put(m, "oom_score_adj", lc_int(v ? json_integer_value(v) : 0));
}

static int extract_process(const json_t *config, cbor_item_t *m)
{
    json_t *process;
    int r = lc_get_opt(config, "process", JSON_OBJECT, &process), nnp = 0;

    if (r < 0)
        return r;
    if (!process)
        return lc_bad("process missing");
    if ((r = extract_caps(process, m)) < 0 || (r = extract_user(process, m)) < 0 ||
        (r = lc_get_bool(process, "noNewPrivileges", &nnp)) < 0 ||
        (r = ctl_put_bool(m, "no_new_privileges", nnp)) < 0 || (r = extract_oom(process, m)) < 0 ||
        (r = put_text(m, "apparmor_profile", process, "apparmorProfile")) < 0)
        return r;
    return put_text(m, "selinux_label", process, "selinuxLabel");
}

static int ns_index(const char *type)
{
    for (size_t i = 0; i < NS_COUNT; i++)
        if (!strcmp(ns_types[i].oci, type))
            return (int)i;
    return strcmp(type, "time") ? -1 : (int)NS_COUNT; /* time: known, not measured */
}

/* /proc/<pid>/ns/<type> is the namespace ns (1), another (0), or cannot be read (-1). */
static int same_ns(const char *pid, size_t k, const struct stat *ns)
{
    char p[64];
    struct stat st;

    snprintf(p, sizeof(p), "/proc/%s/ns/%s", pid, ns_proc[k]);
    if (stat(p, &st) < 0)
        return -1;
    return st.st_dev == ns->st_dev && st.st_ino == ns->st_ino;
}

/*
 * A namespace joined by path, seen in the container's process (env->pid, at createRuntime in
 * the namespaces it will run in): it is not the runtime's (env->runtime_pid, else this
 * process's: the hook runs in the runtime's namespaces; the agent service, whose own may be
 * private to it, names the runtime) nor pid 1's (the host's; where pid 1's cannot be read,
 * e.g. a root without ptrace access to it, the runtime's stand for the host's). Anything that
 * cannot be shown (no pid, /proc unreadable, a user namespace, whose uids owner.c could not
 * decide) stays "maybe the host's".
 */
static int joined_not_host(size_t k, const struct launch_env *env)
{
    char p[64], rt[24] = "self";
    struct stat c;

    if (!env || env->pid <= 0 || k == NS_USER)
        return 0;
    snprintf(p, sizeof(p), "/proc/%lld/ns/%s", env->pid, ns_proc[k]);
    if (stat(p, &c) < 0)
        return 0;
    if (env->runtime_pid > 0)
        snprintf(rt, sizeof(rt), "%lld", env->runtime_pid);
    return same_ns(rt, k, &c) == 0 && same_ns("1", k, &c) != 1;
}

/*
 * A namespace is unshared when listed without a path; joining one by path may be the host's,
 * unless the container's process shows it is not (joined_not_host: another container's, a
 * pod's), then it is recorded as joined.
 */
static int extract_namespaces(const json_t *linux_, const struct launch_env *env,
                              cbor_item_t *m)
{
    int unshared[NS_COUNT + 1] = { 0 }, joined[NS_COUNT + 1] = { 0 };
    struct strset host = { 0 }, other = { 0 };
    json_t *nss, *ns, *path;
    size_t i;
    int r = linux_ ? lc_get_opt(linux_, "namespaces", JSON_ARRAY, &nss) : (nss = NULL, 0);

    json_array_foreach(nss, i, ns) {
        const char *type = json_string_value(json_object_get(ns, "type"));
        int k = type ? ns_index(type) : -1;
        if (r < 0 || k < 0)
            return r < 0 ? r : lc_bad("namespace without a known type");
        r = lc_get_opt(ns, "path", JSON_STRING, &path);
        if (r == 0 && (!path || !*json_string_value(path)))
            unshared[k] = 1;
        else if (r == 0 && k < (int)NS_COUNT)
            joined[k] = joined_not_host((size_t)k, env);
    }
    for (i = 0; r == 0 && i < NS_COUNT; i++)
        if (joined[i] && !unshared[i])
            r = strset_add(&other, ns_types[i].name);
        else if (!unshared[i])
            r = strset_add(&host, ns_types[i].name);
    if (r == 0)
        r = put(m, "host_namespaces", cb_text_array(&host));
    if (r == 0)
        r = put(m, "joined_namespaces", cb_text_array(&other));
    strset_free(&other);
    if (r == 0)
        r = ctl_put_bool(m, "user_namespace", unshared[NS_USER]);
    strset_free(&host);
    return r;
}

static cbor_item_t *id_mapping(const json_t *e)
{
    uint64_t c = 0, h = 0, n = 0;
    cbor_item_t *m;

    if (!json_is_object(e) || !json_object_get(e, "containerID") ||
        !json_object_get(e, "hostID") || !json_object_get(e, "size") ||
        lc_get_uint(e, "containerID", UINT32_MAX, &c) < 0 ||
        lc_get_uint(e, "hostID", UINT32_MAX, &h) < 0 || lc_get_uint(e, "size", UINT32_MAX, &n) < 0)
        return NULL;
    if (!(m = ctl_map_new()))
        return NULL;
    if (cb_put_uint(m, "container_id", c) || cb_put_uint(m, "host_id", h) ||
        cb_put_uint(m, "size", n))
        cbor_decref(&m);
    return m;
}

static int extract_mappings(const json_t *linux_, const char *key, const char *name,
                            cbor_item_t *m)
{
    cbor_item_t *a = cbor_new_indefinite_array();
    json_t *arr = NULL, *e;
    size_t i;
    int r = !a ? -ENOMEM : linux_ ? lc_get_opt(linux_, key, JSON_ARRAY, &arr) : 0;

    json_array_foreach(arr, i, e) {
        cbor_item_t *v;
        if (r < 0)
            break;
        if (!(v = id_mapping(e)))
            r = lc_bad("a uid/gid mapping needs containerID, hostID and size");
        else
            r = lc_push(a, v);
    }
    if (r < 0) {
        if (a)
            cbor_decref(&a);
        return r;
    }
    return put(m, name, a);
}

static int node_entry(const json_t *d, cbor_item_t *arr)
{
    const char *p = json_string_value(json_object_get(d, "path"));
    json_t *type;
    uint64_t maj = 0, min = 0;
    cbor_item_t *e;
    int r;

    if (!json_is_object(d) || !p)
        return lc_bad("device without a path");
    if ((r = lc_get_opt(d, "type", JSON_STRING, &type)) < 0 ||
        (r = lc_get_uint(d, "major", INT64_MAX, &maj)) < 0 ||
        (r = lc_get_uint(d, "minor", INT64_MAX, &min)) < 0)
        return r;
    if (!(e = ctl_map_new()))
        return -ENOMEM;
    if (ctl_put_str(e, "path", p) || ctl_put_str(e, "type", type ? json_string_value(type) : "") ||
        cb_put_uint(e, "major", maj) || cb_put_uint(e, "minor", min)) {
        cbor_decref(&e);
        return -ENOMEM;
    }
    return lc_push(arr, e);
}

/* "TYPE MAJ:MIN ACCESS" of an allow rule; wildcards "a", "*" and "rwm" as runc reads them. */
static int device_rule(const json_t *d, cbor_item_t *arr)
{
    char rule[96], maj[24] = "*", min[24] = "*";
    json_t *allow, *type, *acc, *v;
    int r;

    if (!json_is_object(d))
        return lc_bad("device rule is not an object");
    if ((r = lc_get_opt(d, "allow", JSON_TRUE, &allow)) < 0 || !allow)
        return r < 0 ? r : lc_bad("device rule without allow");
    if ((r = lc_get_opt(d, "type", JSON_STRING, &type)) < 0 ||
        (r = lc_get_opt(d, "access", JSON_STRING, &acc)) < 0)
        return r;
    if ((v = json_object_get(d, "major")) && json_is_integer(v) && json_integer_value(v) >= 0)
        snprintf(maj, sizeof(maj), "%lld", (long long)json_integer_value(v));
    if ((v = json_object_get(d, "minor")) && json_is_integer(v) && json_integer_value(v) >= 0)
        snprintf(min, sizeof(min), "%lld", (long long)json_integer_value(v));
    if (!json_is_true(allow))
        return 0; /* a deny only narrows what the allow rules (all measured) grant */
    snprintf(rule, sizeof(rule), "%.4s %s:%s %.8s",
             type && *json_string_value(type) ? json_string_value(type) : "a", maj, min,
             acc && *json_string_value(acc) ? json_string_value(acc) : "rwm");
    return lc_push(arr, lc_text(rule));
}

static int extract_devices(const json_t *linux_, const json_t *res, cbor_item_t *m)
{
    cbor_item_t *nodes = cbor_new_indefinite_array(), *rules = cbor_new_indefinite_array();
    json_t *devs = NULL, *rl = NULL, *d;
    size_t i;
    int r = nodes && rules ? 0 : -ENOMEM;

    if (r == 0 && linux_)
        r = lc_get_opt(linux_, "devices", JSON_ARRAY, &devs);
    json_array_foreach(devs, i, d)
        if (r == 0)
            r = node_entry(d, nodes);
    if (r == 0 && res)
        r = lc_get_opt(res, "devices", JSON_ARRAY, &rl);
    json_array_foreach(rl, i, d)
        if (r == 0)
            r = device_rule(d, rules);
    if (r == 0) {
        r = put(m, "device_nodes", nodes);
        nodes = NULL;
        if (r == 0)
            r = put(m, "device_rules", rules);
        rules = NULL;
    }
    if (nodes)
        cbor_decref(&nodes);
    if (rules)
        cbor_decref(&rules);
    return r;
}

/* A limit where -1 (or any value <= 0) means none: 0 in the record. */
static int put_limit(cbor_item_t *m, const char *name, const json_t *o, const char *key)
{
    json_t *v = NULL;
    int r = o ? lc_get_opt(o, key, JSON_INTEGER, &v) : 0;

    if (r < 0)
        return r;
    if (!v || json_integer_value(v) <= 0)
        return cb_put_uint(m, name, 0);
    return cb_put_uint(m, name, (uint64_t)json_integer_value(v));
}

static int extract_resources(const json_t *res, const struct launch_env *env, cbor_item_t *m)
{
    json_t *mem = NULL, *cpu = NULL, *pids = NULL;
    uint64_t shares = 0, eff = 0;
    char where[PATH_MAX];
    int r = res ? lc_get_opt(res, "memory", JSON_OBJECT, &mem) : 0;

    if (r == 0 && res)
        r = lc_get_opt(res, "cpu", JSON_OBJECT, &cpu);
    if (r == 0 && res)
        r = lc_get_opt(res, "pids", JSON_OBJECT, &pids);
    if (r == 0)
        r = put_limit(m, "memory_limit", mem, "limit");
    if (r == 0 && cpu)
        r = lc_get_uint(cpu, "shares", INT64_MAX, &shares);
    if (r == 0)
        r = cb_put_uint(m, "cpu_shares", shares);
    if (r == 0)
        r = put_limit(m, "pids_limit", pids, "limit");
    /* what the kernel applies: the container's cgroup or one above it (a pod's), seen in
     * its process at createRuntime (the runtime has set up its cgroup by then) */
    if (r == 0)
        r = lc_effective_pids(env ? env->pid : 0, &eff, where, sizeof(where));
    if (r == 0)
        r = cb_put_uint(m, "pids_limit_effective", eff);
    if (r == 0)
        r = ctl_put_str(m, "pids_limit_cgroup", where);
    return r;
}

/* runc writes /proc/sys/ + the key with '.' turned into '/': "a/b" and "a.b" are one. */
static int extract_sysctl(const json_t *linux_, cbor_item_t *m)
{
    cbor_item_t *a = cbor_new_indefinite_array();
    json_t *sc = NULL, *v;
    const char *k;
    int r = !a ? -ENOMEM : linux_ ? lc_get_opt(linux_, "sysctl", JSON_OBJECT, &sc) : 0;

    json_object_foreach(sc, k, v) {
        char e[512];
        if (r < 0)
            break;
        if (!json_is_string(v) || snprintf(e, sizeof(e), "%s=%s", k, json_string_value(v)) >=
                                      (int)sizeof(e)) {
            r = lc_bad("sysctl values must be short texts");
            break;
        }
        for (char *p = e; *p && *p != '='; p++)
            if (*p == '/')
                *p = '.';
        r = lc_push(a, lc_text(e));
    }
    if (r < 0) {
        if (a)
            cbor_decref(&a);
        return r;
    }
    return put(m, "sysctl", a);
}

static int extract_linux(const json_t *config, const struct launch_env *env, cbor_item_t *m)
{
    json_t *linux_, *res = NULL;
    int r = lc_get_opt(config, "linux", JSON_OBJECT, &linux_);

    if (r == 0 && linux_)
        r = lc_get_opt(linux_, "resources", JSON_OBJECT, &res);
    if (r == 0)
        r = extract_namespaces(linux_, env, m);
    if (r == 0)
        r = extract_mappings(linux_, "uidMappings", "uid_mappings", m);
    if (r == 0)
        r = extract_mappings(linux_, "gidMappings", "gid_mappings", m);
    if (r == 0)
        r = extract_resources(res, env, m);
    if (r == 0)
        r = launchcfg_seccomp(linux_, m);
    if (r == 0)
        r = put_list(m, "masked_paths", linux_, "maskedPaths");
    if (r == 0)
        r = put_list(m, "readonly_paths", linux_, "readonlyPaths");
    if (r == 0)
        r = put_text(m, "rootfs_propagation", linux_, "rootfsPropagation");
    if (r == 0)
        r = extract_sysctl(linux_, m);
    if (r == 0)
        r = extract_devices(linux_, res, m);
    return r;
}

/* The hook runs this agent (or its forwarder beside it): the policy may allow it by default. */
static int is_agent(const char *resolved, const struct launch_env *env)
{
    char fwd[PATH_MAX];
    const char *slash;

    if (!env || !env->self_exe || !*env->self_exe)
        return 0;
    if (!strcmp(resolved, env->self_exe))
        return 1;
    slash = strrchr(env->self_exe, '/');
    if (!slash || snprintf(fwd, sizeof(fwd), "%.*s/attest-agent-hook",
                           (int)(slash - env->self_exe), env->self_exe) >= (int)sizeof(fwd))
        return 0;
    return !strcmp(resolved, fwd);
}

static int hook_entry(const char *stage, const json_t *h, const struct launch_env *env,
                      cbor_item_t *arr)
{
    const char *p = json_string_value(json_object_get(h, "path"));
    char resolved[PATH_MAX];
    cbor_item_t *e, *args;
    int r;

    if (!json_is_object(h) || !p || !*p)
        return lc_bad("hook without a path");
    if (!realpath(p, resolved))
        snprintf(resolved, sizeof(resolved), "%s", p);
    if ((r = lc_text_list(h, "args", &args)) < 0)
        return r;
    if (!(e = ctl_map_new())) {
        cbor_decref(&args);
        return -ENOMEM;
    }
    if (ctl_put_str(e, "stage", stage) || ctl_put_str(e, "path", resolved) ||
        put(e, "args", args) || ctl_put_bool(e, "agent", is_agent(resolved, env))) {
        cbor_decref(&e);
        return -ENOMEM;
    }
    return lc_push(arr, e);
}

static int extract_hooks(const json_t *config, const struct launch_env *env, cbor_item_t *m)
{
    cbor_item_t *a = cbor_new_indefinite_array();
    json_t *hooks = NULL, *list, *h;
    const char *k;
    size_t i;
    int r = a ? lc_get_opt(config, "hooks", JSON_OBJECT, &hooks) : -ENOMEM;

    json_object_foreach(hooks, k, list) {
        size_t s = 0;
        while (s < sizeof(hook_stages) / sizeof(hook_stages[0]) && strcmp(k, hook_stages[s]))
            s++;
        if (r == 0 && s == sizeof(hook_stages) / sizeof(hook_stages[0]))
            r = lc_bad("unknown hook stage");
        if (r == 0 && !json_is_array(list))
            r = lc_bad("hooks of a stage must be an array");
        json_array_foreach(list, i, h)
            if (r == 0)
                r = hook_entry(hook_stages[s], h, env, a);
    }
    if (r < 0) {
        if (a)
            cbor_decref(&a);
        return r;
    }
    return put(m, "hooks", a);
}

/* The Kubernetes pod a CRI container belongs to, from config.json's annotations (containerd
 * writes io.kubernetes.cri.sandbox-*, CRI-O io.kubernetes.pod.*; measured, as config.json
 * is): "pod": {"uid", "namespace", "name", "container"} ("" container: the pod's sandbox).
 * No pod uid annotation: no "pod" key (not a Kubernetes container). */
static const char *annotation2(const json_t *a, const char *k1, const char *k2)
{
    const char *v = json_string_value(json_object_get(a, k1));

    return v ? v : json_string_value(json_object_get(a, k2));
}

static int extract_pod(const json_t *config, cbor_item_t *m)
{
    const json_t *a = json_object_get(config, "annotations");
    const char *uid = annotation2(a, "io.kubernetes.cri.sandbox-uid", "io.kubernetes.pod.uid");
    const char *ns = annotation2(a, "io.kubernetes.cri.sandbox-namespace",
                                 "io.kubernetes.pod.namespace");
    const char *name = annotation2(a, "io.kubernetes.cri.sandbox-name",
                                   "io.kubernetes.pod.name");
    const char *ctr = annotation2(a, "io.kubernetes.cri.container-name",
                                  "io.kubernetes.container.name");
    cbor_item_t *p;

    if (!uid)
        return 0;
    if (!(p = ctl_map_new()))
        return -ENOMEM;
    if (ctl_put_str(p, "uid", uid) || ctl_put_str(p, "namespace", ns ? ns : "") ||
        ctl_put_str(p, "name", name ? name : "") || ctl_put_str(p, "container", ctr ? ctr : "")) {
        cbor_decref(&p);
        return -ENOMEM;
    }
    return put(m, "pod", p);
}

int launchcfg_extract(const json_t *config, const uint8_t digest[DIGEST_LEN],
                      const struct launch_env *env, struct launch_config *lc)
{
    json_t *root;
    int r, ro = 0;

    memset(lc, 0, sizeof(*lc));
    memcpy(lc->config_digest, digest, DIGEST_LEN);
    if (!json_is_object(config))
        return lc_bad("not an object");
    if (!(lc->map = ctl_map_new()))
        return -ENOMEM;
    r = lc_get_opt(config, "root", JSON_OBJECT, &root);
    if (r == 0 && root)
        r = lc_get_bool(root, "readonly", &ro);
    if (r == 0)
        r = ctl_put_bool(lc->map, "readonly_rootfs", ro);
    if (r == 0)
        r = extract_process(config, lc->map);
    if (r == 0)
        r = extract_linux(config, env, lc->map);
    if (r == 0)
        r = extract_hooks(config, env, lc->map);
    if (r == 0)
        r = extract_pod(config, lc->map);
    if (r == 0)
        r = launchcfg_mounts(config, env, lc);
    if (r < 0)
        launchcfg_free(lc);
    return r;
}

void launchcfg_free(struct launch_config *lc)
{
    if (lc->map)
        cbor_decref(&lc->map);
    strset_free(&lc->mount_points);
    strset_free(&lc->rootfs_setid);
    strset_free(&lc->rootfs_devices);
}

cbor_item_t *launchcfg_to_cbor(const struct launch_config *lc)
{
    char digest[DIGEST_TEXT_LEN];
    cbor_item_t *m = lc->map ? ctl_map_new() : NULL;
    struct cbor_pair *pairs;

    if (!m)
        return NULL;
    pairs = cbor_map_handle(lc->map);
    for (size_t i = 0; i < cbor_map_size(lc->map); i++)
        if (!cbor_map_add(m, pairs[i])) {
            cbor_decref(&m);
            return NULL;
        }
    digest_text(lc->config_digest, digest);
    if (ctl_put_item(m, "rootfs_setid", cb_text_array(&lc->rootfs_setid)) ||
        ctl_put_item(m, "rootfs_devices", cb_text_array(&lc->rootfs_devices)) ||
        ctl_put_str(m, "config_digest", digest))
        cbor_decref(&m);
    return m;
}

/* The record's subset of CBOR (maps with text keys, arrays, texts, integers, booleans). */
static json_t *cbor_json(const cbor_item_t *it)
{
    json_t *o = NULL;

    switch (cbor_typeof(it)) {
    case CBOR_TYPE_UINT:
        return json_integer((json_int_t)cbor_get_int(it));
    case CBOR_TYPE_NEGINT:
        return json_integer(-1 - (json_int_t)cbor_get_int(it));
    case CBOR_TYPE_STRING:
        return json_stringn((const char *)cbor_string_handle(it), cbor_string_length(it));
    case CBOR_TYPE_ARRAY:
        o = json_array();
        for (size_t i = 0; o && i < cbor_array_size(it); i++)
            if (json_array_append_new(o, cbor_json(cbor_array_handle(it)[i])))
                break;
        return o;
    case CBOR_TYPE_MAP:
        o = json_object();
        for (size_t i = 0; o && i < cbor_map_size(it); i++) {
            const struct cbor_pair *p = &cbor_map_handle(it)[i];
            char k[64];
            snprintf(k, sizeof(k), "%.*s", (int)cbor_string_length(p->key),
                     (const char *)cbor_string_handle(p->key));
            json_object_set_new(o, k, cbor_json(p->value));
        }
        return o;
    case CBOR_TYPE_FLOAT_CTRL:
        return json_boolean(cbor_get_bool(it));
    default:
        return json_null();
    }
}

json_t *launchcfg_to_json(const struct launch_config *lc)
{
    cbor_item_t *m = launchcfg_to_cbor(lc);
    json_t *j = m ? cbor_json(m) : NULL;

    if (m)
        cbor_decref(&m);
    return j;
}
