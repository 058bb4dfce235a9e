/* SPDX-License-Identifier: BSD-3-Clause */
/* Unit tests of vtpm-mgr's device nodes in a container's root (devnode.c): node names, the
 * node made below a rootfs as the process sees it, an earlier run's node replaced, anything
 * else left alone, an image's symlinked /dev kept inside the image. Needs root (mknod). */
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
#include <sys/sysmacros.h>
#include <unistd.h>
#include <cmocka.h>

#include "../../vtpm-mgr/daemon/devnode.h"

static char g_dir[64];

static int setup(void **state)
{
    snprintf(g_dir, sizeof(g_dir), "/tmp/devnode.XXXXXX");
    return mkdtemp(g_dir) ? 0 : -1;
}

static int teardown(void **state)
{
    char cmd[128];

    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", g_dir);
    return system(cmd) == 0 ? 0 : -1;
}

static void path_of(char *out, size_t n, const char *rel)
{
    snprintf(out, n, "%s/%s", g_dir, rel);
}

static void test_valid(void **state)
{
    assert_true(devnode_valid("/dev/tpm0"));
    assert_true(devnode_valid("/dev/vtpm-1.x_y"));
    assert_false(devnode_valid("/dev/"));
    assert_false(devnode_valid("/dev/."));
    assert_false(devnode_valid("/dev/.."));
    assert_false(devnode_valid("/dev/a/b"));
    assert_false(devnode_valid("/etc/tpm0"));
    assert_false(devnode_valid("dev/tpm0"));
    assert_false(devnode_valid("/dev/../etc/x"));
    assert_false(devnode_valid("/dev/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")); /* 33 */
    assert_int_equal(devnode_make(getpid(), g_dir, "/etc/tpm0", makedev(1, 3), 1, 0, 0),
                     -EINVAL);
    assert_int_equal(devnode_make(getpid(), "relative", "/dev/tpm0", makedev(1, 3), 1, 0, 0),
                     -EINVAL);
}

static void test_make_and_replace(void **state)
{
    char root[PATH_MAX], node[PATH_MAX];
    struct stat st;

    path_of(root, sizeof(root), "r1");
    path_of(node, sizeof(node), "r1/dev");
    assert_int_equal(mkdir(root, 0755), 0);
    assert_int_equal(mkdir(node, 0755), 0);
    path_of(node, sizeof(node), "r1/dev/tpm0");
    assert_int_equal(devnode_make(getpid(), root, "/dev/tpm0", makedev(1, 3), 1, 1234, 5678), 0);
    assert_int_equal(lstat(node, &st), 0);
    assert_true(S_ISCHR(st.st_mode));
    assert_int_equal(st.st_mode & 07777, 0600);
    assert_int_equal(st.st_rdev, makedev(1, 3));
    assert_int_equal(st.st_uid, 1234);
    assert_int_equal(st.st_gid, 5678);
    /* an earlier run's device (same major): replaced by the new one */
    assert_int_equal(devnode_make(getpid(), root, "/dev/tpm0", makedev(1, 5), 1, 0, 0), 0);
    assert_int_equal(lstat(node, &st), 0);
    assert_int_equal(st.st_rdev, makedev(1, 5));
    /* a device of another major: left alone */
    assert_int_equal(devnode_make(getpid(), root, "/dev/tpm0", makedev(7, 1), 7, 0, 0), -EEXIST);
    assert_int_equal(lstat(node, &st), 0);
    assert_int_equal(st.st_rdev, makedev(1, 5));
}

static void test_other_file_kept(void **state)
{
    char root[PATH_MAX], f[PATH_MAX];
    struct stat st;
    int fd;

    path_of(root, sizeof(root), "r2");
    assert_int_equal(mkdir(root, 0755), 0);
    path_of(f, sizeof(f), "r2/dev");
    assert_int_equal(mkdir(f, 0755), 0);
    path_of(f, sizeof(f), "r2/dev/tpm0");
    fd = open(f, O_WRONLY | O_CREAT | O_EXCL, 0644);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "x", 1), 1);
    close(fd);
    assert_int_equal(devnode_make(getpid(), root, "/dev/tpm0", makedev(1, 3), 1, 0, 0), -EEXIST);
    assert_int_equal(lstat(f, &st), 0);
    assert_true(S_ISREG(st.st_mode));
    assert_int_equal(st.st_size, 1);
}

/* An image whose dev is a symlink to an absolute host path: resolved inside the image (as
 * the runtime resolves it), never the host's directory. */
static void test_symlink_stays_in_image(void **state)
{
    char root[128], host[128], link[128], f[512], cmd[512];
    struct stat st;

    path_of(root, sizeof(root), "r3");
    path_of(host, sizeof(host), "hostdir");
    assert_int_equal(mkdir(root, 0755), 0);
    assert_int_equal(mkdir(host, 0755), 0);
    path_of(link, sizeof(link), "r3/dev");
    assert_int_equal(symlink(host, link), 0);
    assert_int_equal(devnode_make(getpid(), root, "/dev/tpm0", makedev(1, 3), 1, 0, 0), -ENOENT);
    path_of(f, sizeof(f), "hostdir/tpm0");
    assert_int_equal(lstat(f, &st), -1);
    /* the same path made inside the image: the node lands there */
    snprintf(cmd, sizeof(cmd), "mkdir -p '%s%s'", root, host);
    assert_int_equal(system(cmd), 0);
    assert_int_equal(devnode_make(getpid(), root, "/dev/tpm0", makedev(1, 3), 1, 0, 0), 0);
    snprintf(f, sizeof(f), "%s%s/tpm0", root, host);
    assert_int_equal(lstat(f, &st), 0);
    assert_true(S_ISCHR(st.st_mode));
    path_of(f, sizeof(f), "hostdir/tpm0");
    assert_int_equal(lstat(f, &st), -1);
}

static void test_gone_pid(void **state)
{
    char root[PATH_MAX];

    path_of(root, sizeof(root), "r4");
    assert_int_equal(devnode_make(0x3fffff0, root, "/dev/tpm0", makedev(1, 3), 1, 0, 0),
                     -ESRCH);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid),
        cmocka_unit_test(test_make_and_replace),
        cmocka_unit_test(test_other_file_kept),
        cmocka_unit_test(test_symlink_stays_in_image),
        cmocka_unit_test(test_gone_pid),
    };

    if (geteuid() != 0) {
        fprintf(stderr, "test_mgr_devnode: needs root (mknod)\n");
        return 1;
    }
    return cmocka_run_group_tests(tests, setup, teardown);
}
