/* SPDX-License-Identifier: BSD-3-Clause */
/* The mounts of config.json as runc makes them: which host paths a container reaches, how. */
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

/* One mount after its options were applied in order, as runc's parseMountOptions does. */
struct mnt {
    char type[32];
    char source[PATH_MAX];      /* binds: resolved on the host; others: as written */
    char dest[PATH_MAX];        /* normalized, absolute */
    char propagation[16];       /* the last propagation option, "" when none */
    int bind, recursive, rdonly, rro, remount;
};

/* Mount options that change what we measure; runc ignores case nowhere, neither do we. */
static void apply_option(struct mnt *m, const char *o)
{
    static const char *const prop[] = { "shared", "rshared", "slave", "rslave", "private",
                                        "rprivate", "unbindable", "runbindable" };

    if (!strcmp(o, "ro"))
        m->rdonly = 1;
    else if (!strcmp(o, "rw"))
        m->rdonly = 0;
    else if (!strcmp(o, "bind"))
        m->bind = 1;
    else if (!strcmp(o, "rbind"))
        m->bind = m->recursive = 1;
    else if (!strcmp(o, "rro"))
        m->rro = 1;
    else if (!strcmp(o, "rrw"))
        m->rro = 0;
    else if (!strcmp(o, "remount"))
        m->remount = 1;
    for (size_t i = 0; i < sizeof(prop) / sizeof(prop[0]); i++)
        if (!strcmp(o, prop[i]))
            snprintf(m->propagation, sizeof(m->propagation), "%s", o);
}

/* realpath() of the longest existing leading part of path, the rest appended. */
static int resolve_existing(const char *path, char out[PATH_MAX])
{
    char head[PATH_MAX], real[PATH_MAX], tmp[2 * PATH_MAX];
    char *slash;

    if (snprintf(head, sizeof(head), "%s", path) >= (int)sizeof(head))
        return -ENAMETOOLONG;
    while ((slash = strrchr(head, '/'))) {
        *slash = '\0';
        if (realpath(*head ? head : "/", real)) {
            if (snprintf(tmp, sizeof(tmp), "%s/%s", real, path + (slash - head) + 1) >=
                (int)sizeof(tmp))
                return -ENAMETOOLONG;
            return lc_normalize(tmp, out, PATH_MAX);
        }
    }
    return lc_normalize(path, out, PATH_MAX);
}

/*
 * A bind source as runc opens it: relative to the bundle (runc chdirs there and joins the
 * path), every symlink followed. For a source that does not exist (yet), the symlinks of
 * the part that exists are followed and the rest is taken as written.
 */
static int resolve_source(const char *src, const struct launch_env *env, char out[PATH_MAX])
{
    char joined[2 * PATH_MAX];
    const char *dir = env && env->bundle_dir ? env->bundle_dir : ".";
    char absdir[PATH_MAX];

    if (src[0] != '/') {
        if (dir[0] != '/' && realpath(dir, absdir))
            dir = absdir;
        if (snprintf(joined, sizeof(joined), "%s/%s", dir, src) >= (int)sizeof(joined))
            return lc_bad("bind source too long");
    } else {
        snprintf(joined, sizeof(joined), "%s", src);
    }
    if (realpath(joined, out))
        return 0;
    return resolve_existing(joined, out) < 0 ? lc_bad("bind source too long") : 0;
}

