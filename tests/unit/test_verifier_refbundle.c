/* SPDX-License-Identifier: BSD-3-Clause */
/* Unit tests of reference-value bundles (refbundle.c): the document's errors, and the merge
 * into the policy's allow-lists, which stops counting once a bundle is out of its period. */
#include <errno.h>
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

#include "fileio.h"
#include "../../verifier/check/policy.h"
#include "../../verifier/check/refbundle.h"

#define D1 "sha256:1111111111111111111111111111111111111111111111111111111111111111"
#define D2 "sha256:2222222222222222222222222222222222222222222222222222222222222222"
#define HEAD "{\"type\":\"vtpm-attest reference values\",\"version\":1,\"publisher\":\"acme\"," \
             "\"not_before\":\"2020-01-01T00:00:00Z\",\"not_after\":\"2099-01-01T00:00:00Z\""

static void test_parse_errors(void **state)
{
    static const struct { const char *doc, *err; } cases[] = {
        { HEAD ",\"digests\":{\"rootfs\":[\"" D1 "\"]},\"x\":1}", "unknown key x" },
        { "{\"type\":\"other\",\"version\":1}", "type must be" },
        { HEAD ",\"digests\":{\"rootfs\":[\"nothex\"]}}", "digests.rootfs[0] is not sha256" },
        { HEAD ",\"digests\":{\"kernel\":[]}}", "digests.kernel" },
        { HEAD "}", "neither digests nor boot" },
        { HEAD ",\"boot\":{\"version\":1}}", "boot:" },
        { "{\"type\":\"vtpm-attest reference values\",\"version\":1,\"publisher\":\"acme\","
          "\"not_before\":\"2021-01-01T00:00:00Z\",\"not_after\":\"2020-01-01T00:00:00Z\","
          "\"digests\":{}}", "not_after not before" },
        { HEAD ",\"digests\":{},\"digests\":{}}", "JSON" },
    };
    static const char good[] = HEAD ",\"digests\":{\"rootfs\":[\"" D1 "\"]}}";
    struct refbundle b;
    char err[256];

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        assert_int_equal(refbundle_parse((const uint8_t *)cases[i].doc, strlen(cases[i].doc), &b,
                                         err, sizeof(err)), -EINVAL);
        if (!strstr(err, cases[i].err))
            fail_msg("case %zu: %s", i, err);
    }
    assert_int_equal(refbundle_parse((const uint8_t *)good, strlen(good), &b, err, sizeof(err)),
                     0);
    assert_string_equal(b.publisher, "acme");
    refbundle_free(&b);
}

/* An unsigned bundle (require_signed false) listing D1 as rootfs, valid 2020 to 2099. */
static void test_merge_and_period(void **state)
{
    char dir[] = "/tmp/vtpm-refbundle.XXXXXX", path[128], err[512];
    static const char bundle[] = HEAD ",\"digests\":{\"rootfs\":[\"" D1 "\"]}}";
#define POL(REQ) "{\"version\":2,\"digests\":{\"image\":null,\"rootfs\":[\"" D2 "\"]," \
        "\"runtime\":null,\"agent\":null},\"launch\":{},\"reference_bundles\":{\"publishers\":[]," \
        "\"files\":[\"b.json\"],\"require_signed\":" REQ "}}"
    static const char pol[] = POL("false"), pol_signed[] = POL("true");
    struct policy p = { 0 };
    const char *exp;
    int dfd;

    (void)state;
    assert_non_null(mkdtemp(dir));
    dfd = open(dir, O_RDONLY | O_DIRECTORY);
    assert_true(dfd >= 0);
    assert_int_equal(file_write_atomic(dfd, "b.json", bundle, strlen(bundle), 0644), 0);
    assert_int_equal(file_write_atomic(dfd, "p.json", pol, strlen(pol), 0644), 0);
    snprintf(path, sizeof(path), "%s/p.json", dir);
    if (policy_load(path, &p, err, sizeof(err)) < 0)
        fail_msg("%s", err);
    assert_int_equal(policy_digest_allowed(&p, POLICY_ROOTFS, D2, time(NULL), &exp), 1);
    assert_int_equal(policy_digest_allowed(&p, POLICY_ROOTFS, D1, time(NULL), &exp), 1);
    assert_null(exp);
    /* after the bundle's not_after its values stop counting, and the reason says why */
    assert_int_equal(policy_digest_allowed(&p, POLICY_ROOTFS, D1, 4200000000, &exp), 0);
    assert_non_null(exp);
    assert_non_null(strstr(exp, "/b.json"));
    assert_int_equal(policy_digest_allowed(&p, POLICY_ROOTFS, D2, 4200000000, &exp), 1);
    /* a list the bundle does not have stays as the policy says (null: not enforced) */
    assert_int_equal(policy_digest_allowed(&p, POLICY_RUNTIME, D1, time(NULL), &exp), -1);
    policy_free(&p);
    /* loaded without bundles (for editing), D1 is not allowed */
    assert_int_equal(policy_load_flags(path, &p, POLICY_LOAD_NO_BUNDLES, err, sizeof(err)), 0);
    assert_int_equal(policy_digest_allowed(&p, POLICY_ROOTFS, D1, time(NULL), &exp), 0);
    policy_free(&p);
    /* required signatures: the same bundle refuses the load, naming it */
    assert_int_equal(file_write_atomic(dfd, "p.json", pol_signed, strlen(pol_signed), 0644), 0);
    assert_int_equal(policy_load(path, &p, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "/b.json: unsigned"));
    dir_remove_tree(AT_FDCWD, dir);
    close(dfd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_errors),
        cmocka_unit_test(test_merge_and_period),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
