/* SPDX-License-Identifier: BSD-3-Clause */
/* Unit tests of the agent's host evidence: PCR lists, node names, host options, the `host`
 * map and host-only evidence encoding, vtpm-mgr host-quote replies, bounded log reads. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "fileio.h"

#include "ctlproto.h"
#include "evidence.h"
#include "hostev.h"
#include "mgrclient.h"
#include "opts.h"
#include "pcrlist.h"

#define DEFAULT_MASK 0x20ffu /* 0-7, 13 */

/* ---- PCR lists ------------------------------------------------------------------------ */

static void test_pcrlist(void **state)
{
    static const char *const bad[] = {
        "", ",", "0,", ",0", "0,,1", "24", "0-24", "100", "-1", "1-", "-", "7-3", "0,0",
        "0-7,5", "1-3,2-4", "a", "0x1", "1 ", " 1", "01", "007", "1;2", "1-2-3", "99999999999",
    };
    char out[80];
    uint32_t m;

    (void)state;
    assert_int_equal(pcrlist_parse("0-7,13", &m), 0);
    assert_int_equal(m, DEFAULT_MASK);
    assert_int_equal(pcrlist_parse("13,4,0", &m), 0);
    assert_int_equal(m, (1u << 13) | (1u << 4) | 1u);
    assert_int_equal(pcrlist_parse("0-23", &m), 0);
    assert_int_equal(m, 0xffffffu);
    assert_int_equal(pcrlist_parse("23", &m), 0);
    assert_int_equal(m, 1u << 23);
    assert_int_equal(pcrlist_parse("5-5", &m), 0);
    assert_int_equal(m, 1u << 5);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        m = 1;
        if (pcrlist_parse(bad[i], &m) != -EINVAL)
            fail_msg("PCR list \"%s\" accepted", bad[i]);
        assert_int_equal(m, 0);
    }
    assert_int_equal(pcrlist_parse(NULL, &m), -EINVAL);
    assert_int_equal(pcrlist_format(DEFAULT_MASK, out, sizeof(out)), 0);
    assert_string_equal(out, "0-7,13");
    assert_int_equal(pcrlist_format(0x555555u, out, sizeof(out)), 0);
    assert_int_equal(pcrlist_parse(out, &m), 0);
    assert_int_equal(m, 0x555555u);
    assert_int_equal(pcrlist_format(DEFAULT_MASK, out, 4), -ENOSPC);
}

/* ---- node names and options ----------------------------------------------------------- */

static void test_node_names(void **state)
{
    static const char *const good[] = { "a", "node-1", "n1.example.com", "0", "a-b.c-d" };
    static const char *const bad[] = { "", "-a", "a-", ".a", "a.", "Node", "a_b", "a b",
                                       "a/b", "ä", "a\n" };
    char longest[HOSTEV_NODE_MAX + 2], name[HOSTEV_NODE_MAX + 1];
    struct host_opts o;

    (void)state;
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
        assert_true(hostev_node_valid(good[i]));
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (hostev_node_valid(bad[i]))
            fail_msg("node name \"%s\" accepted", bad[i]);
    assert_false(hostev_node_valid(NULL));
    memset(longest, 'a', sizeof(longest));
    longest[HOSTEV_NODE_MAX] = '\0';
    assert_true(hostev_node_valid(longest));
    longest[HOSTEV_NODE_MAX] = 'a';
    longest[HOSTEV_NODE_MAX + 1] = '\0';
    assert_false(hostev_node_valid(longest));
    hostev_opts_defaults(&o);
    o.node = "given-node";
    assert_int_equal(hostev_node_name(&o, name), 0);
    assert_string_equal(name, "given-node");
}

static int parse(struct agent_opts *o, const char *const *args)
{
    char *argv[32];
    int argc = 0;

    while (args[argc] && argc < 31) {
        argv[argc] = (char *)args[argc];
        argc++;
    }
    argv[argc] = NULL;
    return opts_parse(argc, argv, o);
}

