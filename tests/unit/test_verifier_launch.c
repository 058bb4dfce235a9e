/* SPDX-License-Identifier: BSD-3-Clause */
/* Unit tests of the launch rules end to end: a config.json as the agent measures it
 * (launchcfg) and as the verifier's default launch policy judges it (launchpolicy), one
 * escape class per case, each with its own reason. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "ctlproto.h"
#include "launchcfg.h"
#include "../tools/launch_fixture.h"
#include "../../verifier/check/launchpolicy.h"
#include "../../verifier/check/reasons.h"

/* A hardened container: runc's spec, non-root, no capabilities, limits, seccomp that blocks
 * the dangerous set (default deny), the agent as its only hook. */
static const char base[] =
    "{\"ociVersion\": \"1.0.2\", \"root\": {\"path\": \"rootfs\", \"readonly\": true},"
    " \"process\": {\"args\": [\"sh\"], \"noNewPrivileges\": true,"
    "  \"user\": {\"uid\": 1000, \"gid\": 1000},"
    "  \"capabilities\": {\"bounding\": [\"CAP_NET_BIND_SERVICE\"]}},"
    " \"hooks\": {\"createRuntime\": [{\"path\": \"/opt/vtpm/attest-agent\","
    "   \"args\": [\"attest-agent\", \"hook\"]}]},"
    " \"mounts\": [{\"destination\": \"/proc\", \"type\": \"proc\", \"source\": \"proc\"},"
    "  {\"destination\": \"/dev\", \"type\": \"tmpfs\", \"source\": \"tmpfs\"},"
    "  {\"destination\": \"/sys\", \"type\": \"sysfs\", \"source\": \"sysfs\","
    "   \"options\": [\"nosuid\", \"ro\"]},"
    "  {\"destination\": \"/sys/fs/cgroup\", \"type\": \"cgroup\", \"source\": \"cgroup\","
    "   \"options\": [\"ro\"]}],"
    " \"linux\": {\"namespaces\": [{\"type\": \"pid\"}, {\"type\": \"network\"},"
    "   {\"type\": \"ipc\"}, {\"type\": \"uts\"}, {\"type\": \"mount\"}],"
    "  \"resources\": {\"memory\": {\"limit\": 67108864}, \"cpu\": {\"shares\": 512},"
    "   \"pids\": {\"limit\": 64}, \"devices\": [{\"allow\": false, \"access\": \"rwm\"},"
    "   {\"allow\": true, \"type\": \"c\", \"major\": 1, \"minor\": 3, \"access\": \"rw\"}]},"
    "  \"maskedPaths\": [\"/proc/acpi\", \"/proc/asound\", \"/proc/kcore\", \"/proc/keys\","
    "   \"/proc/latency_stats\", \"/proc/timer_list\", \"/proc/timer_stats\","
    "   \"/proc/sched_debug\", \"/sys/firmware\", \"/proc/scsi\"],"
    "  \"readonlyPaths\": [\"/proc/bus\", \"/proc/fs\", \"/proc/irq\", \"/proc/sys\","
    "   \"/proc/sysrq-trigger\"],"
    "  \"seccomp\": {\"defaultAction\": \"SCMP_ACT_ERRNO\","
    "   \"architectures\": [\"SCMP_ARCH_X86_64\"],"
    "   \"syscalls\": [{\"names\": [\"read\", \"write\", \"exit\"], \"action\": \"SCMP_ACT_ALLOW\"}]}}}";

static const struct launch_env env = {
    .bundle_dir = "/nonexistent-vtpm-test/bundle",
    .mgr_run_dir = "/nonexistent-vtpm-test/mgr/run",
    .self_exe = "/opt/vtpm/attest-agent",
};

/* Sets (or, for a key ending in '+', appends to) the value at a dotted path. */
static void patch(json_t *cfg, const char *path, const char *value)
{
    char buf[256], *key, *save = NULL, *next;
    json_t *o = cfg, *v = json_loads(value, JSON_DECODE_ANY, NULL);
    size_t n;

    assert_non_null(v);
    snprintf(buf, sizeof(buf), "%s", path);
    for (key = strtok_r(buf, ".", &save); (next = strtok_r(NULL, ".", &save)); key = next) {
        if (json_is_array(o)) {
            o = json_array_get(o, strtoul(key, NULL, 10));
            continue;
        }
        if (!json_object_get(o, key))
            json_object_set_new(o, key, json_object());
        o = json_object_get(o, key);
    }
    n = strlen(key);
    if (n && key[n - 1] == '+') {
        key[n - 1] = '\0';
        assert_int_equal(json_array_append_new(json_object_get(o, key), v), 0);
    } else if (!strcmp(value, "null")) {
        json_object_del(o, key);
        json_decref(v);
    } else {
        assert_int_equal(json_object_set_new(o, key, v), 0);
    }
}

/* The reasons of the default policy (with pol_patch applied to it, if any) for base with
 * one patch (NULL: none). */
static void judge_in(const struct launch_env *e, const char *path, const char *value,
                     const char *pol_key, const char *pol_val, struct reasons *r);

static void judge(const char *path, const char *value, const char *pol_key, const char *pol_val,
                  struct reasons *r)
{
    judge_in(&env, path, value, pol_key, pol_val, r);
}

/* The same with several patches: kv is path, value, path, value, ..., NULL. */
static void judge_kv(const struct launch_env *e, const char *const *kv, const char *pol_key,
                     const char *pol_val, struct reasons *r)
{
    json_t *cfg = json_loads(base, 0, NULL), *pol = launch_policy_defaults();
    struct launch_config lc;
    uint8_t digest[DIGEST_LEN] = { 0 };
    cbor_item_t *m;

    assert_non_null(cfg);
    assert_non_null(pol);
    for (; kv && kv[0]; kv += 2)
        patch(cfg, kv[0], kv[1]);
    if (pol_key)
        patch(pol, pol_key, pol_val);
    assert_int_equal(launchcfg_extract(cfg, digest, e, &lc), 0);
    m = launchcfg_to_cbor(&lc);
    assert_non_null(m);
    memset(r, 0, sizeof(*r));
    launch_policy_check(pol, m, r);
    cbor_decref(&m);
    launchcfg_free(&lc);
    json_decref(cfg);
    json_decref(pol);
}

static void judge_in(const struct launch_env *e, const char *path, const char *value,
                     const char *pol_key, const char *pol_val, struct reasons *r)
{
    const char *const kv[] = { path, value, NULL };

    judge_kv(e, path ? kv : NULL, pol_key, pol_val, r);
}

static void print(const struct reasons *r)
{
    for (size_t i = 0; i < r->n; i++)
        print_message("  reason: %s\n", r->v[i]);
}

/* One patch gives exactly the reasons want (NULL-terminated, whole reason texts). */
static void expect(const char *path, const char *value, const char *const *want)
{
    struct reasons r;
    size_t n = 0;

    judge(path, value, NULL, NULL, &r);
    while (want[n])
        n++;
    if (r.n != n) {
        print(&r);
        fail_msg("%s=%s: %zu reasons, want %zu", path, value, r.n, n);
    }
    for (size_t i = 0; i < n; i++)
        if (!reasons_has(&r, want[i]) && strcmp(r.v[i], want[i])) {
            print(&r);
            fail_msg("%s=%s: no %s", path, value, want[i]);
        }
    reasons_free(&r);
}

#define EXPECT(path, value, ...) \
    expect(path, value, (const char *const[]){ __VA_ARGS__, NULL })

#define OWN_UUID "0b6c6a52-3d3e-4c1a-9d55-5f1f4a1e2b01"
#define OTHER_UUID "7e1d2c3b-4a59-4e8f-8a6b-1c2d3e4f5a6b"

/* A bind of sub (relative to the run dir) with opts, judged with the container's vTPM own
 * (NULL: none); the reasons are matched as a whole, as expect(). */
static void own_case(const char *run, const char *own, const char *sub, const char *opts,
                     const char *want)
{
    struct launch_env e = env;
    struct reasons r;
    char m[1024];

    e.mgr_run_dir = run;
    e.own_vtpm = own;
    snprintf(m, sizeof(m), "{\"destination\": \"/run/vtpm\", \"source\": \"%s%s\","
             " \"options\": %s}", run, sub, opts);
    judge_in(&e, "mounts+", m, NULL, NULL, &r);
    if (want ? r.n != 1 || strncmp(r.v[0], want, strlen(want)) : r.n != 0) {
        print(&r);
        fail_msg("%s%s %s (own %s): want %s", run, sub, opts, own ? own : "none",
                 want ? want : "no reason");
    }
    reasons_free(&r);
}

