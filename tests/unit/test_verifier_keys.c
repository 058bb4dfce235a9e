/* SPDX-License-Identifier: BSD-3-Clause */
/* Unit tests of the verifier's key and digest shortcuts (tpmobj.c, eventlog.c, chain.c): EC
 * keys copied from per-curve templates, SHA-256 by a digest fetched once, event-log contents
 * serialized on the stack or, when larger than that buffer, on the heap, and the per-thread
 * memo of the host key (host chains that fit it and larger ones name the same entries). */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/sha.h>

#include "ctlproto.h"
#include "fileio.h"
#include "../../verifier/boot/eventlog.h"
#include "../../verifier/check/chain.h"
#include "../../verifier/check/chaincache.h"
#include "../../verifier/check/hostcache.h"
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

/* A copy of the evidence's host chain with junk lines (ignored by the PEM reader) after
 * vtpm-ca.pem's certificate: pad bytes of them, junk[0] as their letter. */
static cbor_item_t *chain_padded(const cbor_item_t *c, size_t pad, char letter)
{
    struct cbor_pair *p = cbor_map_handle(c);
    cbor_item_t *m = ctl_map_new();

    for (size_t i = 0; i < cbor_map_size(c); i++) {
        char k[64];
        size_t kl = cbor_string_length(p[i].key), vl = cbor_bytestring_length(p[i].value);
        uint8_t *v = malloc(vl + pad);
        assert_true(kl < sizeof(k));
        assert_non_null(v);
        memcpy(k, cbor_string_handle(p[i].key), kl);
        k[kl] = '\0';
        memcpy(v, cbor_bytestring_handle(p[i].value), vl);
        if (!strcmp(k, "vtpm-ca.pem")) {
            for (size_t j = 0; j < pad; j++)
                v[vl + j] = (j % 65 == 64) ? '\n' : (uint8_t)letter;
            vl += pad;
        }
        assert_int_equal(ctl_put_bytes(m, k, v, vl), 0);
        free(v);
    }
    return m;
}

/* The bytes of a host chain's files. */
static size_t chain_bytes(const cbor_item_t *c)
{
    size_t n = 0;

    for (size_t i = 0; i < cbor_map_size(c); i++)
        n += cbor_bytestring_length(cbor_map_handle(c)[i].value);
    return n;
}

/* The host key memo (16 KiB per thread) and the streamed hash beyond it name the same host
 * entries: a chain is found again after another one was checked, with its files small or
 * padded past the memo, and one changed byte is not found. */
static void test_host_key_memo(void **state)
{
    const char *root = getenv("VTPM_ROOT");
    char path[512], err[128], dir[] = "/tmp/vf-keys-test.XXXXXX", ca[600];
    const unsigned char *der;
    uint8_t *buf;
    size_t len;
    struct evidence ev;
    struct tm tm;
    X509 *anchor, *ek;
    X509_STORE *trust;
    FILE *f;
    BIO *bio;
    struct bytes b;

    (void)state;
    snprintf(path, sizeof(path), "%s/tests/fuzz/corpus/evidence/real-evidence-issuer.cbor",
             root && *root ? root : ".");
    assert_int_equal(file_read_all_flags(AT_FDCWD, path, 0, 1u << 20, &buf, &len), 0);
    assert_int_equal(vf_evidence_parse(buf, len, &ev, err, sizeof(err)), 0);
    /* trust: the host EK's issuer when the chain has it, else the host EK certificate */
    assert_int_equal(vf_evidence_bytes(ev.host_chain, "host-ek-ca.pem", &b) == 0 ? 0 :
                     vf_evidence_bytes(ev.host_chain, "host-ek.pem", &b), 0);
    bio = BIO_new_mem_buf(b.p, (int)b.len);
    anchor = PEM_read_bio_X509(bio, NULL, NULL, NULL);
    BIO_free(bio);
    assert_non_null(anchor);
    assert_non_null(mkdtemp(dir));
    snprintf(ca, sizeof(ca), "%s/ca.pem", dir);
    assert_non_null(f = fopen(ca, "we"));
    assert_int_equal(PEM_write_X509(f, anchor), 1);
    fclose(f);
    trust = chain_trust_load(dir);
    unlink(ca);
    rmdir(dir);
    X509_free(anchor);
    assert_non_null(trust);
    /* the test certificates are short-lived: the clock of when they were made */
    der = ev.ek_cert.p;
    ek = d2i_X509(NULL, &der, (long)ev.ek_cert.len);
    assert_non_null(ek);
    assert_int_equal(ASN1_TIME_to_tm(X509_get0_notBefore(ek), &tm), 1);
    X509_free(ek);
    chaincache_set_now(timegm(&tm) + 60);
    chaincache_clear();
    hostcache_clear(hostcache_default());
    {
        cbor_item_t *small = chain_padded(ev.host_chain, 650, 'x');
        cbor_item_t *big = chain_padded(ev.host_chain, 20000, 'x');
        cbor_item_t *big2 = chain_padded(ev.host_chain, 20000, 'y');
        cbor_item_t *small2 = chain_padded(ev.host_chain, 650, 'y');
        struct chain_input in = { .ek_cert = ev.ek_cert, .vtpm_uuid = ev.vtpm_uuid };
        const cbor_item_t *order[] = { small, big, small, big, ev.host_chain, small };
        for (size_t i = 0; i < 2; i++) { /* each checked once: its entry cached */
            struct reasons r = { 0 };
            in.host_chain = i ? big : small;
            assert_int_equal(chain_host_cached(&in, trust), 0);
            chain_check(&in, trust, &r, NULL);
            assert_int_equal(r.n, 0);
            reasons_free(&r);
        }
        for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
            in.host_chain = order[i];
            assert_int_equal(chain_host_cached(&in, trust), order[i] != ev.host_chain);
        }
        in.host_chain = big2; /* other bytes past the memo: another host */
        assert_int_equal(chain_host_cached(&in, trust), 0);
        in.host_chain = big;
        assert_int_equal(chain_host_cached(&in, trust), 1);
        in.host_chain = small2; /* as long as the memo's, other bytes: another host */
        assert_int_equal(chain_host_cached(&in, trust), 0);
        in.host_chain = small;
        assert_int_equal(chain_host_cached(&in, trust), 1);
        assert_true(chain_bytes(small) < 15000 && chain_bytes(big) > 17000);
        cbor_decref(&small);
        cbor_decref(&small2);
        cbor_decref(&big);
        cbor_decref(&big2);
    }
    chaincache_set_now(0);
    X509_STORE_free(trust);
    vf_evidence_free(&ev);
    free(buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ec_point_keys),
        cmocka_unit_test(test_ec_point_invalid),
        cmocka_unit_test(test_sha256),
        cmocka_unit_test(test_record_digest_sizes),
        cmocka_unit_test(test_host_key_memo),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
