/* SPDX-License-Identifier: BSD-3-Clause */
/* Unit tests of the UEFI event log parser and replay (verifier/boot/uefilog.c): round trips, PCR
 * values computed here with OpenSSL, and every malformed-input case the parser must refuse. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <openssl/sha.h>

#include "../../verifier/boot/uefilog.h"

/* The log writer of the uefilog_build test tool, without its main(). */
#define UEFILOG_BUILD_LIB
#include "../tools/uefilog_build.c"

#define ALG_SHA1 0x0004
#define ALG_SHA256 0x000b

static const uint16_t banks2[] = { ALG_SHA1, ALG_SHA256 };
static const uint16_t sha256_only[] = { ALG_SHA256 };
static char err[160];

static int all_zero(const void *p, size_t n)
{
    const uint8_t *b = p;

    for (size_t i = 0; i < n; i++)
        if (b[i])
            return 0;
    return 1;
}

static int parse(const struct ulb *b, struct uefi_log *log)
{
    assert_false(b->oom);
    return uefilog_parse(b->buf, b->len, log, err, sizeof(err));
}

static void basic(struct ulb *b, int locality)
{
    ulb_init(b);
    ulb_header(b, banks2, 2);
    if (locality >= 0)
        ulb_locality(b, (uint8_t)locality);
    ulb_preset_basic(b, 1);
}

/* The parse must fail with -EBADMSG, leave the log empty and, if given, name the problem. */
static void expect_bad(const uint8_t *buf, size_t len, const char *needle)
{
    struct uefi_log log;

    memset(&log, 0x5a, sizeof(log));
    err[0] = '\0';
    assert_int_equal(uefilog_parse(buf, len, &log, err, sizeof(err)), -EBADMSG);
    assert_null(log.ev);
    assert_int_equal(log.n, 0);
    assert_true(err[0] != '\0');
    if (needle && !strstr(err, needle))
        fail_msg("error \"%s\" does not mention \"%s\"", err, needle);
}

static void expect_bad_ulb(const struct ulb *b, const char *needle)
{
    assert_false(b->oom);
    expect_bad(b->buf, b->len, needle);
}

/* A record written field by field, with one digest per listed algorithm. */
static void raw_record(struct ulb *b, uint32_t pcr, uint32_t type, uint32_t count,
                       const uint16_t *algs, size_t nalgs, uint32_t size, const void *data,
                       size_t dlen)
{
    static const uint8_t dg[64];

    ulb_u32(b, pcr);
    ulb_u32(b, type);
    ulb_u32(b, count);
    for (size_t i = 0; i < nalgs; i++) {
        ulb_u16(b, algs[i]);
        ulb_bytes(b, dg, ulb_digest_size(algs[i]));
    }
    ulb_u32(b, size);
    ulb_bytes(b, data, dlen);
}

static void test_round_trip(void **state)
{
    struct ulb b;
    struct uefi_log log;
    struct uefi_variable var;

    basic(&b, 3);
    assert_int_equal(parse(&b, &log), 0);
    assert_int_equal(log.n, 2 + 24);
    assert_int_equal(log.startup_locality, 3);
    assert_true(log.has_sha256_bank);
    assert_int_equal(log.ev[0].index, 0);
    assert_int_equal(log.ev[0].type, EV_NO_ACTION);
    assert_false(log.ev[0].has_sha256);
    assert_memory_equal(log.ev[0].data, "Spec ID Event03", 16);
    assert_int_equal(log.ev[1].type, EV_NO_ACTION);
    assert_int_equal(log.ev[1].data_len, 17);
    for (size_t i = 0; i < log.n; i++) {
        assert_int_equal(log.ev[i].index, i);
        assert_true(log.ev[i].data >= b.buf && log.ev[i].data + log.ev[i].data_len <= b.buf + b.len);
    }
    /* The SecureBoot variable: PCR 7, its digest is SHA-256 of the event data. */
    assert_int_equal(log.ev[4].pcr, 7);
    assert_int_equal(log.ev[4].type, EV_EFI_VARIABLE_DRIVER_CONFIG);
    assert_true(log.ev[4].has_sha256);
    assert_memory_equal(log.ev[4].sha256, SHA256(log.ev[4].data, log.ev[4].data_len, NULL), 32);
    assert_int_equal(uefilog_variable(&log.ev[4], &var), 0);
    assert_true(uefilog_variable_is_global(&var, "SecureBoot"));
    assert_false(uefilog_variable_is_global(&var, "SecureBoo"));
    assert_int_equal(var.value_len, 1);
    assert_int_equal(var.value[0], 1);
    uefilog_free(&log);
    assert_null(log.ev);
    ulb_free(&b);
}

