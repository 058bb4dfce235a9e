/* SPDX-License-Identifier: BSD-3-Clause */
/* Unit tests of the agent's event log (encoding, replay, tampering) and of its verifier
 * messages (evidence encoding, registration replies, negative parser cases). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "cborenc.h"
#include "ctlproto.h"
#include "digest.h"
#include "eventlog.h"
#include "evidence.h"
#include "measure.h"

static cbor_item_t *content(const char *type, const char *digest)
{
    cbor_item_t *c = ctl_map_new();

    assert_non_null(c);
    assert_int_equal(ctl_put_str(c, "type", type), 0);
    assert_int_equal(ctl_put_str(c, "digest", digest), 0);
    return c;
}

static void build_log(struct eventlog *log, uint8_t expect[EVENTLOG_PCRS][DIGEST_LEN])
{
    static const struct { unsigned pcr; const char *type, *digest; } recs[] = {
        { 8, "rootfs", "sha256:aa" }, { 9, "runtime", "sha256:bb" },
        { 9, "agent", "sha256:cc" }, { 10, "launch-config", "sha256:dd" },
    };
    uint8_t d[DIGEST_LEN], enc_d[DIGEST_LEN], *enc;
    size_t len;

    memset(expect, 0, EVENTLOG_PCRS * DIGEST_LEN);
    assert_int_equal(eventlog_init(log), 0);
    for (size_t i = 0; i < 4; i++) {
        cbor_item_t *c = content(recs[i].type, recs[i].digest);
        assert_int_equal(cb_encode(c, &enc, &len), 0);
        assert_int_equal(digest_buf(enc, len, enc_d), 0);
        free(enc);
        assert_int_equal(eventlog_add(log, recs[i].pcr, c, d), 0);
        assert_memory_equal(d, enc_d, DIGEST_LEN); /* SHA-256 of the content's encoding */
        assert_int_equal(digest_extend(expect[recs[i].pcr], d), 0);
    }
    assert_int_equal(log->count, 4);
}

/* The log as the verifier sees it: encoded, then decoded. */
static cbor_item_t *wire(const struct eventlog *log)
{
    struct cbor_load_result res;
    uint8_t *enc;
    size_t len;
    cbor_item_t *it;

    assert_int_equal(cb_encode(log->records, &enc, &len), 0);
    it = cbor_load(enc, len, &res);
    free(enc);
    assert_non_null(it);
    assert_int_equal(res.read, len);
    return it;
}

static void test_replay(void **state)
{
    uint8_t expect[EVENTLOG_PCRS][DIGEST_LEN], got[EVENTLOG_PCRS][DIGEST_LEN];
    struct eventlog log;
    uint32_t used;
    cbor_item_t *w;
    uint64_t u;

    (void)state;
    build_log(&log, expect);
    assert_int_equal(eventlog_replay(log.records, got, &used), 0);
    assert_int_equal(used, 0x700);
    for (int i = 8; i <= 10; i++)
        assert_memory_equal(got[i], expect[i], DIGEST_LEN);
    w = wire(&log);
    assert_true(cbor_array_is_definite(w));
    assert_int_equal(eventlog_replay(w, got, &used), 0);
    assert_memory_equal(got[9], expect[9], DIGEST_LEN);
    assert_int_equal(ctl_get_uint(cbor_array_handle(w)[3], "recnum", &u), 0);
    assert_true(u == 3);
    cbor_decref(&w);
    eventlog_free(&log);
}

/* Replaces *slot by v and releases the old item. */
static void replace(cbor_item_t **slot, cbor_item_t *v)
{
    cbor_item_t *old = *slot;

    assert_non_null(v);
    *slot = v;
    cbor_decref(&old);
}

