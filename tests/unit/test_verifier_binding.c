/* SPDX-License-Identifier: BSD-3-Clause */
/* Unit tests of which container evidence may write a verdict: evidence that proves nothing is
 * refused, an id bound to another live vTPM is refused, a bound vTPM reset since the container's
 * first attestation is its own reason. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "../../verifier/check/binding.h"

static void test_unproven_reasons(void **state)
{
    static const char *const unproven[] = {
        "nonce-unknown", "nonce-expired", "nonce-reused", "ak-not-registered",
        "registration-mismatch", "quote-signature-invalid", "quote-nonce-mismatch",
        "ek-cert-not-from-vtpm-ca", "ek-cert-uuid-mismatch", "host-ak-not-registered",
        "host-ek-untrusted", "host-node-mismatch", "internal-error",
    };
    static const char *const proven[] = {
        "pcr-digest-mismatch", "eventlog-replay-mismatch", "capability-forbidden",
        "clock-rollback", "host-boot-digest-not-allowed", "vtpm-reset-since-start",
    };
    struct reasons r = { 0 };

    assert_true(binding_vtpm_proven(&r));
    for (size_t i = 0; i < sizeof(proven) / sizeof(proven[0]); i++)
        reasons_add(&r, proven[i], "x");
    assert_true(binding_vtpm_proven(&r)); /* a deny of the vTPM's own making is written */
    for (size_t i = 0; i < sizeof(unproven) / sizeof(unproven[0]); i++) {
        struct reasons u = { 0 };

        reasons_add(&u, "pcr-digest-mismatch", NULL);
        reasons_add(&u, unproven[i], i % 2 ? "detail" : NULL);
        assert_false(binding_vtpm_proven(&u));
        reasons_free(&u);
    }
    r.oom = 1;
    assert_false(binding_vtpm_proven(&r));
    reasons_free(&r);
}

static void test_vtpm_id(void **state)
{
    char a[STORE_EK_ID_LEN + 1], b[STORE_EK_ID_LEN + 1];

    binding_vtpm_id((const uint8_t *)"abc", 3, a);
    assert_string_equal(a, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    binding_vtpm_id((const uint8_t *)"abd", 3, b);
    assert_string_not_equal(a, b);
}

static void test_judge_binding(void **state)
{
    const struct verdict_binding bound = { "aa", 2, 100 }, forever = { "aa", 2, 0 },
                                 unbound = { "", 0, 0 };
    struct verdict_binding mine = { "aa", 2, 500 }, other = { "bb", 0, 500 };
    struct reasons r = { 0 };

    assert_int_equal(binding_judge(NULL, &mine, 50, &r), BINDING_NEW);
    assert_int_equal(binding_judge(&unbound, &other, 50, &r), BINDING_NEW);
    assert_int_equal(binding_judge(&bound, &mine, 50, &r), BINDING_SAME);
    assert_int_equal(r.n, 0);
    assert_int_equal(binding_judge(&bound, &other, 99, &r), BINDING_OTHER);
    assert_true(reasons_has(&r, "container-vtpm-mismatch"));
    reasons_free(&r);
    assert_int_equal(binding_judge(&forever, &other, INT64_MAX, &r), BINDING_OTHER);
    reasons_free(&r);
    /* lapsed: the id is free again */
    assert_int_equal(binding_judge(&bound, &other, 100, &r), BINDING_NEW);
    assert_int_equal(r.n, 0);
}

static void test_reset_since_start(void **state)
{
    const struct verdict_binding bound = { "aa", 2, 100 };
    struct verdict_binding mine = { "aa", 3, 500 }, other = { "bb", 9, 500 };
    struct reasons r = { 0 };

    assert_int_equal(binding_judge(&bound, &mine, 50, &r), BINDING_SAME);
    assert_true(reasons_has(&r, "vtpm-reset-since-start"));
    assert_int_equal(r.n, 1);
    reasons_free(&r);
    /* still reset after the binding lapsed: the PCRs of the first start stay gone */
    assert_int_equal(binding_judge(&bound, &mine, 200, &r), BINDING_NEW);
    assert_true(reasons_has(&r, "vtpm-reset-since-start"));
    reasons_free(&r);
    /* a lower resetCount is the clock check's (clock-rollback), a new vTPM has its own */
    mine.reset_count = 1;
    assert_int_equal(binding_judge(&bound, &mine, 50, &r), BINDING_SAME);
    assert_int_equal(binding_judge(&bound, &other, 200, &r), BINDING_NEW);
    assert_int_equal(r.n, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_unproven_reasons),
        cmocka_unit_test(test_vtpm_id),
        cmocka_unit_test(test_judge_binding),
        cmocka_unit_test(test_reset_since_start),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
