/* SPDX-License-Identifier: BSD-3-Clause */
/* sd_notify(3)'s datagram protocol, spoken directly (no libsystemd). */
#include "sdnotify.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "log.h"

static int g_fd = -1;

int sdnotify_init(void)
{
    const char *e = getenv("NOTIFY_SOCKET");
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    socklen_t len;
    size_t n;
    int fd, r;

    if (!e || !*e)
        return 0;
    n = strlen(e);
    if ((e[0] != '/' && e[0] != '@') || n >= sizeof(sa.sun_path)) {
        LOG_ERROR("NOTIFY_SOCKET %s: not a socket path or @abstract name", e);
        unsetenv("NOTIFY_SOCKET");
        return -EINVAL;
    }
    memcpy(sa.sun_path, e, n);
    if (e[0] == '@')
        sa.sun_path[0] = '\0';
    len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + (e[0] == '/'));
    if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0 ||
        connect(fd, (struct sockaddr *)&sa, len) < 0) {
        r = -errno;
        LOG_ERROR("NOTIFY_SOCKET %s: %s", e, strerror(-r));
        if (fd >= 0)
            close(fd);
        unsetenv("NOTIFY_SOCKET");
        return r;
    }
    unsetenv("NOTIFY_SOCKET");
    g_fd = fd;
    return 0;
}

void sdnotify(const char *state)
{
    if (g_fd >= 0 && write(g_fd, state, strlen(state)) < 0)
        LOG_WARN("NOTIFY_SOCKET: %s not sent: %s", state, strerror(errno));
}