/* The container's own vTPM directory, read-only, is allowed under the default policy; every
 * other part of the run dir, a writable bind of it, or the directory without the container's
 * vTPM named, is not. */
static void test_own_vtpm_mount(void **state)
{
    char run[] = "/tmp/vlaunch-XXXXXX", p[256];
    const char *dirs[] = { "/vtpm", "/vtpm/" OWN_UUID, "/vtpm/" OTHER_UUID };

    (void)state;
    assert_non_null(mkdtemp(run));
    for (size_t i = 0; i < 3; i++) {
        snprintf(p, sizeof(p), "%s%s", run, dirs[i]);
        assert_int_equal(mkdir(p, 0700), 0);
    }
    own_case(run, OWN_UUID, "/vtpm/" OWN_UUID, "[\"bind\", \"ro\"]", NULL);
    own_case(run, OWN_UUID, "/vtpm/" OWN_UUID "/", "[\"rbind\", \"rro\"]", NULL);
    own_case(run, OWN_UUID, "/vtpm/" OWN_UUID, "[\"bind\"]", "host-mount-own-vtpm-writable:");
    own_case(run, OWN_UUID, "/vtpm/" OWN_UUID, "[\"rbind\", \"ro\"]",
             "host-mount-own-vtpm-writable:");
    own_case(run, OWN_UUID, "/vtpm/" OTHER_UUID, "[\"bind\", \"ro\"]", "host-mount-vtpm-mgr:");
    own_case(run, OWN_UUID, "/vtpm/" OWN_UUID "/tpm.sock", "[\"bind\", \"ro\"]",
             "host-mount-vtpm-mgr:");
    own_case(run, OWN_UUID, "/vtpm/" OWN_UUID "/..", "[\"bind\", \"ro\"]",
             "host-mount-vtpm-mgr:");
    own_case(run, OWN_UUID, "/vtpm", "[\"bind\", \"ro\"]", "host-mount-vtpm-mgr:");
    own_case(run, OWN_UUID, "", "[\"bind\", \"ro\"]", "host-mount-vtpm-mgr:");
    own_case(run, NULL, "/vtpm/" OWN_UUID, "[\"bind\", \"ro\"]", "host-mount-vtpm-mgr:");
    own_case(run, "../vtpm", "/vtpm", "[\"bind\", \"ro\"]", "host-mount-vtpm-mgr:");
    for (size_t i = 3; i-- > 0;) {
        snprintf(p, sizeof(p), "%s%s", run, dirs[i]);
        rmdir(p);
    }
    rmdir(run);
}

#define N(a) (sizeof(a) / sizeof((a)[0]))
#define CTR_ID "4b16724027cef2a0f908a67ce22b42de93b5b6ab582f303eaa59f3a8e33f21fd"
#define OTHER_ID "04a50f811edcc834b656403a37fdb9240cda2223b8249acb9cb74e5bf7b5ce25"

/* A bind of sub (relative to the storage root) at dest, judged for container id (NULL: none)
 * with engine storage root, allow_engine_files as allow, the bundle at
 * <root>/overlay-containers/<bundle_id>/userdata; the reasons as own_case(). */
static void engine_case_in(const char *root, const char *bundle_id, const char *id,
                           const char *sub, const char *dest, const char *allow,
                           const char *want)
{
    const char *const storage[] = { "/nonexistent-vtpm-test/graph", root, NULL };
    struct launch_env e = env;
    struct reasons r;
    char m[1024], bundle[512];

    snprintf(bundle, sizeof(bundle), "%s/overlay-containers/%s/userdata", root, bundle_id);
    e.bundle_dir = bundle;
    e.ctr_id = id;
    e.engine_storage = storage;
    snprintf(m, sizeof(m), "{\"destination\": \"%s\", \"type\": \"bind\","
             " \"source\": \"%s%s\", \"options\": [\"bind\", \"rprivate\"]}", dest, root, sub);
    judge_in(&e, "mounts+", m, "allow_engine_files", allow, &r);
    if (want ? r.n != 1 || strncmp(r.v[0], want, strlen(want)) : r.n != 0) {
        print(&r);
        fail_msg("%s%s at %s (id %s, allow %s): want %s", root, sub, dest, id ? id : "none",
                 allow, want ? want : "no reason");
    }
    reasons_free(&r);
}

static void engine_case(const char *root, const char *id, const char *sub, const char *dest,
                        const char *allow, const char *want)
{
    engine_case_in(root, id && strlen(id) == 64 ? id : CTR_ID, id, sub, dest, allow, want);
}

/* podman's per-container files: exactly the container's own, each at its own destination and
 * of its type, with the bundle in the engine's directory for that id, are allowed under the
 * default policy; another container's, another destination, the userdata directory, a symlink
 * out, an id that is not one path element, a bundle elsewhere, and everything with
 * allow_engine_files false are host binds as any other. */
static void test_engine_files(void **state)
{
    char root[] = "/tmp/vengine-XXXXXX", p[512];
    const char *const dirs[] = { "/overlay-containers", "/overlay-containers/" CTR_ID,
        "/overlay-containers/" CTR_ID "/userdata", "/overlay-containers/" CTR_ID "/userdata/shm",
        "/overlay-containers/" OTHER_ID, "/overlay-containers/" OTHER_ID "/userdata" };
    const char *const files[] = { "/overlay-containers/" CTR_ID "/userdata/hosts",
        "/overlay-containers/" CTR_ID "/userdata/.containerenv",
        "/overlay-containers/" OTHER_ID "/userdata/hosts" };
    const char *const own = "/overlay-containers/" CTR_ID "/userdata";
    FILE *f;

    (void)state;
    assert_non_null(mkdtemp(root));
    for (size_t i = 0; i < N(dirs); i++) {
        snprintf(p, sizeof(p), "%s%s", root, dirs[i]);
        assert_int_equal(mkdir(p, 0700), 0);
    }
    for (size_t i = 0; i < N(files); i++) {
        snprintf(p, sizeof(p), "%s%s", root, files[i]);
        assert_non_null(f = fopen(p, "w"));
        fclose(f);
    }
    snprintf(p, sizeof(p), "%s%s/hostname", root, own);
    assert_int_equal(symlink("/etc/hostname", p), 0);

    engine_case(root, CTR_ID, "/overlay-containers/" CTR_ID "/userdata/hosts", "/etc/hosts",
                "true", NULL);
    engine_case(root, CTR_ID, "/overlay-containers/" CTR_ID "/userdata/shm", "/dev/shm", "true",
                NULL);
    engine_case(root, CTR_ID, "/overlay-containers/" CTR_ID "/userdata/.containerenv",
                "/run/.containerenv", "true", NULL);
    engine_case(root, CTR_ID, "/overlay-containers/" CTR_ID "/userdata/../userdata/hosts",
                "/etc/hosts", "true", NULL);
    engine_case(root, CTR_ID, "/overlay-containers/" CTR_ID "/userdata/hosts", "/etc/hosts",
                "false", "host-mount-not-allowed:");
    engine_case(root, CTR_ID, "/overlay-containers/" CTR_ID "/userdata/hosts", "/etc/passwd",
                "true", "host-mount-not-allowed:");
    engine_case(root, CTR_ID, "/overlay-containers/" CTR_ID "/userdata/hosts", "/etc/hostname",
                "true", "host-mount-not-allowed:");
    engine_case(root, CTR_ID, "/overlay-containers/" OTHER_ID "/userdata/hosts", "/etc/hosts",
                "true", "host-mount-not-allowed:");
    engine_case(root, OTHER_ID, "/overlay-containers/" OTHER_ID "/userdata/hosts", "/etc/hosts",
                "true", NULL);
    engine_case(root, CTR_ID, "/overlay-containers/" CTR_ID "/userdata", "/dev/shm", "true",
                "host-mount-not-allowed:");
    engine_case(root, CTR_ID, "/overlay-containers/" CTR_ID "/userdata/hosts", "/dev/shm",
                "true", "host-mount-not-allowed:");
    engine_case(root, CTR_ID, "/overlay-containers/" CTR_ID "/userdata/shm", "/etc/hosts",
                "true", "host-mount-not-allowed:");
    engine_case(root, CTR_ID, "/vfs-containers/" CTR_ID "/userdata/hosts", "/etc/hosts", "true",
                "host-mount-not-allowed:");
    engine_case(root, CTR_ID, "/overlay-containers/" CTR_ID "/userdata/hostname",
                "/etc/hostname", "true", "host-mount-sensitive:/etc/hostname");
    engine_case(root, NULL, "/overlay-containers/" CTR_ID "/userdata/hosts", "/etc/hosts",
                "true", "host-mount-not-allowed:");
    engine_case(root, "..", "/overlay-containers/../hosts", "/etc/hosts", "true",
                "host-mount-not-allowed:");
    engine_case(root, CTR_ID "/userdata/..", "/overlay-containers/" CTR_ID "/userdata/hosts",
                "/etc/hosts", "true", "host-mount-not-allowed:");
    /* a bundle that is not the engine's for that id: nothing is the container's own */
    engine_case_in(root, OTHER_ID, CTR_ID, "/overlay-containers/" CTR_ID "/userdata/hosts",
                   "/etc/hosts", "true", "host-mount-not-allowed:");
    engine_case_in(root, "no-such-id", CTR_ID, "/overlay-containers/" CTR_ID "/userdata/hosts",
                   "/etc/hosts", "true", "host-mount-not-allowed:");

    unlink(p);
    for (size_t i = N(files); i-- > 0;) {
        snprintf(p, sizeof(p), "%s%s", root, files[i]);
        unlink(p);
    }
    for (size_t i = N(dirs); i-- > 0;) {
        snprintf(p, sizeof(p), "%s%s", root, dirs[i]);
        rmdir(p);
    }
    rmdir(root);
}

