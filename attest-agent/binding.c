/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Container <-> vTPM bindings as small files in one directory owned by root, mode 0700:
 * `v-<uuid>` holds the container id the vTPM serves (or the pool marker), `c-<hash>` the vTPM
 * of a container id (hash: SHA-256 of the vtpm-mgr run dir and the id) with the pid and start
 * time of the container's process. Every change happens under flock() of the directory and
 * is written to a temporary file renamed into place, so hooks running at once and the
 * service see one order of claims and never a half-written one.
 */
#include "binding.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "log.h"
#include "mgrclient.h"
#include "procstat.h"

#define POOL_MARK  "pool"
#define CLAIM_MAX  1200   /* "ctr " + an id of at most 1024 bytes */
#define ID_MAX     1024

static int private_dir(int fd)
{
    struct stat st;

    return fstat(fd, &st) == 0 && S_ISDIR(st.st_mode) && st.st_uid == geteuid() &&
           !(st.st_mode & 077);
}

/* The directory (parent and itself created 0700 when missing), locked; -errno. */
static int open_locked(const char *dir)
{
    char parent[4096], *slash;
    int fd;

    if (snprintf(parent, sizeof(parent), "%s", dir) >= (int)sizeof(parent))
        return -ENAMETOOLONG;
    if ((slash = strrchr(parent, '/')) && slash != parent) {
        *slash = '\0';
        (void)mkdir(parent, 0700);
    }
    if (mkdir(dir, 0700) < 0 && errno != EEXIST)
        return -errno;
    fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    if (!private_dir(fd)) {
        LOG_ERROR("binding directory %s is not a 0700 directory of uid %u", dir,
                  (unsigned)geteuid());
        close(fd);
        return -EPERM;
    }
    if (flock(fd, LOCK_EX) < 0) {
        int r = -errno;
        close(fd);
        return r;
    }
    return fd;
}

static void unlock_close(int fd)
{
    (void)flock(fd, LOCK_UN);
    close(fd);
}

/* The claim's text, NUL-terminated; -ENOENT when there is none. */
static int read_claim(int dfd, const char *name, char *buf, size_t size)
{
    int fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    ssize_t n;

    if (fd < 0)
        return -errno;
    n = read(fd, buf, size - 1);
    close(fd);
    if (n < 0)
        return -EIO;
    buf[n] = '\0';
    return 0;
}

static int write_claim(int dfd, const char *name, const char *text)
{
    char tmp[64];
    size_t len = strlen(text);
    int fd, r = 0;

    snprintf(tmp, sizeof(tmp), ".tmp-%d", (int)gettid()); /* one per thread of the service */
    fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0)
        return -errno;
    if (write(fd, text, len) != (ssize_t)len)
        r = -EIO;
    if (close(fd) < 0 && r == 0)
        r = -EIO;
    if (r == 0 && renameat(dfd, tmp, dfd, name) < 0)
        r = -errno;
    if (r < 0)
        (void)unlinkat(dfd, tmp, 0);
    return r;
}

static int vtpm_name(const char *uuid, char *name, size_t size)
{
    size_t n = strlen(uuid);

    if (n == 0 || n >= MGR_UUID_LEN || strspn(uuid, "0123456789abcdefABCDEF-") != n)
        return -EINVAL;
    snprintf(name, size, "v-%s", uuid);
    return 0;
}

static int claim_text(const char *cid, char *text, size_t size)
{
    if (!cid) {
        snprintf(text, size, "%s", POOL_MARK);
        return 0;
    }
    if (!*cid || strlen(cid) > ID_MAX)
        return -EINVAL;
    snprintf(text, size, "ctr %s", cid);
    return 0;
}

static void log_busy(const char *uuid, const char *held)
{
    if (!strcmp(held, POOL_MARK))
        LOG_ERROR("vTPM %s is reserved by the agent service's pool; refused", uuid);
    else
        LOG_ERROR("vTPM %s is bound to container %s; refused", uuid,
                  strncmp(held, "ctr ", 4) ? "?" : held + 4);
}

