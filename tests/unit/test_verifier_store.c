/* SPDX-License-Identifier: BSD-3-Clause */
/* Unit tests of the verifier store's SQLite backend: schema migrations (v1 upgrade, newer
 * refused, failed step rolled back), database URLs, revocation notices and atomicity. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include <sqlite3.h>

#include "../../verifier/store/store.h"

/* The schema exactly as the release with schema version 1 wrote it. */
static const char v1_schema[] =
    "CREATE TABLE nonces (nonce TEXT PRIMARY KEY, issued INTEGER NOT NULL,"
    "  expires INTEGER NOT NULL, used INTEGER NOT NULL DEFAULT 0);"
    "CREATE TABLE registrations (id TEXT PRIMARY KEY, vtpm_uuid TEXT NOT NULL,"
    "  ak_pub BLOB NOT NULL, ek_cert BLOB NOT NULL, credential BLOB,"
    "  created INTEGER NOT NULL, state INTEGER NOT NULL);"
    "CREATE TABLE tpm_clock (vtpm_uuid TEXT PRIMARY KEY, reset_count INTEGER NOT NULL,"
    "  restart_count INTEGER NOT NULL, clock INTEGER NOT NULL);"
    "CREATE TABLE verdicts (container_id TEXT PRIMARY KEY, vtpm_uuid TEXT NOT NULL,"
    "  verdict TEXT NOT NULL, reasons TEXT NOT NULL, time INTEGER NOT NULL);"
    "CREATE TABLE audit (id INTEGER PRIMARY KEY AUTOINCREMENT, time INTEGER NOT NULL,"
    "  kind TEXT NOT NULL, subject TEXT NOT NULL, outcome TEXT NOT NULL, detail TEXT NOT NULL);"
    "PRAGMA user_version = 1;";

static const char v1_rows[] =
    "INSERT INTO nonces VALUES ('ab', 100, 2000000000, 0);"
    "INSERT INTO registrations VALUES ('reg1', 'uuid-1', x'0001ff', x'3082', x'0102', 100, 0);"
    "INSERT INTO tpm_clock VALUES ('uuid-1', 1, 2, 300);"
    "INSERT INTO verdicts VALUES ('ctr-1', 'uuid-1', 'allow', '[]', 100);"
    "INSERT INTO audit (time, kind, subject, outcome, detail) VALUES (100, 'evidence', 'ctr-1',"
    "  'allow', '[]');";

struct fixture {
    char path[64], url[80];
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    int fd;

    if (!f)
        return -1;
    snprintf(f->path, sizeof(f->path), "/tmp/test_store.XXXXXX");
    if ((fd = mkstemp(f->path)) < 0)
        return -1;
    close(fd);
    unlink(f->path); /* SQLite creates it; only the unique name was wanted */
    snprintf(f->url, sizeof(f->url), "sqlite:%s", f->path);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    char p[80];

    unlink(f->path);
    snprintf(p, sizeof(p), "%s-wal", f->path);
    unlink(p);
    snprintf(p, sizeof(p), "%s-shm", f->path);
    unlink(p);
    free(f);
    return 0;
}

/* Runs sql on the file directly, as another program (or an older release) would. */
static void raw_exec(const char *path, const char *sql)
{
    sqlite3 *db;

    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
}

static int64_t raw_int(const char *path, const char *sql)
{
    sqlite3 *db;
    sqlite3_stmt *s;
    int64_t v = -1;

    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &s, NULL), SQLITE_OK);
    if (sqlite3_step(s) == SQLITE_ROW)
        v = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    sqlite3_close(db);
    return v;
}

static struct store *open_ok(const struct fixture *f)
{
    struct store *st = NULL;

    assert_int_equal(store_open_url(f->url, &st), 0);
    assert_non_null(st);
    return st;
}

static void assert_json_str(json_t *j, const char *key, const char *want)
{
    const char *got = json_string_value(json_object_get(j, key));

    assert_non_null(got);
    assert_string_equal(got, want);
}

