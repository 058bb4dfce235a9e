/* SPDX-License-Identifier: BSD-3-Clause */
/* Unit tests of the verifier's memory of passed chains: keys cover every input, only what
 * was put is a hit. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "../../verifier/check/chaincache.h"
#include "ctlproto.h"

static cbor_item_t *chain(const char *file, const char *content)
{
    cbor_item_t *m = cbor_new_definite_map(1);
    cbor_item_t *k = cbor_build_string(file), *v = cbor_build_bytestring(
        (const uint8_t *)content, strlen(content));

    assert_true(cbor_map_add(m, (struct cbor_pair){ .key = k, .value = v }));
    cbor_decref(&k);
    cbor_decref(&v);
    return m;
}

static void test_keys_cover_inputs(void **state)
{
    struct bytes ek = { (const uint8_t *)"ek-cert", 7 }, ek2 = { (const uint8_t *)"ek-cerT", 7 };
    cbor_item_t *c1 = chain("vtpm-ca.pem", "A"), *c2 = chain("vtpm-ca.pem", "B");
    uint8_t k1[32], k1b[32], k2[32], k3[32], k4[32], k5[32];

    (void)state;
    assert_int_equal(chaincache_key("x", &ek, c1, "u1", k1), 0);
    assert_int_equal(chaincache_key("x", &ek, c1, "u1", k1b), 0);
    assert_memory_equal(k1, k1b, 32);
    assert_int_equal(chaincache_key("x", &ek2, c1, "u1", k2), 0);
    assert_int_equal(chaincache_key("x", &ek, c2, "u1", k3), 0);
    assert_int_equal(chaincache_key("x", &ek, c1, "u2", k4), 0);
    assert_int_equal(chaincache_key("y", &ek, c1, "u1", k5), 0);
    assert_memory_not_equal(k1, k2, 32);
    assert_memory_not_equal(k1, k3, 32);
    assert_memory_not_equal(k1, k4, 32);
    assert_memory_not_equal(k1, k5, 32);
    assert_int_equal(chaincache_key("x", &ek, NULL, "u1", k5), -1); /* no chain: not cacheable */
    cbor_decref(&c1);
    cbor_decref(&c2);
}

static void test_only_put_hits(void **state)
{
    uint8_t a[32], b[32];

    (void)state;
    memset(a, 0x11, sizeof(a));
    memset(b, 0x22, sizeof(b));
    assert_false(chaincache_hit(a));
    chaincache_put(a);
    assert_true(chaincache_hit(a));
    assert_false(chaincache_hit(b));
    /* Filling every slot pushes the oldest out. */
    for (unsigned i = 0; i < CHAINCACHE_ENTRIES; i++) {
        b[0] = (uint8_t)i;
        b[1] = (uint8_t)(i >> 8);
        chaincache_put(b);
    }
    assert_false(chaincache_hit(a));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_keys_cover_inputs),
        cmocka_unit_test(test_only_put_hits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
