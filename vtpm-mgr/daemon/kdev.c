/* SPDX-License-Identifier: BSD-3-Clause */
/* kmod-vtpm control ioctls (uapi: kmod-vtpm/include/uapi/vtpm_attest.h). */
#include "kdev.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/sha.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "log.h"
#include "uapi/vtpm_attest.h"

static int open_ctl(const char *ctl_path)
{
    int fd = open(ctl_path, O_RDWR | O_CLOEXEC);

    if (fd < 0)
        LOG_ERROR("kmod-vtpm control device %s: %s (is the module loaded?)", ctl_path,
                  strerror(errno));
    return fd < 0 ? -errno : fd;
}

/* One request on the module's control device: 0 or a negative errno. */
static int ctl_ioctl(const char *ctl_path, unsigned long req, void *arg)
{
    int fd = open_ctl(ctl_path), r;

    if (fd < 0)
        return fd;
    r = ioctl(fd, req, arg) == 0 ? 0 : -errno;
    close(fd);
    return r;
}

/* The module records SHA-256 of the EK public area as marshalled (TPMT_PUBLIC, after the
 * TPM2B size). */
static int ek_digest(const uint8_t *ekpub, size_t len, uint8_t out[VTPM_ATTEST_DIGEST_SIZE])
{
    if (len <= 2)
        return -EINVAL;
    SHA256(ekpub + 2, len - 2, out);
    return 0;
}

int kdev_create(const char *ctl_path, pid_t pid, const uint8_t uuid[16], const uint8_t *ekpub,
                size_t ekpub_len, const char *label, int *server_fd, uint32_t *index,
                dev_t *rdev)
{
    struct vtpm_attest_create c;
    int r;

    memset(&c, 0, sizeof(c));
    c.size = sizeof(c);
    c.pid = (__u32)pid;
    memcpy(c.uuid, uuid, sizeof(c.uuid));
    strncpy((char *)c.label, label, sizeof(c.label) - 1);
    r = ek_digest(ekpub, ekpub_len, c.ek_digest);
    if (r)
        return r;
    r = ctl_ioctl(ctl_path, VTPM_ATTEST_IOC_CREATE, &c);
    if (r) {
        LOG_ERROR("kmod-vtpm: creating a device for pid %d failed: %s", (int)pid, strerror(-r));
        return r;
    }
    *server_fd = c.server_fd;
    *index = c.index;
    *rdev = makedev(c.major, c.minor);
    return 0;
}

int kdev_destroy(const char *ctl_path, uint32_t index, const uint8_t uuid[16])
{
    struct vtpm_attest_destroy d;

    memset(&d, 0, sizeof(d));
    d.size = sizeof(d);
    d.index = index;
    memcpy(d.uuid, uuid, sizeof(d.uuid));
    return ctl_ioctl(ctl_path, VTPM_ATTEST_IOC_DESTROY, &d);
}

int kdev_index_of(const char *ctl_path, const uint8_t uuid[16], uint32_t *index)
{
    struct vtpm_attest_query q;
    int r;

    memset(&q, 0, sizeof(q));
    q.size = sizeof(q);
    q.flags = VTPM_ATTEST_QUERY_BY_UUID;
    memcpy(q.uuid, uuid, sizeof(q.uuid));
    r = ctl_ioctl(ctl_path, VTPM_ATTEST_IOC_QUERY, &q);
    if (r == 0 && !(q.state & VTPM_ATTEST_STATE_SERVER))
        r = -ENOENT;
    if (r == 0)
        *index = q.index;
    return r;
}