int binding_vtpm(const char *dir, const char *uuid, const char *cid, int *created)
{
    char name[64], want[CLAIM_MAX], held[CLAIM_MAX];
    int dfd, r;

    *created = 0;
    if (vtpm_name(uuid, name, sizeof(name)) < 0 || claim_text(cid, want, sizeof(want)) < 0)
        return -EINVAL;
    if ((dfd = open_locked(dir)) < 0)
        return dfd;
    r = read_claim(dfd, name, held, sizeof(held));
    if (r == 0 && strcmp(held, want)) {
        log_busy(uuid, held);
        r = -EBUSY;
    } else if (r == -ENOENT && (r = write_claim(dfd, name, want)) == 0) {
        *created = 1;
    }
    unlock_close(dfd);
    return r;
}

int binding_vtpm_take(const char *dir, const char *uuid, const char *cid)
{
    char name[64], want[CLAIM_MAX], held[CLAIM_MAX];
    int dfd, r;

    if (vtpm_name(uuid, name, sizeof(name)) < 0 || claim_text(cid, want, sizeof(want)) < 0 ||
        !cid)
        return -EINVAL;
    if ((dfd = open_locked(dir)) < 0)
        return dfd;
    r = read_claim(dfd, name, held, sizeof(held));
    if (r == 0 && strcmp(held, POOL_MARK)) {
        log_busy(uuid, held);
        r = -EBUSY;
    } else if (r == 0) {
        r = write_claim(dfd, name, want);
    }
    unlock_close(dfd);
    return r;
}

void binding_vtpm_release(const char *dir, const char *uuid)
{
    char name[64];
    int dfd;

    if (vtpm_name(uuid, name, sizeof(name)) < 0 || (dfd = open_locked(dir)) < 0)
        return;
    (void)unlinkat(dfd, name, 0);
    unlock_close(dfd);
}

/* c-<hex SHA-256 of run_dir NUL cid>: ids of different vtpm-mgr instances never meet. */
static int container_name(const char *run_dir, const char *cid, char *name, size_t size)
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    unsigned char d[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    int ok = ctx && strlen(cid) <= ID_MAX && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) &&
             EVP_DigestUpdate(ctx, run_dir, strlen(run_dir) + 1) &&
             EVP_DigestUpdate(ctx, cid, strlen(cid)) && EVP_DigestFinal_ex(ctx, d, &n);

    EVP_MD_CTX_free(ctx);
    if (!ok || size < 3 + 2 * (size_t)n)
        return -EINVAL;
    memcpy(name, "c-", 3);
    for (unsigned int i = 0; i < n; i++)
        snprintf(name + 2 + 2 * i, 3, "%02x", d[i]);
    return 0;
}

/* The holder of a container binding is alive: its pid names the process it recorded. */
static int holder_alive(const char *held)
{
    long long pid = 0;
    unsigned long long start = 0;

    if (sscanf(held, "%*s %lld %llu", &pid, &start) != 2 || pid <= 0)
        return 0;
    return procstat_start_time(pid) == start;
}

int binding_container(const char *dir, const char *run_dir, const char *cid, long long pid,
                      const char *uuid, int *created)
{
    char name[80], want[CLAIM_MAX], held[CLAIM_MAX] = "", huuid[MGR_UUID_LEN] = "";
    unsigned long long start = procstat_start_time(pid);
    int dfd, r;

    *created = 0;
    if (!start) {
        LOG_ERROR("container %s: its process %lld is not running", cid, pid);
        return -ESRCH;
    }
    if (container_name(run_dir, cid, name, sizeof(name)) < 0)
        return -EINVAL;
    snprintf(want, sizeof(want), "%s %lld %llu\n", uuid, pid, start);
    if ((dfd = open_locked(dir)) < 0)
        return dfd;
    r = read_claim(dfd, name, held, sizeof(held));
    if (r == 0 && sscanf(held, "%36s", huuid) == 1 && strcmp(huuid, uuid) && holder_alive(held)) {
        LOG_ERROR("container id %s is bound to vTPM %s of a running container; refused", cid,
                  huuid);
        r = -EBUSY;
    } else if ((r == 0 || r == -ENOENT) && strcmp(held, want)) {
        r = write_claim(dfd, name, want);
        *created = r == 0;
    }
    unlock_close(dfd);
    return r;
}

void binding_container_release(const char *dir, const char *run_dir, const char *cid)
{
    char name[80];
    int dfd;

    if (container_name(run_dir, cid, name, sizeof(name)) < 0 || (dfd = open_locked(dir)) < 0)
        return;
    (void)unlinkat(dfd, name, 0);
    unlock_close(dfd);
}
