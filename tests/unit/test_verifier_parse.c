/* SPDX-License-Identifier: BSD-3-Clause */
/* Unit tests of the verifier's parsers and checks: evidence CBOR, event log, TPM structures,
 * X.509 chain input and policy, each with negative cases. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <openssl/sha.h>

#include "cborutil.h"
#include "ctlproto.h"
#include "../tools/launch_fixture.h"
#include "../../verifier/check/chain.h"
#include "../../verifier/boot/eventlog.h"
#include "../../verifier/check/evidence.h"
#include "../../verifier/check/policy.h"
#include "../../verifier/check/quote.h"
#include "../../verifier/check/tpmobj.h"

static const char *skip_key; /* build_evidence leaves this key out */

static cbor_item_t *record(uint64_t n, uint64_t pcr, cbor_item_t *content, int break_digest)
{
    cbor_item_t *r = ctl_map_new();
    uint8_t *enc, md[32];
    size_t len;

    assert_int_equal(ctl_serialize(content, &enc, &len), 0);
    SHA256(enc, len, md);
    free(enc);
    md[0] ^= (uint8_t)break_digest;
    ctl_put_uint(r, "recnum", n);
    ctl_put_uint(r, "pcr", pcr);
    ctl_put_bytes(r, "digest", md, 32);
    ctl_put_item(r, "content", content);
    return r;
}

static cbor_item_t *launch(const char *cap)
{
    cbor_item_t *c = ctl_map_new(), *cfg = ctl_map_new(), *caps = cbor_new_definite_array(1),
                *none = cbor_new_definite_array(0), *none2 = cbor_new_definite_array(0);

    cbor_array_push(caps, cbor_move(cbor_build_string(cap)));
    ctl_put_str(c, "type", "launch-config");
    ctl_put_item(cfg, "capabilities", caps);
    ctl_put_item(cfg, "host_namespaces", none);
    ctl_put_item(cfg, "rootfs_setid", none2);
    ctl_put_bool(cfg, "readonly_rootfs", 0);
    ctl_put_uint(cfg, "memory_limit", 1 << 20);
    ctl_put_uint(cfg, "cpu_shares", 2);
    launch_fixture_fill(cfg);
    ctl_put_item(c, "config", cfg);
    return c;
}

static cbor_item_t *text_content(const char *type, const char *k, const char *v)
{
    cbor_item_t *c = ctl_map_new();

    ctl_put_str(c, "type", type);
    ctl_put_str(c, k, v);
    return c;
}

#define ROOTFS "sha256:1111111111111111111111111111111111111111111111111111111111111111"

/* A log of rootfs (PCR 8) and launch-config (PCR 10) records; flaw selects a defect. */
static cbor_item_t *make_log(int flaw)
{
    cbor_item_t *log = cbor_new_definite_array(2);

    cbor_array_push(log, cbor_move(record(flaw == 1 ? 5 : 0, flaw == 2 ? 9 : 8,
                                          text_content("rootfs", "digest", ROOTFS), flaw == 3)));
    cbor_array_push(log, cbor_move(record(1, 10, launch(flaw == 4 ? "CAP_SYS_ADMIN" : "CAP_NET_BIND_SERVICE"), 0)));
    return log;
}

/* Takes log; replays its wire form (maps built here are indefinite until serialized). */
static void put_pcrs(cbor_item_t *ev, cbor_item_t *log)
{
    uint8_t pcr[24][32], *enc;
    size_t len;
    cbor_item_t *p = cbor_new_definite_map(3), *w = ctl_map_new(), *back = NULL;

    ctl_put_item(w, "log", log);
    assert_int_equal(ctl_serialize(w, &enc, &len), 0);
    assert_int_equal(ctl_decode(enc, len, &back), 0);
    assert_int_equal(vf_eventlog_replay(ctl_get(back, "log"), pcr), 0);
    free(enc);
    cbor_decref(&w);
    cbor_decref(&back);
    for (uint8_t i = 8; i <= 10; i++)
        cbor_map_add(p, (struct cbor_pair){ .key = cbor_move(cbor_build_uint8(i)),
                                            .value = cbor_move(cbor_build_bytestring(pcr[i], 32)) });
    ctl_put_item(ev, "pcrs", p);
}

static void put(cbor_item_t *ev, const char *k, cbor_item_t *v)
{
    if (skip_key && !strcmp(skip_key, k))
        cbor_decref(&v);
    else
        ctl_put_item(ev, k, v);
}