static void test_fresh_database(void **state)
{
    struct fixture *f = *state;
    struct store *st = open_ok(f);

    assert_int_equal(raw_int(f->path, "PRAGMA user_version"), STORE_SCHEMA_VERSION);
    assert_int_equal(STORE_SCHEMA_VERSION, 4);
    assert_int_equal(store_count(st, "nodes"), 0);
    assert_int_equal(store_count(st, "notifications"), 0);
    /* WAL is a property of the file: another connection sees it. */
    assert_int_equal(raw_int(f->path, "SELECT journal_mode = 'wal' FROM pragma_journal_mode"), 1);
    store_close(st);
    /* Reopening a current database changes nothing. */
    st = open_ok(f);
    assert_int_equal(raw_int(f->path, "PRAGMA user_version"), STORE_SCHEMA_VERSION);
    store_close(st);
}

static void check_upgraded_rows(struct store *st)
{
    struct reg_row r;
    json_t *j = NULL;

    assert_int_equal(store_verdict_get(st, "ctr-1", &j), 0);
    assert_json_str(j, "vtpm_uuid", "uuid-1");
    assert_json_str(j, "verdict", "allow");
    assert_json_str(j, "node", "");
    assert_int_equal(json_integer_value(json_object_get(j, "due")), 0);
    assert_int_equal(json_integer_value(json_object_get(j, "time")), 100);
    json_decref(j);
    assert_int_equal(store_reg_get(st, "reg1", &r), 0);
    assert_string_equal(r.vtpm_uuid, "uuid-1");
    assert_int_equal(r.ak_pub_len, 3);
    assert_memory_equal(r.ak_pub, "\x00\x01\xff", 3);
    assert_int_equal(r.credential_len, 2);
    store_reg_free(&r);
    assert_int_equal(store_clock_advance(st, "uuid-1", 1, 2, 299), -ERANGE);
    assert_int_equal(store_nonce_consume(st, "ab", 200), 0);
    assert_int_equal(store_nonce_consume(st, "ab", 200), -EALREADY);
    assert_int_equal(store_count(st, "audit"), 1);
}

/* A row written before container bindings is unbound: the next vTPM-proven verdict binds it,
 * and from then on another vTPM cannot write it. */
static void check_upgraded_binding(struct store *st)
{
    const struct verdict_binding a = { "aa", 3, 0 }, b = { "bb", 0, 0 };
    struct verdict_binding got;
    json_t *j = NULL;

    assert_int_equal(store_verdict_binding(st, "ctr-1", &got), 0);
    assert_string_equal(got.vtpm_ek, "");
    assert_int_equal(store_verdict_put(st, "ctr-1", "uuid-1", "", "allow", "[]", 300, 0, &a), 0);
    assert_int_equal(store_verdict_put(st, "ctr-1", "uuid-2", "", "deny", "[]", 301, 0, &b),
                     -EPERM);
    assert_int_equal(store_verdict_get(st, "ctr-1", &j), 0);
    assert_json_str(j, "vtpm_uuid", "uuid-1");
    assert_json_str(j, "verdict", "allow");
    assert_json_str(j, "vtpm_ek", "aa");
    assert_int_equal(json_integer_value(json_object_get(j, "reset_count")), 3);
    json_decref(j);
}

static void test_v1_upgrades_in_place(void **state)
{
    struct fixture *f = *state;
    struct store_revoked out[4];
    struct store *st;
    size_t n = 7;

    raw_exec(f->path, v1_schema);
    raw_exec(f->path, v1_rows);
    st = open_ok(f);
    assert_int_equal(raw_int(f->path, "PRAGMA user_version"), 4);
    check_upgraded_rows(st);
    check_upgraded_binding(st);
    /* An upgraded allow has due 0 (never stale): nothing to revoke. */
    assert_int_equal(store_revoke_overdue(st, INT64_MAX, out, 4, &n), 0);
    assert_int_equal(n, 0);
    assert_int_equal(store_node_put(st, "node-1", "host:aa", "allow", "[]", 100, 200), 0);
    assert_int_equal(store_revoke_overdue(st, 200, out, 4, &n), 0);
    assert_int_equal(n, 1);
    assert_string_equal(out[0].id, "node-1");
    assert_int_equal(store_count(st, "notifications"), 1);
    store_close(st);
}

