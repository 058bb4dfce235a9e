/* SPDX-License-Identifier: BSD-3-Clause */
/* The interface between the store front (store.c, store_check.c) and its backends (SQLite,
 * PostgreSQL): each backend gives statements; the front composes them into transactions, so
 * the logic of a put, a cascade, a revocation or a whole evidence check is written once. */
#ifndef VERIFIER_STORE_OPS_H
#define VERIFIER_STORE_OPS_H

#include <pthread.h>

#include "store/store.h"

/* The two verdict tables. */
enum store_kind { KIND_CONTAINER = 0, KIND_NODE = 1 };

/* One row of a verdict table; b only for containers (the binding). */
struct verdict_row {
    const char *id, *subject, *node, *verdict, *reasons;
    int64_t t, due;
    const struct verdict_binding *b;
};

enum store_tx {
    TX_BEGIN,       /* SQLite: BEGIN IMMEDIATE (the database lock at once); PostgreSQL: BEGIN */
    TX_COMMIT,
    TX_ROLLBACK,
    TX_SAVEPOINT,   /* one level: the group commit's per-set savepoint */
    TX_RELEASE,
    TX_ROLLBACK_TO, /* back to the savepoint, which stays open; then TX_RELEASE */
};

/* A parameter of store_ops.rows: text, or (text NULL) the integer i. */
struct store_param {
    const char *text;
    int64_t i;
};

/* Operations marked "(tx)" are single statements that run inside the caller's transaction
 * (or alone, autocommitted) and never reconnect; the others are whole operations with the
 * meaning of the store_* function of the same name. */
struct store_ops {
    const char *name;
    /* 1: store_check_commit groups sets of concurrent threads into one commit (SQLite: one
     * writer at a time anyway, one fsync per group); 0: each set commits on its caller's
     * handle (PostgreSQL: the server runs connections in parallel and already flushes the
     * WAL once for commits that wait together; docs/benchmarks.md 8f). */
    int group_commit;
    void (*close)(struct store *st);
    /* Before an operation that is not inside a transaction: PostgreSQL re-makes a dropped
     * connection here. 0, 1 when it re-made the connection, or -EIO. */
    int (*ready)(struct store *st);
    int (*tx)(struct store *st, enum store_tx op);
    int (*nonce_add)(struct store *st, const char *hex, int64_t issued, int64_t expires); /* tx */
    int (*nonce_consume)(struct store *st, const char *hex, int64_t now);                 /* tx */
    int (*reg_add)(struct store *st, const struct reg_row *r);
    int (*reg_get)(struct store *st, const char *id, struct reg_row *r);
    int (*reg_finish)(struct store *st, const char *id, int state);
    int (*reg_active)(struct store *st, const char *subject, const uint8_t *ak, size_t len);
    int (*clock_advance)(struct store *st, const char *uuid, const int64_t v[3]);        /* tx */
    /* (tx) the stored verdict of the row into old ("" none); PostgreSQL locks it FOR UPDATE */
    int (*old_verdict)(struct store *st, enum store_kind k, const char *id, char *old,
                       size_t size);
    /* (tx) writes the row; a container's only under the binding rule (else -EPERM) */
    int (*upsert)(struct store *st, enum store_kind k, const struct verdict_row *v);
    /* (tx) a node's row for a gated put; PostgreSQL locks it FOR SHARE */
    int (*node_row)(struct store *st, const char *node, struct store_node_row *row);
    /* (tx) every allow of node's containers becomes deny with reasons at t; their ids are
     * appended to ids (a JSON array) */
    int (*deny_node_containers)(struct store *st, const char *node, const char *reasons,
                                int64_t t, json_t *ids);
    /* (tx) overdue allows of one table into out[*n..max) (rows another instance holds are
     * skipped), each turned into deny with STORE_REASON_MISSED at now */
    int (*flip_overdue)(struct store *st, enum store_kind k, int64_t now,
                        struct store_revoked *out, size_t max, size_t *n);
    int (*notify_add)(struct store *st, const char *body, int64_t now);                  /* tx */
    int (*verdict_get)(struct store *st, const char *container_id, json_t **out);
    int (*verdict_binding)(struct store *st, const char *container_id, struct verdict_binding *b);
    int (*node_get)(struct store *st, const char *node, json_t **out);
    int (*notify_claim)(struct store *st, int64_t now, int64_t lease_until,
                        struct store_notification *out, size_t max, size_t *n);
    /* state: 1 delivered, 2 failed, 0 retry at next_try with attempts. */
    int (*notify_set)(struct store *st, int64_t id, int state, int attempts, int64_t next_try);
    /* (tx) one purge statement: 0 nonces expired before `before`, 1 finished notifications
     * created before it, 2 pending registrations created before it, 3 audit rows as
     * store_purge_audit; rows deleted or -errno */
    int64_t (*purge_one)(struct store *st, int what, int64_t before);
    int (*audit)(struct store *st, int64_t t, const char *kind, const char *subject,
                 const char *outcome, const char *detail);                               /* tx */
    int64_t (*count)(struct store *st, const char *table);
    /* One statement written for both backends (placeholders $1..$n, first used in that
     * order; CAST(x AS BIGINT) for integers): its rows as a JSON array of arrays, bigint
     * columns as integers and the others as strings (callee-allocated). Alone (autocommit)
     * unless the caller opened a transaction. 0, -EEXIST on a unique violation, or -errno.
     * Statement texts must be string literals (PostgreSQL prepares them by address). */
    int (*rows)(struct store *st, const char *sql, const struct store_param *p, size_t n,
                json_t **out);
    /* (tx) stores a manifest under hex (nothing when one is there); 0 or -errno */
    int (*manifest_put)(struct store *st, const char *hex, const uint8_t *b, size_t len,
                        int64_t now);
    /* a manifest's bytes (callee-allocated), -ENOENT when there is none */
    int (*manifest_get)(struct store *st, const char *hex, uint8_t **b, size_t *len);
    /* Optional: a whole check's write set (store_check) in one transaction by the backend's
     * own means (PostgreSQL: one pipeline, one round trip). 0 committed (the pieces' rc
     * set), -errno (nothing written), or 1: not done, nothing written; the front then runs
     * the set statement by statement (apply_set), which decides every case. */
    int (*check)(struct store *st, struct store_check *chk);
    /* Optional: the round trips to the database server this handle made (for tests and
     * benchmarks); none: 0. */
    uint64_t (*round_trips)(struct store *st);
};

