/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * `attest-agent monitor` (docs/runtime-integrity.md): one fanotify group of class
 * FAN_CLASS_CONTENT with a FAN_MARK_FILESYSTEM mark on each superblock of each registered
 * container (its root file system and its own tmpfs mounts): FAN_OPEN_EXEC_PERM, which holds
 * the exec until it is answered (FAN_DENY only in enforcement mode), so that the cgroup of
 * the process, by which an event is attributed, is read while the process exists; a
 * superblock shared with the host gets FAN_OPEN_EXEC only (monitor mode). Each file is hashed
 * once per (dev, inode, mtime, ctime, size); each new (path, digest) of a container becomes an
 * `exec` record of its event log, extended into PCR 11 of its vTPM by the worker thread, which
 * then quotes and sends the evidence with the rootfs manifest. In enforcement mode a file
 * that is not the measured rootfs's own is refused (FAN_DENY) before it runs.
 *
 * Threads: the main thread owns the fanotify group and the containers' state; the worker
 * does the vTPM and verifier calls (a permission event never waits for them); `mu` guards the
 * container table between the two. The registration thread accepts on the socket, reads a
 * request and does the multi-MB work on a new image's manifest (hash, index) before it hands
 * the request to the main thread (`regmu`, an eventfd), so that neither a slow client nor a
 * large image holds the permission events of running containers.
 */
#include "rtmon.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <malloc.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cap-ng.h>
#include <sys/eventfd.h>
#include <sys/fanotify.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "attest.h"
#include "ctlproto.h"
#include "deadline.h"
#include "digest.h"
#include "eventlog.h"
#include "evidence.h"
#include "hexutil.h"
#include "hostev.h"
#include "http.h"
#include "log.h"
#include "netproxy.h"
#include "nodemode.h"
#include "procstat.h"
#include "rootfs.h"
#include "rtmonparse.h"
#include "rtmonstate.h"
#include "runlock.h"
#include "sdnotify.h"
#include "verifierapi.h"

#define RTMON_MAX_CTRS   256
#define RTMON_MAX_MARKS  1024
#define RTMON_CACHE      4096      /* hash cache entries (direct-mapped) */
#define RTMON_STEP_MS    5000      /* one evidence: vtpm-mgr and verifier calls */
#define RTMON_CG_MAX     512
#define RTMON_IO_MS      2000
#define RTMON_REQUEST_MS 10000     /* a registration's whole request (a 32 MiB one takes < 1 s) */
#define RTMON_UPLOAD_MS  60000     /* a manifest upload (several MB) */
#define RTMON_INLINE_SLACK (128u * 1024u) /* evidence besides an inline manifest */
#define RTMON_KNOWN      256       /* manifests known to be at the verifier (this process) */
#define RTMON_NO_STORE_MS 600000   /* an older verifier: ask again for a store this much later */

int rt_mode_parse(const char *s, enum rt_mode *m)
{
    if (!strcmp(s, "off"))
        *m = RT_OFF;
    else if (!strcmp(s, "monitor"))
        *m = RT_MONITOR;
    else if (!strcmp(s, "enforce"))
        *m = RT_ENFORCE;
    else
        return -1;
    return 0;
}

/* ---- the hook's side ------------------------------------------------------------------- */

/* A stream socket for the monitor's socket at path, whose address is put in *sa: the fd or a
 * negative errno. */
static int unix_socket_for(const char *path, struct sockaddr_un *sa)
{
    int fd;

    memset(sa, 0, sizeof(*sa));
    sa->sun_family = AF_UNIX;
    if (strlen(path) >= sizeof(sa->sun_path))
        return -ENAMETOOLONG;
    memcpy(sa->sun_path, path, strlen(path) + 1);
    if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
        return -errno;
    return fd;
}

static int connect_to(const char *path, int timeout_ms)
{
    struct sockaddr_un sa;
    struct timeval tv = { .tv_sec = timeout_ms / 1000, .tv_usec = (timeout_ms % 1000) * 1000 };
    int fd;

    if ((fd = unix_socket_for(path, &sa)) < 0)
        return fd;
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        int r = -errno;
        close(fd);
        return r;
    }
    return fd;
}

int rtmon_register(const char *socket_path, const struct rtmon_watch *w, int timeout_ms,
                   char *err, size_t errsz)
{
    cbor_item_t *m = ctl_map_new(), *reply = NULL;
    int fd = -1, r = -ENOMEM, ok = 0;

    snprintf(err, errsz, "out of memory");
    if (!m || ctl_put_uint(m, "v", 1) || ctl_put_str(m, "op", "watch") ||
        ctl_put_str(m, "id", w->id) || ctl_put_str(m, "vtpm", w->vtpm) ||
        ctl_put_str(m, "registration", w->registration) ||
        ctl_put_str(m, "rootfs", w->rootfs) || ctl_put_uint(m, "pid", (uint64_t)w->pid) ||
        ctl_put_uint(m, "start", w->start) ||
        ctl_put_bytes(m, "manifest", w->manifest->p, w->manifest->len) ||
        ctl_put_item(m, "log", cbor_incref((cbor_item_t *)w->log)) ||
        ctl_put_bool(m, "enforce", w->mode == RT_ENFORCE))
        goto out;
    if ((fd = connect_to(socket_path, timeout_ms)) < 0) {
        r = fd;
        snprintf(err, errsz, "cannot connect to %.200s: %s", socket_path, strerror(-r));
        goto out;
    }
    if ((r = ctl_send_max(fd, m, RTMON_MAX_REQUEST)) < 0 ||
        (r = ctl_recv(fd, 4096, &reply)) < 0) {
        snprintf(err, errsz, "%.200s: %s", socket_path, strerror(-r));
        goto out;
    }
    if (ctl_get_bool(reply, "ok", &ok) < 0 || !ok) {
        if (ctl_get_str(reply, "error", err, errsz) < 0)
            snprintf(err, errsz, "refused");
        r = -EPERM;
        goto out;
    }
    r = 0;
out:
    if (fd >= 0)
        close(fd);
    if (reply)
        cbor_decref(&reply);
    if (m)
        cbor_decref(&m);
    return r;
}

/* ---- the monitor's state --------------------------------------------------------------- */

struct mfile {
    char *path;            /* relative, as in the manifest ("bin/sh") */
    uint8_t digest[DIGEST_LEN];
};

struct seen {
    char *key;             /* "path\n<hex digest>" */
};

/* The rootfs manifest of one image (one measured tree digest) and the index of its regular
 * files, held once however many watched containers run that image; its state file
 * ("<hex digest>.img") lives as long as a container's state names it. The main thread's
 * (the registration thread only looks one up, under mon.imu). */
struct image {
    struct image *next;
    uint8_t digest[DIGEST_LEN];  /* SHA-256 of mf: the `rootfs` record's digest */
    struct rootfs_manifest mf;
    struct mfile *files;         /* its regular files, sorted by path */
    size_t nfiles;
    unsigned refs;               /* containers holding it */
};

struct ctr {
    char *id;
    char vtpm[MGR_UUID_LEN];
    char reg[REG_ID_MAX];
    long long pid;
    unsigned long long start;
    char cgroup[RTMON_CG_MAX];  /* "N:controllers:/path" line that names its cgroup */
    int enforce;
    struct image *img;          /* its image's manifest (shared) */
    struct seen *seen;          /* sorted */
    size_t nseen, capseen;
    struct eventlog log;        /* start records, then the exec records */
    size_t extended;            /* records in the vTPM (start records count) */
    int pending;                /* the worker has records to extend and send */
    int inflight;               /* the worker is sending this container's evidence */
    int broken;                 /* an extend failed: PCR 11 no longer follows the log */
    int full;                   /* an exec-lost record was added: nothing more is recorded */
    int64_t due_ms;             /* next periodic evidence (deadline_now_ms()), 0: none */
    int notified;               /* has a shared superblock: notification events, which a full
                                 * queue can lose */
    int marks[32];              /* indexes into mon.marks */
    int nmarks;
    struct {                    /* what each mark is, for a restarted monitor (state file) */
        char *point;            /* the mount point as the container sees it ("/", "/tmp") */
        unsigned maj, min;
        uint64_t mask;
    } mk[32];
    char key[2 * DIGEST_LEN + 1]; /* its state files' name (set_key) */
    size_t saved;               /* records in its saved state */
    int resync;                 /* re-watched: PCR 11 read back to find what was extended */
    int gone;
};

struct mark {
    dev_t dev;
    int fd;                     /* a mount root of that superblock (the mark's handle) */
    uint64_t mask;
    int refs;
};

struct cache_ent {
    dev_t dev;
    ino_t ino;
    struct timespec mtime, ctime;
    off_t size;
    int valid;
    uint8_t digest[DIGEST_LEN];
};

struct mon {
    const struct agent_opts *o;
    int fan, lfd;
    pthread_mutex_t mu;
    pthread_cond_t work;
    int stopping;
    struct ctr *ctrs[RTMON_MAX_CTRS];
    struct mark marks[RTMON_MAX_MARKS];
    int nmarks;
    struct cache_ent cache[RTMON_CACHE];
    int host_registered;
    int lockfd;                 /* flock on the state directory */
    int net;                    /* channel to the network process (the verifier's HTTP) */
    pid_t netpid;
    unsigned long long hits, misses, events, denied;
    /* the worker's only: manifests the verifier has (asked or uploaded), a ring */
    uint8_t known[RTMON_KNOWN][DIGEST_LEN];
    unsigned nknown, kpos;
    int64_t no_store_until;     /* deadline_now_ms(): the verifier had no manifest store */
    /* the watched containers' images: the main thread changes the list under imu, the
     * registration thread looks an image up under it */
    struct image *images;
    pthread_mutex_t imu;
    /* the registration thread's hand-over, under regmu: one request at a time */
    pthread_mutex_t regmu;
    pthread_cond_t regcv;       /* the slot was emptied, or stop */
    struct reg *reg;            /* a request read (and prepared) for the main thread */
    int regfd;                  /* eventfd: reg is set */
    int reg_stop;
    int reg_cur;                /* the client being read (shut down at stop), -1: none */
    int64_t reg_until;          /* deadline_now_ms() by which reg_cur's request must be in */
};

