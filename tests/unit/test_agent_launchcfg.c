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
#include <sys/stat.h>
#include <unistd.h>
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

static const struct launch_env test_env = { .bundle_dir = "/bundle" };

static int extract_env(const char *json, const struct launch_env *env, struct launch_config *lc)
{
    struct oci_bundle b;
    int r = oci_bundle_parse(env->bundle_dir, (const uint8_t *)json, strlen(json), &b);

    if (r < 0)
        return r;
    r = launchcfg_extract(b.config, b.config_digest, env, lc);
    oci_bundle_free(&b);
    return r;
}

static int extract(const char *json, struct oci_bundle *b, struct launch_config *lc)
{
    (void)b;
    return extract_env(json, &test_env, lc);
}

/* The record of json as JSON (what `attest-agent measure` prints). */
static json_t *record(const char *json, const struct launch_env *env)
{
    struct launch_config lc;
    json_t *j;

    if (extract_env(json, env ? env : &test_env, &lc) < 0)
        fail_msg("config rejected: %s", json);
    j = launchcfg_to_json(&lc);
    launchcfg_free(&lc);
    assert_non_null(j);
    return j;
}

/* j[key] is the array of texts want (NULL-terminated). */
static void assert_texts(const json_t *j, const char *key, const char *const *want)
{
    const json_t *a = json_object_get(j, key);
    size_t n = 0;

    while (want[n])
        n++;
    if (json_array_size(a) != n)
        fail_msg("%s: %zu entries, want %zu", key, json_array_size(a), n);
    for (size_t i = 0; i < n; i++)
        assert_string_equal(json_string_value(json_array_get(a, i)), want[i]);
}

static void test_full(void **state)
{
    static const char *const caps[] = { "CAP_CHOWN", "CAP_KILL", "CAP_NET_RAW", "CAP_SYS_ADMIN",
                                        NULL };
    static const char *const ns[] = { "cgroup", "network", "user", NULL };
    static const char *const rules[] = { "c 10:200 rwm", NULL };
    static const char *const points[] = { "data", "dev/pts", "etc/hosts", "proc" };
    struct oci_bundle b;
    struct launch_config lc;
    json_t *j, *hm, *u;

    (void)state;
    assert_int_equal(oci_bundle_parse("/bundle", (const uint8_t *)full_config,
                                      strlen(full_config), &b), 0);
    assert_string_equal(b.rootfs, "/bundle/rootfs");
    assert_string_equal(b.dir, "/bundle");
    assert_string_equal(oci_annotation(b.annotations, "org.opencontainers.image.ref.name"),
                        "busybox");
    oci_bundle_free(&b);
    assert_int_equal(extract(full_config, &b, &lc), 0);
    assert_int_equal(lc.mount_points.n, 4);
    for (size_t i = 0; i < 4; i++)
        assert_string_equal(lc.mount_points.v[i], points[i]);
    launchcfg_free(&lc);
    j = record(full_config, NULL);
    assert_texts(j, "capabilities", caps); /* every set, inheritable too */
    assert_texts(j, "host_namespaces", ns); /* network joined by path counts as shared */
    assert_texts(j, "device_rules", rules);
    assert_string_equal(json_string_value(json_object_get(json_array_get(
        json_object_get(j, "device_nodes"), 0), "path")), "/dev/fuse");
    hm = json_object_get(j, "host_mounts");
    assert_int_equal(json_array_size(hm), 3); /* the ro /etc/hosts bind is a host mount too */
    assert_string_equal(json_string_value(json_object_get(json_array_get(hm, 1), "mode")), "ro");
    assert_string_equal(json_string_value(json_object_get(json_array_get(hm, 2), "destination")),
                        "/dev/pts");
    assert_true(json_is_true(json_object_get(j, "seccomp_default_deny")));
    assert_int_equal(json_array_size(json_object_get(j, "seccomp_allowed_dangerous")), 0);
    assert_true(json_is_true(json_object_get(j, "no_new_privileges")));
    assert_true(json_is_true(json_object_get(j, "readonly_rootfs")));
    assert_int_equal(json_integer_value(json_object_get(j, "memory_limit")), 67108864);
    assert_int_equal(json_integer_value(json_object_get(j, "cpu_shares")), 512);
    u = json_object_get(j, "user");
    assert_int_equal(json_integer_value(json_object_get(u, "uid")), 1000);
    assert_int_equal(json_integer_value(json_object_get(u, "gid")), 1001);
    json_decref(j);
}

