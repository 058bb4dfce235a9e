/* SPDX-License-Identifier: BSD-3-Clause */
/* Test client for a vTPM data socket: well-formed, malformed and hostile traffic, and a latency bench. */
/*
 * Usage: worker_client SOCK MODE [N]
 *   getrandom      one GetRandom(8); prints the response code
 *   multi N        N GetRandom on one connection
 *   garbage        64 junk bytes; prints the response code, expects EOF after it
 *   bigsize        header announcing 1 MB; prints the response code (COMMAND_SIZE), EOF
 *   mb             header announcing 1 MB followed by 1 MB of data
 *   truncated      half a command, then close
 *   noread         a full command, close without reading the response
 *   stall          5 bytes, then wait: prints "closed after S s" when the worker drops us
 *   flood N        hold N connections open, print how many the worker kept
 *   bench N        N GetRandom through tss2 (swtpm TCTI, new connection per command);
 *                  prints the median and p90 round trip in microseconds
 * Exit status 0 when the mode's expectation held, 1 otherwise.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <tss2/tss2_esys.h>
#include <tss2/tss2_mu.h>
#include <tss2/tss2_tctildr.h>

static int connect_to(const char *path)
{
    struct sockaddr_un a = { .sun_family = AF_UNIX };
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

    snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
        perror("connect");
        exit(1);
    }
    return fd;
}

/* TPM2_GetRandom(8), marshalled with Tss2_MU. */
static size_t getrandom_cmd(uint8_t *buf, size_t cap)
{
    size_t off = 0;

    Tss2_MU_TPM2_ST_Marshal(TPM2_ST_NO_SESSIONS, buf, cap, &off);
    Tss2_MU_UINT32_Marshal(12, buf, cap, &off);
    Tss2_MU_TPM2_CC_Marshal(TPM2_CC_GetRandom, buf, cap, &off);
    Tss2_MU_UINT16_Marshal(8, buf, cap, &off);
    return off;
}

static int read_full(int fd, uint8_t *buf, size_t len, int timeout_ms)
{
    size_t have = 0;

    while (have < len) {
        struct pollfd p = { .fd = fd, .events = POLLIN };
        ssize_t n;
        if (poll(&p, 1, timeout_ms) <= 0)
            return -1;
        n = read(fd, buf + have, len - have);
        if (n <= 0)
            return -1;
        have += (size_t)n;
    }
    return 0;
}

/* Reads one response; returns its response code, or -1 if none arrived. */
static long read_response(int fd)
{
    uint8_t buf[4096];
    uint32_t size = 0, rc = 0;
    size_t off = 2;

    if (read_full(fd, buf, 10, 5000) < 0)
        return -1;
    Tss2_MU_UINT32_Unmarshal(buf, 10, &off, &size);
    Tss2_MU_UINT32_Unmarshal(buf, 10, &off, &rc);
    if (size < 10 || size > sizeof(buf) || read_full(fd, buf + 10, size - 10, 5000) < 0)
        return -1;
    return rc;
}

static int expect_eof(int fd)
{
    uint8_t b;
    struct pollfd p = { .fd = fd, .events = POLLIN };

    return poll(&p, 1, 5000) == 1 && read(fd, &b, 1) <= 0 ? 0 : -1;
}

static int send_all(int fd, const void *p, size_t len)
{
    return send(fd, p, len, MSG_NOSIGNAL) == (ssize_t)len ? 0 : -1;
}

static int mode_multi(const char *path, int n)
{
    uint8_t cmd[64];
    size_t len = getrandom_cmd(cmd, sizeof(cmd));
    int fd = connect_to(path), i;

    for (i = 0; i < n; i++)
        if (send_all(fd, cmd, len) < 0 || read_response(fd) != 0)
            return 1;
    close(fd);
    printf("%d commands ok\n", n);
    return 0;
}

