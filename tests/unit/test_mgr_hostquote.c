/* SPDX-License-Identifier: BSD-3-Clause */
/* Unit tests of vtpm-mgr's host-quote request checks and reply encoding (hostquote.c). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "ctlproto.h"
#include "../../vtpm-mgr/daemon/hostquote.h"

static cbor_item_t *uints(const uint64_t *v, size_t n)
{
    cbor_item_t *a = cbor_new_definite_array(n);

    for (size_t i = 0; i < n; i++)
        assert_true(cbor_array_push(a, cbor_move(cbor_build_uint64(v[i]))));
    return a;
}

/* {v, op, nonce: nlen bytes, pcrs: [v...]} (pcrs left out when v is NULL). */
static cbor_item_t *request(size_t nlen, const uint64_t *v, size_t n)
{
    uint8_t nonce[80];
    cbor_item_t *r = ctl_map_new();

    memset(nonce, 0xa5, sizeof(nonce));
    assert_int_equal(ctl_put_uint(r, "v", 1), 0);
    assert_int_equal(ctl_put_str(r, "op", "host-quote"), 0);
    if (nlen)
        assert_int_equal(ctl_put_bytes(r, "nonce", nonce, nlen), 0);
    if (v)
        assert_int_equal(ctl_put_item(r, "pcrs", uints(v, n)), 0);
    return r;
}

static int check(cbor_item_t *r, uint32_t *mask)
{
    struct hostquote_req q;
    const char *why = NULL;
    int rc = hostquote_parse(r, &q, &why);

    if (rc == 0) {
        assert_non_null(q.nonce);
        *mask = q.mask;
    } else {
        assert_non_null(why);
        assert_int_equal(q.mask, 0);
    }
    cbor_decref(&r);
    return rc;
}

static void test_parse(void **state)
{
    static const uint64_t boot[] = { 0, 1, 2, 3, 4, 5, 6, 7, 13 }, all[24] = {
        23, 22, 21, 20, 19, 18, 17, 16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0 };
    static const uint64_t p24[] = { 0, 24 }, huge[] = { 1ull << 32 | 1 }, dup[] = { 7, 13, 7 };
    uint64_t many[25];
    uint32_t m = 0;
    cbor_item_t *r;

    (void)state;
    assert_int_equal(check(request(32, boot, 9), &m), 0);
    assert_int_equal(m, 0x20ffu);
    assert_int_equal(check(request(16, all, 24), &m), 0);
    assert_int_equal(m, 0xffffffu);
    assert_int_equal(check(request(64, boot, 1), &m), 0);
    assert_int_equal(m, 1u);
    assert_int_equal(check(request(15, boot, 9), &m), -EINVAL);
    assert_int_equal(check(request(65, boot, 9), &m), -EINVAL);
    assert_int_equal(check(request(0, boot, 9), &m), -EINVAL);
    assert_int_equal(check(request(32, p24, 2), &m), -EINVAL);
    assert_int_equal(check(request(32, huge, 1), &m), -EINVAL); /* not truncated to PCR 1 */
    assert_int_equal(check(request(32, dup, 3), &m), -EINVAL);
    assert_int_equal(check(request(32, boot, 0), &m), -EINVAL);
    assert_int_equal(check(request(32, NULL, 0), &m), -EINVAL);
    for (size_t i = 0; i < 25; i++)
        many[i] = i % 24;
    assert_int_equal(check(request(32, many, 25), &m), -EINVAL);
    r = request(32, NULL, 0);
    assert_int_equal(ctl_put_str(r, "pcrs", "0-7,13"), 0);
    assert_int_equal(check(r, &m), -EINVAL);
    r = request(32, NULL, 0);
    assert_int_equal(ctl_put_item(r, "pcrs", cbor_build_negint8(0)), 0);
    assert_int_equal(check(r, &m), -EINVAL);
    r = request(0, boot, 9);
    assert_int_equal(ctl_put_str(r, "nonce", "0123456789abcdef0123"), 0);
    assert_int_equal(check(r, &m), -EINVAL);
    r = request(32, NULL, 0); /* an array holding a negative number and a text */
    {
        cbor_item_t *a = cbor_new_definite_array(2);
        assert_true(cbor_array_push(a, cbor_move(cbor_build_negint8(0))));
        assert_true(cbor_array_push(a, cbor_move(cbor_build_string("1"))));
        assert_int_equal(ctl_put_item(r, "pcrs", a), 0);
    }
    assert_int_equal(check(r, &m), -EINVAL);
}

static void test_reply(void **state)
{
    struct hosttpm_quote q = { .attest = (uint8_t *)"attest", .attest_len = 6,
                               .sig = (uint8_t *)"sig", .sig_len = 3, .mask = 0x802001u };
    cbor_item_t *r, *d, *pcrs;
    uint8_t *buf = NULL;
    const uint8_t *b;
    size_t len = 0;
    int ok = 0;

    (void)state;
    for (int i = 0; i < HOSTTPM_QUOTE_PCRS; i++)
        memset(q.values[i], i, 32);
    assert_non_null(r = hostquote_reply(&q));
    assert_int_equal(ctl_serialize(r, &buf, &len), 0);
    assert_int_equal(ctl_decode(buf, len, &d), 0);
    assert_int_equal(ctl_get_bool(d, "ok", &ok), 0);
    assert_true(ok);
    assert_int_equal(ctl_get_bytes(d, "quote_attest", &b, &len), 0);
    assert_int_equal(len, 6);
    assert_int_equal(ctl_get_bytes(d, "quote_sig", &b, &len), 0);
    assert_int_equal(len, 3);
    pcrs = ctl_get(d, "pcrs");
    assert_true(cbor_isa_map(pcrs));
    assert_int_equal(cbor_map_size(pcrs), 3);
    for (size_t i = 0; i < 3; i++) {
        struct cbor_pair p = cbor_map_handle(pcrs)[i];
        static const unsigned want[] = { 0, 13, 23 };
        assert_int_equal(cbor_get_int(p.key), want[i]);
        assert_int_equal(cbor_bytestring_length(p.value), 32);
        assert_int_equal(cbor_bytestring_handle(p.value)[31], want[i]);
    }
    cbor_decref(&d);
    cbor_decref(&r);
    free(buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_reply),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