/* The reasons for base with the network and uts namespaces joined by path, judged in process
 * pid (0: none) against the runtime rt (0: this process), with allowed_joined_namespaces as
 * allowed (NULL: the default). */
static void joined_case(pid_t pid, pid_t rt, const char *allowed, const char *const *want)
{
    struct launch_env e = env;
    struct reasons r;
    size_t n = 0;

    e.pid = pid;
    e.runtime_pid = rt;
    judge_in(&e, "linux.namespaces", "[{\"type\": \"pid\"}, {\"type\": \"ipc\"},"
             " {\"type\": \"mount\"}, {\"type\": \"network\", \"path\": \"/run/netns/x\"},"
             " {\"type\": \"uts\", \"path\": \"/proc/1/ns/uts\"}]",
             allowed ? "allowed_joined_namespaces" : NULL, allowed, &r);
    while (want[n])
        n++;
    if (r.n != n) {
        print(&r);
        fail_msg("pid %d allowed %s: %zu reasons, want %zu", (int)pid, allowed, r.n, n);
    }
    for (size_t i = 0; i < n; i++)
        if (!reasons_has(&r, want[i])) {
            print(&r);
            fail_msg("pid %d allowed %s: no %s", (int)pid, allowed, want[i]);
        }
    reasons_free(&r);
}
#define JOINED(pid, rt, allowed, ...) \
    joined_case(pid, rt, allowed, (const char *const[]){ __VA_ARGS__, NULL })

/* Namespaces joined by path: the host's unless the container's process shows otherwise. No
 * process, or a process in the runtime's namespaces (this process's, or the named runtime's):
 * host namespaces. A process in a network and a UTS namespace of its own: joined, allowed by
 * the default list, denied when the policy's list lacks them. */
static void test_joined_namespaces(void **state)
{
    int go[2], ready[2];
    pid_t child;
    char c;

    (void)state;
    JOINED(0, 0, NULL, "host-namespace-forbidden:network", "host-namespace-forbidden:uts");
    JOINED(getpid(), 0, NULL, "host-namespace-forbidden:network",
           "host-namespace-forbidden:uts");
    if (geteuid() != 0) {
        print_message("  (not root: a process in namespaces of its own not tried)\n");
        return;
    }
    assert_int_equal(pipe(go), 0);
    assert_int_equal(pipe(ready), 0);
    child = fork();
    assert_true(child >= 0);
    if (child == 0) { /* ends when the parent writes or exits (EOF on go) */
        close(go[1]);
        close(ready[0]);
        c = unshare(CLONE_NEWNET | CLONE_NEWUTS) == 0 ? 'y' : 'n';
        if (write(ready[1], &c, 1) != 1 || read(go[0], &c, 1) < 0)
            _exit(1);
        _exit(0);
    }
    assert_int_equal(read(ready[0], &c, 1), 1);
    assert_int_equal(c, 'y');
    JOINED(child, 0, NULL, NULL);
    JOINED(child, getpid(), NULL, NULL);
    JOINED(child, 0, "[\"ipc\"]", "namespace-joined-forbidden:network",
           "namespace-joined-forbidden:uts");
    JOINED(child, 0, "[\"uts\"]", "namespace-joined-forbidden:network");
    /* judged against a runtime in the child's own namespaces: the runtime's, not joined */
    JOINED(child, child, NULL, "host-namespace-forbidden:network",
           "host-namespace-forbidden:uts");
    assert_int_equal(write(go[1], "x", 1), 1);
    waitpid(child, NULL, 0);
    close(go[0]);
    close(go[1]);
    close(ready[0]);
    close(ready[1]);
}

/* ---- Kubernetes: CRI's sandbox files, the kubelet's pod files, a pod's pids limit ---- */

#define SID "5c1ab0e6a6f3a1c2d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f6a7b8c9d0e1"
#define OSID "9f8e7d6c5b4a39281706f5e4d3c2b1a0918273645f4e3d2c1b0a9f8e7d6c5b4a"
#define HSID "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define POD_UID "1b4c7e2a-5d3f-4a6b-8c9d-0e1f2a3b4c5d"
#define OTHER_UID "6a7b8c9d-0e1f-4a2b-9c3d-4e5f6a7b8c9d"

static char kroot[64];

/* mkdir -p of kroot/rel, or a file there (with text) when text is not NULL. */
static void kmake(const char *rel, const char *text)
{
    char p[512];
    FILE *f;

    snprintf(p, sizeof(p), "%s/%s", kroot, rel);
    for (char *q = p + strlen(kroot) + 1; (q = strchr(q, '/')); q++) {
        *q = '\0';
        assert_true(mkdir(p, 0755) == 0 || errno == EEXIST);
        *q = '/';
    }
    if (!text) {
        assert_true(mkdir(p, 0755) == 0 || errno == EEXIST);
        return;
    }
    assert_non_null(f = fopen(p, "w"));
    fputs(text, f);
    fclose(f);
}

/* The task directory of sandbox sid as containerd's runc shim leaves it: init.pid, config.json
 * with the pod's uid. */
static void ksandbox(const char *sid, long long pid, const char *uid)
{
    char rel[256], text[256];

    snprintf(rel, sizeof(rel), "tasks/k8s.io/%s/init.pid", sid);
    snprintf(text, sizeof(text), "%lld", pid);
    kmake(rel, text);
    snprintf(rel, sizeof(rel), "tasks/k8s.io/%s/config.json", sid);
    snprintf(text, sizeof(text), "{\"annotations\": {\"io.kubernetes.cri.container-type\":"
             " \"sandbox\", \"io.kubernetes.cri.sandbox-uid\": \"%s\"}}", uid);
    kmake(rel, text);
}

/* A process in a network, IPC and UTS namespace of its own until *go is written to. */
static pid_t ns_child(int go[2])
{
    int ready[2];
    pid_t child;
    char c;

    assert_int_equal(pipe(go), 0);
    assert_int_equal(pipe(ready), 0);
    child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        close(go[1]);
        close(ready[0]);
        c = unshare(CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS) == 0 ? 'y' : 'n';
        if (write(ready[1], &c, 1) != 1 || read(go[0], &c, 1) < 0)
            _exit(1);
        _exit(0);
    }
    close(go[0]);
    close(ready[1]);
    assert_int_equal(read(ready[0], &c, 1), 1);
    close(ready[0]);
    assert_int_equal(c, 'y');
    return child;
}

