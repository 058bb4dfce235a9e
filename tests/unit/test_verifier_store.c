/* SPDX-License-Identifier: BSD-3-Clause */
/* Unit tests of the verifier store's SQLite backend: schema migrations (v1 upgrade, newer
 * refused, failed step rolled back), database URLs, revocation notices and atomicity, one
 * transaction per check (pieces, atomicity), group commit from 8 threads, purge. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include <sqlite3.h>

#include "../../verifier/store/store.h"
#include "../../verifier/store/store_manifest.h"
#include "../../verifier/store/store_policy.h"

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
    assert_int_equal(STORE_SCHEMA_VERSION, 7);
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
    assert_int_equal(raw_int(f->path, "PRAGMA user_version"), STORE_SCHEMA_VERSION);
    check_upgraded_rows(st);
    check_upgraded_binding(st);
    {   /* version 7: the manifest store */
        int64_t rows = -1, bytes = -1;

        assert_int_equal(store_manifest_totals(st, &rows, &bytes), 0);
        assert_int_equal(rows, 0);
    }
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

/* The manifest store on SQLite (store_conformance covers eviction on both backends): bytes
 * kept exactly, a second put of the same name writes nothing, the quota refuses. */
static void test_manifests(void **state)
{
    const struct store_manifest_quota q = { .total = 8, .idle_s = 3600, .unused_s = 600 };
    struct fixture *f = *state;
    struct store *st = open_ok(f);
    uint8_t *got = NULL;
    size_t len = 0;
    int64_t size = 0;
    int ev = -1;

    assert_int_equal(store_manifest_put(st, "ab", (const uint8_t *)"\x00\xff\x01" "abc", 6, 100, &q,
                                        &ev), 0);
    assert_int_equal(store_manifest_put(st, "ab", (const uint8_t *)"\x00\xff\x01" "abc", 6, 100, &q,
                                        &ev), 1);
    assert_int_equal(store_manifest_get(st, "ab", &got, &len), 0);
    assert_int_equal(len, 6);
    assert_memory_equal(got, "\x00\xff\x01" "abc", 6);
    free(got);
    assert_int_equal(store_manifest_stat(st, "ab", &size), 0);
    assert_int_equal(size, 6);
    assert_int_equal(store_manifest_put(st, "cd", (const uint8_t *)"xyz", 3, 101, &q, &ev),
                     -ENOSPC);
    assert_int_equal(store_manifest_stat(st, "cd", &size), -ENOENT);
    assert_int_equal(store_manifest_put(st, "cd", (const uint8_t *)"xyz", 3, 1000, &q, &ev), 0);
    assert_int_equal(ev, 1); /* "ab", never used, 900 s old */
    assert_int_equal(store_manifest_get(st, "ab", &got, &len), -ENOENT);
    store_close(st);
}

