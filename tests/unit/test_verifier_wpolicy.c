/* SPDX-License-Identifier: BSD-3-Clause */
/* Unit tests of per-workload policies: names, selectors, the choice of the most specific
 * policy, the set's reload from the database when its stamp moves, and admission answers
 * naming the deciding policy. */
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

#include "../../verifier/sched/wpolicy.h"
#include "../../verifier/store/store_policy.h"

#define GOOD "{\"version\":2,\"digests\":{\"image\":null,\"rootfs\":[],\"runtime\":[]," \
             "\"agent\":null},\"launch\":{}}"

static void test_names(void **state)
{
    (void)state;
    assert_true(wp_name_ok("web"));
    assert_true(wp_name_ok("a"));
    assert_true(wp_name_ok("team-a-prod-2"));
    assert_false(wp_name_ok(""));
    assert_false(wp_name_ok("default"));
    assert_false(wp_name_ok("-web"));
    assert_false(wp_name_ok("web-"));
    assert_false(wp_name_ok("Web"));
    assert_false(wp_name_ok("a/b"));
    assert_false(wp_name_ok("a.b"));
    assert_true(wp_name_ok("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")); /* 63 */
    assert_false(wp_name_ok("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"));
}

static void selector(const char *text, int want)
{
    json_t *j = json_loads(text, 0, NULL);
    char err[160] = "";

    assert_non_null(j);
    if ((wp_selector_validate(j, err, sizeof(err)) == 0) != want)
        fail_msg("selector %s: %s", text, err[0] ? err : "accepted");
    json_decref(j);
}

static void test_selectors(void **state)
{
    (void)state;
    selector("{}", 1);
    selector("{\"namespaces\":[\"prod\"],\"labels\":{\"app\":\"web\"},\"images\":[\"r/web\"]}", 1);
    selector("[]", 0);
    selector("{\"namespace\":[\"prod\"]}", 0);
    selector("{\"namespaces\":[]}", 0);
    selector("{\"namespaces\":\"prod\"}", 0);
    selector("{\"namespaces\":[\"\"]}", 0);
    selector("{\"labels\":{}}", 0);
    selector("{\"labels\":{\"app\":1}}", 0);
    selector("{\"images\":[7]}", 0);
}

/* One stored row of store_policy_latest's form. */
static json_t *row(const char *name, int64_t version, const char *sel, int deleted)
{
    return json_pack("{s:s, s:I, s:s, s:s, s:b, s:I, s:s}", "name", name, "version",
                     (json_int_t)version, "selector", sel, "body",
                     GOOD, "deleted", deleted, "time",
                     (json_int_t)1, "author", "t");
}

static const char *pick(const struct wp_set *s, const char *ns, const char *labels,
                        const char *image)
{
    json_t *l = labels ? json_loads(labels, 0, NULL) : NULL;
    const char *imgs[1] = { image };
    const struct wp_entry *e = wp_select(s, ns, l, imgs, image ? 1 : 0);

    json_decref(l);
    return e ? e->name : "(file)";
}

