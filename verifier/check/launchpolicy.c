/* SPDX-License-Identifier: BSD-3-Clause */
/* Launch-config rules: what a container may be started with, judged on the measured record. */
#include "check/launchpolicy.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "cborutil.h"
#include "ctlproto.h"
#include "check/jsonlist.h"

#define TEXT_MAX 512u

/* Defaults: the BRIEF's list, runc's `runc spec` masks and Kubernetes Pod Security
 * "restricted" (docs/policy.md explains each). */
static const char defaults[] =
    "{\"allowed_capabilities\": [\"CAP_NET_BIND_SERVICE\"],"
    " \"forbidden_host_namespaces\": [\"network\", \"pid\", \"ipc\", \"uts\", \"mount\"],"
    " \"allowed_joined_namespaces\": [\"network\", \"pid\", \"ipc\", \"uts\"],"
    " \"allow_root\": false,"
    " \"require_memory_limit\": true, \"require_cpu_shares\": true, \"require_pids_limit\": true,"
    " \"require_no_new_privileges\": true, \"require_seccomp\": true,"
    " \"require_seccomp_default_deny\": false, \"allowed_dangerous_syscalls\": [],"
    " \"require_readonly_rootfs\": false,"
    " \"required_masked_paths\": [\"/proc/acpi\", \"/proc/asound\", \"/proc/kcore\","
    "  \"/proc/keys\", \"/proc/latency_stats\", \"/proc/timer_list\", \"/proc/timer_stats\","
    "  \"/proc/sched_debug\", \"/sys/firmware\", \"/proc/scsi\"],"
    " \"required_readonly_paths\": [\"/proc/bus\", \"/proc/fs\", \"/proc/irq\", \"/proc/sys\","
    "  \"/proc/sysrq-trigger\"],"
    " \"allowed_mount_types\": [\"proc\", \"sysfs\", \"tmpfs\", \"devpts\", \"mqueue\","
    "  \"cgroup\", \"cgroup2\"],"
    " \"allow_writable_sysfs\": false, \"allow_writable_cgroup\": false,"
    " \"allow_shared_propagation\": false,"
    " \"allowed_host_mounts\": [],"
    " \"forbidden_host_sources\": [\"/\", \"/proc\", \"/sys\", \"/dev\", \"/etc\", \"/run\","
    "  \"/var/run\", \"/run/vtpm-mgr\", \"/run/docker.sock\", \"/run/docker\","
    "  \"/run/containerd\", \"/run/crio\", \"/run/podman\", \"/var/lib/docker\","
    "  \"/var/lib/containerd\", \"/var/lib/kubelet\"],"
    " \"allowed_sysctls\": [\"kernel.shm_rmid_forced\", \"net.ipv4.ip_local_port_range\","
    "  \"net.ipv4.ip_unprivileged_port_start\", \"net.ipv4.tcp_syncookies\","
    "  \"net.ipv4.ping_group_range\"],"
    " \"allowed_device_nodes\": [],"
    " \"allowed_device_rules\": [\"c *:* m\", \"b *:* m\", \"c 1:3 rwm\", \"c 1:5 rwm\","
    "  \"c 1:7 rwm\", \"c 1:8 rwm\", \"c 1:9 rwm\", \"c 5:0 rwm\", \"c 5:1 rwm\", \"c 5:2 rwm\","
    "  \"c 136:* rwm\"],"
    " \"min_oom_score_adj\": 0,"
    " \"forbidden_apparmor_profiles\": [\"unconfined\"],"
    " \"allowed_selinux_types\": [\"container_t\", \"container_init_t\", \"container_kvm_t\","
    "  \"container_engine_t\"],"
    " \"allow_agent_hook\": true, \"allowed_hooks\": [],"
    " \"allowed_setid_files\": [], \"allow_rootfs_devices\": false,"
    " \"allow_engine_files\": true,"
    " \"allowed_pod_volumes\": {\"etc-hosts\": \"rw\", \"termination-log\": \"rw\","
    "  \"empty-dir\": \"rw\", \"projected\": \"ro\", \"configmap\": \"ro\", \"secret\": \"ro\"},"
    " \"allow_ancestor_pids_limit\": true, \"allowed_host_ports\": [],"
    " \"require_admitted_pod\": true}";

