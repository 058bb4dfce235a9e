/* SPDX-License-Identifier: BSD-3-Clause */
/* Client side of a vTPM's command socket (swtpm socket protocol): one connection per command. */
#include "sockclient.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "tpmframe.h"

static int64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits until fd is ready for events or the deadline passes (-ETIMEDOUT). */
static int wait_ready(int fd, short events, int64_t deadline)
{
    struct pollfd p = { .fd = fd, .events = events };
    int64_t left;
    int n;

    do {
        left = deadline - now_ms();
        if (left <= 0)
            return -ETIMEDOUT;
        n = poll(&p, 1, (int)left);
    } while (n < 0 && errno == EINTR);
    if (n < 0)
        return -errno;
    return n == 0 ? -ETIMEDOUT : 0;
}

/* Connects with the send timeout bounding a full listen backlog (a stopped daemon). */
static int connect_sock(const char *path, int timeout_ms)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    struct timeval tv = { .tv_sec = timeout_ms / 1000, .tv_usec = (timeout_ms % 1000) * 1000 };
    int fd, r;

    if (strlen(path) >= sizeof(sa.sun_path))
        return -ENAMETOOLONG;
    memcpy(sa.sun_path, path, strlen(path) + 1);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    if (setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0 ||
        connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        r = -errno;
        close(fd);
        return r;
    }
    return fd;
}

static int send_all(int fd, const uint8_t *buf, size_t len, int64_t deadline)
{
    ssize_t n;
    int r;

    while (len > 0) {
        r = wait_ready(fd, POLLOUT, deadline);
        if (r < 0)
            return r;
        n = send(fd, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (n < 0)
            return -errno;
        buf += n, len -= (size_t)n;
    }
    return 0;
}

static int recv_all(int fd, uint8_t *buf, size_t len, int64_t deadline)
{
    ssize_t n;
    int r;

    while (len > 0) {
        r = wait_ready(fd, POLLIN, deadline);
        if (r < 0)
            return r;
        n = recv(fd, buf, len, MSG_DONTWAIT);
        if (n < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (n < 0)
            return -errno;
        if (n == 0)
            return -ECONNRESET;
        buf += n, len -= (size_t)n;
    }
    return 0;
}

static int recv_response(int fd, uint8_t *resp, size_t cap, int64_t deadline)
{
    uint32_t size = 0;
    int r;

    if (cap < TPMFRAME_HDR_LEN)
        return -ENOBUFS;
    r = recv_all(fd, resp, TPMFRAME_HDR_LEN, deadline);
    if (r < 0)
        return r;
    r = tpmframe_response_size(resp, &size);
    if (r < 0)
        return r;
    if (size > cap)
        return -ENOBUFS;
    r = recv_all(fd, resp + TPMFRAME_HDR_LEN, size - TPMFRAME_HDR_LEN, deadline);
    return r < 0 ? r : (int)size;
}

ssize_t sockclient_transact(const struct sockclient *sc, const uint8_t *cmd, size_t len,
                            uint8_t *resp, size_t cap)
{
    int64_t deadline = now_ms() + sc->timeout_ms;
    const char *step = "connect";
    int fd, r;

    fd = connect_sock(sc->path, sc->timeout_ms);
    if (fd < 0) {
        r = fd;
        goto out;
    }
    step = "send";
    r = send_all(fd, cmd, len, deadline);
    if (r < 0)
        goto out;
    step = "receive";
    r = recv_response(fd, resp, cap, deadline);
out:
    if (fd >= 0)
        close(fd);
    if (r >= 0)
        return r;
    LOG_WARN("vTPM socket %s: %s: %s", sc->path, step, strerror(-r));
    return -EIO;
}
