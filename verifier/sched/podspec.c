/* SPDX-License-Identifier: BSD-3-Clause */
/* The launch rules applied to a Kubernetes Pod spec: each security setting is mapped to the
 * fact the runtime would measure at start and judged by launchpolicy.c's rule for it, so the
 * reasons are the start-time check's (docs/policy.md, "Admission: the pod spec"). */
#include "sched/podspec.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "check/launchpolicy.h"

/* What containerd and CRI-O give a container that drops nothing (their default set). */
static const char *const runtime_default_caps[] = {
    "CHOWN", "DAC_OVERRIDE", "FSETID", "FOWNER", "MKNOD", "NET_RAW", "SETGID", "SETUID",
    "SETFCAP", "SETPCAP", "NET_BIND_SERVICE", "SYS_CHROOT", "KILL", "AUDIT_WRITE",
};

struct pod {
    const json_t *launch, *spec, *psc; /* psc: spec.securityContext (may be NULL) */
    struct reasons *r;
    int userns; /* spec.hostUsers false: root in the pod is not host root */
};

static const char *cap_base(const char *c)
{
    return strncasecmp(c, "CAP_", 4) ? c : c + 4;
}

/* The container's setting k, else the pod's (Kubernetes' precedence). */
static const json_t *setting(const struct pod *p, const json_t *sc, const char *k)
{
    const json_t *v = json_object_get(sc, k);

    return v && !json_is_null(v) ? v : json_object_get(p->psc, k);
}

static void malformed(const struct pod *p, const char *field)
{
    reasons_add(p->r, "launch-config-malformed", "%s", field);
}

static int listed_cap(const json_t *l, const char *cap)
{
    size_t i;
    const json_t *v;

    json_array_foreach(l, i, v)
        if (json_is_string(v) && !strcasecmp(cap_base(json_string_value(v)), cap_base(cap)))
            return 1;
    return 0;
}

static void check_caps(const struct pod *p, const json_t *sc, int privileged)
{
    const json_t *caps = json_object_get(sc, "capabilities"), *v;
    const json_t *add = json_object_get(caps, "add"), *drop = json_object_get(caps, "drop");
    size_t i;

    if (privileged)
        launch_rule_capability(p->launch, "ALL", p->r);
    json_array_foreach(add, i, v) {
        if (!json_is_string(v))
            malformed(p, "capabilities.add");
        else
            launch_rule_capability(p->launch, json_string_value(v), p->r);
    }
    /* What is not dropped stays: the runtime's defaults unless "ALL" (or each) is dropped. */
    if (listed_cap(drop, "ALL"))
        return;
    for (i = 0; i < sizeof(runtime_default_caps) / sizeof(runtime_default_caps[0]); i++)
        if (!listed_cap(drop, runtime_default_caps[i]))
            launch_rule_capability(p->launch, runtime_default_caps[i], p->r);
}

/* What privileged adds beyond capabilities: every device, writable sysfs and cgroup, no
 * masked /proc paths (runc's config for a privileged CRI container). */
static void check_privileged(const struct pod *p)
{
    launch_rule_device_rule(p->launch, "a *:* rwm", p->r);
    launch_rule_writable_mount(p->launch, "sysfs", "/sys", p->r);
    launch_rule_writable_mount(p->launch, "cgroup2", "/sys/fs/cgroup", p->r);
    launch_rule_unmasked(p->launch, p->r);
}

static void check_user(const struct pod *p, const json_t *sc)
{
    const json_t *uid = setting(p, sc, "runAsUser"), *gid = setting(p, sc, "runAsGroup");
    const json_t *sup = json_object_get(p->psc, "supplementalGroups"), *v;
    size_t i;

    if (p->userns)
        return;
    if (json_is_integer(uid))
        launch_rule_root(p->launch, json_integer_value(uid) == 0 ? LAUNCH_ROOT_UID
                                                                 : LAUNCH_ROOT_NONE, p->r);
    else if (!json_is_true(setting(p, sc, "runAsNonRoot")))
        launch_rule_root(p->launch, LAUNCH_ROOT_UID_UNSET, p->r);
    if (json_is_integer(gid) && json_integer_value(gid) == 0)
        launch_rule_root(p->launch, LAUNCH_ROOT_GID, p->r);
    json_array_foreach(sup, i, v)
        if (json_is_integer(v) && json_integer_value(v) == 0)
            launch_rule_root(p->launch, LAUNCH_ROOT_EXTRA_GID, p->r);
}

static void check_confinement(const struct pod *p, const json_t *sc)
{
    const char *sec = json_string_value(json_object_get(setting(p, sc, "seccompProfile"), "type"));
    const char *aa = json_string_value(json_object_get(setting(p, sc, "appArmorProfile"),
                                                       "type"));
    const json_t *se = json_object_get(setting(p, sc, "seLinuxOptions"), "type");

    launch_rule_flag(p->launch, LAUNCH_FLAG_SECCOMP,
                     sec && (!strcmp(sec, "RuntimeDefault") || !strcmp(sec, "Localhost")), p->r);
    if (aa && !strcmp(aa, "Unconfined"))
        launch_rule_apparmor(p->launch, "unconfined", p->r);
    if (json_is_string(se) && json_string_length(se) > 0)
        launch_rule_selinux_type(p->launch, json_string_value(se), p->r);
}