static void test_defaults(void **state)
{
    static const char *const all_ns[] = { "cgroup", "ipc", "mount", "network", "pid", "user",
                                          "uts", NULL };
    static const char *const none[] = { NULL };
    const char *cfg = "{\"root\": {\"path\": \"/abs/root\"}, \"process\": {},"
                      " \"linux\": {\"resources\": {\"memory\": {\"limit\": -1}},"
                      "   \"seccomp\": {\"defaultAction\": \"SCMP_ACT_ALLOW\"}}}";
    struct oci_bundle b;
    json_t *j;

    (void)state;
    j = record(cfg, NULL);
    assert_texts(j, "host_namespaces", all_ns);
    assert_texts(j, "capabilities", none);
    assert_texts(j, "masked_paths", none);
    assert_int_equal(json_integer_value(json_object_get(j, "memory_limit")), 0);
    assert_int_equal(json_integer_value(json_object_get(j, "pids_limit")), 0);
    assert_true(json_is_true(json_object_get(j, "seccomp")));
    assert_false(json_is_true(json_object_get(j, "seccomp_default_deny")));
    assert_false(json_is_true(json_object_get(j, "no_new_privileges")));
    assert_false(json_is_true(json_object_get(j, "user_namespace")));
    assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "user"), "uid")), 0);
    /* a default-allow profile without rules lets every dangerous call through */
    assert_true(json_array_size(json_object_get(j, "seccomp_allowed_dangerous")) > 60);
    json_decref(j);
    cfg = "{\"root\": {\"path\": \"/abs/root\"}, \"process\": {}}";
    assert_int_equal(oci_bundle_parse("/b", (const uint8_t *)cfg, strlen(cfg), &b), 0);
    assert_string_equal(b.rootfs, "/abs/root");
    oci_bundle_free(&b);
}

