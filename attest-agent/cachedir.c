/* SPDX-License-Identifier: BSD-3-Clause */
/* Private cache directory helpers shared by the runtime digest cache and the node-verdict
 * record: whoever could write there could already replace what the entries describe. */
#include "cachedir.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"

int cachedir_private(int fd, mode_t type)
{
    struct stat st;

    return fstat(fd, &st) == 0 && (st.st_mode & S_IFMT) == type && st.st_uid == geteuid() &&
           !(st.st_mode & 077);
}

int cachedir_open(const char *dir, const char *what)
{
    int fd;

    if (mkdir(dir, 0700) < 0 && errno != EEXIST)
        return -1;
    fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd >= 0 && !cachedir_private(fd, S_IFDIR)) {
        LOG_WARN("%s %s is not a private directory of uid %u; not used", what, dir,
                 (unsigned)geteuid());
        close(fd);
        fd = -1;
    }
    return fd;
}

/* Temporary file + rename: a reader sees the old entry or the new one, never a mix. */
int cachedir_store(int dfd, const char *name, const void *buf, size_t len)
{
    char tmp[160];
    int fd, r = 0;

    if (snprintf(tmp, sizeof(tmp), ".%s.%ld", name, (long)gettid()) >= (int)sizeof(tmp))
        return -ENAMETOOLONG;
    fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0)
        return -errno;
    if (write(fd, buf, len) != (ssize_t)len)
        r = -EIO;
    if (close(fd) < 0 && r == 0)
        r = -errno;
    if (r == 0 && renameat(dfd, tmp, dfd, name) < 0)
        r = -errno;
    if (r < 0)
        (void)unlinkat(dfd, tmp, 0);
    return r;
}
