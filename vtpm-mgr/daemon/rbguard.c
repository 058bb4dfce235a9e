/* SPDX-License-Identifier: BSD-3-Clause */
/* Rollback detection in the daemon: the guard that reads, commits and counts the state
 * manifest with the host TPM's counter, and --accept-state (rollback.h). */
#include "rollback.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uuid/uuid.h>

#include "fileio.h"
#include "log.h"
#include "secmem.h"
#include "vtpm_ipc.h"

#define MF_MAX_FILE (24u + RB_MAX_ENTRIES * 40u + 32u)

static int read_manifest(struct rb_guard *g, int *have)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    int r = file_read_all(g->state_fd, RB_MANIFEST_FILE, MF_MAX_FILE, &buf, &len);

    *have = 0;
    if (r == -ENOENT)
        return 0;
    if (r == 0)
        r = rb_manifest_decode(buf, len, g->key, &g->mf);
    free(buf);
    if (r == 0)
        *have = 1;
    return r;
}

static void freeze(struct rb_guard *g, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void freeze(struct rb_guard *g, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(g->why, sizeof(g->why), fmt, ap);
    va_end(ap);
    g->frozen = 1;
    LOG_ERROR("rollback check: %s; no vTPM is served (docs/operations.md, 'Rolled-back state')",
              g->why);
}

static int start_fresh(struct rb_guard *g, uint32_t index)
{
    int r = hosttpm_counter_create(g->host, index, &g->counter);

    if (r)
        return r;
    rb_manifest_free(&g->mf);
    g->mf.nv_index = index;
    g->mf.counter = g->counter;
    g->adopt = 1;
    g->dirty = 1;
    LOG_INFO("rollback counter 0x%08x at %llu: starting a new state manifest", index,
             (unsigned long long)g->counter);
    return 0;
}

static int decide(struct rb_guard *g, uint32_t index, int have_mf, int crc, int have_vtpms)
{
    switch (rb_check_dir(have_mf, g->mf.counter, crc, g->counter, have_vtpms)) {
    case RB_DIR_OK:
        return 0;
    case RB_DIR_UNFINISHED:
        g->unsynced = 1;
        LOG_INFO("finishing the state commit that a crash interrupted (counter %llu)",
                 (unsigned long long)g->mf.counter);
        return 0;
    case RB_DIR_FRESH:
        return start_fresh(g, index);
    case RB_DIR_ROLLED_BACK:
        freeze(g, "%s is of counter %llu but the host TPM's counter 0x%08x is at %llu: "
               "the state directory was rolled back", RB_MANIFEST_FILE,
               (unsigned long long)g->mf.counter, index, (unsigned long long)g->counter);
        return 0;
    case RB_DIR_NO_MANIFEST:
        freeze(g, "%s is missing while the host TPM's counter 0x%08x exists: the manifest was "
               "removed or the state directory is older than the counter", RB_MANIFEST_FILE,
               index);
        return 0;
    case RB_DIR_NO_COUNTER:
        freeze(g, "the host TPM's rollback counter 0x%08x is gone (host TPM cleared or NV "
               "index deleted): the state cannot be proven the latest", index);
        return 0;
    case RB_DIR_COUNTER_BEHIND:
    default:
        freeze(g, "the host TPM's counter 0x%08x (%llu) is behind %s (%llu): another counter "
               "or another host TPM", index, (unsigned long long)g->counter, RB_MANIFEST_FILE,
               (unsigned long long)g->mf.counter);
        return 0;
    }
}

int rb_guard_open(struct rb_guard *g, struct hosttpm *h, int state_fd, uint32_t index,
                  const uint8_t master[STATE_KEY_LEN], int have_vtpms)
{
    int have_mf = 0, crc, r;

    memset(g, 0, sizeof(*g));
    g->host = h;
    g->state_fd = state_fd;
    if (state_derive_manifest_key(master, g->key) != 0)
        return -EIO;
    r = read_manifest(g, &have_mf);
    if (r == -EBADMSG) {
        freeze(g, "%s fails its authentication check", RB_MANIFEST_FILE);
        return 0;
    }
    if (r && r != -ENOMEM) {
        freeze(g, "%s unreadable: %s", RB_MANIFEST_FILE, strerror(-r));
        return 0;
    }
    if (r)
        return r;
    if (have_mf && g->mf.nv_index != index) {
        freeze(g, "%s belongs to the counter at NV index 0x%08x, not 0x%08x",
               RB_MANIFEST_FILE, g->mf.nv_index, index);
        return 0;
    }
    crc = hosttpm_counter_read(h, index, &g->counter);
    if (crc && crc != -ENOENT && crc != -ENODATA)
        return crc;
    return decide(g, index, have_mf, crc, have_vtpms);
}

void rb_guard_close(struct rb_guard *g)
{
    rb_manifest_free(&g->mf);
    explicit_bzero(g->key, sizeof(g->key));
}

/* Test hook of the commit order (t_mgr_rollback.sh): VTPM_MGR_FAULT=<point> makes the daemon
 * die there, as a kill -9 would, the first time a commit reaches that point once it serves. */
static void fault_point(const struct rb_guard *g, const char *point)
{
    const char *f = getenv("VTPM_MGR_FAULT");

    if (g->serving && f && !strcmp(f, point)) {
        LOG_WARN("VTPM_MGR_FAULT=%s: dying here", point);
        _exit(137);
    }
}

static int count_once(struct rb_guard *g)
{
    int r = hosttpm_counter_increment(g->host, g->mf.nv_index, NULL);

    if (r) {
        LOG_ERROR("rollback counter 0x%08x: increment failed: %s", g->mf.nv_index,
                  strerror(-r));
        return r;
    }
    g->counter++;
    g->unsynced = 0;
    return 0;
}

static int write_manifest(struct rb_guard *g)
{
    uint8_t *buf;
    size_t len;
    int r = rb_manifest_encode(&g->mf, g->key, &buf, &len);

    if (r == 0) {
        r = file_write_atomic(g->state_fd, RB_MANIFEST_FILE, buf, len, 0600);
        free(buf);
    }
    if (r)
        LOG_ERROR("writing %s failed: %s", RB_MANIFEST_FILE, strerror(-r));
    return r;
}

int rb_guard_commit(struct rb_guard *g)
{
    int r;

    if (g->frozen)
        return -EROFS;
    /* Never two manifests of one counter value: an earlier one would be a valid rollback. */
    if (g->unsynced && (r = count_once(g)) != 0)
        return r;
    if (!g->dirty)
        return 0;
    fault_point(g, "before-manifest");
    g->mf.counter = g->counter + 1;
    r = write_manifest(g);
    if (r)
        return r;
    g->unsynced = 1;
    g->dirty = 0;
    fault_point(g, "before-increment");
    r = count_once(g);
    if (r == 0)
        fault_point(g, "after-increment");
    return r;
}

/* --- --accept-state ------------------------------------------------------------------------ */

/* Adds one vTPM directory's file generations to m. */
static int accept_one(struct rb_manifest *m, int vtpm_fd, const char *name,
                      const uint8_t master[STATE_KEY_LEN])
{
    uint8_t key[STATE_KEY_LEN], *pt = NULL;
    size_t ptlen = 0;
    uint64_t gen = 0;
    struct rb_entry *e;
    uuid_t u;
    int dfd, r;

    if (uuid_parse(name, u) != 0)
        return 0;
    e = rb_add(m, u);
    if (!e)
        return -ENOMEM;
    dfd = openat(vtpm_fd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
    if (dfd < 0)
        return -errno;
    r = state_derive_key(master, u, key);
    if (r == 0 && state_read(dfd, key, u, VTPM_STATE_PERM, &gen, &pt, &ptlen) == 0)
        e->perm_gen = gen;
    secure_free(pt, ptlen);
    pt = NULL;
    if (r == 0 && state_read(dfd, key, u, VTPM_STATE_VOL, &gen, &pt, &ptlen) == 0) {
        e->vol_gen = gen;
        e->flags |= RB_VOL_LIVE;
    }
    secure_free(pt, ptlen);
    explicit_bzero(key, sizeof(key));
    close(dfd);
    LOG_INFO("accepted vtpm %s as it is (permanent state generation %llu)", name,
             (unsigned long long)e->perm_gen);
    return r;
}

int rb_accept_state(struct hosttpm *h, int state_fd, int vtpm_fd, uint32_t index,
                    const uint8_t master[STATE_KEY_LEN])
{
    struct rb_guard g;
    int fd = dup(vtpm_fd), r = 0;
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    struct dirent *de;

    if (!d)
        return -errno;
    memset(&g, 0, sizeof(g));
    g.host = h;
    g.state_fd = state_fd;
    r = state_derive_manifest_key(master, g.key);
    if (r == 0)
        r = hosttpm_counter_create(h, index, &g.counter);
    g.mf.nv_index = index;
    while (r == 0 && (de = readdir(d)) != NULL)
        if (de->d_name[0] != '.')
            r = accept_one(&g.mf, vtpm_fd, de->d_name, master);
    closedir(d);
    g.dirty = 1;
    if (r == 0)
        r = rb_guard_commit(&g);
    rb_guard_close(&g);
    return r;
}