static void test_select(void **state)
{
    json_t *rows = json_array();
    struct wp_set *s;

    (void)state;
    json_array_append_new(rows, row("all", 1, "{}", 0));
    json_array_append_new(rows, row("prod", 2, "{\"namespaces\":[\"prod\",\"prod-b\"]}", 0));
    json_array_append_new(rows, row("prod-web", 1, "{\"namespaces\":[\"prod\"],"
                                                  "\"labels\":{\"app\":\"web\"}}", 0));
    json_array_append_new(rows, row("web-tier", 1, "{\"labels\":{\"app\":\"web\","
                                                  "\"tier\":\"front\"}}", 0));
    json_array_append_new(rows, row("regimg", 4, "{\"images\":[\"registry.example/web\"]}", 0));
    json_array_append_new(rows, row("gone", 3, "{\"namespaces\":[\"old\"]}", 1));
    json_array_append_new(rows, row("aaa", 1, "{\"namespaces\":[\"prod-b\"]}", 0));
    assert_non_null(s = wp_set_build(rows, 9));
    assert_int_equal(wp_set_size(s), 6); /* the deleted one left out */
    assert_string_equal(pick(s, "dev", NULL, "busybox"), "all");
    assert_string_equal(pick(s, "prod", NULL, "busybox"), "prod");
    assert_string_equal(pick(s, "prod", "{\"app\":\"web\"}", "busybox"), "prod-web");
    assert_string_equal(pick(s, "prod", "{\"app\":\"db\"}", "busybox"), "prod");
    /* two labels beat one label and a namespace */
    assert_string_equal(pick(s, "prod", "{\"app\":\"web\",\"tier\":\"front\"}", "busybox"),
                        "web-tier");
    /* images beat everything else */
    assert_string_equal(pick(s, "prod", "{\"app\":\"web\"}", "registry.example/web:1.0"),
                        "regimg");
    assert_string_equal(pick(s, "prod", NULL, "registry.example/web@sha256:aa"), "regimg");
    assert_string_equal(pick(s, "prod", NULL, "registry.example/webx:1"), "prod");
    /* a tie goes to the first name */
    assert_string_equal(pick(s, "prod-b", NULL, "busybox"), "aaa");
    assert_string_equal(pick(s, "old", NULL, "busybox"), "all");
    /* a container at start: only selectors without namespaces and labels */
    assert_string_equal(pick(s, NULL, NULL, "busybox"), "all");
    assert_string_equal(pick(s, NULL, NULL, "registry.example/web:2"), "regimg");
    assert_true(wp_any_for_containers(s));
    wp_set_put(s);
    json_decref(rows);
    /* nothing stored: the file */
    assert_non_null(s = wp_set_build(NULL, 0));
    assert_string_equal(pick(s, "prod", NULL, "x"), "(file)");
    assert_false(wp_any_for_containers(s));
    wp_set_put(s);
}

/* The holder re-reads the set when the stamp moves, not before poll_ms, at once after
 * wp_invalidate; an unreadable body keeps the entry (pol.root NULL: deny). */
static void test_holder_reload(void **state)
{
    char path[] = "/tmp/wpolicy-test-XXXXXX", url[64];
    struct store *st = NULL;
    struct wp_holder *h;
    struct wp_set *s;
    int64_t v;
    int fd = mkstemp(path);

    (void)state;
    assert_true(fd >= 0);
    close(fd);
    unlink(path);
    snprintf(url, sizeof(url), "sqlite:%s", path);
    assert_int_equal(store_open_url(url, &st), 0);
    assert_non_null(h = wp_holder_new(1000));
    s = wp_acquire(h, st, 5000);
    assert_int_equal(wp_set_size(s), 0);
    wp_set_put(s);
    assert_int_equal(store_policy_put(st, "web", "{}", GOOD, "t", 1, &v), 0);
    s = wp_acquire(h, st, 5500); /* within poll_ms: the held set */
    assert_int_equal(wp_set_size(s), 0);
    wp_set_put(s);
    s = wp_acquire(h, st, 6000);
    assert_int_equal(wp_set_size(s), 1);
    assert_int_equal(wp_select(s, "x", NULL, NULL, 0)->version, 1);
    assert_non_null(wp_select(s, "x", NULL, NULL, 0)->pol.root);
    wp_set_put(s);
    assert_int_equal(store_policy_put(st, "web", "{}", "not json", "t", 2, &v), 0);
    wp_invalidate(h);
    s = wp_acquire(h, st, 6001);
    assert_int_equal(wp_select(s, "x", NULL, NULL, 0)->version, 2);
    assert_null(wp_select(s, "x", NULL, NULL, 0)->pol.root);
    wp_set_put(s);
    wp_holder_free(h);
    store_close(st);
    unlink(path);
    snprintf(url, sizeof(url), "%s-wal", path);
    unlink(url);
    snprintf(url, sizeof(url), "%s-shm", path);
    unlink(url);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_selectors),
        cmocka_unit_test(test_select),
        cmocka_unit_test(test_holder_reload),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
