/* SPDX-License-Identifier: BSD-3-Clause */
/* Durable file operations: atomic replace with fsync, bounded whole-file reads. */
#include "fileio.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int write_full(int fd, const uint8_t *p, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

int dir_sync(int dirfd)
{
    int fd = dirfd, r;

    if (dirfd == AT_FDCWD) {
        fd = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
            return -errno;
    }
    r = fsync(fd) == 0 ? 0 : -errno;
    if (fd != dirfd)
        close(fd);
    return r;
}

int file_write_atomic(int dirfd, const char *name, const void *data, size_t len, mode_t mode)
{
    char tmp[256];
    int fd, r;

    if (snprintf(tmp, sizeof(tmp), ".%s.tmp", name) >= (int)sizeof(tmp))
        return -ENAMETOOLONG;
    fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
    if (fd < 0)
        return -errno;
    r = write_full(fd, data, len);
    if (r == 0 && fdatasync(fd) != 0)
        r = -errno;
    if (close(fd) != 0 && r == 0)
        r = -errno;
    if (r == 0 && renameat(dirfd, tmp, dirfd, name) != 0)
        r = -errno;
    if (r != 0) {
        unlinkat(dirfd, tmp, 0);
        return r;
    }
    return dir_sync(dirfd);
}

static int read_fd_all(int fd, size_t maxlen, uint8_t **data, size_t *len)
{
    struct stat st;
    uint8_t *buf;
    size_t got = 0;

    if (fstat(fd, &st) != 0)
        return -errno;
    if (!S_ISREG(st.st_mode))
        return -EINVAL;
    if ((size_t)st.st_size > maxlen)
        return -EFBIG;
    /* One spare byte: callers reading PEM text get it NUL-terminated (not counted in len). */
    buf = malloc((size_t)st.st_size + 1);
    if (!buf)
        return -ENOMEM;
    while (got < (size_t)st.st_size) {
        ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            free(buf);
            return n < 0 ? -errno : -EIO;
        }
        got += (size_t)n;
    }
    buf[got] = '\0';
    *data = buf;
    *len = got;
    return 0;
}

int file_read_all(int dirfd, const char *name, size_t maxlen, uint8_t **data, size_t *len)
{
    return file_read_all_flags(dirfd, name, O_NOFOLLOW, maxlen, data, len);
}

int file_read_all_flags(int dirfd, const char *name, int flags, size_t maxlen, uint8_t **data,
                        size_t *len)
{
    int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | flags);
    int r;

    if (fd < 0)
        return -errno;
    r = read_fd_all(fd, maxlen, data, len);
    close(fd);
    return r;
}

int dir_remove_tree(int parent, const char *name)
{
    int fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
    DIR *d;
    struct dirent *e;
    int r = 0;

    if (fd < 0)
        return errno == ENOTDIR ? (unlinkat(parent, name, 0) ? -errno : 0) : -errno;
    d = fdopendir(fd);
    if (!d) {
        close(fd);
        return -errno;
    }
    while ((e = readdir(d)) != NULL) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        if (e->d_type == DT_DIR)
            r = dir_remove_tree(dirfd(d), e->d_name);
        else if (unlinkat(dirfd(d), e->d_name, 0) != 0)
            r = -errno;
        if (r)
            break;
    }
    closedir(d);
    if (r == 0 && unlinkat(parent, name, AT_REMOVEDIR) != 0)
        r = -errno;
    return r;
}

int dir_ensure(const char *path, mode_t mode)
{
    struct stat st;

    if (mkdir(path, mode) == 0)
        return 0;
    if (errno != EEXIST)
        return -errno;
    if (stat(path, &st) != 0)
        return -errno;
    return S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
}

/* Doubles buf up to max + 1 bytes: one byte over max tells a file that is too large. */
static int grow(uint8_t **buf, size_t *cap, size_t max)
{
    size_t ncap = *cap ? *cap * 2 : 65536;
    uint8_t *nb;

    if (ncap > max + 1)
        ncap = max + 1;
    if (ncap <= *cap)
        return -EFBIG;
    if (!(nb = realloc(*buf, ncap)))
        return -ENOMEM;
    *buf = nb;
    *cap = ncap;
    return 0;
}

static int read_to_eof(int fd, size_t max, uint8_t **out, size_t *len)
{
    uint8_t *buf = NULL;
    size_t cap = 0, n = 0;
    ssize_t k = 1;
    int r = 0;

    while (r == 0 && k != 0) {
        if (n == cap && (r = grow(&buf, &cap, max)) < 0)
            break;
        k = read(fd, buf + n, cap - n);
        if (k < 0 && errno != EINTR)
            r = -errno;
        else if (k > 0)
            n += (size_t)k;
    }
    if (r == 0 && n > max)
        r = -EFBIG;
    if (r < 0) {
        free(buf);
        return r;
    }
    *out = buf;
    *len = n;
    return 0;
}

int file_read_stream(const char *path, size_t maxlen, uint8_t **data, size_t *len)
{
    struct stat st;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY), r;

    *data = NULL;
    *len = 0;
    if (fd < 0)
        return -errno;
    r = fstat(fd, &st) < 0 ? -errno : S_ISREG(st.st_mode) ? read_to_eof(fd, maxlen, data, len) : -EINVAL;
    close(fd);
    return r;
}
