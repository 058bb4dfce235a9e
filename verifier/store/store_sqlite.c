/* SPDX-License-Identifier: BSD-3-Clause */
/* The store's SQLite backend: one database file, WAL, synchronous=FULL, versioned migrations. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sqlite3.h>

#include "log.h"
#include "store/store_ops.h"

/* Statements kept prepared on the handle (prepare_cached): parsing a statement again for
 * every use was most of an admitted pod's write (its upsert and the group's SAVEPOINT,
 * RELEASE, BEGIN and COMMIT). Keyed by the SQL text; one user at a time (in_use). */
#define SQ_CACHED 32

struct sq_store {
    struct store base; /* first: the front's handle */
    sqlite3 *db;
    struct {
        const char *sql; /* the caller's text it was prepared from (a constant) */
        sqlite3_stmt *s;
        int in_use;
    } cache[SQ_CACHED];
};

static sqlite3 *DB(struct store *st)
{
    return ((struct sq_store *)st)->db;
}

/* Migrations: step i takes the schema from version i to i + 1. Never edit a released step. */
static const char sq_step1[] =
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
    "  kind TEXT NOT NULL, subject TEXT NOT NULL, outcome TEXT NOT NULL, detail TEXT NOT NULL);";

static const char sq_step2[] =
    "ALTER TABLE verdicts ADD COLUMN node TEXT NOT NULL DEFAULT '';"
    "ALTER TABLE verdicts ADD COLUMN due INTEGER NOT NULL DEFAULT 0;"
    "CREATE INDEX verdicts_overdue ON verdicts (due) WHERE verdict = 'allow' AND due > 0;"
    "CREATE TABLE nodes (node TEXT PRIMARY KEY, host TEXT NOT NULL, verdict TEXT NOT NULL,"
    "  reasons TEXT NOT NULL, time INTEGER NOT NULL, due INTEGER NOT NULL DEFAULT 0);"
    "CREATE INDEX nodes_overdue ON nodes (due) WHERE verdict = 'allow' AND due > 0;"
    "CREATE TABLE notifications (id INTEGER PRIMARY KEY AUTOINCREMENT, body TEXT NOT NULL,"
    "  created INTEGER NOT NULL, next_try INTEGER NOT NULL,"
    "  attempts INTEGER NOT NULL DEFAULT 0, state INTEGER NOT NULL DEFAULT 0);"
    "CREATE INDEX notifications_pending ON notifications (next_try) WHERE state = 0;"
    "CREATE INDEX nonces_expires ON nonces (expires);";

/* Container ids bound to the first vTPM that proved itself under them (docs/verifier.md);
 * rows written before are unbound ('') until their next proven evidence. */
static const char sq_step3[] =
    "ALTER TABLE verdicts ADD COLUMN vtpm_ek TEXT NOT NULL DEFAULT '';"
    "ALTER TABLE verdicts ADD COLUMN reset_count INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE verdicts ADD COLUMN bound_until INTEGER NOT NULL DEFAULT 0;";

/* Node mode: a node's deny cascades to the allow verdicts of its containers (by node). */
static const char sq_step4[] = "CREATE INDEX verdicts_node ON verdicts (node);";

/* Per-workload policies (docs/verifier.md, "Per-workload policies"): every version kept;
 * a deletion is a version with deleted = 1. serial orders all writes (the reload stamp). */
static const char sq_step5[] =
    "CREATE TABLE policies (serial INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL,"
    "  version INTEGER NOT NULL, selector TEXT NOT NULL, body TEXT NOT NULL,"
    "  deleted INTEGER NOT NULL DEFAULT 0, time INTEGER NOT NULL, author TEXT NOT NULL,"
    "  UNIQUE (name, version));";

/* What admission let a pod be (admission-to-runtime binding, docs/verifier.md). */
static const char sq_step6[] =
    "CREATE TABLE admitted_pods (pod_uid TEXT PRIMARY KEY, namespace TEXT NOT NULL,"
    "  name TEXT NOT NULL, facts TEXT NOT NULL, policy TEXT NOT NULL,"
    "  policy_version INTEGER NOT NULL, time INTEGER NOT NULL);"
    "CREATE INDEX admitted_pods_time ON admitted_pods (time);";

/* Rootfs manifests by their SHA-256 (runtime integrity, docs/verifier.md "Manifest store"). */
static const char sq_step7[] =
    "CREATE TABLE manifests (digest TEXT PRIMARY KEY, body BLOB NOT NULL,"
    "  size INTEGER NOT NULL, created INTEGER NOT NULL, last_used INTEGER NOT NULL,"
    "  used INTEGER NOT NULL DEFAULT 0);"
    "CREATE INDEX manifests_last_used ON manifests (last_used);";

static const char *const sq_steps[STORE_SCHEMA_VERSION] = { sq_step1, sq_step2, sq_step3,
                                                            sq_step4, sq_step5, sq_step6,
                                                            sq_step7 };