struct store_committer;

/* The first member of every backend's handle; the front's part is set by store_open_url. */
struct store {
    const struct store_ops *ops;
    char *url;                   /* the database it was opened on (never logged) */
    struct store_committer *gc;  /* the group committer of that database, once used */
};

enum notify_state { NOTIFY_PENDING = 0, NOTIFY_DELIVERED = 1, NOTIFY_FAILED = 2 };

#define STORE_REASON_MISSED "[\"reattest-missed\"]"

int store_sqlite_open(const char *path, struct store **out);
int store_pg_open(const char *conninfo, struct store **out);

/* The "revoked" notification body for kind ("node"/"container") and id (malloc'd JSON text). */
char *store_revoked_body(const char *kind, const char *id, const char *reasons_json, int64_t t);
/* The JSON array in reasons_json, or an empty array when it does not parse (new reference). */
json_t *store_reasons(const char *reasons_json);
/* 1 when old (may be NULL: no row) is "allow" and new is "deny": the transition that notifies. */
int store_is_revocation(const char *old_verdict, const char *new_verdict);

/* Inside an open transaction (store.c): a verdict or node put with its notification and, for
 * a node's deny, the cascade; g non-NULL: the gated container put. With audit_kind, an audit
 * row (audit_kind, id, the verdict as written, its reasons as written) follows a put that
 * wrote. 0, -EPERM (a container bound to another vTPM: nothing written) or -errno. */
int store_put_tx(struct store *st, enum store_kind k, const struct verdict_row *v,
                 struct store_node_gate *g, const char *audit_kind);
/* Judges the node row read inside the put's transaction (store.h, store_node_gate): node
 * reasons make w a deny with them appended (*owned: the new reasons text, to free); an allow
 * that stays gets its due capped. 0 or -ENOMEM. */
int store_gate_apply(struct store_node_gate *g, const struct store_node_row *row,
                     struct verdict_row *w, char **owned);
/* A transaction of its own: begin (after ready), and end: COMMIT when r >= 0 (returning r,
 * or -EIO when the commit fails), else ROLLBACK (returning r). */
int store_tx_begin(struct store *st);
int store_tx_end(struct store *st, int r);

/* Whether a check's set writes any of the evidence pieces (store_check.c; the pod piece is
 * not one of them): a set that writes none needs no transaction. */
int store_check_writes_evidence(const struct store_check *chk);

/* The group committer's part of store_close (store_check.c). */
void store_committer_release(struct store *st);

#endif
