/* SPDX-License-Identifier: BSD-3-Clause */
/* Unit tests of the hook's side of the agent service socket (hookfwd.c) against a forked
 * fake service: the request it sends, every kind of reply, and a service that hangs up. */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "ctlproto.h"
#include "hookfwd.h"

enum reply { R_ALLOW, R_DENY, R_FALLBACK, R_ERROR, R_HANGUP, R_NOVERDICT };

static char g_path[108];

static int listen_tmp(void)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);

    snprintf(g_path, sizeof(g_path), "/tmp/hookfwd-test-%d.sock", (int)getpid());
    unlink(g_path);
    memcpy(sa.sun_path, g_path, strlen(g_path) + 1);
    assert_true(fd >= 0);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(listen(fd, 1), 0);
    return fd;
}

/* 1 when req is {"v":1,"op":"hook","args":["--verifier","http://x"],"state":"{}"}. */
static int request_ok(const cbor_item_t *req)
{
    cbor_item_t *args = ctl_get(req, "args"), *a0;
    const uint8_t *st;
    size_t n;
    uint64_t v;
    char op[8];
    int ok;

    if (ctl_get_uint(req, "v", &v) || v != 1 || ctl_get_str(req, "op", op, sizeof(op)) ||
        strcmp(op, "hook") || ctl_get_bytes(req, "state", &st, &n) || n != 2 ||
        memcmp(st, "{}", 2) || !args || !cbor_isa_array(args) || cbor_array_size(args) != 2)
        return 0;
    a0 = cbor_array_get(args, 0);
    ok = cbor_isa_string(a0) && cbor_string_length(a0) == 10 &&
         !memcmp(cbor_string_handle(a0), "--verifier", 10);
    cbor_decref(&a0);
    return ok;
}

static cbor_item_t *make_reply(enum reply kind)
{
    cbor_item_t *m = kind == R_FALLBACK || kind == R_ERROR ? ctl_error(EINVAL, "no") : ctl_ok();

    if (kind == R_ALLOW || kind == R_DENY) {
        ctl_put_bool(m, "allowed", kind == R_ALLOW);
        ctl_put_bytes(m, "stderr", (const uint8_t *)"fake: reason\n", 13);
    }
    if (kind == R_FALLBACK)
        ctl_put_bool(m, "fallback", 1);
    return m;
}

/* The fake service: one connection, checks the request, answers kind; exit 0 if all went well. */
static void serve_once(int lfd, enum reply kind)
{
    cbor_item_t *req = NULL, *rep;
    int c = accept(lfd, NULL, NULL), ok;

    if (c < 0 || ctl_recv(c, HOOKFWD_REQ_MAX, &req) < 0)
        _exit(3);
    ok = request_ok(req);
    cbor_decref(&req);
    if (kind != R_HANGUP) {
        rep = make_reply(kind);
        if (!rep || ctl_send(c, rep) < 0)
            _exit(4);
        cbor_decref(&rep);
    }
    close(c);
    _exit(ok ? 0 : 5);
}

static int run_against(enum reply kind)
{
    char *args[] = { "--verifier", "http://x" };
    int lfd = listen_tmp(), st = 0, r;
    pid_t pid = fork();

    assert_true(pid >= 0);
    if (pid == 0)
        serve_once(lfd, kind);
    close(lfd);
    r = hookfwd_run(g_path, args, 2, (const uint8_t *)"{}", 2);
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
    unlink(g_path);
    return r;
}

static void test_no_service(void **state)
{
    char *args[] = { "--verifier", "http://x" };

    (void)state;
    assert_int_equal(hookfwd_run("/nonexistent/agent.sock", args, 2, (const uint8_t *)"{}", 2),
                     HOOKFWD_FALLBACK);
}

static void test_replies(void **state)
{
    (void)state;
    assert_int_equal(run_against(R_ALLOW), 0);
    assert_int_equal(run_against(R_DENY), 1);
    assert_int_equal(run_against(R_FALLBACK), HOOKFWD_FALLBACK);
    assert_int_equal(run_against(R_ERROR), 1);       /* an error is a deny, not a retry */
    assert_int_equal(run_against(R_HANGUP), 1);      /* so is a service that hangs up */
    assert_int_equal(run_against(R_NOVERDICT), 1);   /* ok without "allowed" */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_no_service),
        cmocka_unit_test(test_replies),
    };

    signal(SIGPIPE, SIG_IGN);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