static int parse_mount(const json_t *j, const struct launch_env *env, struct mnt *m)
{
    json_t *type, *src, *opts, *o;
    size_t i;
    int r;

    memset(m, 0, sizeof(*m));
    if (!json_is_object(j) || !json_is_string(json_object_get(j, "destination")))
        return lc_bad("mount without a destination");
    if ((r = lc_get_opt(j, "type", JSON_STRING, &type)) < 0 ||
        (r = lc_get_opt(j, "source", JSON_STRING, &src)) < 0 ||
        (r = lc_get_opt(j, "options", JSON_ARRAY, &opts)) < 0)
        return r;
    json_array_foreach(opts, i, o) {
        if (!json_is_string(o))
            return lc_bad("mount options must be texts");
        apply_option(m, json_string_value(o));
    }
    if (lc_normalize(json_string_value(json_object_get(j, "destination")), m->dest,
                     sizeof(m->dest)) < 0)
        return lc_bad("mount destination too long");
    snprintf(m->type, sizeof(m->type), "%s", type ? json_string_value(type) : "");
    /* runc treats type "bind" as a bind too (and ignores any type once "bind" is there) */
    m->bind = m->bind || !strcmp(m->type, "bind");
    if (m->bind)
        return resolve_source(src ? json_string_value(src) : "", env, m->source);
    snprintf(m->source, sizeof(m->source), "%s", src ? json_string_value(src) : "");
    return 0;
}

/*
 * Read-only for the whole tree it makes visible: "rro" (recursive), or "ro" on a mount
 * without submounts. runc applies "ro" of an rbind by remounting the top mount only, so
 * the submounts of an "rbind,ro" stay writable: that is "rw" here.
 */
static const char *mode_of(const struct mnt *m)
{
    return m->rro || (m->rdonly && !m->recursive) ? "ro" : "rw";
}

/* A mount point strictly below path in the runtime's mount namespace (env->runtime_pid, else
 * this process's: the hook runs in the runtime's), where runc's "rbind" takes it along (1),
 * none (0); unreadable: -1. */
static int has_submounts(const char *path, const struct launch_env *env)
{
    char info[64], *line = NULL, mp[PATH_MAX];
    FILE *f;
    size_t cap = 0, n = strlen(path);
    int found = 0;

    if (env && env->runtime_pid > 0)
        snprintf(info, sizeof(info), "/proc/%lld/mountinfo", env->runtime_pid);
    else
        snprintf(info, sizeof(info), "/proc/self/mountinfo");
    if (!(f = fopen(info, "re")))
        return -1;
    while (!found && getline(&line, &cap, f) > 0) {
        char field[PATH_MAX], *o = mp;
        /* the fifth field, with the kernel's octal escapes (\040 for a space) undone */
        if (sscanf(line, "%*s %*s %*s %*s %4095s", field) != 1)
            continue;
        for (const char *i = field; *i && o < mp + sizeof(mp) - 1; o++)
            if (i[0] == '\\' && i[1] >= '0' && i[1] <= '3' && i[2] >= '0' && i[2] <= '7' &&
                i[3] >= '0' && i[3] <= '7') {
                *o = (char)((i[1] - '0') * 64 + (i[2] - '0') * 8 + (i[3] - '0'));
                i += 4;
            } else {
                *o = *i++;
            }
        *o = '\0';
        found = !strncmp(mp, path, n) && (n == 1 ? mp[1] != '\0' : mp[n] == '/');
    }
    free(line);
    fclose(f);
    return found;
}

/* a is b, or one contains the other. */
static int overlaps(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b), n = la < lb ? la : lb;

    if (!strcmp(a, "/") || !strcmp(b, "/"))
        return 1;
    return !strncmp(a, b, n) && (la == lb || (la < lb ? b[la] : a[lb]) == '/');
}

static int reaches_mgr(const char *source, const struct launch_env *env)
{
    char dir[PATH_MAX];

    if (!env || !env->mgr_run_dir || !*env->mgr_run_dir)
        return 0;
    if (!realpath(env->mgr_run_dir, dir) && lc_normalize(env->mgr_run_dir, dir, sizeof(dir)) < 0)
        return 1;
    return overlaps(source, dir);
}

/* A UUID as vtpm-mgr writes it: 36 characters of [0-9a-f-], so no path element in it. */
static int uuid_text(const char *s)
{
    return strlen(s) == 36 && strspn(s, "0123456789abcdef-") == 36;
}

/*
 * The source is exactly <run-dir>/vtpm/<uuid> of the vTPM this container is attested with
 * (env->own_vtpm): the container's own vTPM directory (its two sockets), which is how a
 * container uses its vTPM. Not a file in it, not its parent, not another vTPM's.
 */
