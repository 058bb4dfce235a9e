/* SPDX-License-Identifier: BSD-3-Clause */
/* Unit tests of attest-agent's OCI parsing and launch-config extraction, with malformed input. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "ctlproto.h"
#include "launchcfg.h"
#include "ocispec.h"

static const char full_config[] =
    "{\"ociVersion\": \"1.0.2\", \"root\": {\"path\": \"rootfs\", \"readonly\": true},"
    " \"process\": {\"args\": [\"sh\"], \"noNewPrivileges\": true,"
    "   \"user\": {\"uid\": 1000, \"gid\": 1001},"
    "   \"capabilities\": {\"bounding\": [\"CAP_KILL\", \"CAP_CHOWN\"],"
    "     \"effective\": [\"CAP_KILL\"], \"permitted\": [\"CAP_NET_RAW\"],"
    "     \"inheritable\": [\"CAP_SYS_ADMIN\"]}},"
    " \"mounts\": [{\"destination\": \"/proc\", \"type\": \"proc\", \"source\": \"proc\"},"
    "   {\"destination\": \"/data/\", \"type\": \"bind\", \"source\": \"/var/lib/data\","
    "    \"options\": [\"rw\"]},"
    "   {\"destination\": \"/etc/hosts\", \"type\": \"bind\", \"source\": \"/etc/hosts\","
    "    \"options\": [\"ro\"]},"
    "   {\"destination\": \"//dev//pts\", \"source\": \"/srv/x\", \"options\": [\"rbind\"]}],"
    " \"annotations\": {\"org.opencontainers.image.ref.name\": \"busybox\"},"
    " \"linux\": {\"namespaces\": [{\"type\": \"pid\"}, {\"type\": \"ipc\"}, {\"type\": \"uts\"},"
    "   {\"type\": \"mount\"}, {\"type\": \"network\", \"path\": \"/proc/1/ns/net\"},"
    "   {\"type\": \"time\"}],"
    "   \"devices\": [{\"path\": \"/dev/fuse\", \"type\": \"c\", \"major\": 10, \"minor\": 229}],"
    "   \"resources\": {\"memory\": {\"limit\": 67108864}, \"cpu\": {\"shares\": 512},"
    "     \"devices\": [{\"allow\": false, \"access\": \"rwm\"},"
    "       {\"allow\": true, \"type\": \"c\", \"major\": 10, \"minor\": 200, \"access\": \"rwm\"}]},"
    "   \"seccomp\": {\"defaultAction\": \"SCMP_ACT_ERRNO\"}}}";

static int extract(const char *json, struct oci_bundle *b, struct launch_config *lc)
{
    int r = oci_bundle_parse("/bundle", (const uint8_t *)json, strlen(json), b);

    if (r < 0)
        return r;
    r = launchcfg_extract(b->config, b->config_digest, lc);
    oci_bundle_free(b);
    return r;
}

static void assert_set(const struct strset *s, const char *const *want, size_t n)
{
    assert_int_equal(s->n, n);
    for (size_t i = 0; i < n; i++)
        assert_string_equal(s->v[i], want[i]);
}

static void test_full(void **state)
{
    static const char *const caps[] = { "CAP_CHOWN", "CAP_KILL", "CAP_NET_RAW" };
    static const char *const ns[] = { "cgroup", "network", "user" };
    static const char *const mounts[] = { "/srv/x", "/var/lib/data" };
    static const char *const devs[] = { "/dev/fuse", "allow c 10:200 rwm" };
    static const char *const points[] = { "data", "dev/pts", "etc/hosts", "proc" };
    struct oci_bundle b;
    struct launch_config lc;

    (void)state;
    assert_int_equal(oci_bundle_parse("/bundle", (const uint8_t *)full_config,
                                      strlen(full_config), &b), 0);
    assert_string_equal(b.rootfs, "/bundle/rootfs");
    assert_string_equal(oci_annotation(b.annotations, "org.opencontainers.image.ref.name"),
                        "busybox");
    oci_bundle_free(&b);
    assert_int_equal(extract(full_config, &b, &lc), 0);
    assert_set(&lc.capabilities, caps, 3); /* inheritable is not in the union */
    assert_set(&lc.host_namespaces, ns, 3); /* network joined by path counts as shared */
    assert_set(&lc.privileged_mounts, mounts, 2);
    assert_set(&lc.devices, devs, 2);
    assert_set(&lc.mount_points, points, 4);
    assert_true(lc.seccomp && lc.seccomp_default_deny && lc.no_new_privileges &&
                lc.readonly_rootfs);
    assert_true(lc.memory_limit == 67108864 && lc.cpu_shares == 512);
    assert_int_equal(lc.uid, 1000);
    assert_int_equal(lc.gid, 1001);
    launchcfg_free(&lc);
}

