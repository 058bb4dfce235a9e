/* SPDX-License-Identifier: BSD-3-Clause */
/* Up-front checks of paths and URLs given as options, each error naming the option and value. */
#include "precheck.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"

static int bad(const char *opt, const char *path, const char *why)
{
    LOG_ERROR("%s %s: %s", opt, path, why);
    return -1;
}

static int stat_kind(const char *opt, const char *path, struct stat *st)
{
    if (!path || !*path)
        return bad(opt, "''", "empty");
    if (stat(path, st) != 0)
        return bad(opt, path, strerror(errno));
    return 0;
}

int precheck_readable(const char *opt, const char *path)
{
    struct stat st;

    if (stat_kind(opt, path, &st) < 0)
        return -1;
    if (!S_ISREG(st.st_mode))
        return bad(opt, path, "not a regular file");
    if (access(path, R_OK) != 0)
        return bad(opt, path, strerror(errno));
    return 0;
}

int precheck_executable(const char *opt, const char *path)
{
    struct stat st;

    if (stat_kind(opt, path, &st) < 0)
        return -1;
    if (!S_ISREG(st.st_mode))
        return bad(opt, path, "not a regular file");
    if (access(path, X_OK) != 0)
        return bad(opt, path, "not executable");
    return 0;
}

/* The directory part of path ("." when none). */
static void parent_of(const char *path, char *out, size_t n)
{
    const char *slash = strrchr(path, '/');
    size_t len = slash ? (size_t)(slash - path) : 0;

    if (!slash)
        snprintf(out, n, ".");
    else if (len == 0)
        snprintf(out, n, "/");
    else
        snprintf(out, n, "%.*s", (int)len, path);
}

static int writable_dir(const char *opt, const char *path, const char *dir, const char *what)
{
    struct stat st;
    char msg[PATH_MAX + 64];

    if (stat(dir, &st) != 0) {
        snprintf(msg, sizeof(msg), "%s %s: %s", what, dir, strerror(errno));
        return bad(opt, path, msg);
    }
    if (!S_ISDIR(st.st_mode)) {
        snprintf(msg, sizeof(msg), "%s %s is not a directory", what, dir);
        return bad(opt, path, msg);
    }
    if (access(dir, W_OK | X_OK) != 0) {
        snprintf(msg, sizeof(msg), "%s %s is not writable: %s", what, dir, strerror(errno));
        return bad(opt, path, msg);
    }
    return 0;
}

int precheck_dir(const char *opt, const char *path)
{
    char parent[PATH_MAX];
    struct stat st;

    if (!path || !*path)
        return bad(opt, "''", "empty");
    if (stat(path, &st) == 0)
        return writable_dir(opt, path, path, "the directory");
    if (errno != ENOENT)
        return bad(opt, path, strerror(errno));
    parent_of(path, parent, sizeof(parent));
    return writable_dir(opt, path, parent, "missing, and its parent");
}

int precheck_writable_file(const char *opt, const char *path)
{
    char parent[PATH_MAX];
    struct stat st;

    if (!path || !*path)
        return bad(opt, "''", "empty");
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
        return bad(opt, path, "is a directory");
    parent_of(path, parent, sizeof(parent));
    return writable_dir(opt, path, parent, "its directory");
}

int precheck_socket(const char *opt, const char *path)
{
    struct stat st;

    if (stat_kind(opt, path, &st) < 0)
        return -1;
    return S_ISSOCK(st.st_mode) ? 0 : bad(opt, path, "not a socket");
}

int precheck_url(const char *opt, const char *url)
{
    const char *host;

    if (!url || !*url)
        return bad(opt, "''", "empty");
    if (!strncmp(url, "https://", 8))
        host = url + 8;
    else if (!strncmp(url, "http://", 7))
        host = url + 7;
    else
        return bad(opt, url, "not an http:// or https:// URL");
    if (!*host || *host == '/' || *host == ':')
        return bad(opt, url, "no host in the URL");
    return 0;
}
