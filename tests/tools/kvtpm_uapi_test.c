// SPDX-License-Identifier: BSD-3-Clause
/*
 * kmod-vtpm uapi and server-fd protocol tests, run as root in the guest with
 * the module loaded: argument validation (size, flags, reserved, label, pid,
 * duplicate UUID, stale destroy), the capability check, and the command /
 * response protocol end to end without a TPM (this process is both server
 * and client). Prints one line per check and exits non-zero on any failure.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "uapi/vtpm_attest.h"

static int failures;

static void check(int ok, const char *what)
{
	printf("%s %s\n", ok ? "ok  " : "FAIL", what);
	if (!ok)
		failures++;
}

static void expect_errno(int r, int err, const char *what)
{
	char msg[160];

	snprintf(msg, sizeof(msg), "%s (want %s, got %s)", what, strerror(err),
		 r == 0 ? "success" : strerror(errno));
	check(r != 0 && errno == err, msg);
}

static void init_create(struct vtpm_attest_create *c, unsigned char tag)
{
	memset(c, 0, sizeof(*c));
	c->size = sizeof(*c);
	c->pid = (unsigned int)getpid();
	memset(c->uuid, tag, sizeof(c->uuid));
	memset(c->ek_digest, 0xab, sizeof(c->ek_digest));
	memcpy(c->label, "uapi-test", 9);
}

static void test_create_validation(int ctl)
{
	struct vtpm_attest_create c;

	init_create(&c, 1);
	c.size = sizeof(c) - 8;
	expect_errno(ioctl(ctl, VTPM_ATTEST_IOC_CREATE, &c), EINVAL, "create: wrong size");
	init_create(&c, 1);
	c.flags = 0x80;
	expect_errno(ioctl(ctl, VTPM_ATTEST_IOC_CREATE, &c), EINVAL, "create: unknown flag");
	init_create(&c, 1);
	c.reserved1[3] = 1;
	expect_errno(ioctl(ctl, VTPM_ATTEST_IOC_CREATE, &c), EINVAL, "create: reserved set");
	init_create(&c, 1);
	c.server_fd = 3;
	expect_errno(ioctl(ctl, VTPM_ATTEST_IOC_CREATE, &c), EINVAL, "create: output field set");
	init_create(&c, 0);
	expect_errno(ioctl(ctl, VTPM_ATTEST_IOC_CREATE, &c), EINVAL, "create: nil uuid");
	init_create(&c, 1);
	memcpy(c.label, "bad label", 9);
	expect_errno(ioctl(ctl, VTPM_ATTEST_IOC_CREATE, &c), EINVAL, "create: label with space");
	init_create(&c, 1);
	memset(c.label, 'a', sizeof(c.label));
	expect_errno(ioctl(ctl, VTPM_ATTEST_IOC_CREATE, &c), EINVAL, "create: unterminated label");
	init_create(&c, 1);
	c.pid = 5000000;
	expect_errno(ioctl(ctl, VTPM_ATTEST_IOC_CREATE, &c), EINVAL, "create: pid out of range");
	init_create(&c, 1);
	c.pid = 99999;
	expect_errno(ioctl(ctl, VTPM_ATTEST_IOC_CREATE, &c), ESRCH, "create: no such pid");
	expect_errno(ioctl(ctl, _IO(VTPM_ATTEST_IOC_MAGIC, 0x1f)), ENOTTY, "unknown ioctl");
}

static void test_unprivileged(int ctl)
{
	struct vtpm_attest_create c;
	pid_t pid;
	int st;

	pid = fork();
	if (pid == 0) {
		init_create(&c, 2);
		if (setresuid(65534, 65534, 65534))
			_exit(3);
		_exit(ioctl(ctl, VTPM_ATTEST_IOC_CREATE, &c) == -1 && errno == EPERM ? 0 : 1);
	}
	check(pid > 0 && waitpid(pid, &st, 0) == pid && WIFEXITED(st) &&
	      WEXITSTATUS(st) == 0, "create without CAP_SYS_ADMIN: EPERM");
}

static const unsigned char cmd_getrandom[12] = {
	0x80, 0x01, 0, 0, 0, 12, 0, 0, 0x01, 0x7b, 0, 8 };
static const unsigned char rsp_ok[10] = { 0x80, 0x01, 0, 0, 0, 10, 0, 0, 0, 0 };

static int open_client(unsigned int index, int flags)
{
	char path[64];

	snprintf(path, sizeof(path), "/dev/vtpm%u", index);
	return open(path, O_RDWR | O_CLOEXEC | flags);
}

static void test_roundtrip(int sfd, int cfd)
{
	unsigned char buf[VTPM_ATTEST_BUF_SIZE];
	struct pollfd p = { .fd = sfd, .events = POLLIN };

	check(write(cfd, cmd_getrandom, 5) == -1 && errno == EINVAL, "client: short command EINVAL");
	memcpy(buf, cmd_getrandom, 12);
	buf[5] = 13;
	check(write(cfd, buf, 12) == -1 && errno == EINVAL, "client: header size mismatch EINVAL");
	check(read(sfd, buf, sizeof(buf)) == -1 && errno == EAGAIN, "server: nothing pending EAGAIN");
	check(write(cfd, cmd_getrandom, 12) == 12, "client: command queued");
	check(write(cfd, cmd_getrandom, 12) == -1 && errno == EBUSY, "client: second command EBUSY");
	check(poll(&p, 1, 1000) == 1 && (p.revents & POLLIN), "server: poll POLLIN");
	check(read(sfd, buf, 8) == -1 && errno == EMSGSIZE, "server: small buffer EMSGSIZE");
	check(read(sfd, buf, sizeof(buf)) == 12 && !memcmp(buf, cmd_getrandom, 12),
	      "server: reads the whole command");
	check(read(sfd, buf, sizeof(buf)) == -1 && errno == EBUSY, "server: read while owing EBUSY");
	check(read(cfd, buf, sizeof(buf)) == -1 && errno == EAGAIN, "client: no response yet EAGAIN");
	check(write(sfd, rsp_ok, 10) == 10, "server: response written");
	check(write(sfd, rsp_ok, 10) == -1 && errno == EINVAL, "server: unsolicited response EINVAL");
	p.fd = cfd;
	check(poll(&p, 1, 1000) == 1 && (p.revents & POLLIN), "client: poll POLLIN");
	check(read(cfd, buf, 4) == 4 && read(cfd, buf + 4, sizeof(buf) - 4) == 6 &&
	      !memcmp(buf, rsp_ok, 10), "client: response (partial reads)");
	check(read(cfd, buf, sizeof(buf)) == 0, "client: nothing more");
}

static void test_cancel(int sfd, unsigned int index)
{
	unsigned char buf[VTPM_ATTEST_BUF_SIZE];
	int c1 = open_client(index, O_NONBLOCK);
	int c2 = open_client(index, O_NONBLOCK);

	check(c1 >= 0 && c2 >= 0, "two clients open");
	check(write(c1, cmd_getrandom, 12) == 12 && write(c2, cmd_getrandom, 12) == 12,
	      "two clients queue a command each");
	check(read(sfd, buf, sizeof(buf)) == 12, "server: takes the first");
	close(c1);
	check(write(sfd, rsp_ok, 10) == 10, "server: response to a closed client is dropped");
	check(read(sfd, buf, sizeof(buf)) == 12 && write(sfd, rsp_ok, 10) == 10,
	      "server: second client's command served");
	check(read(c2, buf, sizeof(buf)) == 10, "client 2 gets its response");
	close(c2);
}

static void test_server_gone(int ctl, struct vtpm_attest_create *c)
{
	struct vtpm_attest_destroy d = { .size = sizeof(d), .index = c->index };
	unsigned char buf[64];
	int cfd = open_client(c->index, 0);

	check(cfd >= 0 && write(cfd, cmd_getrandom, 12) == 12, "client queued before destroy");
	expect_errno(ioctl(ctl, VTPM_ATTEST_IOC_DESTROY, &d), ESTALE, "destroy: wrong uuid");
	memcpy(d.uuid, c->uuid, sizeof(d.uuid));
	check(ioctl(ctl, VTPM_ATTEST_IOC_DESTROY, &d) == 0, "destroy");
	check(read(cfd, buf, sizeof(buf)) == -1 && errno == EPIPE, "client: EPIPE after destroy");
	check(read(c->server_fd, buf, sizeof(buf)) == 0, "server: EOF after destroy");
	check(open_client(c->index, 0) == -1, "node gone after destroy");
	expect_errno(ioctl(ctl, VTPM_ATTEST_IOC_DESTROY, &d), ENODEV, "destroy twice");
	close(cfd);
	close(c->server_fd);
}

static void test_query(int ctl, const struct vtpm_attest_create *c)
{
	struct vtpm_attest_query q = { .size = sizeof(q), .index = c->index };

	check(ioctl(ctl, VTPM_ATTEST_IOC_QUERY, &q) == 0 &&
	      !memcmp(q.uuid, c->uuid, sizeof(q.uuid)) &&
	      !memcmp(q.ek_digest, c->ek_digest, sizeof(q.ek_digest)) &&
	      (q.state & VTPM_ATTEST_STATE_SERVER) && q.commands == 3 &&
	      q.responses == 2 && q.cancelled == 1, "query by index: fields and counters");
	memset(&q, 0, sizeof(q));
	q.size = sizeof(q);
	q.flags = VTPM_ATTEST_QUERY_BY_UUID;
	memcpy(q.uuid, c->uuid, sizeof(q.uuid));
	check(ioctl(ctl, VTPM_ATTEST_IOC_QUERY, &q) == 0 && q.index == c->index,
	      "query by uuid");
	q.flags = 0x10;
	expect_errno(ioctl(ctl, VTPM_ATTEST_IOC_QUERY, &q), EINVAL, "query: unknown flag");
}

int main(void)
{
	struct vtpm_attest_create c, dup;
	int ctl, cfd;

	ctl = open("/dev/" VTPM_ATTEST_CONTROL_NAME, O_RDWR | O_CLOEXEC);
	if (ctl < 0) {
		perror("/dev/" VTPM_ATTEST_CONTROL_NAME);
		return 1;
	}
	test_create_validation(ctl);
	test_unprivileged(ctl);
	init_create(&c, 7);
	check(ioctl(ctl, VTPM_ATTEST_IOC_CREATE, &c) == 0 && c.server_fd > 2, "create");
	init_create(&dup, 7);
	expect_errno(ioctl(ctl, VTPM_ATTEST_IOC_CREATE, &dup), EEXIST, "create: duplicate uuid");
	fcntl(c.server_fd, F_SETFL, O_NONBLOCK);
	cfd = open_client(c.index, O_NONBLOCK);
	check(cfd >= 0, "client open in the bound namespaces");
	if (cfd >= 0) {
		test_roundtrip(c.server_fd, cfd);
		close(cfd);
		test_cancel(c.server_fd, c.index);
		test_query(ctl, &c);
	}
	fcntl(c.server_fd, F_SETFL, 0);
	test_server_gone(ctl, &c);
	close(ctl);
	printf("uapi: %d failure(s)\n", failures);
	return failures ? 1 : 0;
}