static void test_defaults(void **state)
{
    static const char *const all_ns[] = { "cgroup", "ipc", "mount", "network", "pid", "user",
                                          "uts" };
    const char *cfg = "{\"root\": {\"path\": \"/abs/root\"}, \"process\": {},"
                      " \"linux\": {\"resources\": {\"memory\": {\"limit\": -1}},"
                      "   \"seccomp\": {\"defaultAction\": \"SCMP_ACT_ALLOW\"}}}";
    struct oci_bundle b;
    struct launch_config lc;

    (void)state;
    assert_int_equal(extract(cfg, &b, &lc), 0);
    assert_set(&lc.host_namespaces, all_ns, 7);
    assert_int_equal(lc.capabilities.n, 0);
    assert_true(lc.memory_limit == 0 && lc.cpu_shares == 0);
    assert_true(lc.seccomp && !lc.seccomp_default_deny);
    assert_false(lc.no_new_privileges || lc.readonly_rootfs);
    assert_int_equal(lc.uid, 0);
    launchcfg_free(&lc);
    cfg = "{\"root\": {\"path\": \"/abs/root\"}, \"process\": {}}";
    assert_int_equal(oci_bundle_parse("/b", (const uint8_t *)cfg, strlen(cfg), &b), 0);
    assert_string_equal(b.rootfs, "/abs/root");
    oci_bundle_free(&b);
}

static void test_malformed(void **state)
{
    static const char *const bad[] = {
        "[]", "{", "", "{\"root\": {\"path\": \"r\"}}", /* no process */
        "{\"process\": {}}", "{\"root\": {}, \"process\": {}}", "{\"root\": 5, \"process\": {}}",
        "{\"root\": {\"path\": \"r\", \"readonly\": \"yes\"}, \"process\": {}}",
        "{\"root\": {\"path\": \"r\"}, \"process\": []}",
        "{\"root\": {\"path\": \"r\"}, \"process\": {\"capabilities\": {\"bounding\": \"CAP_KILL\"}}}",
        "{\"root\": {\"path\": \"r\"}, \"process\": {\"capabilities\": {\"effective\": [1]}}}",
        "{\"root\": {\"path\": \"r\"}, \"process\": {\"capabilities\": []}}",
        "{\"root\": {\"path\": \"r\"}, \"process\": {\"user\": {\"uid\": -1}}}",
        "{\"root\": {\"path\": \"r\"}, \"process\": {\"user\": {\"uid\": 4294967296}}}",
        "{\"root\": {\"path\": \"r\"}, \"process\": {\"user\": {\"gid\": \"0\"}}}",
        "{\"root\": {\"path\": \"r\"}, \"process\": {\"noNewPrivileges\": 1}}",
        "{\"root\": {\"path\": \"r\"}, \"process\": {}, \"mounts\": {}}",
        "{\"root\": {\"path\": \"r\"}, \"process\": {}, \"mounts\": [{\"type\": \"bind\"}]}",
        "{\"root\": {\"path\": \"r\"}, \"process\": {}, \"mounts\": [5]}",
        "{\"root\": {\"path\": \"r\"}, \"process\": {}, \"mounts\": [{\"destination\": \"/x\","
        " \"options\": \"ro\"}]}",
        "{\"root\": {\"path\": \"r\"}, \"process\": {}, \"linux\": []}",
        "{\"root\": {\"path\": \"r\"}, \"process\": {}, \"linux\": {\"namespaces\": [{\"type\": \"net\"}]}}",
        "{\"root\": {\"path\": \"r\"}, \"process\": {}, \"linux\": {\"namespaces\": [{}]}}",
        "{\"root\": {\"path\": \"r\"}, \"process\": {}, \"linux\": {\"namespaces\": "
        "[{\"type\": \"pid\", \"path\": 3}]}}",
        "{\"root\": {\"path\": \"r\"}, \"process\": {}, \"linux\": {\"devices\": [{\"type\": \"c\"}]}}",
        "{\"root\": {\"path\": \"r\"}, \"process\": {}, \"linux\": {\"resources\": "
        "{\"cpu\": {\"shares\": -5}}}}",
        "{\"root\": {\"path\": \"r\"}, \"process\": {}, \"linux\": {\"resources\": "
        "{\"memory\": {\"limit\": \"1G\"}}}}",
        "{\"root\": {\"path\": \"r\"}, \"process\": {}, \"linux\": {\"resources\": "
        "{\"devices\": [{\"access\": \"rwm\"}]}}}",
        "{\"root\": {\"path\": \"r\"}, \"process\": {}, \"linux\": {\"seccomp\": {}}}",
        "{\"root\": {\"path\": \"r\"}, \"process\": {}, \"linux\": {\"seccomp\": true}}",
        "{\"root\": {\"path\": \"r\"}, \"process\": {}, \"annotations\": {\"a\": 1}}",
        "{\"root\": {\"path\": \"r\"}, \"root\": {\"path\": \"s\"}, \"process\": {}}",
    };
    struct oci_bundle b;
    struct launch_config lc;

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int r = extract(bad[i], &b, &lc);
        if (r != -EINVAL)
            fail_msg("config %zu accepted (%d): %s", i, r, bad[i]);
    }
}

