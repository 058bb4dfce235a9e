/* SPDX-License-Identifier: BSD-3-Clause */
/* Unit tests of a connection's transient-handle bookkeeping (vtpm-mgr/worker/rmtrack.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <tss2/tss2_mu.h>
#include <tss2/tss2_tpm2_types.h>

#include "../../vtpm-mgr/worker/rmtrack.h"

/* A 14-byte message: header (tag, size, code or rc) and one 32-bit value after it. */
static void msg(uint8_t m[14], uint32_t code, uint32_t v)
{
    size_t off = 0;

    assert_int_equal(Tss2_MU_TPM2_ST_Marshal(TPM2_ST_NO_SESSIONS, m, 14, &off), 0);
    assert_int_equal(Tss2_MU_UINT32_Marshal(14, m, 14, &off), 0);
    assert_int_equal(Tss2_MU_UINT32_Marshal(code, m, 14, &off), 0);
    assert_int_equal(Tss2_MU_UINT32_Marshal(v, m, 14, &off), 0);
}

/* A command cc (its first handle or parameter h) and its response (rc, handle rh). */
static uint32_t note(struct rm_handles *t, uint32_t cc, uint32_t h, uint32_t rc, uint32_t rh)
{
    uint8_t c[14], r[14];

    msg(c, cc, h);
    msg(r, rc, rh);
    return rm_note(t, c, sizeof(c), r, rc ? 10 : sizeof(r));
}

static void test_created_and_flushed(void **state)
{
    struct rm_handles t = { .n = 0 };

    (void)state;
    assert_int_equal(note(&t, TPM2_CC_CreatePrimary, TPM2_RH_OWNER, 0, 0x80000000), 0x80000000);
    assert_int_equal(note(&t, TPM2_CC_StartAuthSession, TPM2_RH_NULL, 0, 0x03000000),
                     0x03000000);
    assert_int_equal(note(&t, TPM2_CC_Load, 0x80000000, 0, 0x80000001), 0x80000001);
    assert_int_equal(t.n, 3);
    /* the client's own flush, and a sequence its completion flushes */
    assert_int_equal(note(&t, TPM2_CC_FlushContext, 0x03000000, 0, 0), 0);
    assert_int_equal(note(&t, TPM2_CC_HashSequenceStart, 0, 0, 0x80000002), 0x80000002);
    assert_int_equal(note(&t, TPM2_CC_SequenceComplete, 0x80000002, 0, 0), 0);
    assert_int_equal(t.n, 2);
    assert_int_equal(t.commands, 6);
    rm_forget(&t, 0x80000000); /* given to another client since */
    assert_int_equal(t.n, 1);
    assert_int_equal(t.h[0], 0x80000001);
}

static void test_not_tracked(void **state)
{
    struct rm_handles t = { .n = 0 };

    (void)state;
    /* failed commands, persistent and other handles, commands that return no new handle */
    assert_int_equal(note(&t, TPM2_CC_CreatePrimary, TPM2_RH_OWNER, TPM2_RC_OBJECT_MEMORY, 0),
                     0);
    assert_int_equal(note(&t, TPM2_CC_Load, 0x81000001, 0, 0x81000002), 0);
    assert_int_equal(note(&t, TPM2_CC_GetRandom, 8, 0, 0x80000000), 0);
    assert_int_equal(note(&t, TPM2_CC_ContextLoad, 0, 0, 0x80000000), 0x80000000);
    assert_int_equal(note(&t, TPM2_CC_ContextLoad, 0, 0, 0x80000000), 0x80000000);
    assert_int_equal(t.n, 1); /* the same handle once */
    for (uint32_t i = 0; i < RM_MAX + 4; i++)
        note(&t, TPM2_CC_StartAuthSession, TPM2_RH_NULL, 0, 0x02000000 + i);
    assert_int_equal(t.n, RM_MAX);
}

static void test_flush_command(void **state)
{
    uint8_t c[RM_FLUSH_LEN], want[14];

    (void)state;
    assert_int_equal(rm_flush_cmd(c, 0x80000001), RM_FLUSH_LEN);
    msg(want, TPM2_CC_FlushContext, 0x80000001);
    assert_memory_equal(c, want, sizeof(want));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_created_and_flushed),
        cmocka_unit_test(test_not_tracked),
        cmocka_unit_test(test_flush_command),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
