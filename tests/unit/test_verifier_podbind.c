/* SPDX-License-Identifier: BSD-3-Clause */
/* Unit tests of the admission-to-runtime binding: the facts admission records from a pod
 * spec, and a container's measured launch config and image compared with them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "../../verifier/sched/podbind.h"
#include "../../verifier/sched/podspec.h"
#include "../tools/launch_fixture.h"
#include "cborutil.h"

/* The admitted pod: "app" (drop ALL, add NET_BIND_SERVICE, uid 1000, no privilege escalation,
 * read-only root, RuntimeDefault seccomp), "dbg" (privileged), hostPID. */
static const char spec_text[] =
    "{\"hostPID\":true,\"securityContext\":{\"runAsUser\":1000,\"runAsNonRoot\":true},"
    "\"containers\":[{\"name\":\"app\",\"image\":\"registry.example/web:1.0\","
    " \"securityContext\":{\"allowPrivilegeEscalation\":false,\"readOnlyRootFilesystem\":true,"
    "  \"capabilities\":{\"drop\":[\"ALL\"],\"add\":[\"NET_BIND_SERVICE\"]},"
    "  \"seccompProfile\":{\"type\":\"RuntimeDefault\"}}}],"
    "\"initContainers\":[{\"name\":\"dbg\",\"image\":\"busybox\","
    " \"securityContext\":{\"privileged\":true,\"runAsUser\":0}}]}";

struct fx {
    json_t *facts;
    cbor_item_t *cfg;
    struct measurements m;
    struct podbind_id id;
};

/* A measured config as the agent writes it for a hardened container of the pod. */
static void setup_fx(struct fx *f, const char *container, const char *image)
{
    json_t *spec = json_loads(spec_text, 0, NULL);
    cbor_item_t *pod = ctl_map_new(), *caps = cbor_new_definite_array(1);
    struct reasons r = { 0 };

    assert_non_null(spec);
    assert_non_null(f->facts = podspec_facts(spec));
    json_decref(spec);
    f->cfg = ctl_map_new();
    ctl_put_str(pod, "uid", "6f1e");
    ctl_put_str(pod, "namespace", "prod");
    ctl_put_str(pod, "name", "web-1");
    ctl_put_str(pod, "container", container);
    ctl_put_item(f->cfg, "pod", pod);
    cbor_array_push(caps, cbor_move(cbor_build_string("CAP_NET_BIND_SERVICE")));
    ctl_put_item(f->cfg, "capabilities", caps);
    launch_fixture_fill(f->cfg);
    memset(&f->m, 0, sizeof(f->m));
    f->m.has_image = 1;
    snprintf(f->m.image_ref, sizeof(f->m.image_ref), "%s", image);
    assert_int_equal(podbind_pod(f->cfg, &f->id, &r), 1);
    assert_int_equal(r.n, 0);
    assert_string_equal(f->id.uid, "6f1e");
}

static void free_fx(struct fx *f)
{
    json_decref(f->facts);
    cbor_decref(&f->cfg);
}

/* The reasons of the comparison, one line (empty: admitted). */
static void expect(struct fx *f, const char *want)
{
    struct reasons r = { 0 };
    char got[1024] = "";
    size_t len = 0;

    podbind_check(f->facts, &f->id, f->cfg, &f->m, &r);
    for (size_t i = 0; i < r.n; i++)
        len += (size_t)snprintf(got + len, sizeof(got) - len, "%s%s", i ? "; " : "", r.v[i]);
    if (strcmp(got, want))
        fail_msg("got \"%s\", want \"%s\"", got, want);
    reasons_free(&r);
}

static void set_item(cbor_item_t *m, const char *k, cbor_item_t *v)
{
    struct cbor_pair *p = cbor_map_handle(m);

    for (size_t i = 0; i < cbor_map_size(m); i++)
        if (cbu_text_eq(p[i].key, k)) {
            cbor_decref(&p[i].value);
            p[i].value = v;
            return;
        }
    ctl_put_item(m, k, v);
}

static cbor_item_t *root_user(void)
{
    cbor_item_t *u = ctl_map_new();

    ctl_put_uint(u, "uid", 0);
    ctl_put_uint(u, "gid", 0);
    ctl_put_item(u, "additional_gids", lf_texts(NULL, 0));
    return u;
}

