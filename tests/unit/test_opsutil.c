/* SPDX-License-Identifier: BSD-3-Clause */
/* Unit tests of the daemons' shared operations helpers: config files expanded into options
 * (cfgfile.c), single-instance locks and their holder's pid (runlock.c). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <getopt.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "cfgfile.h"
#include "runlock.h"

static const struct option opts[] = {
    { "run-dir", required_argument, NULL, 'r' },
    { "pool", required_argument, NULL, 'p' },
    { "foreground", no_argument, NULL, 'f' },
    { "peer", required_argument, NULL, 'e' },
    { "help", no_argument, NULL, 'h' },
    { NULL, 0, NULL, 0 },
};

static char g_dir[] = "/tmp/test-opsutil.XXXXXX";

static const char *write_cfg(const char *name, const char *text)
{
    static char path[128];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", g_dir, name);
    assert_non_null(f = fopen(path, "w"));
    fputs(text, f);
    fclose(f);
    return path;
}

/* The vectors cfgfile_expand makes live as long as the process (its contract): kept here,
 * reachable, as a command's would be. */
static char **kept[64];
static size_t n_kept;

static int expand(const char *text, int argc, char **argv, int *outc, char ***outv)
{
    const char *p = write_cfg("c.json", text);
    char **v = calloc((size_t)argc + 3, sizeof(*v));
    int n = 0, r;

    v[n++] = argv[0];
    v[n++] = "--config";
    v[n++] = (char *)p;
    for (int i = 1; i < argc; i++)
        v[n++] = argv[i];
    *outc = n;
    *outv = v;
    r = cfgfile_expand("test", "test-none", opts, 1, outc, outv);
    assert_true(n_kept + 2 <= sizeof(kept) / sizeof(kept[0]));
    kept[n_kept++] = v;
    if (*outv != v)
        kept[n_kept++] = *outv;
    return r;
}

/* Scalars, flags, arrays; the file's options come first, the command line's last. */
static void test_cfg_order(void **state)
{
    char *argv[] = { "prog", "--pool", "7", NULL };
    char **v;
    int c;

    (void)state;
    assert_int_equal(expand("{\"run-dir\": \"/r\", \"pool\": 2, \"foreground\": true,"
                            " \"peer\": [\"a\", 3]}", 3, argv, &c, &v), 0);
    assert_int_equal(c, 8);
    assert_string_equal(v[0], "prog");
    assert_string_equal(v[1], "--run-dir=/r");
    assert_string_equal(v[2], "--pool=2");
    assert_string_equal(v[3], "--foreground");
    assert_string_equal(v[4], "--peer=a");
    assert_string_equal(v[5], "--peer=3");
    assert_string_equal(v[6], "--pool");
    assert_string_equal(v[7], "7");
    assert_null(v[8]);
}

static void test_cfg_errors(void **state)
{
    char *argv[] = { "prog", NULL };
    char **v;
    int c;

    (void)state;
    assert_int_equal(expand("{\"bogus\": 1}", 1, argv, &c, &v), -1);
    assert_int_equal(expand("{\"help\": true}", 1, argv, &c, &v), -1);
    assert_int_equal(expand("{\"foreground\": \"yes\"}", 1, argv, &c, &v), -1);
    assert_int_equal(expand("{\"pool\": true}", 1, argv, &c, &v), -1);
    assert_int_equal(expand("{\"pool\": null}", 1, argv, &c, &v), -1);
    assert_int_equal(expand("{\"peer\": []}", 1, argv, &c, &v), -1);
    assert_int_equal(expand("{\"peer\": [{}]}", 1, argv, &c, &v), -1);
    assert_int_equal(expand("[1]", 1, argv, &c, &v), -1);
    assert_int_equal(expand("{\"pool\": 1, \"pool\": 2}", 1, argv, &c, &v), -1);
    assert_int_equal(expand("{", 1, argv, &c, &v), -1);
}

/* false leaves a flag out; no --config and no default file: argv untouched; the caller's
 * vector is never modified (verifier re-executes itself with it). */
static void test_cfg_none(void **state)
{
    char *argv[] = { "prog", "--config=x", NULL };
    char *plain[] = { "prog", "--pool", "1", NULL };
    char **v = plain;
    int c = 3;

    (void)state;
    assert_int_equal(cfgfile_expand("test", "test-none-such", opts, 1, &c, &v), 0);
    assert_ptr_equal(v, plain);
    assert_int_equal(c, 3);
    write_cfg("x", "{\"foreground\": false}");
    assert_int_equal(chdir(g_dir), 0);
    v = argv;
    c = 2;
    assert_int_equal(cfgfile_expand("test", "test-none-such", opts, 1, &c, &v), 0);
    kept[n_kept++] = v; /* the new vector lives on, as expand()'s */
    assert_int_equal(c, 1);
    assert_string_equal(argv[1], "--config=x");
    v = argv;
    c = 2;
    argv[1] = "--config=/nonexistent/x.json";
    assert_int_equal(cfgfile_expand("test", "test-none-such", opts, 1, &c, &v), -1);
}

/* A second lock on the same file fails with -EBUSY; the holder's pid is found. */
static void test_runlock(void **state)
{
    char path[128];
    int fd, p[2], r;
    pid_t child;
    char c;

    (void)state;
    snprintf(path, sizeof(path), "%s/x.lock", g_dir);
    assert_int_equal(pipe(p), 0);
    child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        int lfd = runlock_take(path, "the test socket");
        c = lfd >= 0 ? 'y' : 'n';
        (void)!write(p[1], &c, 1);
        pause();
        _exit(0);
    }
    assert_int_equal(read(p[0], &c, 1), 1);
    assert_int_equal(c, 'y');
    assert_int_equal(runlock_take(path, "the test socket"), -EBUSY);
    fd = open(path, O_RDONLY);
    assert_true(fd >= 0);
    assert_int_equal(runlock_holder(fd), child);
    close(fd);
    kill(child, SIGKILL);
    waitpid(child, NULL, 0);
    fd = runlock_take(path, "the test socket");
    assert_true(fd >= 0);
    close(fd);
    close(p[0]);
    close(p[1]);
    /* A directory's lock: held here, refused to a child (flock is per open file). */
    fd = runlock_take_dir(g_dir, "the directory");
    assert_true(fd >= 0);
    child = fork();
    assert_true(child >= 0);
    if (child == 0)
        _exit(runlock_take_dir(g_dir, "the directory") == -EBUSY ? 0 : 1);
    assert_int_equal(waitpid(child, &r, 0), child);
    assert_true(WIFEXITED(r) && WEXITSTATUS(r) == 0);
    close(fd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cfg_order),
        cmocka_unit_test(test_cfg_errors),
        cmocka_unit_test(test_cfg_none),
        cmocka_unit_test(test_runlock),
    };
    int r;

    if (!mkdtemp(g_dir))
        return 1;
    r = cmocka_run_group_tests(tests, NULL, NULL);
    if (fork() == 0)
        execlp("rm", "rm", "-rf", g_dir, (char *)NULL);
    wait(NULL);
    return r;
}
