/* SPDX-License-Identifier: BSD-3-Clause */
/* The host directory's files: lib/fileio.c's durable I/O with the host layer's logging. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fileio.h"
#include "hosttpm_int.h"
#include "log.h"

int hostfile_write(int dirfd, const char *name, const void *data, size_t len, mode_t mode)
{
    int r = file_write_atomic(dirfd, name, data, len, mode);

    if (r < 0)
        LOG_ERROR("cannot write %s: %s", name, strerror(-r));
    return r;
}

static int read_logged(int dirfd, const char *name, int flags, uint8_t **data, size_t *len)
{
    int r = file_read_all_flags(dirfd, name, flags, HF_MAX_SIZE, data, len);

    if (r == -EFBIG || r == -EINVAL) {
        LOG_ERROR("%s: not a regular file of sane size", name);
        return -EINVAL;
    }
    return r;
}

int hostfile_read(int dirfd, const char *name, uint8_t **data, size_t *len)
{
    return read_logged(dirfd, name, O_NOFOLLOW, data, len);
}

/* Configured paths (e.g. the EK CA file) may legitimately be symlinks. */
int hostfile_read_path(const char *path, uint8_t **data, size_t *len)
{
    return read_logged(AT_FDCWD, path, 0, data, len);
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