static const char *const bool_keys[] = {
    "allow_root", "require_memory_limit", "require_cpu_shares", "require_pids_limit",
    "require_no_new_privileges", "require_seccomp", "require_seccomp_default_deny",
    "require_readonly_rootfs", "allow_writable_sysfs", "allow_writable_cgroup",
    "allow_shared_propagation", "allow_agent_hook", "allow_rootfs_devices", "allow_engine_files",
    "allow_ancestor_pids_limit",
    "require_admitted_pod",
};
static const char *const list_keys[] = {
    "allowed_capabilities", "forbidden_host_namespaces", "allowed_joined_namespaces",
    "allowed_dangerous_syscalls",
    "required_masked_paths", "required_readonly_paths", "allowed_mount_types",
    "forbidden_host_sources", "allowed_sysctls", "allowed_device_nodes", "allowed_device_rules",
    "forbidden_apparmor_profiles", "allowed_selinux_types", "allowed_hooks", "allowed_setid_files",
};
#define N(a) (sizeof(a) / sizeof((a)[0]))

json_t *launch_policy_defaults(void)
{
    return json_loads(defaults, 0, NULL);
}

/* "launch.<key> <what>" */
static int errf(char *err, size_t errsz, const char *k, const char *what)
{
    snprintf(err, errsz, "launch%s%s %s", k ? "." : "", k ? k : "", what);
    return -EINVAL;
}

static int in(const char *k, const char *const *names, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(k, names[i]))
            return 1;
    return 0;
}

int policy_json_texts(const json_t *a)
{
    size_t i;
    json_t *v;

    if (!json_is_array(a))
        return 0;
    json_array_foreach(a, i, v)
        if (!json_is_string(v))
            return 0;
    return 1;
}

/* allowed_host_mounts: [{"source": "/abs/path", "mode": "ro"|"rw"}, ...] */
static int host_mounts_ok(const json_t *a)
{
    size_t i;
    json_t *e;

    if (!json_is_array(a))
        return 0;
    json_array_foreach(a, i, e) {
        const char *s = json_string_value(json_object_get(e, "source"));
        const char *m = json_string_value(json_object_get(e, "mode"));
        if (!json_is_object(e) || json_object_size(e) != 2 || !s || s[0] != '/' || !m ||
            (strcmp(m, "ro") && strcmp(m, "rw")))
            return 0;
    }
    return 1;
}

/* The kinds of the kubelet's per-pod files the agent names (attest-agent/launchpod.c). */
static const char *const pod_volume_types[] = {
    "etc-hosts", "termination-log", "projected", "empty-dir", "configmap", "secret",
    "downward-api", "other",
};

/* allowed_pod_volumes: {"<type>": "ro"|"rw", ...} */
static int pod_volumes_ok(const json_t *o)
{
    const char *k;
    json_t *v;

    if (!json_is_object(o))
        return 0;
    json_object_foreach((json_t *)o, k, v) {
        const char *m = json_string_value(v);
        if (!in(k, pod_volume_types, N(pod_volume_types)) || !m ||
            (strcmp(m, "ro") && strcmp(m, "rw")))
            return 0;
    }
    return 1;
}

/* allowed_host_ports: [80, 443, ...] */
static int ports_ok(const json_t *a)
{
    size_t i;
    json_t *e;

    if (!json_is_array(a))
        return 0;
    json_array_foreach(a, i, e)
        if (!json_is_integer(e) || json_integer_value(e) < 1 || json_integer_value(e) > 65535)
            return 0;
    return 1;
}

int launch_policy_validate(const json_t *l, char *err, size_t errsz)
{
    const char *k;
    json_t *v;

    if (!json_is_object(l))
        return errf(err, errsz, NULL, "must be an object");
    json_object_foreach((json_t *)l, k, v) {
        if (in(k, bool_keys, N(bool_keys))) {
            if (!json_is_boolean(v))
                return errf(err, errsz, k, "must be true or false");
        } else if (in(k, list_keys, N(list_keys))) {
            if (!policy_json_texts(v))
                return errf(err, errsz, k, "must be an array of strings");
        } else if (!strcmp(k, "min_oom_score_adj")) {
            if (!json_is_integer(v) || json_integer_value(v) < -1000 ||
                json_integer_value(v) > 1000)
                return errf(err, errsz, k, "must be an integer -1000..1000");
        } else if (!strcmp(k, "allowed_pod_volumes")) {
            if (!pod_volumes_ok(v))
                return errf(err, errsz, k, "must be {\"<etc-hosts|termination-log|projected|"
                            "empty-dir|configmap|secret|downward-api|other>\": \"ro\" or "
                            "\"rw\", ...}");
        } else if (!strcmp(k, "allowed_host_ports")) {
            if (!ports_ok(v))
                return errf(err, errsz, k, "must be an array of integers 1..65535");
        } else if (!strcmp(k, "allowed_host_mounts")) {
            if (!host_mounts_ok(v))
                return errf(err, errsz, k, "must be [{\"source\": \"/path\", \"mode\": "
                            "\"ro\" or \"rw\"}, ...]");
        } else {
            return errf(err, errsz, k, "is not a known key");
        }
    }
    return 0;
}