static void test_newer_schema_refused(void **state)
{
    struct fixture *f = *state;
    struct store *st = NULL;

    raw_exec(f->path, "CREATE TABLE future (x); PRAGMA user_version = 8;");
    assert_int_equal(store_open_url(f->url, &st), -EPROTO);
    assert_null(st);
    assert_int_equal(store_open(f->path, &st), -EPROTO);
    /* Refused means untouched. */
    assert_int_equal(raw_int(f->path, "PRAGMA user_version"), 8);
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

/* ---- one transaction per check (store_check_apply / store_check_commit) ---- */

static int64_t clock_of(const struct fixture *f, const char *uuid)
{
    char sql[128];

    snprintf(sql, sizeof(sql), "SELECT clock FROM tpm_clock WHERE vtpm_uuid = '%s'", uuid);
    return raw_int(f->path, sql);
}

static int64_t used_of(const struct fixture *f, const char *nonce)
{
    char sql[128];

    snprintf(sql, sizeof(sql), "SELECT used FROM nonces WHERE nonce = '%s'", nonce);
    return raw_int(f->path, sql);
}

/* What decide saw, and a verdict from it: allow unless the nonce or the clock failed. */
struct seen {
    int nonce_rc, clock_rc, calls;
};

static int decide_allow(struct store_check *chk)
{
    struct seen *s = chk->arg;

    s->nonce_rc = chk->nonce.rc;
    s->clock_rc = chk->clock.rc;
    s->calls++;
    chk->verdict.on = 1;
    chk->verdict.verdict = chk->nonce.rc == 0 && chk->clock.rc == 0 ? "allow" : "deny";
    return 0;
}

/* A check as api.c makes it: nonce, clock, verdict of container id, audited. */
static struct store_check a_check(const char *nonce, const char *id, uint64_t clock,
                                  const char *ek, struct seen *s)
{
    struct store_check c = { 0 };

    c.nonce.hex = nonce;
    c.nonce.now = 100;
    c.clock.uuid = "vt-1";
    c.clock.reset = 1;
    c.clock.clock = clock;
    c.decide = decide_allow;
    c.arg = s;
    c.verdict.id = id;
    c.verdict.vtpm_uuid = "vt-1";
    c.verdict.reasons = "[]";
    c.verdict.t = 100;
    snprintf(c.verdict.b.vtpm_ek, sizeof(c.verdict.b.vtpm_ek), "%s", ek);
    c.verdict.audit = (struct store_check_audit){ "evidence", NULL, NULL, NULL, 0 };
    c.verdict.refused_detail = "[\"container-vtpm-mismatch\"]";
    return c;
}

static int64_t audits_with(const struct fixture *f, const char *outcome)
{
    char sql[128];

    snprintf(sql, sizeof(sql), "SELECT count(*) FROM audit WHERE outcome = '%s'", outcome);
    return raw_int(f->path, sql);
}

/* Each piece's outcome reaches decide and the caller; -EPERM is audited as refused. */
static void test_check_pieces(void **state)
{
    struct fixture *f = *state;
    struct store *st = open_ok(f);
    struct seen s = { 0 };
    struct store_check c;
    json_t *j = NULL;

    assert_int_equal(store_nonce_add(st, "n1", 0, 1000), 0);
    assert_int_equal(store_nonce_add(st, "n2", 0, 1000), 0);
    c = a_check("n1", "c1", 500, "ek-a", &s);
    assert_int_equal(store_check_apply(st, &c), 0);
    assert_int_equal(s.calls, 1);
    assert_int_equal(c.nonce.rc, 0);
    assert_int_equal(c.clock.rc, 0);
    assert_int_equal(c.verdict.rc, 0);
    assert_int_equal(store_verdict_get(st, "c1", &j), 0);
    assert_json_str(j, "verdict", "allow");
    json_decref(j);
    assert_int_equal(audits_with(f, "allow"), 1);
    /* the same nonce again, an older clock: both outcomes reach decide; nothing of the clock */
    c = a_check("n1", "c1", 400, "ek-a", &s);
    assert_int_equal(store_check_commit(st, &c), 0);
    assert_int_equal(s.nonce_rc, -EALREADY);
    assert_int_equal(s.clock_rc, -ERANGE);
    assert_int_equal(clock_of(f, "vt-1"), 500);
    assert_int_equal(store_verdict_get(st, "c1", &j), 0);
    assert_json_str(j, "verdict", "deny");
    json_decref(j);
    /* another vTPM for a bound id: -EPERM, row kept, audited refused with refused_detail */
    c = a_check("n2", "c1", 600, "ek-b", &s);
    assert_int_equal(store_check_commit(st, &c), 0);
    assert_int_equal(c.verdict.rc, -EPERM);
    assert_int_equal(store_verdict_get(st, "c1", &j), 0);
    assert_json_str(j, "vtpm_ek", "ek-a");
    json_decref(j);
    assert_int_equal(audits_with(f, "refused"), 1);
    assert_int_equal(raw_int(f->path, "SELECT count(*) FROM audit WHERE detail = "
                                      "'[\"container-vtpm-mismatch\"]'"), 1);
    assert_int_equal(used_of(f, "n2"), 1); /* the nonce is still consumed */
    assert_int_equal(clock_of(f, "vt-1"), 600);
    store_close(st);
}

/* decide failing as a deadlock would (-EAGAIN) at its first run: the set is tried once more,
 * from scratch, and written once. */
static int decide_flaky(struct store_check *chk)
{
    struct seen *s = chk->arg;

    if (s->calls++ == 0) {
        chk->verdict.on = 1; /* half-done work the retry must not keep */
        return -EAGAIN;
    }
    chk->verdict.on = 1;
    chk->verdict.verdict = "allow";
    s->nonce_rc = chk->nonce.rc;
    return 0;
}

static void test_check_retried(void **state)
{
    struct fixture *f = *state;
    struct store *st = open_ok(f);
    struct seen s = { 0 };
    struct store_check c;

    assert_int_equal(store_nonce_add(st, "n1", 0, 1000), 0);
    c = a_check("n1", "c1", 500, "ek-a", &s);
    c.decide = decide_flaky;
    assert_int_equal(store_check_commit(st, &c), 0);
    assert_int_equal(s.calls, 2);
    assert_int_equal(s.nonce_rc, 0); /* the first run's use was rolled back */
    assert_int_equal(used_of(f, "n1"), 1);
    assert_int_equal(store_count(st, "verdicts"), 1);
    assert_int_equal(audits_with(f, "allow"), 1);
    store_close(st);
}

/* A set that fails writes nothing: no nonce consumed, no clock, no verdict, no audit. */
static void test_check_atomic(void **state)
{
    struct fixture *f = *state;
    struct store *st = open_ok(f);
    struct seen s = { 0 };
    struct store_check c;
    json_t *j = NULL;

    assert_int_equal(store_nonce_add(st, "n1", 0, 1000), 0);
    raw_exec(f->path, "CREATE TRIGGER no_audit BEFORE INSERT ON audit "
                      "BEGIN SELECT RAISE(ABORT, 'audit full'); END;");
    c = a_check("n1", "c1", 500, "ek-a", &s);
    assert_true(store_check_commit(st, &c) < 0);
    assert_int_equal(s.calls, 1);
    assert_int_equal(used_of(f, "n1"), 0);
    assert_int_equal(clock_of(f, "vt-1"), -1);
    assert_int_equal(store_verdict_get(st, "c1", &j), -ENOENT);
    raw_exec(f->path, "DROP TRIGGER no_audit;");
    c = a_check("n1", "c1", 500, "ek-a", &s);
    assert_int_equal(store_check_commit(st, &c), 0);
    assert_int_equal(c.nonce.rc, 0); /* the failed check did not use it */
    assert_int_equal(used_of(f, "n1"), 1);
    store_close(st);
}

/* ---- group commit: N threads, each with its own handle ---- */

#define GC_THREADS 8
#define GC_CHECKS 30
#define GC_NONCES (GC_THREADS * GC_CHECKS / 2) /* each consumed by two threads */

struct gc_thread {
    const struct fixture *f;
    pthread_t tid;
    pthread_barrier_t *go;
    int me, ok, won, failed_ok;
};

static int decide_slow(struct store_check *chk)
{
    const struct timespec pause = { 0, 50 * 1000 * 1000 };

    nanosleep(&pause, NULL); /* holds the group open: the other threads queue meanwhile */
    chk->decide = NULL;
    return 0;
}

static void *gc_run(void *arg)
{
    struct gc_thread *t = arg;
    struct store *st = NULL;
    char nonce[16], id[16];

    if (store_open_url(t->f->url, &st) < 0)
        return NULL;
    pthread_barrier_wait(t->go);
    t->ok = 1;
    for (int i = 0; i < GC_CHECKS; i++) {
        /* thread k consumes nonces (k*C/2 + i) mod N: every nonce by exactly two threads */
        int n = (t->me * GC_CHECKS / 2 + i) % GC_NONCES, r;
        struct store_check c = { 0 };

        snprintf(nonce, sizeof(nonce), "g%03d", n);
        snprintf(id, sizeof(id), "t%d-%d", t->me, i);
        c.nonce.hex = nonce;
        c.nonce.now = 100;
        c.verdict.on = 1;
        c.verdict.id = id;
        c.verdict.vtpm_uuid = "u";
        c.verdict.verdict = "allow";
        c.verdict.t = 100;
        c.verdict.audit.kind = "evidence";
        if (t->me == 0 && i == 0)
            c.decide = decide_slow;
        if (i % 10 == 5)
            c.issue.hex = "g000"; /* exists: this set fails, alone, inside its group */
        r = store_check_commit(st, &c);
        if (i % 10 == 5) {
            t->failed_ok += r == -EEXIST;
            continue;
        }
        if (r != 0 || c.verdict.rc != 0 || (c.nonce.rc != 0 && c.nonce.rc != -EALREADY))
            t->ok = 0;
        t->won += c.nonce.rc == 0;
    }
    store_close(st);
    return NULL;
}

static void test_group_commit(void **state)
{
    struct fixture *f = *state;
    struct store *st = open_ok(f);
    struct gc_thread t[GC_THREADS];
    struct store_commit_stats stats;
    struct store_check dummy = { 0 };
    pthread_barrier_t go;
    char nonce[16];
    int won = 0, failed = 0, writes = 0;

    for (int n = 0; n < GC_NONCES; n++) {
        snprintf(nonce, sizeof(nonce), "g%03d", n);
        assert_int_equal(store_nonce_add(st, nonce, 0, 1000), 0);
    }
    /* st holds the committer for the whole test (the threads' handles come and go) */
    assert_int_equal(store_check_commit(st, &dummy), 0);
    pthread_barrier_init(&go, NULL, GC_THREADS);
    for (int i = 0; i < GC_THREADS; i++) {
        t[i] = (struct gc_thread){ .f = f, .go = &go, .me = i };
        assert_int_equal(pthread_create(&t[i].tid, NULL, gc_run, &t[i]), 0);
    }
    for (int i = 0; i < GC_THREADS; i++) {
        pthread_join(t[i].tid, NULL);
        assert_true(t[i].ok);
        won += t[i].won;
        failed += t[i].failed_ok;
        writes += GC_CHECKS - GC_CHECKS / 10;
    }
    pthread_barrier_destroy(&go);
    /* every nonce consumed by exactly one winner; the failing sets left nothing behind */
    /* a failing set's nonce slot is the other consumer's unfailing one: every nonce has won */
    assert_int_equal(won, GC_NONCES);
    assert_int_equal(raw_int(f->path, "SELECT sum(used) FROM nonces"), writes);
    assert_int_equal(failed, GC_THREADS * (GC_CHECKS / 10));
    assert_int_equal(store_count(st, "verdicts"), writes);
    assert_int_equal(store_count(st, "audit"), writes);
    store_commit_stats(st, &stats);
    assert_int_equal(stats.sets, 1 + GC_THREADS * GC_CHECKS);
    assert_int_equal(stats.failed_sets, GC_THREADS * (GC_CHECKS / 10));
    assert_true(stats.commits < stats.sets);
    assert_true(stats.max_group > 1);
    assert_true(stats.wait_ns > 0 && stats.commit_ns > 0);
    print_message("group commit: %llu sets in %llu commits (largest group %llu)\n",
                  (unsigned long long)stats.sets, (unsigned long long)stats.commits,
                  (unsigned long long)stats.max_group);
    store_close(st);
}

/* Admitted pods through the group commit: concurrent reviews' rows share commits; each pod
 * is there once with what its review recorded; a repeated review writes nothing new. */
#define POD_THREADS 6
#define POD_EACH 20

struct pod_thread {
    const struct fixture *f;
    pthread_t tid;
    pthread_barrier_t *go;
    int me, ok;
};

static void *pod_run(void *arg)
{
    struct pod_thread *t = arg;
    struct store *st = NULL;
    char uid[32], facts[64];

    if (store_open_url(t->f->url, &st) < 0)
        return NULL;
    pthread_barrier_wait(t->go);
    t->ok = 1;
    for (int i = 0; i < POD_EACH; i++) {
        struct store_check c = { 0 };

        snprintf(uid, sizeof(uid), "pod-%d-%d", t->me, i);
        snprintf(facts, sizeof(facts), "{\"n\":%d}", t->me * 100 + i);
        c.pod.uid = uid;
        c.pod.ns = "ns";
        c.pod.name = uid;
        c.pod.facts = facts;
        c.pod.policy = "p";
        c.pod.policy_version = 3;
        c.pod.t = 100 + i;
        if (store_check_commit(st, &c) != 0)
            t->ok = 0;
    }
    store_close(st);
    return NULL;
}

static void test_pods_grouped(void **state)
{
    struct fixture *f = *state;
    struct store *st = open_ok(f);
    struct pod_thread t[POD_THREADS];
    struct store_commit_stats stats;
    struct store_check dummy = { 0 };
    pthread_barrier_t go;
    json_t *row = NULL;

    assert_int_equal(store_check_commit(st, &dummy), 0); /* st holds the committer */
    pthread_barrier_init(&go, NULL, POD_THREADS);
    for (int i = 0; i < POD_THREADS; i++) {
        t[i] = (struct pod_thread){ .f = f, .go = &go, .me = i };
        assert_int_equal(pthread_create(&t[i].tid, NULL, pod_run, &t[i]), 0);
    }
    for (int i = 0; i < POD_THREADS; i++) {
        pthread_join(t[i].tid, NULL);
        assert_true(t[i].ok);
    }
    pthread_barrier_destroy(&go);
    assert_int_equal(raw_int(f->path, "SELECT count(*) FROM admitted_pods"), POD_THREADS * POD_EACH);
    assert_int_equal(store_pod_get(st, "pod-4-7", &row), 0);
    assert_string_equal(json_string_value(json_object_get(row, "facts")), "{\"n\":407}");
    assert_int_equal(json_integer_value(json_object_get(row, "policy_version")), 3);
    json_decref(row);
    store_commit_stats(st, &stats);
    assert_int_equal(stats.sets, 1 + POD_THREADS * POD_EACH);
    print_message("pods: %llu sets in %llu commits (largest group %llu)\n",
                  (unsigned long long)stats.sets, (unsigned long long)stats.commits,
                  (unsigned long long)stats.max_group);
    store_close(st);
}

/* Pending registrations older than the kept interval go with the expired nonces. */
static void test_purge_registrations(void **state)
{
    struct fixture *f = *state;
    struct store *st = open_ok(f);
    uint8_t b[4] = { 1, 2, 3, 4 };
    struct reg_row r = { .ak_pub = b, .ak_pub_len = 4, .ek_cert = b, .ek_cert_len = 4,
                         .credential = b, .credential_len = 4, .state = REG_PENDING };
    struct reg_row g;
    const struct { const char *id; int64_t created; int finish; } regs[] = {
        { "old-pending", 100, 0 }, { "old-active", 100, REG_ACTIVE },
        { "old-failed", 100, REG_FAILED }, { "new-pending", 950, 0 },
    };

    for (size_t i = 0; i < sizeof(regs) / sizeof(regs[0]); i++) {
        snprintf(r.id, sizeof(r.id), "%s", regs[i].id);
        snprintf(r.vtpm_uuid, sizeof(r.vtpm_uuid), "u%zu", i);
        r.created = regs[i].created;
        assert_int_equal(store_reg_add(st, &r), 0);
        if (regs[i].finish)
            assert_int_equal(store_reg_finish(st, regs[i].id, regs[i].finish), 0);
    }
    assert_int_equal(store_nonce_add(st, "old", 0, 200), 0);
    assert_int_equal(store_nonce_add(st, "new", 0, 990), 0);
    assert_int_equal(store_purge(st, 1000, 100), 2); /* old-pending, the nonce "old" */
    assert_int_equal(store_reg_get(st, "old-pending", &g), -ENOENT);
    assert_int_equal(store_reg_get(st, "old-active", &g), 0);
    store_reg_free(&g);
    assert_int_equal(store_reg_get(st, "new-pending", &g), 0);
    store_reg_free(&g);
    assert_int_equal(store_count(st, "registrations"), 3);
    assert_int_equal(store_count(st, "nonces"), 1);
    store_close(st);
}

/* Audit retention: the oldest rows go, up to the first row (by id) that is not old; a row written
 * late with an older time waits, a newer row never goes; an empty cut (nothing newer) takes all. */
static void test_purge_audit(void **state)
{
    struct fixture *f = *state;
    struct store *st = open_ok(f);
    const int64_t times[] = { 100, 200, 300, 150, 400 };

    for (size_t i = 0; i < sizeof(times) / sizeof(times[0]); i++)
        assert_int_equal(store_audit(st, times[i], "evidence", "c", "allow", NULL), 0);
    assert_int_equal(store_purge_audit(st, 50), 0);
    assert_int_equal(store_purge_audit(st, 250), 2); /* 100, 200; not the late 150 */
    assert_int_equal(store_count(st, "audit"), 3);
    assert_int_equal(store_purge_audit(st, 350), 2); /* 300, then the late 150 */
    assert_int_equal(store_count(st, "audit"), 1);
    assert_int_equal(store_purge_audit(st, 1000), 1); /* nothing newer: all of them */
    assert_int_equal(store_count(st, "audit"), 0);
    assert_int_equal(store_purge_audit(st, 1000), 0);
    store_close(st);
}

/* Per-workload policies: versions per name from 1, a deletion a version, the latest of each
 * name, a stamp that moves with every write, another handle seeing the same. */
static void test_policies(void **state)
{
    struct fixture *f = *state;
    struct store *st = open_ok(f), *other = open_ok(f);
    int64_t v = 0, s0 = -1, s1 = -1;
    json_t *j = NULL;

    assert_int_equal(store_policy_stamp(st, &s0), 0);
    assert_int_equal(s0, 0);
    assert_int_equal(store_policy_get(st, "web", 0, &j), -ENOENT);
    assert_int_equal(store_policy_put(st, "web", "{\"namespaces\":[\"a\"]}", "{}", "admin", 10,
                                      &v), 0);
    assert_int_equal(v, 1);
    assert_int_equal(store_policy_put(other, "web", "{}", "{\"x\":1}", "admin", 11, &v), 0);
    assert_int_equal(v, 2);
    assert_int_equal(store_policy_put(st, "db", "{}", "{}", "ops", 12, &v), 0);
    assert_int_equal(v, 1);
    assert_int_equal(store_policy_stamp(other, &s1), 0);
    assert_true(s1 > s0);
    assert_int_equal(store_policy_get(other, "web", 0, &j), 0);
    assert_int_equal(json_integer_value(json_object_get(j, "version")), 2);
    assert_json_str(j, "body", "{\"x\":1}");
    json_decref(j);
    assert_int_equal(store_policy_get(st, "web", 1, &j), 0);
    assert_json_str(j, "selector", "{\"namespaces\":[\"a\"]}");
    assert_json_str(j, "author", "admin");
    json_decref(j);
    assert_int_equal(store_policy_get(st, "web", 3, &j), -ENOENT);
    assert_int_equal(store_policy_delete(st, "web", "admin", 13, &v), 0);
    assert_int_equal(v, 3);
    assert_int_equal(store_policy_delete(st, "web", "admin", 14, &v), -ENOENT);
    assert_int_equal(store_policy_delete(st, "nope", "admin", 14, &v), -ENOENT);
    assert_int_equal(store_policy_latest(other, &j), 0);
    assert_int_equal(json_array_size(j), 2); /* db 1, web 3 (deleted) */
    assert_json_str(json_array_get(j, 0), "name", "db");
    assert_true(json_is_true(json_object_get(json_array_get(j, 1), "deleted")));
    json_decref(j);
    assert_int_equal(store_policy_versions(st, "web", &j), 0);
    assert_int_equal(json_array_size(j), 3);
    json_decref(j);
    /* put again after a delete: the numbering goes on */
    assert_int_equal(store_policy_put(st, "web", "{}", "{}", "admin", 15, &v), 0);
    assert_int_equal(v, 4);
    store_close(other);
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
        cmocka_unit_test_setup_teardown(test_check_pieces, setup, teardown),
        cmocka_unit_test_setup_teardown(test_check_atomic, setup, teardown),
        cmocka_unit_test_setup_teardown(test_check_retried, setup, teardown),
        cmocka_unit_test_setup_teardown(test_group_commit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pods_grouped, setup, teardown),
        cmocka_unit_test_setup_teardown(test_purge_registrations, setup, teardown),
        cmocka_unit_test_setup_teardown(test_purge_audit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_policies, setup, teardown),
        cmocka_unit_test_setup_teardown(test_manifests, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