static int exec(struct store *st, const char *sql)
{
    char *msg = NULL;

    if (sqlite3_exec(DB(st), sql, NULL, NULL, &msg) != SQLITE_OK) {
        LOG_ERROR("sqlite: %s", msg ? msg : "error");
        sqlite3_free(msg);
        return -EIO;
    }
    return 0;
}

static int prepare(struct store *st, const char *sql, sqlite3_stmt **s)
{
    if (sqlite3_prepare_v2(DB(st), sql, -1, s, NULL) != SQLITE_OK) {
        LOG_ERROR("sqlite prepare: %s", sqlite3_errmsg(DB(st)));
        return -EIO;
    }
    return 0;
}

/* A statement prepared once on this handle for sql (a text that does not change: looked up by
 * its address, the text compared only there), else a new one; either way finish() ends its
 * use. */
static int prepare_cached(struct store *st, const char *sql, sqlite3_stmt **s)
{
    struct sq_store *q = (struct sq_store *)st;
    int free_slot = -1;

    for (int i = 0; i < SQ_CACHED; i++) {
        if (!q->cache[i].s) {
            if (free_slot < 0)
                free_slot = i;
            continue;
        }
        if (q->cache[i].sql == sql && !q->cache[i].in_use &&
            !strcmp(sqlite3_sql(q->cache[i].s), sql)) {
            q->cache[i].in_use = 1;
            *s = q->cache[i].s;
            return 0;
        }
    }
    if (prepare(st, sql, s) < 0)
        return -EIO;
    if (free_slot >= 0) {
        q->cache[free_slot].sql = sql;
        q->cache[free_slot].s = *s;
        q->cache[free_slot].in_use = 1;
    }
    return 0;
}

/* The end of a statement's use: a cached one is reset for the next (its read transaction
 * ends, its bindings are cleared), any other finalized. */
static void finish(struct store *st, sqlite3_stmt *s)
{
    struct sq_store *q = (struct sq_store *)st;

    for (int i = 0; i < SQ_CACHED; i++)
        if (q->cache[i].s == s) {
            sqlite3_reset(s);
            sqlite3_clear_bindings(s);
            q->cache[i].in_use = 0;
            return;
        }
    sqlite3_finalize(s);
}

/* One statement from the cache, run to its end. */
static int exec_cached(struct store *st, const char *sql)
{
    sqlite3_stmt *s;
    int rc;

    if (prepare_cached(st, sql, &s) < 0)
        return -EIO;
    rc = sqlite3_step(s);
    if (rc != SQLITE_DONE && rc != SQLITE_ROW)
        LOG_ERROR("sqlite: %s: %s", sql, sqlite3_errmsg(DB(st)));
    finish(st, s);
    return rc == SQLITE_DONE || rc == SQLITE_ROW ? 0 : -EIO;
}

static int step_error(struct store *st, int rc)
{
    LOG_ERROR("sqlite: %s", sqlite3_errmsg(DB(st)));
    return rc == SQLITE_CONSTRAINT ? -EEXIST : rc == SQLITE_BUSY ? -EAGAIN : -EIO;
}

/* Runs a prepared statement that returns no rows, then finalizes it. */
static int step_done(struct store *st, sqlite3_stmt *s)
{
    int rc = sqlite3_step(s);

    if (rc != SQLITE_DONE)
        rc = step_error(st, rc); /* before the reset, which clears the error */
    finish(st, s);
    return rc == SQLITE_DONE ? 0 : rc;
}

/* As step_done for an UPDATE of one row: -ENOENT when it changed none. */
static int step_changed(struct store *st, sqlite3_stmt *s)
{
    int r = step_done(st, s);

    return r == 0 && sqlite3_changes(DB(st)) == 0 ? -ENOENT : r;
}

/* As step_done for a statement that returns one row when it wrote: -EPERM when it wrote none. */
static int step_returned(struct store *st, sqlite3_stmt *s)
{
    int rc = sqlite3_step(s);

    if (rc == SQLITE_ROW)
        rc = sqlite3_step(s);
    else if (rc == SQLITE_DONE)
        rc = -EPERM;
    if (rc != SQLITE_DONE && rc != -EPERM)
        rc = step_error(st, rc);
    finish(st, s);
    return rc == SQLITE_DONE ? 0 : rc;
}

static void bind_text(sqlite3_stmt *s, int i, const char *v)
{
    sqlite3_bind_text(s, i, v, -1, SQLITE_TRANSIENT);
}

static const char *col_text(sqlite3_stmt *s, int i)
{
    const unsigned char *t = sqlite3_column_text(s, i);

    return t ? (const char *)t : "";
}

/* Write transactions take the database lock at BEGIN so a read-then-write cannot interleave
 * with another process's. */
static int tx_begin(struct store *st)
{
    return exec_cached(st, "BEGIN IMMEDIATE");
}

static int tx_end(struct store *st, int r)
{
    if (r >= 0 && exec_cached(st, "COMMIT") == 0)
        return r;
    exec_cached(st, "ROLLBACK");
    return r < 0 ? r : -EIO;
}

static int sq_ready(struct store *st)
{
    (void)st;
    return 0;
}