static void ns_child_end(pid_t child, int go[2])
{
    assert_int_equal(write(go[1], "x", 1), 1);
    close(go[1]);
    waitpid(child, NULL, 0);
}

/* A pod's container (type "container" or "sandbox"), its bind of kroot/src at dest with
 * options opts, judged with annotations ann (JSON), the process pid, the id ctr and its
 * bundle kroot/tasks/k8s.io/bundle_id; one reason starting with want, or none (NULL). */
static void pod_case_pol(const char *ann, long long pid, const char *ctr, const char *bundle_id,
                         const char *src, const char *dest, const char *opts,
                         const char *pol_key, const char *pol_val, const char *want)
{
    char bundle[512], cri[512], st[512], kub[512], m[1024];
    struct launch_env e = env;
    struct reasons r;

    snprintf(bundle, sizeof(bundle), "%s/tasks/k8s.io/%s", kroot, bundle_id);
    snprintf(cri, sizeof(cri), "%s/cri", kroot);
    snprintf(st, sizeof(st), "%s/crist", kroot);
    snprintf(kub, sizeof(kub), "%s/kubelet", kroot);
    e.bundle_dir = bundle;
    e.ctr_id = ctr;
    e.pid = pid;
    e.cri_root = cri;
    e.cri_state = st;
    e.kubelet_root = kub;
    snprintf(m, sizeof(m), "{\"destination\": \"%s\", \"type\": \"bind\", \"source\": \"%s%s%s\","
             " \"options\": %s}", dest, src[0] == '/' ? "" : kroot, src[0] == '/' ? "" : "/", src,
             opts);
    judge_kv(&e, (const char *const[]){ "annotations", ann, "mounts+", m, NULL }, pol_key,
             pol_val, &r);
    if (want ? r.n != 1 || strncmp(r.v[0], want, strlen(want)) : r.n != 0) {
        print(&r);
        fail_msg("%s at %s %s (%s, pid %lld): want %s", src, dest, opts, ann, pid,
                 want ? want : "no reason");
    }
    reasons_free(&r);
}

#define RW "[\"rbind\", \"rprivate\", \"rw\"]"
#define RO "[\"rbind\", \"rprivate\", \"ro\"]"
#define ANN_CTR(sid, uid) "{\"io.kubernetes.cri.container-type\": \"container\"," \
    " \"io.kubernetes.cri.sandbox-id\": \"" sid "\", \"io.kubernetes.cri.sandbox-uid\": \"" uid "\"}"
#define ANN_SB(sid, uid) "{\"io.kubernetes.cri.container-type\": \"sandbox\"," \
    " \"io.kubernetes.cri.sandbox-id\": \"" sid "\", \"io.kubernetes.cri.sandbox-uid\": \"" uid "\"}"

static void pod_case(const char *ann, long long pid, const char *src, const char *dest,
                     const char *opts, const char *want)
{
    pod_case_pol(ann, pid, CTR_ID, CTR_ID, src, dest, opts, NULL, NULL, want);
}

static void kubernetes_fixture(void)
{
    static const char *const dirs[] = { "tasks/k8s.io/" CTR_ID, "tasks/k8s.io/" SID, "crist/sandboxes/" SID "/shm",
        "crist/sandboxes/" OSID "/shm",
        "kubelet/pods/" POD_UID "/volumes/kubernetes.io~projected/kube-api-access-x",
        "kubelet/pods/" POD_UID "/volumes/kubernetes.io~empty-dir/cache",
        "kubelet/pods/" POD_UID "/volumes/kubernetes.io~configmap/cfg",
        "kubelet/pods/" POD_UID "/volumes/kubernetes.io~secret/sec",
        "kubelet/pods/" POD_UID "/volumes/kubernetes.io~downward-api/info",
        "kubelet/pods/" POD_UID "/volume-subpaths/cfg/app/0",
        "kubelet/pods/" OTHER_UID "/volumes/kubernetes.io~secret/sec" };
    static const char *const files[] = { "cri/sandboxes/" SID "/hostname",
        "cri/sandboxes/" SID "/resolv.conf", "cri/sandboxes/" OSID "/hosts",
        "cri/sandboxes/" HSID "/hostname", "kubelet/pods/" POD_UID "/etc-hosts",
        "kubelet/pods/" POD_UID "/containers/app/6f1e2d3c",
        "kubelet/pods/" OTHER_UID "/etc-hosts" };
    char p[512];

    snprintf(kroot, sizeof(kroot), "/tmp/vcri-XXXXXX");
    assert_non_null(mkdtemp(kroot));
    for (size_t i = 0; i < N(dirs); i++)
        kmake(dirs[i], NULL);
    for (size_t i = 0; i < N(files); i++)
        kmake(files[i], "x\n");
    /* a sandbox file that is a symlink to the host's, a volume entry that leads out */
    kmake("cri/sandboxes/" SID, NULL);
    snprintf(p, sizeof(p), "%s/cri/sandboxes/" SID "/hosts", kroot);
    assert_int_equal(symlink("/etc/hosts", p), 0);
    snprintf(p, sizeof(p), "%s/kubelet/pods/" POD_UID "/volumes/kubernetes.io~empty-dir/cache/esc",
             kroot);
    assert_int_equal(symlink("/etc", p), 0);
}

static void kubernetes_cleanup(void)
{
    char cmd[600];

    snprintf(cmd, sizeof(cmd), "rm -rf -- '%s'", kroot);
    assert_int_equal(system(cmd), 0);
}

/* CRI's per-sandbox files: a pod container's are exactly those of the sandbox whose network,
 * IPC and UTS namespaces it joined (the sandbox's pid from containerd's task directory beside
 * the container's bundle), each at its one destination and of its type; a sandbox container's
 * are its own. Another sandbox's files, a sandbox the container did not join (or one in the
 * host's namespaces), a wrong destination, a symlink out, a missing annotation, no process
 * and a bundle that is not the container's are host binds as any other. */