static uint8_t *build_evidence(int flaw, size_t *len)
{
    static const uint8_t nonce[32] = { 1, 2, 3 };
    cbor_item_t *ev = ctl_map_new(), *log = make_log(flaw);
    uint8_t *buf;

    put(ev, "v", cbor_build_uint8(1));
    put(ev, "container_id", cbor_build_string("c-1"));
    put(ev, "vtpm_uuid", cbor_build_string("0b6e2f9a-8f4e-4a8e-9b7a-6a4c8b2f0d11"));
    put(ev, "nonce", cbor_build_bytestring(nonce, sizeof(nonce)));
    put(ev, "ak_pub", cbor_build_bytestring((const uint8_t *)"\x00\x01x", 3));
    put(ev, "quote_attest", cbor_build_bytestring((const uint8_t *)"junk", 4));
    put(ev, "quote_sig", cbor_build_bytestring((const uint8_t *)"junk", 4));
    put(ev, "ek_cert", cbor_build_bytestring((const uint8_t *)"\x30\x03\x02\x01\x01", 5));
    put(ev, "host_chain", cbor_new_definite_map(0));
    if (!skip_key || strcmp(skip_key, "pcrs"))
        put_pcrs(ev, make_log(0));
    put(ev, "event_log", log);
    assert_int_equal(ctl_serialize(ev, &buf, len), 0);
    cbor_decref(&ev);
    return buf;
}

static void test_evidence_ok(void **state)
{
    struct evidence ev;
    size_t len;
    uint8_t *b = build_evidence(0, &len);
    char err[64];

    (void)state;
    skip_key = NULL;
    assert_int_equal(vf_evidence_parse(b, len, &ev, err, sizeof(err)), 0);
    assert_string_equal(ev.container_id, "c-1");
    assert_int_equal(ev.npcrs, 3);
    assert_int_equal(ev.pcrs[0].index, 8);
    assert_int_equal(ev.nonce.len, 32);
    assert_string_equal(ev.registration, "");
    vf_evidence_free(&ev);
    free(b);
}

static void expect_bad(const uint8_t *b, size_t len)
{
    struct evidence ev;
    char err[64] = "";

    assert_int_equal(vf_evidence_parse(b, len, &ev, err, sizeof(err)), -EBADMSG);
    assert_true(err[0] != '\0');
    vf_evidence_free(&ev);
}

static void test_evidence_missing_keys(void **state)
{
    static const char *const keys[] = { "v", "container_id", "vtpm_uuid", "nonce", "ak_pub",
                                        "quote_attest", "quote_sig", "ek_cert", "host_chain",
                                        "pcrs", "event_log" };
    size_t len;

    (void)state;
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        uint8_t *b;
        skip_key = keys[i];
        b = build_evidence(0, &len);
        expect_bad(b, len);
        free(b);
    }
    skip_key = NULL;
}

static void test_evidence_malformed(void **state)
{
    static const uint8_t not_map[] = { 0x83, 1, 2, 3 };
    static const uint8_t huge_count[] = { 0xbb, 0, 0, 0, 0x10, 0, 0, 0, 0 }; /* map of 2^36 */
    static const uint8_t indef[] = { 0xbf, 0x61, 'v', 1, 0xff };
    size_t len;
    uint8_t *b, *t;
    cbor_item_t *m;

    (void)state;
    expect_bad(not_map, sizeof(not_map));
    expect_bad(huge_count, sizeof(huge_count));
    expect_bad(indef, sizeof(indef));
    expect_bad((const uint8_t *)"", 0);
    skip_key = NULL;
    b = build_evidence(0, &len);
    expect_bad(b, len - 1);                 /* truncated */
    t = malloc(len + 1);
    memcpy(t, b, len);
    t[len] = 0;
    expect_bad(t, len + 1);                 /* trailing byte */
    free(t);
    free(b);
    /* wrong types, unknown keys, bad pcrs, short nonce */
    m = ctl_map_new();
    ctl_put_uint(m, "v", 2);
    assert_int_equal(ctl_serialize(m, &b, &len), 0);
    expect_bad(b, len);
    free(b);
    cbor_decref(&m);
    skip_key = "nonce";
    b = build_evidence(0, &len);
    free(b);
    skip_key = NULL;
}