static void test_newer_schema_refused(void **state)
{
    struct fixture *f = *state;
    struct store *st = NULL;

    raw_exec(f->path, "CREATE TABLE future (x); PRAGMA user_version = 5;");
    assert_int_equal(store_open_url(f->url, &st), -EPROTO);
    assert_null(st);
    assert_int_equal(store_open(f->path, &st), -EPROTO);
    /* Refused means untouched. */
    assert_int_equal(raw_int(f->path, "PRAGMA user_version"), 5);
    assert_int_equal(raw_int(f->path, "SELECT count(*) FROM sqlite_master WHERE name = 'nodes'"),
                     0);
}

/* A step that fails leaves the database at the version before it, with no half of it. */
static void test_failed_step_rolls_back(void **state)
{
    struct fixture *f = *state;
    struct store *st = NULL;

    raw_exec(f->path, v1_schema);
    raw_exec(f->path, v1_rows);
    raw_exec(f->path, "CREATE TABLE notifications (clash INTEGER);");
    assert_int_equal(store_open_url(f->url, &st), -EIO);
    assert_null(st);
    assert_int_equal(raw_int(f->path, "PRAGMA user_version"), 1);
    assert_int_equal(raw_int(f->path, "SELECT count(*) FROM pragma_table_info('verdicts') "
                                      "WHERE name = 'node'"), 0);
    assert_int_equal(raw_int(f->path, "SELECT count(*) FROM verdicts"), 1);
}

static void test_urls(void **state)
{
    struct fixture *f = *state;
    struct store *st = NULL;

    assert_int_equal(store_open_url(NULL, &st), -EINVAL);
    assert_int_equal(store_open_url("", &st), -EINVAL);
    assert_int_equal(store_open_url("sqlite:", &st), -EINVAL);
    assert_int_equal(store_open_url(f->path, &st), -EINVAL); /* a bare path is not a URL */
    assert_int_equal(store_open_url("mysql://localhost/x", &st), -EINVAL);
    assert_int_equal(store_open_url("postgresqlx://localhost/x", &st), -EINVAL);
    assert_int_equal(store_open_url("sqlite:/nonexistent-dir/x.db", &st), -EIO);
    /* No server behind this socket directory: a connection error, not a crash or a hang. */
    assert_int_equal(store_open_url("postgresql:///x?host=/nonexistent-dir&connect_timeout=2",
                                    &st), -EIO);
    assert_int_equal(store_open_url("postgres:///x?host=/nonexistent-dir", &st), -EIO);
    assert_null(st);
    assert_int_equal(access(f->path, F_OK), -1);
}

static int64_t notices(struct store *st)
{
    return store_count(st, "notifications");
}

static void test_revocation_notices(void **state)
{
    struct fixture *f = *state;
    struct store *st = open_ok(f);
    struct store_notification n[4];
    json_t *j;
    size_t k;

    assert_int_equal(store_verdict_put(st, "c", "u", "nd", "allow", "[]", 10, 0, NULL), 0);
    assert_int_equal(store_verdict_put(st, "c", "u", "nd", "allow", "[]", 11, 0, NULL), 0);
    assert_int_equal(notices(st), 0);
    assert_int_equal(store_verdict_put(st, "c", "u", "nd", "deny", "[\"policy-image\"]", 12, 0, NULL),
                     0);
    assert_int_equal(notices(st), 1);
    assert_int_equal(store_verdict_put(st, "c", "u", "nd", "allow", "[]", 13, 0, NULL), 0);
    assert_int_equal(notices(st), 1); /* deny -> allow is no revocation */
    /* The node's deny cascades to its container's allow: one more notice (time 14). */
    assert_int_equal(store_node_put(st, "nd", "host:1", "deny", "[]", 14, 0), 0);
    assert_int_equal(notices(st), 2);
    assert_int_equal(store_notify_claim(st, 12, 20, n, 4, &k), 0);
    assert_int_equal(k, 1);
    j = json_loads(n[0].body, 0, NULL);
    assert_json_str(j, "kind", "container");
    assert_json_str(j, "id", "c");
    assert_json_str(j, "event", "revoked");
    assert_int_equal(json_array_size(json_object_get(j, "reasons")), 1);
    assert_string_equal(json_string_value(json_array_get(json_object_get(j, "reasons"), 0)),
                        "policy-image");
    json_decref(j);
    store_notification_free(&n[0]);
    assert_null(n[0].body);
    store_close(st);
}