static void test_replay_matches_writer(void **state)
{
    struct ulb b;
    struct uefi_log log;
    uint8_t pcr[24][32];
    uint32_t touched;

    basic(&b, 3);
    assert_int_equal(parse(&b, &log), 0);
    uefilog_replay_sha256(&log, pcr, &touched);
    assert_int_equal(touched, 0xff);
    assert_int_equal(b.touched, 0xff);
    assert_memory_equal(pcr, b.pcr, sizeof(pcr));
    uefilog_free(&log);
    ulb_free(&b);
}

/* PCR values computed step by step here, for locality 0, 3 and 4. */
static void replay_by_hand(int locality)
{
    struct ulb b;
    struct uefi_log log;
    uint8_t pcr[24][32], want0[32] = { 0 }, want5[32] = { 0 }, buf[64], zero4[4] = { 0 };
    uint32_t touched;

    ulb_init(&b);
    ulb_header(&b, banks2, 2);
    if (locality)
        ulb_locality(&b, (uint8_t)locality);
    ulb_text(&b, 0, 0x80000008u, "abc");
    ulb_event(&b, 5, EV_SEPARATOR, zero4, 4);
    ulb_text(&b, 0, EV_NO_ACTION, "not extended");
    assert_int_equal(parse(&b, &log), 0);
    assert_int_equal(log.startup_locality, locality);
    uefilog_replay_sha256(&log, pcr, &touched);
    want0[31] = (uint8_t)locality;
    memcpy(buf, want0, 32);
    SHA256((const uint8_t *)"abc", 3, buf + 32);
    SHA256(buf, 64, want0);
    memset(buf, 0, 32);
    SHA256(zero4, 4, buf + 32);
    SHA256(buf, 64, want5);
    assert_int_equal(touched, 1u << 0 | 1u << 5);
    assert_memory_equal(pcr[0], want0, 32);
    assert_memory_equal(pcr[5], want5, 32);
    for (int i = 1; i < 24; i++)
        if (i != 5)
            assert_true(all_zero(pcr[i], 32));
    uefilog_free(&log);
    ulb_free(&b);
}

static void test_replay_by_hand(void **state)
{
    replay_by_hand(0);
    replay_by_hand(3);
    replay_by_hand(4);
}

/* A prefix that ends exactly after record k is a valid log of k + 1 records; every other
 * prefix is malformed. */
static void test_every_truncation(void **state)
{
    struct ulb b;
    struct uefi_log full, log;
    size_t k = 0, bad = 0;

    basic(&b, 3);
    assert_int_equal(parse(&b, &full), 0);
    for (size_t len = 0; len < b.len; len++) {
        size_t end = (size_t)(full.ev[k].data - b.buf) + full.ev[k].data_len;

        if (len != end) {
            expect_bad(b.buf, len, NULL);
            bad++;
            continue;
        }
        assert_int_equal(uefilog_parse(b.buf, len, &log, err, sizeof(err)), 0);
        assert_int_equal(log.n, ++k);
        uefilog_free(&log);
    }
    assert_int_equal(k, full.n - 1);
    assert_int_equal(bad, b.len - k);
    expect_bad(NULL, 0, "empty");
    uefilog_free(&full);
    ulb_free(&b);
}

