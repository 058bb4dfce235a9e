/* SPDX-License-Identifier: BSD-3-Clause */
/* Unit tests of the rootfs tree digest: stable across copies and timestamps, sensitive to
 * content, mode, ownership, symlink targets and names; excluded mount points ignored. */
#include <errno.h>
#include <fcntl.h>
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

#include "fileio.h"
#include "rootfs.h"

struct fixture {
    char dir[64];
    char a[96], b[96];
};

static void put(const char *root, const char *rel, const char *content, mode_t mode)
{
    char p[256];
    int fd;

    snprintf(p, sizeof(p), "%s/%s", root, rel);
    fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, mode);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, content, strlen(content)), (ssize_t)strlen(content));
    close(fd);
    assert_int_equal(chmod(p, mode), 0);
}

static void sub(const char *root, const char *rel, char *out, size_t n)
{
    snprintf(out, n, "%s/%s", root, rel);
}

/* The same tree, built in a different order (different inode and readdir order). */
static void build(const char *root, int reverse)
{
    char p[256];

    assert_int_equal(mkdir(root, 0755), 0);
    sub(root, "bin", p, sizeof(p));
    assert_int_equal(mkdir(p, 0755), 0);
    sub(root, "etc", p, sizeof(p));
    assert_int_equal(mkdir(p, 0755), 0);
    if (reverse) {
        put(root, "etc/passwd", "root:x:0:0::/:/bin/sh\n", 0644);
        put(root, "bin/tool", "#!/bin/sh\necho hi\n", 0755);
    } else {
        put(root, "bin/tool", "#!/bin/sh\necho hi\n", 0755);
        put(root, "etc/passwd", "root:x:0:0::/:/bin/sh\n", 0644);
    }
    sub(root, "bin/sh", p, sizeof(p));
    assert_int_equal(symlink("tool", p), 0);
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));

    assert_non_null(f);
    snprintf(f->dir, sizeof(f->dir), "/tmp/test_agent_rootfs.XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->a, sizeof(f->a), "%s/a", f->dir);
    snprintf(f->b, sizeof(f->b), "%s/b", f->dir);
    build(f->a, 0);
    build(f->b, 1);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    dir_remove_tree(AT_FDCWD, f->dir);
    free(f);
    return 0;
}

static void digest_of(const char *root, uint8_t d[DIGEST_LEN])
{
    assert_int_equal(rootfs_digest(root, NULL, d, NULL, NULL), 0);
}

static void assert_changed(const char *root, const uint8_t before[DIGEST_LEN])
{
    uint8_t now[DIGEST_LEN];

    digest_of(root, now);
    assert_memory_not_equal(now, before, DIGEST_LEN);
}

static void test_stable(void **state)
{
    struct fixture *f = *state;
    uint8_t a[DIGEST_LEN], a2[DIGEST_LEN], b[DIGEST_LEN];
    char p[256];

    digest_of(f->a, a);
    digest_of(f->a, a2);
    digest_of(f->b, b);
    assert_memory_equal(a, a2, DIGEST_LEN);
    assert_memory_equal(a, b, DIGEST_LEN);
    sub(f->a, "etc/passwd", p, sizeof(p));
    assert_int_equal(utimensat(AT_FDCWD, p, (struct timespec[2]){ { 1, 0 }, { 2, 0 } }, 0), 0);
    digest_of(f->a, a2);
    assert_memory_equal(a, a2, DIGEST_LEN); /* timestamps are not measured */
}

static void test_content_byte(void **state)
{
    struct fixture *f = *state;
    uint8_t d[DIGEST_LEN];

    digest_of(f->a, d);
    put(f->a, "etc/passwd", "root:x:0:0::/:/bin/sH\n", 0644); /* same size, one byte */
    assert_changed(f->a, d);
}

static void test_mode(void **state)
{
    struct fixture *f = *state;
    uint8_t d[DIGEST_LEN];
    char p[256];

    digest_of(f->a, d);
    sub(f->a, "bin/tool", p, sizeof(p));
    assert_int_equal(chmod(p, 04755), 0); /* setuid */
    assert_changed(f->a, d);
    digest_of(f->a, d);
    assert_int_equal(chmod(f->a, 0700), 0); /* the root directory itself */
    assert_changed(f->a, d);
}

static void test_symlink(void **state)
{
    struct fixture *f = *state;
    uint8_t d[DIGEST_LEN];
    char p[256];

    digest_of(f->a, d);
    sub(f->a, "bin/sh", p, sizeof(p));
    assert_int_equal(unlink(p), 0);
    assert_int_equal(symlink("/bin/tool", p), 0);
    assert_changed(f->a, d);
    digest_of(f->a, d);
    assert_int_equal(unlink(p), 0); /* a file with the target's content is not a symlink */
    put(f->a, "bin/sh", "/bin/tool", 0777);
    assert_changed(f->a, d);
}

static void test_names_and_owner(void **state)
{
    struct fixture *f = *state;
    uint8_t d[DIGEST_LEN];
    char p[256], q[256];

    digest_of(f->a, d);
    sub(f->a, "etc/passwd", p, sizeof(p));
    sub(f->a, "etc/passwe", q, sizeof(q));
    assert_int_equal(rename(p, q), 0);
    assert_changed(f->a, d);
    digest_of(f->a, d);
    sub(f->a, "empty", p, sizeof(p));
    assert_int_equal(mkdir(p, 0755), 0);
    assert_changed(f->a, d);
    if (geteuid() == 0) {
        digest_of(f->a, d);
        assert_int_equal(lchown(q, 1, 1), 0);
        assert_changed(f->a, d);
    }
}

