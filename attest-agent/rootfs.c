/* SPDX-License-Identifier: BSD-3-Clause */
/* Root filesystem tree digest: a deterministic walk that hashes metadata and content. */
#include "rootfs.h"

#include <cbor.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "log.h"

struct walk {
    EVP_MD_CTX *ctx;
    struct rootfs_manifest *mf;
    dev_t dev;
    const struct strset *exclude;
    struct strset *setid, *devices;
};

static int excluded(const struct walk *w, const char *path)
{
    for (size_t i = 0; w->exclude && i < w->exclude->n; i++)
        if (!strcmp(w->exclude->v[i], path))
            return 1;
    return 0;
}

static const char *type_name(mode_t m)
{
    switch (m & S_IFMT) {
    case S_IFDIR: return "dir";
    case S_IFREG: return "file";
    case S_IFLNK: return "symlink";
    case S_IFCHR: return "char";
    case S_IFBLK: return "block";
    case S_IFIFO: return "fifo";
    case S_IFSOCK: return "socket";
    default: return "unknown";
    }
}

/* data of an entry: content digest, link target, rdev, or nothing. */
static int entry_data(int dirfd, const char *name, const struct stat *st, uint8_t *buf,
                      size_t *len)
{
    int fd, r;

    *len = 0;
    switch (st->st_mode & S_IFMT) {
    case S_IFREG:
        fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        if (fd < 0)
            return -errno;
        r = digest_fd(fd, buf);
        close(fd);
        *len = DIGEST_LEN;
        return r;
    case S_IFLNK: {
        ssize_t n = readlinkat(dirfd, name, (char *)buf, PATH_MAX);
        if (n < 0)
            return -errno;
        *len = (size_t)n;
        return 0;
    }
    case S_IFCHR:
    case S_IFBLK:
        for (int i = 0; i < 8; i++)
            buf[i] = (uint8_t)((uint64_t)st->st_rdev >> (56 - 8 * i));
        *len = 8;
        return 0;
    default:
        return 0;
    }
}

/* Appends one entry's encoding to the manifest: 0, or -ENOMEM. Past its bound the manifest
 * is dropped (mf->over), the digest goes on. */
static int keep(struct rootfs_manifest *mf, const uint8_t *enc, size_t len)
{
    uint8_t *tmp;
    size_t cap;

    if (mf->over)
        return 0;
    if (len > ROOTFS_MANIFEST_MAX - mf->len) {
        free(mf->p);
        mf->p = NULL;
        mf->len = mf->cap = 0;
        mf->over = 1;
        return 0;
    }
    if (mf->len + len > mf->cap) {
        cap = mf->cap ? mf->cap : 16384;
        while (cap < mf->len + len)
            cap *= 2;
        if (!(tmp = realloc(mf->p, cap)))
            return -ENOMEM;
        mf->p = tmp;
        mf->cap = cap;
    }
    memcpy(mf->p + mf->len, enc, len);
    mf->len += len;
    return 0;
}

void rootfs_manifest_free(struct rootfs_manifest *mf)
{
    free(mf->p);
    memset(mf, 0, sizeof(*mf));
}

static cbor_item_t *entry_item(const char *path, const struct stat *st, const uint8_t *data,
                               size_t len)
{
    cbor_item_t *a = cbor_new_definite_array(7);
    cbor_item_t *v[7] = {
        cbor_build_string(path), cbor_build_string(type_name(st->st_mode)),
        cbor_build_uint32(st->st_mode & 07777), cbor_build_uint32(st->st_uid),
        cbor_build_uint32(st->st_gid),
        cbor_build_uint64(S_ISREG(st->st_mode) ? (uint64_t)st->st_size : 0),
        cbor_build_bytestring(data, len),
    };
    int ok = a != NULL;

    for (int i = 0; i < 7; i++) {
        if (!ok || !v[i] || !cbor_array_push(a, v[i]))
            ok = 0;
        if (v[i])
            cbor_decref(&v[i]);
    }
    if (!ok && a)
        cbor_decref(&a);
    return ok ? a : NULL;
}