static void test_options(void **state)
{
    const char *const defaults[] = { "attest-agent", "serve", "--verifier", "http://v", NULL };
    const char *const set[] = { "attest-agent", "hook", "--verifier", "http://v",
        "--host-pcrs", "0,4,13", "--uefi-log", "", "--kmod-log", "/k", "--node-name", "n-1",
        NULL };
    const char *const refill[] = { "attest-agent", "serve", "--verifier", "http://v",
                                   "--refill-after", "0", NULL };
    const char *const he[] = { "attest-agent", "host-evidence", "--nonce", "00", "--out", "f",
                               "--no-host-evidence", NULL };
    const char *const bad[][8] = {
        { "attest-agent", "serve", "--verifier", "http://v", "--host-pcrs", "0-24", NULL },
        { "attest-agent", "serve", "--verifier", "http://v", "--host-pcrs", "7,7", NULL },
        { "attest-agent", "serve", "--verifier", "http://v", "--host-pcrs", "", NULL },
        { "attest-agent", "serve", "--verifier", "http://v", "--node-name", "A", NULL },
        { "attest-agent", "serve", "--verifier", "http://v", "--node-name", "", NULL },
        { "attest-agent", "serve", "--verifier", "http://v", "--reattest-interval", "-1", NULL },
        { "attest-agent", "serve", "--verifier", "http://v", "--reattest-interval", "86401", NULL },
        { "attest-agent", "serve", "--verifier", "http://v", "--reattest-interval", "2s", NULL },
        { "attest-agent", "serve", "--verifier", "http://v", "--reattest-interval", "", NULL },
        { "attest-agent", "serve", "--verifier", "http://v", "--refill-after", "-1", NULL },
        { "attest-agent", "serve", "--verifier", "http://v", "--refill-after", "600001", NULL },
        { "attest-agent", "serve", "--verifier", "http://v", "--refill-after", "1s", NULL },
        { "attest-agent", "host-evidence", "--out", "f", NULL },
        { "attest-agent", "host-evidence", "--nonce", "00", NULL },
        { "attest-agent", "hook", "--verifier", "http://v", "--no-host-evidence=1", NULL },
    };
    struct agent_opts o;

    (void)state;
    assert_int_equal(parse(&o, defaults), 0);
    assert_int_equal(o.reattest_s, AGENT_DEFAULT_REATTEST_S);
    assert_int_equal(o.refill_ms, 250); /* docs/attest-agent.md */
    assert_false(o.host.off);
    assert_int_equal(o.host.pcrs, DEFAULT_MASK);
    assert_string_equal(o.host.uefi_log, HOSTEV_DEFAULT_UEFI_LOG);
    assert_string_equal(o.host.kmod_log, HOSTEV_DEFAULT_KMOD_LOG);
    assert_null(o.host.node);
    assert_int_equal(parse(&o, set), 0);
    assert_int_equal(o.host.pcrs, (1u << 0) | (1u << 4) | (1u << 13));
    assert_null(o.host.uefi_log); /* '': never sent */
    assert_string_equal(o.host.kmod_log, "/k");
    assert_string_equal(o.host.node, "n-1");
    assert_int_equal(parse(&o, refill), 0);
    assert_int_equal(o.refill_ms, 0);
    assert_int_equal(parse(&o, he), 2); /* host evidence without the host part is nothing */
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (parse(&o, bad[i]) != 2)
            fail_msg("case %zu (%s %s) accepted", i, bad[i][4] ? bad[i][4] : bad[i][2],
                     bad[i][5] ? bad[i][5] : "");
}

/* ---- the host map --------------------------------------------------------------------- */

static void fake_quote(struct mgr_host_quote *q, uint32_t mask)
{
    memset(q, 0, sizeof(*q));
    q->attest = malloc(4);
    q->sig = malloc(3);
    assert_non_null(q->attest);
    assert_non_null(q->sig);
    memcpy(q->attest, "\xff\x54\x43\x47", 4);
    memcpy(q->sig, "\x00\x18\x00", 3);
    q->attest_len = 4;
    q->sig_len = 3;
    q->mask = mask;
    for (int i = 0; i < MGR_HOST_PCRS; i++)
        memset(q->values[i], 0x40 + i, 32);
}

