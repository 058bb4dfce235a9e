/* SPDX-License-Identifier: BSD-3-Clause */
/* One open file of the adapter's TPM device, with the Linux /dev/tpm0 read/write/poll semantics. */
#include "tpmfile.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tpmframe.h"
#include "vtpm_ipc.h"

struct tpmfile {
    const struct sockclient *sc;
    /*
     * Guards every field below. Held across the socket round trip, like the kernel's
     * buffer_mutex, so an open file has at most one command outstanding and a concurrent
     * read or poll waits for the response.
     */
    pthread_mutex_t lock;
    uint8_t buf[VTPM_TPM_BUFSIZE]; /* command, then response */
    size_t resp_len;               /* response bytes not read yet */
    size_t resp_off;               /* next response byte to read */
    bool resp_read;                /* a read has started on the current response */
    struct timespec resp_time;     /* when the current response arrived */
};

struct tpmfile *tpmfile_new(const struct sockclient *sc)
{
    struct tpmfile *f = calloc(1, sizeof(*f));

    if (!f)
        return NULL;
    f->sc = sc;
    f->resp_read = true;
    pthread_mutex_init(&f->lock, NULL);
    return f;
}

void tpmfile_free(struct tpmfile *f)
{
    if (!f)
        return;
    pthread_mutex_destroy(&f->lock);
    explicit_bzero(f, sizeof(*f));
    free(f);
}

static void discard_locked(struct tpmfile *f)
{
    explicit_bzero(f->buf, sizeof(f->buf));
    f->resp_len = 0;
    f->resp_off = 0;
    f->resp_read = true;
}

static bool unread_expired_locked(const struct tpmfile *f)
{
    struct timespec now;
    int64_t age;

    clock_gettime(CLOCK_MONOTONIC, &now);
    age = (int64_t)(now.tv_sec - f->resp_time.tv_sec) * 1000 +
          (now.tv_nsec - f->resp_time.tv_nsec) / 1000000;
    return age >= TPMFILE_UNREAD_MS;
}

static ssize_t write_locked(struct tpmfile *f, const uint8_t *cmd, size_t len)
{
    ssize_t n;
    int r;

    /* A response nobody started to read blocks the next command, until it expires. */
    if (f->resp_len && !f->resp_read && !unread_expired_locked(f))
        return -EBUSY;
    r = tpmframe_check_command(cmd, len);
    if (r < 0)
        return r;
    discard_locked(f);
    memcpy(f->buf, cmd, len);
    n = sockclient_transact(f->sc, f->buf, len, f->buf, sizeof(f->buf));
    if (n < 0) {
        discard_locked(f);
        return n;
    }
    f->resp_len = (size_t)n;
    f->resp_read = false;
    clock_gettime(CLOCK_MONOTONIC, &f->resp_time);
    return (ssize_t)len;
}

ssize_t tpmfile_write(struct tpmfile *f, const uint8_t *cmd, size_t len)
{
    ssize_t r;

    pthread_mutex_lock(&f->lock);
    r = write_locked(f, cmd, len);
    pthread_mutex_unlock(&f->lock);
    return r;
}

size_t tpmfile_read(struct tpmfile *f, uint8_t *out, size_t cap)
{
    size_t n;

    pthread_mutex_lock(&f->lock);
    n = f->resp_len < cap ? f->resp_len : cap;
    if (f->resp_len) {
        f->resp_read = true;
        memcpy(out, f->buf + f->resp_off, n);
        explicit_bzero(f->buf + f->resp_off, n);
        f->resp_off += n;
        f->resp_len -= n;
        if (!f->resp_len)
            f->resp_off = 0;
    }
    pthread_mutex_unlock(&f->lock);
    return n;
}

unsigned tpmfile_poll(struct tpmfile *f)
{
    unsigned mask;

    pthread_mutex_lock(&f->lock);
    mask = f->resp_len ? (POLLIN | POLLRDNORM) : (POLLOUT | POLLWRNORM);
    pthread_mutex_unlock(&f->lock);
    return mask;
}