/* ---- evaluation ---- */

struct eval {
    const json_t *pol;
    const cbor_item_t *cfg;
    struct reasons *r;
};

static int rule(const struct eval *e, const char *k)
{
    return json_is_true(json_object_get(e->pol, k));
}

static const json_t *list(const struct eval *e, const char *k)
{
    return json_object_get(e->pol, k);
}

static void malformed(const struct eval *e, const char *field)
{
    reasons_add(e->r, "launch-config-malformed", "%s", field);
}

/* cfg[k] as an array (definite or not) of items; NULL (and a reason) otherwise. */
static const cbor_item_t *array_of(const struct eval *e, const cbor_item_t *m, const char *k)
{
    const cbor_item_t *a = ctl_get(m, k);

    if (!a || !cbor_isa_array(a)) {
        malformed(e, k);
        return NULL;
    }
    return a;
}

/* The texts of cfg[field], one call of fn per entry. */
static void each_text(const struct eval *e, const char *field,
                      void (*fn)(const struct eval *, const char *))
{
    const cbor_item_t *a = array_of(e, e->cfg, field);
    char t[TEXT_MAX];

    for (size_t i = 0; a && i < cbor_array_size(a); i++) {
        if (cbu_text_copy(cbor_array_handle(a)[i], t, sizeof(t)) < 0) {
            malformed(e, field);
            return;
        }
        fn(e, t);
    }
}

static int get_flag(const struct eval *e, const cbor_item_t *m, const char *k, int *v)
{
    *v = 0;
    if (ctl_get_bool(m, k, v) == 0)
        return 0;
    malformed(e, k);
    return -1;
}

/* A flag that agents before it did not write: absent is false (never an exemption). */
static int get_opt_flag(const struct eval *e, const cbor_item_t *m, const char *k, int *v)
{
    int r;

    *v = 0;
    if ((r = ctl_get_bool(m, k, v)) == 0 || r == -ENOENT)
        return 0;
    malformed(e, k);
    return -1;
}

static int get_text(const struct eval *e, const cbor_item_t *m, const char *k, char *out)
{
    out[0] = '\0';
    if (ctl_get_str(m, k, out, TEXT_MAX) == 0)
        return 0;
    malformed(e, k);
    return -1;
}

static const char *cap_base(const char *c)
{
    return strncasecmp(c, "CAP_", 4) ? c : c + 4;
}

static void cap_rule(const struct eval *e, const char *cap)
{
    size_t i;
    json_t *v;

    json_array_foreach(list(e, "allowed_capabilities"), i, v)
        if (!strcasecmp(cap_base(json_string_value(v)), cap_base(cap)))
            return;
    reasons_add(e->r, "capability-not-allowed", "%s", cap);
}

static void ns_rule(const struct eval *e, const char *ns)
{
    if (json_list_has(list(e, "forbidden_host_namespaces"), ns))
        reasons_add(e->r, "host-namespace-forbidden", "%s", ns);
}

static void joined_rule(const struct eval *e, const char *ns)
{
    if (!json_list_has(list(e, "allowed_joined_namespaces"), ns))
        reasons_add(e->r, "namespace-joined-forbidden", "%s", ns);
}

/* joined_namespaces: absent in records of agents before it, read as none joined (those
 * agents listed such namespaces in host_namespaces, so nothing is exempted). */
static void check_joined(const struct eval *e)
{
    if (ctl_get(e->cfg, "joined_namespaces"))
        each_text(e, "joined_namespaces", joined_rule);
}

static void syscall_rule(const struct eval *e, const char *call)
{
    if (!json_list_has(list(e, "allowed_dangerous_syscalls"), call))
        reasons_add(e->r, "seccomp-allows", "%s", call);
}

static void sysctl_rule(const struct eval *e, const char *kv)
{
    char key[TEXT_MAX];

    snprintf(key, sizeof(key), "%.*s", (int)strcspn(kv, "="), kv);
    if (!json_list_has(list(e, "allowed_sysctls"), key))
        reasons_add(e->r, "sysctl-forbidden", "%.120s", key);
}

static void setid_rule(const struct eval *e, const char *path)
{
    if (!json_list_has(list(e, "allowed_setid_files"), path))
        reasons_add(e->r, "rootfs-setid-file", "%.120s", path);
}