static int sq_tx(struct store *st, enum store_tx op)
{
    static const char *const sql[] = {
        [TX_BEGIN] = "BEGIN IMMEDIATE", [TX_COMMIT] = "COMMIT", [TX_ROLLBACK] = "ROLLBACK",
        [TX_SAVEPOINT] = "SAVEPOINT s", [TX_RELEASE] = "RELEASE s",
        [TX_ROLLBACK_TO] = "ROLLBACK TO s",
    };

    return exec_cached(st, sql[op]);
}

static int schema_version(struct store *st)
{
    sqlite3_stmt *s;
    int v = -1;

    if (prepare(st, "PRAGMA user_version", &s) < 0)
        return -EIO;
    if (sqlite3_step(s) == SQLITE_ROW)
        v = sqlite3_column_int(s, 0);
    sqlite3_finalize(s);
    return v < 0 ? -EIO : v;
}

/* Applies the next step inside the open transaction; 1 when the schema is current. */
static int migrate_step(struct store *st)
{
    int v = schema_version(st);
    char sql[48];

    if (v < 0)
        return v;
    if (v > STORE_SCHEMA_VERSION) {
        LOG_ERROR("database schema %d is newer than this verifier's (%d)", v, STORE_SCHEMA_VERSION);
        return -EPROTO;
    }
    if (v == STORE_SCHEMA_VERSION)
        return 1;
    if (exec(st, sq_steps[v]) < 0)
        return -EIO;
    snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", v + 1);
    if (exec(st, sql) < 0)
        return -EIO;
    LOG_INFO("database schema upgraded to version %d", v + 1);
    return 0;
}

/* One transaction per step; the version is read again under the lock because another
 * process may have migrated meanwhile. */
static int migrate(struct store *st)
{
    int r;

    do {
        if (tx_begin(st) < 0)
            return -EIO;
        r = tx_end(st, migrate_step(st));
    } while (r == 0);
    return r < 0 ? r : 0;
}

/* Switching a new file to WAL needs the exclusive lock, and SQLite reports a busy file at
 * once instead of calling the busy handler: processes starting together retry here
 * (bounded: 500 x 10 ms). */
static int set_wal(struct store *st)
{
    const struct timespec pause = { 0, 10 * 1000 * 1000 };
    int rc = SQLITE_BUSY;

    for (int i = 0; i < 500 && (rc == SQLITE_BUSY || rc == SQLITE_LOCKED); i++) {
        rc = sqlite3_exec(DB(st), "PRAGMA journal_mode=WAL", NULL, NULL, NULL);
        if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED)
            nanosleep(&pause, NULL);
    }
    if (rc != SQLITE_OK) {
        LOG_ERROR("sqlite: %s", sqlite3_errmsg(DB(st)));
        return -EIO;
    }
    return exec(st, "PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;");
}

static void sq_close(struct store *st)
{
    struct sq_store *q = (struct sq_store *)st;

    for (int i = 0; i < SQ_CACHED; i++)
        if (q->cache[i].s)
            sqlite3_finalize(q->cache[i].s);
    sqlite3_close(DB(st));
    free(st);
}

static int sq_nonce_add(struct store *st, const char *hex, int64_t issued, int64_t expires)
{
    sqlite3_stmt *s;

    if (prepare_cached(st, "INSERT INTO nonces (nonce, issued, expires) VALUES (?, ?, ?)", &s) < 0)
        return -EIO;
    bind_text(s, 1, hex);
    sqlite3_bind_int64(s, 2, issued);
    sqlite3_bind_int64(s, 3, expires);
    return step_done(st, s);
}

/* One UPDATE ... RETURNING: the increment and the read are one atomic statement. */
static int sq_nonce_consume(struct store *st, const char *hex, int64_t now)
{
    sqlite3_stmt *s;
    int64_t expires, used;
    int rc;

    if (prepare_cached(st, "UPDATE nonces SET used = used + 1 WHERE nonce = ? "
                           "RETURNING expires, used", &s) < 0)
        return -EIO;
    bind_text(s, 1, hex);
    rc = sqlite3_step(s);
    if (rc != SQLITE_ROW) {
        finish(st, s);
        return rc == SQLITE_DONE ? -ENOENT : step_error(st, rc);
    }
    expires = sqlite3_column_int64(s, 0);
    used = sqlite3_column_int64(s, 1);
    rc = sqlite3_step(s);
    finish(st, s);
    if (rc != SQLITE_DONE)
        return step_error(st, rc);
    if (used > 1)
        return -EALREADY;
    return now > expires ? -ETIME : 0;
}

static int sq_reg_add(struct store *st, const struct reg_row *r)
{
    sqlite3_stmt *s;

    if (prepare(st, "INSERT INTO registrations (id, vtpm_uuid, ak_pub, ek_cert, credential, "
                    "created, state) VALUES (?, ?, ?, ?, ?, ?, ?)", &s) < 0)
        return -EIO;
    bind_text(s, 1, r->id);
    bind_text(s, 2, r->vtpm_uuid);
    sqlite3_bind_blob(s, 3, r->ak_pub, (int)r->ak_pub_len, SQLITE_TRANSIENT);
    sqlite3_bind_blob(s, 4, r->ek_cert, (int)r->ek_cert_len, SQLITE_TRANSIENT);
    sqlite3_bind_blob(s, 5, r->credential, (int)r->credential_len, SQLITE_TRANSIENT);
    sqlite3_bind_int64(s, 6, r->created);
    sqlite3_bind_int(s, 7, r->state);
    return step_done(st, s);
}