static int own_vtpm_dir(const char *source, const struct launch_env *env)
{
    char dir[PATH_MAX], own[PATH_MAX + 64];

    if (!env || !env->mgr_run_dir || !*env->mgr_run_dir || !env->own_vtpm ||
        !uuid_text(env->own_vtpm) || !realpath(env->mgr_run_dir, dir))
        return 0;
    snprintf(own, sizeof(own), "%s/vtpm/%s", dir, env->own_vtpm);
    return !strcmp(source, own);
}

/*
 * The files an engine on containers/storage (podman, CRI-O) makes for each container and binds
 * into it: <root>/<driver>-containers/<id>/userdata/<file>, each at one destination only.
 * `shm` is a directory (the container's own tmpfs), the others regular files.
 */
static const struct {
    const char *dest, *file;
    int dir;
} engine_files[] = {
    { "/dev/shm", "shm", 1 },
    { "/etc/hostname", "hostname", 0 },
    { "/etc/hosts", "hosts", 0 },
    { "/etc/resolv.conf", "resolv.conf", 0 },
    { "/run/.containerenv", ".containerenv", 0 },
};
static const char *const engine_drivers[] = { "overlay", "vfs" };

/* path (resolved) is <root>/<driver>-containers/<id>/<tail> for a root of env->engine_storage
 * and a driver of engine_drivers. */
static int in_engine_storage(const char *path, const struct launch_env *env, const char *tail)
{
    char root[PATH_MAX], want[2 * PATH_MAX + 256];

    for (const char *const *s = env->engine_storage; *s; s++) {
        if (!**s || !realpath(*s, root))
            continue;
        for (size_t d = 0; d < sizeof(engine_drivers) / sizeof(engine_drivers[0]); d++) {
            snprintf(want, sizeof(want), "%s/%s-containers/%s/%s", root, engine_drivers[d],
                     env->ctr_id, tail);
            if (!strcmp(path, want))
                return 1;
        }
    }
    return 0;
}

/*
 * The bind is one of the container's own engine files (env->ctr_id, env->engine_storage): the
 * container's bundle is the engine's directory for it, <root>/<driver>-containers/<ctr_id>/
 * userdata (so the engine made this container: a bundle elsewhere that takes an engine
 * container's id gets nothing), and the bind's resolved source is exactly
 * <root>/<driver>-containers/<ctr_id>/userdata/<file> under one of the storage roots (resolved
 * too), at the destination that file belongs to, and of its type (lstat of the resolved
 * source: no symlink, no other kind of file). Not another container's, not the userdata
 * directory, not the file at another destination.
 */
static int engine_file(const struct mnt *m, const struct launch_env *env)
{
    char bundle[PATH_MAX], tail[64];
    struct stat st;
    size_t f;

    if (!env || !env->engine_storage || !env->ctr_id || !lc_id_element(env->ctr_id) ||
        !env->bundle_dir || !realpath(env->bundle_dir, bundle) ||
        !in_engine_storage(bundle, env, "userdata"))
        return 0;
    for (f = 0; f < sizeof(engine_files) / sizeof(engine_files[0]); f++)
        if (!strcmp(m->dest, engine_files[f].dest))
            break;
    if (f == sizeof(engine_files) / sizeof(engine_files[0]) || lstat(m->source, &st) < 0 ||
        (engine_files[f].dir ? !S_ISDIR(st.st_mode) : !S_ISREG(st.st_mode)))
        return 0;
    snprintf(tail, sizeof(tail), "userdata/%s", engine_files[f].file);
    return in_engine_storage(m->source, env, tail);
}

