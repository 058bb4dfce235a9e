/* SPDX-License-Identifier: BSD-3-Clause */
/* The runtime monitor's state files: atomic 0600 writes in a locked 0700 directory. */
#include "rtmonstate.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

int rtstate_lock(const char *dir)
{
    char path[PATH_MAX];
    struct stat st;
    int fd;

    if (mkdir(dir, 0700) < 0 && errno != EEXIST)
        return -errno;
    if (lstat(dir, &st) < 0)
        return -errno;
    if (!S_ISDIR(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & 077))
        return -EPERM;
    if (snprintf(path, sizeof(path), "%s/lock", dir) >= (int)sizeof(path))
        return -ENAMETOOLONG;
    if ((fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600)) < 0)
        return -errno;
    if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
        int r = -errno;
        close(fd);
        return r;
    }
    return fd;
}

int rtstate_write(const char *dir, const char *name, const uint8_t *buf, size_t len)
{
    char path[PATH_MAX], tmp[PATH_MAX];
    size_t off = 0;
    int fd, r = 0;

    if (snprintf(path, sizeof(path), "%s/%s", dir, name) >= (int)sizeof(path) ||
        snprintf(tmp, sizeof(tmp), "%s/.%s.tmp", dir, name) >= (int)sizeof(tmp))
        return -ENAMETOOLONG;
    unlink(tmp);
    if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600)) < 0)
        return -errno;
    while (off < len) {
        ssize_t n = write(fd, buf + off, len - off);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            r = n < 0 ? -errno : -EIO;
            break;
        }
        off += (size_t)n;
    }
    /* no fsync: the files describe running containers and vTPMs, which a reboot ends */
    if (close(fd) < 0 && r == 0)
        r = -errno;
    if (r == 0 && rename(tmp, path) < 0)
        r = -errno;
    if (r < 0)
        unlink(tmp);
    return r;
}

int rtstate_read(const char *dir, const char *name, size_t max, uint8_t **buf, size_t *len)
{
    char path[PATH_MAX];
    struct stat st;
    uint8_t *p;
    size_t off = 0;
    int fd, r = 0;

    *buf = NULL;
    *len = 0;
    if (snprintf(path, sizeof(path), "%s/%s", dir, name) >= (int)sizeof(path))
        return -ENAMETOOLONG;
    if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0)
        return -errno;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        r = -EINVAL;
        goto out;
    }
    if ((size_t)st.st_size > max) {
        r = -EFBIG;
        goto out;
    }
    if (!(p = malloc(st.st_size ? (size_t)st.st_size : 1))) {
        r = -ENOMEM;
        goto out;
    }
    while (off < (size_t)st.st_size) {
        ssize_t n = read(fd, p + off, (size_t)st.st_size - off);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        off += (size_t)n;
    }
    if (off != (size_t)st.st_size) {
        free(p);
        r = -EIO;
        goto out;
    }
    *buf = p;
    *len = off;
out:
    close(fd);
    return r;
}

void rtstate_remove(const char *dir, const char *name)
{
    char path[PATH_MAX];

    if (snprintf(path, sizeof(path), "%s/%s", dir, name) < (int)sizeof(path))
        unlink(path);
}

void rtstate_each(const char *dir, const char *suffix, void (*fn)(const char *name, void *arg),
                  void *arg)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    size_t sl = strlen(suffix);

    if (!d)
        return;
    while ((e = readdir(d))) {
        size_t n = strlen(e->d_name);

        if (e->d_name[0] != '.' && n > sl && !strcmp(e->d_name + n - sl, suffix))
            fn(e->d_name, arg);
    }
    closedir(d);
}