/* A registration read by the registration thread: its client, the decoded request or the
 * error to answer, and a new image prepared from its manifest (hashed, indexed), if any. */
struct reg {
    int fd;
    cbor_item_t *req;
    int r;
    char err[512];
    struct image *cand;
};

static volatile sig_atomic_t stop_flag;

static int seen_add(struct ctr *c, const char *key);

static void on_stop(int sig)
{
    (void)sig;
    stop_flag = 1;
}

static int cmp_mfile(const void *a, const void *b)
{
    return strcmp(((const struct mfile *)a)->path, ((const struct mfile *)b)->path);
}

static int cmp_seen(const void *a, const void *b)
{
    return strcmp(((const struct seen *)a)->key, ((const struct seen *)b)->key);
}

/* The manifest's regular files (the hook's walk, which hashes to the measured digest). */
static int index_manifest(struct image *im)
{
    size_t off = 0, cap = 0;

    while (off < im->mf.len) {
        struct cbor_load_result res;
        cbor_item_t *e = cbor_load(im->mf.p + off, im->mf.len - off, &res), **f;
        int keep;

        if (!e || res.read == 0 || !cbor_isa_array(e) || cbor_array_size(e) != 7) {
            if (e)
                cbor_decref(&e);
            return -EBADMSG;
        }
        off += res.read;
        f = cbor_array_handle(e);
        keep = cbor_isa_string(f[0]) && cbor_string_is_definite(f[0]) &&
               cbor_isa_string(f[1]) && cbor_string_is_definite(f[1]) &&
               cbor_string_length(f[1]) == 4 && !memcmp(cbor_string_handle(f[1]), "file", 4) &&
               cbor_isa_bytestring(f[6]) && cbor_bytestring_is_definite(f[6]) &&
               cbor_bytestring_length(f[6]) == DIGEST_LEN;
        if (keep && im->nfiles == cap) {
            struct mfile *tmp;
            cap = cap ? 2 * cap : 256;
            if (!(tmp = realloc(im->files, cap * sizeof(*tmp)))) {
                cbor_decref(&e);
                return -ENOMEM;
            }
            im->files = tmp;
        }
        if (keep) {
            size_t n = cbor_string_length(f[0]);
            char *p = malloc(n + 1);

            if (!p) {
                cbor_decref(&e);
                return -ENOMEM;
            }
            memcpy(p, cbor_string_handle(f[0]), n);
            p[n] = 0;
            im->files[im->nfiles].path = p;
            memcpy(im->files[im->nfiles].digest, cbor_bytestring_handle(f[6]), DIGEST_LEN);
            im->nfiles++;
        }
        cbor_decref(&e);
    }
    if (im->nfiles)
        qsort(im->files, im->nfiles, sizeof(*im->files), cmp_mfile);
    return 0;
}

/* Whether path (as the container sees it) is a file of the measured rootfs with digest d. */
static int measured(const struct ctr *c, const char *path, const uint8_t d[DIGEST_LEN])
{
    struct mfile key = { .path = (char *)path + 1 }, *hit;
    const struct image *im = c->img;

    if (path[0] != '/' || !im || !im->nfiles)
        return 0;
    hit = bsearch(&key, im->files, im->nfiles, sizeof(*im->files), cmp_mfile);
    return hit && !memcmp(hit->digest, d, DIGEST_LEN);
}

static void unmark(struct mon *m, int i)
{
    struct mark *k = &m->marks[i];

    if (--k->refs > 0)
        return;
    if (fanotify_mark(m->fan, FAN_MARK_REMOVE | FAN_MARK_FILESYSTEM, k->mask, k->fd, NULL) < 0 &&
        errno != ENOENT)
        LOG_WARN("monitor: removing the mark of device %u:%u: %s", major(k->dev), minor(k->dev),
                 strerror(errno));
    close(k->fd);
    k->fd = -1;
    k->refs = 0;
}

static void image_free(struct image *im)
{
    if (!im)
        return;
    for (size_t i = 0; i < im->nfiles; i++)
        free(im->files[i].path);
    free(im->files);
    rootfs_manifest_free(&im->mf);
    free(im);
}

static void image_put(struct mon *m, struct image *im)
{
    struct image **pp;

    if (!im || --im->refs > 0)
        return;
    pthread_mutex_lock(&m->imu);
    for (pp = &m->images; *pp && *pp != im; pp = &(*pp)->next)
        ;
    if (*pp)
        *pp = im->next;
    pthread_mutex_unlock(&m->imu);
    image_free(im);
}

static struct image *image_find(struct mon *m, const uint8_t digest[DIGEST_LEN])
{
    for (struct image *im = m->images; im; im = im->next)
        if (!memcmp(im->digest, digest, DIGEST_LEN))
            return im;
    return NULL;
}

static void ctr_free(struct mon *m, struct ctr *c)
{
    for (int i = 0; i < c->nmarks; i++) {
        unmark(m, c->marks[i]);
        free(c->mk[i].point);
    }
    for (size_t i = 0; i < c->nseen; i++)
        free(c->seen[i].key);
    free(c->seen);
    image_put(m, c->img);
    eventlog_free(&c->log);
    free(c->id);
    free(c);
}

/* /proc/PID/cgroup of pid into buf (NUL-terminated): its length, or -1. */
static ssize_t read_cgroups(long long pid, char *buf, size_t size)
{
    char path[64];
    ssize_t n;
    int fd;

    snprintf(path, sizeof(path), "/proc/%lld/cgroup", pid);
    if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
        return -1;
    n = read(fd, buf, size - 1);
    close(fd);
    if (n < 0)
        return -1;
    buf[n] = 0;
    return n;
}

/* The cgroup line that places pid (rtmon_cgroup_pick). */
static int cgroup_of(long long pid, char *out, size_t outsz)
{
    char cg[4096];

    if (read_cgroups(pid, cg, sizeof(cg)) < 0)
        return -errno;
    return rtmon_cgroup_pick(cg, out, outsz);
}

/* ---- marks ----------------------------------------------------------------------------- */

/* Whether the superblock maj:min is mounted in the monitor's (the host's) mount namespace
 * anywhere but at or under rootfs: then it is shared with the host. */
static int shared_with_host(unsigned maj, unsigned min, const char *rootfs)
{
    char line[3 * PATH_MAX];
    struct rtmon_minfo mi;
    FILE *f = fopen("/proc/self/mountinfo", "re");
    int shared = 0;

    if (!f)
        return 1;
    while (!shared && fgets(line, sizeof(line), f))
        if (rtmon_parse_mountinfo(line, &mi) == 0 && mi.maj == maj && mi.min == min &&
            !rtmon_under(mi.point, rootfs))
            shared = 1;
    fclose(f);
    return shared;
}