static uint8_t *with(const char *k, cbor_item_t *v, size_t *len)
{
    size_t l0;
    uint8_t *b = build_evidence(0, &l0), *out;
    cbor_item_t *m = NULL;
    struct cbor_pair *p;

    assert_int_equal(ctl_decode(b, l0, &m), 0);
    p = cbor_map_handle(m);
    for (size_t i = 0; i < cbor_map_size(m); i++)
        if (cbu_text_eq(p[i].key, k)) {
            cbor_decref(&p[i].value);
            p[i].value = v;
            v = NULL;
        }
    if (v) { /* decoded maps are definite and full: copy into one that grows */
        cbor_item_t *g = ctl_map_new();
        for (size_t i = 0; i < cbor_map_size(m); i++)
            cbor_map_add(g, p[i]);
        ctl_put_item(g, k, v);
        cbor_decref(&m);
        m = g;
    }
    assert_int_equal(ctl_serialize(m, &out, len), 0);
    cbor_decref(&m);
    free(b);
    return out;
}

/* Node mode: a top-level node name instead of the host map, never both. */
static void test_evidence_node(void **state)
{
    struct evidence ev;
    size_t len, l2;
    uint8_t *b = with("node", cbor_build_string("worker-3.example"), &len), *b2;
    cbor_item_t *m = NULL, *g = ctl_map_new();
    char err[64] = "";

    (void)state;
    assert_int_equal(vf_evidence_parse(b, len, &ev, err, sizeof(err)), 0);
    assert_string_equal(ev.node, "worker-3.example");
    assert_false(ev.host.present);
    assert_string_equal(vf_evidence_node(&ev), "worker-3.example");
    vf_evidence_free(&ev);
    /* ... plus a host map: refused, whatever the host map holds */
    assert_int_equal(ctl_decode(b, len, &m), 0);
    for (size_t i = 0; i < cbor_map_size(m); i++)
        cbor_map_add(g, cbor_map_handle(m)[i]);
    ctl_put_item(g, "host", ctl_map_new());
    assert_int_equal(ctl_serialize(g, &b2, &l2), 0);
    assert_int_equal(vf_evidence_parse(b2, l2, &ev, err, sizeof(err)), -EBADMSG);
    assert_string_equal(err, "host and node are exclusive");
    vf_evidence_free(&ev);
    cbor_decref(&m);
    cbor_decref(&g);
    free(b2);
    free(b);
    /* bad names and types */
    b = with("node", cbor_build_string("Worker_3"), &len);
    expect_bad(b, len);
    free(b);
    b = with("node", cbor_build_string(""), &len);
    expect_bad(b, len);
    free(b);
    b = with("node", cbor_build_string("-lead"), &len);
    expect_bad(b, len);
    free(b);
    b = with("node", cbor_build_uint8(7), &len);
    expect_bad(b, len);
    free(b);
    b = with("node", cbor_build_bytestring((const uint8_t *)"node-a", 6), &len);
    expect_bad(b, len);
    free(b);
    {
        char big[300];
        memset(big, 'a', sizeof(big) - 1);
        big[sizeof(big) - 1] = 0;
        b = with("node", cbor_build_string(big), &len);
        expect_bad(b, len);
        free(b);
    }
}

static void test_evidence_bad_fields(void **state)
{
    size_t len;
    uint8_t *b;
    cbor_item_t *p;

    (void)state;
    b = with("nonce", cbor_build_bytestring((const uint8_t *)"short", 5), &len);
    expect_bad(b, len);
    free(b);
    b = with("unknown", cbor_build_uint8(1), &len);
    expect_bad(b, len);
    free(b);
    b = with("container_id", cbor_build_uint8(1), &len);
    expect_bad(b, len);
    free(b);
    b = with("event_log", cbor_new_definite_map(0), &len);
    expect_bad(b, len);
    free(b);
    p = cbor_new_definite_map(1); /* PCR index out of range */
    cbor_map_add(p, (struct cbor_pair){ .key = cbor_move(cbor_build_uint8(24)),
                                        .value = cbor_move(cbor_build_bytestring((uint8_t[32]){ 0 }, 32)) });
    b = with("pcrs", p, &len);
    expect_bad(b, len);
    free(b);
    p = cbor_new_definite_map(1); /* value not 32 bytes */
    cbor_map_add(p, (struct cbor_pair){ .key = cbor_move(cbor_build_uint8(8)),
                                        .value = cbor_move(cbor_build_bytestring((uint8_t[31]){ 0 }, 31)) });
    b = with("pcrs", p, &len);
    expect_bad(b, len);
    free(b);
    p = cbor_new_definite_map(1); /* host_chain value not bytes */
    cbor_map_add(p, (struct cbor_pair){ .key = cbor_move(cbor_build_string("vtpm-ca.pem")),
                                        .value = cbor_move(cbor_build_uint8(1)) });
    b = with("host_chain", p, &len);
    expect_bad(b, len);
    free(b);
}