static void test_cri_sandbox_files(void **state)
{
    int go[2], ogo[2];
    pid_t a, b;

    (void)state;
    kubernetes_fixture();
    /* the sandbox container itself (no process needed: its own id names its files) */
    pod_case_pol(ANN_SB(SID, POD_UID), 0, SID, SID, "crist/sandboxes/" SID "/shm", "/dev/shm", RO,
                 NULL, NULL, NULL);
    pod_case_pol(ANN_SB(SID, POD_UID), 0, SID, SID, "cri/sandboxes/" SID "/hostname",
                 "/etc/hostname", RW, NULL, NULL, NULL);
    pod_case_pol(ANN_SB(OSID, POD_UID), 0, SID, SID, "crist/sandboxes/" OSID "/shm", "/dev/shm",
                 RO, NULL, NULL, "host-mount-not-allowed:");
    pod_case_pol(ANN_SB(SID, POD_UID), 0, SID, CTR_ID, "crist/sandboxes/" SID "/shm",
                 "/dev/shm", RO, NULL, NULL, "host-mount-not-allowed:");
    pod_case_pol(ANN_SB(SID, POD_UID), 0, SID, SID, "crist/sandboxes/" SID "/shm", "/dev/shm", RO,
                 "allow_engine_files", "false", "host-mount-not-allowed:");
    /* a pod container: no process shows the joined namespaces */
    ksandbox(SID, 999999999LL, POD_UID);
    pod_case(ANN_CTR(SID, POD_UID), 0, "cri/sandboxes/" SID "/hostname", "/etc/hostname", RW,
             "host-mount-not-allowed:");
    if (geteuid() != 0) {
        print_message("  (not root: sandboxes in namespaces of their own not tried)\n");
        kubernetes_cleanup();
        return;
    }
    a = ns_child(go);
    b = ns_child(ogo);
    ksandbox(SID, a, POD_UID);
    ksandbox(OSID, b, OTHER_UID);
    ksandbox(HSID, getpid(), POD_UID);
    pod_case(ANN_CTR(SID, POD_UID), a, "cri/sandboxes/" SID "/hostname", "/etc/hostname", RW, NULL);
    pod_case(ANN_CTR(SID, POD_UID), a, "cri/sandboxes/" SID "/resolv.conf", "/etc/resolv.conf",
             RO, NULL);
    pod_case(ANN_CTR(SID, POD_UID), a, "crist/sandboxes/" SID "/shm", "/dev/shm", RW, NULL);
    pod_case(ANN_CTR(SID, POD_UID), a, "cri/sandboxes/" SID "/../" SID "/hostname",
             "/etc/hostname", RW, NULL);
    /* another sandbox's file; the file at another destination; of another type */
    pod_case(ANN_CTR(SID, POD_UID), a, "cri/sandboxes/" OSID "/hosts", "/etc/hosts", RW,
             "host-mount-not-allowed:");
    pod_case(ANN_CTR(SID, POD_UID), a, "cri/sandboxes/" SID "/hostname", "/etc/hosts", RW,
             "host-mount-not-allowed:");
    pod_case(ANN_CTR(SID, POD_UID), a, "cri/sandboxes/" SID "/resolv.conf", "/dev/shm", RW,
             "host-mount-not-allowed:");
    pod_case(ANN_CTR(SID, POD_UID), a, "crist/sandboxes/" SID, "/dev/shm", RW,
             "host-mount-not-allowed:");
    /* a symlink in the sandbox's directory to the host's file */
    pod_case(ANN_CTR(SID, POD_UID), a, "cri/sandboxes/" SID "/hosts", "/etc/hosts", RW,
             "host-mount-sensitive:/etc/hosts");
    /* the annotation names a sandbox the process did not join, or one in the host's
     * namespaces (the runtime's: this process) */
    pod_case(ANN_CTR(OSID, OTHER_UID), a, "cri/sandboxes/" OSID "/hosts", "/etc/hosts", RW,
             "host-mount-not-allowed:");
    pod_case(ANN_CTR(HSID, POD_UID), getpid(), "cri/sandboxes/" HSID "/hostname",
             "/etc/hostname", RW, "host-mount-not-allowed:");
    /* the joined sandbox's files, but the annotations missing or naming the container */
    pod_case("{\"io.kubernetes.cri.container-type\": \"container\"}", a,
             "cri/sandboxes/" SID "/hostname", "/etc/hostname", RW, "host-mount-not-allowed:");
    pod_case("{\"io.kubernetes.cri.sandbox-id\": \"" SID "\"}", a,
             "cri/sandboxes/" SID "/hostname", "/etc/hostname", RW, "host-mount-not-allowed:");
    pod_case_pol(ANN_CTR(SID, POD_UID), a, SID, SID, "cri/sandboxes/" SID "/hostname",
                 "/etc/hostname", RW, NULL, NULL, "host-mount-not-allowed:");
    /* a bundle that is not containerd's task directory of this id */
    pod_case_pol(ANN_CTR(SID, POD_UID), a, CTR_ID, OSID, "cri/sandboxes/" SID "/hostname",
                 "/etc/hostname", RW, NULL, NULL, "host-mount-not-allowed:");
    ns_child_end(a, go);
    ns_child_end(b, ogo);
    kubernetes_cleanup();
}

/* The kubelet's per-pod files: binds from <kubelet root>/pods/<uid>/ of this pod (the uid
 * annotation, which the joined sandbox's spec carries too) are pod_volume of the kind the
 * path shows, allowed by kind and mode; another pod's, a path that resolves out (symlink,
 * ..), a uid the sandbox does not have, no uid, a kind the policy does not list are not. */
static void test_pod_volumes(void **state)
{
    const char *pod = "kubelet/pods/" POD_UID;
    char src[256];
    int go[2];
    pid_t a;

    (void)state;
    kubernetes_fixture();
    /* a sandbox container's own pod (no process needed) */
    snprintf(src, sizeof(src), "%s/etc-hosts", pod);
    pod_case_pol(ANN_SB(SID, POD_UID), 0, SID, SID, src, "/etc/hosts", RW, NULL, NULL, NULL);
    if (geteuid() != 0) {
        print_message("  (not root: pod containers not tried)\n");
        kubernetes_cleanup();
        return;
    }
    a = ns_child(go);
    ksandbox(SID, a, POD_UID);
    ksandbox(OSID, a, OTHER_UID); /* the same namespaces, another pod uid in its spec */
#define POD(sub, dest, opts, want) do { \
        snprintf(src, sizeof(src), "%s/%s", pod, sub); \
        pod_case(ANN_CTR(SID, POD_UID), a, src, dest, opts, want); \
    } while (0)
    POD("etc-hosts", "/etc/hosts", RW, NULL);
    POD("containers/app/6f1e2d3c", "/dev/termination-log", RW, NULL);
    POD("volumes/kubernetes.io~projected/kube-api-access-x",
        "/var/run/secrets/kubernetes.io/serviceaccount", RO, NULL);
    POD("volumes/kubernetes.io~empty-dir/cache", "/cache", RW, NULL);
    POD("volumes/kubernetes.io~configmap/cfg", "/cfg", RO, NULL);
    POD("volumes/kubernetes.io~secret/sec", "/sec", RO, NULL);
    POD("volumes/kubernetes.io~projected/kube-api-access-x",
        "/var/run/secrets/kubernetes.io/serviceaccount", RW,
        "pod-volume-not-allowed:projected ");
    POD("volumes/kubernetes.io~secret/sec", "/sec", RW, "pod-volume-not-allowed:secret ");
    POD("volumes/kubernetes.io~downward-api/info", "/info", RO,
        "pod-volume-not-allowed:downward-api ");
    POD("volume-subpaths/cfg/app/0", "/cfg/x", RO, "pod-volume-not-allowed:other ");
    POD("etc-hosts", "/etc/passwd", RW, "pod-volume-not-allowed:other ");
    POD("volumes", "/v", RO, "pod-volume-not-allowed:other ");
    POD("volumes/kubernetes.io~secret", "/v", RO, "pod-volume-not-allowed:other ");
    POD("", "/pod", RO, "pod-volume-not-allowed:other ");
    /* out of the pod's directory: a symlink, "..", another pod's uid */
    POD("volumes/kubernetes.io~empty-dir/cache/esc", "/esc", RO, "host-mount-sensitive:/etc");
    POD("../" OTHER_UID "/volumes/kubernetes.io~secret/sec", "/sec", RO,
        "host-mount-not-allowed:");
    pod_case(ANN_CTR(SID, POD_UID), a, "kubelet/pods/" OTHER_UID "/etc-hosts", "/etc/hosts",
             RW, "host-mount-not-allowed:");
    /* the container claims another pod's uid: its sandbox's spec has another */
    pod_case(ANN_CTR(SID, OTHER_UID), a, "kubelet/pods/" OTHER_UID "/etc-hosts", "/etc/hosts",
             RW, "host-mount-not-allowed:");
    /* a sandbox that has that uid, but the container's annotation says another */
    pod_case(ANN_CTR(OSID, POD_UID), a, "kubelet/pods/" POD_UID "/etc-hosts", "/etc/hosts", RW,
             "host-mount-not-allowed:");
    /* no uid annotation; two that differ */
    pod_case("{\"io.kubernetes.cri.container-type\": \"container\","
             " \"io.kubernetes.cri.sandbox-id\": \"" SID "\"}", a,
             "kubelet/pods/" POD_UID "/etc-hosts", "/etc/hosts", RW, "host-mount-not-allowed:");
    pod_case("{\"io.kubernetes.cri.container-type\": \"container\","
             " \"io.kubernetes.cri.sandbox-id\": \"" SID "\","
             " \"io.kubernetes.cri.sandbox-uid\": \"" POD_UID "\","
             " \"io.kubernetes.pod.uid\": \"" OTHER_UID "\"}", a,
             "kubelet/pods/" POD_UID "/etc-hosts", "/etc/hosts", RW, "host-mount-not-allowed:");
    /* io.kubernetes.pod.uid alone names the pod too */
    pod_case("{\"io.kubernetes.cri.container-type\": \"container\","
             " \"io.kubernetes.cri.sandbox-id\": \"" SID "\","
             " \"io.kubernetes.pod.uid\": \"" POD_UID "\"}", a,
             "kubelet/pods/" POD_UID "/etc-hosts", "/etc/hosts", RW, NULL);
    /* the policy's kinds */
    pod_case_pol(ANN_CTR(SID, POD_UID), a, CTR_ID, CTR_ID, "kubelet/pods/" POD_UID "/etc-hosts",
                 "/etc/hosts", RW, "allowed_pod_volumes", "{}", "pod-volume-not-allowed:etc-hosts ");
    pod_case_pol(ANN_CTR(SID, POD_UID), a, CTR_ID, CTR_ID,
                 "kubelet/pods/" POD_UID "/volume-subpaths/cfg/app/0", "/x", RW,
                 "allowed_pod_volumes", "{\"other\": \"rw\"}", NULL);
    /* a host path the allow-list names is allowed as such */
    snprintf(src, sizeof(src), "[{\"source\": \"%s/%s/volume-subpaths\", \"mode\": \"ro\"}]",
             kroot, pod);
    pod_case_pol(ANN_CTR(SID, POD_UID), a, CTR_ID, CTR_ID,
                 "kubelet/pods/" POD_UID "/volume-subpaths/cfg/app/0", "/x", RO,
                 "allowed_host_mounts", src, NULL);
