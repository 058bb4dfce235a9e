/* SPDX-License-Identifier: BSD-3-Clause */
/* Unit tests of node mode: the node check (missing, other host, deny, stale by age and by due),
 * freshness and the due cap at their edges, the policy's node_verdict_max_age, and the check
 * applied inside a SQLite write (an allow turned into a deny; the node's deny cascading). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "../../verifier/check/nodeverdict.h"
#include "../../verifier/check/policy.h"
#include "../../verifier/store/store.h"

static const char HOST[] = "host:aa";

static struct store_node_row row(const char *host, const char *verdict, int64_t t, int64_t due)
{
    struct store_node_row r = { .found = 1, .time = t, .due = due };

    snprintf(r.host, sizeof(r.host), "%s", host);
    snprintf(r.verdict, sizeof(r.verdict), "%s", verdict);
    snprintf(r.reasons, sizeof(r.reasons), "%s", "[\"host-boot-x\"]");
    return r;
}

/* The one reason check() gives ("" when none). */
static const char *check(const struct store_node_row *r, const char *host, int64_t now,
                         int64_t max_age)
{
    static char out[REASON_MAX];
    struct reasons rs = { 0 };

    nodeverdict_check("node-a", r, host, now, max_age, &rs);
    assert_true(rs.n <= 1);
    snprintf(out, sizeof(out), "%s", rs.n ? rs.v[0] : "");
    reasons_free(&rs);
    return out;
}

static int starts(const char *s, const char *prefix)
{
    return !strncmp(s, prefix, strlen(prefix));
}

static void test_check(void **state)
{
    struct store_node_row none = { 0 }, ok = row(HOST, "allow", 1000, 1360),
                          bad = row(HOST, "deny", 1000, 0), other = row("host:bb", "allow", 1000, 0);

    (void)state;
    assert_true(starts(check(&none, HOST, 1000, 360), "node-verdict-missing:node node-a"));
    assert_string_equal(check(&ok, HOST, 1000, 360), "");
    assert_string_equal(check(&ok, HOST, 1359, 360), "");
    /* due 1360 <= now: overdue even though 360 s have not passed */
    assert_true(starts(check(&ok, HOST, 1360, 360), "node-verdict-stale:"));
    assert_true(starts(check(&ok, HOST, 1360, 1000), "node-verdict-stale:"));
    /* by age: 1000 + 100 is the last fresh second */
    assert_string_equal(check(&ok, HOST, 1100, 100), "");
    assert_true(starts(check(&ok, HOST, 1101, 100), "node-verdict-stale:"));
    assert_true(starts(check(&bad, HOST, 1001, 360), "node-verdict-deny:node node-a: "));
    assert_non_null(strstr(check(&bad, HOST, 1001, 360), "host-boot-x"));
    /* another host's row: only that, whatever its state */
    assert_true(starts(check(&other, HOST, 1001, 360), "node-verdict-other-host:"));
    bad = row("host:bb", "deny", 0, 0);
    assert_true(starts(check(&bad, HOST, 99999, 1), "node-verdict-other-host:"));
    assert_true(starts(check(&ok, NULL, 1001, 360), "node-verdict-other-host:"));
    assert_true(starts(check(&ok, "host:a", 1001, 360), "node-verdict-other-host:"));
}

static void test_fresh_and_cap(void **state)
{
    (void)state;
    assert_int_equal(nodeverdict_fresh_until(1000, 0, 360), 1360);
    assert_int_equal(nodeverdict_fresh_until(1000, 1360, 360), 1359);
    assert_int_equal(nodeverdict_fresh_until(1000, 1200, 360), 1199);
    assert_int_equal(nodeverdict_fresh_until(1000, 2000, 360), 1360);
    /* a container allow falls due when its node stops being fresh */
    assert_int_equal(nodeverdict_cap_due(0, 1359), 1360);
    assert_int_equal(nodeverdict_cap_due(5000, 1359), 1360);
    assert_int_equal(nodeverdict_cap_due(1300, 1359), 1300);
    assert_int_equal(nodeverdict_cap_due(1360, 1359), 1360);
}

static int parse(const char *text, struct policy *p)
{
    char err[160];

    return policy_parse(text, strlen(text), p, err, sizeof(err));
}