/* The map as it goes on the wire, decoded again. */
static cbor_item_t *roundtrip(const cbor_item_t *m)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    cbor_item_t *out = NULL;

    assert_int_equal(ctl_serialize(m, &buf, &len), 0);
    assert_int_equal(ctl_decode(buf, len, &out), 0);
    free(buf);
    return out;
}

static void check_pcrs(const cbor_item_t *pcrs, uint32_t mask)
{
    struct cbor_pair *p = cbor_map_handle(pcrs);
    unsigned last = 0;

    assert_true(cbor_isa_map(pcrs));
    assert_int_equal(cbor_map_size(pcrs), (size_t)__builtin_popcount(mask));
    for (size_t i = 0; i < cbor_map_size(pcrs); i++) {
        unsigned k = (unsigned)cbor_get_int(p[i].key);
        assert_true(cbor_isa_uint(p[i].key));
        assert_int_equal(cbor_int_get_width(p[i].key), CBOR_INT_8); /* shortest form */
        assert_true(mask & (1u << k));
        assert_true(i == 0 || k > last); /* ascending */
        last = k;
        assert_int_equal(cbor_bytestring_length(p[i].value), 32);
        assert_int_equal(cbor_bytestring_handle(p[i].value)[0], 0x40 + k);
    }
}

static void test_host_map(void **state)
{
    struct hostev he = { .node = "node-a" };
    cbor_item_t *m, *d;
    const uint8_t *b;
    size_t n;
    char node[32];

    (void)state;
    fake_quote(&he.quote, DEFAULT_MASK);
    assert_non_null(m = hostev_map(&he));
    d = roundtrip(m);
    assert_int_equal(cbor_map_size(d), 4); /* node, quote_attest, quote_sig, pcrs: no logs */
    assert_int_equal(ctl_get_str(d, "node", node, sizeof(node)), 0);
    assert_string_equal(node, "node-a");
    assert_int_equal(ctl_get_bytes(d, "quote_attest", &b, &n), 0);
    assert_int_equal(n, 4);
    assert_memory_equal(b, "\xff\x54\x43\x47", 4);
    assert_int_equal(ctl_get_bytes(d, "quote_sig", &b, &n), 0);
    assert_int_equal(n, 3);
    check_pcrs(ctl_get(d, "pcrs"), DEFAULT_MASK);
    assert_null(ctl_get(d, "uefi_log"));
    assert_null(ctl_get(d, "kmod_log"));
    cbor_decref(&d);
    cbor_decref(&m);

    he.uefi_log = (uint8_t *)strdup("UEFI");
    he.uefi_len = 4;
    he.kmod_log = (uint8_t *)strdup("13 ab vtpm-attest/1 op=load\n");
    he.kmod_len = strlen((char *)he.kmod_log);
    assert_non_null(m = hostev_map(&he));
    d = roundtrip(m);
    assert_int_equal(cbor_map_size(d), 6);
    assert_int_equal(ctl_get_bytes(d, "uefi_log", &b, &n), 0);
    assert_int_equal(n, 4);
    assert_int_equal(ctl_get_bytes(d, "kmod_log", &b, &n), 0);
    assert_int_equal(n, he.kmod_len);
    assert_memory_equal(b, he.kmod_log, n);
    cbor_decref(&d);
    cbor_decref(&m);
    hostev_free(&he);
    assert_null(he.uefi_log);
}