static void test_trailing_bytes(void **state)
{
    struct ulb b;
    static const uint8_t zeros[16], junk[3] = { 1, 2, 3 };

    basic(&b, -1);
    ulb_bytes(&b, zeros, sizeof(zeros));
    expect_bad_ulb(&b, "zero padding");
    b.len -= sizeof(zeros);
    ulb_bytes(&b, junk, sizeof(junk));
    expect_bad_ulb(&b, "truncated");
    ulb_free(&b);
}

/* Header variants: each is the smallest log that differs from a good one in one field. */
static void header_case(uint32_t pcr, uint32_t type, uint8_t dg0, const char *sig,
                        uint32_t nalg, uint16_t size0, int trailing, const char *needle)
{
    struct ulb b;
    uint8_t dg[20] = { dg0 };

    ulb_init(&b);
    ulb_u32(&b, pcr);
    ulb_u32(&b, type);
    ulb_bytes(&b, dg, 20);
    ulb_u32(&b, 16 + 12 + 4 * 2 + 1 + (uint32_t)trailing);
    ulb_bytes(&b, sig, 16);
    ulb_bytes(&b, "\0\0\0\0\0\2\0\2", 8);
    ulb_u32(&b, nalg);
    ulb_u16(&b, ALG_SHA256);
    ulb_u16(&b, size0);
    ulb_u16(&b, ALG_SHA1);
    ulb_u16(&b, 20);
    ulb_bytes(&b, "\0\0\0\0", 1 + (size_t)trailing);
    if (!needle) {
        struct uefi_log log;
        assert_int_equal(parse(&b, &log), 0);
        assert_int_equal(log.n, 1);
        uefilog_free(&log);
    } else {
        expect_bad_ulb(&b, needle);
    }
    ulb_free(&b);
}

static void test_bad_header(void **state)
{
    const char *good = "Spec ID Event03";

    header_case(0, EV_NO_ACTION, 0, good, 2, 32, 0, NULL); /* the control */
    header_case(1, EV_NO_ACTION, 0, good, 2, 32, 0, "not a crypto-agile log");
    header_case(0, EV_SEPARATOR, 0, good, 2, 32, 0, "not a crypto-agile log");
    header_case(0, EV_NO_ACTION, 1, good, 2, 32, 0, "not a crypto-agile log");
    header_case(0, EV_NO_ACTION, 0, "Spec ID Event02", 2, 32, 0, "Spec ID Event03");
    header_case(0, EV_NO_ACTION, 0, good, 0, 32, 0, "algorithms");
    header_case(0, EV_NO_ACTION, 0, good, 17, 32, 0, "algorithms");
    header_case(0, EV_NO_ACTION, 0, good, 3, 32, 0, "truncated");
    header_case(0, EV_NO_ACTION, 0, good, 2, 20, 0, "bad digest size");
    header_case(0, EV_NO_ACTION, 0, good, 2, 0, 0, "bad digest size");
    header_case(0, EV_NO_ACTION, 0, good, 2, 32, 1, "trailing bytes");
}

static void test_duplicate_bank_in_table(void **state)
{
    struct ulb b;
    static const uint16_t twice[] = { ALG_SHA256, ALG_SHA256 };

    ulb_init(&b);
    ulb_header(&b, twice, 2);
    expect_bad_ulb(&b, "twice");
    ulb_free(&b);
}

static void test_algorithm_not_in_table(void **state)
{
    struct ulb b;
    static const uint16_t sha1[] = { ALG_SHA1 };

    ulb_init(&b);
    ulb_header(&b, sha256_only, 1);
    raw_record(&b, 0, EV_SEPARATOR, 1, sha1, 1, 0, NULL, 0);
    expect_bad_ulb(&b, "record 1: algorithm 0x0004 not in the Spec ID table");
    ulb_free(&b);
}