/* The hostPath volume a mount names, or NULL. */
static const char *host_path(const struct pod *p, const char *vol)
{
    const json_t *v;
    size_t i;

    json_array_foreach(json_object_get(p->spec, "volumes"), i, v) {
        const json_t *hp = json_object_get(v, "hostPath");
        if (!json_is_string(json_object_get(v, "name")) ||
            strcmp(json_string_value(json_object_get(v, "name")), vol) || !hp)
            continue;
        if (!json_is_string(json_object_get(hp, "path")))
            return "";
        return json_string_value(json_object_get(hp, "path"));
    }
    return NULL;
}

static void check_mounts(const struct pod *p, const json_t *c)
{
    const json_t *m, *ports = json_object_get(c, "ports");
    size_t i;

    json_array_foreach(json_object_get(c, "volumeMounts"), i, m) {
        const char *name = json_string_value(json_object_get(m, "name")), *src;
        if (!name || !(src = host_path(p, name)))
            continue;
        if (src[0] != '/')
            malformed(p, "hostPath.path");
        else
            launch_rule_host_bind(p->launch, src,
                                  json_is_true(json_object_get(m, "readOnly")) ? "ro" : "rw",
                                  p->r);
    }
    json_array_foreach(ports, i, m) {
        const json_t *hp = json_object_get(m, "hostPort");
        if (json_is_integer(hp) && json_integer_value(hp) != 0)
            launch_rule_host_port(p->launch, json_integer_value(hp), p->r);
    }
}

static void check_container(const struct pod *p, const json_t *c)
{
    const json_t *sc = json_object_get(c, "securityContext");
    const char *pm = json_string_value(json_object_get(sc, "procMount"));
    int privileged = json_is_true(json_object_get(sc, "privileged"));
    int sysadmin = listed_cap(json_object_get(json_object_get(sc, "capabilities"), "add"),
                              "SYS_ADMIN");

    check_caps(p, sc, privileged);
    if (privileged)
        check_privileged(p);
    /* no_new_privs: only with allowPrivilegeEscalation false, which privileged and
     * CAP_SYS_ADMIN override (Kubernetes' rule) */
    launch_rule_flag(p->launch, LAUNCH_FLAG_NO_NEW_PRIVILEGES,
                     json_is_false(json_object_get(sc, "allowPrivilegeEscalation")) &&
                         !privileged && !sysadmin, p->r);
    launch_rule_flag(p->launch, LAUNCH_FLAG_READONLY_ROOTFS,
                     json_is_true(json_object_get(sc, "readOnlyRootFilesystem")), p->r);
    if (pm && !strcmp(pm, "Unmasked"))
        launch_rule_unmasked(p->launch, p->r);
    check_user(p, sc);
    check_confinement(p, sc);
    check_mounts(p, c);
}

static void check_namespaces(const struct pod *p)
{
    /* a host network pod gets the host's UTS namespace too (the kubelet's choice) */
    if (json_is_true(json_object_get(p->spec, "hostNetwork"))) {
        launch_rule_host_namespace(p->launch, "network", p->r);
        launch_rule_host_namespace(p->launch, "uts", p->r);
    }
    if (json_is_true(json_object_get(p->spec, "hostPID")))
        launch_rule_host_namespace(p->launch, "pid", p->r);
    if (json_is_true(json_object_get(p->spec, "hostIPC")))
        launch_rule_host_namespace(p->launch, "ipc", p->r);
}

static void check_sysctls(const struct pod *p)
{
    const json_t *s;
    size_t i;

    json_array_foreach(json_object_get(p->psc, "sysctls"), i, s) {
        const char *name = json_string_value(json_object_get(s, "name"));
        if (!name)
            malformed(p, "sysctls");
        else
            launch_rule_sysctl(p->launch, name, p->r);
    }
}

void podspec_check(const json_t *launch, const json_t *spec, struct reasons *r)
{
    static const char *const lists[] = { "containers", "initContainers",
                                         "ephemeralContainers" };
    const json_t *hu = json_object_get(spec, "hostUsers"), *c;
    const struct pod p = {
        .launch = launch, .spec = spec, .psc = json_object_get(spec, "securityContext"), .r = r,
        .userns = json_is_false(hu),
    };
    size_t i;

    check_namespaces(&p);
    check_sysctls(&p);
    for (size_t l = 0; l < sizeof(lists) / sizeof(lists[0]); l++)
        json_array_foreach(json_object_get(spec, lists[l]), i, c)
            check_container(&p, c);
}

