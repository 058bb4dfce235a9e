/* SPDX-License-Identifier: BSD-3-Clause */
/* Unit tests of rollback detection: the manifest's format and the decisions (rollback.h),
 * including every crash point of the commit order. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "rollback.h"

static const uint8_t key[32] = { 9, 8, 7 };
static const uint8_t ua[16] = { 0xaa, 1 };
static const uint8_t ub[16] = { 0xbb, 2 };

static void test_manifest_roundtrip_and_tamper(void **state)
{
    struct rb_manifest m = { .counter = 41, .nv_index = 0x01000a10 }, d;
    uint8_t *buf, other[32] = { 1 };
    size_t len;

    (void)state;
    rb_add(&m, ua)->perm_gen = 5;
    rb_add(&m, ub)->vol_gen = 3;
    rb_find(&m, ub)->flags = RB_VOL_LIVE;
    assert_int_equal(rb_manifest_encode(&m, key, &buf, &len), 0);
    assert_int_equal(rb_manifest_decode(buf, len, key, &d), 0);
    assert_true(d.counter == 41 && d.nv_index == 0x01000a10 && d.n == 2);
    assert_true(rb_find(&d, ua)->perm_gen == 5 && rb_find(&d, ub)->vol_gen == 3);
    assert_int_equal(rb_find(&d, ub)->flags, RB_VOL_LIVE);
    rb_manifest_free(&d);
    for (size_t i = 0; i < len; i++) { /* every flipped bit of every byte: refused */
        buf[i] ^= 0x10;
        assert_int_equal(rb_manifest_decode(buf, len, key, &d), -EBADMSG);
        buf[i] ^= 0x10;
    }
    for (size_t cut = 0; cut < len; cut++)
        assert_int_equal(rb_manifest_decode(buf, cut, key, &d), -EBADMSG);
    assert_int_equal(rb_manifest_decode(buf, len, other, &d), -EBADMSG);
    free(buf);
    rb_remove(&m, ua);
    assert_null(rb_find(&m, ua));
    assert_non_null(rb_find(&m, ub));
    rb_manifest_free(&m);
}

static void test_dir_verdicts(void **state)
{
    (void)state;
    assert_int_equal(rb_check_dir(1, 10, 0, 10, 1), RB_DIR_OK);
    /* crash after the manifest, before the increment: finish it, not a rollback */
    assert_int_equal(rb_check_dir(1, 11, 0, 10, 1), RB_DIR_UNFINISHED);
    /* an older manifest copied back */
    assert_int_equal(rb_check_dir(1, 9, 0, 10, 1), RB_DIR_ROLLED_BACK);
    assert_int_equal(rb_check_dir(1, 0, 0, 10, 0), RB_DIR_ROLLED_BACK);
    assert_int_equal(rb_check_dir(1, 12, 0, 10, 1), RB_DIR_COUNTER_BEHIND);
    /* host TPM cleared / index deleted / never incremented */
    assert_int_equal(rb_check_dir(1, 10, -ENOENT, 0, 1), RB_DIR_NO_COUNTER);
    assert_int_equal(rb_check_dir(1, 10, -ENODATA, 0, 1), RB_DIR_NO_COUNTER);
    /* manifest removed while vTPMs and the counter exist */
    assert_int_equal(rb_check_dir(0, 0, 0, 10, 1), RB_DIR_NO_MANIFEST);
    /* first start (or an empty directory): a new manifest */
    assert_int_equal(rb_check_dir(0, 0, -ENOENT, 0, 1), RB_DIR_FRESH);
    assert_int_equal(rb_check_dir(0, 0, 0, 10, 0), RB_DIR_FRESH);
    assert_int_equal(rb_check_dir(1, 0, 0, UINT64_MAX, 1), RB_DIR_ROLLED_BACK);
}

static void test_file_verdicts(void **state)
{
    struct rb_entry e = { .perm_gen = 7, .vol_gen = 4, .flags = RB_VOL_LIVE };

    (void)state;
    assert_int_equal(rb_check_perm(&e, 7), RB_FILE_OK);
    assert_int_equal(rb_check_perm(&e, 8), RB_FILE_NEWER);     /* crash before the commit */
    assert_int_equal(rb_check_perm(&e, 6), RB_FILE_ROLLED_BACK);
    assert_int_equal(rb_check_perm(&e, 0), RB_FILE_ROLLED_BACK); /* a v1 file */
    assert_int_equal(rb_check_perm(NULL, 7), RB_FILE_ROLLED_BACK); /* a removed vTPM */
    assert_int_equal(rb_check_vol(&e, 4), RB_FILE_OK);
    assert_int_equal(rb_check_vol(&e, 5), RB_FILE_NEWER);
    assert_int_equal(rb_check_vol(&e, 3), RB_FILE_ROLLED_BACK);
    e.flags = 0; /* resumed once: the same file again is ignored, never used */
    assert_int_equal(rb_check_vol(&e, 4), RB_FILE_CONSUMED);
}

/*
 * The commit order on disk and in the host TPM, with a crash after every step: files
 * (generation g+1), manifest (counter c+1), increment. What a restart then sees must never be
 * a rollback, and the acknowledged write (after the increment) must be what is served.
 */
static void test_crash_points(void **state)
{
    const uint64_t c = 20, g = 3;
    struct rb_entry committed = { .perm_gen = g }, written = { .perm_gen = g + 1 };

    (void)state;
    /* 1. crash before the file rename: old file, old manifest, old counter */
    assert_int_equal(rb_check_dir(1, c, 0, c, 1), RB_DIR_OK);
    assert_int_equal(rb_check_perm(&committed, g), RB_FILE_OK);
    /* 2. after the file, before the manifest: the new file is newer, served */
    assert_int_equal(rb_check_dir(1, c, 0, c, 1), RB_DIR_OK);
    assert_int_equal(rb_check_perm(&committed, g + 1), RB_FILE_NEWER);
    /* 3. after the manifest, before the increment */
    assert_int_equal(rb_check_dir(1, c + 1, 0, c, 1), RB_DIR_UNFINISHED);
    assert_int_equal(rb_check_perm(&written, g + 1), RB_FILE_OK);
    /* 4. after the increment (acknowledged) */
    assert_int_equal(rb_check_dir(1, c + 1, 0, c + 1, 1), RB_DIR_OK);
    assert_int_equal(rb_check_perm(&written, g + 1), RB_FILE_OK);
    /* ...and then the attacker's copies: the older file, or file and manifest */
    assert_int_equal(rb_check_perm(&written, g), RB_FILE_ROLLED_BACK);
    assert_int_equal(rb_check_dir(1, c, 0, c + 1, 1), RB_DIR_ROLLED_BACK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_manifest_roundtrip_and_tamper),
        cmocka_unit_test(test_dir_verdicts),
        cmocka_unit_test(test_file_verdicts),
        cmocka_unit_test(test_crash_points),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