/* Runs the event-log check on evidence whose PCRs are those of a flawless log; m borrows
 * from ev, which the caller frees. */
static void log_check_ev(int flaw, struct evidence *ev, struct reasons *r, struct measurements *m,
                         int want_rc)
{
    size_t len;
    uint8_t *b;
    char err[64];

    skip_key = NULL;
    b = build_evidence(flaw, &len);
    assert_int_equal(vf_evidence_parse(b, len, ev, err, sizeof(err)), 0);
    free(b);
    assert_int_equal(vf_eventlog_check(ev, m, r), want_rc);
}

static void log_check(int flaw, struct reasons *r, struct measurements *m, int want_rc)
{
    struct evidence ev;

    log_check_ev(flaw, &ev, r, m, want_rc);
    vf_evidence_free(&ev);
}

static void test_eventlog(void **state)
{
    struct reasons r = { 0 };
    struct measurements m;

    (void)state;
    log_check(0, &r, &m, 0);
    assert_int_equal(r.n, 0);
    assert_true(m.has_rootfs);
    assert_string_equal(m.rootfs_digest, ROOTFS);
    log_check(1, &r, &m, -EBADMSG); /* recnum out of order */
    assert_true(reasons_has(&r, "eventlog-malformed"));
    reasons_free(&r);
    log_check(2, &r, &m, 0); /* rootfs record in PCR 9 */
    assert_true(reasons_has(&r, "eventlog-wrong-pcr"));
    assert_true(reasons_has(&r, "eventlog-replay-mismatch"));
    reasons_free(&r);
    log_check(3, &r, &m, 0); /* digest does not match its content */
    assert_true(reasons_has(&r, "eventlog-record-digest"));
    assert_true(reasons_has(&r, "eventlog-replay-mismatch"));
    reasons_free(&r);
    log_check(4, &r, &m, 0); /* a different log than the PCRs */
    assert_true(reasons_has(&r, "eventlog-replay-mismatch"));
    assert_false(reasons_has(&r, "eventlog-record-digest"));
    reasons_free(&r);
}

static void test_policy(void **state)
{
    struct policy p = { 0 };
    struct reasons r = { 0 };
    struct measurements m;
    struct evidence ev;
    char err[128], norm[72];

    (void)state;
    assert_int_equal(policy_default(&p), 0);
    log_check_ev(4, &ev, &r, &m, 0);
    reasons_free(&r);
    policy_check(&p, &m, &r);
    assert_true(reasons_has(&r, "rootfs-digest-not-allowed"));
    assert_true(reasons_has(&r, "runtime-not-measured"));
    assert_true(reasons_has(&r, "capability-not-allowed"));
    assert_false(reasons_has(&r, "memory-limit-missing"));
    reasons_free(&r);
    assert_int_equal(policy_allow(&p, POLICY_ROOTFS, ROOTFS + 7), 0);
    assert_int_equal(policy_allow(&p, POLICY_RUNTIME, "sha256:zz"), -EINVAL);
    policy_check(&p, &m, &r);
    assert_false(reasons_has(&r, "rootfs-digest-not-allowed"));
    reasons_free(&r);
    policy_free(&p);
    vf_evidence_free(&ev);
    assert_int_equal(policy_normalize_digest("SHA256:" "ABCDEF0123456789abcdef0123456789"
                                             "ABCDEF0123456789abcdef0123456789", norm), 0);
    assert_string_equal(norm, "sha256:abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789");
    assert_int_equal(policy_parse("{", 1, &p, err, sizeof(err)), -EINVAL);
    assert_int_equal(policy_parse("[]", 2, &p, err, sizeof(err)), -EINVAL);
    assert_int_equal(policy_parse("{\"version\":3}", 13, &p, err, sizeof(err)), -EINVAL);
    {
        static const char unk[] = "{\"version\":2,\"digests\":{},\"launch\":{\"bogus\":true}}";
        static const char bad[] = "{\"version\":2,\"digests\":{\"rootfs\":[\"x\"]},\"launch\":{}}";
        static const char dup[] = "{\"version\":2,\"version\":2,\"digests\":{},\"launch\":{}}";
        static const char v1[] = "{\"version\":1,\"digests\":{},\"launch\":{}}";
        static const char okp[] = "{\"version\":2,\"digests\":{},\"launch\":{}}";
        assert_int_equal(policy_parse(v1, strlen(v1), &p, err, sizeof(err)), -EINVAL);
        assert_non_null(strstr(err, "version 1"));
        assert_int_equal(policy_parse(unk, strlen(unk), &p, err, sizeof(err)), -EINVAL);
        assert_int_equal(policy_parse(bad, strlen(bad), &p, err, sizeof(err)), -EINVAL);
        assert_int_equal(policy_parse(dup, strlen(dup), &p, err, sizeof(err)), -EINVAL);
        assert_int_equal(policy_parse(okp, strlen(okp), &p, err, sizeof(err)), 0);
        policy_free(&p);
    }
}