static cbor_item_t *host_entry(const struct mnt *m, const struct launch_env *env,
                               const struct lc_pod *pod)
{
    cbor_item_t *e = ctl_map_new();
    int own = own_vtpm_dir(m->source, env), mgr = !own && reaches_mgr(m->source, env);
    int eng = !own && !mgr &&
              (engine_file(m, env) || lc_pod_cri_file(m->source, m->dest, pod, env));
    const char *vol = own || mgr || eng ? NULL : lc_pod_volume(m->source, m->dest, pod, env);
    const char *mode = mode_of(m);

    /* CRI binds each of the pod's volumes with "rbind" and "ro" for a read-only one: that is
     * read-only as a whole when nothing is mounted below the volume */
    if (vol && m->rdonly && m->recursive && !m->rro && has_submounts(m->source, env) == 0)
        mode = "ro";

    if (e && (ctl_put_str(e, "source", m->source) || ctl_put_str(e, "destination", m->dest) ||
              ctl_put_str(e, "mode", mode) || ctl_put_bool(e, "recursive", m->recursive) ||
              ctl_put_str(e, "propagation", m->propagation) || ctl_put_bool(e, "vtpm_mgr", mgr) ||
              ctl_put_bool(e, "own_vtpm", own) || ctl_put_bool(e, "engine_file", eng) ||
              ctl_put_str(e, "pod_volume", vol ? vol : "")))
        cbor_decref(&e);
    return e;
}

static cbor_item_t *fs_entry(const struct mnt *m)
{
    cbor_item_t *e = ctl_map_new();

    if (e && (ctl_put_str(e, "type", m->type) || ctl_put_str(e, "source", m->source) ||
              ctl_put_str(e, "destination", m->dest) ||
              ctl_put_str(e, "mode", m->rro || m->rdonly ? "ro" : "rw") ||
              ctl_put_str(e, "propagation", m->propagation)))
        cbor_decref(&e);
    return e;
}

/*
 * "remount" changes the flags of what is already mounted at the destination (its source
 * and type are ignored): the earlier mount there takes this one's mode and propagation.
 * Without an earlier mount it is measured as a mount of its own.
 */
static int apply_remount(struct mnt *all, size_t n, const struct mnt *m)
{
    for (size_t i = n; i-- > 0;)
        if (!strcmp(all[i].dest, m->dest)) {
            all[i].rdonly = m->rdonly;
            all[i].rro = m->rro;
            if (m->propagation[0])
                memcpy(all[i].propagation, m->propagation, sizeof(m->propagation));
            return 1;
        }
    return 0;
}

static int emit(const struct mnt *all, size_t n, const struct launch_env *env,
                const struct lc_pod *pod, struct launch_config *lc)
{
    cbor_item_t *host = cbor_new_indefinite_array(), *fs = cbor_new_indefinite_array();
    int r = host && fs ? 0 : -ENOMEM;

    for (size_t i = 0; r == 0 && i < n; i++) {
        r = all[i].bind ? lc_push(host, host_entry(&all[i], env, pod)) : lc_push(fs, fs_entry(&all[i]));
        if (r == 0 && strcmp(all[i].dest, "/"))
            r = strset_add(&lc->mount_points, all[i].dest + 1);
    }
    if (r == 0) {
        r = ctl_put_item(lc->map, "host_mounts", host);
        host = NULL;
        if (r == 0)
            r = ctl_put_item(lc->map, "mounts", fs);
        fs = NULL;
    }
    if (host)
        cbor_decref(&host);
    if (fs)
        cbor_decref(&fs);
    return r;
}

int launchcfg_mounts(const json_t *config, const struct launch_env *env,
                     struct launch_config *lc)
{
    json_t *mounts, *j;
    struct mnt *all = NULL, m;
    struct lc_pod pod;
    size_t i, n = 0;
    int r = lc_get_opt(config, "mounts", JSON_ARRAY, &mounts);

    if (r == 0 && mounts && json_array_size(mounts) > 1024)
        r = lc_bad("more than 1024 mounts");
    if (r == 0 && mounts && json_array_size(mounts) &&
        !(all = calloc(json_array_size(mounts), sizeof(*all))))
        r = -ENOMEM;
    json_array_foreach(mounts, i, j) {
        if (r < 0 || (r = parse_mount(j, env, &m)) < 0)
            break;
        if (!m.remount || !apply_remount(all, n, &m))
            all[n++] = m;
    }
    if (r == 0) {
        lc_pod_identify(config, env, &pod);
        r = emit(all, n, env, &pod, lc);
    }
    free(all);
    return r;
}
