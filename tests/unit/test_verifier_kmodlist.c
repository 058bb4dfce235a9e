/* SPDX-License-Identifier: BSD-3-Clause */
/* Unit tests of the kmod-vtpm measurement list checks: replay against independently computed
 * values, the quoted-prefix match, vTPM lookup, and every malformed line. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <openssl/sha.h>

#include "../../verifier/check/kmodlist.h"

#define UUID1 "0b7c2e5a-1111-4c2d-9e0f-0123456789ab"
#define EKHEX "aa00000000000000000000000000000000000000000000000000000000000011"

struct list {
    char text[8192];
    size_t len;
    uint8_t pcr[32];      /* expected replay, computed here step by step */
    uint8_t after[8][32]; /* value after each line */
    size_t n;
};

static void hex(const uint8_t *b, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++)
        sprintf(out + 2 * i, "%02x", b[i]);
}

static void add(struct list *l, const char *event)
{
    uint8_t md[32], cat[64];
    char h[65];

    SHA256((const uint8_t *)event, strlen(event), md);
    hex(md, 32, h);
    l->len += (size_t)snprintf(l->text + l->len, sizeof(l->text) - l->len, "13 %s %s\n", h, event);
    memcpy(cat, l->pcr, 32);
    memcpy(cat + 32, md, 32);
    SHA256(cat, 64, l->pcr);
    memcpy(l->after[l->n++], l->pcr, 32);
}

static void make(struct list *l, int destroyed)
{
    uint8_t base[32];
    char bh[65], ev[512];

    memset(l, 0, sizeof(*l));
    memset(base, 0x5a, 32);
    hex(base, 32, bh);
    memcpy(l->pcr, base, 32);
    snprintf(ev, sizeof(ev), "vtpm-attest/1 op=load pcr=13 base=sha1:%.40s,sha256:%s", bh, bh);
    add(l, ev);
    add(l, "vtpm-attest/1 op=create index=0 uuid=" UUID1 " ek=sha256:" EKHEX
           " label=web-1 pidns=4026531836 netns=4026531840 userns=4026531837");
    if (destroyed)
        add(l, "vtpm-attest/1 op=destroy index=0 uuid=" UUID1 " ek=sha256:" EKHEX
               " label=web-1 pidns=4026531836 netns=4026531840 userns=4026531837");
}

static void ek(uint8_t out[32])
{
    memset(out, 0, 32);
    out[0] = 0xaa;
    out[31] = 0x11;
}

static void test_replay_matches(void **state)
{
    struct list l;
    struct kmod_replay kr;
    char err[96];
    uint8_t e[32];

    (void)state;
    make(&l, 0);
    assert_int_equal(kmodlist_replay((uint8_t *)l.text, l.len, l.pcr, &kr, err, sizeof(err)), 0);
    assert_int_equal(kr.pcr, 13);
    assert_int_equal(kr.lines, 2);
    assert_int_equal(kr.matched, 2);
    assert_memory_equal(kr.value, l.pcr, 32);
    ek(e);
    assert_int_equal(kmodlist_has_vtpm((uint8_t *)l.text, l.len, kr.matched, UUID1, e), 1);
    e[5] ^= 1;
    assert_int_equal(kmodlist_has_vtpm((uint8_t *)l.text, l.len, kr.matched, UUID1, e), 0);
    ek(e);
    assert_int_equal(kmodlist_has_vtpm((uint8_t *)l.text, l.len, kr.matched,
                                       "0b7c2e5a-1111-4c2d-9e0f-0123456789ac", e), 0);
}

/* Lines read after the quote do not count: only the prefix that replays to the quote. */
static void test_prefix_and_destroy(void **state)
{
    struct list l;
    struct kmod_replay kr;
    char err[96];
    uint8_t e[32], other[32];

    (void)state;
    ek(e);
    make(&l, 1);
    assert_int_equal(kmodlist_replay((uint8_t *)l.text, l.len, l.after[1], &kr, err, sizeof(err)), 0);
    assert_int_equal(kr.matched, 2);
    assert_int_equal(kmodlist_has_vtpm((uint8_t *)l.text, l.len, kr.matched, UUID1, e), 1);
    assert_int_equal(kmodlist_replay((uint8_t *)l.text, l.len, l.pcr, &kr, err, sizeof(err)), 0);
    assert_int_equal(kr.matched, 3);
    assert_int_equal(kmodlist_has_vtpm((uint8_t *)l.text, l.len, kr.matched, UUID1, e), 0);
    memset(other, 1, 32);
    assert_int_equal(kmodlist_replay((uint8_t *)l.text, l.len, other, &kr, err, sizeof(err)), 0);
    assert_int_equal(kr.matched, 0);
    assert_int_equal(kmodlist_has_vtpm((uint8_t *)l.text, l.len, 0, UUID1, e), 0);
}

static void expect_bad(const char *text, size_t len)
{
    struct kmod_replay kr;
    char err[96] = "";

    assert_int_equal(kmodlist_replay((const uint8_t *)text, len, NULL, &kr, err, sizeof(err)),
                     -74 /* EBADMSG */);
    assert_true(err[0] != '\0');
}

static void test_malformed(void **state)
{
    struct list l;
    char buf[8192];

    (void)state;
    make(&l, 1);
    /* Every truncation of a valid list is an error (no final newline), never a crash. */
    for (size_t n = 0; n < l.len; n++) {
        char *t = malloc(n ? n : 1);
        memcpy(t, l.text, n);
        if (n && t[n - 1] == '\n')
            expect_bad(t, n - 1);
        else
            expect_bad(t, n);
        free(t);
    }
    memcpy(buf, l.text, l.len);
    buf[80] ^= 0x01; /* inside the first event: digest mismatch */
    expect_bad(buf, l.len);
    memcpy(buf, l.text, l.len);
    buf[0] = '9'; /* pcr 93 */
    expect_bad(buf, l.len);
    expect_bad("13 zz\n", 6);
    memcpy(buf, l.text, l.len);
    buf[5] = 'G'; /* not hex */
    expect_bad(buf, l.len);
    /* A list that does not start with its load line. */
    {
        const char *nl = memchr(l.text, '\n', l.len);
        size_t first = (size_t)(nl - l.text) + 1;
        expect_bad(l.text + first, l.len - first);
    }
    memcpy(buf, l.text, l.len);
    buf[l.len - 2] = '\x01'; /* control character in an event */
    expect_bad(buf, l.len);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_replay_matches),
        cmocka_unit_test(test_prefix_and_destroy),
        cmocka_unit_test(test_malformed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