static void test_digest_counts(void **state)
{
    struct ulb b;
    static const uint16_t dup[] = { ALG_SHA256, ALG_SHA256 };

    ulb_init(&b);
    ulb_header(&b, sha256_only, 1);
    raw_record(&b, 0, EV_SEPARATOR, 0, NULL, 0, 0, NULL, 0);
    expect_bad_ulb(&b, "digest count 0");
    ulb_free(&b);

    ulb_init(&b);
    ulb_header(&b, banks2, 2);
    raw_record(&b, 0, EV_SEPARATOR, 1, sha256_only, 1, 0, NULL, 0);
    expect_bad_ulb(&b, "digest count 1");
    ulb_free(&b);

    ulb_init(&b);
    ulb_header(&b, banks2, 2);
    raw_record(&b, 0, EV_SEPARATOR, 2, dup, 2, 0, NULL, 0);
    expect_bad_ulb(&b, "twice");
    ulb_free(&b);

    ulb_init(&b);
    ulb_header(&b, sha256_only, 1);
    raw_record(&b, 0, EV_SEPARATOR, 0xffffffffu, sha256_only, 1, 0, NULL, 0);
    expect_bad_ulb(&b, "digest count");
    ulb_free(&b);
}

static void test_event_size_bounds(void **state)
{
    struct ulb b;

    ulb_init(&b);
    ulb_header(&b, sha256_only, 1);
    raw_record(&b, 0, EV_SEPARATOR, 1, sha256_only, 1, 0xffffffffu, "abcd", 4);
    expect_bad_ulb(&b, "event size 4294967295 exceeds");
    ulb_free(&b);

    ulb_init(&b);
    ulb_header(&b, sha256_only, 1);
    raw_record(&b, 0, EV_SEPARATOR, 1, sha256_only, 1, 5, "abcd", 4);
    expect_bad_ulb(&b, "event size 5 exceeds");
    ulb_free(&b);

    ulb_init(&b);
    ulb_header(&b, sha256_only, 1);
    raw_record(&b, 0, EV_SEPARATOR, 1, sha256_only, 1, 3, "abcd", 4); /* one byte left over */
    expect_bad_ulb(&b, "record 2");
    ulb_free(&b);
}

static void test_pcr_range(void **state)
{
    struct ulb b;
    struct uefi_log log;

    ulb_init(&b);
    ulb_header(&b, banks2, 2);
    ulb_text(&b, 23, EV_SEPARATOR, "ok");
    ulb_text(&b, 24, EV_SEPARATOR, "no");
    expect_bad_ulb(&b, "record 2: pcr 24 out of range");
    ulb_free(&b);

    /* EV_NO_ACTION is not extended, so its PCR index does not matter. */
    ulb_init(&b);
    ulb_header(&b, banks2, 2);
    ulb_text(&b, 0xffffffffu, EV_NO_ACTION, "ignored");
    assert_int_equal(parse(&b, &log), 0);
    assert_int_equal(log.n, 2);
    uefilog_free(&log);
    ulb_free(&b);
}

static void locality_event(struct ulb *b, uint32_t pcr, const void *data, size_t len)
{
    ulb_init(b);
    ulb_header(b, banks2, 2);
    ulb_event(b, pcr, EV_NO_ACTION, data, len);
}

static void test_startup_locality(void **state)
{
    struct ulb b;
    uint8_t d[17];

    memcpy(d, "StartupLocality", 16);
    d[16] = 2;
    locality_event(&b, 0, d, 17);
    expect_bad_ulb(&b, "startup locality 2");
    ulb_free(&b);

    d[16] = 3;
    locality_event(&b, 0, d, 16);
    expect_bad_ulb(&b, "17 bytes");
    ulb_free(&b);

    locality_event(&b, 1, d, 17);
    expect_bad_ulb(&b, "PCR 0");
    ulb_free(&b);

    locality_event(&b, 0, d, 17);
    ulb_locality(&b, 3);
    expect_bad_ulb(&b, "second StartupLocality");
    ulb_free(&b);
}

