/* SPDX-License-Identifier: BSD-3-Clause */
/* The verifier's durable state in SQLite: nonces, registrations, TPM clocks, verdicts, audit. */
#include "store.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "log.h"
#include "secmem.h"

struct store {
    sqlite3 *db;
};

static const char schema_v1[] =
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

static int exec(struct store *st, const char *sql)
{
    char *msg = NULL;

    if (sqlite3_exec(st->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        LOG_ERROR("sqlite: %s", msg ? msg : "error");
        sqlite3_free(msg);
        return -EIO;
    }
    return 0;
}

static int prepare(struct store *st, const char *sql, sqlite3_stmt **s)
{
    if (sqlite3_prepare_v2(st->db, sql, -1, s, NULL) != SQLITE_OK) {
        LOG_ERROR("sqlite prepare: %s", sqlite3_errmsg(st->db));
        return -EIO;
    }
    return 0;
}

/* Runs a prepared statement that returns no rows, then finalizes it. */
static int step_done(struct store *st, sqlite3_stmt *s)
{
    int rc = sqlite3_step(s);

    sqlite3_finalize(s);
    if (rc != SQLITE_DONE) {
        LOG_ERROR("sqlite: %s", sqlite3_errmsg(st->db));
        return rc == SQLITE_CONSTRAINT ? -EEXIST : -EIO;
    }
    return 0;
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
    return v;
}

/* Upgrades step by step inside one transaction; only version 1 exists so far. */
static int migrate(struct store *st)
{
    int v = schema_version(st), r;

    if (v < 0)
        return -EIO;
    if (v > STORE_SCHEMA_VERSION) {
        LOG_ERROR("database schema %d is newer than this verifier's (%d)", v, STORE_SCHEMA_VERSION);
        return -EPROTO;
    }
    if (v == STORE_SCHEMA_VERSION)
        return 0;
    if (exec(st, "BEGIN IMMEDIATE") < 0)
        return -EIO;
    r = exec(st, schema_v1);
    if (r == 0)
        return exec(st, "COMMIT");
    exec(st, "ROLLBACK");
    return r;
}

int store_open(const char *path, struct store **out)
{
    struct store *st = calloc(1, sizeof(*st));
    int r = -ENOMEM;

    if (!st)
        return r;
    if (sqlite3_open_v2(path, &st->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
                        SQLITE_OPEN_FULLMUTEX, NULL) != SQLITE_OK) {
        LOG_ERROR("cannot open database %s: %s", path, st->db ? sqlite3_errmsg(st->db) : "");
        r = -EIO;
        goto fail;
    }
    sqlite3_busy_timeout(st->db, 5000);
    r = exec(st, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;");
    if (r == 0)
        r = migrate(st);
    if (r == 0) {
        *out = st;
        return 0;
    }
fail:
    store_close(st);
    return r;
}

void store_close(struct store *st)
{
    if (!st)
        return;
    sqlite3_close(st->db);
    free(st);
}

int store_nonce_add(struct store *st, const char *hex, int64_t issued, int64_t expires)
{
    sqlite3_stmt *s;

    if (prepare(st, "INSERT INTO nonces (nonce, issued, expires) VALUES (?, ?, ?)", &s) < 0)
        return -EIO;
    sqlite3_bind_text(s, 1, hex, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(s, 2, issued);
    sqlite3_bind_int64(s, 3, expires);
    return step_done(st, s);
}

int store_nonce_consume(struct store *st, const char *hex, int64_t now)
{
    sqlite3_stmt *s;
    int64_t expires;
    int used, rc;

    if (prepare(st, "UPDATE nonces SET used = used + 1 WHERE nonce = ? "
                    "RETURNING expires, used", &s) < 0)
        return -EIO;
    sqlite3_bind_text(s, 1, hex, -1, SQLITE_TRANSIENT);
    rc = sqlite3_step(s);
    if (rc != SQLITE_ROW) {
        sqlite3_finalize(s);
        return rc == SQLITE_DONE ? -ENOENT : -EIO;
    }
    expires = sqlite3_column_int64(s, 0);
    used = sqlite3_column_int(s, 1);
    sqlite3_step(s);
    sqlite3_finalize(s);
    if (used > 1)
        return -EALREADY;
    return now > expires ? -ETIME : 0;
}

int store_reg_add(struct store *st, const struct reg_row *r)
{
    sqlite3_stmt *s;

    if (prepare(st, "INSERT INTO registrations (id, vtpm_uuid, ak_pub, ek_cert, credential, "
                    "created, state) VALUES (?, ?, ?, ?, ?, ?, ?)", &s) < 0)
        return -EIO;
    sqlite3_bind_text(s, 1, r->id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(s, 2, r->vtpm_uuid, -1, SQLITE_TRANSIENT);
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
    const unsigned char *u = sqlite3_column_text(s, 0);

    snprintf(r->vtpm_uuid, sizeof(r->vtpm_uuid), "%s", u ? (const char *)u : "");
    r->created = sqlite3_column_int64(s, 4);
    r->state = sqlite3_column_int(s, 5);
    if (col_blob(s, 1, &r->ak_pub, &r->ak_pub_len) < 0 ||
        col_blob(s, 2, &r->ek_cert, &r->ek_cert_len) < 0 ||
        col_blob(s, 3, &r->credential, &r->credential_len) < 0)
        return -ENOMEM;
    return 0;
}

int store_reg_get(struct store *st, const char *id, struct reg_row *r)
{
    sqlite3_stmt *s;
    int rc;

    memset(r, 0, sizeof(*r));
    if (prepare(st, "SELECT vtpm_uuid, ak_pub, ek_cert, credential, created, state "
                    "FROM registrations WHERE id = ?", &s) < 0)
        return -EIO;
    sqlite3_bind_text(s, 1, id, -1, SQLITE_TRANSIENT);
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        snprintf(r->id, sizeof(r->id), "%s", id);
        rc = reg_from_row(s, r);
    } else {
        rc = rc == SQLITE_DONE ? -ENOENT : -EIO;
    }
    sqlite3_finalize(s);
    if (rc < 0)
        store_reg_free(r);
    return rc;
}

int store_reg_finish(struct store *st, const char *id, int state)
{
    sqlite3_stmt *s;

    if (prepare(st, "UPDATE registrations SET state = ?, credential = NULL WHERE id = ?", &s) < 0)
        return -EIO;
    sqlite3_bind_int(s, 1, state);
    sqlite3_bind_text(s, 2, id, -1, SQLITE_TRANSIENT);
    return step_done(st, s);
}

int store_reg_active(struct store *st, const char *subject, const uint8_t *ak_pub, size_t len)
{
    sqlite3_stmt *s;
    int rc;

    if (prepare(st, "SELECT 1 FROM registrations WHERE vtpm_uuid = ? AND ak_pub = ? "
                    "AND state = ? LIMIT 1", &s) < 0)
        return -EIO;
    sqlite3_bind_text(s, 1, subject, -1, SQLITE_TRANSIENT);
    sqlite3_bind_blob(s, 2, ak_pub, (int)len, SQLITE_TRANSIENT);
    sqlite3_bind_int(s, 3, REG_ACTIVE);
    rc = sqlite3_step(s);
    sqlite3_finalize(s);
    if (rc == SQLITE_ROW)
        return 0;
    return rc == SQLITE_DONE ? -ENOENT : -EIO;
}

void store_reg_free(struct reg_row *r)
{
    free(r->ak_pub);
    free(r->ek_cert);
    secure_free(r->credential, r->credential_len);
    r->ak_pub = r->ek_cert = r->credential = NULL;
}

static int clock_get(struct store *st, const char *uuid, int64_t v[3])
{
    sqlite3_stmt *s;
    int rc;

    if (prepare(st, "SELECT reset_count, restart_count, clock FROM tpm_clock WHERE vtpm_uuid = ?",
                &s) < 0)
        return -EIO;
    sqlite3_bind_text(s, 1, uuid, -1, SQLITE_TRANSIENT);
    rc = sqlite3_step(s);
    for (int i = 0; rc == SQLITE_ROW && i < 3; i++)
        v[i] = sqlite3_column_int64(s, i);
    sqlite3_finalize(s);
    return rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? -ENOENT : -EIO;
}

int store_clock_advance(struct store *st, const char *vtpm_uuid, uint32_t reset,
                        uint32_t restart, uint64_t clock)
{
    int64_t old[3], now[3] = { reset, restart, (int64_t)(clock & INT64_MAX) };
    sqlite3_stmt *s;
    int r = clock_get(st, vtpm_uuid, old);

    if (r < 0 && r != -ENOENT)
        return r;
    if (r == 0) {
        for (int i = 0; i < 3; i++) {
            if (now[i] > old[i])
                break;
            if (now[i] < old[i])
                return -ERANGE;
        }
    }
    if (prepare(st, "INSERT OR REPLACE INTO tpm_clock VALUES (?, ?, ?, ?)", &s) < 0)
        return -EIO;
    sqlite3_bind_text(s, 1, vtpm_uuid, -1, SQLITE_TRANSIENT);
    for (int i = 0; i < 3; i++)
        sqlite3_bind_int64(s, 2 + i, now[i]);
    return step_done(st, s);
}

int store_verdict_put(struct store *st, const char *container_id, const char *vtpm_uuid,
                      const char *verdict, const char *reasons_json, int64_t t)
{
    sqlite3_stmt *s;

    if (prepare(st, "INSERT OR REPLACE INTO verdicts VALUES (?, ?, ?, ?, ?)", &s) < 0)
        return -EIO;
    sqlite3_bind_text(s, 1, container_id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(s, 2, vtpm_uuid, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(s, 3, verdict, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(s, 4, reasons_json, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(s, 5, t);
    return step_done(st, s);
}

static json_t *verdict_json(sqlite3_stmt *s, const char *container_id)
{
    const char *reasons = (const char *)sqlite3_column_text(s, 2);
    json_t *rj = json_loads(reasons ? reasons : "[]", 0, NULL);

    return json_pack("{s:s, s:s, s:s, s:o, s:I}", "container_id", container_id, "vtpm_uuid",
                     (const char *)sqlite3_column_text(s, 0), "verdict",
                     (const char *)sqlite3_column_text(s, 1), "reasons",
                     rj ? rj : json_array(), "time", (json_int_t)sqlite3_column_int64(s, 3));
}

int store_verdict_get(struct store *st, const char *container_id, json_t **out)
{
    sqlite3_stmt *s;
    int rc;

    if (prepare(st, "SELECT vtpm_uuid, verdict, reasons, time FROM verdicts "
                    "WHERE container_id = ?", &s) < 0)
        return -EIO;
    sqlite3_bind_text(s, 1, container_id, -1, SQLITE_TRANSIENT);
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        *out = verdict_json(s, container_id);
        rc = *out ? 0 : -ENOMEM;
    } else {
        rc = rc == SQLITE_DONE ? -ENOENT : -EIO;
    }
    sqlite3_finalize(s);
    return rc;
}

int store_audit(struct store *st, int64_t t, const char *kind, const char *subject,
                const char *outcome, const char *detail)
{
    sqlite3_stmt *s;

    if (prepare(st, "INSERT INTO audit (time, kind, subject, outcome, detail) "
                    "VALUES (?, ?, ?, ?, ?)", &s) < 0)
        return -EIO;
    sqlite3_bind_int64(s, 1, t);
    sqlite3_bind_text(s, 2, kind, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(s, 3, subject, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(s, 4, outcome, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(s, 5, detail ? detail : "", -1, SQLITE_TRANSIENT);
    return step_done(st, s);
}

int64_t store_count(struct store *st, const char *table)
{
    char sql[96];
    sqlite3_stmt *s;
    int64_t n = -1;

    if (strcmp(table, "registrations") && strcmp(table, "audit") && strcmp(table, "verdicts") &&
        strcmp(table, "nonces"))
        return -1;
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s", table);
    if (prepare(st, sql, &s) < 0)
        return -1;
    if (sqlite3_step(s) == SQLITE_ROW)
        n = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    return n;
}
