/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A Kubernetes pod container as containerd's CRI and the kubelet start it: which sandbox it
 * belongs to (shown by the namespaces it joined, not only named by an annotation), the
 * sandbox's per-pod files CRI binds into it, and the kubelet's per-pod files and volumes.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fileio.h"
#include "launchcfg_int.h"
#include "ocispec.h"

#define ANN_CTR_TYPE    "io.kubernetes.cri.container-type"
#define ANN_SANDBOX_ID  "io.kubernetes.cri.sandbox-id"
#define ANN_SANDBOX_UID "io.kubernetes.cri.sandbox-uid" /* containerd's name of the pod uid */
#define ANN_POD_UID     "io.kubernetes.pod.uid"
#define SANDBOX_CONFIG_MAX (4u << 20)

/* The files CRI makes per sandbox: <root>/sandboxes/<id>/<file> (root: cri_root, or
 * cri_state for the volatile ones), each at one destination, a directory or a regular file. */
static const struct {
    const char *dest, *file;
    int state, dir;
} cri_files[] = {
    { "/dev/shm", "shm", 1, 1 },
    { "/etc/hostname", "hostname", 0, 0 },
    { "/etc/hosts", "hosts", 0, 0 },
    { "/etc/resolv.conf", "resolv.conf", 0, 0 },
};

/* The kubelet's volume plugins whose directories are named kubernetes.io~<plugin>. */
static const struct { const char *dir, *type; } pod_plugins[] = {
    { "kubernetes.io~projected", "projected" },
    { "kubernetes.io~empty-dir", "empty-dir" },
    { "kubernetes.io~configmap", "configmap" },
    { "kubernetes.io~secret", "secret" },
    { "kubernetes.io~downward-api", "downward-api" },
};

int lc_id_element(const char *s)
{
    size_t n = strlen(s);

    return n > 0 && n <= 128 && strspn(s, "0123456789abcdefghijklmnopqrstuvwxyz"
                                           "ABCDEFGHIJKLMNOPQRSTUVWXYZ_.-") == n &&
           strcmp(s, ".") && strcmp(s, "..");
}

/* The pod uid of an annotation set: containerd's key, or the other; both present and
 * different: none. */
static const char *pod_uid_of(const json_t *ann)
{
    const char *a = oci_annotation(ann, ANN_SANDBOX_UID), *b = oci_annotation(ann, ANN_POD_UID);

    if (a && b && strcmp(a, b))
        return NULL;
    return a ? a : b;
}

