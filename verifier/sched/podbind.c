/* SPDX-License-Identifier: BSD-3-Clause */
/* Admission-to-runtime binding: the measured launch configuration of a Kubernetes container
 * against what admission recorded for its pod (capabilities, host namespaces, user, no new
 * privileges, read-only root, seccomp, image). */
#include "sched/podbind.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "cborutil.h"
#include "ctlproto.h"
#include "check/jsonlist.h"

#define NOT_ADMITTED "launch-config-not-admitted"

int podbind_pod(const cbor_item_t *cfg, struct podbind_id *id, struct reasons *r)
{
    const cbor_item_t *p = ctl_get(cfg, "pod");

    memset(id, 0, sizeof(*id));
    if (!p)
        return 0;
    if (!cbor_isa_map(p) || ctl_get_str(p, "uid", id->uid, sizeof(id->uid)) < 0 ||
        !id->uid[0] || ctl_get_str(p, "namespace", id->ns, sizeof(id->ns)) < 0 ||
        ctl_get_str(p, "name", id->name, sizeof(id->name)) < 0 ||
        ctl_get_str(p, "container", id->container, sizeof(id->container)) < 0) {
        reasons_add(r, "launch-config-malformed", "pod");
        return -1;
    }
    return 1;
}

static const char *cap_base(const char *c)
{
    return strncasecmp(c, "CAP_", 4) ? c : c + 4;
}

static int cap_admitted(const json_t *caps, const char *cap)
{
    size_t i;
    const json_t *v;

    json_array_foreach(caps, i, v)
        if (!strcmp(json_string_value(v), "ALL") ||
            !strcasecmp(json_string_value(v), cap_base(cap)))
            return 1;
    return 0;
}

/* An image reference as the runtime may write it: without docker.io/ and library/, with
 * :latest when it has neither tag nor digest. */
static void image_norm(const char *in, char *out, size_t outsz)
{
    const char *p = in, *last;

    if (!strncmp(p, "docker.io/", 10))
        p += 10;
    if (!strncmp(p, "library/", 8))
        p += 8;
    last = strrchr(p, '/');
    last = last ? last + 1 : p;
    snprintf(out, outsz, "%s%s", p, strchr(last, ':') || strchr(last, '@') ? "" : ":latest");
}

static void check_image(const json_t *cf, const char *ctr, const struct measurements *m,
                        struct reasons *r)
{
    const char *adm = json_string_value(json_object_get(cf, "image"));
    char a[2 * MEASURE_MAX_TEXT], b[2 * MEASURE_MAX_TEXT];

    if (!m->has_image || !m->image_ref[0]) {
        reasons_add(r, NOT_ADMITTED, "%.60s: image not measured", ctr);
        return;
    }
    image_norm(adm ? adm : "", a, sizeof(a));
    image_norm(m->image_ref, b, sizeof(b));
    if (strcmp(a, b))
        reasons_add(r, NOT_ADMITTED, "%.40s: image %.50s, admitted %.50s", ctr, m->image_ref,
                    adm ? adm : "");
}

static void check_caps(const json_t *cf, const char *ctr, const cbor_item_t *cfg,
                       struct reasons *r)
{
    const cbor_item_t *a = ctl_get(cfg, "capabilities");
    char cap[64];

    for (size_t i = 0; a && cbor_isa_array(a) && i < cbor_array_size(a); i++)
        if (cbu_text_copy(cbor_array_handle(a)[i], cap, sizeof(cap)) == 0 &&
            !cap_admitted(json_object_get(cf, "caps"), cap))
            reasons_add(r, NOT_ADMITTED, "%.60s: capability %s", ctr, cap);
}

/* The namespaces a pod's spec decides (the others, cgroup and user, are the runtime's). */
static void check_namespaces(const json_t *facts, const char *ctr, const cbor_item_t *cfg,
                             struct reasons *r)
{
    static const char *const judged[] = { "network", "pid", "ipc", "uts", "mount" };
    const cbor_item_t *a = ctl_get(cfg, "host_namespaces");
    char ns[32];

    for (size_t i = 0; a && cbor_isa_array(a) && i < cbor_array_size(a); i++) {
        if (cbu_text_copy(cbor_array_handle(a)[i], ns, sizeof(ns)) < 0)
            continue;
        for (size_t k = 0; k < sizeof(judged) / sizeof(judged[0]); k++)
            if (!strcmp(ns, judged[k]) && !json_list_has(json_object_get(facts, "host_ns"), ns))
                reasons_add(r, NOT_ADMITTED, "%.60s: host namespace %s", ctr, ns);
    }
}

static void check_flags(const json_t *cf, const char *ctr, const cbor_item_t *cfg,
                        struct reasons *r)
{
    static const struct { const char *fact, *field; } f[] = {
        { "nnp", "no_new_privileges" }, { "ro_rootfs", "readonly_rootfs" },
        { "seccomp", "seccomp" },
    };
    int v;

    for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++)
        if (json_is_true(json_object_get(cf, f[i].fact)) &&
            (ctl_get_bool(cfg, f[i].field, &v) < 0 || !v))
            reasons_add(r, NOT_ADMITTED, "%.60s: %s off", ctr, f[i].field);
}

static void check_user(const json_t *cf, const char *ctr, const cbor_item_t *cfg,
                       struct reasons *r)
{
    const cbor_item_t *u = ctl_get(cfg, "user");
    const json_t *uid = json_object_get(cf, "uid");
    uint64_t have = 0;
    int userns = 0;

    if (json_is_true(json_object_get(cf, "userns")))
        return;
    if (!u || ctl_get_uint(u, "uid", &have) < 0) {
        reasons_add(r, NOT_ADMITTED, "%.60s: user unknown", ctr);
        return;
    }
    if (ctl_get_bool(cfg, "user_namespace", &userns) == 0 && userns)
        return; /* a user namespace the runtime made: its root is not the host's */
    if (json_is_integer(uid) ? (int64_t)have != json_integer_value(uid)
                             : json_is_true(json_object_get(cf, "nonroot")) && have == 0)
        reasons_add(r, NOT_ADMITTED, "%.60s: uid %llu", ctr, (unsigned long long)have);
}

void podbind_check(const json_t *facts, const struct podbind_id *id, const cbor_item_t *cfg,
                   const struct measurements *m, struct reasons *r)
{
    const json_t *cf;

    if (!facts) {
        reasons_add(r, NOT_ADMITTED, "unknown pod %.100s", id->uid);
        return;
    }
    check_namespaces(facts, id->container[0] ? id->container : "sandbox", cfg, r);
    if (!id->container[0])
        return; /* the pod's sandbox (pause): its image is the runtime's, not the spec's */
    if (!(cf = json_object_get(json_object_get(facts, "containers"), id->container))) {
        reasons_add(r, NOT_ADMITTED, "%.60s: not a container of the admitted pod",
                    id->container);
        return;
    }
    check_image(cf, id->container, m, r);
    check_caps(cf, id->container, cfg, r);
    check_flags(cf, id->container, cfg, r);
    check_user(cf, id->container, cfg, r);
}