/* ---- facts for the admission-to-runtime binding ---- */

static int add_cap(json_t *set, const char *cap)
{
    char up[64];
    size_t i;

    snprintf(up, sizeof(up), "%s", cap_base(cap));
    for (i = 0; up[i]; i++)
        up[i] = (char)toupper((unsigned char)up[i]);
    return json_object_set_new(set, up, json_true());
}

/* The capabilities the runtime gives: the default set less what is dropped, plus what is
 * added; ALL when privileged (or ALL added). As a sorted array. */
static json_t *expected_caps(const json_t *sc)
{
    const json_t *caps = json_object_get(sc, "capabilities"), *v;
    const json_t *add = json_object_get(caps, "add"), *drop = json_object_get(caps, "drop");
    json_t *set = json_object(), *out = json_array();
    const char *k;
    size_t i;

    if (!set || !out)
        goto fail;
    if (json_is_true(json_object_get(sc, "privileged")) || listed_cap(add, "ALL")) {
        json_decref(set);
        if (json_array_append_new(out, json_string("ALL")) < 0)
            goto fail_out;
        return out;
    }
    if (!listed_cap(drop, "ALL"))
        for (i = 0; i < sizeof(runtime_default_caps) / sizeof(runtime_default_caps[0]); i++)
            if (!listed_cap(drop, runtime_default_caps[i]) &&
                add_cap(set, runtime_default_caps[i]) < 0)
                goto fail;
    json_array_foreach(add, i, v)
        if (json_is_string(v) && add_cap(set, json_string_value(v)) < 0)
            goto fail;
    json_object_foreach(set, k, v)
        if (json_array_append_new(out, json_string(k)) < 0)
            goto fail;
    json_decref(set);
    return out;
fail:
    json_decref(set);
fail_out:
    json_decref(out);
    return NULL;
}

static json_t *container_facts(const struct pod *p, const json_t *c)
{
    const json_t *sc = json_object_get(c, "securityContext");
    const json_t *uid = setting(p, sc, "runAsUser");
    const char *sec = json_string_value(json_object_get(setting(p, sc, "seccompProfile"), "type"));
    int privileged = json_is_true(json_object_get(sc, "privileged"));
    int sysadmin = listed_cap(json_object_get(json_object_get(sc, "capabilities"), "add"),
                              "SYS_ADMIN");
    json_t *caps = expected_caps(sc);
    const json_t *img = json_object_get(c, "image");

    if (!caps)
        return NULL;
    return json_pack("{s:s, s:o, s:o, s:b, s:b, s:b, s:b, s:b}",
                     "image", json_is_string(img) ? json_string_value(img) : "",
                     "caps", caps,
                     "uid", json_is_integer(uid) ? json_integer(json_integer_value(uid))
                                                 : json_null(),
                     "nonroot", json_is_true(setting(p, sc, "runAsNonRoot")),
                     "userns", p->userns,
                     "nnp", json_is_false(json_object_get(sc, "allowPrivilegeEscalation")) &&
                                !privileged && !sysadmin,
                     "ro_rootfs", json_is_true(json_object_get(sc, "readOnlyRootFilesystem")),
                     "seccomp", sec && (!strcmp(sec, "RuntimeDefault") ||
                                        !strcmp(sec, "Localhost")));
}

json_t *podspec_facts(const json_t *spec)
{
    static const char *const lists[] = { "containers", "initContainers",
                                         "ephemeralContainers" };
    const struct pod p = {
        .spec = spec, .psc = json_object_get(spec, "securityContext"),
        .userns = json_is_false(json_object_get(spec, "hostUsers")),
    };
    json_t *f = json_pack("{s:[], s:{}}", "host_ns", "containers"), *hn, *cs, *cf;
    const json_t *c;
    size_t i;

    if (!f)
        return NULL;
    hn = json_object_get(f, "host_ns");
    cs = json_object_get(f, "containers");
    if (json_is_true(json_object_get(spec, "hostNetwork")) &&
        (json_array_append_new(hn, json_string("network")) < 0 ||
         json_array_append_new(hn, json_string("uts")) < 0))
        goto fail;
    if (json_is_true(json_object_get(spec, "hostPID")) &&
        json_array_append_new(hn, json_string("pid")) < 0)
        goto fail;
    if (json_is_true(json_object_get(spec, "hostIPC")) &&
        json_array_append_new(hn, json_string("ipc")) < 0)
        goto fail;
    for (size_t l = 0; l < sizeof(lists) / sizeof(lists[0]); l++)
        json_array_foreach(json_object_get(spec, lists[l]), i, c) {
            const char *name = json_string_value(json_object_get(c, "name"));
            if (!name || !name[0])
                continue; /* the API server names every container */
            if (!(cf = container_facts(&p, c)) || json_object_set_new(cs, name, cf) < 0)
                goto fail;
        }
    return f;
fail:
    json_decref(f);
    return NULL;
}