static int mode_bad(const char *path, const char *mode)
{
    static uint8_t big[1 << 20];
    int fd = connect_to(path);
    long rc;
    size_t off = 0;

    memset(big, 0xab, sizeof(big));
    if (strcmp(mode, "garbage")) { /* a plausible header announcing 1 MB */
        Tss2_MU_TPM2_ST_Marshal(TPM2_ST_NO_SESSIONS, big, sizeof(big), &off);
        Tss2_MU_UINT32_Marshal(sizeof(big), big, sizeof(big), &off);
    }
    /* The worker answers after the header and closes: a 1 MB send may see EPIPE. */
    send(fd, big, !strcmp(mode, "mb") ? sizeof(big) : !strcmp(mode, "bigsize") ? 10 : 64,
         MSG_NOSIGNAL);
    rc = read_response(fd);
    printf("rc=0x%lx\n", (unsigned long)rc);
    return rc > 0 && expect_eof(fd) == 0 ? 0 : 1;
}

static int mode_partial(const char *path, const char *mode)
{
    uint8_t cmd[64];
    size_t len = getrandom_cmd(cmd, sizeof(cmd));
    int fd = connect_to(path);
    time_t t0 = time(NULL);

    if (!strcmp(mode, "truncated"))
        return send_all(fd, cmd, 7) == 0 && close(fd) == 0 ? 0 : 1;
    if (!strcmp(mode, "noread"))
        return send_all(fd, cmd, len) == 0 && close(fd) == 0 ? 0 : 1;
    send_all(fd, cmd, 5); /* stall */
    for (;;) {
        uint8_t b;
        struct pollfd p = { .fd = fd, .events = POLLIN };
        if (poll(&p, 1, 20000) != 1)
            return 1;
        if (read(fd, &b, 1) <= 0)
            break;
    }
    printf("closed after %ld s\n", (long)(time(NULL) - t0));
    return 0;
}

static int mode_flood(const char *path, int n)
{
    int fds[64], i, kept = 0;

    if (n > 64)
        n = 64;
    for (i = 0; i < n; i++)
        fds[i] = connect_to(path);
    usleep(300000);
    for (i = 0; i < n; i++) {
        struct pollfd p = { .fd = fds[i], .events = POLLIN };
        uint8_t b;
        if (poll(&p, 1, 0) == 0 || read(fds[i], &b, 1) > 0)
            kept++;
    }
    printf("kept=%d\n", kept);
    for (i = 0; i < n; i++)
        close(fds[i]);
    return 0;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

    return x < y ? -1 : x > y;
}

static uint64_t now_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static int mode_bench(const char *path, int n)
{
    char conf[512];
    TSS2_TCTI_CONTEXT *tcti = NULL;
    ESYS_CONTEXT *esys = NULL;
    uint64_t *t = calloc((size_t)n, sizeof(*t));
    int i;

    snprintf(conf, sizeof(conf), "swtpm:path=%s", path);
    if (!t || Tss2_TctiLdr_Initialize(conf, &tcti) || Esys_Initialize(&esys, tcti, NULL))
        return 1;
    for (i = 0; i < n; i++) {
        TPM2B_DIGEST *rnd = NULL;
        uint64_t t0 = now_us();
        if (Esys_GetRandom(esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, 8, &rnd))
            return 1;
        t[i] = now_us() - t0;
        Esys_Free(rnd);
    }
    qsort(t, (size_t)n, sizeof(*t), cmp_u64);
    printf("getrandom n=%d median_us=%llu p90_us=%llu\n", n, (unsigned long long)t[n / 2],
           (unsigned long long)t[n * 9 / 10]);
    Esys_Finalize(&esys);
    Tss2_TctiLdr_Finalize(&tcti);
    free(t);
    return 0;
}

int main(int argc, char **argv)
{
    const char *path = argc > 1 ? argv[1] : "", *mode = argc > 2 ? argv[2] : "";
    int n = argc > 3 ? atoi(argv[3]) : 1;

    signal(SIGPIPE, SIG_IGN);
    if (n < 1)
        n = 1;
    if (!strcmp(mode, "getrandom") || !strcmp(mode, "multi"))
        return mode_multi(path, n);
    if (!strcmp(mode, "garbage") || !strcmp(mode, "bigsize") || !strcmp(mode, "mb"))
        return mode_bad(path, mode);
    if (!strcmp(mode, "truncated") || !strcmp(mode, "noread") || !strcmp(mode, "stall"))
        return mode_partial(path, mode);
    if (!strcmp(mode, "flood"))
        return mode_flood(path, n);
    if (!strcmp(mode, "bench"))
        return mode_bench(path, n);
    fprintf(stderr, "usage: %s SOCK MODE [N]\n", argv[0]);
    return 2;
}