static void rootfs_dev_rule(const struct eval *e, const char *path)
{
    if (!rule(e, "allow_rootfs_devices"))
        reasons_add(e->r, "rootfs-device-node", "%.120s", path);
}

/* "T MAJ:MIN ACC" rules: allowed when one allow-listed rule has the same type and numbers
 * and at least its access. */
static int rule_covers(const char *allowed, const char *rl)
{
    char t1[8], n1[48], a1[8], t2[8], n2[48], a2[8];

    if (sscanf(allowed, "%7s %47s %7s", t1, n1, a1) != 3 ||
        sscanf(rl, "%7s %47s %7s", t2, n2, a2) != 3)
        return 0;
    if (strcmp(t1, t2) || strcmp(n1, n2))
        return 0;
    for (const char *p = a2; *p; p++)
        if (!strchr(a1, *p))
            return 0;
    return 1;
}

static void device_rule(const struct eval *e, const char *rl)
{
    size_t i;
    json_t *v;

    json_array_foreach(list(e, "allowed_device_rules"), i, v)
        if (rule_covers(json_string_value(v), rl))
            return;
    reasons_add(e->r, "device-rule-forbidden", "%s", rl);
}

static void check_texts(const struct eval *e)
{
    each_text(e, "capabilities", cap_rule);
    each_text(e, "host_namespaces", ns_rule);
    check_joined(e);
    each_text(e, "sysctl", sysctl_rule);
    each_text(e, "device_rules", device_rule);
    each_text(e, "rootfs_setid", setid_rule);
    each_text(e, "rootfs_devices", rootfs_dev_rule);
    each_text(e, "seccomp_allowed_dangerous", syscall_rule);
}

/* Fields measured for the audit trail that no rule reads: present all the same. */
static void check_present(const struct eval *e)
{
    char t[TEXT_MAX];

    get_text(e, e->cfg, "seccomp_default_action", t);
    array_of(e, e->cfg, "seccomp_architectures");
}

static void check_flag(const struct eval *e, const char *field, const char *rulename,
                       const char *code)
{
    int v = 0;

    if (get_flag(e, e->cfg, field, &v) == 0 && rule(e, rulename) && !v)
        reasons_add(e->r, code, NULL);
}

static void check_amount(const struct eval *e, const char *field, const char *rulename,
                         const char *code)
{
    uint64_t v = 0;

    if (ctl_get_uint(e->cfg, field, &v) < 0)
        malformed(e, field);
    else if (rule(e, rulename) && v == 0)
        reasons_add(e->r, code, NULL);
}

static void check_required(const struct eval *e, const char *field, const char *rulename,
                           const char *code)
{
    const cbor_item_t *a = array_of(e, e->cfg, field);
    size_t i, k;
    json_t *v;

    json_array_foreach(list(e, rulename), i, v) {
        for (k = 0; a && k < cbor_array_size(a); k++)
            if (cbu_text_eq(cbor_array_handle(a)[k], json_string_value(v)))
                break;
        if (!a || k == cbor_array_size(a))
            reasons_add(e->r, code, "%s", json_string_value(v));
    }
}

static int get_u32(const struct eval *e, const cbor_item_t *m, const char *k, uint64_t *v)
{
    if (ctl_get_uint(m, k, v) == 0)
        return 0;
    malformed(e, k);
    return -1;
}

/* Root in the container is host root unless a user namespace maps it elsewhere. */
static void check_user(const struct eval *e)
{
    const cbor_item_t *u = ctl_get(e->cfg, "user"), *gids;
    uint64_t uid = 0, gid = 0;
    int userns = 0;

    if (get_flag(e, e->cfg, "user_namespace", &userns) < 0)
        return;
    if (!u || !cbor_isa_map(u) || get_u32(e, u, "uid", &uid) < 0 ||
        get_u32(e, u, "gid", &gid) < 0 ||
        !(gids = array_of(e, u, "additional_gids"))) {
        malformed(e, "user");
        return;
    }
    if (rule(e, "allow_root") || userns)
        return;
    launch_rule_root(e->pol, uid == 0 ? LAUNCH_ROOT_UID : LAUNCH_ROOT_NONE, e->r);
    launch_rule_root(e->pol, gid == 0 ? LAUNCH_ROOT_GID : LAUNCH_ROOT_NONE, e->r);
    for (size_t i = 0; i < cbor_array_size(gids); i++) {
        const cbor_item_t *it = cbor_array_handle(gids)[i];
        if (!cbor_isa_uint(it))
            malformed(e, "additional_gids");
        else if (cbor_get_int(it) == 0)
            launch_rule_root(e->pol, LAUNCH_ROOT_EXTRA_GID, e->r);
    }
}

