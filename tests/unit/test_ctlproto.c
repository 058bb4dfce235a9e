/* SPDX-License-Identifier: BSD-3-Clause */
/* Unit tests of the control protocol codec: round trips and strict rejection of bad frames. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <cmocka.h>

#include "ctlproto.h"

static void test_roundtrip(void **state)
{
    int sv[2];
    cbor_item_t *m = ctl_ok(), *got = NULL;
    char s[32];
    uint64_t u;
    const uint8_t *b;
    size_t bl;
    int ok;

    (void)state;
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    assert_int_equal(ctl_put_str(m, "name", "web-1"), 0);
    assert_int_equal(ctl_put_uint(m, "n", 4000000000ull), 0);
    assert_int_equal(ctl_put_bytes(m, "b", (const uint8_t *)"\0\1\2", 3), 0);
    assert_int_equal(ctl_send(sv[0], m), 0);
    assert_int_equal(ctl_recv(sv[1], CTL_MAX_REQUEST, &got), 0);
    assert_int_equal(ctl_get_bool(got, "ok", &ok), 0);
    assert_true(ok);
    assert_int_equal(ctl_get_str(got, "name", s, sizeof(s)), 0);
    assert_string_equal(s, "web-1");
    assert_int_equal(ctl_get_uint(got, "n", &u), 0);
    assert_true(u == 4000000000ull);
    assert_int_equal(ctl_get_bytes(got, "b", &b, &bl), 0);
    assert_int_equal(bl, 3);
    assert_memory_equal(b, "\0\1\2", 3);
    assert_int_equal(ctl_get_str(got, "absent", s, sizeof(s)), -ENOENT);
    assert_int_equal(ctl_get_uint(got, "name", &u), -EINVAL);
    assert_int_equal(ctl_get_str(got, "name", s, 5), -EINVAL); /* does not fit */
    cbor_decref(&m);
    cbor_decref(&got);
    close(sv[0]);
    close(sv[1]);
}

static void expect_bad(const uint8_t *buf, size_t len)
{
    cbor_item_t *out = NULL;

    assert_int_equal(ctl_decode(buf, len, &out), -EBADMSG);
    assert_null(out);
}

static void test_reject_malformed(void **state)
{
    /* {"a": 1} is fine; each variant below is not. */
    static const uint8_t good[] = { 0xa1, 0x61, 'a', 0x01 };
    static const uint8_t trailing[] = { 0xa1, 0x61, 'a', 0x01, 0x00 };
    static const uint8_t truncated[] = { 0xa2, 0x61, 'a', 0x01, 0x61 };
    static const uint8_t not_map[] = { 0x83, 0x01, 0x02, 0x03 };
    static const uint8_t int_key[] = { 0xa1, 0x01, 0x01 };
    static const uint8_t dup_key[] = { 0xa2, 0x61, 'a', 0x01, 0x61, 'a', 0x02 };
    static const uint8_t indefinite[] = { 0xbf, 0x61, 'a', 0x01, 0xff };
    static const uint8_t empty_key[] = { 0xa1, 0x60, 0x01 };
    static const uint8_t huge_len[] = { 0xa1, 0x7b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                        0xff, 0xff };
    cbor_item_t *out;

    (void)state;
    assert_int_equal(ctl_decode(good, sizeof(good), &out), 0);
    cbor_decref(&out);
    expect_bad(trailing, sizeof(trailing));
    expect_bad(truncated, sizeof(truncated));
    expect_bad(not_map, sizeof(not_map));
    expect_bad(int_key, sizeof(int_key));
    expect_bad(dup_key, sizeof(dup_key));
    expect_bad(indefinite, sizeof(indefinite));
    expect_bad(empty_key, sizeof(empty_key));
    expect_bad(huge_len, sizeof(huge_len));
    expect_bad(good, 0);
}

static void test_string_with_nul(void **state)
{
    static const uint8_t m[] = { 0xa1, 0x61, 'n', 0x63, 'a', 0x00, 'b' };
    cbor_item_t *out;
    char s[16];

    (void)state;
    assert_int_equal(ctl_decode(m, sizeof(m), &out), 0);
    assert_int_equal(ctl_get_str(out, "n", s, sizeof(s)), -EINVAL);
    cbor_decref(&out);
}

/* Found by fuzzing: a container count the frame cannot hold, and a float where a bool goes. */
static void test_fuzz_regressions(void **state)
{
    static const uint8_t huge_array[] = { 0xa2, 0xd6, 0x61, 0x76, 0x01, 0x62, 'o', 'p', 0x9a,
                                          0x69, 0x73, 0x74, 0x74, 0x01, 0, 0, 0, 0, 0, 0, 0 };
    static const uint8_t float_ok[] = { 0xa3, 0x61, 0x7e, 0x01, 0x62, 'o', 'k', 0xfa, 0xfa,
                                        0xfa, 0xfa, 0xf4, 0x61, 0x62, 0x30 };
    static const uint8_t tagged[] = { 0xa1, 0x61, 'v', 0xd8, 0x09, 0x09 };
    cbor_item_t *f = cbor_build_float4(1.5f);

    (void)state;
    expect_bad(huge_array, sizeof(huge_array));
    expect_bad(float_ok, sizeof(float_ok));
    expect_bad(tagged, sizeof(tagged));
    assert_false(ctl_is_bool(f)); /* libcbor's own cbor_is_bool would assert here */
    cbor_decref(&f);
}

/* A list reply: an array of many maps inside the top-level map. */
static void test_many_entries(void **state)
{
    cbor_item_t *m = ctl_ok(), *arr = cbor_new_definite_array(200), *got;
    uint8_t *buf;
    size_t len;

    (void)state;
    for (int i = 0; i < 200; i++) {
        cbor_item_t *e = ctl_map_new();
        assert_int_equal(ctl_put_uint(e, "i", (uint64_t)i), 0);
        assert_true(cbor_array_push(arr, e));
        cbor_decref(&e);
    }
    assert_int_equal(ctl_put_item(m, "vtpms", arr), 0);
    assert_int_equal(ctl_serialize(m, &buf, &len), 0);
    assert_int_equal(ctl_decode(buf, len, &got), 0);
    assert_int_equal(cbor_array_size(ctl_get(got, "vtpms")), 200);
    free(buf);
    cbor_decref(&got);
    cbor_decref(&m);
}

static void test_frame_limits(void **state)
{
    int sv[2];
    uint32_t be = htonl(CTL_MAX_REQUEST + 1);
    cbor_item_t *out = NULL;

    (void)state;
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    assert_int_equal(write(sv[0], &be, 4), 4);
    assert_int_equal(ctl_recv(sv[1], CTL_MAX_REQUEST, &out), -EMSGSIZE);
    be = htonl(10);
    assert_int_equal(write(sv[0], &be, 4), 4);
    assert_int_equal(write(sv[0], "\xa1\x61", 2), 2);
    close(sv[0]);
    assert_int_equal(ctl_recv(sv[1], CTL_MAX_REQUEST, &out), -ECONNRESET);
    assert_null(out);
    close(sv[1]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip),
        cmocka_unit_test(test_reject_malformed),
        cmocka_unit_test(test_string_with_nul),
        cmocka_unit_test(test_frame_limits),
        cmocka_unit_test(test_fuzz_regressions),
        cmocka_unit_test(test_many_entries),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