/* A revocation whose notice cannot be queued does not happen either. */
static void test_revocation_atomic(void **state)
{
    struct fixture *f = *state;
    struct store *st = open_ok(f);
    struct store_revoked out[2];
    json_t *j = NULL;
    size_t n = 5;

    assert_int_equal(store_verdict_put(st, "c", "u", "", "allow", "[]", 10, 20, NULL), 0);
    raw_exec(f->path, "CREATE TRIGGER no_notice BEFORE INSERT ON notifications "
                      "BEGIN SELECT RAISE(ABORT, 'outbox full'); END;");
    assert_true(store_verdict_put(st, "c", "u", "", "deny", "[\"x\"]", 11, 0, NULL) < 0);
    assert_true(store_revoke_overdue(st, 30, out, 2, &n) < 0);
    assert_int_equal(n, 0);
    assert_int_equal(store_verdict_get(st, "c", &j), 0);
    assert_json_str(j, "verdict", "allow");
    json_decref(j);
    raw_exec(f->path, "DROP TRIGGER no_notice;");
    assert_int_equal(store_revoke_overdue(st, 30, out, 2, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(notices(st), 1);
    store_close(st);
}

static void test_outbox_states(void **state)
{
    struct fixture *f = *state;
    struct store *st = open_ok(f);
    struct store_notification n[4];
    size_t k;

    assert_int_equal(store_notify_add(st, "{\"a\":1}", 100), 0);
    assert_int_equal(store_notify_claim(st, 99, 200, n, 4, &k), 0);
    assert_int_equal(k, 0); /* not due yet */
    assert_int_equal(store_notify_claim(st, 100, 200, n, 4, &k), 0);
    assert_int_equal(k, 1);
    assert_string_equal(n[0].body, "{\"a\":1}");
    assert_int_equal(n[0].attempts, 0);
    assert_int_equal(store_notify_retry(st, n[0].id, 3, 150), 0);
    store_notification_free(&n[0]);
    assert_int_equal(store_notify_claim(st, 150, 300, n, 4, &k), 0);
    assert_int_equal(k, 1);
    assert_int_equal(n[0].attempts, 3);
    assert_int_equal(store_notify_fail(st, n[0].id), 0);
    assert_int_equal(store_notify_done(st, n[0].id), -ENOENT); /* failed is final */
    assert_int_equal(store_purge(st, 1000, 2000), 0);         /* too recent */
    assert_int_equal(store_purge(st, 1000, 10), 1);
    store_notification_free(&n[0]);
    store_close(st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_fresh_database, setup, teardown),
        cmocka_unit_test_setup_teardown(test_v1_upgrades_in_place, setup, teardown),
        cmocka_unit_test_setup_teardown(test_newer_schema_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failed_step_rolls_back, setup, teardown),
        cmocka_unit_test_setup_teardown(test_urls, setup, teardown),
        cmocka_unit_test_setup_teardown(test_revocation_notices, setup, teardown),
        cmocka_unit_test_setup_teardown(test_revocation_atomic, setup, teardown),
        cmocka_unit_test_setup_teardown(test_outbox_states, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