static int col_blob(sqlite3_stmt *s, int i, uint8_t **p, size_t *len)
{
    const void *b = sqlite3_column_blob(s, i);
    int n = sqlite3_column_bytes(s, i);

    *p = NULL;
    *len = 0;
    if (!b || n <= 0)
        return 0;
    if (!(*p = malloc((size_t)n)))
        return -ENOMEM;
    memcpy(*p, b, (size_t)n);
    *len = (size_t)n;
    return 0;
}

static int reg_from_row(sqlite3_stmt *s, struct reg_row *r)
{
    snprintf(r->vtpm_uuid, sizeof(r->vtpm_uuid), "%s", col_text(s, 0));
    r->created = sqlite3_column_int64(s, 4);
    r->state = sqlite3_column_int(s, 5);
    if (col_blob(s, 1, &r->ak_pub, &r->ak_pub_len) < 0 ||
        col_blob(s, 2, &r->ek_cert, &r->ek_cert_len) < 0 ||
        col_blob(s, 3, &r->credential, &r->credential_len) < 0)
        return -ENOMEM;
    return 0;
}

static int sq_reg_get(struct store *st, const char *id, struct reg_row *r)
{
    sqlite3_stmt *s;
    int rc;

    if (prepare(st, "SELECT vtpm_uuid, ak_pub, ek_cert, credential, created, state "
                    "FROM registrations WHERE id = ?", &s) < 0)
        return -EIO;
    bind_text(s, 1, id);
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
        rc = reg_from_row(s, r);
    else
        rc = rc == SQLITE_DONE ? -ENOENT : step_error(st, rc);
    sqlite3_finalize(s);
    return rc;
}

static int reg_exists(struct store *st, const char *id)
{
    sqlite3_stmt *s;
    int rc;

    if (prepare(st, "SELECT 1 FROM registrations WHERE id = ?", &s) < 0)
        return -EIO;
    bind_text(s, 1, id);
    rc = sqlite3_step(s);
    sqlite3_finalize(s);
    return rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? -ENOENT : step_error(st, rc);
}

static int sq_reg_finish(struct store *st, const char *id, int state)
{
    sqlite3_stmt *s;
    int r;

    if (prepare(st, "UPDATE registrations SET state = ?, credential = NULL "
                    "WHERE id = ? AND state = 0", &s) < 0)
        return -EIO;
    sqlite3_bind_int(s, 1, state);
    bind_text(s, 2, id);
    r = step_changed(st, s);
    if (r != -ENOENT)
        return r;
    r = reg_exists(st, id);
    return r == 0 ? -EALREADY : r;
}

static int sq_reg_active(struct store *st, const char *subject, const uint8_t *ak, size_t len)
{
    sqlite3_stmt *s;
    int rc;

    if (prepare_cached(st, "SELECT 1 FROM registrations WHERE vtpm_uuid = ? AND ak_pub = ? "
                           "AND state = ? LIMIT 1", &s) < 0)
        return -EIO;
    bind_text(s, 1, subject);
    sqlite3_bind_blob(s, 2, ak, (int)len, SQLITE_TRANSIENT);
    sqlite3_bind_int(s, 3, REG_ACTIVE);
    rc = sqlite3_step(s);
    finish(st, s);
    if (rc == SQLITE_ROW)
        return 0;
    return rc == SQLITE_DONE ? -ENOENT : step_error(st, rc);
}

/* One upsert whose update only happens when the stored triple is not greater: the compare
 * and the store cannot be split by another writer. */
static int sq_clock_advance(struct store *st, const char *uuid, const int64_t v[3])
{
    sqlite3_stmt *s;
    int rc;

    if (prepare_cached(st, "INSERT INTO tpm_clock (vtpm_uuid, reset_count, restart_count, clock) "
                           "VALUES (?, ?, ?, ?) ON CONFLICT (vtpm_uuid) DO UPDATE SET "
                           "reset_count = excluded.reset_count, "
                           "restart_count = excluded.restart_count, "
                           "clock = excluded.clock WHERE (reset_count, restart_count, clock) <= "
                           "(excluded.reset_count, excluded.restart_count, excluded.clock) "
                           "RETURNING 1", &s) < 0)
        return -EIO;
    bind_text(s, 1, uuid);
    for (int i = 0; i < 3; i++)
        sqlite3_bind_int64(s, 2 + i, v[i]);
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
        rc = sqlite3_step(s);
    else if (rc == SQLITE_DONE)
        rc = -ERANGE;
    finish(st, s);
    return rc == SQLITE_DONE ? 0 : rc == -ERANGE ? rc : step_error(st, rc);
}

