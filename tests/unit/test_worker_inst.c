/* SPDX-License-Identifier: BSD-3-Clause */
/* Unit tests of the worker's instance table and of libtpms instance swapping (with its cost). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "../../vtpm-mgr/worker/inst.h"
#include "../../vtpm-mgr/worker/provision.h"
#include "../../vtpm-mgr/worker/tpmcore.h"
#include "vtpm_ipc.h"

static void uuid_of(uint8_t u[16], int i)
{
    memset(u, 0, 16);
    u[0] = (uint8_t)i;
    u[15] = 0xee;
}

static void test_table(void **state)
{
    struct inst_table t = { 0 };
    uint8_t u[16];
    struct inst *a, *b;
    int i;

    uuid_of(u, 1);
    a = winst_add(&t, u);
    assert_non_null(a);
    assert_null(winst_add(&t, u)); /* duplicate */
    for (i = 2; i < 50; i++) {
        uuid_of(u, i);
        assert_non_null(winst_add(&t, u));
    }
    assert_int_equal(t.count, 49);
    uuid_of(u, 1);
    assert_ptr_equal(winst_find(&t, u), a);
    uuid_of(u, 25);
    b = winst_find(&t, u);
    assert_non_null(b);
    assert_int_equal(winst_set_blob(&b->perm, &b->perm_len, "abc", 3), 0);
    assert_int_equal(winst_set_blob(&b->perm, &b->perm_len, "defg", 4), 0);
    assert_int_equal(b->perm_len, 4);
    assert_int_equal(winst_set_blob(&b->perm, &b->perm_len, "", 0), -EINVAL);
    winst_remove(&t, b);
    assert_null(winst_find(&t, u));
    assert_int_equal(t.count, 48);
    uuid_of(u, 99);
    assert_null(winst_find(&t, u));
    while (t.head)
        winst_remove(&t, t.head);
    assert_int_equal(t.count, 0);
}

static int setup_tpm(void **state)
{
    return tpmcore_init() || prov_init();
}

static int teardown_tpm(void **state)
{
    tpmcore_deactivate(0);
    prov_fini();
    return 0;
}

static void make_instance(struct inst *i, TPM2B_PUBLIC *ek)
{
    memset(i, 0, sizeof(*i));
    i->state = INST_READY;
    assert_int_equal(tpmcore_activate(i), 0);
    assert_int_equal(prov_startup_clear(i), 0);
    assert_int_equal(prov_create_ek(i, VTPM_EK_ECC_P256, ek), 0);
    assert_non_null(i->perm);
}

/* Each instance keeps its own seeds across swaps; swapping does not dirty the state. */
static void test_swap_isolation(void **state)
{
    struct inst a, b;
    TPM2B_PUBLIC eka, ekb, again;

    make_instance(&a, &eka);
    make_instance(&b, &ekb);
    assert_memory_not_equal(&eka, &ekb, sizeof(eka));
    a.perm_dirty = b.perm_dirty = 0;
    assert_int_equal(prov_create_ek(&a, VTPM_EK_ECC_P256, &again), 0);
    assert_memory_equal(&eka, &again, sizeof(eka));
    assert_int_equal(prov_create_ek(&b, VTPM_EK_ECC_P256, &again), 0);
    assert_memory_equal(&ekb, &again, sizeof(ekb));
    assert_int_equal(a.perm_dirty + b.perm_dirty, 0);
    /* a was just resumed from SetState blobs: a new manufacture must not inherit them */
    {
        struct inst c;
        TPM2B_PUBLIC ekc;
        make_instance(&c, &ekc);
        assert_memory_not_equal(&ekc, &eka, sizeof(ekc));
        assert_memory_not_equal(&ekc, &ekb, sizeof(ekc));
        tpmcore_deactivate(0);
        winst_clear_blob(&c.perm, &c.perm_len);
        winst_clear_blob(&c.vol, &c.vol_len);
    }
    tpmcore_deactivate(0);
    winst_clear_blob(&a.perm, &a.perm_len);
    winst_clear_blob(&a.vol, &a.vol_len);
    winst_clear_blob(&b.perm, &b.perm_len);
    winst_clear_blob(&b.vol, &b.vol_len);
}

static void test_bad_state_rejected(void **state)
{
    struct inst x;

    memset(&x, 0, sizeof(x));
    assert_int_equal(winst_set_blob(&x.perm, &x.perm_len, "this is not a libtpms blob", 26), 0);
    assert_int_equal(tpmcore_activate(&x), -EINVAL);
    assert_null(tpmcore_active());
    winst_clear_blob(&x.perm, &x.perm_len);
}

static int cmp_u64(const void *p, const void *q)
{
    uint64_t x = *(const uint64_t *)p, y = *(const uint64_t *)q;

    return x < y ? -1 : x > y;
}

static uint64_t now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Measures one swap (save volatile, terminate, set states, MainInit) and bounds it loosely. */
static void test_swap_cost(void **state)
{
    enum { N = 200 };
    struct inst a, b;
    TPM2B_PUBLIC ek;
    uint64_t t[N];
    int i;

    make_instance(&a, &ek);
    make_instance(&b, &ek);
    for (i = 0; i < N; i++) {
        uint64_t t0 = now_ns();
        assert_int_equal(tpmcore_activate(i & 1 ? &b : &a), 0);
        t[i] = now_ns() - t0;
    }
    qsort(t, N, sizeof(t[0]), cmp_u64);
    printf("swap cost: median %.3f ms, p90 %.3f ms (perm blob %zu, volatile blob %zu bytes)\n",
           t[N / 2] / 1e6, t[N * 9 / 10] / 1e6, a.perm_len, a.vol_len);
    assert_true(t[N / 2] < 5000000u); /* 5 ms: an order of magnitude off would be a bug */
    tpmcore_deactivate(0);
    winst_clear_blob(&a.perm, &a.perm_len);
    winst_clear_blob(&a.vol, &a.vol_len);
    winst_clear_blob(&b.perm, &b.perm_len);
    winst_clear_blob(&b.vol, &b.vol_len);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),
        cmocka_unit_test_setup_teardown(test_swap_isolation, setup_tpm, teardown_tpm),
        cmocka_unit_test_setup_teardown(test_bad_state_rejected, setup_tpm, teardown_tpm),
        cmocka_unit_test_setup_teardown(test_swap_cost, setup_tpm, teardown_tpm),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
