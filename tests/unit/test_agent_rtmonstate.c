/* SPDX-License-Identifier: BSD-3-Clause */
/* Unit tests of the runtime monitor's state directory: made 0700, refused when others may
 * use it, held by one monitor (flock), files written whole and 0600 (a rewrite replaces the
 * old content, no temporary file left), bounded reads, listing by suffix, removal. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "rtmonstate.h"

static char base[PATH_MAX], dir[PATH_MAX + 16];

static int setup(void **s)
{
    (void)s;
    snprintf(base, sizeof(base), "/tmp/rtstate.XXXXXX");
    if (!mkdtemp(base))
        return -1;
    snprintf(dir, sizeof(dir), "%s/state", base);
    return 0;
}

static int teardown(void **s)
{
    char cmd[PATH_MAX + 16];

    (void)s;
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", base);
    return system(cmd) == 0 ? 0 : -1;
}

static void test_lock(void **s)
{
    struct stat st;
    int a, b;

    (void)s;
    a = rtstate_lock(dir);
    assert_true(a >= 0);
    assert_int_equal(stat(dir, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0700);
    b = rtstate_lock(dir); /* another open file description: the flock conflicts */
    assert_int_equal(b, -EWOULDBLOCK);
    close(a);
    b = rtstate_lock(dir); /* released with the first monitor */
    assert_true(b >= 0);
    close(b);
    assert_int_equal(chmod(dir, 0750), 0);
    assert_int_equal(rtstate_lock(dir), -EPERM); /* a directory others may read */
    assert_int_equal(chmod(dir, 0700), 0);
}

static void count_cb(const char *name, void *arg)
{
    (void)name;
    (*(int *)arg)++;
}

static void test_files(void **s)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    struct stat st;
    char path[PATH_MAX + 64];
    int n = 0, lock;

    (void)s;
    lock = rtstate_lock(dir);
    assert_true(lock >= 0);
    assert_int_equal(rtstate_write(dir, "a.ctr", (const uint8_t *)"first version", 13), 0);
    assert_int_equal(rtstate_write(dir, "a.ctr", (const uint8_t *)"second", 6), 0);
    assert_int_equal(rtstate_write(dir, "a.mf", (const uint8_t *)"m", 1), 0);
    snprintf(path, sizeof(path), "%s/a.ctr", dir);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    snprintf(path, sizeof(path), "%s/.a.ctr.tmp", dir);
    assert_int_equal(access(path, F_OK), -1); /* renamed over the old file */
    assert_int_equal(rtstate_read(dir, "a.ctr", 100, &buf, &len), 0);
    assert_int_equal(len, 6);
    assert_memory_equal(buf, "second", 6);
    free(buf);
    assert_int_equal(rtstate_read(dir, "a.ctr", 5, &buf, &len), -EFBIG);
    assert_null(buf);
    rtstate_each(dir, ".ctr", count_cb, &n);
    assert_int_equal(n, 1); /* not a.mf, not the lock */
    rtstate_remove(dir, "a.ctr");
    assert_int_equal(rtstate_read(dir, "a.ctr", 100, &buf, &len), -ENOENT);
    n = 0;
    rtstate_each(dir, ".ctr", count_cb, &n);
    assert_int_equal(n, 0);
    close(lock);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lock),
        cmocka_unit_test(test_files),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