/* What differs between the two verdict tables; parameters ?1 id, ?2 vTPM/host, ?3 node,
 * ?4 verdict, ?5 reasons, ?6 time, ?7 due, and for bound rows (containers) ?8 vtpm_ek,
 * ?9 reset_count, ?10 bound_until: their put returns a row only when it wrote one. */
struct kind_sql {
    const char *kind, *old, *put, *get, *overdue;
    int bound;
};

/* The WHERE of the upsert is the binding rule of store.h: the compare and the write are one
 * statement under the database lock. */
static const struct kind_sql sq_container = {
    "container", "SELECT verdict FROM verdicts WHERE container_id = ?1",
    "INSERT INTO verdicts (container_id, vtpm_uuid, node, verdict, reasons, time, due, vtpm_ek,"
    " reset_count, bound_until) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"
    " ON CONFLICT (container_id) DO UPDATE SET vtpm_uuid = excluded.vtpm_uuid,"
    " node = excluded.node, verdict = excluded.verdict, reasons = excluded.reasons,"
    " time = excluded.time, due = excluded.due, reset_count = CASE WHEN vtpm_ek ="
    " excluded.vtpm_ek THEN reset_count ELSE excluded.reset_count END,"
    " vtpm_ek = excluded.vtpm_ek, bound_until = excluded.bound_until"
    " WHERE vtpm_ek = '' OR vtpm_ek = excluded.vtpm_ek OR"
    " (bound_until > 0 AND bound_until <= excluded.time) RETURNING 1",
    "SELECT vtpm_uuid, verdict, reasons, time, due, node, vtpm_ek, reset_count, bound_until"
    " FROM verdicts WHERE container_id = ?1",
    "UPDATE verdicts SET verdict = 'deny', reasons = ?3, time = ?1 WHERE container_id IN "
    "(SELECT container_id FROM verdicts WHERE verdict = 'allow' AND due > 0 AND due <= ?1 "
    "ORDER BY due LIMIT ?2) RETURNING container_id",
    1,
};

static const struct kind_sql sq_node = {
    "node", "SELECT verdict FROM nodes WHERE node = ?1",
    "INSERT OR REPLACE INTO nodes (node, host, verdict, reasons, time, due)"
    " VALUES (?1, ?2, ?4, ?5, ?6, ?7)",
    "SELECT host, verdict, reasons, time, due FROM nodes WHERE node = ?1",
    "UPDATE nodes SET verdict = 'deny', reasons = ?3, time = ?1 WHERE node IN "
    "(SELECT node FROM nodes WHERE verdict = 'allow' AND due > 0 AND due <= ?1 "
    "ORDER BY due LIMIT ?2) RETURNING node",
    0,
};

static const struct kind_sql *const sq_kinds[] = { [KIND_CONTAINER] = &sq_container,
                                                    [KIND_NODE] = &sq_node };

/* The stored verdict of the row into old ("" when there is none). */
static int sq_old_verdict(struct store *st, enum store_kind kind, const char *id, char *old,
                          size_t size)
{
    const struct kind_sql *k = sq_kinds[kind];
    sqlite3_stmt *s;
    int rc;

    old[0] = 0;
    if (prepare_cached(st, k->old, &s) < 0)
        return -EIO;
    bind_text(s, 1, id);
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
        snprintf(old, size, "%s", col_text(s, 0));
    finish(st, s);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : step_error(st, rc);
}

static int sq_upsert(struct store *st, enum store_kind kind, const struct verdict_row *v)
{
    const struct kind_sql *k = sq_kinds[kind];
    sqlite3_stmt *s;

    if (prepare_cached(st, k->put, &s) < 0)
        return -EIO;
    bind_text(s, 1, v->id);
    bind_text(s, 2, v->subject);
    bind_text(s, 3, v->node);
    bind_text(s, 4, v->verdict);
    bind_text(s, 5, v->reasons);
    sqlite3_bind_int64(s, 6, v->t);
    sqlite3_bind_int64(s, 7, v->due);
    if (!k->bound)
        return step_done(st, s);
    bind_text(s, 8, v->b->vtpm_ek);
    sqlite3_bind_int64(s, 9, v->b->reset_count);
    sqlite3_bind_int64(s, 10, v->b->bound_until);
    return step_returned(st, s);
}

static int sq_notify_add(struct store *st, const char *body, int64_t now)
{
    sqlite3_stmt *s;

    if (prepare(st, "INSERT INTO notifications (body, created, next_try) VALUES (?, ?, ?)",
                &s) < 0)
        return -EIO;
    bind_text(s, 1, body);
    sqlite3_bind_int64(s, 2, now);
    sqlite3_bind_int64(s, 3, now);
    return step_done(st, s);
}

/* The node's row for a gated put (store.h, store_node_gate); BEGIN IMMEDIATE holds the
 * database lock, so no node write lands between this read and the container's write. */
