/* SPDX-License-Identifier: BSD-3-Clause */
/* Unit tests of the worker's IPC framing: validation rules and datagram receive/send. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "../../vtpm-mgr/worker/ipc.h"

static uint8_t buf[IPC_BUF_SIZE + 64];

static size_t mk(uint32_t type, uint32_t len, uint32_t arg)
{
    struct vtpm_ipc_hdr h = { .type = type, .seq = 7, .len = len, .arg = arg };

    memcpy(buf, &h, sizeof(h));
    memset(buf + sizeof(h), 0x5a, len);
    return sizeof(h) + len;
}

static void test_valid_messages(void **state)
{
    struct vtpm_ipc_hdr h;

    assert_int_equal(wipc_validate(buf, mk(IPC_INST_CREATE, 0, VTPM_EK_ECC_P256), 0, &h), 0);
    assert_int_equal(h.seq, 7);
    assert_int_equal(wipc_validate(buf, mk(IPC_INST_CREATE, 0, VTPM_EK_RSA_2048), 0, &h), 0);
    assert_int_equal(wipc_validate(buf, mk(IPC_INST_SET_EKCERT, 900, VTPM_EK_ECC_P256), 0, &h), 0);
    assert_int_equal(wipc_validate(buf, mk(IPC_INST_LOAD, VTPM_IPC_MAX_PAYLOAD, 0), 0, &h), 0);
    assert_int_equal(wipc_validate(buf, mk(IPC_INST_ATTACH, 0, 1000), 2, &h), 0);
    assert_int_equal(wipc_validate(buf, mk(IPC_STATE_ACK, 0, 0), 0, &h), 0);
    assert_int_equal(wipc_validate(buf, mk(IPC_STATS, 0, 0), 0, &h), 0);
    assert_int_equal(wipc_validate(buf, mk(IPC_ADOPT, 0, 0), 0, &h), 0);
    assert_int_equal(wipc_validate(buf, mk(IPC_INST_RETURN_FDS, 0, 0), 0, &h), 0);
}

static void test_framing_errors(void **state)
{
    struct vtpm_ipc_hdr h;
    size_t n = mk(IPC_INST_LOAD, 100, 0);

    assert_int_equal(wipc_validate(buf, 0, 0, &h), -EPROTO);
    assert_int_equal(wipc_validate(buf, sizeof(h) - 1, 0, &h), -EPROTO);
    assert_int_equal(wipc_validate(buf, n - 1, 0, &h), -EPROTO); /* truncated */
    assert_int_equal(wipc_validate(buf, n + 1, 0, &h), -EPROTO); /* trailing byte */
    n = mk(IPC_INST_LOAD, VTPM_IPC_MAX_PAYLOAD + 1, 0);
    assert_int_equal(wipc_validate(buf, n, 0, &h), -EPROTO);
}

static void test_type_rules(void **state)
{
    struct vtpm_ipc_hdr h;

    assert_int_equal(wipc_validate(buf, mk(0, 0, 0), 0, &h), -EPROTO);
    assert_int_equal(wipc_validate(buf, mk(IPC_REPLY, 0, 0), 0, &h), -EPROTO);
    assert_int_equal(wipc_validate(buf, mk(IPC_STATE_STORE, 4, 1), 0, &h), -EPROTO);
    assert_int_equal(wipc_validate(buf, mk(9999, 0, 0), 0, &h), -EPROTO);
    assert_int_equal(wipc_validate(buf, mk(IPC_INST_CREATE, 0, 0), 0, &h), -EPROTO);
    assert_int_equal(wipc_validate(buf, mk(IPC_INST_CREATE, 0, 3), 0, &h), -EPROTO);
    assert_int_equal(wipc_validate(buf, mk(IPC_INST_CREATE, 1, 1), 0, &h), -EPROTO);
    assert_int_equal(wipc_validate(buf, mk(IPC_INST_SET_EKCERT, 0, 1), 0, &h), -EPROTO);
    assert_int_equal(wipc_validate(buf, mk(IPC_INST_SET_EKCERT, EKCERT_MAX + 1, 1), 0, &h), -EPROTO);
    assert_int_equal(wipc_validate(buf, mk(IPC_INST_LOAD, 0, 0), 0, &h), -EPROTO);
    assert_int_equal(wipc_validate(buf, mk(IPC_INST_ATTACH, 0, 0), 0, &h), -EPROTO);
    assert_int_equal(wipc_validate(buf, mk(IPC_INST_ATTACH, 0, 0), 1, &h), -EPROTO);
    assert_int_equal(wipc_validate(buf, mk(IPC_INST_REMOVE, 0, 0), 1, &h), -EPROTO);
    assert_int_equal(wipc_validate(buf, mk(IPC_STATS, 8, 0), 0, &h), -EPROTO);
    /* Adoption requests carry nothing, and never descriptors towards the worker. */
    assert_int_equal(wipc_validate(buf, mk(IPC_ADOPT, 4, 0), 0, &h), -EPROTO);
    assert_int_equal(wipc_validate(buf, mk(IPC_ADOPT, 0, 0), 1, &h), -EPROTO);
    assert_int_equal(wipc_validate(buf, mk(IPC_INST_RETURN_FDS, 0, 0), 2, &h), -EPROTO);
    assert_int_equal(wipc_validate(buf, mk(IPC_INST_RETURN_FDS, 16, 0), 0, &h), -EPROTO);
}