static int add_mark(struct mon *m, struct ctr *c, const char *where, const char *point,
                    dev_t dev, uint64_t mask)
{
    int i, free_slot = -1, fd;
    char *pt;

    if (c->nmarks == (int)(sizeof(c->marks) / sizeof(c->marks[0])))
        return -E2BIG;
    if (!(pt = strdup(point)))
        return -ENOMEM;
    for (i = 0; i < m->nmarks; i++) {
        if (m->marks[i].refs > 0 && m->marks[i].dev == dev)
            break;
        if (m->marks[i].refs == 0 && free_slot < 0)
            free_slot = i;
    }
    if (i < m->nmarks) {
        if ((m->marks[i].mask | mask) != m->marks[i].mask) {
            if (fanotify_mark(m->fan, FAN_MARK_ADD | FAN_MARK_FILESYSTEM, mask, m->marks[i].fd,
                              NULL) < 0)
                goto fail;
            m->marks[i].mask |= mask;
        }
        m->marks[i].refs++;
        free_slot = i;
        goto done;
    }
    if (free_slot < 0) {
        if (m->nmarks == RTMON_MAX_MARKS) {
            free(pt);
            return -E2BIG;
        }
        free_slot = m->nmarks++;
    }
    /* fanotify_mark() takes no O_PATH descriptor: the mount's root directory, read-only */
    if ((fd = open(where, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0)
        goto fail;
    if (fanotify_mark(m->fan, FAN_MARK_ADD | FAN_MARK_FILESYSTEM, mask, fd, NULL) < 0) {
        int r = -errno;
        close(fd);
        free(pt);
        return r;
    }
    m->marks[free_slot] = (struct mark){ .dev = dev, .fd = fd, .mask = mask, .refs = 1 };
done:
    c->mk[c->nmarks].point = pt;
    c->mk[c->nmarks].maj = major(dev);
    c->mk[c->nmarks].min = minor(dev);
    c->mk[c->nmarks].mask = mask;
    c->marks[c->nmarks++] = free_slot;
    return 0;
fail:
    i = -errno;
    free(pt);
    return i;
}

/*
 * Marks each superblock of c's mounts at or under rootfs (seen in its mount namespace; at
 * createRuntime its process has not pivoted yet) that can hold something to execute.
 * A superblock shared with the host gets no permission mark: enforcement is refused there.
 */
static int mark_ctr(struct mon *m, struct ctr *c, const char *rootfs, char *err, size_t errsz)
{
    char path[64], line[3 * PATH_MAX], where[PATH_MAX + 64];
    struct rtmon_minfo mi;
    FILE *f;
    int r = 0, roots = 0, shared;

    snprintf(path, sizeof(path), "/proc/%lld/mountinfo", c->pid);
    if (!(f = fopen(path, "re"))) {
        snprintf(err, errsz, "%s: %s", path, strerror(errno));
        return -ESRCH;
    }
    while (r == 0 && fgets(line, sizeof(line), f)) {
        if (rtmon_parse_mountinfo(line, &mi) < 0 || !rtmon_under(mi.point, rootfs) ||
            rtmon_no_exec_fs(&mi))
            continue;
        /* A bind of part of a host file system (an engine's per-container file, a volume, a
         * host directory) is not the container's: never marked, in either mode (the launch
         * policy rules on host binds; mount them noexec). */
        if (strcmp(mi.root, "/") && strcmp(mi.point, rootfs)) {
            LOG_WARN("container %s: %s is a bind mount from the host (%s): not watched",
                     c->id, mi.point, mi.fstype);
            continue;
        }
        /* the rootfs as a bind of a host directory, or a superblock mounted elsewhere too */
        shared = strcmp(mi.root, "/") || shared_with_host(mi.maj, mi.min, rootfs);
        if (shared && c->enforce) {
            snprintf(err, errsz, "%.200s (%s, device %u:%u) is a file system shared with the "
                     "host: enforcement needs the container's own superblocks", mi.point,
                     mi.fstype, mi.maj, mi.min);
            r = -EPERM;
            break;
        }
        snprintf(where, sizeof(where), "/proc/%lld/root%s", c->pid, mi.point);
        /* A permission event holds the process until it is answered, so its cgroup is read
         * while it exists; a notification (shared superblocks only) may come after a short
         * process has gone, and is then not attributed. */
        if ((r = add_mark(m, c, where, *(mi.point + strlen(rootfs)) ?
                          mi.point + strlen(rootfs) : "/", makedev(mi.maj, mi.min),
                          shared ? FAN_OPEN_EXEC : FAN_OPEN_EXEC_PERM)) < 0) {
            snprintf(err, errsz, "fanotify mark of %.300s: %s", mi.point, strerror(-r));
            break;
        }
        roots += !strcmp(mi.point, rootfs);
        c->notified |= shared;
        LOG_INFO("container %s: %s (%s, %u:%u) watched (%s)", c->id, mi.point, mi.fstype,
                 mi.maj, mi.min, shared ? "shared with the host: notifications, a process that "
                 "ends at once may be missed" : c->enforce ? "permission events, enforced"
                 : "permission events, always allowed");
    }
    fclose(f);
    if (r == 0 && !roots) {
        snprintf(err, errsz, "no mount at %.300s in the container's mount namespace", rootfs);
        r = -ENOENT;
    }
    return r;
}

/* ---- registration ---------------------------------------------------------------------- */

static int rootfs_record_digest(const cbor_item_t *log, uint8_t out[DIGEST_LEN])
{
    for (size_t i = 0; i < cbor_array_size(log); i++) {
        const cbor_item_t *c = ctl_get(cbor_array_handle(log)[i], "content");
        char type[16], d[80];

        if (c && ctl_get_str(c, "type", type, sizeof(type)) == 0 && !strcmp(type, "rootfs") &&
            ctl_get_str(c, "digest", d, sizeof(d)) == 0 && !strncmp(d, "sha256:", 7) &&
            strlen(d) == 71)
            return hex_decode_exact(d + 7, out, DIGEST_LEN);
    }
    return -ENOENT;
}

/* ---- state files (a restarted monitor watches its containers again) --------------------- */

#define RTMON_STATE_MAX (4u * 1024u * 1024u)

static void state_name(const struct ctr *c, const char *suffix, char *out, size_t outsz)
{
    snprintf(out, outsz, "%s%s", c->key, suffix);
}

/* The state file of the image of digest d: "<hex digest>.img". */
static void image_name(const uint8_t d[DIGEST_LEN], char *out, size_t outsz)
{
    char hex[2 * DIGEST_LEN + 1];

    hex_encode(d, DIGEST_LEN, hex);
    snprintf(out, outsz, "%s.img", hex);
}

/* c's state with the records of log: id, vTPM, registration, its process (pid and start
 * time), cgroup, mode, marks and event log (the manifest is a file of its own, written once).
 * Atomic (a temporary file renamed), 0600. 0 or a negative errno. */
static int save_state(struct mon *m, const struct ctr *c, const cbor_item_t *log)
{
    cbor_item_t *st = ctl_map_new(), *marks = cbor_new_definite_array((size_t)c->nmarks);
    uint8_t *buf = NULL;
    size_t len = 0;
    char name[2 * DIGEST_LEN + 8];
    int r = -ENOMEM;

    if (!st || !marks)
        goto out;
    for (int i = 0; i < c->nmarks; i++) {
        cbor_item_t *k = ctl_map_new();
        int ok = k && !ctl_put_str(k, "point", c->mk[i].point) &&
                 !ctl_put_uint(k, "maj", c->mk[i].maj) && !ctl_put_uint(k, "min", c->mk[i].min) &&
                 !ctl_put_uint(k, "mask", c->mk[i].mask) && cbor_array_push(marks, k);

        if (k)
            cbor_decref(&k);
        if (!ok)
            goto out;
    }
    if (ctl_put_uint(st, "v", 1) || ctl_put_str(st, "id", c->id) ||
        ctl_put_str(st, "vtpm", c->vtpm) || ctl_put_str(st, "registration", c->reg) ||
        ctl_put_uint(st, "pid", (uint64_t)c->pid) || ctl_put_uint(st, "start", c->start) ||
        ctl_put_str(st, "cgroup", c->cgroup) || ctl_put_bool(st, "enforce", c->enforce) ||
        ctl_put_bool(st, "notified", c->notified) ||
        ctl_put_item(st, "marks", cbor_incref(marks)) ||
        ctl_put_item(st, "log", cbor_incref((cbor_item_t *)log)))
        goto out;
    if ((r = ctl_serialize(st, &buf, &len)) < 0)
        goto out;
    state_name(c, ".ctr", name, sizeof(name));
    r = rtstate_write(m->o->state_dir, name, buf, len);
out:
    free(buf);
    if (marks)
        cbor_decref(&marks);
    if (st)
        cbor_decref(&st);
    return r;
}

/* c's state file gone, and its image's when no other container holds that image. */
static void drop_state(struct mon *m, const struct ctr *c)
{
    char name[2 * DIGEST_LEN + 8];

    state_name(c, ".ctr", name, sizeof(name));
    rtstate_remove(m->o->state_dir, name);
    if (c->img && c->img->refs == 1) {
        image_name(c->img->digest, name, sizeof(name));
        rtstate_remove(m->o->state_dir, name);
    }
}

/* The state files' name: SHA-256 of the id, pid and start time (a container of the same id
 * started again while the old one is not yet reaped has files of its own). */
static int set_key(struct ctr *c)
{
    uint8_t d[DIGEST_LEN];
    char buf[512];
    int n = snprintf(buf, sizeof(buf), "%s\n%lld\n%llu", c->id, c->pid, c->start);

    if (n < 0 || n >= (int)sizeof(buf) || digest_buf(buf, (size_t)n, d) < 0)
        return -EIO;
    hex_encode(d, DIGEST_LEN, c->key);
    return 0;
}

/* The content of a record of c's log, as it will be sent. */
static int add_record(struct ctr *c, cbor_item_t *content)
{
    uint8_t d[DIGEST_LEN];

    return eventlog_add(&c->log, PCR_RUNTIME, content, d);
}

/* c's exec records into its set of seen (path, digest): a re-watched container records only
 * what is new to it. */
static int seen_from_log(struct ctr *c)
{
    for (size_t i = 0; i < cbor_array_size(c->log.records); i++) {
        const cbor_item_t *ct = ctl_get(cbor_array_handle(c->log.records)[i], "content");
        char type[16], path[PATH_MAX], digest[80], key[PATH_MAX + 80];

        if (!ct || ctl_get_str(ct, "type", type, sizeof(type)) < 0)
            continue;
        if (!strcmp(type, "exec-lost"))
            c->full = 1;
        if (strcmp(type, "exec") || ctl_get_str(ct, "path", path, sizeof(path)) < 0 ||
            ctl_get_str(ct, "digest", digest, sizeof(digest)) < 0 || strncmp(digest, "sha256:", 7))
            continue;
        snprintf(key, sizeof(key), "%s\n%s", path, digest + 7);
        if (seen_add(c, key) < 0)
            return -ENOMEM;
    }
    return 0;
}

/* A new image of digest d from mf (copied), which must hash to d, its files indexed; not in
 * the monitor's list. Any thread. */
static int image_make(const uint8_t d[DIGEST_LEN], const uint8_t *mf, size_t mflen,
                      struct image **out, char *err, size_t errsz)
{
    uint8_t got[DIGEST_LEN];
    struct image *im;
    int r;

    *out = NULL;
    if (!mf || digest_buf(mf, mflen, got) < 0 || memcmp(d, got, DIGEST_LEN)) {
        snprintf(err, errsz, "the manifest is not the measured rootfs's");
        return -EINVAL;
    }
    if (!(im = calloc(1, sizeof(*im))) || !(im->mf.p = malloc(mflen))) {
        free(im);
        return -ENOMEM;
    }
    memcpy(im->digest, d, DIGEST_LEN);
    memcpy(im->mf.p, mf, mflen);
    im->mf.len = im->mf.cap = mflen;
    if ((r = index_manifest(im)) < 0) {
        snprintf(err, errsz, "manifest: %s", strerror(-r));
        image_free(im);
        return r;
    }
    *out = im;
    return 0;
}

/* want: the digest of the `rootfs` record of c's log; -EINVAL, naming it in err, when none. */
static int log_rootfs_digest(const struct ctr *c, uint8_t want[DIGEST_LEN], char *err,
                             size_t errsz)
{
    if (rootfs_record_digest(c->log.records, want) == 0)
        return 0;
    snprintf(err, errsz, "the event log has no rootfs record");
    return -EINVAL;
}

/* c's manifest: the image of digest want (log_rootfs_digest). An image a watched container
 * already runs is shared (mf, when given, must be its bytes); else cand (taken: made from
 * this request's mf by the registration thread) or mf becomes a new image (*fresh 1). */
static int take_manifest(struct mon *m, struct ctr *c, const uint8_t want[DIGEST_LEN],
                         const uint8_t *mf, size_t mflen, struct image *cand, char *err,
                         size_t errsz, int *fresh)
{
    struct image *im;
    int r;

    *fresh = 0;
    if ((im = image_find(m, want))) {
        image_free(cand);
        if (mf && (mflen != im->mf.len || memcmp(mf, im->mf.p, mflen))) {
            snprintf(err, errsz, "the manifest is not the measured rootfs's");
            return -EINVAL;
        }
        im->refs++;
        c->img = im;
        return 0;
    }
    if (cand && !memcmp(cand->digest, want, DIGEST_LEN)) {
        im = cand;
    } else {
        image_free(cand);
        if ((r = image_make(want, mf, mflen, &im, err, errsz)) < 0)
            return r;
    }
    im->refs = 1;
    pthread_mutex_lock(&m->imu);
    im->next = m->images;
    m->images = im;
    pthread_mutex_unlock(&m->imu);
    c->img = im;
    *fresh = 1;
    return 0;
}

/* The state files of a new container: its image's manifest when the image is new, then its
 * state. */
static int persist_new(struct mon *m, struct ctr *c, int fresh)
{
    char name[2 * DIGEST_LEN + 8];
    int r = 0;

    image_name(c->img->digest, name, sizeof(name));
    if ((fresh &&
         (r = rtstate_write(m->o->state_dir, name, c->img->mf.p, c->img->mf.len)) < 0) ||
        (r = save_state(m, c, c->log.records)) < 0)
        drop_state(m, c);
    else
        c->saved = c->log.count;
    return r;
}

/* A new container from a watch request: its manifest checked against the measured tree
 * digest (the `rootfs` record), marks set. The container is in the table when this returns 0. */
static int watch(struct mon *m, const cbor_item_t *req, struct image *cand, char *err,
                 size_t errsz)
{
    char rootfs[PATH_MAX], id[256];
    const cbor_item_t *log = ctl_get(req, "log");
    const uint8_t *mf = NULL;
    size_t mflen = 0;
    uint64_t pid = 0, start = 0;
    uint8_t want[DIGEST_LEN];
    struct ctr *c = calloc(1, sizeof(*c));
    int enforce = 0, r = -EINVAL, slot = -1, fresh = 0;

    snprintf(err, errsz, "malformed request");
    if (!c || ctl_get_str(req, "id", id, sizeof(id)) < 0 ||
        ctl_get_str(req, "vtpm", c->vtpm, sizeof(c->vtpm)) < 0 ||
        ctl_get_str(req, "registration", c->reg, sizeof(c->reg)) < 0 ||
        ctl_get_str(req, "rootfs", rootfs, sizeof(rootfs)) < 0 || rootfs[0] != '/' ||
        ctl_get_uint(req, "pid", &pid) < 0 || pid == 0 || pid > INT_MAX ||
        ctl_get_uint(req, "start", &start) < 0 || ctl_get_bool(req, "enforce", &enforce) < 0 ||
        !log || !cbor_isa_array(log) || ctl_get_bytes(req, "manifest", &mf, &mflen) < 0 ||
        mflen == 0 || mflen > ROOTFS_MANIFEST_MAX)
        goto fail;
    c->pid = (long long)pid;
    c->start = start;
    c->enforce = enforce;
    /* eventlog_add() appends to an array that can grow: the decoded one cannot */
    if (!(c->id = strdup(id)) || eventlog_init(&c->log) < 0) {
        r = -ENOMEM;
        goto fail;
    }
    for (size_t i = 0; i < cbor_array_size(log); i++) {
        cbor_item_t *rec = cbor_copy(cbor_array_handle(log)[i]);
        int pushed = rec && cbor_array_push(c->log.records, rec);

        if (rec)
            cbor_decref(&rec);
        if (!pushed) {
            r = -ENOMEM;
            goto fail;
        }
    }
    c->log.count = c->extended = cbor_array_size(log);
    if (procstat_start_time(c->pid) != c->start) {
        snprintf(err, errsz, "process %lld is not the container's", c->pid);
        r = -ESRCH;
        goto fail;
    }
    if ((r = cgroup_of(c->pid, c->cgroup, sizeof(c->cgroup))) < 0) {
        snprintf(err, errsz, "no cgroup of its own for process %lld", c->pid);
        goto fail;
    }
    for (int i = 0; i < RTMON_MAX_CTRS; i++)
        if (m->ctrs[i] && !strcmp(m->ctrs[i]->cgroup, c->cgroup) && !m->ctrs[i]->gone) {
            snprintf(err, errsz, "cgroup %.200s is container %.200s's", c->cgroup, m->ctrs[i]->id);
            r = -EEXIST;
            goto fail;
        }
    if ((r = log_rootfs_digest(c, want, err, errsz)) < 0)
        goto fail;
    r = take_manifest(m, c, want, mf, mflen, cand, err, errsz, &fresh);
    cand = NULL; /* taken */
    if (r < 0)
        goto fail;
    pthread_mutex_lock(&m->mu);
    for (int i = 0; i < RTMON_MAX_CTRS && slot < 0; i++)
        if (!m->ctrs[i])
            slot = i;
    pthread_mutex_unlock(&m->mu);
    if (slot < 0) {
        snprintf(err, errsz, "%d containers watched already", RTMON_MAX_CTRS);
        r = -E2BIG;
        goto fail;
    }
    if ((r = mark_ctr(m, c, rootfs, err, errsz)) < 0)
        goto fail;
    if ((r = set_key(c)) < 0 || (r = persist_new(m, c, fresh)) < 0) {
        snprintf(err, errsz, "cannot keep its state in %.200s: %s", m->o->state_dir,
                 strerror(-r));
        goto fail;
    }
    if (m->o->reattest_s > 0)
        c->due_ms = deadline_now_ms() + (int64_t)m->o->reattest_s * 1000;
    pthread_mutex_lock(&m->mu);
    m->ctrs[slot] = c;
    pthread_mutex_unlock(&m->mu);
    LOG_INFO("container %s: watched (%s, cgroup %s, %zu measured files, manifest %zu bytes, "
             "held by %u watched containers)", c->id, c->enforce ? "enforce" : "monitor",
             c->cgroup, c->img->nfiles, c->img->mf.len, c->img->refs);
    return 0;
fail:
    image_free(cand); /* not taken yet */
    if (c)
        ctr_free(m, c);
    return r;
}

/* Copies the records of log into c's (growable) event log. */
static int copy_log(struct ctr *c, const cbor_item_t *log)
{
    if (eventlog_init(&c->log) < 0)
        return -ENOMEM;
    for (size_t i = 0; i < cbor_array_size(log); i++) {
        cbor_item_t *rec = cbor_copy(cbor_array_handle(log)[i]);
        int pushed = rec && cbor_array_push(c->log.records, rec);

        if (rec)
            cbor_decref(&rec);
        if (!pushed)
            return -ENOMEM;
    }
    c->log.count = c->extended = cbor_array_size(log);
    return 0;
}

/* Sets again the mark of c saved as k (a mount point as the container sees it, after its
 * pivot): that mount must still be the same superblock. */
static int remark(struct mon *m, struct ctr *c, const char *point, unsigned maj, unsigned min,
                  uint64_t mask)
{
    char path[64], line[3 * PATH_MAX], where[PATH_MAX + 64];
    struct rtmon_minfo mi;
    FILE *f;
    int r = -ENOENT;

    snprintf(path, sizeof(path), "/proc/%lld/mountinfo", c->pid);
    if (!(f = fopen(path, "re")))
        return -errno;
    while (r == -ENOENT && fgets(line, sizeof(line), f))
        if (rtmon_parse_mountinfo(line, &mi) == 0 && !strcmp(mi.point, point) &&
            mi.maj == maj && mi.min == min) {
            snprintf(where, sizeof(where), "/proc/%lld/root%s", c->pid, mi.point);
            r = add_mark(m, c, where, point, makedev(maj, min), mask);
        }
    fclose(f);
    return r;
}

/* A resumed container's image: one taken already (by a container resumed before it), else read
 * from its file, else from the state of a monitor of an earlier version (a manifest per
 * container, "<key>.mf"), which then becomes the image's file. */
static int resume_manifest(struct mon *m, struct ctr *c, char *err, size_t errsz)
{
    const char *dir = m->o->state_dir;
    char name[2 * DIGEST_LEN + 8], legacy[2 * DIGEST_LEN + 8];
    uint8_t want[DIGEST_LEN], *mf = NULL;
    size_t mflen = 0;
    int r = 0, fresh, from_legacy = 0;

    if ((r = log_rootfs_digest(c, want, err, errsz)) < 0)
        return r;
    image_name(want, name, sizeof(name));
    state_name(c, ".mf", legacy, sizeof(legacy));
    if (!image_find(m, want)) { /* else shared: nothing to read */
        r = rtstate_read(dir, name, ROOTFS_MANIFEST_MAX, &mf, &mflen);
        if (r == -ENOENT && (r = rtstate_read(dir, legacy, ROOTFS_MANIFEST_MAX, &mf,
                                              &mflen)) == 0)
            from_legacy = 1;
        if (r < 0)
            snprintf(err, errsz, "%s: %s", name, strerror(-r));
    }
    if (r == 0 && (r = take_manifest(m, c, want, mf, mflen, NULL, err, errsz, &fresh)) == 0 &&
        from_legacy && (r = rtstate_write(dir, name, mf, mflen)) < 0)
        snprintf(err, errsz, "%s: %s", name, strerror(-r));
    if (r == 0)
        rtstate_remove(dir, legacy); /* an earlier monitor's copy, when there is one */
    free(mf);
    return r;
}

/* One state file of a previous monitor (name "<key>.ctr"): the container is watched again
 * when its process still runs (same pid, same start time, same cgroup); its log goes on, with
 * an `exec-gap` record first (what it executed while no monitor ran was not seen). Otherwise
 * its files are removed. */
static void resume_one(const char *name, void *arg)
{
    struct mon *m = arg;
    cbor_item_t *st = NULL, *marks, *log;
    uint8_t *buf = NULL;
    size_t len = 0;
    char id[256], cg[RTMON_CG_MAX], err[512] = "", mfname[2 * DIGEST_LEN + 8];
    uint64_t pid = 0, start = 0;
    struct ctr *c = calloc(1, sizeof(*c));
    int r, slot = -1, enforce = 0, notified = 0;

    snprintf(err, sizeof(err), "malformed state");
    if (!c || rtstate_read(m->o->state_dir, name, RTMON_STATE_MAX, &buf, &len) < 0 ||
        ctl_decode(buf, len, &st) < 0 || ctl_get_str(st, "id", id, sizeof(id)) < 0 ||
        ctl_get_str(st, "vtpm", c->vtpm, sizeof(c->vtpm)) < 0 ||
        ctl_get_str(st, "registration", c->reg, sizeof(c->reg)) < 0 ||
        ctl_get_uint(st, "pid", &pid) < 0 || pid == 0 || pid > INT_MAX ||
        ctl_get_uint(st, "start", &start) < 0 ||
        ctl_get_str(st, "cgroup", c->cgroup, sizeof(c->cgroup)) < 0 ||
        ctl_get_bool(st, "enforce", &enforce) < 0 || ctl_get_bool(st, "notified", &notified) < 0 ||
        !(marks = ctl_get(st, "marks")) || !cbor_isa_array(marks) ||
        cbor_array_size(marks) > 32 || !(log = ctl_get(st, "log")) || !cbor_isa_array(log) ||
        !(c->id = strdup(id)) || copy_log(c, log) < 0)
        goto drop;
    c->pid = (long long)pid;
    c->start = start;
    if (set_key(c) < 0 || strncmp(name, c->key, strlen(c->key)) || name[strlen(c->key)] != '.')
        goto drop;
    c->saved = c->log.count;
    c->enforce = enforce;
    c->notified = notified;
    if (procstat_start_time(c->pid) != c->start) {
        snprintf(err, sizeof(err), "its process %lld ended while no monitor ran", c->pid);
        goto drop;
    }
    if (cgroup_of(c->pid, cg, sizeof(cg)) < 0 || strcmp(cg, c->cgroup)) {
        snprintf(err, sizeof(err), "process %lld left cgroup %.300s", c->pid, c->cgroup);
        goto drop;
    }
    if (resume_manifest(m, c, err, sizeof(err)) < 0 || seen_from_log(c) < 0)
        goto drop;
    for (size_t i = 0; i < cbor_array_size(marks); i++) {
        const cbor_item_t *k = cbor_array_handle(marks)[i];
        char point[PATH_MAX];
        uint64_t maj, min, mask;

        if (ctl_get_str(k, "point", point, sizeof(point)) < 0 ||
            ctl_get_uint(k, "maj", &maj) < 0 || ctl_get_uint(k, "min", &min) < 0 ||
            ctl_get_uint(k, "mask", &mask) < 0 ||
            (mask != FAN_OPEN_EXEC && mask != FAN_OPEN_EXEC_PERM) ||
            (r = remark(m, c, point, (unsigned)maj, (unsigned)min, mask)) < 0) {
            snprintf(err, sizeof(err), "its mount %.300s cannot be watched again", point);
            goto drop;
        }
    }
    for (int i = 0; i < RTMON_MAX_CTRS && slot < 0; i++)
        if (!m->ctrs[i])
            slot = i;
    if (slot < 0) {
        snprintf(err, sizeof(err), "%d containers watched already", RTMON_MAX_CTRS);
        goto drop;
    }
    if (!c->full) {
        cbor_item_t *gap = ctl_map_new();

        if (!gap || ctl_put_str(gap, "type", "exec-gap") ||
            ctl_put_uint(gap, "resumed", (uint64_t)time(NULL))) {
            if (gap)
                cbor_decref(&gap);
            gap = NULL;
        }
        if (add_record(c, gap) < 0) { /* takes gap */
            snprintf(err, sizeof(err), "its exec-gap record cannot be added");
            goto drop;
        }
    }
    c->resync = 1;
    c->pending = 1;
    if (m->o->reattest_s > 0)
        c->due_ms = deadline_now_ms() + (int64_t)m->o->reattest_s * 1000;
    m->ctrs[slot] = c;
    LOG_WARN("container %s: watched again (%s, cgroup %s, %zu records): execs while no monitor "
             "ran were not seen, exec-gap recorded", c->id, c->enforce ? "enforce" : "monitor",
             c->cgroup, c->log.count);
    c = NULL;
    goto out;
drop:
    LOG_WARN("monitor: state %s%s%s dropped: %s", name, c && c->id ? " of container " : "",
             c && c->id ? c->id : "", err);
    rtstate_remove(m->o->state_dir, name);
    snprintf(mfname, sizeof(mfname), "%.*s.mf", (int)(strlen(name) - 4), name); /* earlier */
    rtstate_remove(m->o->state_dir, mfname);
    /* its image's file stays: a container read after it may be of that image; the ones none
     * holds go once all are read (sweep_image) */
out:
    if (c)
        ctr_free(m, c);
    free(buf);
    if (st)
        cbor_decref(&st);
}

/* An image file no resumed container holds (left by a crash between the two removals) goes. */
static void sweep_image(const char *name, void *arg)
{
    struct mon *m = arg;
    uint8_t d[DIGEST_LEN];

    if (strlen(name) == 2 * DIGEST_LEN + 4 && hex_decode_exact(name, d, DIGEST_LEN) == 0 &&
        image_find(m, d))
        return;
    LOG_INFO("monitor: state %s held by no container: removed", name);
    rtstate_remove(m->o->state_dir, name);
}

static int peer_is_root(int fd)
{
    struct ucred cr;
    socklen_t len = sizeof(cr);

    return getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) == 0 && cr.uid == 0;
}

/* ---- the registration thread --------------------------------------------------------- */

/* One client: accepted, its peer checked, its request read (each read bounded by RTMON_IO_MS,
 * the whole by RTMON_REQUEST_MS: reg_cut_late) and, for a watch of an image no watched
 * container runs yet, that image made from its manifest (the hash against the log's rootfs
 * digest, the index): what takes long, done here. */
static struct reg *reg_read(struct mon *m)
{
    struct timeval tv = { .tv_sec = RTMON_IO_MS / 1000 };
    struct reg *g = calloc(1, sizeof(*g));
    const cbor_item_t *log;
    const uint8_t *mf = NULL;
    size_t mflen = 0;
    uint8_t d[DIGEST_LEN];
    char op[16];
    int known, root;

    if (!g)
        return NULL;
    if ((g->fd = accept4(m->lfd, NULL, NULL, SOCK_CLOEXEC)) < 0) {
        free(g);
        return NULL;
    }
    setsockopt(g->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(g->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    pthread_mutex_lock(&m->regmu);
    m->reg_cur = g->fd;
    m->reg_until = deadline_now_ms() + RTMON_REQUEST_MS; /* else the main thread cuts it */
    pthread_mutex_unlock(&m->regmu);
    root = peer_is_root(g->fd);
    g->r = root ? ctl_recv(g->fd, RTMON_MAX_REQUEST, &g->req) : -EPERM;
    pthread_mutex_lock(&m->regmu);
    m->reg_cur = -1;
    pthread_mutex_unlock(&m->regmu);
    if (!root) {
        snprintf(g->err, sizeof(g->err), "only root registers containers");
    } else if (g->r < 0) {
        snprintf(g->err, sizeof(g->err), "request: %s", strerror(-g->r));
    } else if (ctl_get_str(g->req, "op", op, sizeof(op)) < 0 || strcmp(op, "watch")) {
        snprintf(g->err, sizeof(g->err), "unknown op");
        g->r = -EINVAL;
    } else if ((log = ctl_get(g->req, "log")) && cbor_isa_array(log) &&
               rootfs_record_digest(log, d) == 0 &&
               ctl_get_bytes(g->req, "manifest", &mf, &mflen) == 0 && mflen > 0 &&
               mflen <= ROOTFS_MANIFEST_MAX) {
        /* the rest of the request is checked by watch(), on the main thread */
        pthread_mutex_lock(&m->imu);
        known = image_find(m, d) != NULL;
        pthread_mutex_unlock(&m->imu);
        if (!known)
            g->r = image_make(d, mf, mflen, &g->cand, g->err, sizeof(g->err));
    }
    return g;
}

static void reg_free(struct reg *g)
{
    if (!g)
        return;
    if (g->fd >= 0)
        close(g->fd);
    if (g->req)
        cbor_decref(&g->req);
    image_free(g->cand);
    free(g);
}

/* Reads one request at a time and hands it over; the next client waits until the main thread
 * took it. */
static void *reg_main(void *arg)
{
    struct mon *m = arg;

    for (;;) {
        struct pollfd p = { .fd = m->lfd, .events = POLLIN };
        struct reg *g;
        int stop;

        pthread_mutex_lock(&m->regmu);
        while (m->reg && !m->reg_stop)
            pthread_cond_wait(&m->regcv, &m->regmu);
        stop = m->reg_stop;
        pthread_mutex_unlock(&m->regmu);
        if (stop)
            break;
        if (poll(&p, 1, 500) <= 0 || !(g = reg_read(m)))
            continue;
        pthread_mutex_lock(&m->regmu);
        if (m->reg_stop) {
            pthread_mutex_unlock(&m->regmu);
            reg_free(g);
            break;
        }
        m->reg = g;
        pthread_mutex_unlock(&m->regmu);
        if (eventfd_write(m->regfd, 1) < 0)
            LOG_WARN("monitor: registration hand-over: %s", strerror(errno));
    }
    return NULL;
}

/* The main thread, at each turn of its loop: a client still sending its request after
 * RTMON_REQUEST_MS is cut (its reads end), so that the next registrations do not wait on it. */
static void reg_cut_late(struct mon *m)
{
    pthread_mutex_lock(&m->regmu);
    if (m->reg_cur >= 0 && deadline_now_ms() > m->reg_until) {
        LOG_WARN("monitor: a registration client still sending after %d s: cut",
                 RTMON_REQUEST_MS / 1000);
        shutdown(m->reg_cur, SHUT_RDWR);
        m->reg_until = INT64_MAX; /* once */
    }
    pthread_mutex_unlock(&m->regmu);
}

/* The main thread: the request handed over, watched (or refused) and answered. */
static void serve_client(struct mon *m)
{
    eventfd_t n;
    struct reg *g;
    cbor_item_t *reply;
    int r;

    (void)eventfd_read(m->regfd, &n);
    pthread_mutex_lock(&m->regmu);
    g = m->reg;
    m->reg = NULL;
    pthread_cond_signal(&m->regcv);
    pthread_mutex_unlock(&m->regmu);
    if (!g)
        return;
    r = g->r;
    if (r == 0) {
        r = watch(m, g->req, g->cand, g->err, sizeof(g->err));
        g->cand = NULL; /* taken */
    }
    if (r < 0)
        LOG_WARN("monitor: registration refused: %s", g->err);
    reply = r == 0 ? ctl_ok() : ctl_error(-r, g->err);
    if (reply) {
        (void)ctl_send(g->fd, reply);
        cbor_decref(&reply);
    }
    reg_free(g);
}

/* ---- events ---------------------------------------------------------------------------- */

static int file_digest(struct mon *m, int fd, uint8_t out[DIGEST_LEN])
{
    struct stat st;
    struct cache_ent *e;
    size_t h;
    int r;

    if (fstat(fd, &st) < 0)
        return -errno;
    h = ((size_t)st.st_ino * 2654435761u ^ (size_t)st.st_dev) % RTMON_CACHE;
    e = &m->cache[h];
    if (e->valid && e->dev == st.st_dev && e->ino == st.st_ino && e->size == st.st_size &&
        e->mtime.tv_sec == st.st_mtim.tv_sec && e->mtime.tv_nsec == st.st_mtim.tv_nsec &&
        e->ctime.tv_sec == st.st_ctim.tv_sec && e->ctime.tv_nsec == st.st_ctim.tv_nsec) {
        memcpy(out, e->digest, DIGEST_LEN);
        m->hits++;
        return 0;
    }
    m->misses++;
    if ((r = digest_fd(fd, out)) < 0)
        return r;
    *e = (struct cache_ent){ .dev = st.st_dev, .ino = st.st_ino, .mtime = st.st_mtim,
                             .ctime = st.st_ctim, .size = st.st_size, .valid = 1 };
    memcpy(e->digest, out, DIGEST_LEN);
    return 0;
}

/* 1 when key was new (inserted), 0 when seen before, <0 on error. */
static int seen_add(struct ctr *c, const char *key)
{
    struct seen k = { .key = (char *)key }, *tmp;
    size_t lo = 0, hi = c->nseen;

    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int d = cmp_seen(&k, &c->seen[mid]);

        if (d == 0)
            return 0;
        if (d < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    if (c->nseen == c->capseen) {
        c->capseen = c->capseen ? 2 * c->capseen : 64;
        if (!(tmp = realloc(c->seen, c->capseen * sizeof(*tmp))))
            return -ENOMEM;
        c->seen = tmp;
    }
    memmove(c->seen + lo + 1, c->seen + lo, (c->nseen - lo) * sizeof(*c->seen));
    if (!(c->seen[lo].key = strdup(key)))
        return -ENOMEM;
    c->nseen++;
    return 1;
}

static int add_exec_record(struct ctr *c, const char *path, const char *digest)
{
    cbor_item_t *content = ctl_map_new();
    uint8_t d[DIGEST_LEN];

    if (!content || ctl_put_str(content, "type", path ? "exec" : "exec-lost") ||
        (path && (ctl_put_str(content, "path", path) || ctl_put_str(content, "digest", digest)))) {
        if (content)
            cbor_decref(&content);
        return -ENOMEM;
    }
    return eventlog_add(&c->log, PCR_RUNTIME, content, d);
}

/* Execs of c went unrecorded (the queue overflowed, its log is full): one exec-lost record,
 * which the verifier judges as drift, and nothing recorded after it. Under mu. */
static void lost(struct mon *m, struct ctr *c, const char *why)
{
    if (c->full)
        return;
    c->full = 1;
    if (add_exec_record(c, NULL, NULL) < 0) {
        c->broken = 1;
        LOG_ERROR("container %s: %s, and no exec-lost record could be added", c->id, why);
        return;
    }
    LOG_ERROR("container %s: %s: exec-lost recorded, later execs are not", c->id, why);
    c->pending = 1;
    pthread_cond_signal(&m->work);
}

/* The watched container pid runs in (its cgroups read once; the deepest match, should one
 * container's cgroup hold another's), or NULL. */
static struct ctr *owner_of(struct mon *m, long long pid)
{
    struct ctr *best = NULL;
    char cg[4096];

    if (read_cgroups(pid, cg, sizeof(cg)) < 0)
        return NULL;
    for (int i = 0; i < RTMON_MAX_CTRS; i++)
        if (m->ctrs[i] && !m->ctrs[i]->gone && rtmon_in_cgroup(cg, m->ctrs[i]->cgroup) &&
            (!best || strlen(m->ctrs[i]->cgroup) > strlen(best->cgroup)))
            best = m->ctrs[i];
    return best;
}

/* One event: 1 allow, 0 deny (permission events). */
static int judge(struct mon *m, const struct fanotify_event_metadata *ev)
{
    char link[64], path[PATH_MAX], hex[2 * DIGEST_LEN + 1], digest[80], key[PATH_MAX + 80];
    uint8_t d[DIGEST_LEN];
    struct ctr *c;
    ssize_t n;
    int r, ok;

    m->events++;
    pthread_mutex_lock(&m->mu);
    c = owner_of(m, ev->pid);
    pthread_mutex_unlock(&m->mu);
    if (!c)
        return 1; /* not a watched container's process (the host, another container) */
    snprintf(link, sizeof(link), "/proc/self/fd/%d", ev->fd);
    n = readlink(link, path, sizeof(path) - 1);
    if (n <= 0 || (r = file_digest(m, ev->fd, d)) < 0) {
        LOG_ERROR("container %s: exec by pid %d: cannot read the file", c->id, (int)ev->pid);
        return !c->enforce;
    }
    path[n] = 0;
    hex_encode(d, DIGEST_LEN, hex);
    snprintf(digest, sizeof(digest), "sha256:%s", hex);
    ok = measured(c, path, d);
    if (!ok && c->enforce) {
        m->denied++;
        LOG_WARN("container %s: exec of %s (%s) denied: not a file of the measured rootfs",
                 c->id, path, digest);
        return 0;
    }
    snprintf(key, sizeof(key), "%s\n%s", path, hex);
    pthread_mutex_lock(&m->mu);
    r = seen_add(c, key);
    if (r > 0 && !c->full) {
        if (c->log.count >= EVENTLOG_MAX_RECORDS - 1 || add_exec_record(c, path, digest) < 0) {
            lost(m, c, "its event log is full");
        } else {
            c->pending = 1;
            pthread_cond_signal(&m->work);
        }
    } else if (r < 0) {
        lost(m, c, "out of memory");
    }
    pthread_mutex_unlock(&m->mu);
    if (r > 0)
        LOG_INFO("container %s: exec %s %s%s", c->id, path, digest,
                 ok ? "" : " (not a file of the measured rootfs)");
    return 1;
}

static void read_events(struct mon *m)
{
    char buf[8192] __attribute__((aligned(__alignof__(struct fanotify_event_metadata))));
    ssize_t len = read(m->fan, buf, sizeof(buf));
    const struct fanotify_event_metadata *ev = (const void *)buf;

    if (len <= 0)
        return;
    for (; FAN_EVENT_OK(ev, len); ev = FAN_EVENT_NEXT(ev, len)) {
        int allow;

        if (ev->vers != FANOTIFY_METADATA_VERSION) {
            LOG_ERROR("monitor: fanotify metadata version %u", ev->vers);
            continue;
        }
        if (ev->mask & FAN_Q_OVERFLOW) {
            LOG_ERROR("monitor: fanotify queue overflow: execs were missed");
            pthread_mutex_lock(&m->mu);
            for (int i = 0; i < RTMON_MAX_CTRS; i++)
                if (m->ctrs[i] && m->ctrs[i]->notified) /* permission events are never lost */
                    lost(m, m->ctrs[i], "the fanotify queue overflowed");
            pthread_mutex_unlock(&m->mu);
            continue;
        }
        if (ev->fd < 0)
            continue;
        allow = judge(m, ev);
        if (ev->mask & FAN_OPEN_EXEC_PERM) {
            struct fanotify_response resp = { .fd = ev->fd,
                                               .response = allow ? FAN_ALLOW : FAN_DENY };

            if (write(m->fan, &resp, sizeof(resp)) != (ssize_t)sizeof(resp))
                LOG_ERROR("monitor: fanotify response: %s", strerror(errno));
        }
        close(ev->fd);
    }
}

/* Containers whose process ended: marks removed, forgotten. The others: their periodic
 * evidence when due (the agent service leaves containers the monitor watches to it). */
static void reap(struct mon *m)
{
    int64_t now = deadline_now_ms();

    for (int i = 0; i < RTMON_MAX_CTRS; i++) {
        struct ctr *c = m->ctrs[i];

        if (c && c->due_ms && now >= c->due_ms && procstat_start_time(c->pid) == c->start) {
            pthread_mutex_lock(&m->mu);
            c->due_ms = now + (int64_t)m->o->reattest_s * 1000;
            c->pending = 1;
            pthread_cond_signal(&m->work);
            pthread_mutex_unlock(&m->mu);
        }
        if (!c || procstat_start_time(c->pid) == c->start)
            continue;
        pthread_mutex_lock(&m->mu);
        c->gone = 1;
        if ((c->pending && !c->broken) || c->inflight) { /* the worker still sends */
            pthread_mutex_unlock(&m->mu);
            continue;
        }
        m->ctrs[i] = NULL;
        pthread_mutex_unlock(&m->mu);
        LOG_INFO("container %s: no longer watched (its process ended)", c->id);
        drop_state(m, c);
        ctr_free(m, c);
    }
}

/* ---- the worker: extend, quote, send --------------------------------------------------- */

struct job {
    char id[256], vtpm[MGR_UUID_LEN], reg[REG_ID_MAX];
    cbor_item_t *log;               /* a copy of the records up to count */
    size_t from;                    /* records [from, count) to extend */
    int resync;                     /* from: found by reading PCR 11 back (re-watched) */
    size_t saved;                   /* records in the container's saved state */
    struct bytes manifest;          /* borrowed: c->img lives until the job is done (inflight) */
    uint8_t mfdigest[DIGEST_LEN];
    int mf_retry;                   /* denied for a manifest the verifier no longer has */
    int mf_asked;                   /* this job asked for (or uploaded) the manifest */
};

static int known_at(const struct mon *m, const uint8_t d[DIGEST_LEN])
{
    for (unsigned i = 0; i < m->nknown; i++)
        if (!memcmp(m->known[i], d, DIGEST_LEN))
            return (int)i;
    return -1;
}

/* 1 when d was known (and is forgotten now). */
static int forget_known(struct mon *m, const uint8_t d[DIGEST_LEN])
{
    int i = known_at(m, d);

    if (i < 0)
        return 0;
    memset(m->known[i], 0, DIGEST_LEN);
    return 1;
}

/*
 * The container's rootfs manifest at the verifier's manifest store, once per image (digest)
 * in this process: asked for (HEAD), uploaded when missing. 0: evidence goes without it; 1:
 * the evidence carries it inline (an older verifier without the store, or one that refused
 * it: the verifier then judges as before, within its evidence bound); -errno: try later.
 */
static int manifest_at_verifier(struct mon *m, struct job *j)
{
    struct http_opts ho = { .base_url = m->o->verifier, .ca = m->o->ca, .cert = m->o->cert,
                            .key = m->o->key, .deadline = deadline_now_ms() + RTMON_UPLOAD_MS };
    char hex[2 * DIGEST_LEN + 1];
    int up = 0, r;

    if (known_at(m, j->mfdigest) >= 0)
        return 0;
    if (m->no_store_until && deadline_now_ms() < m->no_store_until)
        return 1;
    hex_encode(j->mfdigest, DIGEST_LEN, hex);
    j->mf_asked = 1;
    r = verifier_manifest(&ho, j->manifest.p, j->manifest.len, &up);
    if (r == 0) {
        memcpy(m->known[m->kpos], j->mfdigest, DIGEST_LEN);
        m->kpos = (m->kpos + 1) % RTMON_KNOWN;
        if (m->nknown < RTMON_KNOWN)
            m->nknown++;
        LOG_INFO("container %s: rootfs manifest sha256:%s %s the verifier (%zu bytes)", j->id,
                 hex, up ? "uploaded to" : "already at", j->manifest.len);
        return 0;
    }
    if (r == -ENOTSUP) {
        m->no_store_until = deadline_now_ms() + RTMON_NO_STORE_MS;
        LOG_WARN("the verifier has no manifest store (an older one): rootfs manifests go "
                 "inline in evidence, up to its 1 MiB");
        return 1;
    }
    if (r == -ENOSPC || r == -EACCES || r == -EMSGSIZE) {
        LOG_ERROR("container %s: rootfs manifest sha256:%s refused by the verifier (%s): "
                  "sent inline in evidence if it fits", j->id, hex, strerror(-r));
        return 1;
    }
    LOG_ERROR("container %s: rootfs manifest sha256:%s not uploaded: %s", j->id, hex,
              strerror(-r));
    return r;
}

static int node_mode(const struct agent_opts *o)
{
    return !o->host.off && o->host.mode == HOST_MODE_NODE;
}

/* After a restart: which prefix of log PCR 11 of the vTPM holds (the previous monitor may have
 * died between an extend and saving its state). *from gets the number of records it covers;
 * -ENOTRECOVERABLE when no prefix replays to it. */
static int resync(struct attest *a, const cbor_item_t *log, size_t *from)
{
    uint8_t pcrs[VTPM_QUOTE_PCRS][DIGEST_LEN], run[2 * DIGEST_LEN] = { 0 };
    size_t n = cbor_array_size(log);
    long long found = -1;
    int r;

    if ((r = vtpm_read_pcrs(a->tpm, pcrs)) < 0)
        return r;
    for (size_t i = 0; i <= n; i++) {
        const cbor_item_t *rec;
        const uint8_t *d;
        size_t len;
        uint64_t pcr;

        if (!memcmp(run, pcrs[PCR_RUNTIME - 8], DIGEST_LEN))
            found = (long long)i;
        if (i == n)
            break;
        rec = cbor_array_handle(log)[i];
        if (ctl_get_uint(rec, "pcr", &pcr) < 0)
            return -ENOTRECOVERABLE;
        if (pcr != PCR_RUNTIME)
            continue;
        if (ctl_get_bytes(rec, "digest", &d, &len) < 0 || len != DIGEST_LEN)
            return -ENOTRECOVERABLE;
        memcpy(run + DIGEST_LEN, d, DIGEST_LEN);
        if (digest_buf(run, sizeof(run), run) < 0)
            return -EIO;
    }
    if (found < 0)
        return -ENOTRECOVERABLE;
    *from = (size_t)found;
    return 0;
}

/* Extends j's new records, quotes, sends. *done gets the records extended. 0, -EACCES on a
 * deny, -ENOTRECOVERABLE when an extend failed (PCR 11 no longer follows the log), -ENOENT
 * when the vTPM or its AK is gone, another -errno (try again later). */
static int send_job(struct mon *m, struct job *j, size_t *done)
{
    struct mgr_client mgr = { .run_dir = m->o->run_dir, .timeout_ms = RTMON_STEP_MS };
    struct http_opts ho = { .base_url = m->o->verifier, .ca = m->o->ca, .cert = m->o->cert,
                            .key = m->o->key, .deadline = deadline_now_ms() + RTMON_STEP_MS };
    struct nodemode nm = { .o = m->o, .tab = NULL, .mgr = &mgr, .ho = &ho,
                           .host_registered = &m->host_registered };
    struct noderec_use use = { 0 };
    struct verdict_info vi = { 0 };
    struct evidence e;
    struct attest a;
    uint8_t *nonce = NULL;
    size_t nonce_len = 0, n = cbor_array_size(j->log);
    int inl = 0, rc = attest_open(&a, &mgr, j->vtpm);

    if (rc == 0 && a.ak_created)
        rc = -ENOENT;
    if (rc == 0 && j->resync && (rc = resync(&a, j->log, &j->from)) == 0)
        j->resync = 0;
    for (size_t i = j->from; rc == 0 && i < n; i++) {
        const uint8_t *d;
        size_t len;

        if (ctl_get_bytes(cbor_array_handle(j->log)[i], "digest", &d, &len) < 0 ||
            len != DIGEST_LEN || vtpm_extend(a.tpm, PCR_RUNTIME, d) < 0)
            rc = -ENOTRECOVERABLE;
        else
            (*done)++;
    }
    if (rc == 0) {
        a.log.records = cbor_incref(j->log);
        a.log.count = n;
        if (node_mode(m->o))
            rc = nodemode_ensure(&nm, 0, RTMON_STEP_MS, 1, &use);
    }
    if (rc == 0 && (inl = manifest_at_verifier(m, j)) < 0)
        rc = inl;
    if (rc == 0) {
        ho.deadline = deadline_now_ms() + RTMON_STEP_MS; /* the upload had its own */
        rc = verifier_nonce(&ho, &nonce, &nonce_len);
    }
    if (rc == 0) {
        rc = attest_quote(&a, j->id, nonce, nonce_len, &e);
        e.registration = j->reg;
        /* inline only when it leaves room for the rest (the start log, the chain) */
        if (inl && j->manifest.len <= EVIDENCE_MAX_SIZE - RTMON_INLINE_SLACK)
            e.manifest = j->manifest;
        else if (inl)
            LOG_ERROR("container %s: its rootfs manifest (%zu bytes) is neither at the "
                      "verifier nor small enough for evidence: the verifier will deny it with "
                      "runtime-manifest-missing", j->id, j->manifest.len);
        if (rc == 0)
            rc = hostev_send_container(&mgr, &m->o->host, &e, &ho, &vi);
        if (rc == -EACCES && vi.node_deny && node_mode(m->o))
            nodemode_drop(&nm, &use);
        /* the verifier lost the manifest it had (a new database): upload it again, once (not
         * when this job just put it there: instances on separate databases would loop) */
        if (rc == -EACCES && vi.manifest_missing && !inl && forget_known(m, j->mfdigest) &&
            !j->mf_asked)
            j->mf_retry = 1;
    }
    free(nonce);
    attest_close(&a);
    return rc;
}

static void *worker_main(void *arg)
{
    struct mon *m = arg;

    /* every verifier call of this thread goes to the sandboxed network process */
    verifier_use_proxy(m->net);

    pthread_mutex_lock(&m->mu);
    while (!m->stopping) {
        struct ctr *c = NULL;
        struct job j = { 0 };
        int64_t t0;
        size_t done;
        int rc;

        for (int i = 0; i < RTMON_MAX_CTRS && !c; i++)
            if (m->ctrs[i] && m->ctrs[i]->pending && !m->ctrs[i]->inflight &&
                !m->ctrs[i]->broken)
                c = m->ctrs[i];
        if (!c) {
            pthread_cond_wait(&m->work, &m->mu);
            continue;
        }
        c->pending = 0;
        snprintf(j.id, sizeof(j.id), "%s", c->id);
        snprintf(j.vtpm, sizeof(j.vtpm), "%s", c->vtpm);
        snprintf(j.reg, sizeof(j.reg), "%s", c->reg);
        j.log = cbor_copy(c->log.records);
        j.from = c->extended;
        j.resync = c->resync;
        j.saved = c->saved;
        j.manifest = (struct bytes){ .p = c->img->mf.p, .len = c->img->mf.len };
        memcpy(j.mfdigest, c->img->digest, DIGEST_LEN);
        c->inflight = 1; /* reap() leaves it */
        pthread_mutex_unlock(&m->mu);
        t0 = deadline_now_ms();
        done = 0;
        /* the state first: a record in the vTPM is always in the saved log */
        if (j.log && cbor_array_size(j.log) != j.saved && save_state(m, c, j.log) == 0)
            j.saved = cbor_array_size(j.log);
        else if (j.log && cbor_array_size(j.log) != j.saved)
            LOG_ERROR("container %s: its state cannot be saved in %s: a restarted monitor "
                      "would not watch it again", j.id, m->o->state_dir);
        rc = j.log ? send_job(m, &j, &done) : -ENOMEM;
        if (rc == 0)
            LOG_INFO("container %s: runtime evidence allowed (%lld ms)", j.id,
                     (long long)(deadline_now_ms() - t0));
        else if (rc == -EACCES && j.mf_retry)
            LOG_WARN("container %s: runtime evidence denied: the verifier has no manifest of "
                     "its rootfs any more; uploading it again", j.id);
        else if (rc == -EACCES)
            LOG_WARN("container %s: runtime evidence denied: the verifier revoked it (%lld ms)",
                     j.id, (long long)(deadline_now_ms() - t0));
        else
            LOG_ERROR("container %s: runtime evidence failed: %s", j.id, strerror(-rc));
        if (j.log)
            cbor_decref(&j.log);
        pthread_mutex_lock(&m->mu);
        c->inflight = 0;
        c->extended = j.from + done; /* only the worker extends */
        c->resync = j.resync;
        c->saved = j.saved;
        if (rc == -ENOTRECOVERABLE || rc == -ENOENT || rc == -EMSGSIZE) {
            /* extends may have been lost, the vTPM is gone, or the evidence (log and
             * inline manifest) is over the verifier's 1 MiB: nothing more is sent, and the
             * verifier revokes the container when its re-attestation is missed */
            c->broken = 1;
            LOG_ERROR("container %s: %s: its evidence is not sent again", j.id,
                      rc == -ENOTRECOVERABLE ? "PCR 11 may not follow its log any more"
                      : rc == -ENOENT ? "its vTPM or AK is gone" : "evidence over 1 MiB");
        } else if (((rc < 0 && rc != -EACCES) || j.mf_retry) && !c->gone) {
            c->pending = 1; /* the records are in the vTPM: send again later */
            pthread_mutex_unlock(&m->mu);
            sleep(1);
            pthread_mutex_lock(&m->mu);
        }
    }
    pthread_mutex_unlock(&m->mu);
    http_thread_cleanup();
    return NULL;
}

/* ---- main loop ------------------------------------------------------------------------- */

static int listen_on(const char *path)
{
    struct sockaddr_un sa;
    int fd;

    if ((fd = unix_socket_for(path, &sa)) < 0)
        return fd;
    unlink(path);
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || chmod(path, 0600) < 0 ||
        listen(fd, 64) < 0) {
        int r = -errno;
        close(fd);
        return r;
    }
    return fd;
}

/*
 * After the network process is forked (which needs CAP_SETUID, CAP_SETGID, CAP_SETPCAP for
 * its drop), the monitor keeps only what its work needs, of what it has: CAP_SYS_ADMIN
 * (FAN_MARK_FILESYSTEM marks at each registration), CAP_SYS_PTRACE (/proc/PID/root, mountinfo
 * and cgroup of the containers' processes), CAP_DAC_READ_SEARCH and CAP_DAC_OVERRIDE (the
 * vTPM sockets, its state and cache files), CAP_KILL (its network process, uid 65534, at the
 * stop). The bounding set too when CAP_SETPCAP allows. Before any thread starts: capabilities
 * are per thread and inherited. 0 or -1.
 */
static int drop_caps(void)
{
    static const int keep[] = { CAP_SYS_ADMIN, CAP_SYS_PTRACE, CAP_DAC_READ_SEARCH,
                                CAP_DAC_OVERRIDE, CAP_KILL };
    int have[sizeof(keep) / sizeof(keep[0])], bounds;

    if (capng_get_caps_process() < 0)
        return -1;
    for (size_t i = 0; i < sizeof(keep) / sizeof(keep[0]); i++)
        have[i] = capng_have_capability(CAPNG_PERMITTED, (unsigned)keep[i]);
    bounds = capng_have_capability(CAPNG_EFFECTIVE, CAP_SETPCAP);
    capng_clear(CAPNG_SELECT_BOTH);
    for (size_t i = 0; i < sizeof(keep) / sizeof(keep[0]); i++)
        if (have[i] && capng_update(CAPNG_ADD, CAPNG_EFFECTIVE | CAPNG_PERMITTED |
                                    CAPNG_BOUNDING_SET, (unsigned)keep[i]) < 0)
            return -1;
    if (bounds && capng_apply(CAPNG_SELECT_BOUNDS) < 0)
        return -1;
    return capng_apply(CAPNG_SELECT_CAPS) < 0 ? -1 : 0;
}

int rtmon_run(const struct agent_opts *o)
{
    struct mon *m = calloc(1, sizeof(*m));
    struct sigaction sa = { .sa_handler = on_stop };
    pthread_t worker, registrar;
    int64_t next_reap = 0;
    int started = 0, reg_started = 0, rc = 1, r, socklock = -1;
    char lock[PATH_MAX];

    if (!m)
        return 1;
    /* A registration's multi-MB buffers (read on the registration thread, freed once handed
     * over) always mapped on their own and unmapped when freed: with glibc's threshold left to
     * adapt, the second one came from that thread's arena, which kept its 13 MB after free. */
    mallopt(M_MMAP_THRESHOLD, 1 << 20);
    m->o = o;
    m->lfd = -1;
    m->lockfd = -1;
    m->net = -1;
    m->fan = -1;
    m->regfd = -1;
    m->reg_cur = -1;
    sdnotify_init(); /* before anything else: later only a write(2) */
    /* One monitor per socket: the lock before the socket is touched, so that a second one
     * fails naming it and leaves the first one's socket alone. */
    if (snprintf(lock, sizeof(lock), "%s.lock", o->monitor_socket) >= (int)sizeof(lock)) {
        LOG_ERROR("monitor: --monitor-socket %s: path too long", o->monitor_socket);
        free(m);
        return 1;
    }
    if ((socklock = runlock_take(lock, "the monitor socket")) < 0) {
        free(m);
        return 1;
    }
    pthread_mutex_init(&m->mu, NULL);
    pthread_cond_init(&m->work, NULL);
    pthread_mutex_init(&m->imu, NULL);
    pthread_mutex_init(&m->regmu, NULL);
    pthread_cond_init(&m->regcv, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    m->fan = fanotify_init(FAN_CLASS_CONTENT | FAN_CLOEXEC | FAN_NONBLOCK,
                           O_RDONLY | O_LARGEFILE | O_CLOEXEC);
    if (m->fan < 0) {
        LOG_ERROR("monitor: fanotify_init(FAN_CLASS_CONTENT): %s (needs CAP_SYS_ADMIN)",
                  strerror(errno));
        goto out;
    }
    if ((m->lockfd = rtstate_lock(o->state_dir)) < 0) {
        LOG_ERROR("monitor: --state-dir %s: %s", o->state_dir,
                  m->lockfd == -EWOULDBLOCK ? "another monitor holds it"
                  : m->lockfd == -EPERM ? "not a directory of ours only (0700)"
                  : strerror(-m->lockfd));
        goto out;
    }
    rtstate_each(o->state_dir, ".ctr", resume_one, m);
    rtstate_each(o->state_dir, ".img", sweep_image, m);
    if ((m->lfd = listen_on(o->monitor_socket)) < 0) {
        LOG_ERROR("monitor: cannot listen on %s: %s", o->monitor_socket, strerror(-m->lfd));
        goto out;
    }
    /* The verifier's answers (HTTP, JSON, CBOR) are parsed in a child as `attest-agent
     * serve`'s are: uid 65534, no capabilities, a syscall allow-list (netproxy.c). */
    if ((r = netproxy_spawn(o, 1, &m->net, &m->netpid)) < 0) {
        LOG_ERROR("monitor: network process: %s", strerror(-r));
        goto out;
    }
    if (drop_caps() < 0) {
        LOG_ERROR("monitor: cannot drop the capabilities it does not need");
        goto out;
    }
    if (pthread_create(&worker, NULL, worker_main, m) != 0)
        goto out;
    started = 1;
    if ((m->regfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0 ||
        pthread_create(&registrar, NULL, reg_main, m) != 0) {
        LOG_ERROR("monitor: cannot start the registration thread");
        goto out;
    }
    reg_started = 1;
    LOG_INFO("monitor: listening on %s (runtime records in PCR %d)", o->monitor_socket,
             PCR_RUNTIME);
    sdnotify("READY=1");
    while (!stop_flag) {
        struct pollfd p[2] = { { .fd = m->fan, .events = POLLIN },
                               { .fd = m->regfd, .events = POLLIN } };

        if (poll(p, 2, 500) < 0 && errno != EINTR)
            break;
        if (p[0].revents & POLLIN)
            read_events(m);
        if (p[1].revents & POLLIN)
            serve_client(m);
        reg_cut_late(m);
        if (deadline_now_ms() >= next_reap) {
            reap(m);
            next_reap = deadline_now_ms() + 1000;
        }
        if (netproxy_failed()) {
            LOG_ERROR("monitor: the network process broke its protocol or is gone: stopping "
                      "(its containers are kept in %s for the next monitor)", o->state_dir);
            break;
        }
    }
    rc = stop_flag ? 0 : 1;
out:
    sdnotify("STOPPING=1");
    if (reg_started) { /* a client being read is cut short; one handed over is dropped */
        pthread_mutex_lock(&m->regmu);
        m->reg_stop = 1;
        if (m->reg_cur >= 0)
            shutdown(m->reg_cur, SHUT_RDWR);
        pthread_cond_signal(&m->regcv);
        pthread_mutex_unlock(&m->regmu);
        pthread_join(registrar, NULL);
        reg_free(m->reg);
        m->reg = NULL;
    }
    if (m->regfd >= 0)
        close(m->regfd);
    if (started) {
        pthread_mutex_lock(&m->mu);
        m->stopping = 1;
        pthread_cond_signal(&m->work);
        pthread_mutex_unlock(&m->mu);
        pthread_join(worker, NULL);
    }
    LOG_INFO("monitor: stopped (%llu events, %llu hashed, %llu from the cache, %llu denied)",
             m->events, m->misses, m->hits, m->denied);
    for (int i = 0; i < RTMON_MAX_CTRS; i++)
        if (m->ctrs[i])
            ctr_free(m, m->ctrs[i]);
    if (m->lfd >= 0) {
        close(m->lfd);
        unlink(o->monitor_socket);
    }
    if (m->fan >= 0)
        close(m->fan); /* pending permission events are allowed by the kernel */
    if (m->net >= 0) {
        close(m->net); /* the network process sees EOF and ends */
        for (int i = 0; m->netpid > 0 && i < 40; i++, usleep(25000))
            if (waitpid(m->netpid, NULL, WNOHANG) != 0)
                m->netpid = 0;
        if (m->netpid > 0 && kill(m->netpid, SIGKILL) == 0) /* ours, by its pid */
            for (int i = 0; m->netpid > 0 && i < 40; i++, usleep(25000))
                if (waitpid(m->netpid, NULL, WNOHANG) != 0)
                    m->netpid = 0;
        /* otherwise it ends with this process (PR_SET_PDEATHSIG) */
    }
    if (m->lockfd >= 0)
        close(m->lockfd); /* the state files stay: the next monitor watches them again */
    close(socklock); /* after the socket is gone */
    free(m);
    return rc;
}