static int sq_node_row(struct store *st, const char *node, struct store_node_row *row)
{
    sqlite3_stmt *s;
    int rc;

    memset(row, 0, sizeof(*row));
    if (prepare_cached(st, "SELECT host, verdict, reasons, time, due FROM nodes WHERE node = ?1",
                       &s) < 0)
        return -EIO;
    bind_text(s, 1, node);
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        row->found = 1;
        snprintf(row->host, sizeof(row->host), "%s", col_text(s, 0));
        snprintf(row->verdict, sizeof(row->verdict), "%s", col_text(s, 1));
        snprintf(row->reasons, sizeof(row->reasons), "%s", col_text(s, 2));
        row->time = sqlite3_column_int64(s, 3);
        row->due = sqlite3_column_int64(s, 4);
    }
    finish(st, s);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : step_error(st, rc);
}

/* A node's deny: its containers' allows become deny (the front queues their notifications). */
static int sq_deny_node_containers(struct store *st, const char *node, const char *reasons,
                                   int64_t t, json_t *ids)
{
    sqlite3_stmt *s;
    int rc, r = 0;

    if (prepare(st, "UPDATE verdicts SET verdict = 'deny', reasons = ?2, time = ?3 "
                    "WHERE node = ?1 AND verdict = 'allow' RETURNING container_id", &s) < 0)
        return -EIO;
    bind_text(s, 1, node);
    bind_text(s, 2, reasons);
    sqlite3_bind_int64(s, 3, t);
    while ((rc = sqlite3_step(s)) == SQLITE_ROW)
        if (json_array_append_new(ids, json_string(col_text(s, 0))) < 0)
            r = -ENOMEM;
    sqlite3_finalize(s);
    return r == 0 && rc != SQLITE_DONE ? step_error(st, rc) : r;
}

static json_t *verdict_json(sqlite3_stmt *s, const char *id)
{
    return json_pack("{s:s, s:s, s:s, s:s, s:o, s:I, s:I, s:s, s:I, s:I}", "container_id", id,
                     "vtpm_uuid", col_text(s, 0), "node", col_text(s, 5), "verdict",
                     col_text(s, 1), "reasons", store_reasons(col_text(s, 2)), "time",
                     (json_int_t)sqlite3_column_int64(s, 3), "due",
                     (json_int_t)sqlite3_column_int64(s, 4), "vtpm_ek", col_text(s, 6),
                     "reset_count", (json_int_t)sqlite3_column_int64(s, 7), "bound_until",
                     (json_int_t)sqlite3_column_int64(s, 8));
}

static json_t *node_json(sqlite3_stmt *s, const char *id)
{
    return json_pack("{s:s, s:s, s:s, s:o, s:I, s:I}", "node", id, "host", col_text(s, 0),
                     "verdict", col_text(s, 1), "reasons", store_reasons(col_text(s, 2)),
                     "time", (json_int_t)sqlite3_column_int64(s, 3), "due",
                     (json_int_t)sqlite3_column_int64(s, 4));
}

static int get_verdict(struct store *st, const char *sql, const char *id,
                       json_t *(*to_json)(sqlite3_stmt *, const char *), json_t **out)
{
    sqlite3_stmt *s;
    int rc;

    if (prepare(st, sql, &s) < 0)
        return -EIO;
    bind_text(s, 1, id);
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        *out = to_json(s, id);
        rc = *out ? 0 : -ENOMEM;
    } else {
        rc = rc == SQLITE_DONE ? -ENOENT : step_error(st, rc);
    }
    sqlite3_finalize(s);
    return rc;
}

static int sq_verdict_get(struct store *st, const char *container_id, json_t **out)
{
    return get_verdict(st, sq_container.get, container_id, verdict_json, out);
}

static int sq_verdict_binding(struct store *st, const char *container_id,
                              struct verdict_binding *b)
{
    sqlite3_stmt *s;
    int rc;

    if (prepare_cached(st, "SELECT vtpm_ek, reset_count, bound_until FROM verdicts "
                           "WHERE container_id = ?1", &s) < 0)
        return -EIO;
    bind_text(s, 1, container_id);
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        snprintf(b->vtpm_ek, sizeof(b->vtpm_ek), "%s", col_text(s, 0));
        b->reset_count = sqlite3_column_int64(s, 1);
        b->bound_until = sqlite3_column_int64(s, 2);
        rc = 0;
    } else {
        rc = rc == SQLITE_DONE ? -ENOENT : step_error(st, rc);
    }
    finish(st, s);
    return rc;
}

static int sq_node_get(struct store *st, const char *node, json_t **out)
{
    return get_verdict(st, sq_node.get, node, node_json, out);
}

/* Flips overdue rows of one table (as many as out still has room for) into out. */
static int sq_flip_overdue(struct store *st, enum store_kind kind, int64_t now,
                           struct store_revoked *out, size_t max, size_t *n)
{
    const struct kind_sql *k = sq_kinds[kind];
    sqlite3_stmt *s;
    int rc;

