// SPDX-License-Identifier: BSD-3-Clause
/*
 * Test server for kmod-vtpm: creates a vTPM device bound to the container of
 * --pid and serves its commands by forwarding each one to a real TPM device
 * (default /dev/tpmrm0). Prints "index=N" once the device exists; exits when
 * the device is destroyed or on SIGTERM/SIGINT (closing the server fd).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "uapi/vtpm_attest.h"

struct opts {
	unsigned int pid;
	const char *uuid;
	const char *ek;
	const char *label;
	const char *backend;
	unsigned int delay_ms;
};

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static int hex_to_bin(const char *hex, unsigned char *out, size_t len)
{
	size_t n = 0;
	unsigned int b;

	for (; *hex && n < len; hex++) {
		if (*hex == '-')
			continue;
		if (sscanf(hex, "%2x", &b) != 1 || !hex[1])
			return -1;
		out[n++] = (unsigned char)b;
		hex++;
	}
	return (n == len && !*hex) ? 0 : -1;
}

static int parse_opts(int argc, char **argv, struct opts *o)
{
	static const struct option lo[] = {
		{ "pid", required_argument, NULL, 'p' },
		{ "uuid", required_argument, NULL, 'u' },
		{ "ek-digest", required_argument, NULL, 'e' },
		{ "label", required_argument, NULL, 'l' },
		{ "backend", required_argument, NULL, 'b' },
		{ "delay-ms", required_argument, NULL, 'd' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	memset(o, 0, sizeof(*o));
	o->backend = "/dev/tpmrm0";
	o->label = "";
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 'p': o->pid = (unsigned int)strtoul(optarg, NULL, 10); break;
		case 'u': o->uuid = optarg; break;
		case 'e': o->ek = optarg; break;
		case 'l': o->label = optarg; break;
		case 'b': o->backend = optarg; break;
		case 'd': o->delay_ms = (unsigned int)strtoul(optarg, NULL, 10); break;
		default: return -1;
		}
	}
	return (o->pid && o->uuid) ? 0 : -1;
}

static int create_dev(const struct opts *o, struct vtpm_attest_create *c)
{
	int ctl, r;

	memset(c, 0, sizeof(*c));
	c->size = sizeof(*c);
	c->pid = o->pid;
	if (hex_to_bin(o->uuid, c->uuid, sizeof(c->uuid)))
		return -EINVAL;
	if (o->ek) {
		if (hex_to_bin(o->ek, c->ek_digest, sizeof(c->ek_digest)))
			return -EINVAL;
	} else {
		memset(c->ek_digest, 0xe5, sizeof(c->ek_digest));
	}
	if (strlen(o->label) >= sizeof(c->label))
		return -EINVAL;
	memcpy(c->label, o->label, strlen(o->label));
	ctl = open("/dev/" VTPM_ATTEST_CONTROL_NAME, O_RDWR | O_CLOEXEC);
	if (ctl < 0)
		return -errno;
	r = ioctl(ctl, VTPM_ATTEST_IOC_CREATE, c) ? -errno : 0;
	close(ctl);
	return r;
}

/* One command: server fd -> backend TPM -> server fd. */
static int serve_one(int sfd, int tpm, unsigned int delay_ms)
{
	unsigned char buf[VTPM_ATTEST_BUF_SIZE];
	struct timespec ts = { delay_ms / 1000, (long)(delay_ms % 1000) * 1000000L };
	ssize_t n;

	n = read(sfd, buf, sizeof(buf));
	if (n == 0)
		return 1;
	if (n < 0)
		return (errno == EINTR || errno == EAGAIN) ? 0 : -errno;
	if (delay_ms)
		nanosleep(&ts, NULL);
	if (write(tpm, buf, (size_t)n) != n)
		return -errno;
	n = read(tpm, buf, sizeof(buf));
	if (n <= 0)
		return -EIO;
	if (write(sfd, buf, (size_t)n) != n)
		return -errno;
	return 0;
}

static int serve(int sfd, int tpm, unsigned int delay_ms)
{
	struct pollfd pfd = { .fd = sfd, .events = POLLIN };
	int r = 0;

	while (!stop && r == 0) {
		if (poll(&pfd, 1, 500) <= 0)
			continue;
		r = serve_one(sfd, tpm, delay_ms);
	}
	return r < 0 ? r : 0;
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_signal };
	struct vtpm_attest_create c;
	struct opts o;
	int tpm, r;

	if (parse_opts(argc, argv, &o)) {
		fprintf(stderr, "usage: %s --pid PID --uuid UUID [--ek-digest HEX] "
			"[--label L] [--backend DEV] [--delay-ms N]\n", argv[0]);
		return 2;
	}
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	tpm = open(o.backend, O_RDWR | O_CLOEXEC);
	if (tpm < 0) {
		perror(o.backend);
		return 1;
	}
	r = create_dev(&o, &c);
	if (r) {
		fprintf(stderr, "create: %s\n", strerror(-r));
		return 1;
	}
	printf("index=%u\n", c.index);
	fflush(stdout);
	r = serve(c.server_fd, tpm, o.delay_ms);
	if (r)
		fprintf(stderr, "serve: %s\n", strerror(-r));
	close(c.server_fd);
	close(tpm);
	return r ? 1 : 0;
}
