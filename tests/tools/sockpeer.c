/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A tiny client of vtpm-mgr's sockets for tests inside containers (built static as
 * sockpeer-static, so a busybox rootfs can run it): one TPM2_GetRandom on a vTPM data socket,
 * one CMD_GET_CAPABILITY on its control channel, or one ping on the control socket. With a
 * count N, repeats it on N new connections (as tpm2-tss's swtpm TCTI does per command) and
 * prints the median and 90th percentile of one connection's round trip in microseconds.
 * Exit 0: served; 3: refused (closed without an answer, or "permission denied");
 * 4: cannot connect; 1: anything else.
 */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

/* TPM2_GetRandom(8): tag NO_SESSIONS, size 12, TPM_CC_GetRandom. */
static const uint8_t getrandom_cmd[] = { 0x80, 0x01, 0, 0, 0, 12, 0, 0, 0x01, 0x7b, 0, 8 };
/* swtpm control channel: CMD_GET_CAPABILITY (1). */
static const uint8_t getcap_cmd[] = { 0, 0, 0, 1 };
/* The control protocol: 4-byte big-endian length, then CBOR {"v": 1, "op": "ping"}. */
static const uint8_t ping_req[] = { 0, 0, 0, 12, 0xa2, 0x61, 'v', 0x01, 0x62, 'o', 'p',
                                    0x64, 'p', 'i', 'n', 'g' };
/* CBOR text "ok" followed by true, as vtpm-mgr encodes a success. */
static const uint8_t cbor_ok_true[] = { 0x62, 'o', 'k', 0xf5 };

static int g_quiet; /* repeat mode: only the timing line */

static int connect_to(const char *path)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    struct timeval tv = { .tv_sec = 10 };
    int fd;

    if (strlen(path) >= sizeof(sa.sun_path))
        return -1;
    strcpy(sa.sun_path, path);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Reads until EOF or cap bytes; returns the count, -1 on an error (a reset is a refusal). */
static ssize_t read_all(int fd, uint8_t *buf, size_t cap, size_t want)
{
    size_t have = 0;

    while (have < want && have < cap) {
        ssize_t n = read(fd, buf + have, cap - have);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return errno == ECONNRESET ? (ssize_t)have : -1;
        if (n == 0)
            break;
        have += (size_t)n;
    }
    return (ssize_t)have;
}

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int run(const char *mode, int fd)
{
    uint8_t buf[4096];
    ssize_t n;

    if (!strcmp(mode, "tpm")) {
        if (write(fd, getrandom_cmd, sizeof(getrandom_cmd)) != (ssize_t)sizeof(getrandom_cmd))
            return 3;
        n = read_all(fd, buf, sizeof(buf), 10);
        if (n < 10)
            return n < 0 ? 1 : 3;
        if (!g_quiet)
            printf("tpm rc 0x%x\n", be32(buf + 6));
        return be32(buf + 6) == 0 ? 0 : 1;
    }
    if (!strcmp(mode, "ctrl")) {
        if (write(fd, getcap_cmd, sizeof(getcap_cmd)) != (ssize_t)sizeof(getcap_cmd))
            return 3;
        n = read_all(fd, buf, sizeof(buf), 8);
        if (n < 8)
            return n < 0 ? 1 : 3;
        if (!g_quiet)
            printf("ctrl result %u\n", be32(buf));
        return be32(buf) == 0 ? 0 : 1;
    }
    if (write(fd, ping_req, sizeof(ping_req)) != (ssize_t)sizeof(ping_req))
        return 3;
    n = read_all(fd, buf, sizeof(buf), sizeof(buf));
    if (n <= 4)
        return n < 0 ? 1 : 3;
    if (memmem(buf, (size_t)n, "permission denied", 17))
        return 3;
    return memmem(buf, (size_t)n, cbor_ok_true, sizeof(cbor_ok_true)) ? 0 : 1;
}

static int once(const char *mode, const char *path)
{
    int fd = connect_to(path), r;

    if (fd < 0) {
        fprintf(stderr, "sockpeer: %s: %s\n", path, strerror(errno));
        return 4;
    }
    r = run(mode, fd);
    close(fd);
    return r;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

    return x < y ? -1 : x > y;
}

static uint64_t now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* N connections, each timed from connect to the answer; stdout quiet but for the result. */
static int repeat(const char *mode, const char *path, int n)
{
    uint64_t *t = calloc((size_t)n, sizeof(*t));
    int i, r = 0;

    if (!t)
        return 1;
    for (i = 0; i < n && r == 0; i++) {
        uint64_t t0 = now_ns();
        int fd = connect_to(path);
        r = fd < 0 ? 4 : run(mode, fd);
        if (fd >= 0)
            close(fd);
        t[i] = now_ns() - t0;
    }
    if (r == 0) {
        qsort(t, (size_t)n, sizeof(*t), cmp_u64);
        printf("%s n=%d median_us=%llu p90_us=%llu\n", mode, n,
               (unsigned long long)(t[n / 2] / 1000), (unsigned long long)(t[n * 9 / 10] / 1000));
    }
    free(t);
    return r;
}

int main(int argc, char **argv)
{
    int r, n = 0;

    signal(SIGPIPE, SIG_IGN); /* a refused connection may be closed before the write */
    if ((argc != 3 && argc != 4) || (strcmp(argv[1], "tpm") && strcmp(argv[1], "ctrl") &&
                                     strcmp(argv[1], "ctl")) ||
        (argc == 4 && ((n = atoi(argv[3])) < 1 || n > 100000))) {
        fprintf(stderr, "usage: sockpeer tpm|ctrl|ctl SOCKET [COUNT]\n");
        return 1;
    }
    if (n) {
        g_quiet = 1;
        return repeat(argv[1], argv[2], n);
    }
    r = once(argv[1], argv[2]);
    printf("%s %s: %s\n", argv[1], argv[2], r == 0 ? "served" : r == 3 ? "refused" : "error");
    return r;
}