static void test_send_recv(void **state)
{
    int sv[2];
    struct vtpm_ipc_hdr h = { .type = IPC_INST_LOAD, .seq = 3, .len = 5 };
    struct ipc_msg m;

    assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
    assert_int_equal(wipc_send(sv[0], &h, "hello"), 0);
    assert_int_equal(wipc_recv(sv[1], buf, &m), 1);
    assert_int_equal(m.hdr.seq, 3);
    assert_memory_equal(m.payload, "hello", 5);
    assert_int_equal(m.nfds, 0);
    /* lying length field */
    h.len = 6;
    memcpy(buf, &h, sizeof(h));
    assert_int_equal(send(sv[0], buf, sizeof(h) + 5, 0), (ssize_t)(sizeof(h) + 5));
    assert_int_equal(wipc_recv(sv[1], buf, &m), -EPROTO);
    close(sv[0]);
    assert_int_equal(wipc_recv(sv[1], buf, &m), 0); /* EOF */
    close(sv[1]);
}

static void test_oversize_datagram(void **state)
{
    int sv[2], big = 2 * 1024 * 1024;
    size_t n = IPC_BUF_SIZE + 16;
    uint8_t *p = calloc(1, n);
    struct vtpm_ipc_hdr h = { .type = IPC_INST_LOAD, .len = (uint32_t)(n - sizeof(h)) };
    struct ipc_msg m;

    assert_non_null(p);
    assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
    setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &big, sizeof(big));
    setsockopt(sv[1], SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
    memcpy(p, &h, sizeof(h));
    assert_int_equal(send(sv[0], p, n, 0), (ssize_t)n);
    assert_int_equal(wipc_recv(sv[1], buf, &m), -EPROTO);
    close(sv[0]);
    close(sv[1]);
    free(p);
}

/* Descriptors on a message that must not carry any are closed, not leaked. */
static void test_stray_fds_closed(void **state)
{
    int sv[2], pfd[2];
    struct vtpm_ipc_hdr h = { .type = IPC_STATS };
    char cbuf[CMSG_SPACE(sizeof(int))];
    struct iovec iov = { &h, sizeof(h) };
    struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
                         .msg_controllen = sizeof(cbuf) };
    struct cmsghdr *c;
    struct ipc_msg m;
    char b;

    assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
    assert_int_equal(pipe(pfd), 0);
    c = CMSG_FIRSTHDR(&mh);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(c), &pfd[1], sizeof(int));
    assert_true(sendmsg(sv[0], &mh, 0) > 0);
    close(pfd[1]);
    assert_int_equal(wipc_recv(sv[1], buf, &m), -EPROTO);
    /* every write end is closed now: the read end sees EOF */
    assert_int_equal(read(pfd[0], &b, 1), 0);
    close(pfd[0]);
    close(sv[0]);
    close(sv[1]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_messages),
        cmocka_unit_test(test_framing_errors),
        cmocka_unit_test(test_type_rules),
        cmocka_unit_test(test_send_recv),
        cmocka_unit_test(test_oversize_datagram),
        cmocka_unit_test(test_stray_fds_closed),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