static void check_mappings(const struct eval *e, const char *field)
{
    const cbor_item_t *a = array_of(e, e->cfg, field);
    uint64_t host = 0;

    for (size_t i = 0; a && i < cbor_array_size(a); i++) {
        const cbor_item_t *m = cbor_array_handle(a)[i];
        if (!cbor_isa_map(m) || get_u32(e, m, "host_id", &host) < 0) {
            malformed(e, field);
            return;
        }
        if (host == 0 && !rule(e, "allow_root"))
            reasons_add(e->r, "userns-maps-host-root", "%s", field);
    }
}

static void check_oom(const struct eval *e)
{
    const cbor_item_t *v = ctl_get(e->cfg, "oom_score_adj");
    long long n;

    if (!v || !(cbor_isa_uint(v) || cbor_isa_negint(v)) || cbor_get_int(v) > 1000) {
        malformed(e, "oom_score_adj");
        return;
    }
    n = cbor_isa_uint(v) ? (long long)cbor_get_int(v) : -1 - (long long)cbor_get_int(v);
    if (n < json_integer_value(json_object_get(e->pol, "min_oom_score_adj")))
        reasons_add(e->r, "oom-score-adj-too-low", "%lld", n);
}

/* AppArmor profile not forbidden; an SELinux label's type (third field) allow-listed. */
static void check_labels(const struct eval *e)
{
    char aa[TEXT_MAX], se[TEXT_MAX], type[TEXT_MAX] = "";
    const char *p;

    if (get_text(e, e->cfg, "apparmor_profile", aa) == 0 && aa[0] &&
        json_list_has(list(e, "forbidden_apparmor_profiles"), aa))
        reasons_add(e->r, "apparmor-profile-forbidden", "%.120s", aa);
    if (get_text(e, e->cfg, "selinux_label", se) < 0 || !se[0])
        return;
    p = strchr(se, ':');
    p = p ? strchr(p + 1, ':') : NULL;
    if (p)
        snprintf(type, sizeof(type), "%.*s", (int)strcspn(p + 1, ":"), p + 1);
    if (!json_list_has(list(e, "allowed_selinux_types"), type))
        reasons_add(e->r, "selinux-type-forbidden", "%.120s", type[0] ? type : se);
}

static void check_propagation(const struct eval *e)
{
    char prop[TEXT_MAX];

    if (get_text(e, e->cfg, "rootfs_propagation", prop) == 0 &&
        !rule(e, "allow_shared_propagation") &&
        (!strcmp(prop, "shared") || !strcmp(prop, "rshared")))
        reasons_add(e->r, "rootfs-propagation-shared", "%s", prop);
}

static void check_nodes(const struct eval *e)
{
    const cbor_item_t *a = array_of(e, e->cfg, "device_nodes");
    char path[TEXT_MAX], type[TEXT_MAX], id[TEXT_MAX];
    uint64_t maj, min;

    for (size_t i = 0; a && i < cbor_array_size(a); i++) {
        const cbor_item_t *d = cbor_array_handle(a)[i];
        if (!cbor_isa_map(d) || get_text(e, d, "path", path) < 0 ||
            get_text(e, d, "type", type) < 0 || get_u32(e, d, "major", &maj) < 0 ||
            get_u32(e, d, "minor", &min) < 0) {
            malformed(e, "device_nodes");
            return;
        }
        snprintf(id, sizeof(id), "%.16s %llu:%llu", type, (unsigned long long)maj,
                 (unsigned long long)min);
        if (!json_list_has(list(e, "allowed_device_nodes"), id))
            reasons_add(e->r, "device-node-forbidden", "%.100s %s", path, id);
    }
}

static void check_hooks(const struct eval *e)
{
    const cbor_item_t *a = array_of(e, e->cfg, "hooks");
    char stage[TEXT_MAX], path[TEXT_MAX];
    int agent;

    for (size_t i = 0; a && i < cbor_array_size(a); i++) {
        const cbor_item_t *h = cbor_array_handle(a)[i];
        if (!cbor_isa_map(h) || get_text(e, h, "stage", stage) < 0 ||
            get_text(e, h, "path", path) < 0 || get_flag(e, h, "agent", &agent) < 0) {
            malformed(e, "hooks");
            return;
        }
        if (agent && !strcmp(stage, "createRuntime") && rule(e, "allow_agent_hook"))
            continue;
        if (!json_list_has(list(e, "allowed_hooks"), path))
            reasons_add(e->r, "hook-forbidden", "%s %.120s", stage, path);
    }
}

