/* SPDX-License-Identifier: BSD-3-Clause */
/* Unit tests of the CUSE adapter's open-file semantics against a fake vTPM socket server thread. */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "../../adapter/sockclient.h"
#include "../../adapter/tpmfile.h"
#include "vtpm_ipc.h"

enum srv_mode {
    SRV_ANSWER,    /* a 20-byte response whose last byte counts the connections */
    SRV_SILENT,    /* reads the command, never answers */
    SRV_TRUNCATED, /* announces 20 bytes, sends 12, closes */
    SRV_BAD_TAG,   /* a response that is not a TPM response */
};

struct srv {
    char dir[64], path[96];
    int lfd;
    pthread_t th;
    atomic_int mode;
    atomic_int conns;
    uint8_t cmd[VTPM_TPM_BUFSIZE]; /* last command received (written before the reply) */
    size_t cmd_len;
};

static const uint8_t getrandom8[12] = { 0x80, 0x01, 0, 0, 0, 12, 0, 0, 0x01, 0x7b, 0, 8 };

static size_t recv_cmd(int fd, uint8_t *buf)
{
    size_t len = 0, want = 10;
    ssize_t n;

    while (len < want) {
        n = recv(fd, buf + len, want - len, 0);
        if (n <= 0)
            return 0;
        len += (size_t)n;
        if (len == 10)
            want = ((size_t)buf[2] << 24 | (size_t)buf[3] << 16 | (size_t)buf[4] << 8 | buf[5]);
        if (want > VTPM_TPM_BUFSIZE || want < 10)
            return 0;
    }
    return len;
}

static void serve_conn(struct srv *s, int fd, int n)
{
    uint8_t rsp[20] = { 0x80, 0x01, 0, 0, 0, 20, 0, 0, 0, 0, 0, 8, 1, 2, 3, 4, 5, 6, 7, 0 };
    uint8_t junk;

    s->cmd_len = recv_cmd(fd, s->cmd);
    rsp[19] = (uint8_t)n;
    switch (atomic_load(&s->mode)) {
    case SRV_ANSWER: send(fd, rsp, sizeof(rsp), MSG_NOSIGNAL); break;
    case SRV_SILENT: while (recv(fd, &junk, 1, 0) > 0) {} break;
    case SRV_TRUNCATED: send(fd, rsp, 12, MSG_NOSIGNAL); break;
    case SRV_BAD_TAG: rsp[0] = 0x12; send(fd, rsp, sizeof(rsp), MSG_NOSIGNAL); break;
    default: break;
    }
}

static void *srv_main(void *arg)
{
    struct srv *s = arg;
    int fd;

    /* Ends when srv_stop shuts the listening socket down (accept fails). */
    while ((fd = accept(s->lfd, NULL, NULL)) >= 0) {
        serve_conn(s, fd, atomic_fetch_add(&s->conns, 1) + 1);
        close(fd);
    }
    return NULL;
}