/* CRI's pod annotations (containerd's, else CRI-O's) become the record's "pod"; none: no key. */
static void test_pod(void **state)
{
    const char *containerd =
        "{\"root\": {\"path\": \"/abs/root\"}, \"process\": {}, \"annotations\": {"
        "\"io.kubernetes.cri.sandbox-uid\": \"6f1e-aa\", \"io.kubernetes.cri.sandbox-namespace\":"
        " \"prod\", \"io.kubernetes.cri.sandbox-name\": \"web-1\","
        " \"io.kubernetes.cri.container-name\": \"app\", \"io.kubernetes.pod.uid\": \"other\"}}";
    const char *crio =
        "{\"root\": {\"path\": \"/abs/root\"}, \"process\": {}, \"annotations\": {"
        "\"io.kubernetes.pod.uid\": \"77-bb\"}}";
    json_t *j, *p;

    (void)state;
    j = record(containerd, NULL);
    p = json_object_get(j, "pod");
    assert_string_equal(json_string_value(json_object_get(p, "uid")), "6f1e-aa");
    assert_string_equal(json_string_value(json_object_get(p, "namespace")), "prod");
    assert_string_equal(json_string_value(json_object_get(p, "name")), "web-1");
    assert_string_equal(json_string_value(json_object_get(p, "container")), "app");
    json_decref(j);
    j = record(crio, NULL);
    p = json_object_get(j, "pod");
    assert_string_equal(json_string_value(json_object_get(p, "uid")), "77-bb");
    assert_string_equal(json_string_value(json_object_get(p, "container")), "");
    json_decref(j);
    j = record("{\"root\": {\"path\": \"/abs/root\"}, \"process\": {}}", NULL);
    assert_null(json_object_get(j, "pod"));
    json_decref(j);
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
        "{\"root\": {\"path\": \"r\"}, \"process\": {}, \"mounts\": [{\"destination\": \"/x\","
        " \"options\": [\"ro\", 5]}]}",
        "{\"root\": {\"path\": \"r\"}, \"process\": {}, \"hooks\": {\"prestart\": [{}]}}",
        "{\"root\": {\"path\": \"r\"}, \"process\": {}, \"hooks\": {\"later\": []}}",
        "{\"root\": {\"path\": \"r\"}, \"process\": {}, \"hooks\": {\"poststart\": {}}}",
        "{\"root\": {\"path\": \"r\"}, \"process\": {\"oomScoreAdj\": -1001}}",
        "{\"root\": {\"path\": \"r\"}, \"process\": {\"user\": {\"additionalGids\": [-1]}}}",
        "{\"root\": {\"path\": \"r\"}, \"process\": {}, \"linux\": {\"uidMappings\": [{}]}}",
        "{\"root\": {\"path\": \"r\"}, \"process\": {}, \"linux\": {\"maskedPaths\": [1]}}",
        "{\"root\": {\"path\": \"r\"}, \"process\": {}, \"linux\": {\"sysctl\": {\"a\": 1}}}",
        "{\"root\": {\"path\": \"r\"}, \"process\": {}, \"linux\": {\"rootfsPropagation\": 1}}",
        "{\"root\": {\"path\": \"r\"}, \"process\": {}, \"linux\": {\"seccomp\": "
        "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [1], \"action\": \"x\"}]}}}",
        "{\"root\": {\"path\": \"r\"}, \"process\": {}, \"linux\": {\"seccomp\": "
        "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [\"x\"]}]}}}",
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

#define CFG_HEAD "{\"root\": {\"path\": \"rootfs\"}, \"process\": {},"

/* host_mounts[i].key of the record of config. */
static const char *mount_field(const json_t *j, const char *list, size_t i, const char *key)
{
    return json_string_value(json_object_get(json_array_get(json_object_get(j, list), i), key));
}

/* runc's mount semantics: bundle-relative sources, symlinks, options in order, rbind, rro,
 * remount, propagation, the vtpm-mgr run dir. */
static void test_mounts(void **state)
{
    char dir[] = "/tmp/lcfg-XXXXXX", path[256], mgr[300];
    const char *cfg = CFG_HEAD " \"mounts\": ["
        "{\"destination\": \"/h\", \"source\": \"..\", \"options\": [\"bind\"]},"
        "{\"destination\": \"/a\", \"source\": \"/\", \"options\": [\"ro\", \"rbind\", \"rw\"]},"
        "{\"destination\": \"/l\", \"type\": \"bind\", \"source\": \"link/sub\", \"options\": [\"ro\"]},"
        "{\"destination\": \"/r\", \"source\": \"/srv\", \"options\": [\"rbind\", \"ro\"]},"
        "{\"destination\": \"/q\", \"source\": \"/srv\", \"options\": [\"rbind\", \"rro\", \"rshared\"]},"
        "{\"destination\": \"/sys\", \"type\": \"sysfs\", \"source\": \"sysfs\", \"options\": [\"ro\"]},"
        "{\"destination\": \"/sys/\", \"type\": \"none\", \"source\": \"x\","
        " \"options\": [\"remount\", \"bind\", \"rw\"]},"
        "{\"destination\": \"/m\", \"source\": \"run\", \"options\": [\"bind\", \"ro\"]}]}";
    struct launch_env env = { .bundle_dir = dir, .mgr_run_dir = mgr };
    json_t *j;

    (void)state;
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/target", dir);
    assert_int_equal(mkdir(path, 0700), 0);
    snprintf(path, sizeof(path), "%s/target/sub", dir);
    assert_int_equal(mkdir(path, 0700), 0);
    snprintf(path, sizeof(path), "%s/link", dir);
    assert_int_equal(symlink("/tmp", path), 0); /* link/sub resolves to /tmp/sub (absent) */
    snprintf(mgr, sizeof(mgr), "%s/run/vtpm-mgr", dir);
    j = record(cfg, &env);
    assert_string_equal(mount_field(j, "host_mounts", 0, "source"), "/tmp");
    assert_string_equal(mount_field(j, "host_mounts", 0, "mode"), "rw");
    assert_string_equal(mount_field(j, "host_mounts", 1, "source"), "/");
    assert_string_equal(mount_field(j, "host_mounts", 1, "mode"), "rw"); /* ro, then rw */
    assert_string_equal(mount_field(j, "host_mounts", 2, "source"), "/tmp/sub");
    assert_string_equal(mount_field(j, "host_mounts", 2, "mode"), "ro");
    assert_string_equal(mount_field(j, "host_mounts", 3, "mode"), "rw"); /* rbind,ro: submounts rw */
    assert_string_equal(mount_field(j, "host_mounts", 4, "mode"), "ro");
    assert_string_equal(mount_field(j, "host_mounts", 4, "propagation"), "rshared");
    assert_false(json_is_true(json_object_get(json_array_get(json_object_get(j, "host_mounts"), 4),
                                              "vtpm_mgr")));
    assert_true(json_is_true(json_object_get(json_array_get(json_object_get(j, "host_mounts"), 5),
                                             "vtpm_mgr"))); /* the parent of the run dir */
    assert_true(json_is_true(json_object_get(json_array_get(json_object_get(j, "host_mounts"), 1),
                                             "vtpm_mgr")));
    assert_int_equal(json_array_size(json_object_get(j, "host_mounts")), 6);
    assert_int_equal(json_array_size(json_object_get(j, "mounts")), 1); /* remount merged */
    assert_string_equal(mount_field(j, "mounts", 0, "destination"), "/sys");
    assert_string_equal(mount_field(j, "mounts", 0, "mode"), "rw");
    json_decref(j);
    snprintf(path, sizeof(path), "%s/link", dir);
    unlink(path);
    snprintf(path, sizeof(path), "%s/target/sub", dir);
    rmdir(path);
    snprintf(path, sizeof(path), "%s/target", dir);
    rmdir(path);
    rmdir(dir);
}

static void test_seccomp(void **state)
{
    static const char *const keyctl[] = { "keyctl", NULL };
    const char *allow = CFG_HEAD " \"linux\": {\"seccomp\": {\"defaultAction\": \"SCMP_ACT_ALLOW\","
        " \"architectures\": [\"SCMP_ARCH_X86_64\"], \"syscalls\": ["
        "{\"names\": [\"ptrace\", \"mount\"], \"action\": \"SCMP_ACT_ERRNO\"},"
        "{\"names\": [\"keyctl\"], \"action\": \"SCMP_ACT_ERRNO\", \"args\": [{\"index\": 0,"
        " \"value\": 1, \"op\": \"SCMP_CMP_EQ\"}]}]}}}";
    const char *deny = CFG_HEAD " \"linux\": {\"seccomp\": {\"defaultAction\": \"SCMP_ACT_ERRNO\","
        " \"syscalls\": [{\"names\": [\"read\", \"keyctl\"], \"action\": \"SCMP_ACT_ALLOW\"},"
        "{\"names\": [\"ptrace\"], \"action\": \"SCMP_ACT_ERRNO\"}]}}}";
    json_t *j, *a;
    size_t i;
    int ptrace = 0, mount = 0, key = 0;

    (void)state;
    j = record(allow, NULL);
    a = json_object_get(j, "seccomp_allowed_dangerous");
    for (i = 0; i < json_array_size(a); i++) {
        ptrace |= !strcmp(json_string_value(json_array_get(a, i)), "ptrace");
        mount |= !strcmp(json_string_value(json_array_get(a, i)), "mount");
        key |= !strcmp(json_string_value(json_array_get(a, i)), "keyctl");
    }
    assert_false(ptrace || mount);
    assert_true(key); /* an errno rule with conditions lets other arguments through */
    assert_string_equal(json_string_value(json_object_get(j, "seccomp_default_action")),
                        "SCMP_ACT_ALLOW");
    assert_string_equal(json_string_value(json_array_get(json_object_get(j,
        "seccomp_architectures"), 0)), "SCMP_ARCH_X86_64");
    json_decref(j);
    j = record(deny, NULL);
    assert_texts(j, "seccomp_allowed_dangerous", keyctl);
    json_decref(j);
}

static void test_user_and_more(void **state)
{
    static const char *const sysctl[] = { "kernel.core_pattern=|/x", "net.ipv4.ping_group_range=0 1",
                                          NULL };
    static const char *const masked[] = { "/proc/kcore", NULL };
    const char *cfg = "{\"root\": {\"path\": \"rootfs\"}, \"process\": {\"user\": {\"uid\": 0,"
        " \"gid\": 0, \"additionalGids\": [10, 0]}, \"oomScoreAdj\": -999,"
        " \"apparmorProfile\": \"unconfined\", \"selinuxLabel\": \"u:r:spc_t:s0\"},"
        " \"hooks\": {\"prestart\": [{\"path\": \"/bin/true\", \"args\": [\"true\"]}],"
        "  \"createRuntime\": [{\"path\": \"/opt/agent/attest-agent-hook\"}]},"
        " \"linux\": {\"namespaces\": [{\"type\": \"user\"}, {\"type\": \"mount\"}],"
        "  \"uidMappings\": [{\"containerID\": 0, \"hostID\": 100000, \"size\": 65536}],"
        "  \"gidMappings\": [{\"containerID\": 0, \"hostID\": 0, \"size\": 1}],"
        "  \"maskedPaths\": [\"/proc/kcore\"], \"rootfsPropagation\": \"rshared\","
        "  \"sysctl\": {\"kernel/core_pattern\": \"|/x\", \"net.ipv4.ping_group_range\": \"0 1\"},"
        "  \"resources\": {\"pids\": {\"limit\": 64}}}}";
    struct launch_env env = { .bundle_dir = "/b", .self_exe = "/opt/agent/attest-agent" };
    json_t *j, *u, *h;

    (void)state;
    j = record(cfg, &env);
    u = json_object_get(j, "user");
    assert_int_equal(json_integer_value(json_array_get(json_object_get(u, "additional_gids"), 1)), 0);
    assert_true(json_is_true(json_object_get(j, "user_namespace")));
    assert_int_equal(json_integer_value(json_object_get(json_array_get(json_object_get(j,
        "uid_mappings"), 0), "host_id")), 100000);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(json_object_get(j,
        "gid_mappings"), 0), "host_id")), 0);
    assert_int_equal(json_integer_value(json_object_get(j, "oom_score_adj")), -999);
    assert_string_equal(json_string_value(json_object_get(j, "apparmor_profile")), "unconfined");
    assert_string_equal(json_string_value(json_object_get(j, "selinux_label")), "u:r:spc_t:s0");
    assert_string_equal(json_string_value(json_object_get(j, "rootfs_propagation")), "rshared");
    assert_int_equal(json_integer_value(json_object_get(j, "pids_limit")), 64);
    assert_texts(j, "sysctl", sysctl);
    assert_texts(j, "masked_paths", masked);
    h = json_object_get(j, "hooks");
    assert_int_equal(json_array_size(h), 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(h, 0), "stage")), "prestart");
    assert_false(json_is_true(json_object_get(json_array_get(h, 0), "agent")));
    assert_true(json_is_true(json_object_get(json_array_get(h, 1), "agent")));
    json_decref(j);
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
    assert_int_equal(cbor_array_size(ctl_get(m, "capabilities")), 4);
    assert_null(ctl_get(m, "mount_points"));
    cbor_decref(&m);
    j = launchcfg_to_json(&lc);
    assert_non_null(j);
    assert_int_equal(json_array_size(json_object_get(j, "host_namespaces")), 3);
    assert_non_null(json_object_get(j, "rootfs_setid"));
    assert_true(json_is_true(json_object_get(j, "seccomp_default_deny")));
    json_decref(j);
    launchcfg_free(&lc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_full),
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_pod),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_mounts),
        cmocka_unit_test(test_seccomp),
        cmocka_unit_test(test_user_and_more),
        cmocka_unit_test(test_state),
        cmocka_unit_test(test_encodings),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