static void test_exclude(void **state)
{
    struct fixture *f = *state;
    char *names[] = { "dev", "proc" };
    struct strset ex = { .v = names, .n = 2 };
    uint8_t d[DIGEST_LEN], d2[DIGEST_LEN];
    char p[256];

    assert_int_equal(rootfs_digest(f->a, &ex, d, NULL, NULL), 0);
    sub(f->a, "proc", p, sizeof(p));
    assert_int_equal(mkdir(p, 0555), 0);
    put(f->a, "proc/cpuinfo", "anything", 0444);
    assert_int_equal(rootfs_digest(f->a, &ex, d2, NULL, NULL), 0);
    assert_memory_equal(d, d2, DIGEST_LEN); /* the runtime's mount points do not count */
    assert_changed(f->a, d);                 /* without the exclusion they do */
}

/* setuid/setgid files and device nodes are listed (setgid directories are not); excluded
 * mount points are not looked at. */
static void test_findings(void **state)
{
    struct fixture *f = *state;
    struct strset setid = { 0 }, devs = { 0 };
    char *names[] = { "dev" };
    struct strset ex = { .v = names, .n = 1 };
    uint8_t d[DIGEST_LEN];
    char p[256];

    put(f->a, "bin/su", "x", 04755);
    put(f->a, "bin/wall", "x", 02755);
    sub(f->a, "etc", p, sizeof(p));
    assert_int_equal(chmod(p, 02755), 0);
    sub(f->a, "bin/null", p, sizeof(p));
    assert_int_equal(mknod(p, S_IFCHR | 0666, makedev(1, 3)), 0);
    sub(f->a, "dev", p, sizeof(p));
    assert_int_equal(mkdir(p, 0755), 0);
    sub(f->a, "dev/sda", p, sizeof(p));
    assert_int_equal(mknod(p, S_IFBLK | 0600, makedev(8, 0)), 0);
    assert_int_equal(rootfs_digest(f->a, &ex, d, &setid, &devs), 0);
    assert_int_equal(setid.n, 2);
    assert_string_equal(setid.v[0], "bin/su");
    assert_string_equal(setid.v[1], "bin/wall");
    assert_int_equal(devs.n, 1);
    assert_string_equal(devs.v[0], "bin/null");
    strset_free(&setid);
    strset_free(&devs);
}

/* The manifest is exactly the bytes the tree digest hashes: entries in walk order, with
 * bin/tool's content digest (what the verifier looks an exec up in). */
static void test_manifest(void **state)
{
    struct fixture *f = *state;
    struct rootfs_manifest mf = { 0 };
    uint8_t d[DIGEST_LEN], d2[DIGEST_LEN], tool[DIGEST_LEN];
    const char *content = "#!/bin/sh\necho hi\n";

    assert_int_equal(rootfs_digest_manifest(f->a, NULL, d, NULL, NULL, &mf), 0);
    digest_of(f->a, d2);
    assert_memory_equal(d, d2, DIGEST_LEN);
    assert_false(mf.over);
    assert_true(mf.len > 0);
    assert_int_equal(digest_buf(mf.p, mf.len, d2), 0);
    assert_memory_equal(d, d2, DIGEST_LEN);
    assert_int_equal(digest_buf(content, strlen(content), tool), 0);
    assert_non_null(memmem(mf.p, mf.len, "bin/tool", 8));
    assert_non_null(memmem(mf.p, mf.len, tool, DIGEST_LEN));
    assert_true((uint8_t *)memmem(mf.p, mf.len, "bin/tool", 8) <
                (uint8_t *)memmem(mf.p, mf.len, "etc/passwd", 10));
    rootfs_manifest_free(&mf);
    assert_null(mf.p);
}

static void test_errors(void **state)
{
    struct fixture *f = *state;
    uint8_t d[DIGEST_LEN];
    char p[256];

    assert_int_equal(rootfs_digest("/nonexistent/rootfs", NULL, d, NULL, NULL), -ENOENT);
    sub(f->a, "etc/passwd", p, sizeof(p));
    assert_int_equal(rootfs_digest(p, NULL, d, NULL, NULL), -ENOTDIR);
    if (geteuid() != 0) { /* root reads anything */
        assert_int_equal(chmod(p, 0), 0);
        assert_true(rootfs_digest(f->a, NULL, d, NULL, NULL) < 0);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_stable, setup, teardown),
        cmocka_unit_test_setup_teardown(test_manifest, setup, teardown),
        cmocka_unit_test_setup_teardown(test_content_byte, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mode, setup, teardown),
        cmocka_unit_test_setup_teardown(test_symlink, setup, teardown),
        cmocka_unit_test_setup_teardown(test_names_and_owner, setup, teardown),
        cmocka_unit_test_setup_teardown(test_exclude, setup, teardown),
        cmocka_unit_test_setup_teardown(test_findings, setup, teardown),
        cmocka_unit_test_setup_teardown(test_errors, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