static void test_no_sha256_bank(void **state)
{
    struct ulb b;
    struct uefi_log log;
    static const uint16_t sha1[] = { ALG_SHA1 };
    uint8_t pcr[24][32];
    uint32_t touched = 1;

    ulb_init(&b);
    ulb_header(&b, sha1, 1);
    ulb_preset_basic(&b, 1);
    assert_int_equal(parse(&b, &log), 0);
    assert_false(log.has_sha256_bank);
    for (size_t i = 0; i < log.n; i++)
        assert_false(log.ev[i].has_sha256);
    uefilog_replay_sha256(&log, pcr, &touched);
    assert_int_equal(touched, 0);
    assert_true(all_zero(pcr[0], sizeof(pcr)));
    uefilog_free(&log);
    ulb_free(&b);
}

static void test_size_limits(void **state)
{
    uint8_t *big = calloc(UEFILOG_MAX_SIZE + 1, 1);

    assert_non_null(big);
    expect_bad(big, UEFILOG_MAX_SIZE + 1, "4 MiB");
    free(big);
}

static void many_events(size_t n, int ok)
{
    struct ulb b;
    struct uefi_log log;
    uint8_t sep[4] = { 0 };

    ulb_init(&b);
    ulb_header(&b, sha256_only, 1);
    for (size_t i = 0; i < n; i++)
        ulb_event(&b, 4, EV_SEPARATOR, sep, sizeof(sep));
    if (ok) {
        assert_int_equal(parse(&b, &log), 0);
        assert_int_equal(log.n, n + 1);
        uefilog_free(&log);
    } else {
        expect_bad_ulb(&b, "more than 65536 records");
    }
    ulb_free(&b);
}

static void test_event_count_limit(void **state)
{
    many_events(UEFILOG_MAX_EVENTS - 1, 1);
    many_events(UEFILOG_MAX_EVENTS, 0);
}

static void test_type_names(void **state)
{
    char buf[16];
    uint32_t t;

    assert_string_equal(uefilog_type_name(EV_SEPARATOR, buf, sizeof(buf)), "EV_SEPARATOR");
    assert_string_equal(uefilog_type_name(0x80000003u, buf, sizeof(buf)),
                        "EV_EFI_BOOT_SERVICES_APPLICATION");
    assert_string_equal(uefilog_type_name(0x1234abcdu, buf, sizeof(buf)), "0x1234abcd");
    assert_int_equal(uefilog_type_from_name("0x1234abcd", &t), 0);
    assert_int_equal(t, 0x1234abcdu);
    assert_int_equal(uefilog_type_from_name("EV_EFI_VARIABLE_DRIVER_CONFIG", &t), 0);
    assert_int_equal(t, EV_EFI_VARIABLE_DRIVER_CONFIG);
    assert_int_equal(uefilog_type_from_name("0X4", &t), 0);
    assert_int_equal(t, EV_SEPARATOR);
    assert_int_equal(uefilog_type_from_name("EV_NOPE", &t), -EINVAL);
    assert_int_equal(uefilog_type_from_name("ev_separator", &t), -EINVAL);
    assert_int_equal(uefilog_type_from_name("0x", &t), -EINVAL);
    assert_int_equal(uefilog_type_from_name("0x123456789", &t), -EINVAL);
    assert_int_equal(uefilog_type_from_name("0x12g", &t), -EINVAL);
    assert_int_equal(uefilog_type_from_name("4", &t), -EINVAL);
    assert_int_equal(uefilog_type_from_name(NULL, &t), -EINVAL);
    /* Every name maps back to its type. */
    for (uint32_t i = 0; i < 0x200; i++) {
        uint32_t type = i < 0x100 ? i : 0x80000000u + i - 0x100;
        const char *n = uefilog_type_name(type, buf, sizeof(buf));

        assert_int_equal(uefilog_type_from_name(n, &t), 0);
        assert_int_equal(t, type);
    }
}

