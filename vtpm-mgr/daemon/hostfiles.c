/* SPDX-License-Identifier: BSD-3-Clause */
/* Whole-file reads and atomic (temp file + fsync + rename) writes in the daemon's host directory. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hosttpm_int.h"
#include "log.h"

static int write_all(int fd, const void *data, size_t len)
{
    const uint8_t *p = data;

    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

int hostfile_write(int dirfd, const char *name, const void *data, size_t len, mode_t mode)
{
    char tmp[256];
    int fd = -1, r;

    if (snprintf(tmp, sizeof(tmp), ".%s.tmp.%ld", name, (long)getpid()) >= (int)sizeof(tmp))
        return -ENAMETOOLONG;
    (void)unlinkat(dirfd, tmp, 0);
    fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
    if (fd < 0) {
        r = -errno;
        LOG_ERROR("cannot create %s: %s", tmp, strerror(errno));
        return r;
    }
    r = write_all(fd, data, len);
    if (r == 0 && fsync(fd) < 0)
        r = -errno;
    if (close(fd) < 0 && r == 0)
        r = -errno;
    if (r == 0 && renameat(dirfd, tmp, dirfd, name) < 0)
        r = -errno;
    if (r < 0) {
        LOG_ERROR("cannot write %s: %s", name, strerror(-r));
        (void)unlinkat(dirfd, tmp, 0);
        return r;
    }
    /* The rename is durable only once the directory itself is synced. */
    (void)fsync(dirfd);
    return 0;
}

static int read_fd(int fd, const char *name, uint8_t **data, size_t *len)
{
    struct stat st;
    uint8_t *buf = NULL;
    size_t got = 0;
    int r = -EIO;

    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_size > HF_MAX_SIZE) {
        LOG_ERROR("%s: not a regular file of sane size", name);
        return -EINVAL;
    }
    buf = malloc((size_t)st.st_size + 1);
    if (!buf)
        return -ENOMEM;
    while (got < (size_t)st.st_size) {
        ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            LOG_ERROR("%s: short read", name);
            goto out;
        }
        got += (size_t)n;
    }
    buf[got] = 0; /* convenience for PEM text; not counted in len */
    *data = buf;
    *len = got;
    buf = NULL;
    r = 0;
out:
    free(buf);
    return r;
}

static int read_at(int dirfd, const char *name, int flags, uint8_t **data, size_t *len)
{
    int fd, r;

    fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | flags);
    if (fd < 0)
        return -errno;
    r = read_fd(fd, name, data, len);
    close(fd);
    return r;
}

int hostfile_read(int dirfd, const char *name, uint8_t **data, size_t *len)
{
    return read_at(dirfd, name, O_NOFOLLOW, data, len);
}

/* Configured paths (e.g. the EK CA file) may legitimately be symlinks. */
int hostfile_read_path(const char *path, uint8_t **data, size_t *len)
{
    return read_at(AT_FDCWD, path, 0, data, len);
}

int hostfile_exists(int dirfd, const char *name)
{
    struct stat st;

    return fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0;
}

int hostfile_update(int dirfd, const char *name, const void *data, size_t len, mode_t mode)
{
    uint8_t *old = NULL;
    size_t old_len = 0;
    int same;

    if (hostfile_read(dirfd, name, &old, &old_len) < 0)
        return hostfile_write(dirfd, name, data, len, mode);
    same = old_len == len && memcmp(old, data, len) == 0;
    free(old);
    return same ? 0 : hostfile_write(dirfd, name, data, len, mode);
}