static void test_facts(void **state)
{
    json_t *spec = json_loads(spec_text, 0, NULL), *f = podspec_facts(spec);
    json_t *app = json_object_get(json_object_get(f, "containers"), "app");

    (void)state;
    assert_string_equal(json_string_value(json_array_get(json_object_get(f, "host_ns"), 0)),
                        "pid");
    assert_int_equal(json_array_size(json_object_get(app, "caps")), 1);
    assert_string_equal(json_string_value(json_array_get(json_object_get(app, "caps"), 0)),
                        "NET_BIND_SERVICE");
    assert_int_equal(json_integer_value(json_object_get(app, "uid")), 1000);
    assert_true(json_is_true(json_object_get(app, "nnp")));
    assert_true(json_is_true(json_object_get(app, "seccomp")));
    assert_string_equal(json_string_value(json_array_get(json_object_get(json_object_get(
        json_object_get(f, "containers"), "dbg"), "caps"), 0)), "ALL");
    json_decref(spec);
    json_decref(f);
}

static void test_admitted(void **state)
{
    struct fx f;

    (void)state;
    setup_fx(&f, "app", "registry.example/web:1.0");
    expect(&f, "");
    free_fx(&f);
    /* the runtime's normalised reference is the same image */
    setup_fx(&f, "dbg", "docker.io/library/busybox:latest");
    set_item(f.cfg, "capabilities", lf_texts((const char *const[]){ "CAP_SYS_ADMIN" }, 1));
    set_item(f.cfg, "user", root_user());
    expect(&f, "");
    free_fx(&f);
}

static void test_edited(void **state)
{
    struct fx f;

    (void)state;
    setup_fx(&f, "app", "registry.example/web:1.0");
    set_item(f.cfg, "capabilities",
             lf_texts((const char *const[]){ "CAP_NET_BIND_SERVICE", "CAP_NET_ADMIN" }, 2));
    expect(&f, "launch-config-not-admitted:app: capability CAP_NET_ADMIN");
    free_fx(&f);
    setup_fx(&f, "app", "registry.example/web:2.0");
    expect(&f, "launch-config-not-admitted:app: image registry.example/web:2.0, admitted "
               "registry.example/web:1.0");
    free_fx(&f);
    setup_fx(&f, "app", "registry.example/web:1.0");
    set_item(f.cfg, "host_namespaces", lf_texts((const char *const[]){ "network", "pid",
                                                                      "user" }, 3));
    expect(&f, "launch-config-not-admitted:app: host namespace network");
    free_fx(&f);
    setup_fx(&f, "app", "registry.example/web:1.0");
    set_item(f.cfg, "no_new_privileges", cbor_build_bool(false));
    set_item(f.cfg, "readonly_rootfs", cbor_build_bool(false));
    expect(&f, "launch-config-not-admitted:app: no_new_privileges off; "
               "launch-config-not-admitted:app: readonly_rootfs off");
    free_fx(&f);
    setup_fx(&f, "app", "registry.example/web:1.0");
    set_item(f.cfg, "user", root_user());
    expect(&f, "launch-config-not-admitted:app: uid 0");
    free_fx(&f);
    setup_fx(&f, "sidecar", "registry.example/web:1.0");
    expect(&f, "launch-config-not-admitted:sidecar: not a container of the admitted pod");
    free_fx(&f);
    setup_fx(&f, "app", "");
    f.m.has_image = 0;
    expect(&f, "launch-config-not-admitted:app: image not measured");
    free_fx(&f);
}

static void test_unknown_and_sandbox(void **state)
{
    struct fx f;
    struct reasons r = { 0 };

    (void)state;
    setup_fx(&f, "app", "registry.example/web:1.0");
    podbind_check(NULL, &f.id, f.cfg, &f.m, &r);
    assert_int_equal(r.n, 1);
    assert_string_equal(r.v[0], "launch-config-not-admitted:unknown pod 6f1e");
    reasons_free(&r);
    free_fx(&f);
    /* the sandbox: only its namespaces are the spec's (hostPID admitted) */
    setup_fx(&f, "", "registry.k8s.io/pause:3.9");
    set_item(f.cfg, "host_namespaces", lf_texts((const char *const[]){ "pid" }, 1));
    expect(&f, "");
    set_item(f.cfg, "host_namespaces", lf_texts((const char *const[]){ "ipc" }, 1));
    expect(&f, "launch-config-not-admitted:sandbox: host namespace ipc");
    free_fx(&f);
    /* a malformed pod map */
    f.cfg = ctl_map_new();
    ctl_put_str(f.cfg, "pod", "6f1e");
    assert_int_equal(podbind_pod(f.cfg, &f.id, &r), -1);
    assert_string_equal(r.v[0], "launch-config-malformed:pod");
    reasons_free(&r);
    cbor_decref(&f.cfg);
    f.cfg = ctl_map_new();
    assert_int_equal(podbind_pod(f.cfg, &f.id, &r), 0);
    cbor_decref(&f.cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_facts),
        cmocka_unit_test(test_admitted),
        cmocka_unit_test(test_edited),
        cmocka_unit_test(test_unknown_and_sandbox),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