static int emit(struct walk *w, int dirfd, const char *name, const char *path,
                const struct stat *st)
{
    uint8_t data[PATH_MAX + 1], *enc = NULL;
    size_t len = 0, enclen = 0, encsz = 0;
    cbor_item_t *it;
    int r = entry_data(dirfd, name, st, data, &len);

    if (r < 0) {
        LOG_ERROR("rootfs: %s: %s", path, strerror(-r));
        return r;
    }
    it = entry_item(path, st, data, len);
    if (!it)
        return -ENOMEM;
    enclen = cbor_serialize_alloc(it, &enc, &encsz);
    cbor_decref(&it);
    r = enclen && EVP_DigestUpdate(w->ctx, enc, enclen) ? 0 : -EIO;
    if (r == 0 && w->mf)
        r = keep(w->mf, enc, enclen);
    free(enc);
    return r;
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void free_names(char **names, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
}

/* Sorted names of dirfd's entries (without . and ..); callee-allocated. */
static int list_dir(int dirfd, char ***out, size_t *count)
{
    int fd = dup(dirfd);
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    char **names = NULL, **tmp;
    size_t n = 0, cap = 0;
    struct dirent *e;
    int r = 0;

    if (!d) {
        r = -errno;
        if (fd >= 0)
            close(fd);
        return r;
    }
    rewinddir(d);
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        if (n == cap) {
            cap = cap ? 2 * cap : 32;
            tmp = realloc(names, cap * sizeof(*names));
            if (!tmp) {
                r = -ENOMEM;
                break;
            }
            names = tmp;
        }
        if (!(names[n] = strdup(e->d_name))) {
            r = -ENOMEM;
            break;
        }
        n++;
    }
    closedir(d);
    if (r < 0) {
        free_names(names, n);
        return r;
    }
    if (n)
        qsort(names, n, sizeof(*names), cmp_names);
    *out = names;
    *count = n;
    return 0;
}

static int walk_dir(struct walk *w, int dirfd, const char *prefix, int depth);

/* What the policy rules on besides the digest: setuid/setgid files and device nodes. */
static int note(struct walk *w, const char *path, const struct stat *st)
{
    if (w->setid && S_ISREG(st->st_mode) && (st->st_mode & (S_ISUID | S_ISGID)))
        return strset_add(w->setid, path);
    if (w->devices && (S_ISCHR(st->st_mode) || S_ISBLK(st->st_mode)))
        return strset_add(w->devices, path);
    return 0;
}

static int walk_entry(struct walk *w, int dirfd, const char *prefix, const char *name, int depth)
{
    char path[PATH_MAX];
    struct stat st;
    int fd, r;

    if (snprintf(path, sizeof(path), "%s%s%s", prefix, *prefix ? "/" : "", name) >=
        (int)sizeof(path))
        return -ENAMETOOLONG;
    if (excluded(w, path))
        return 0;
    if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
        return -errno;
    if ((r = emit(w, dirfd, name, path, &st)) < 0 || (r = note(w, path, &st)) < 0)
        return r;
    if (!S_ISDIR(st.st_mode) || st.st_dev != w->dev)
        return 0;
    fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    r = walk_dir(w, fd, path, depth + 1);
    close(fd);
    return r;
}

static int walk_dir(struct walk *w, int dirfd, const char *prefix, int depth)
{
    char **names = NULL;
    size_t n = 0;
    int r;

    if (depth > ROOTFS_MAX_DEPTH) {
        LOG_ERROR("rootfs: %s: deeper than %d levels", prefix, ROOTFS_MAX_DEPTH);
        return -ELOOP;
    }
    r = list_dir(dirfd, &names, &n);
    for (size_t i = 0; r == 0 && i < n; i++)
        r = walk_entry(w, dirfd, prefix, names[i], depth);
    free_names(names, n);
    return r;
}

int rootfs_digest(const char *path, const struct strset *exclude, uint8_t out[DIGEST_LEN],
                  struct strset *setid, struct strset *devices)
{
    return rootfs_digest_manifest(path, exclude, out, setid, devices, NULL);
}

int rootfs_digest_manifest(const char *path, const struct strset *exclude,
                           uint8_t out[DIGEST_LEN], struct strset *setid,
                           struct strset *devices, struct rootfs_manifest *mf)
{
    struct walk w = { .ctx = EVP_MD_CTX_new(), .exclude = exclude, .setid = setid,
                      .devices = devices, .mf = mf };
    unsigned int n = 0;
    struct stat st;
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC), r = -EIO;

    if (fd < 0) {
        r = -errno;
        LOG_ERROR("rootfs: cannot open %s: %s", path, strerror(-r));
        goto out;
    }
    if (!w.ctx || !EVP_DigestInit_ex(w.ctx, EVP_sha256(), NULL))
        goto out;
    if (fstat(fd, &st) < 0) {
        r = -errno;
        goto out;
    }
    w.dev = st.st_dev;
    if ((r = emit(&w, fd, ".", ".", &st)) < 0 || (r = walk_dir(&w, fd, "", 0)) < 0)
        goto out;
    r = EVP_DigestFinal_ex(w.ctx, out, &n) && n == DIGEST_LEN ? 0 : -EIO;
out:
    if (fd >= 0)
        close(fd);
    EVP_MD_CTX_free(w.ctx);
    return r;
}