#undef POD
    ns_child_end(a, go);
    kubernetes_cleanup();
}

/* A read-only volume written as CRI writes it ("rbind", "ro") is read-only as a whole only
 * while nothing is mounted below it: in a mount namespace of its own (a child process), a
 * tmpfs below a configMap volume makes the bind "rw", and the read-only kind refuses it. */
static void test_pod_volume_submount(void **state)
{
    char sub[512], bundle[512], kub[512], m[1024];
    struct launch_env e = env;
    struct reasons r;
    int status;
    pid_t child;

    (void)state;
    if (geteuid() != 0) {
        print_message("  (not root: no mount made)\n");
        return;
    }
    kubernetes_fixture();
    snprintf(sub, sizeof(sub), "%s/kubelet/pods/" POD_UID "/volumes/kubernetes.io~configmap/cfg/sub",
             kroot);
    assert_int_equal(mkdir(sub, 0755), 0);
    snprintf(bundle, sizeof(bundle), "%s/tasks/k8s.io/" SID, kroot);
    snprintf(kub, sizeof(kub), "%s/kubelet", kroot);
    e.bundle_dir = bundle;
    e.ctr_id = SID;
    e.kubelet_root = kub;
    snprintf(m, sizeof(m), "{\"destination\": \"/cfg\", \"type\": \"bind\", \"source\":"
             " \"%s/kubelet/pods/" POD_UID "/volumes/kubernetes.io~configmap/cfg\", \"options\": "
             RO "}", kroot);
    /* nothing below it: read-only */
    judge_kv(&e, (const char *const[]){ "annotations", ANN_SB(SID, POD_UID), "mounts+", m, NULL },
             NULL, NULL, &r);
    print(&r);
    assert_int_equal(r.n, 0);
    reasons_free(&r);
    child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
            mount("tmpfs", sub, "tmpfs", 0, "size=64k") < 0)
            _exit(2);
        judge_kv(&e, (const char *const[]){ "annotations", ANN_SB(SID, POD_UID), "mounts+", m,
                                            NULL }, NULL, NULL, &r);
        print(&r);
        _exit(r.n == 1 && !strncmp(r.v[0], "pod-volume-not-allowed:configmap ", 33) &&
                      strstr(r.v[0], "(rw)") ? 0 : 1);
    }
    assert_int_equal(waitpid(child, &status, 0), child);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    kubernetes_cleanup();
}

/* The new keys' schema: allowed_pod_volumes maps known kinds to "ro"/"rw";
 * allow_ancestor_pids_limit is a boolean; the defaults pass. */
static void test_pod_policy_keys(void **state)
{
    static const struct { const char *json; int ok; } cases[] = {
        { "{\"allowed_pod_volumes\": {\"secret\": \"rw\", \"other\": \"ro\"}}", 1 },
        { "{\"allowed_pod_volumes\": {}}", 1 },
        { "{\"allowed_pod_volumes\": {\"host-path\": \"ro\"}}", 0 },
        { "{\"allowed_pod_volumes\": {\"secret\": \"yes\"}}", 0 },
        { "{\"allowed_pod_volumes\": [\"secret\"]}", 0 },
        { "{\"allow_ancestor_pids_limit\": false}", 1 },
        { "{\"allow_ancestor_pids_limit\": \"no\"}", 0 },
    };
    json_t *d = launch_policy_defaults(), *l;
    char err[256];

    (void)state;
    assert_int_equal(launch_policy_validate(d, err, sizeof(err)), 0);
    json_decref(d);
    for (size_t i = 0; i < N(cases); i++) {
        assert_non_null(l = json_loads(cases[i].json, 0, NULL));
        if ((launch_policy_validate(l, err, sizeof(err)) == 0) != cases[i].ok)
            fail_msg("%s: want %s", cases[i].json, cases[i].ok ? "valid" : "an error");
        json_decref(l);
    }
}

/* Writes text to dir/file. */
static void cg_write(const char *dir, const char *file, const char *text)
{
    char p[512];
    FILE *f;

    snprintf(p, sizeof(p), "%s/%s", dir, file);
    assert_non_null(f = fopen(p, "w"));
    assert_true(fputs(text, f) >= 0);
    assert_int_equal(fclose(f), 0);
}

/* The record's pids fields for process pid, and the reasons with the container's own limit
 * removed and allow_ancestor_pids_limit as allow (NULL: the default). */
static void pids_case(pid_t pid, const char *allow, uint64_t want_eff, const char *want_cg,
                      const char *want)
{
    json_t *cfg = json_loads(base, 0, NULL), *pol = launch_policy_defaults();
    struct launch_env e = env;
    struct launch_config lc;
    uint8_t d[DIGEST_LEN] = { 0 };
    struct reasons r = { 0 };
    uint64_t eff = 1;
    char cg[256];
    cbor_item_t *m;

    e.pid = pid;
    patch(cfg, "linux.resources.pids", "null");
    if (allow)
        patch(pol, "allow_ancestor_pids_limit", allow);
    assert_int_equal(launchcfg_extract(cfg, d, &e, &lc), 0);
    m = launchcfg_to_cbor(&lc);
    assert_int_equal(ctl_get_uint(m, "pids_limit_effective", &eff), 0);
    assert_int_equal(ctl_get_str(m, "pids_limit_cgroup", cg, sizeof(cg)), 0);
    if (eff != want_eff || strcmp(cg, want_cg))
        fail_msg("pid %d: effective %llu at '%s', want %llu at '%s'", (int)pid,
                 (unsigned long long)eff, cg, (unsigned long long)want_eff, want_cg);
    launch_policy_check(pol, m, &r);
    if (want ? r.n != 1 || strcmp(r.v[0], want) : r.n != 0) {
        print(&r);
        fail_msg("pid %d allow %s: want %s", (int)pid, allow ? allow : "default",
                 want ? want : "no reason");
    }
    reasons_free(&r);
    cbor_decref(&m);
    launchcfg_free(&lc);
    json_decref(cfg);
    json_decref(pol);
}

/* The pids limit the kernel applies: a container without one of its own in a cgroup below
 * one with pids.max (a pod's) passes require_pids_limit unless allow_ancestor_pids_limit is
 * false; its own cgroup's smaller limit is the one named; no process, or one in no limited
 * cgroup: pids-limit-missing. */
static void test_pids_ancestor(void **state)
{
    char pod[128], ctr[192], text[32], want_pod[64], want_ctr[96];
    const char *mnt = "/sys/fs/cgroup/pids", *procs = "cgroup.procs";
    struct stat st;
    int go[2];
    pid_t child;
    char c;

    (void)state;
    pids_case(0, NULL, 0, "", "pids-limit-missing");
    if (geteuid() != 0) {
        print_message("  (not root: no cgroup made)\n");
        return;
    }
    if (stat(mnt, &st) < 0)
        mnt = "/sys/fs/cgroup"; /* cgroup v2 only */
    snprintf(want_pod, sizeof(want_pod), "/vtpm-unit-%d", (int)getpid());
    snprintf(want_ctr, sizeof(want_ctr), "%s/ctr", want_pod);
    snprintf(pod, sizeof(pod), "%s%s", mnt, want_pod);
    snprintf(ctr, sizeof(ctr), "%s%s", mnt, want_ctr);
    assert_int_equal(mkdir(pod, 0755), 0);
    assert_int_equal(mkdir(ctr, 0755), 0);
    cg_write(pod, "pids.max", "77");
    assert_int_equal(pipe(go), 0);
    child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        close(go[1]);
        if (read(go[0], &c, 1) < 0)
            _exit(1);
        _exit(0);
    }
    close(go[0]);
    snprintf(text, sizeof(text), "%d", (int)child);
    cg_write(ctr, procs, text);
    pids_case(child, NULL, 77, want_pod, NULL);
    pids_case(child, "false", 77, want_pod, "pids-limit-missing");
    cg_write(ctr, "pids.max", "50");
    pids_case(child, NULL, 50, want_ctr, NULL);
    cg_write(ctr, "pids.max", "max");
    cg_write(pod, "pids.max", "max");
    pids_case(child, NULL, 0, "", "pids-limit-missing");
    assert_int_equal(write(go[1], "x", 1), 1);
    close(go[1]);
    waitpid(child, NULL, 0);
    assert_int_equal(rmdir(ctr), 0);
    assert_int_equal(rmdir(pod), 0);
}

