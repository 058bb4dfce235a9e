/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The runtime binary's digest, cached per (dev, inode, size, mtime, ctime). Why this is safe:
 * the entry is trusted only in a directory and a file owned by the agent's euid (root in a
 * hook) with mode 0700/0600, so whoever can forge an entry can already replace the runtime
 * binary itself; and every in-place write, truncate, chmod, chown or rename of the binary
 * changes its ctime (which no unprivileged call can set back), a new file has a new inode.
 */
#include "digestcache.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cachedir.h"

#define CACHE_MAGIC 0x61616431u /* "aad1" */
#define RACY_SECONDS 2

struct cache_entry {
    uint32_t magic, pad;
    uint64_t dev, ino, size;
    int64_t mtime_s, mtime_ns, ctime_s, ctime_ns;
    uint8_t digest[DIGEST_LEN];
};

static void entry_key(const struct stat *st, struct cache_entry *e)
{
    memset(e, 0, sizeof(*e));
    e->magic = CACHE_MAGIC;
    e->dev = st->st_dev;
    e->ino = st->st_ino;
    e->size = (uint64_t)st->st_size;
    e->mtime_s = st->st_mtim.tv_sec;
    e->mtime_ns = st->st_mtim.tv_nsec;
    e->ctime_s = st->st_ctim.tv_sec;
    e->ctime_ns = st->st_ctim.tv_nsec;
}

static void entry_name(const struct stat *st, char *name, size_t sz)
{
    snprintf(name, sz, "exe-%" PRIx64 "-%" PRIx64, (uint64_t)st->st_dev, (uint64_t)st->st_ino);
}

static int lookup(int dfd, const char *name, const struct cache_entry *want, uint8_t *out)
{
    struct cache_entry e;
    int fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    int hit = 0;

    if (fd < 0)
        return 0;
    if (cachedir_private(fd, S_IFREG) && read(fd, &e, sizeof(e)) == (ssize_t)sizeof(e) &&
        !memcmp(&e, want, offsetof(struct cache_entry, digest))) {
        memcpy(out, e.digest, DIGEST_LEN);
        hit = 1;
    }
    close(fd);
    return hit;
}

static void store(int dfd, const char *name, const struct cache_entry *e)
{
    (void)cachedir_store(dfd, name, e, sizeof(*e));
}

static int racy(const struct stat *st)
{
    struct timespec now;

    return clock_gettime(CLOCK_REALTIME, &now) < 0 || now.tv_sec - st->st_ctim.tv_sec < RACY_SECONDS;
}

int digest_cached_path(const char *cache_dir, const char *path, uint8_t out[DIGEST_LEN])
{
    struct cache_entry e;
    struct stat st;
    char name[64];
    int fd, dfd = -1, r;

    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    r = fstat(fd, &st) < 0 ? -errno : S_ISREG(st.st_mode) ? 0 : -EINVAL;
    if (r < 0)
        goto out;
    entry_key(&st, &e);
    entry_name(&st, name, sizeof(name));
    if (cache_dir && (dfd = cachedir_open(cache_dir, "digest cache")) >= 0 && lookup(dfd, name, &e, out)) {
        r = 0;
        goto out;
    }
    r = digest_fd(fd, e.digest); /* the very file that was fstat()ed */
    if (r == 0)
        memcpy(out, e.digest, DIGEST_LEN);
    if (r == 0 && dfd >= 0 && !racy(&st))
        store(dfd, name, &e);
out:
    if (dfd >= 0)
        close(dfd);
    close(fd);
    return r;
}