/* /proc/<a>/ns/<ns> and /proc/<b>/ns/<ns> are one namespace (1), not (0), unreadable (-1). */
static int same_ns(long long a, const char *b, const char *ns)
{
    char p[64];
    struct stat sa, sb;

    snprintf(p, sizeof(p), "/proc/%lld/ns/%s", a, ns);
    if (stat(p, &sa) < 0)
        return -1;
    snprintf(p, sizeof(p), "/proc/%s/ns/%s", b, ns);
    if (stat(p, &sb) < 0)
        return -1;
    return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

/* The pid in <tasks>/<sid>/init.pid: what containerd's runc shim wrote for the sandbox's task,
 * a regular file of root's that nobody else may write. 0 when there is none. */
static long long sandbox_pid(const char *tasks, const char *sid)
{
    char p[PATH_MAX], buf[32];
    struct stat st;
    long long pid;
    ssize_t n;
    char *end;
    int fd;

    if (snprintf(p, sizeof(p), "%s/%s/init.pid", tasks, sid) >= (int)sizeof(p) ||
        (fd = open(p, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0)
        return 0;
    n = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_uid == 0 &&
                !(st.st_mode & (S_IWGRP | S_IWOTH))
            ? read(fd, buf, sizeof(buf) - 1)
            : -1;
    close(fd);
    if (n <= 0)
        return 0;
    buf[n] = '\0';
    pid = strtoll(buf, &end, 10);
    return end != buf && (*end == '\0' || *end == '\n') && pid > 1 ? pid : 0;
}

/*
 * The container's process joined the sandbox's network, IPC and UTS namespaces (CRI joins all
 * three by path, /proc/<sandbox pid>/ns/...): each is the sandbox process's, and at least one
 * of them is neither the runtime's nor pid 1's (a pod on the host's network still has its own
 * IPC namespace), so sharing the host's proves nothing.
 */
static int joined_sandbox(const struct launch_env *env, long long spid)
{
    static const char *const ns[] = { "net", "ipc", "uts" };
    char rt[24], sp[24];
    int own = 0;

    if (env->pid <= 0)
        return 0;
    snprintf(rt, sizeof(rt), "%lld", env->runtime_pid > 0 ? env->runtime_pid : (long long)getpid());
    snprintf(sp, sizeof(sp), "%lld", spid);
    for (size_t i = 0; i < sizeof(ns) / sizeof(ns[0]); i++) {
        if (same_ns(env->pid, sp, ns[i]) != 1)
            return 0;
        if (same_ns(env->pid, rt, ns[i]) == 0 && same_ns(env->pid, "1", ns[i]) != 1)
            own = 1;
    }
    return own;
}

/* The pod uid in the annotations of the sandbox's own spec, <tasks>/<sid>/config.json. */
static int sandbox_uid(const char *tasks, const char *sid, char *out, size_t outsz)
{
    char p[PATH_MAX];
    uint8_t *buf = NULL;
    size_t len = 0;
    json_t *cfg;
    const char *uid;
    int ok = 0;

    if (snprintf(p, sizeof(p), "%s/%s/config.json", tasks, sid) >= (int)sizeof(p) ||
        file_read_all_flags(AT_FDCWD, p, O_NOFOLLOW, SANDBOX_CONFIG_MAX, &buf, &len) < 0)
        return 0;
    cfg = json_loadb((const char *)buf, len, 0, NULL);
    free(buf);
    uid = cfg ? pod_uid_of(json_object_get(cfg, "annotations")) : NULL;
    if (uid && strlen(uid) < outsz) {
        snprintf(out, outsz, "%s", uid);
        ok = 1;
    }
    json_decref(cfg);
    return ok;
}

void lc_pod_identify(const json_t *config, const struct launch_env *env, struct lc_pod *p)
{
    const json_t *ann = json_object_get(config, "annotations");
    const char *type = oci_annotation(ann, ANN_CTR_TYPE), *sid = oci_annotation(ann, ANN_SANDBOX_ID);
    const char *uid = pod_uid_of(ann), *base;
    char bundle[PATH_MAX], tasks[PATH_MAX], suid[LC_POD_ID_MAX];
    long long spid;

    memset(p, 0, sizeof(*p));
    if (!env || !env->ctr_id || !type || !sid || !lc_id_element(sid) ||
        !lc_id_element(env->ctr_id) || !env->bundle_dir || !realpath(env->bundle_dir, bundle))
        return;
    /* containerd's task directories: <task root>/<namespace>/<id>, one per task */
    base = strrchr(bundle, '/');
    if (!base || base == bundle || strcmp(base + 1, env->ctr_id))
        return;
    snprintf(tasks, sizeof(tasks), "%.*s", (int)(base - bundle), bundle);
    if (!strcmp(type, "sandbox")) {
        if (strcmp(sid, env->ctr_id))
            return;
    } else if (!strcmp(type, "container")) {
        if (!strcmp(sid, env->ctr_id) || !(spid = sandbox_pid(tasks, sid)) ||
            !joined_sandbox(env, spid))
            return;
    } else {
        return;
    }
    snprintf(p->sandbox, sizeof(p->sandbox), "%s", sid);
    /* the pod uid: this container's, and for a pod container also its sandbox's */
    if (!uid || !lc_id_element(uid) || strlen(uid) >= sizeof(p->uid))
        return;
    if (!strcmp(type, "container") &&
        (!sandbox_uid(tasks, sid, suid, sizeof(suid)) || strcmp(suid, uid)))
        return;
    snprintf(p->uid, sizeof(p->uid), "%s", uid);
}

int lc_pod_cri_file(const char *source, const char *dest, const struct lc_pod *p,
                    const struct launch_env *env)
{
    char root[PATH_MAX], want[PATH_MAX + 256];
    struct stat st;
    const char *dir;
    size_t f;

    if (!p->sandbox[0] || !env)
        return 0;
    for (f = 0; f < sizeof(cri_files) / sizeof(cri_files[0]); f++)
        if (!strcmp(dest, cri_files[f].dest))
            break;
    if (f == sizeof(cri_files) / sizeof(cri_files[0]))
        return 0;
    dir = cri_files[f].state ? env->cri_state : env->cri_root;
    if (!dir || !*dir || !realpath(dir, root) || lstat(source, &st) < 0 ||
        (cri_files[f].dir ? !S_ISDIR(st.st_mode) : !S_ISREG(st.st_mode)))
        return 0;
    snprintf(want, sizeof(want), "%s/sandboxes/%s/%s", root, p->sandbox, cri_files[f].file);
    return !strcmp(source, want);
}

/* The type of <pod dir>/volumes/<rest>: a known plugin's directory with a volume named in it
 * (the volume or a path inside it), else "other". */
static const char *volume_type(const char *rest)
{
    for (size_t i = 0; i < sizeof(pod_plugins) / sizeof(pod_plugins[0]); i++) {
        size_t n = strlen(pod_plugins[i].dir);
        if (!strncmp(rest, pod_plugins[i].dir, n) && rest[n] == '/' && rest[n + 1])
            return pod_plugins[i].type;
    }
    return "other";
}

const char *lc_pod_volume(const char *source, const char *dest, const struct lc_pod *p,
                          const struct launch_env *env)
{
    char root[PATH_MAX], dir[PATH_MAX + 256];
    const char *rest, *slash;
    struct stat st;
    size_t n;

    if (!p->uid[0] || !env || !env->kubelet_root || !*env->kubelet_root ||
        !realpath(env->kubelet_root, root))
        return NULL;
    n = (size_t)snprintf(dir, sizeof(dir), "%s/pods/%s", root, p->uid);
    if (n >= sizeof(dir) || strncmp(source, dir, n) || (source[n] && source[n] != '/'))
        return NULL;
    if (!source[n] || !source[n + 1])
        return "other"; /* the pod's directory itself */
    rest = source + n + 1;
    if (!strcmp(rest, "etc-hosts"))
        return !strcmp(dest, "/etc/hosts") && lstat(source, &st) == 0 && S_ISREG(st.st_mode)
                   ? "etc-hosts" : "other";
    if (!strncmp(rest, "containers/", 11)) {
        /* containers/<container name>/<file>: one regular file, at the path the pod chose */
        slash = strchr(rest + 11, '/');
        return slash && slash > rest + 11 && slash[1] && !strchr(slash + 1, '/') &&
                       lstat(source, &st) == 0 && S_ISREG(st.st_mode)
                   ? "termination-log" : "other";
    }
    if (!strncmp(rest, "volumes/", 8))
        return volume_type(rest + 8);
    return "other"; /* volume-subpaths (binds of what a volume holds, a hostPath's too), ... */
}