static void srv_listen(struct srv *s)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };

    strcpy(sa.sun_path, s->path);
    s->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(s->lfd >= 0);
    assert_int_equal(bind(s->lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(listen(s->lfd, 8), 0);
    assert_int_equal(pthread_create(&s->th, NULL, srv_main, s), 0);
}

static void srv_stop(struct srv *s)
{
    if (s->lfd < 0)
        return;
    shutdown(s->lfd, SHUT_RDWR);
    pthread_join(s->th, NULL);
    close(s->lfd);
    unlink(s->path);
    s->lfd = -1;
}

static int setup(void **state)
{
    struct srv *s = calloc(1, sizeof(*s));

    assert_non_null(s);
    strcpy(s->dir, "/tmp/test-adapter.XXXXXX");
    assert_non_null(mkdtemp(s->dir));
    snprintf(s->path, sizeof(s->path), "%s/tpm.sock", s->dir);
    srv_listen(s);
    *state = s;
    return 0;
}

static int teardown(void **state)
{
    struct srv *s = *state;

    srv_stop(s);
    rmdir(s->dir);
    free(s);
    return 0;
}

static struct tpmfile *open_file(struct srv *s, struct sockclient *sc, int timeout_ms)
{
    struct tpmfile *f;

    *sc = (struct sockclient){ .path = s->path, .timeout_ms = timeout_ms };
    f = tpmfile_new(sc);
    assert_non_null(f);
    return f;
}

static void test_whole_response(void **state)
{
    struct srv *s = *state;
    struct sockclient sc;
    struct tpmfile *f = open_file(s, &sc, 5000);
    uint8_t out[64];

    assert_int_equal(tpmfile_poll(f), POLLOUT | POLLWRNORM);
    assert_int_equal(tpmfile_read(f, out, sizeof(out)), 0); /* nothing pending */
    assert_int_equal(tpmfile_write(f, getrandom8, sizeof(getrandom8)), sizeof(getrandom8));
    assert_int_equal(s->cmd_len, sizeof(getrandom8));
    assert_memory_equal(s->cmd, getrandom8, sizeof(getrandom8));
    assert_int_equal(tpmfile_poll(f), POLLIN | POLLRDNORM);
    assert_int_equal(tpmfile_read(f, out, sizeof(out)), 20);
    assert_int_equal(out[5], 20);
    assert_int_equal(out[19], 1);
    assert_int_equal(tpmfile_read(f, out, sizeof(out)), 0); /* consumed */
    assert_int_equal(tpmfile_poll(f), POLLOUT | POLLWRNORM);
    /* Every command gets its own connection. */
    assert_int_equal(tpmfile_write(f, getrandom8, sizeof(getrandom8)), sizeof(getrandom8));
    assert_int_equal(tpmfile_read(f, out, sizeof(out)), 20);
    assert_int_equal(out[19], 2);
    assert_int_equal(atomic_load(&s->conns), 2);
    tpmfile_free(f);
}

static void test_partial_reads(void **state)
{
    struct srv *s = *state;
    struct sockclient sc;
    struct tpmfile *f = open_file(s, &sc, 5000);
    uint8_t out[20];

    assert_int_equal(tpmfile_write(f, getrandom8, sizeof(getrandom8)), sizeof(getrandom8));
    assert_int_equal(tpmfile_read(f, out, 10), 10); /* the header, as tpm2-tss may read it */
    assert_int_equal(out[5], 20);
    assert_int_equal(tpmfile_poll(f), POLLIN | POLLRDNORM);
    assert_int_equal(tpmfile_read(f, out + 10, 4), 4);
    assert_int_equal(tpmfile_read(f, out + 14, 100), 6);
    assert_int_equal(out[12], 1);
    assert_int_equal(out[19], 1);
    assert_int_equal(tpmfile_read(f, out, sizeof(out)), 0);
    tpmfile_free(f);
}

static void test_one_outstanding(void **state)
{
    struct srv *s = *state;
    struct sockclient sc;
    struct tpmfile *f = open_file(s, &sc, 5000);
    uint8_t out[20];

    assert_int_equal(tpmfile_write(f, getrandom8, sizeof(getrandom8)), sizeof(getrandom8));
    /* The response was not read: the next command waits (as /dev/tpm0: EBUSY). */
    assert_int_equal(tpmfile_write(f, getrandom8, sizeof(getrandom8)), -EBUSY);
    assert_int_equal(atomic_load(&s->conns), 1);
    /* A started read releases it; the unread rest is discarded by the next command. */
    assert_int_equal(tpmfile_read(f, out, 10), 10);
    assert_int_equal(tpmfile_write(f, getrandom8, sizeof(getrandom8)), sizeof(getrandom8));
    assert_int_equal(tpmfile_read(f, out, sizeof(out)), 20);
    assert_int_equal(out[19], 2);
    tpmfile_free(f);
}

static void test_bad_command_not_sent(void **state)
{
    struct srv *s = *state;
    struct sockclient sc;
    struct tpmfile *f = open_file(s, &sc, 5000);
    static uint8_t big[VTPM_TPM_BUFSIZE + 1];
    uint8_t cmd[sizeof(getrandom8) + 1];

    memcpy(cmd, getrandom8, sizeof(getrandom8));
    cmd[sizeof(getrandom8)] = 0;
    assert_int_equal(tpmfile_write(f, cmd, sizeof(cmd)), -EINVAL);
    assert_int_equal(tpmfile_write(f, getrandom8, sizeof(getrandom8) - 1), -EINVAL);
    assert_int_equal(tpmfile_write(f, (const uint8_t *)"garbage!!!!!", 12), -EINVAL);
    memcpy(big, getrandom8, sizeof(getrandom8));
    big[4] = 0x10, big[5] = 0x01;
    assert_int_equal(tpmfile_write(f, big, sizeof(big)), -E2BIG);
    assert_int_equal(atomic_load(&s->conns), 0);
    assert_int_equal(tpmfile_poll(f), POLLOUT | POLLWRNORM);
    tpmfile_free(f);
}

static void test_socket_gone_then_back(void **state)
{
    struct srv *s = *state;
    struct sockclient sc;
    struct tpmfile *f = open_file(s, &sc, 5000);
    uint8_t out[20];

    srv_stop(s); /* vtpm-mgr stopped: the socket file is gone */
    assert_int_equal(tpmfile_write(f, getrandom8, sizeof(getrandom8)), -EIO);
    assert_int_equal(tpmfile_read(f, out, sizeof(out)), 0);
    assert_int_equal(tpmfile_poll(f), POLLOUT | POLLWRNORM);
    srv_listen(s); /* vtpm-mgr restarted: the same open file works again */
    assert_int_equal(tpmfile_write(f, getrandom8, sizeof(getrandom8)), sizeof(getrandom8));
    assert_int_equal(tpmfile_read(f, out, sizeof(out)), 20);
    tpmfile_free(f);
}

static void test_refused(void **state)
{
    struct srv *s = *state;
    struct sockclient sc;
    struct tpmfile *f = open_file(s, &sc, 5000);
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    int fd;

    /* A socket file nobody listens on (a crashed daemon leaves one). */
    srv_stop(s);
    strcpy(sa.sun_path, s->path);
    fd = socket(AF_UNIX, SOCK_STREAM, 0);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    close(fd);
    assert_int_equal(tpmfile_write(f, getrandom8, sizeof(getrandom8)), -EIO);
    unlink(s->path);
    tpmfile_free(f);
}

static int64_t ms_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void test_silent_server_times_out(void **state)
{
    struct srv *s = *state;
    struct sockclient sc;
    struct tpmfile *f = open_file(s, &sc, 300);
    int64_t t0 = ms_now(), dt;

    atomic_store(&s->mode, SRV_SILENT);
    assert_int_equal(tpmfile_write(f, getrandom8, sizeof(getrandom8)), -EIO);
    dt = ms_now() - t0;
    assert_true(dt >= 250 && dt < 2000);
    assert_int_equal(tpmfile_poll(f), POLLOUT | POLLWRNORM);
    tpmfile_free(f);
}

static void test_broken_responses(void **state)
{
    struct srv *s = *state;
    struct sockclient sc;
    struct tpmfile *f = open_file(s, &sc, 5000);
    uint8_t out[20];

    atomic_store(&s->mode, SRV_TRUNCATED);
    assert_int_equal(tpmfile_write(f, getrandom8, sizeof(getrandom8)), -EIO);
    atomic_store(&s->mode, SRV_BAD_TAG);
    assert_int_equal(tpmfile_write(f, getrandom8, sizeof(getrandom8)), -EIO);
    assert_int_equal(tpmfile_read(f, out, sizeof(out)), 0);
    atomic_store(&s->mode, SRV_ANSWER);
    assert_int_equal(tpmfile_write(f, getrandom8, sizeof(getrandom8)), sizeof(getrandom8));
    assert_int_equal(tpmfile_read(f, out, sizeof(out)), 20);
    tpmfile_free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_whole_response, setup, teardown),
        cmocka_unit_test_setup_teardown(test_partial_reads, setup, teardown),
        cmocka_unit_test_setup_teardown(test_one_outstanding, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_command_not_sent, setup, teardown),
        cmocka_unit_test_setup_teardown(test_socket_gone_then_back, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_silent_server_times_out, setup, teardown),
        cmocka_unit_test_setup_teardown(test_broken_responses, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