    if (prepare(st, k->overdue, &s) < 0)
        return -EIO;
    sqlite3_bind_int64(s, 1, now);
    sqlite3_bind_int64(s, 2, (int64_t)(max - *n));
    bind_text(s, 3, STORE_REASON_MISSED);
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        if (*n == max)
            continue; /* the LIMIT prevents it; never write past out */
        snprintf(out[*n].kind, sizeof(out[*n].kind), "%s", k->kind);
        snprintf(out[*n].id, sizeof(out[*n].id), "%s", col_text(s, 0));
        out[*n].cascaded = 0;
        (*n)++;
    }
    sqlite3_finalize(s);
    return rc == SQLITE_DONE ? 0 : step_error(st, rc);
}

static int claimed_row(sqlite3_stmt *s, struct store_notification *o)
{
    o->id = sqlite3_column_int64(s, 0);
    o->attempts = sqlite3_column_int(s, 2);
    o->body = strdup(col_text(s, 1));
    return o->body ? 0 : -ENOMEM;
}

/* One UPDATE ... RETURNING under the database lock: two claimers never get the same row. */
static int sq_notify_claim(struct store *st, int64_t now, int64_t lease_until,
                           struct store_notification *out, size_t max, size_t *n)
{
    sqlite3_stmt *s;
    int rc, r = 0;

    if (prepare(st, "UPDATE notifications SET next_try = ?2 WHERE id IN (SELECT id FROM "
                    "notifications WHERE state = 0 AND next_try <= ?1 ORDER BY id LIMIT ?3) "
                    "RETURNING id, body, attempts", &s) < 0)
        return -EIO;
    sqlite3_bind_int64(s, 1, now);
    sqlite3_bind_int64(s, 2, lease_until);
    sqlite3_bind_int64(s, 3, (int64_t)max);
    while ((rc = sqlite3_step(s)) == SQLITE_ROW)
        if (r == 0 && *n < max && (r = claimed_row(s, &out[*n])) == 0)
            (*n)++;
    if (r == 0 && rc != SQLITE_DONE)
        r = step_error(st, rc);
    sqlite3_finalize(s);
    for (size_t i = 0; r < 0 && i < *n; i++)
        store_notification_free(&out[i]);
    if (r < 0)
        *n = 0;
    return r;
}

static int sq_notify_set(struct store *st, int64_t id, int state, int attempts, int64_t next_try)
{
    sqlite3_stmt *s;

    if (prepare(st, state == NOTIFY_PENDING
                        ? "UPDATE notifications SET attempts = ?2, next_try = ?3 "
                          "WHERE id = ?1 AND state = 0"
                        : "UPDATE notifications SET state = ?4 WHERE id = ?1 AND state = 0",
                &s) < 0)
        return -EIO;
    sqlite3_bind_int64(s, 1, id);
    sqlite3_bind_int(s, 2, attempts);
    sqlite3_bind_int64(s, 3, next_try);
    sqlite3_bind_int(s, 4, state);
    return step_changed(st, s);
}

static int64_t sq_purge_one(struct store *st, int what, int64_t before)
{
    static const char *const sql[] = {
        "DELETE FROM nonces WHERE expires < ?1",
        "DELETE FROM notifications WHERE state <> 0 AND created < ?1",
        "DELETE FROM registrations WHERE state = 0 AND created < ?1",
        "DELETE FROM audit WHERE id < COALESCE((SELECT id FROM audit WHERE time >= ?1 "
        "ORDER BY id LIMIT 1), (SELECT max(id) + 1 FROM audit))",
    };
    sqlite3_stmt *s;
    int r;

    if (prepare(st, sql[what], &s) < 0)
        return -EIO;
    sqlite3_bind_int64(s, 1, before);
    r = step_done(st, s);
    return r < 0 ? r : sqlite3_changes64(DB(st));
}

static int sq_audit(struct store *st, int64_t t, const char *kind, const char *subject,
                    const char *outcome, const char *detail)
{
    sqlite3_stmt *s;

    if (prepare_cached(st, "INSERT INTO audit (time, kind, subject, outcome, detail) "
                           "VALUES (?, ?, ?, ?, ?)", &s) < 0)
        return -EIO;
    sqlite3_bind_int64(s, 1, t);
    bind_text(s, 2, kind);
    bind_text(s, 3, subject);
    bind_text(s, 4, outcome);
    bind_text(s, 5, detail);
    return step_done(st, s);
}

/* table is one of the front's known names, never caller text. */
static int64_t sq_count(struct store *st, const char *table)
{
    char sql[96];
    sqlite3_stmt *s;
    int64_t n = -1;

    snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s", table);
    if (prepare(st, sql, &s) < 0)
        return -1;
    if (sqlite3_step(s) == SQLITE_ROW)
        n = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    return n;
}