static void test_policy_max_age(void **state)
{
    struct policy p = { 0 };
    char *dump;

    (void)state;
    assert_int_equal(policy_default(&p), 0);
    assert_int_equal(policy_node_max_age(&p), NODEVERDICT_MAX_AGE_DEFAULT);
    assert_int_equal(NODEVERDICT_MAX_AGE_DEFAULT, 360);
    dump = policy_dump(&p); /* written out, as launch rules are */
    assert_non_null(strstr(dump, "\"node_verdict_max_age\": 360"));
    free(dump);
    policy_free(&p);
    assert_int_equal(parse("{\"version\": 2, \"digests\": {}, \"launch\": {}, "
                           "\"node_verdict_max_age\": 30}", &p), 0);
    assert_int_equal(policy_node_max_age(&p), 30);
    policy_free(&p);
    assert_int_equal(parse("{\"version\": 2, \"digests\": {}, \"node_verdict_max_age\": 0}", &p),
                     -EINVAL);
    assert_int_equal(parse("{\"version\": 2, \"digests\": {}, \"node_verdict_max_age\": -5}", &p),
                     -EINVAL);
    assert_int_equal(parse("{\"version\": 2, \"digests\": {}, \"node_verdict_max_age\": \"60\"}",
                           &p), -EINVAL);
    assert_int_equal(parse("{\"version\": 2, \"digests\": {}, \"node_verdict_max_age\": 1.5}",
                           &p), -EINVAL);
    assert_int_equal(parse("{\"version\": 2, \"digests\": {}, "
                           "\"node_verdict_max_age\": 2592001}", &p), -EINVAL);
}

/* The check inside a SQLite write, and the cascade of a node's deny. */
static void expect_row(struct store *st, const char *id, const char *verdict, int64_t due,
                       const char *first_reason_prefix)
{
    json_t *j = NULL;
    const char *r0;

    assert_int_equal(store_verdict_get(st, id, &j), 0);
    assert_string_equal(json_string_value(json_object_get(j, "verdict")), verdict);
    if (due >= 0)
        assert_int_equal(json_integer_value(json_object_get(j, "due")), due);
    r0 = json_string_value(json_array_get(json_object_get(j, "reasons"), 0));
    if (first_reason_prefix)
        assert_true(r0 && starts(r0, first_reason_prefix));
    else
        assert_null(r0);
    json_decref(j);
}

static void put(struct store *st, const char *id, int64_t t, const char *host, size_t want_added)
{
    struct store_node_gate g = { .host = host, .max_age = 100 };

    assert_int_equal(store_verdict_put_gated(st, id, "u", "node-a", "allow", "[]", t, t + 500,
                                             NULL, &g), 0);
    assert_int_equal(g.added.n, want_added);
    reasons_free(&g.added);
}

static void test_store_gate(void **state)
{
    char path[64], url[80];
    struct store *st = NULL;
    struct store_node_gate g = { .host = HOST, .max_age = 100 };
    int fd;

    (void)state;
    snprintf(path, sizeof(path), "/tmp/test_nodeverdict.XXXXXX");
    assert_true((fd = mkstemp(path)) >= 0);
    close(fd);
    unlink(path);
    snprintf(url, sizeof(url), "sqlite:%s", path);
    assert_int_equal(store_open_url(url, &st), 0);
    /* no node given: refused, nothing written */
    assert_int_equal(store_verdict_put_gated(st, "c0", "u", "", "allow", "[]", 1, 0, NULL, &g),
                     -EINVAL);
    assert_int_equal(store_count(st, "verdicts"), 0);
    put(st, "c1", 1000, HOST, 1);
    expect_row(st, "c1", "deny", 0, "node-verdict-missing:");
    assert_int_equal(store_node_put(st, "node-a", HOST, "allow", "[]", 1000, 1360), 0);
    put(st, "c1", 1010, HOST, 0);
    expect_row(st, "c1", "allow", 1101, NULL); /* capped: fresh until 1000 + 100 */
    put(st, "c2", 1010, "host:bb", 1);
    expect_row(st, "c2", "deny", 0, "node-verdict-other-host:");
    put(st, "c3", 1101, HOST, 1);
    expect_row(st, "c3", "deny", 0, "node-verdict-stale:");
    assert_int_equal(store_count(st, "notifications"), 0);
    /* the node's deny: c1's allow follows, notified */
    assert_int_equal(store_node_put(st, "node-a", HOST, "deny", "[\"x\"]", 1020, 0), 0);
    expect_row(st, "c1", "deny", -1, "node-denied:node-a");
    expect_row(st, "c2", "deny", 0, "node-verdict-other-host:");
    assert_int_equal(store_count(st, "notifications"), 2); /* the node and c1 */
    put(st, "c4", 1021, HOST, 1);
    expect_row(st, "c4", "deny", 0, "node-verdict-deny:");
    store_close(st);
    unlink(path);
    strncat(path, "-wal", sizeof(path) - strlen(path) - 1);
    unlink(path);
    path[strlen(path) - 4] = 0;
    strncat(path, "-shm", sizeof(path) - strlen(path) - 1);
    unlink(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_check),
        cmocka_unit_test(test_fresh_and_cap),
        cmocka_unit_test(test_policy_max_age),
        cmocka_unit_test(test_store_gate),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
