/* SPDX-License-Identifier: BSD-3-Clause */
/* Unit tests of a container's owner (owner.c: host uid through uid mappings, tenant) against a
 * named vTPM's, and of the container <-> vTPM bindings (binding.c) in a temp directory. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "binding.h"
#include "owner.h"

static int owner_of(const char *config, const char *ann, struct ctr_owner *o)
{
    json_t *c = json_loads(config, 0, NULL), *a = json_loads(ann ? ann : "{}", 0, NULL);
    int r;

    assert_non_null(c);
    assert_non_null(a);
    r = owner_of_config(c, a, o);
    json_decref(c);
    json_decref(a);
    return r;
}

static void test_uid_and_tenant(void **state)
{
    struct ctr_owner o;

    (void)state;
    assert_int_equal(owner_of("{}", NULL, &o), 0);
    assert_int_equal(o.host_uid, 0);
    assert_string_equal(o.tenant, "default");
    assert_int_equal(owner_of("{\"process\":{\"user\":{\"uid\":1001,\"gid\":5}}}",
                              "{\"org.vtpm-attest.tenant\":\"a\"}", &o), 0);
    assert_int_equal(o.host_uid, 1001);
    assert_string_equal(o.tenant, "a");
}

static void test_userns_mapping(void **state)
{
    static const char cfg[] =
        "{\"process\":{\"user\":{\"uid\":5}},\"linux\":{\"namespaces\":[{\"type\":\"user\"}],"
        "\"uidMappings\":[{\"containerID\":0,\"hostID\":100000,\"size\":65536}]}}";
    struct ctr_owner o;

    (void)state;
    assert_int_equal(owner_of(cfg, NULL, &o), 0);
    assert_int_equal(o.host_uid, 100005);
}

static void test_undecidable(void **state)
{
    struct ctr_owner o;

    (void)state;
    /* A joined user namespace, a uid outside the mappings, malformed fields. */
    assert_int_equal(owner_of("{\"linux\":{\"namespaces\":[{\"type\":\"user\",\"path\":\"/x\"}]}}",
                              NULL, &o), -EINVAL);
    assert_int_equal(owner_of("{\"process\":{\"user\":{\"uid\":70000}},\"linux\":{\"namespaces\":"
                              "[{\"type\":\"user\"}],\"uidMappings\":[{\"containerID\":0,"
                              "\"hostID\":100000,\"size\":65536}]}}", NULL, &o), -EINVAL);
    assert_int_equal(owner_of("{\"linux\":{\"namespaces\":[{\"type\":\"user\"}]}}", NULL, &o),
                     -EINVAL);
    assert_int_equal(owner_of("{\"process\":{\"user\":{\"uid\":-1}}}", NULL, &o), -EINVAL);
    assert_int_equal(owner_of("{\"process\":{\"user\":{\"uid\":\"0\"}}}", NULL, &o), -EINVAL);
    assert_int_equal(owner_of("{}", "{\"org.vtpm-attest.tenant\":\"\"}", &o), -EINVAL);
    assert_int_equal(owner_of("{}", "{\"org.vtpm-attest.tenant\":7}", &o), -EINVAL);
}

static void test_check(void **state)
{
    struct mgr_vtpm vt = { .uuid = "u", .has_owner = 1, .owner_uid = 1001, .tenant = "a",
                           .status = "live" };
    struct ctr_owner o = { .host_uid = 1001, .tenant = "a" };

    (void)state;
    assert_int_equal(owner_check(&vt, &o), 0);
    o.host_uid = 0;
    assert_int_equal(owner_check(&vt, &o), -EPERM);
    o.host_uid = 1001;
    strcpy(o.tenant, "default");
    assert_int_equal(owner_check(&vt, &o), -EPERM);
    strcpy(o.tenant, "a");
    strcpy(vt.status, "broken");
    assert_int_equal(owner_check(&vt, &o), -EPERM);
    strcpy(vt.status, "live");
    vt.has_owner = 0;
    assert_int_equal(owner_check(&vt, &o), -EPERM);
}

#define U1 "11111111-2222-3333-4444-555555555555"
#define U2 "11111111-2222-3333-4444-666666666666"

static char g_dir[64];

static int dir_setup(void **state)
{
    (void)state;
    snprintf(g_dir, sizeof(g_dir), "/tmp/bind-test-XXXXXX");
    if (!mkdtemp(g_dir))
        return -1;
    strcat(g_dir, "/b");
    return 0;
}

static int dir_teardown(void **state)
{
    char cmd[128];

    (void)state;
    snprintf(cmd, sizeof(cmd), "rm -rf '%.*s'", (int)(strlen(g_dir) - 2), g_dir);
    return system(cmd) == 0 ? 0 : -1;
}

static void test_vtpm_binding(void **state)
{
    int created;

    (void)state;
    assert_int_equal(binding_vtpm(g_dir, U1, "c1", &created), 0);
    assert_int_equal(created, 1);
    assert_int_equal(binding_vtpm(g_dir, U1, "c1", &created), 0); /* the same container */
    assert_int_equal(created, 0);
    assert_int_equal(binding_vtpm(g_dir, U1, "c2", &created), -EBUSY);
    assert_int_equal(binding_vtpm(g_dir, U1, "c", &created), -EBUSY); /* no prefix match */
    /* The pool: nobody may name it; only a take moves it to a container, once. */
    assert_int_equal(binding_vtpm(g_dir, U2, NULL, &created), 0);
    assert_int_equal(binding_vtpm(g_dir, U2, "c3", &created), -EBUSY);
    assert_int_equal(binding_vtpm_take(g_dir, U2, "c3"), 0);
    assert_int_equal(binding_vtpm_take(g_dir, U2, "c4"), -EBUSY);
    assert_int_equal(binding_vtpm_take(g_dir, U1, "c1"), -EBUSY);
    binding_vtpm_release(g_dir, U1);
    assert_int_equal(binding_vtpm(g_dir, U1, "c2", &created), 0);
    assert_int_equal(binding_vtpm(g_dir, "../x", "c2", &created), -EINVAL);
}

static void test_container_binding(void **state)
{
    int created;
    pid_t child;

    (void)state;
    /* A living holder keeps the id; the same vTPM again is fine. */
    assert_int_equal(binding_container(g_dir, "/run/a", "c1", getpid(), U1, &created), 0);
    assert_int_equal(created, 1);
    assert_int_equal(binding_container(g_dir, "/run/a", "c1", getpid(), U1, &created), 0);
    assert_int_equal(binding_container(g_dir, "/run/a", "c1", getpid(), U2, &created), -EBUSY);
    /* Another vtpm-mgr's ids are apart. */
    assert_int_equal(binding_container(g_dir, "/run/b", "c1", getpid(), U2, &created), 0);
    /* A holder that has ended: the id may be bound again. */
    child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        pause();
        _exit(0);
    }
    assert_int_equal(binding_container(g_dir, "/run/a", "c2", child, U1, &created), 0);
    kill(child, SIGKILL);
    waitpid(child, NULL, 0);
    assert_int_equal(binding_container(g_dir, "/run/a", "c2", getpid(), U2, &created), 0);
    /* A process that does not exist cannot bind. */
    assert_int_equal(binding_container(g_dir, "/run/a", "c3", child, U2, &created), -ESRCH);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_uid_and_tenant),
        cmocka_unit_test(test_userns_mapping),
        cmocka_unit_test(test_undecidable),
        cmocka_unit_test(test_check),
        cmocka_unit_test_setup_teardown(test_vtpm_binding, dir_setup, dir_teardown),
        cmocka_unit_test_setup_teardown(test_container_binding, dir_setup, dir_teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
