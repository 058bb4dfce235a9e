/* SPDX-License-Identifier: BSD-3-Clause */
/* Settings checked before a daemon makes or removes anything: each check logs an error naming
 * the option and the path at fault and returns -1 (0 when fine). */
#ifndef VTPM_PRECHECK_H
#define VTPM_PRECHECK_H

/* A regular file this process can read (certificates, keys, policies). */
int precheck_readable(const char *opt, const char *path);
/* A regular file this process can execute (a worker binary). */
int precheck_executable(const char *opt, const char *path);
/* A directory this process can write into, or, when missing, one it can make (its parent
 * exists and is writable). */
int precheck_dir(const char *opt, const char *path);
/* A file this process can write: the file itself when it exists, else its directory. */
int precheck_writable_file(const char *opt, const char *path);
/* A Unix socket that exists (a daemon's, to connect to). */
int precheck_socket(const char *opt, const char *path);
/* An http:// or https:// URL with a host. */
int precheck_url(const char *opt, const char *url);

#endif