/* Each tampering of a decoded log makes the replay fail. */
static void test_tamper(void **state)
{
    uint8_t expect[EVENTLOG_PCRS][DIGEST_LEN], got[EVENTLOG_PCRS][DIGEST_LEN];
    struct eventlog log;
    uint32_t used;
    cbor_item_t *w, *rec, *s;

    (void)state;
    build_log(&log, expect);
    for (int t = 0; t < 5; t++) {
        w = wire(&log);
        rec = cbor_array_handle(w)[1];
        switch (t) {
        case 0: /* content changed, digest kept */
            replace(&cbor_map_handle(ctl_get(rec, "content"))[1].value,
                    cbor_build_string("sha256:bx"));
            break;
        case 1: /* records swapped: recnum order broken */
            s = cbor_array_handle(w)[0];
            cbor_array_handle(w)[0] = cbor_array_handle(w)[1];
            cbor_array_handle(w)[1] = s;
            break;
        case 2: /* PCR out of range */
            replace(&cbor_map_handle(rec)[1].value, cb_uint(24));
            break;
        case 3: /* short digest */
            replace(&cbor_map_handle(rec)[2].value,
                    cbor_build_bytestring((const uint8_t *)"short", 5));
            break;
        default: /* not a map */
            replace(&cbor_array_handle(w)[1], cbor_build_uint8(1));
            break;
        }
        assert_int_equal(eventlog_replay(w, got, &used), -EBADMSG);
        cbor_decref(&w);
    }
    assert_int_equal(eventlog_replay(NULL, got, &used), -EBADMSG);
    s = ctl_map_new();
    assert_int_equal(eventlog_replay(s, got, &used), -EBADMSG);
    cbor_decref(&s);
    eventlog_free(&log);
}

static void test_add_rejects(void **state)
{
    struct eventlog log;
    uint8_t d[DIGEST_LEN];

    (void)state;
    assert_int_equal(eventlog_init(&log), 0);
    assert_int_equal(eventlog_add(&log, 24, content("x", "y"), d), -EINVAL);
    assert_int_equal(eventlog_add(&log, 8, cbor_build_uint8(3), d), -EINVAL);
    assert_int_equal(eventlog_add(&log, 8, NULL, d), -EINVAL);
    assert_int_equal(log.count, 0);
    eventlog_free(&log);
}

static void test_measurement_log(void **state)
{
    static const char *const types[] = { "image", "rootfs", "runtime", "agent", "launch-config" };
    static const uint64_t pcrs[] = { 8, 8, 9, 9, 10 };
    struct measurement m;
    struct eventlog log;
    char type[32];

    (void)state;
    memset(&m, 0, sizeof(m));
    m.image_ref = "docker.io/library/busybox:latest";
    m.image_digest = "sha256:0123";
    strcpy(m.runtime_path, "/usr/sbin/runc");
    strcpy(m.agent_path, "/usr/bin/attest-agent");
    m.lc.map = ctl_map_new(); /* launchcfg_extract's map, empty here */
    assert_non_null(m.lc.map);
    assert_int_equal(measure_eventlog(&m, &log), 0);
    assert_int_equal(log.count, 5);
    for (size_t i = 0; i < 5; i++) {
        cbor_item_t *rec = cbor_array_handle(log.records)[i];
        uint64_t pcr;
        assert_int_equal(ctl_get_uint(rec, "pcr", &pcr), 0);
        assert_true(pcr == pcrs[i]);
        assert_int_equal(ctl_get_str(ctl_get(rec, "content"), "type", type, sizeof(type)), 0);
        assert_string_equal(type, types[i]);
    }
    assert_non_null(ctl_get(ctl_get(cbor_array_handle(log.records)[4], "content"), "config"));
    eventlog_free(&log);
    m.image_ref = m.image_digest = NULL; /* no annotations: no image record */
    assert_int_equal(measure_eventlog(&m, &log), 0);
    assert_int_equal(log.count, 4);
    eventlog_free(&log);
    measure_free(&m);
}