static void test_hardened_base(void **state)
{
    struct reasons r;

    (void)state;
    judge(NULL, NULL, NULL, NULL, &r);
    print(&r);
    assert_int_equal(r.n, 0);
    reasons_free(&r);
}

/* The hand-built record of the test tools (evidence_build, bench_verify) passes too. */
static void test_fixture_record(void **state)
{
    cbor_item_t *c = ctl_map_new();
    json_t *pol = launch_policy_defaults();
    struct reasons r = { 0 };

    (void)state;
    ctl_put_str(c, "config_digest", "sha256:00");
    launch_fixture_fill(c);
    launch_policy_check(pol, c, &r);
    print(&r);
    assert_int_equal(r.n, 0);
    cbor_decref(&c);
    json_decref(pol);
}

static void test_mount_escapes(void **state)
{
    (void)state;
    /* relative source: ../.. of the bundle is the host root */
    EXPECT("mounts+", "{\"destination\": \"/h\", \"source\": \"../..\", \"options\": [\"bind\"]}",
           "host-mount-sensitive:/ (rw)", "host-mount-vtpm-mgr:/");
    /* ro, then rw: the last wins */
    EXPECT("mounts+", "{\"destination\": \"/h\", \"source\": \"/usr\", \"options\": [\"rbind\","
           " \"ro\", \"rw\"]}", "host-mount-not-allowed:/usr (rw)");
    /* read-only binds of sensitive places are host mounts too */
    EXPECT("mounts+", "{\"destination\": \"/e\", \"type\": \"bind\", \"source\": \"/etc\","
           " \"options\": [\"ro\"]}", "host-mount-sensitive:/etc (ro)");
    EXPECT("mounts+", "{\"destination\": \"/s\", \"source\": \"/run/docker.sock\","
           " \"options\": [\"bind\", \"ro\"]}", "host-mount-sensitive:/run/docker.sock (ro)");
    EXPECT("mounts+", "{\"destination\": \"/s\", \"source\": \"/proc/1/root\","
           " \"options\": [\"bind\", \"ro\"]}", "host-mount-sensitive");
    /* the vtpm-mgr run dir, read-only, and its parent */
    EXPECT("mounts+", "{\"destination\": \"/m\", \"source\": \"../mgr/run\","
           " \"options\": [\"bind\", \"ro\"]}", "host-mount-vtpm-mgr:/nonexistent-vtpm-test/mgr/run");
    EXPECT("mounts+", "{\"destination\": \"/m\", \"source\": \"/nonexistent-vtpm-test\","
           " \"options\": [\"bind\", \"ro\"]}", "host-mount-vtpm-mgr:/nonexistent-vtpm-test");
    /* any other host path needs the allow-list */
    EXPECT("mounts+", "{\"destination\": \"/d\", \"source\": \"/srv/data\", \"options\": [\"bind\","
           " \"ro\"]}", "host-mount-not-allowed:/srv/data (ro)");
    EXPECT("linux.rootfsPropagation", "\"rshared\"", "rootfs-propagation-shared:rshared");
    EXPECT("mounts+", "{\"destination\": \"/t\", \"type\": \"tmpfs\", \"source\": \"t\","
           " \"options\": [\"shared\"]}", "mount-propagation-shared:/t");
    EXPECT("mounts.2.options", "[\"rw\"]", "sysfs-writable:/sys");
    EXPECT("mounts+", "{\"destination\": \"/sys\", \"source\": \"x\", \"options\": [\"remount\","
           " \"bind\", \"rw\"]}", "sysfs-writable:/sys");
    EXPECT("mounts.3.options", "[\"ro\", \"rw\"]", "cgroup-writable:/sys/fs/cgroup");
    EXPECT("mounts+", "{\"destination\": \"/p\", \"type\": \"proc\", \"source\": \"proc\"}",
           "proc-mount-elsewhere:/p");
    EXPECT("mounts+", "{\"destination\": \"/x\", \"type\": \"ext4\", \"source\": \"/dev/sda1\"}",
           "mount-type-forbidden:ext4 /x");
}

/* The allow-list: source prefix and mode. */
static void test_host_mount_allow_list(void **state)
{
    const char *ro = "[{\"source\": \"/srv/data\", \"mode\": \"ro\"}]";
    struct reasons r;

    (void)state;
    judge("mounts+", "{\"destination\": \"/d\", \"source\": \"/srv/data/x\", \"options\": "
          "[\"bind\", \"ro\"]}", "allowed_host_mounts", ro, &r);
    assert_int_equal(r.n, 0);
    reasons_free(&r);
    judge("mounts+", "{\"destination\": \"/d\", \"source\": \"/srv/data\", \"options\": "
          "[\"bind\", \"ro\", \"rw\"]}", "allowed_host_mounts", ro, &r);
    assert_true(reasons_has(&r, "host-mount-not-allowed"));
    reasons_free(&r);
    judge("mounts+", "{\"destination\": \"/d\", \"source\": \"/srv/data\", \"options\": "
          "[\"rbind\", \"ro\"]}", "allowed_host_mounts", ro, &r); /* submounts stay rw */
    assert_true(reasons_has(&r, "host-mount-not-allowed"));
    reasons_free(&r);
    judge("mounts+", "{\"destination\": \"/d\", \"source\": \"/srv/database\", \"options\": "
          "[\"bind\", \"ro\"]}", "allowed_host_mounts", ro, &r); /* not a path prefix */
    assert_true(reasons_has(&r, "host-mount-not-allowed"));
    reasons_free(&r);
    judge("mounts+", "{\"destination\": \"/d\", \"source\": \"/etc\", \"options\": "
          "[\"bind\", \"ro\"]}", "allowed_host_mounts", "[{\"source\": \"/\", \"mode\": \"rw\"}]",
          &r); /* sensitive even when a prefix allows it */
    assert_true(reasons_has(&r, "host-mount-sensitive"));
    reasons_free(&r);
}