static int sq_rows(struct store *st, const char *sql, const struct store_param *p, size_t n,
                   json_t **out)
{
    sqlite3_stmt *s;
    json_t *rows = json_array(), *row;
    int rc = SQLITE_NOMEM;

    if (!rows)
        return -ENOMEM;
    if (prepare_cached(st, sql, &s) < 0) {
        json_decref(rows);
        return -EIO;
    }
    for (size_t i = 0; i < n; i++) {
        if (p[i].text)
            bind_text(s, (int)i + 1, p[i].text);
        else
            sqlite3_bind_int64(s, (int)i + 1, p[i].i);
    }
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        int nc = sqlite3_column_count(s);
        if (!(row = json_array()) || json_array_append_new(rows, row) < 0) {
            rc = SQLITE_NOMEM;
            break;
        }
        for (int c = 0; c < nc; c++)
            json_array_append_new(row, sqlite3_column_type(s, c) == SQLITE_INTEGER
                                           ? json_integer(sqlite3_column_int64(s, c))
                                           : json_string(col_text(s, c)));
    }
    if (rc != SQLITE_DONE && rc != SQLITE_NOMEM)
        rc = step_error(st, rc); /* before the reset */
    finish(st, s);
    if (rc != SQLITE_DONE) {
        json_decref(rows);
        return rc == SQLITE_NOMEM ? -ENOMEM : rc;
    }
    *out = rows;
    return 0;
}

static int sq_manifest_put(struct store *st, const char *hex, const uint8_t *b, size_t len,
                           int64_t now)
{
    sqlite3_stmt *s;

    if (len > INT32_MAX || prepare(st, "INSERT INTO manifests (digest, body, size, created, "
                                       "last_used) VALUES (?, ?, ?, ?, ?) "
                                       "ON CONFLICT (digest) DO NOTHING", &s) < 0)
        return -EIO;
    bind_text(s, 1, hex);
    sqlite3_bind_blob(s, 2, b, (int)len, SQLITE_STATIC);
    sqlite3_bind_int64(s, 3, (int64_t)len);
    sqlite3_bind_int64(s, 4, now);
    sqlite3_bind_int64(s, 5, now);
    return step_done(st, s);
}

static int sq_manifest_get(struct store *st, const char *hex, uint8_t **b, size_t *len)
{
    sqlite3_stmt *s;
    int rc;

    if (prepare(st, "SELECT body FROM manifests WHERE digest = ?", &s) < 0)
        return -EIO;
    bind_text(s, 1, hex);
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
        rc = col_blob(s, 0, b, len) < 0 ? -ENOMEM : *len ? 0 : -ENOENT;
    else
        rc = rc == SQLITE_DONE ? -ENOENT : step_error(st, rc);
    sqlite3_finalize(s);
    return rc;
}

static const struct store_ops sq_ops = {
    .name = "sqlite",
    .group_commit = 1,
    .close = sq_close,
    .ready = sq_ready,
    .tx = sq_tx,
    .nonce_add = sq_nonce_add,
    .nonce_consume = sq_nonce_consume,
    .reg_add = sq_reg_add,
    .reg_get = sq_reg_get,
    .reg_finish = sq_reg_finish,
    .reg_active = sq_reg_active,
    .clock_advance = sq_clock_advance,
    .old_verdict = sq_old_verdict,
    .upsert = sq_upsert,
    .node_row = sq_node_row,
    .deny_node_containers = sq_deny_node_containers,
    .flip_overdue = sq_flip_overdue,
    .notify_add = sq_notify_add,
    .verdict_get = sq_verdict_get,
    .verdict_binding = sq_verdict_binding,
    .node_get = sq_node_get,
    .notify_claim = sq_notify_claim,
    .notify_set = sq_notify_set,
    .purge_one = sq_purge_one,
    .audit = sq_audit,
    .count = sq_count,
    .rows = sq_rows,
    .manifest_put = sq_manifest_put,
    .manifest_get = sq_manifest_get,
};

/* SQLite's own busy handler (sqlite3_busy_timeout) sleeps up to 100 ms between tries, longer
 * than most write locks here are held (one group commit: a few ms), which made the p99 of
 * threads that met the lock 2-4x worse. This one tries again after 100 us, doubling up to
 * 5 ms, and gives up after 5 s in all (SQLITE_BUSY, as before). */
#define BUSY_LIMIT_US 5000000L
static int busy_wait(void *arg, int n)
{
    long slept = 0, step = 100;

    (void)arg;
    for (int i = 0; i < n; i++) { /* what the tries before this one slept */
        slept += step;
        step = step < 5000 ? step * 2 : 5000;
    }
    if (slept >= BUSY_LIMIT_US)
        return 0;
    nanosleep(&(struct timespec){ 0, step * 1000L }, NULL);
    return 1;
}

int store_sqlite_open(const char *path, struct store **out)
{
    struct sq_store *q = calloc(1, sizeof(*q));
    int r = -ENOMEM;

    if (!q)
        return r;
    q->base.ops = &sq_ops;
    if (sqlite3_open_v2(path, &q->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
                        SQLITE_OPEN_FULLMUTEX, NULL) != SQLITE_OK) {
        LOG_ERROR("cannot open database %s: %s", path, q->db ? sqlite3_errmsg(q->db) : "");
        r = -EIO;
        goto fail;
    }
    sqlite3_busy_handler(q->db, busy_wait, NULL);
    r = set_wal(&q->base);
    if (r == 0)
        r = migrate(&q->base);
    if (r == 0) {
        *out = &q->base;
        return 0;
    }
fail:
    sq_close(&q->base);
    return r;
}