static void test_evidence_encode(void **state)
{
    struct vtpm_quote q = { .attest = (uint8_t *)"ATT", .attest_len = 3,
                            .sig = (uint8_t *)"SIG", .sig_len = 3 };
    uint8_t expect[EVENTLOG_PCRS][DIGEST_LEN], *buf;
    cbor_item_t *chain = ctl_map_new(), *m, *pcrs;
    struct eventlog log;
    struct evidence e = { .container_id = "c1", .vtpm_uuid = "u1",
                          .nonce = { (const uint8_t *)"nonce", 5 },
                          .ak_pub = { (const uint8_t *)"ak", 2 },
                          .ek_cert = { (const uint8_t *)"ek", 2 }, .quote = &q };
    size_t len;
    uint64_t v;

    (void)state;
    build_log(&log, expect);
    assert_int_equal(ctl_put_bytes(chain, "vtpm-ca.pem", (const uint8_t *)"pem", 3), 0);
    e.log = &log;
    e.host_chain = chain;
    assert_int_equal(evidence_encode(&e, &buf, &len), 0);
    assert_int_equal(ctl_decode(buf, len, &m), 0);
    free(buf);
    assert_int_equal(ctl_get_uint(m, "v", &v), 0);
    assert_true(v == 1);
    assert_null(ctl_get(m, "registration"));
    pcrs = ctl_get(m, "pcrs");
    assert_true(pcrs && cbor_isa_map(pcrs) && cbor_map_size(pcrs) == VTPM_QUOTE_PCRS);
    assert_int_equal(cbor_get_int(cbor_map_handle(pcrs)[0].key), 8);
    assert_int_equal(cbor_get_int(cbor_map_handle(pcrs)[3].key), 11); /* runtime PCR */
    assert_null(ctl_get(m, "rootfs_manifest"));
    assert_int_equal(cbor_array_size(ctl_get(m, "event_log")), 4);
    assert_true(cbor_isa_map(ctl_get(m, "host_chain")));
    cbor_decref(&m);
    e.registration = "reg-1";
    assert_int_equal(evidence_encode(&e, &buf, &len), 0);
    assert_int_equal(ctl_decode(buf, len, &m), 0);
    free(buf);
    assert_non_null(ctl_get(m, "registration"));
    cbor_decref(&m);
    e.manifest = (struct bytes){ .p = (const uint8_t *)"\x87", .len = 1 };
    assert_int_equal(evidence_encode(&e, &buf, &len), 0);
    assert_int_equal(ctl_decode(buf, len, &m), 0);
    free(buf);
    assert_non_null(ctl_get(m, "rootfs_manifest"));
    cbor_decref(&m);
    e.manifest = (struct bytes){ 0 };
    assert_int_equal(register_request_encode(&e, &buf, &len), 0);
    assert_int_equal(ctl_decode(buf, len, &m), 0);
    free(buf);
    assert_null(ctl_get(m, "quote_attest"));
    assert_non_null(ctl_get(m, "ek_cert"));
    cbor_decref(&m);
    cbor_decref(&chain);
    eventlog_free(&log);
}

static void encode_map(cbor_item_t *m, uint8_t **buf, size_t *len)
{
    assert_int_equal(cb_encode(m, buf, len), 0);
    cbor_decref(&m);
}

static cbor_item_t *reply(int v, const char *reg, int blob, int secret)
{
    cbor_item_t *m = ctl_map_new();

    if (v >= 0)
        assert_int_equal(cb_put_uint(m, "v", (uint64_t)v), 0);
    if (reg)
        assert_int_equal(ctl_put_str(m, "registration", reg), 0);
    if (blob)
        assert_int_equal(ctl_put_bytes(m, "credential_blob", (const uint8_t *)"blob", 4), 0);
    if (secret == 1)
        assert_int_equal(ctl_put_bytes(m, "secret", (const uint8_t *)"sec", 3), 0);
    if (secret == 2)
        assert_int_equal(ctl_put_str(m, "secret", "text"), 0);
    return m;
}

static void test_register_reply(void **state)
{
    struct reg_challenge c;
    uint8_t *buf;
    size_t len;
    char longid[200];
    cbor_item_t *bad[] = { reply(2, "r", 1, 1), reply(-1, "r", 1, 1), reply(1, NULL, 1, 1),
                           reply(1, "r", 0, 1), reply(1, "r", 1, 0), reply(1, "r", 1, 2),
                           NULL };

    (void)state;
    encode_map(reply(1, "reg-7", 1, 1), &buf, &len);
    assert_int_equal(register_reply_parse(buf, len, &c), 0);
    assert_string_equal(c.registration, "reg-7");
    assert_int_equal(c.blob_len, 4);
    assert_memory_equal(c.secret, "sec", 3);
    reg_challenge_free(&c);
    assert_int_equal(register_reply_parse(buf, len - 1, &c), -EBADMSG); /* truncated */
    free(buf);
    memset(longid, 'x', sizeof(longid) - 1);
    longid[sizeof(longid) - 1] = '\0';
    bad[6] = reply(1, longid, 1, 1);
    for (int i = 0; i < 7; i++) {
        encode_map(bad[i], &buf, &len);
        assert_int_equal(register_reply_parse(buf, len, &c), -EBADMSG);
        assert_null(c.blob);
        free(buf);
    }
    assert_int_equal(register_reply_parse((const uint8_t *)"\x82\x01\x02", 3, &c), -EBADMSG);
}