static void test_tpm_structures(void **state)
{
    TPM2B_PUBLIC pub;
    TPMS_ATTEST a;
    TPMT_SIGNATURE s;
    uint8_t buf[16] = { 0 };

    (void)state;
    assert_int_equal(tpm_public_parse(buf, 0, &pub), -EBADMSG);
    assert_int_equal(tpm_public_parse(buf, 2, &pub), -EBADMSG);        /* size 0 */
    buf[1] = 40;
    assert_int_equal(tpm_public_parse(buf, sizeof(buf), &pub), -EBADMSG); /* truncated */
    assert_int_equal(tpm_attest_parse(buf, sizeof(buf), &a), -EBADMSG);
    assert_int_equal(tpm_signature_parse(buf, 1, &s), -EBADMSG);
    /* a well-formed null signature, then one trailing byte */
    buf[0] = 0x00; buf[1] = 0x10;
    assert_int_equal(tpm_signature_parse(buf, 2, &s), 0);
    assert_int_equal(tpm_signature_parse(buf, 3, &s), -EBADMSG);
    memset(&pub, 0, sizeof(pub));
    pub.publicArea.type = TPM2_ALG_ECC;
    pub.publicArea.parameters.eccDetail.curveID = 0x7777;
    assert_null(tpm_public_pkey(&pub.publicArea));
    pub.publicArea.type = TPM2_ALG_RSA;
    pub.publicArea.parameters.rsaDetail.keyBits = 1024;
    assert_null(tpm_public_pkey(&pub.publicArea));
    assert_false(tpm_public_is_ak(&pub.publicArea));
}

/* The quote check on junk: every problem is a reason, nothing crashes. */
static void test_quote_junk(void **state)
{
    struct evidence ev;
    struct quote_info qi;
    struct reasons r = { 0 };
    size_t len;
    uint8_t *b = build_evidence(0, &len);
    char err[64];

    (void)state;
    assert_int_equal(vf_evidence_parse(b, len, &ev, err, sizeof(err)), 0);
    quote_check(&ev, &qi, &r);
    assert_true(reasons_has(&r, "ak-malformed"));
    assert_true(reasons_has(&r, "quote-malformed"));
    assert_false(qi.signature_ok);
    reasons_free(&r);
    vf_evidence_free(&ev);
    free(b);
}

/* X.509 and host-chain negatives: garbage certificate, empty chain, no trust. */
static void test_chain_junk(void **state)
{
    struct evidence ev;
    struct reasons r = { 0 };
    size_t len;
    uint8_t *b = build_evidence(0, &len);
    char err[64];
    struct chain_input ci;
    EVP_PKEY *ek = NULL;

    (void)state;
    assert_int_equal(vf_evidence_parse(b, len, &ev, err, sizeof(err)), 0);
    ci = (struct chain_input){ .ek_cert = ev.ek_cert, .host_chain = ev.host_chain,
                               .vtpm_uuid = ev.vtpm_uuid };
    chain_check(&ci, NULL, &r, &ek);
    assert_null(ek);
    assert_true(reasons_has(&r, "ek-cert-malformed"));
    assert_true(reasons_has(&r, "host-chain-malformed"));
    assert_true(reasons_has(&r, "host-ek-untrusted") || reasons_has(&r, "host-chain-malformed"));
    reasons_free(&r);
    assert_null(chain_trust_load("/nonexistent-dir"));
    vf_evidence_free(&ev);
    free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_evidence_ok),
        cmocka_unit_test(test_evidence_missing_keys),
        cmocka_unit_test(test_evidence_malformed),
        cmocka_unit_test(test_evidence_bad_fields),
        cmocka_unit_test(test_evidence_node),
        cmocka_unit_test(test_eventlog),
        cmocka_unit_test(test_policy),
        cmocka_unit_test(test_tpm_structures),
        cmocka_unit_test(test_quote_junk),
        cmocka_unit_test(test_chain_junk),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