/* The caller's list of host paths: p is one of them, inside one, or contains one. */
static int path_within(const char *p, const char *prefix)
{
    size_t n = strlen(prefix);

    if (!strcmp(prefix, "/"))
        return 1;
    return !strncmp(p, prefix, n) && (p[n] == '\0' || p[n] == '/');
}

static int sensitive(const struct eval *e, const char *src)
{
    size_t i;
    json_t *v;

    json_array_foreach(list(e, "forbidden_host_sources"), i, v) {
        const char *f = json_string_value(v);
        /* "/" forbids itself only: every path lies inside it */
        if (path_within(f, src) || (strcmp(f, "/") && path_within(src, f)))
            return 1;
    }
    return 0;
}

static int host_mount_allowed(const struct eval *e, const char *src, const char *mode)
{
    size_t i;
    json_t *v;

    json_array_foreach(list(e, "allowed_host_mounts"), i, v) {
        const char *s = json_string_value(json_object_get(v, "source"));
        const char *m = json_string_value(json_object_get(v, "mode"));
        if (s && m && path_within(src, s) && (!strcmp(m, "rw") || !strcmp(mode, "ro")))
            return 1;
    }
    return 0;
}

/* A host bind with nothing exempting it: the two lists decide. */
static void host_bind_rule(const struct eval *e, const char *src, const char *mode)
{
    if (sensitive(e, src))
        reasons_add(e->r, "host-mount-sensitive", "%.120s (%s)", src, mode);
    else if (!host_mount_allowed(e, src, mode))
        reasons_add(e->r, "host-mount-not-allowed", "%.120s (%s)", src, mode);
}

static int shared(const char *prop)
{
    return !strcmp(prop, "shared") || !strcmp(prop, "rshared");
}

/* The pod's own file or volume of that kind, in that mode, is allowed (allowed_pod_volumes:
 * "rw" allows both modes, "ro" read-only binds only). */
static int pod_volume_allowed(const struct eval *e, const char *type, const char *mode)
{
    const char *m = json_string_value(json_object_get(list(e, "allowed_pod_volumes"), type));

    return m && (!strcmp(m, "rw") || !strcmp(mode, "ro"));
}

/* pod_volume: absent in records of agents before it, read as none (those agents flagged no
 * bind as a pod's, so nothing is exempted). */
static int get_opt_text(const struct eval *e, const cbor_item_t *m, const char *k, char *out)
{
    out[0] = '\0';
    return ctl_get(m, k) ? get_text(e, m, k, out) : 0;
}

static void check_host_mounts(const struct eval *e)
{
    const cbor_item_t *a = array_of(e, e->cfg, "host_mounts");
    char src[TEXT_MAX], dst[TEXT_MAX], mode[TEXT_MAX], prop[TEXT_MAX], vol[TEXT_MAX];
    int mgr, own, eng;

    for (size_t i = 0; a && i < cbor_array_size(a); i++) {
        const cbor_item_t *m = cbor_array_handle(a)[i];
        if (!cbor_isa_map(m) || get_text(e, m, "source", src) < 0 ||
            get_text(e, m, "destination", dst) < 0 || get_text(e, m, "mode", mode) < 0 ||
            get_text(e, m, "propagation", prop) < 0 || get_flag(e, m, "vtpm_mgr", &mgr) < 0 ||
            get_opt_flag(e, m, "own_vtpm", &own) < 0 ||
            get_opt_flag(e, m, "engine_file", &eng) < 0 ||
            get_opt_text(e, m, "pod_volume", vol) < 0) {
            malformed(e, "host_mounts");
            return;
        }
        if (mgr) /* always, whatever the lists say */
            reasons_add(e->r, "host-mount-vtpm-mgr", "%.120s", src);
        /* Exactly the directory of the vTPM this evidence is quoted from (the agent decides it
         * against its run dir): the container's own vTPM sockets, read-only, no host path
         * beyond them. A writable one could unlink its sockets or fill the host's /run. */
        if (own && !mgr) {
            if (!strcmp(mode, "rw"))
                reasons_add(e->r, "host-mount-own-vtpm-writable", "%.120s", src);
        } else if (eng && !mgr && rule(e, "allow_engine_files")) {
            /* One of the container's own per-container files from its engine's storage (or,
             * for a pod's container, its CRI sandbox's), at the one destination it belongs to
             * (the agent matched the path, the container's or the joined sandbox's id and the
             * file's type): nothing of the host beyond what the engine made for it. */
        } else if (vol[0] && !mgr && pod_volume_allowed(e, vol, mode)) {
            /* A file or volume the kubelet made for this container's pod (the agent matched
             * the pod's uid, checked against its sandbox, and the kind from the path). */
        } else if (vol[0] && !mgr && !sensitive(e, src) && host_mount_allowed(e, src, mode)) {
            /* not a kind the pod rules allow, but a host path the list allows */
        } else if (vol[0] && !mgr) {
            reasons_add(e->r, "pod-volume-not-allowed", "%.20s %.120s (%s)", vol, src, mode);
        } else if (!mgr) {
            host_bind_rule(e, src, mode);
        } else if (sensitive(e, src)) {
            reasons_add(e->r, "host-mount-sensitive", "%.120s (%s)", src, mode);
        }
        if (shared(prop) && !rule(e, "allow_shared_propagation"))
            reasons_add(e->r, "mount-propagation-shared", "%.120s", dst);
    }
}