/* Host-only evidence {v, nonce, host_chain, host}; over 1 MiB it is refused, not sent. */
static void test_host_evidence_encode(void **state)
{
    struct hostev he = { .node = "node-a" };
    uint8_t nonce[32] = { 1, 2, 3 }, *buf = NULL;
    cbor_item_t *chain = ctl_map_new(), *host, *d;
    struct evidence e = { .nonce = { nonce, sizeof(nonce) } };
    const uint8_t *b;
    size_t len = 0;
    uint64_t v;

    (void)state;
    assert_int_equal(ctl_put_bytes(chain, "host-ak.pub", (const uint8_t *)"ak", 2), 0);
    e.host_chain = chain;
    assert_int_equal(host_evidence_encode(&e, &buf, &len), -ENOMEM); /* no host part */
    fake_quote(&he.quote, 1u << 13);
    assert_non_null(host = hostev_map(&he));
    e.host = host;
    assert_int_equal(host_evidence_encode(&e, &buf, &len), 0);
    assert_int_equal(ctl_decode(buf, len, &d), 0);
    assert_int_equal(cbor_map_size(d), 4);
    assert_int_equal(ctl_get_uint(d, "v", &v), 0);
    assert_int_equal(v, 1);
    assert_int_equal(ctl_get_bytes(d, "nonce", &b, &len), 0);
    assert_int_equal(len, sizeof(nonce));
    assert_true(cbor_isa_map(ctl_get(d, "host_chain")));
    check_pcrs(ctl_get(ctl_get(d, "host"), "pcrs"), 1u << 13);
    cbor_decref(&d);
    free(buf);
    buf = NULL;
    cbor_decref(&host);

    he.kmod_len = EVIDENCE_MAX_SIZE;
    assert_non_null(he.kmod_log = calloc(1, he.kmod_len));
    assert_non_null(host = hostev_map(&he));
    e.host = host;
    assert_int_equal(host_evidence_encode(&e, &buf, &len), -EMSGSIZE);
    assert_null(buf);
    cbor_decref(&host);
    cbor_decref(&chain);
    hostev_free(&he);
}

/* ---- vtpm-mgr host-quote replies ------------------------------------------------------ */

static cbor_item_t *reply(uint32_t mask, int vlen)
{
    cbor_item_t *r = ctl_ok(), *pcrs = cbor_new_definite_map(24);
    uint8_t v[33] = { 0 };

    for (unsigned i = 0; i < 24; i++) {
        if (!(mask & (1u << i)))
            continue;
        v[0] = (uint8_t)i;
        assert_true(cbor_map_add(pcrs, (struct cbor_pair){
            .key = cbor_move(cbor_build_uint8((uint8_t)i)),
            .value = cbor_move(cbor_build_bytestring(v, (size_t)vlen)) }));
    }
    assert_int_equal(ctl_put_bytes(r, "quote_attest", (const uint8_t *)"att", 3), 0);
    assert_int_equal(ctl_put_bytes(r, "quote_sig", (const uint8_t *)"sig", 3), 0);
    assert_int_equal(ctl_put_item(r, "pcrs", pcrs), 0);
    return r;
}

static int parse_reply(cbor_item_t *r, uint32_t mask)
{
    struct mgr_host_quote q;
    int rc = mgr_host_quote_parse(r, mask, &q);

    if (rc == 0) {
        assert_int_equal(q.mask, mask);
        assert_int_equal(q.attest_len, 3);
        for (unsigned i = 0; i < 24; i++)
            if (mask & (1u << i))
                assert_int_equal(q.values[i][0], i);
    } else {
        assert_null(q.attest);
        assert_null(q.sig);
    }
    mgr_host_quote_free(&q);
    cbor_decref(&r);
    return rc;
}

/* r with key k replaced by v (consumed). */
static cbor_item_t *with(cbor_item_t *r, const char *k, cbor_item_t *v)
{
    struct cbor_pair *p = cbor_map_handle(r);

    for (size_t i = 0; i < cbor_map_size(r); i++) {
        if (cbor_string_length(p[i].key) == strlen(k) &&
            !memcmp(cbor_string_handle(p[i].key), k, strlen(k))) {
            cbor_decref(&p[i].value);
            p[i].value = v;
            return r;
        }
    }
    fail_msg("no key %s", k);
    return r;
}

