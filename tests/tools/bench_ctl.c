/* SPDX-License-Identifier: BSD-3-Clause */
/* Benchmark tool: times vTPM creation over the control protocol, or runs of any command. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ctlproto.h"
#include "benchutil.h"

#define REPLY_TIMEOUT_S 60
#define SOCK_MAX 256

static void usage(void)
{
    fprintf(stderr,
        "usage: bench_ctl create RUN_DIR N [TENANT]\n"
        "         N creates over <RUN_DIR>/vtpm-mgr.sock; prints \"usec<TAB>socket\" per create\n"
        "       bench_ctl exec N CMD [ARG...]\n"
        "         runs CMD N times (output discarded; \"@I@\" in an argument becomes the run\n"
        "         index); prints the wall time of each run in usec; stops at the first failure\n");
}

static int connect_mgr(const char *run_dir)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    struct timeval tv = { .tv_sec = REPLY_TIMEOUT_S };
    int fd;

    if (snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/vtpm-mgr.sock", run_dir) >=
        (int)sizeof(sa.sun_path))
        return -ENAMETOOLONG;
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        int e = errno;
        close(fd);
        return -e;
    }
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    return fd;
}

static cbor_item_t *create_request(const char *tenant)
{
    cbor_item_t *m = ctl_map_new();

    if (!m || ctl_put_uint(m, "v", CTL_PROTO_VERSION) || ctl_put_str(m, "op", "create") ||
        (tenant && ctl_put_str(m, "tenant", tenant))) {
        if (m)
            cbor_decref(&m);
        return NULL;
    }
    return m;
}

/* Checks a create reply; copies the vTPM's socket path into sock. */
static int check_reply(const cbor_item_t *resp, char *sock, size_t socksz)
{
    char err[512];
    int ok = 0;

    if (ctl_get_bool(resp, "ok", &ok) == 0 && ok)
        return ctl_get_str(resp, "socket", sock, socksz) ? -EBADMSG : 0;
    if (ctl_get_str(resp, "error", err, sizeof(err)))
        strcpy(err, "malformed reply");
    fprintf(stderr, "bench_ctl: create refused: %s\n", err);
    return -EPROTO;
}

/* One create, from connect to the decoded reply. */
static int create_one(const char *run_dir, const char *tenant, char *sock, size_t socksz)
{
    cbor_item_t *req = create_request(tenant), *resp = NULL;
    int fd, r;

    if (!req)
        return -ENOMEM;
    fd = connect_mgr(run_dir);
    if (fd < 0) {
        cbor_decref(&req);
        return fd;
    }
    r = ctl_send(fd, req);
    if (r == 0)
        r = ctl_recv(fd, CTL_MAX_RESPONSE, &resp);
    close(fd);
    cbor_decref(&req);
    if (r == 0) {
        r = check_reply(resp, sock, socksz);
        cbor_decref(&resp);
    }
    return r;
}

static int parse_count(const char *s, long *n)
{
    char *end;

    errno = 0;
    *n = strtol(s, &end, 10);
    return (errno || *end || end == s || *n < 1 || *n > 100000) ? -1 : 0;
}

static int cmd_create(int argc, char **argv)
{
    const char *tenant = argc > 4 ? argv[4] : NULL;
    char sock[SOCK_MAX];
    long n;

    if (argc < 4 || argc > 5 || parse_count(argv[3], &n)) {
        usage();
        return 2;
    }
    for (long i = 0; i < n; i++) {
        double t0 = now_us();
        int r = create_one(argv[2], tenant, sock, sizeof(sock));
        if (r) {
            fprintf(stderr, "bench_ctl: create %ld of %ld failed: %s\n", i + 1, n, strerror(-r));
            return 1;
        }
        printf("%.1f\t%s\n", now_us() - t0, sock);
    }
    return 0;
}

/* Replaces "@I@" in each argument by the run index (into a callee-allocated vector). */
static char **expand_args(char **args, int nargs, long idx)
{
    char **v = calloc((size_t)nargs + 1, sizeof(*v));

    for (int i = 0; v && i < nargs; i++) {
        const char *at = strstr(args[i], "@I@");
        if (!at) {
            v[i] = args[i];
            continue;
        }
        if (asprintf(&v[i], "%.*s%ld%s", (int)(at - args[i]), args[i], idx, at + 3) < 0) {
            free(v);
            return NULL;
        }
    }
    return v;
}

static int run_once(char **argv)
{
    int st;
    pid_t pid = fork();

    if (pid < 0)
        return -1;
    if (pid == 0) {
        if (!freopen("/dev/null", "w", stdout) || !freopen("/dev/null", "w", stderr))
            _exit(126);
        execvp(argv[0], argv);
        _exit(127);
    }
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR)
            return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static int cmd_exec(int argc, char **argv)
{
    long n;

    if (argc < 4 || parse_count(argv[2], &n)) {
        usage();
        return 2;
    }
    for (long i = 0; i < n; i++) {
        char **v = expand_args(argv + 3, argc - 3, i);
        double t0 = now_us();
        int r = v ? run_once(v) : -1;
        double dt = now_us() - t0;
        /* expanded arguments are the heap ones: those that differ from the originals */
        for (int k = 0; v && k < argc - 3; k++)
            if (v[k] != argv[3 + k])
                free(v[k]);
        free(v);
        if (r) {
            fprintf(stderr, "bench_ctl: run %ld of %s failed (status %d)\n", i + 1, argv[3], r);
            return 1;
        }
        printf("%.1f\n", dt);
    }
    return 0;
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc >= 2 && !strcmp(argv[1], "create"))
        return cmd_create(argc, argv);
    if (argc >= 2 && !strcmp(argv[1], "exec"))
        return cmd_exec(argc, argv);
    usage();
    return 2;
}
