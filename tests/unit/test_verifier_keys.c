/* SPDX-License-Identifier: BSD-3-Clause */
/* Unit tests of the verifier's key and digest shortcuts (tpmobj.c, eventlog.c): EC keys copied
 * from per-curve templates, SHA-256 by a digest fetched once, event-log contents serialized on
 * the stack or, when larger than that buffer, on the heap. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/sha.h>

#include "ctlproto.h"
#include "../../verifier/boot/eventlog.h"
#include "../../verifier/check/tpmobj.h"

/* The encoded point of a new key of curve (uncompressed or compressed). */
static EVP_PKEY *point_of(const char *curve, int compressed, uint8_t *pt, size_t *len)
{
    EVP_PKEY *k = EVP_EC_gen(curve);

    assert_non_null(k);
    if (compressed)
        assert_int_equal(EVP_PKEY_set_utf8_string_param(k, OSSL_PKEY_PARAM_EC_POINT_CONVERSION_FORMAT,
                                                        "compressed"), 1);
    assert_int_equal(EVP_PKEY_get_octet_string_param(k, OSSL_PKEY_PARAM_PUB_KEY, pt, 200, len), 1);
    return k;
}

/* The key made from a point is that point's key, for each curve and both encodings; two keys
 * made one after the other from the same template stay apart. */
static void test_ec_point_keys(void **state)
{
    static const char *const curves[] = { "prime256v1", "secp384r1", "secp521r1",
                                          "brainpoolP256r1" /* not templated: fromdata */ };
    uint8_t pt[200], pt2[200];
    size_t len, len2;

    (void)state;
    for (size_t i = 0; i < sizeof(curves) / sizeof(curves[0]); i++) {
        for (int comp = 0; comp < 2; comp++) {
            EVP_PKEY *a = point_of(curves[i], comp, pt, &len);
            EVP_PKEY *b = point_of(curves[i], comp, pt2, &len2);
            EVP_PKEY *ka = tpm_ec_point_pkey(curves[i], pt, len);
            EVP_PKEY *kb = tpm_ec_point_pkey(curves[i], pt2, len2);
            assert_non_null(ka);
            assert_non_null(kb);
            assert_int_equal(EVP_PKEY_eq(ka, a), 1);
            assert_int_equal(EVP_PKEY_eq(kb, b), 1);
            assert_int_not_equal(EVP_PKEY_eq(ka, kb), 1);
            assert_int_equal(EVP_PKEY_get_base_id(ka), EVP_PKEY_EC);
            EVP_PKEY_free(ka);
            EVP_PKEY_free(kb);
            EVP_PKEY_free(a);
            EVP_PKEY_free(b);
        }
    }
}

/* Points that are not on the curve, or not points, give no key. */
static void test_ec_point_invalid(void **state)
{
    uint8_t pt[200];
    size_t len;
    EVP_PKEY *a = point_of("prime256v1", 0, pt, &len), *k;

    (void)state;
    assert_int_equal(len, 65);
    pt[64] ^= 1; /* Y off the curve */
    assert_null(tpm_ec_point_pkey("prime256v1", pt, len));
    pt[64] ^= 1;
    assert_null(tpm_ec_point_pkey("prime256v1", pt, len - 1)); /* truncated */
    assert_null(tpm_ec_point_pkey("secp384r1", pt, len));      /* another curve's size */
    assert_null(tpm_ec_point_pkey("no-such-curve", pt, len));
    pt[0] = 0x05; /* no such encoding */
    assert_null(tpm_ec_point_pkey("prime256v1", pt, len));
    pt[0] = 0x04;
    k = tpm_ec_point_pkey("prime256v1", pt, len); /* and the template is unharmed */
    assert_non_null(k);
    assert_int_equal(EVP_PKEY_eq(k, a), 1);
    EVP_PKEY_free(k);
    EVP_PKEY_free(a);
}

static void test_sha256(void **state)
{
    uint8_t buf[1000], a[32], b[32];

    (void)state;
    for (size_t i = 0; i < sizeof(buf); i++)
        buf[i] = (uint8_t)(i * 7);
    for (size_t n = 0; n <= sizeof(buf); n += 250) {
        assert_int_equal(tpm_sha256(buf, n, a), 0);
        SHA256(buf, n, b);
        assert_memory_equal(a, b, 32);
    }
    assert_non_null(tpm_md(TPM2_ALG_SHA256));
    assert_int_equal(EVP_MD_get_size(tpm_md(TPM2_ALG_SHA384)), 48);
    assert_int_equal(EVP_MD_get_size(tpm_md(TPM2_ALG_SHA512)), 64);
    assert_null(tpm_md(TPM2_ALG_SHA1));
}

/* A one-record log (PCR 8) whose content has a text of pad bytes; its digest flipped when
 * broken. Returned decoded from its wire form, as evidence has it. */
static cbor_item_t *one_record_log(size_t pad, int broken)
{
    cbor_item_t *c = ctl_map_new(), *r = ctl_map_new(), *log = cbor_new_definite_array(1),
                *w = ctl_map_new(), *back = NULL;
    char *text = malloc(pad + 1);
    uint8_t *enc, md[32];
    size_t len;

    assert_non_null(text);
    memset(text, 'a', pad);
    text[pad] = '\0';
    ctl_put_str(c, "type", "file");
    ctl_put_str(c, "path", text);
    free(text);
    assert_int_equal(ctl_serialize(c, &enc, &len), 0);
    assert_true(pad < 1000 ? len < 4096 : len > 4096);
    SHA256(enc, len, md);
    free(enc);
    md[0] ^= (uint8_t)broken;
    ctl_put_uint(r, "recnum", 0);
    ctl_put_uint(r, "pcr", 8);
    ctl_put_bytes(r, "digest", md, 32);
    ctl_put_item(r, "content", c);
    cbor_array_push(log, cbor_move(r));
    ctl_put_item(w, "log", log);
    assert_int_equal(ctl_serialize(w, &enc, &len), 0);
    assert_int_equal(ctl_decode(enc, len, &back), 0);
    free(enc);
    cbor_decref(&w);
    return back;
}

/* The record digest holds for contents that fit the stack buffer and for larger ones, and a
 * wrong digest is found in both. */
static void test_record_digest_sizes(void **state)
{
    static const size_t pads[] = { 10, 900, 5000, 70000 };

    (void)state;
    for (size_t i = 0; i < sizeof(pads) / sizeof(pads[0]); i++) {
        for (int broken = 0; broken < 2; broken++) {
            cbor_item_t *w = one_record_log(pads[i], broken);
            struct evidence ev = { .event_log = ctl_get(w, "log") };
            struct measurements m;
            struct reasons r = { 0 };
            assert_int_equal(vf_eventlog_check(&ev, &m, &r), 0);
            assert_int_equal(reasons_has(&r, "eventlog-record-digest"), broken);
            reasons_free(&r);
            cbor_decref(&w);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ec_point_keys),
        cmocka_unit_test(test_ec_point_invalid),
        cmocka_unit_test(test_sha256),
        cmocka_unit_test(test_record_digest_sizes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
