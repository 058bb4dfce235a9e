/* SPDX-License-Identifier: BSD-3-Clause */
/* The interface between the store front (store.c) and its backends (SQLite, PostgreSQL). */
#ifndef VERIFIER_STORE_OPS_H
#define VERIFIER_STORE_OPS_H

#include "store/store.h"

/* Every backend operation has the meaning of the store_* function of the same name. */
struct store_ops {
    const char *name;
    void (*close)(struct store *st);
    int (*nonce_add)(struct store *st, const char *hex, int64_t issued, int64_t expires);
    int (*nonce_consume)(struct store *st, const char *hex, int64_t now);
    int (*reg_add)(struct store *st, const struct reg_row *r);
    int (*reg_get)(struct store *st, const char *id, struct reg_row *r);
    int (*reg_finish)(struct store *st, const char *id, int state);
    int (*reg_active)(struct store *st, const char *subject, const uint8_t *ak, size_t len);
    int (*clock_advance)(struct store *st, const char *uuid, const int64_t v[3]);
    /* g NULL: no node check (store_verdict_put); else store_verdict_put_gated. */
    int (*verdict_put)(struct store *st, const char *container_id, const char *vtpm_uuid,
                       const char *node, const char *verdict, const char *reasons,
                       int64_t t, int64_t due, const struct verdict_binding *b,
                       struct store_node_gate *g);
    int (*verdict_get)(struct store *st, const char *container_id, json_t **out);
    int (*verdict_binding)(struct store *st, const char *container_id, struct verdict_binding *b);
    int (*node_put)(struct store *st, const char *node, const char *host, const char *verdict,
                    const char *reasons, int64_t t, int64_t due);
    int (*node_get)(struct store *st, const char *node, json_t **out);
    int (*revoke_overdue)(struct store *st, int64_t now, struct store_revoked *out, size_t max,
                          size_t *n);
    int (*notify_add)(struct store *st, const char *body, int64_t now);
    int (*notify_claim)(struct store *st, int64_t now, int64_t lease_until,
                        struct store_notification *out, size_t max, size_t *n);
    /* state: 1 delivered, 2 failed, 0 retry at next_try with attempts. */
    int (*notify_set)(struct store *st, int64_t id, int state, int attempts, int64_t next_try);
    int64_t (*purge)(struct store *st, int64_t now, int64_t keep);
    int (*audit)(struct store *st, int64_t t, const char *kind, const char *subject,
                 const char *outcome, const char *detail);
    int64_t (*count)(struct store *st, const char *table);
};

/* The first member of every backend's handle. */
struct store {
    const struct store_ops *ops;
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

/* What a gated put writes: the caller's values, changed by store_gate_apply. */
struct store_gated {
    const char *verdict, *reasons;
    int64_t t, due;
    char *owned; /* malloc'd reasons text when the gate added reasons; the backend frees it */
};
/* Judges the node row a backend read inside the put's transaction (store.h, store_node_gate):
 * node reasons make v a deny with them appended; an allow that stays gets its due capped.
 * 0 or -ENOMEM. */
int store_gate_apply(struct store_node_gate *g, const char *node,
                     const struct store_node_row *row, struct store_gated *v);
/* ["node-denied:<node>"] as JSON text (malloc'd) or NULL: the cascade's reasons. */
char *store_node_denied_reasons(const char *node);

#endif
