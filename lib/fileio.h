/* SPDX-License-Identifier: BSD-3-Clause */
/* Durable file operations: atomic replace with fsync, bounded whole-file reads. */
#ifndef VTPM_FILEIO_H
#define VTPM_FILEIO_H

#include <stddef.h>
#include <stdint.h>
#include <fcntl.h>
#include <sys/types.h>

/*
 * Writes data to dirfd/name atomically and durably: a temporary file in the same
 * directory, fsync, rename over name, fsync of the directory. After a crash at any
 * point, name holds either the old or the new content, never a mix.
 * Returns 0 or a negative errno.
 */
int file_write_atomic(int dirfd, const char *name, const void *data, size_t len, mode_t mode);

/* Reads dirfd/name whole into a callee-allocated buffer (free()), NUL-terminated beyond len,
 * without following a symlink; files larger than maxlen give -EFBIG. Returns 0 or a negative errno (-ENOENT when absent). */
int file_read_all(int dirfd, const char *name, size_t maxlen, uint8_t **data, size_t *len);

/* The same with extra open flags (0 to follow a symlink at the last component). */
int file_read_all_flags(int dirfd, const char *name, int flags, size_t maxlen, uint8_t **data,
                        size_t *len);

/* Reads the regular file at path to EOF without trusting st_size (securityfs files such as
 * binary_bios_measurements report 0) into a callee-allocated buffer (free()); more than
 * maxlen bytes give -EFBIG. Returns 0 or a negative errno (-ENOENT when absent, -EINVAL when
 * not a regular file). */
int file_read_stream(const char *path, size_t maxlen, uint8_t **data, size_t *len);

/* fsync of a directory, so that renames and unlinks in it are durable. */
int dir_sync(int dirfd);

/* Removes dirfd/name and everything below it (no symlink following). */
int dir_remove_tree(int parent, const char *name);

/* mkdir with mode; an existing directory is fine. Returns 0 or a negative errno. */
int dir_ensure(const char *path, mode_t mode);

#endif