static void test_process_escapes(void **state)
{
    (void)state;
    EXPECT("linux.maskedPaths", "[]", "masked-path-missing:/proc/acpi",
           "masked-path-missing:/proc/asound", "masked-path-missing:/proc/kcore",
           "masked-path-missing:/proc/keys", "masked-path-missing:/proc/latency_stats",
           "masked-path-missing:/proc/timer_list", "masked-path-missing:/proc/timer_stats",
           "masked-path-missing:/proc/sched_debug", "masked-path-missing:/sys/firmware",
           "masked-path-missing:/proc/scsi");
    EXPECT("linux.readonlyPaths", "[\"/proc/bus\", \"/proc/fs\", \"/proc/irq\","
           " \"/proc/sysrq-trigger\"]", "readonly-path-missing:/proc/sys");
    EXPECT("process.user", "{\"uid\": 0, \"gid\": 1000}", "run-as-root");
    EXPECT("process.user", "{\"uid\": 1000, \"gid\": 0}", "run-as-root-group:gid 0");
    EXPECT("process.user", "{\"uid\": 1000, \"gid\": 1000, \"additionalGids\": [0]}",
           "run-as-root-group:additional gid 0");
    EXPECT("process.capabilities.ambient", "[\"CAP_SYS_PTRACE\"]",
           "capability-not-allowed:CAP_SYS_PTRACE");
    EXPECT("linux.seccomp.syscalls+", "{\"names\": [\"ptrace\", \"keyctl\"], \"action\": "
           "\"SCMP_ACT_ALLOW\"}", "seccomp-allows:keyctl", "seccomp-allows:ptrace");
    EXPECT("process.noNewPrivileges", "false", "no-new-privileges-missing");
    EXPECT("linux.resources.pids", "{\"limit\": -1}", "pids-limit-missing");
    EXPECT("linux.resources.memory", "null", "memory-limit-missing");
    EXPECT("linux.resources.devices+", "{\"allow\": true, \"access\": \"rwm\"}",
           "device-rule-forbidden:a *:* rwm");
    EXPECT("linux.devices", "[{\"path\": \"/dev/sda\", \"type\": \"b\", \"major\": 8,"
           " \"minor\": 0}]", "device-node-forbidden:/dev/sda b 8:0");
    EXPECT("linux.sysctl", "{\"kernel/msgmax\": \"1\"}", "sysctl-forbidden:kernel.msgmax");
    EXPECT("process.oomScoreAdj", "-500", "oom-score-adj-too-low:-500");
    EXPECT("process.apparmorProfile", "\"unconfined\"", "apparmor-profile-forbidden:unconfined");
    EXPECT("process.selinuxLabel", "\"system_u:system_r:spc_t:s0\"",
           "selinux-type-forbidden:spc_t");
    EXPECT("hooks.prestart", "[{\"path\": \"/bin/sh\", \"args\": [\"sh\", \"-c\", \"id\"]}]",
           "hook-forbidden"); /* /bin/sh, resolved: dash here */
    EXPECT("hooks.createRuntime+", "{\"path\": \"/opt/other/attest-agent\"}",
           "hook-forbidden:createRuntime /opt/other/attest-agent");
    EXPECT("linux.namespaces", "[{\"type\": \"pid\"}, {\"type\": \"ipc\"}, {\"type\": \"uts\"},"
           " {\"type\": \"mount\"}]", "host-namespace-forbidden:network");
}

static void test_no_seccomp(void **state)
{
    struct reasons r;

    (void)state;
    judge("linux.seccomp", "null", NULL, NULL, &r);
    assert_true(reasons_has(&r, "seccomp-missing"));
    assert_true(reasons_has(&r, "seccomp-allows")); /* no profile lets everything through */
    reasons_free(&r);
}

static void test_user_namespace(void **state)
{
    const char *ns = "[{\"type\": \"pid\"}, {\"type\": \"network\"}, {\"type\": \"ipc\"},"
                     " {\"type\": \"uts\"}, {\"type\": \"mount\"}, {\"type\": \"user\"}]";
    json_t *cfg = json_loads(base, 0, NULL), *pol = launch_policy_defaults();
    struct launch_config lc;
    uint8_t d[DIGEST_LEN] = { 0 };
    struct reasons r = { 0 };
    cbor_item_t *m;

    (void)state;
    /* root in a user namespace mapped to 100000: allowed */
    patch(cfg, "process.user", "{\"uid\": 0, \"gid\": 0}");
    patch(cfg, "linux.namespaces", ns);
    patch(cfg, "linux.uidMappings", "[{\"containerID\": 0, \"hostID\": 100000, \"size\": 65536}]");
    patch(cfg, "linux.gidMappings", "[{\"containerID\": 0, \"hostID\": 100000, \"size\": 65536}]");
    assert_int_equal(launchcfg_extract(cfg, d, &env, &lc), 0);
    m = launchcfg_to_cbor(&lc);
    launch_policy_check(pol, m, &r);
    print(&r);
    assert_int_equal(r.n, 0);
    cbor_decref(&m);
    launchcfg_free(&lc);
    /* a mapping that reaches host uid 0 */
    patch(cfg, "linux.uidMappings", "[{\"containerID\": 0, \"hostID\": 0, \"size\": 65536}]");
    assert_int_equal(launchcfg_extract(cfg, d, &env, &lc), 0);
    m = launchcfg_to_cbor(&lc);
    launch_policy_check(pol, m, &r);
    assert_true(reasons_has(&r, "userns-maps-host-root"));
    reasons_free(&r);
    cbor_decref(&m);
    launchcfg_free(&lc);
    json_decref(cfg);
    json_decref(pol);
}

/* The rootfs findings travel in the record and are ruled on. */
static void test_rootfs_findings(void **state)
{
    json_t *cfg = json_loads(base, 0, NULL), *pol = launch_policy_defaults();
    struct launch_config lc;
    uint8_t d[DIGEST_LEN] = { 0 };
    struct reasons r = { 0 };
    cbor_item_t *m;

    (void)state;
    assert_int_equal(launchcfg_extract(cfg, d, &env, &lc), 0);
    assert_int_equal(strset_add(&lc.rootfs_setid, "bin/su"), 0);
    assert_int_equal(strset_add(&lc.rootfs_devices, "dev/sda"), 0);
    m = launchcfg_to_cbor(&lc);
    launch_policy_check(pol, m, &r);
    assert_true(reasons_has(&r, "rootfs-setid-file"));
    assert_true(reasons_has(&r, "rootfs-device-node"));
    assert_int_equal(r.n, 2);
    reasons_free(&r);
    patch(pol, "allowed_setid_files", "[\"bin/su\"]");
    patch(pol, "allow_rootfs_devices", "true");
    launch_policy_check(pol, m, &r);
    assert_int_equal(r.n, 0);
    cbor_decref(&m);
    launchcfg_free(&lc);
    json_decref(cfg);
    json_decref(pol);
}

/* A record without a field is malformed, never silently allowed. */
static void test_missing_fields(void **state)
{
    json_t *cfg = json_loads(base, 0, NULL), *pol = launch_policy_defaults();
    struct launch_config lc;
    uint8_t d[DIGEST_LEN] = { 0 };
    struct reasons r = { 0 };
    cbor_item_t *m, *cut;

    (void)state;
    assert_int_equal(launchcfg_extract(cfg, d, &env, &lc), 0);
    m = launchcfg_to_cbor(&lc);
    for (size_t skip = 0; skip < cbor_map_size(m); skip++) {
        cut = cbor_new_indefinite_map();
        for (size_t i = 0; i < cbor_map_size(m); i++)
            if (i != skip)
                cbor_map_add(cut, cbor_map_handle(m)[i]);
        launch_policy_check(pol, cut, &r);
        /* not read: config_digest, pids_limit_cgroup; optional: joined_namespaces (absent,
         * none joined: older agents listed such namespaces as the host's),
         * pids_limit_effective (absent: no limit above the container's) */
        const char *k = (const char *)cbor_string_handle(cbor_map_handle(m)[skip].key);
        size_t kn = cbor_string_length(cbor_map_handle(m)[skip].key);
        if (!(kn == 13 && !strncmp(k, "config_digest", 13)) &&
            !(kn == 17 && !strncmp(k, "joined_namespaces", 17)) &&
            !(kn == 20 && !strncmp(k, "pids_limit_effective", 20)) &&
            !(kn == 17 && !strncmp(k, "pids_limit_cgroup", 17)) &&
            !reasons_has(&r, "launch-config-malformed"))
            fail_msg("field %zu missing: not malformed", skip);
        reasons_free(&r);
        cbor_decref(&cut);
    }
    cbor_decref(&m);
    launchcfg_free(&lc);
    json_decref(cfg);
    json_decref(pol);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hardened_base),
        cmocka_unit_test(test_fixture_record),
        cmocka_unit_test(test_mount_escapes),
        cmocka_unit_test(test_own_vtpm_mount),
        cmocka_unit_test(test_engine_files),
        cmocka_unit_test(test_joined_namespaces),
        cmocka_unit_test(test_cri_sandbox_files),
        cmocka_unit_test(test_pod_volumes),
        cmocka_unit_test(test_pod_volume_submount),
        cmocka_unit_test(test_pod_policy_keys),
        cmocka_unit_test(test_pids_ancestor),
        cmocka_unit_test(test_host_mount_allow_list),
        cmocka_unit_test(test_process_escapes),
        cmocka_unit_test(test_no_seccomp),
        cmocka_unit_test(test_user_namespace),
        cmocka_unit_test(test_rootfs_findings),
        cmocka_unit_test(test_missing_fields),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