static void check_fs_mount(const struct eval *e, const char *type, const char *dst,
                           const char *mode, const char *prop)
{
    int rw = !strcmp(mode, "rw");

    if (!json_list_has(list(e, "allowed_mount_types"), type))
        reasons_add(e->r, "mount-type-forbidden", "%.40s %.100s", type, dst);
    else if (!strcmp(type, "proc") && strcmp(dst, "/proc"))
        reasons_add(e->r, "proc-mount-elsewhere", "%.120s", dst); /* no masks apply there */
    else if (!strcmp(type, "sysfs") && rw && !rule(e, "allow_writable_sysfs"))
        reasons_add(e->r, "sysfs-writable", "%.120s", dst);
    else if (!strncmp(type, "cgroup", 6) && rw && !rule(e, "allow_writable_cgroup"))
        reasons_add(e->r, "cgroup-writable", "%.120s", dst);
    if (shared(prop) && !rule(e, "allow_shared_propagation"))
        reasons_add(e->r, "mount-propagation-shared", "%.120s", dst);
}

static void check_mounts(const struct eval *e)
{
    const cbor_item_t *a = array_of(e, e->cfg, "mounts");
    char type[TEXT_MAX], dst[TEXT_MAX], mode[TEXT_MAX], prop[TEXT_MAX];

    for (size_t i = 0; a && i < cbor_array_size(a); i++) {
        const cbor_item_t *m = cbor_array_handle(a)[i];
        if (!cbor_isa_map(m) || get_text(e, m, "type", type) < 0 ||
            get_text(e, m, "destination", dst) < 0 || get_text(e, m, "mode", mode) < 0 ||
            get_text(e, m, "propagation", prop) < 0) {
            malformed(e, "mounts");
            return;
        }
        check_fs_mount(e, type, dst, mode, prop);
    }
}

/* A pids limit of the container's own, or (allow_ancestor_pids_limit) one that the kernel
 * applies to it from a cgroup above it, a pod's: pids_limit_effective, which agents before it
 * did not write (absent: none). */
static void check_pids(const struct eval *e)
{
    uint64_t own = 0, eff = 0;
    int r;

    if (ctl_get_uint(e->cfg, "pids_limit", &own) < 0) {
        malformed(e, "pids_limit");
        return;
    }
    if ((r = ctl_get_uint(e->cfg, "pids_limit_effective", &eff)) < 0 && r != -ENOENT) {
        malformed(e, "pids_limit_effective");
        return;
    }
    if (rule(e, "require_pids_limit") && own == 0 &&
        !(eff > 0 && rule(e, "allow_ancestor_pids_limit")))
        reasons_add(e->r, "pids-limit-missing", NULL);
}

/* The required flags: record field, rule, reason; indexed by enum launch_flag. */
static const struct {
    const char *field, *rule, *code;
} flags[] = {
    [LAUNCH_FLAG_NO_NEW_PRIVILEGES] = { "no_new_privileges", "require_no_new_privileges",
                                        "no-new-privileges-missing" },
    [LAUNCH_FLAG_SECCOMP] = { "seccomp", "require_seccomp", "seccomp-missing" },
    [LAUNCH_FLAG_SECCOMP_DEFAULT_DENY] = { "seccomp_default_deny",
                                           "require_seccomp_default_deny",
                                           "seccomp-not-default-deny" },
    [LAUNCH_FLAG_READONLY_ROOTFS] = { "readonly_rootfs", "require_readonly_rootfs",
                                      "readonly-rootfs-missing" },
};