static void test_state(void **state)
{
    static const char *const bad[] = {
        "", "[]", "{\"id\": \"a\"}", "{\"bundle\": \"/b\"}", "{\"id\": \"\", \"bundle\": \"/b\"}",
        "{\"id\": \"a\", \"bundle\": \"/b\", \"pid\": -1}",
        "{\"id\": \"a\", \"bundle\": \"/b\", \"pid\": \"1\"}",
        "{\"id\": \"a\", \"bundle\": \"/b\", \"annotations\": [\"x\"]}",
        "{\"id\": \"a\", \"bundle\": \"/b\", \"annotations\": {\"x\": null}}",
        "{\"id\": 1, \"bundle\": \"/b\"}", "{\"id\": \"a\", \"id\": \"b\", \"bundle\": \"/b\"}",
    };
    const char *good = "{\"ociVersion\": \"1.0.2\", \"id\": \"c1\", \"status\": \"creating\","
                       " \"pid\": 42, \"bundle\": \"/b\", \"annotations\": {\"k\": \"v\"}}";
    struct oci_state st;

    (void)state;
    assert_int_equal(oci_state_parse(good, strlen(good), &st), 0);
    assert_string_equal(st.id, "c1");
    assert_string_equal(st.bundle, "/b");
    assert_int_equal(st.pid, 42);
    assert_string_equal(oci_annotation(st.annotations, "k"), "v");
    assert_null(oci_annotation(st.annotations, "missing"));
    oci_state_free(&st);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (oci_state_parse(bad[i], strlen(bad[i]), &st) != -EINVAL)
            fail_msg("state %zu accepted: %s", i, bad[i]);
}

static void test_encodings(void **state)
{
    struct oci_bundle b;
    struct launch_config lc;
    cbor_item_t *m;
    json_t *j;
    char digest[80];
    uint64_t u;

    (void)state;
    assert_int_equal(extract(full_config, &b, &lc), 0);
    m = launchcfg_to_cbor(&lc);
    assert_non_null(m);
    assert_int_equal(ctl_get_str(m, "config_digest", digest, sizeof(digest)), 0);
    assert_int_equal(strncmp(digest, "sha256:", 7), 0);
    assert_int_equal(strlen(digest), 71);
    assert_int_equal(ctl_get_uint(m, "memory_limit", &u), 0);
    assert_true(u == 67108864);
    assert_non_null(ctl_get(m, "user"));
    assert_int_equal(cbor_array_size(ctl_get(m, "capabilities")), 3);
    assert_null(ctl_get(m, "mount_points"));
    cbor_decref(&m);
    j = launchcfg_to_json(&lc);
    assert_non_null(j);
    assert_int_equal(json_array_size(json_object_get(j, "host_namespaces")), 3);
    assert_true(json_is_true(json_object_get(j, "seccomp_default_deny")));
    json_decref(j);
    launchcfg_free(&lc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_full),
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_state),
        cmocka_unit_test(test_encodings),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
