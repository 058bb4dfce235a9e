/* SPDX-License-Identifier: BSD-3-Clause */
/* Unit tests of the runtime monitor's /proc readers: mountinfo lines (escapes, optional
 * fields, malformed lines), which mounts can hold executables, paths under a root, and the
 * cgroup that places a process and who runs below it. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "rtmonparse.h"

static int parse(const char *text, struct rtmon_minfo *mi)
{
    char line[1024];

    snprintf(line, sizeof(line), "%s", text);
    memset(mi, 0, sizeof(*mi));
    return rtmon_parse_mountinfo(line, mi);
}

static void test_mountinfo(void **s)
{
    struct rtmon_minfo mi;

    (void)s;
    assert_int_equal(parse("36 35 0:40 / /tmp/vtpm-it.x/c1/rootfs rw,relatime shared:1 - "
                           "tmpfs rt-c1 rw,size=16384k\n", &mi), 0);
    assert_int_equal(mi.maj, 0);
    assert_int_equal(mi.min, 40);
    assert_string_equal(mi.root, "/");
    assert_string_equal(mi.point, "/tmp/vtpm-it.x/c1/rootfs");
    assert_string_equal(mi.fstype, "tmpfs");
    assert_string_equal(mi.opts, "rw,relatime");
    /* no optional fields; a bind of a subdirectory; escaped space and backslash */
    assert_int_equal(parse("40 36 8:1 /srv/data /r/with\\040space\\134x ro,nosuid - ext4 "
                           "/dev/sda1 rw", &mi), 0);
    assert_int_equal(mi.maj, 8);
    assert_string_equal(mi.root, "/srv/data");
    assert_string_equal(mi.point, "/r/with space\\x");
    assert_string_equal(mi.fstype, "ext4");
    /* malformed: no separator, too few fields, a bad device, no type */
    assert_int_equal(parse("36 35 0:40 / /x rw", &mi), -EINVAL);
    assert_int_equal(parse("36 35 0:40 / - tmpfs t rw", &mi), -EINVAL);
    assert_int_equal(parse("36 35 zero / /x rw - tmpfs t rw", &mi), -EINVAL);
    assert_int_equal(parse("36 35 0:40 / /x rw - ", &mi), -EINVAL);
}

static void test_exec_fs(void **s)
{
    struct rtmon_minfo mi;

    (void)s;
    assert_int_equal(parse("1 1 0:5 / /r/proc rw - proc proc rw", &mi), 0);
    assert_true(rtmon_no_exec_fs(&mi));
    assert_int_equal(parse("1 1 0:6 / /r/dev/shm rw,nosuid,nodev,noexec - tmpfs shm rw", &mi), 0);
    assert_true(rtmon_no_exec_fs(&mi));
    assert_int_equal(parse("1 1 0:7 / /r/dev rw,nosuid - tmpfs tmpfs rw", &mi), 0);
    assert_false(rtmon_no_exec_fs(&mi)); /* runc's /dev can hold an executable */
    assert_int_equal(parse("1 1 0:8 / /r/x rw,noexecute - tmpfs t rw", &mi), 0);
    assert_false(rtmon_no_exec_fs(&mi)); /* an option that only starts with noexec */
}

static void test_under(void **s)
{
    (void)s;
    assert_true(rtmon_under("/a/rootfs", "/a/rootfs"));
    assert_true(rtmon_under("/a/rootfs/tmp", "/a/rootfs"));
    assert_false(rtmon_under("/a/rootfs2", "/a/rootfs"));
    assert_false(rtmon_under("/a", "/a/rootfs"));
}

static void test_cgroups(void **s)
{
    const char *hybrid = "9:name=systemd:/\n4:memory:/rt-1-c1\n1:cpu:/rt-1-c1\n0::/rt-1-c1\n";
    const char *v1only = "9:name=systemd:/\n4:memory:/ctr\n0::/\n";
    const char *host = "4:memory:/\n0::/\n";
    char out[64];

    (void)s;
    assert_int_equal(rtmon_cgroup_pick(hybrid, out, sizeof(out)), 0);
    assert_string_equal(out, "0::/rt-1-c1");
    assert_int_equal(rtmon_cgroup_pick(v1only, out, sizeof(out)), 0);
    assert_string_equal(out, "4:memory:/ctr");
    assert_int_equal(rtmon_cgroup_pick(host, out, sizeof(out)), -ENOENT);
    assert_int_equal(rtmon_cgroup_pick(hybrid, out, 5), -ENAMETOOLONG);
    assert_int_equal(rtmon_cgroup_pick("garbage\n", out, sizeof(out)), -ENOENT);
    /* a process of the container, of a cgroup below it, of a sibling with a longer name */
    assert_true(rtmon_in_cgroup(hybrid, "0::/rt-1-c1"));
    assert_true(rtmon_in_cgroup("0::/rt-1-c1/sub\n", "0::/rt-1-c1"));
    assert_false(rtmon_in_cgroup("0::/rt-1-c10\n", "0::/rt-1-c1"));
    assert_false(rtmon_in_cgroup(host, "0::/rt-1-c1"));
    assert_true(rtmon_in_cgroup("0::/rt-1-c1", "0::/rt-1-c1")); /* no final newline */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mountinfo),
        cmocka_unit_test(test_exec_fs),
        cmocka_unit_test(test_under),
        cmocka_unit_test(test_cgroups),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