static void sb_log(struct ulb *b, uint32_t pcr, const void *value, size_t vlen)
{
    ulb_init(b);
    ulb_header(b, banks2, 2);
    ulb_variable(b, pcr, EV_EFI_VARIABLE_DRIVER_CONFIG, ulb_global_guid, "SecureBoot", value,
                 vlen);
}

static int sb_of(const struct ulb *b)
{
    struct uefi_log log;
    int v;

    assert_int_equal(parse(b, &log), 0);
    v = uefilog_secure_boot(&log);
    uefilog_free(&log);
    return v;
}

static void test_secure_boot_state(void **state)
{
    struct ulb b;
    struct uefi_log log;

    sb_log(&b, 7, "\1", 1);
    assert_int_equal(sb_of(&b), 1);
    ulb_secureboot(&b, 0); /* a second event that disagrees */
    assert_int_equal(sb_of(&b), -EBADMSG);
    ulb_free(&b);
    sb_log(&b, 7, "\0", 1);
    assert_int_equal(sb_of(&b), 0);
    ulb_free(&b);
    sb_log(&b, 7, "", 0); /* the variable does not exist */
    assert_int_equal(sb_of(&b), 0);
    ulb_free(&b);
    sb_log(&b, 7, "\2", 1);
    assert_int_equal(sb_of(&b), -EBADMSG);
    ulb_free(&b);
    sb_log(&b, 1, "\1", 1); /* measured into the wrong PCR: does not count */
    assert_int_equal(sb_of(&b), -ENOENT);
    ulb_free(&b);

    /* Data changed after measurement: the digest no longer matches, the value is refused. */
    sb_log(&b, 7, "\0", 1);
    assert_int_equal(parse(&b, &log), 0);
    b.buf[log.ev[1].data - b.buf + log.ev[1].data_len - 1] = 1;
    uefilog_free(&log);
    assert_int_equal(sb_of(&b), -EBADMSG);
    ulb_free(&b);
}

static void test_variable_layout(void **state)
{
    struct ulb v;
    struct uefi_event ev = { .type = EV_EFI_VARIABLE_DRIVER_CONFIG };
    struct uefi_variable var;

    ulb_init(&v);
    ulb_bytes(&v, ulb_global_guid, 16);
    ulb_u64(&v, 2);
    ulb_u64(&v, 1);
    ulb_bytes(&v, "P\0K\0\1", 5);
    ev.data = v.buf;
    ev.data_len = v.len;
    assert_int_equal(uefilog_variable(&ev, &var), 0);
    assert_true(uefilog_variable_is_global(&var, "PK"));
    ev.data_len = v.len - 1; /* value length says 1, 0 left */
    assert_int_equal(uefilog_variable(&ev, &var), -EBADMSG);
    ev.data_len = 31;
    assert_int_equal(uefilog_variable(&ev, &var), -EBADMSG);
    v.buf[16] = 0xff; /* name length beyond the data */
    v.buf[23] = 0xff;
    ev.data_len = v.len;
    assert_int_equal(uefilog_variable(&ev, &var), -EBADMSG);
    ulb_free(&v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_replay_matches_writer),
        cmocka_unit_test(test_replay_by_hand),
        cmocka_unit_test(test_every_truncation),
        cmocka_unit_test(test_trailing_bytes),
        cmocka_unit_test(test_bad_header),
        cmocka_unit_test(test_duplicate_bank_in_table),
        cmocka_unit_test(test_algorithm_not_in_table),
        cmocka_unit_test(test_digest_counts),
        cmocka_unit_test(test_event_size_bounds),
        cmocka_unit_test(test_pcr_range),
        cmocka_unit_test(test_startup_locality),
        cmocka_unit_test(test_no_sha256_bank),
        cmocka_unit_test(test_size_limits),
        cmocka_unit_test(test_event_count_limit),
        cmocka_unit_test(test_type_names),
        cmocka_unit_test(test_secure_boot_state),
        cmocka_unit_test(test_variable_layout),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