static void test_activate_reply(void **state)
{
    cbor_item_t *m;
    uint8_t *buf;
    size_t len;

    (void)state;
    m = ctl_map_new();
    assert_int_equal(cb_put_uint(m, "v", 1) || ctl_put_bool(m, "ok", 1), 0);
    encode_map(m, &buf, &len);
    assert_int_equal(activate_reply_parse(buf, len), 0);
    free(buf);
    m = ctl_map_new();
    assert_int_equal(cb_put_uint(m, "v", 1) || ctl_put_bool(m, "ok", 0), 0);
    encode_map(m, &buf, &len);
    assert_int_equal(activate_reply_parse(buf, len), -EACCES);
    free(buf);
    m = ctl_map_new();
    assert_int_equal(cb_put_uint(m, "v", 1) || ctl_put_str(m, "ok", "yes"), 0);
    encode_map(m, &buf, &len);
    assert_int_equal(activate_reply_parse(buf, len), -EBADMSG);
    free(buf);
    assert_int_equal(activate_reply_parse((const uint8_t *)"", 0), -EBADMSG);
}

static enum verdict_kind verdict_of(const char *json, long status)
{
    return verdict_reply_parse((const uint8_t *)json, strlen(json), status);
}

/* allow only with 200; deny and refused (evidence that proves nothing) are verdicts the agent
 * reports; anything else is not understood (the caller fails closed). */
static void test_verdict_reply(void **state)
{
    (void)state;
    assert_int_equal(verdict_of("{\"verdict\":\"allow\",\"reasons\":[]}", 200), VERDICT_ALLOW);
    assert_int_equal(verdict_of("{\"verdict\":\"allow\"}", 201), VERDICT_UNKNOWN);
    assert_int_equal(verdict_of("{\"verdict\":\"deny\",\"reasons\":[\"x\"]}", 400),
                     VERDICT_DENY);
    assert_int_equal(verdict_of("{\"verdict\":\"refused\",\"reasons\":[\"x\"]}", 200),
                     VERDICT_REFUSED);
    assert_int_equal(verdict_of("{\"verdict\":\"Allow\"}", 200), VERDICT_UNKNOWN);
    assert_int_equal(verdict_of("{\"verdict\":true}", 200), VERDICT_UNKNOWN);
    assert_int_equal(verdict_of("[\"allow\"]", 200), VERDICT_UNKNOWN);
    assert_int_equal(verdict_of("{\"verdict\":\"allow\"", 200), VERDICT_UNKNOWN);
    assert_int_equal(verdict_of("", 200), VERDICT_UNKNOWN);
    assert_int_equal(verdict_reply_parse(NULL, 0, 200), VERDICT_UNKNOWN);
}

static void test_hex(void **state)
{
    uint8_t *b;
    size_t n;

    (void)state;
    assert_int_equal(hex_decode("00aAfF", &b, &n), 0);
    assert_int_equal(n, 3);
    assert_memory_equal(b, "\x00\xaa\xff", 3);
    free(b);
    assert_int_equal(hex_decode("abc", &b, &n), -EINVAL);
    assert_int_equal(hex_decode("zz", &b, &n), -EINVAL);
    assert_int_equal(hex_decode(NULL, &b, &n), -EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_replay),
        cmocka_unit_test(test_tamper),
        cmocka_unit_test(test_add_rejects),
        cmocka_unit_test(test_measurement_log),
        cmocka_unit_test(test_evidence_encode),
        cmocka_unit_test(test_register_reply),
        cmocka_unit_test(test_activate_reply),
        cmocka_unit_test(test_verdict_reply),
        cmocka_unit_test(test_hex),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