void launch_policy_check(const json_t *launch, const cbor_item_t *cfg, struct reasons *r)
{
    const struct eval e = { .pol = launch, .cfg = cfg, .r = r };

    check_texts(&e);
    check_present(&e);
    check_user(&e);
    check_mappings(&e, "uid_mappings");
    check_mappings(&e, "gid_mappings");
    check_amount(&e, "memory_limit", "require_memory_limit", "memory-limit-missing");
    check_amount(&e, "cpu_shares", "require_cpu_shares", "cpu-shares-missing");
    check_pids(&e);
    for (size_t i = 0; i < N(flags); i++)
        check_flag(&e, flags[i].field, flags[i].rule, flags[i].code);
    check_required(&e, "masked_paths", "required_masked_paths", "masked-path-missing");
    check_required(&e, "readonly_paths", "required_readonly_paths", "readonly-path-missing");
    check_oom(&e);
    check_labels(&e);
    check_propagation(&e);
    check_nodes(&e);
    check_hooks(&e);
    check_host_mounts(&e);
    check_mounts(&e);
}

/* ---- single facts, judged by the rules above (admission reads them from a pod spec) ---- */

#define FACT(launch, r) const struct eval e = { .pol = (launch), .cfg = NULL, .r = (r) }

void launch_rule_capability(const json_t *launch, const char *cap, struct reasons *r)
{
    FACT(launch, r);
    cap_rule(&e, cap);
}

void launch_rule_host_namespace(const json_t *launch, const char *ns, struct reasons *r)
{
    FACT(launch, r);
    ns_rule(&e, ns);
}

void launch_rule_host_bind(const json_t *launch, const char *src, const char *mode,
                           struct reasons *r)
{
    FACT(launch, r);
    host_bind_rule(&e, src, mode);
}

void launch_rule_sysctl(const json_t *launch, const char *key, struct reasons *r)
{
    FACT(launch, r);
    sysctl_rule(&e, key);
}

void launch_rule_device_rule(const json_t *launch, const char *rl, struct reasons *r)
{
    FACT(launch, r);
    device_rule(&e, rl);
}

void launch_rule_flag(const json_t *launch, enum launch_flag f, int set, struct reasons *r)
{
    if ((size_t)f < N(flags) && json_is_true(json_object_get(launch, flags[f].rule)) && !set)
        reasons_add(r, flags[f].code, NULL);
}

void launch_rule_root(const json_t *launch, enum launch_root what, struct reasons *r)
{
    if (json_is_true(json_object_get(launch, "allow_root")))
        return;
    switch (what) {
    case LAUNCH_ROOT_UID:
        reasons_add(r, "run-as-root", NULL);
        break;
    case LAUNCH_ROOT_UID_UNSET:
        reasons_add(r, "run-as-root", "user not set");
        break;
    case LAUNCH_ROOT_GID:
        reasons_add(r, "run-as-root-group", "gid 0");
        break;
    case LAUNCH_ROOT_EXTRA_GID:
        reasons_add(r, "run-as-root-group", "additional gid 0");
        break;
    case LAUNCH_ROOT_NONE:
        break;
    }
}

void launch_rule_unmasked(const json_t *launch, struct reasons *r)
{
    size_t i;
    json_t *v;

    json_array_foreach(json_object_get(launch, "required_masked_paths"), i, v)
        reasons_add(r, "masked-path-missing", "%s", json_string_value(v));
    json_array_foreach(json_object_get(launch, "required_readonly_paths"), i, v)
        reasons_add(r, "readonly-path-missing", "%s", json_string_value(v));
}

void launch_rule_writable_mount(const json_t *launch, const char *type, const char *dst,
                                struct reasons *r)
{
    FACT(launch, r);
    check_fs_mount(&e, type, dst, "rw", "private");
}

void launch_rule_apparmor(const json_t *launch, const char *profile, struct reasons *r)
{
    if (json_list_has(json_object_get(launch, "forbidden_apparmor_profiles"), profile))
        reasons_add(r, "apparmor-profile-forbidden", "%.120s", profile);
}

void launch_rule_selinux_type(const json_t *launch, const char *type, struct reasons *r)
{
    if (!json_list_has(json_object_get(launch, "allowed_selinux_types"), type))
        reasons_add(r, "selinux-type-forbidden", "%.120s", type);
}

void launch_rule_host_port(const json_t *launch, long long port, struct reasons *r)
{
    size_t i;
    json_t *v;

    json_array_foreach(json_object_get(launch, "allowed_host_ports"), i, v)
        if (json_integer_value(v) == port)
            return;
    reasons_add(r, "host-port-forbidden", "%lld", port);
}