static void test_quote_reply(void **state)
{
    cbor_item_t *r, *dup;

    (void)state;
    assert_int_equal(parse_reply(reply(DEFAULT_MASK, 32), DEFAULT_MASK), 0);
    assert_int_equal(parse_reply(reply(0xffffffu, 32), 0xffffffu), 0);
    assert_int_equal(parse_reply(reply(DEFAULT_MASK & ~1u, 32), DEFAULT_MASK), -EBADMSG);
    assert_int_equal(parse_reply(reply(DEFAULT_MASK | 1u << 20, 32), DEFAULT_MASK), -EBADMSG);
    assert_int_equal(parse_reply(reply(DEFAULT_MASK, 31), DEFAULT_MASK), -EBADMSG);
    assert_int_equal(parse_reply(reply(DEFAULT_MASK, 33), DEFAULT_MASK), -EBADMSG);
    r = reply(DEFAULT_MASK, 32);
    assert_int_equal(parse_reply(with(r, "quote_attest", cbor_build_bytestring(NULL, 0)),
                                 DEFAULT_MASK), -EBADMSG);
    r = reply(DEFAULT_MASK, 32);
    assert_int_equal(parse_reply(with(r, "quote_sig", cbor_build_string("sig")), DEFAULT_MASK),
                     -EBADMSG);
    r = reply(DEFAULT_MASK, 32);
    assert_int_equal(parse_reply(with(r, "pcrs", cbor_new_definite_array(0)), DEFAULT_MASK),
                     -EBADMSG);
    /* a PCR twice (the map as decoded from a hostile peer: libcbor keeps duplicates) */
    r = reply(1u << 13, 32);
    dup = ctl_get(r, "pcrs");
    assert_true(cbor_map_add(dup, (struct cbor_pair){
        .key = cbor_move(cbor_build_uint8(13)),
        .value = cbor_move(cbor_build_bytestring(
            (const uint8_t *)"\x0d" "0123456789012345678901234567890", 32)) }));
    assert_int_equal(parse_reply(r, 1u << 13), -EBADMSG);
    /* a text key */
    r = reply(1u << 13, 32);
    assert_int_equal(ctl_put_bytes(ctl_get(r, "pcrs"), "0", (const uint8_t *)"x", 1), 0);
    assert_int_equal(parse_reply(r, 1u << 13), -EBADMSG);
}

/* ---- log files ------------------------------------------------------------------------ */

static void write_file(const char *path, size_t n)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

    assert_true(fd >= 0);
    assert_int_equal(ftruncate(fd, (off_t)n), 0);
    close(fd);
}

static void test_read_log(void **state)
{
    char dir[] = "/tmp/hostev-test.XXXXXX", path[64];
    uint8_t *buf = (uint8_t *)"x";
    size_t len = 1;

    (void)state;
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/log", dir);
    assert_int_equal(file_read_stream(path, 100, &buf, &len), -ENOENT);
    assert_null(buf);
    assert_int_equal(file_read_stream(dir, 100, &buf, &len), -EINVAL); /* a directory */
    write_file(path, 0);
    assert_int_equal(file_read_stream(path, 100, &buf, &len), 0);
    assert_int_equal(len, 0);
    free(buf);
    write_file(path, 100);
    assert_int_equal(file_read_stream(path, 100, &buf, &len), 0);
    assert_int_equal(len, 100);
    free(buf);
    write_file(path, 101);
    assert_int_equal(file_read_stream(path, 100, &buf, &len), -EFBIG);
    assert_null(buf);
    write_file(path, 200000); /* several buffer growths */
    assert_int_equal(file_read_stream(path, HOSTEV_LOG_MAX, &buf, &len), 0);
    assert_int_equal(len, 200000);
    free(buf);
    /* procfs and securityfs files report size 0: the content counts, not st_size */
    assert_int_equal(file_read_stream("/proc/self/stat", 4096, &buf, &len), 0);
    assert_true(len > 10);
    free(buf);
    unlink(path);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pcrlist),
        cmocka_unit_test(test_node_names),
        cmocka_unit_test(test_options),
        cmocka_unit_test(test_host_map),
        cmocka_unit_test(test_host_evidence_encode),
        cmocka_unit_test(test_quote_reply),
        cmocka_unit_test(test_read_log),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
