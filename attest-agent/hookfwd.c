/* SPDX-License-Identifier: BSD-3-Clause */
/* Forwarding of one hook run to the agent service; libc, libcbor and lib/ctlproto only, so
 * that the small attest-agent-hook binary starts fast. */
#include "hookfwd.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "ctlproto.h"

static void on_alarm(int sig)
{
    static const char msg[] = "attest-agent: timed out; the container must not start\n";

    (void)sig;
    if (write(STDERR_FILENO, msg, sizeof(msg) - 1) < 0)
        _exit(1);
    _exit(1);
}

int hookfwd_watchdog(int timeout_ms)
{
    struct itimerval it = { .it_value = { .tv_sec = timeout_ms / 1000,
                                          .tv_usec = (timeout_ms % 1000) * 1000 } };
    struct sigaction sa = { .sa_handler = timeout_ms ? on_alarm : SIG_DFL };

    if (sigaction(SIGALRM, &sa, NULL) < 0 || setitimer(ITIMER_REAL, &it, NULL) < 0)
        return -errno;
    return 0;
}

int hookfwd_read_state(uint8_t **out, size_t *len)
{
    uint8_t *buf = malloc(HOOKFWD_STATE_MAX + 1);
    size_t n = 0;

    if (!buf)
        return -ENOMEM;
    while (n <= HOOKFWD_STATE_MAX) {
        ssize_t k = read(STDIN_FILENO, buf + n, HOOKFWD_STATE_MAX + 1 - n);
        if (k < 0 && errno == EINTR)
            continue;
        if (k == 0)
            break;
        if (k < 0) {
            k = -errno;
            free(buf);
            return (int)k;
        }
        n += (size_t)k;
    }
    if (n > HOOKFWD_STATE_MAX) {
        free(buf);
        fprintf(stderr, "attest-agent: OCI state on stdin larger than %u bytes\n",
                HOOKFWD_STATE_MAX);
        return -EFBIG;
    }
    *out = buf;
    *len = n;
    return 0;
}

static int connect_unix(const char *path)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    int fd;

    if (strlen(path) >= sizeof(sa.sun_path))
        return -ENAMETOOLONG;
    memcpy(sa.sun_path, path, strlen(path) + 1);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        int e = -errno;
        close(fd);
        return e;
    }
    return fd;
}

static cbor_item_t *request(char *const *args, int nargs, const uint8_t *state, size_t len)
{
    cbor_item_t *m = ctl_map_new(), *a = cbor_new_definite_array((size_t)nargs);
    int i, bad = !m || !a;

    for (i = 0; !bad && i < nargs; i++) {
        cbor_item_t *s = cbor_build_string(args[i]);
        bad = !s || !cbor_array_push(a, s);
        if (s)
            cbor_decref(&s);
    }
    if (!bad && !ctl_put_uint(m, "v", HOOKFWD_VERSION) && !ctl_put_str(m, "op", "hook") &&
        !ctl_put_item(m, "args", a) && !ctl_put_bytes(m, "state", state, len))
        return m;
    if (a && bad)
        cbor_decref(&a);
    if (m)
        cbor_decref(&m);
    return NULL;
}

/* Relays a reply: the service's diagnostics to stderr, the verdict as exit status. */
static int relay(const cbor_item_t *rep)
{
    char err[256] = "reply not understood";
    const uint8_t *text = NULL;
    size_t n = 0;
    int ok = 0, allowed = 0, fallback = 0;

    if (ctl_get_bool(rep, "ok", &ok) < 0 || !ok) {
        (void)ctl_get_str(rep, "error", err, sizeof(err));
        if (ctl_get_bool(rep, "fallback", &fallback) == 0 && fallback)
            return HOOKFWD_FALLBACK;
        fprintf(stderr, "attest-agent: the container must not start: agent service: %s\n", err);
        return 1;
    }
    if (ctl_get_bool(rep, "allowed", &allowed) < 0) {
        fprintf(stderr, "attest-agent: the container must not start: agent service: %s\n", err);
        return 1;
    }
    if (ctl_get_bytes(rep, "stderr", &text, &n) == 0 && n)
        (void)!fwrite(text, 1, n, stderr);
    return allowed ? 0 : 1;
}

int hookfwd_run(const char *sock_path, char *const *args, int nargs, const uint8_t *state,
                size_t len)
{
    cbor_item_t *req, *rep = NULL;
    int fd = connect_unix(sock_path), r;

    if (fd < 0)
        return HOOKFWD_FALLBACK; /* no service: the hook does the work itself */
    req = request(args, nargs, state, len);
    r = req ? ctl_send(fd, req) : -ENOMEM;
    if (req)
        cbor_decref(&req);
    if (r == 0)
        r = ctl_recv(fd, HOOKFWD_REPLY_MAX, &rep);
    close(fd);
    if (r < 0) {
        fprintf(stderr, "attest-agent: the container must not start: agent service at %s: %s\n",
                sock_path, strerror(-r));
        return 1;
    }
    r = relay(rep);
    cbor_decref(&rep);
    return r;
}
